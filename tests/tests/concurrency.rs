//! Concurrency: many tasks race for the last units of a hot SKU.

use inventory_core::testkit::race::hot_sku_race;
use inventory_core::testkit::Harness;
use inventory_core::MemoryStore;
use inventory_tests::RACE_TIMEOUT;

/// 1,000 one-unit orders from 64 tasks on a multi-thread runtime race for 200 units:
/// exactly 200 are held and 800 refused with insufficient stock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_thousand_orders_from_64_tasks_take_exactly_200_units() {
    let inventory = Harness::new(MemoryStore::new()).inventory;
    let race = hot_sku_race(vec![inventory], 64, 1_000, 200);
    let report = tokio::time::timeout(RACE_TIMEOUT, race)
        .await
        .expect("race finished");
    assert_eq!(
        (report.reserved, report.refused, report.units_reserved),
        (200, 800, 200)
    );
}

/// Clones of one store are handles on the same data: the race over four of them still
/// sells exactly what is stocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_race_over_four_handles() {
    let store = MemoryStore::new();
    let handles = (0..4)
        .map(|_| Harness::new(store.clone()).inventory)
        .collect();
    let race = hot_sku_race(handles, 32, 600, 150);
    let report = tokio::time::timeout(RACE_TIMEOUT, race)
        .await
        .expect("race finished");
    assert_eq!(report.reserved, 150);
}
