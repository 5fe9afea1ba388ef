//! Concurrency: many tasks race for the last units of a hot SKU, on every backend.

use inventory_core::testkit::race::{bundle_race, hot_sku_race, transfer_race};
use inventory_core::testkit::Harness;
use inventory_core::{Inventory, MemoryStore};
use inventory_sqlite::{SqliteOptions, SqliteStore};

/// 1,000 one-unit orders from 64 tasks on a multi-thread runtime race for 200 units:
/// exactly 200 are held and 800 refused with insufficient stock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_thousand_orders_from_64_tasks_take_exactly_200_units() {
    let inventory = Harness::new(MemoryStore::new()).inventory;
    hot_sku_race(vec![inventory], 64, 1_000, 200).await;
}

/// Clones of one store are handles on the same data: the race over four of them still
/// sells exactly what is stocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_race_over_four_handles() {
    let store = MemoryStore::new();
    let handles = (0..4)
        .map(|_| Harness::new(store.clone()).inventory)
        .collect();
    hot_sku_race(handles, 32, 600, 150).await;
}

/// 1,000 orders from 32 tasks over four separately opened stores on one file (four
/// writer connections competing for SQLite's lock) race for 200 units: exactly 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_thousand_orders_over_four_handles_take_exactly_200_units() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let handles = sqlite_handles(&folder.path().join("race.db"), 4).await;
    hot_sku_race(handles, 32, 1_000, 200).await;
}

/// Transfers out of a location race one-unit orders for the same 200 units, from 32
/// tasks over four handles: never more taken than was stocked, on MemoryStore.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_transfers_race_orders_for_the_same_units() {
    let store = MemoryStore::new();
    let handles = (0..4).map(|_| Harness::new(store.clone()).inventory);
    transfer_race(handles.collect(), 32, 600, 200).await;
}

/// The same race over four separately opened SQLite stores on one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_transfers_race_orders_for_the_same_units() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let handles = sqlite_handles(&folder.path().join("transfers.db"), 4).await;
    transfer_race(handles, 32, 600, 200).await;
}

/// 1,000 buyers of a kit (`2 x HOT + 1 x LID`) and of `HOT` alone race for 200 `HOT`
/// and 50 `LID` from 32 tasks over four handles: exactly what the components allow is
/// sold, on MemoryStore.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_bundle_buyers_race_component_buyers() {
    let store = MemoryStore::new();
    let handles = (0..4).map(|_| Harness::new(store.clone()).inventory);
    bundle_race(handles.collect(), 32, 1_000, 200).await;
}

/// The same race over four separately opened SQLite stores on one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_bundle_buyers_race_component_buyers() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let handles = sqlite_handles(&folder.path().join("bundles.db"), 4).await;
    bundle_race(handles, 32, 1_000, 200).await;
}

/// `count` separately opened stores on the SQLite file at `path`: writers competing for
/// its lock.
async fn sqlite_handles(path: &std::path::Path, count: usize) -> Vec<Inventory<SqliteStore>> {
    let mut handles = Vec::new();
    for _ in 0..count {
        let store = SqliteStore::open_with(path, SqliteOptions::default())
            .await
            .expect("open");
        handles.push(Harness::new(store).inventory);
    }
    handles
}
