//! The flash sale's promise, as a test: the library sells exactly what is stocked, on
//! every backend; the naive counter does not.

use inventory_core::backend::Store;
use inventory_core::testkit::sku;
use inventory_core::{Inventory, MemoryStore, Quantity};
use inventory_examples::flash_sale::{location, run_library, run_naive, SaleReport};
use inventory_sqlite::{SqliteOptions, SqliteStore};

async fn sells_exactly_the_stock<S: Store + Clone>(inventory: Inventory<S>) {
    inventory
        .receive(sku("HOT"), location(), Quantity::new(200).unwrap())
        .await
        .unwrap();
    let library = run_library(inventory.clone(), sku("HOT"), 200, 340)
        .await
        .unwrap();
    assert_eq!(
        library,
        SaleReport {
            sold: 200,
            refused: 140,
            oversold: 0
        }
    );
    let total = inventory.stock(&sku("HOT")).await.unwrap().total;
    assert_eq!((total.reserved, total.available()), (200, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn library_sells_exactly_the_stock_in_memory() {
    sells_exactly_the_stock(Inventory::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn library_sells_exactly_the_stock_on_sqlite() {
    let store = SqliteStore::temporary(SqliteOptions::default())
        .await
        .unwrap();
    sells_exactly_the_stock(Inventory::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn naive_read_then_write_oversells() {
    let naive = run_naive(200, 340).await;
    assert!(naive.oversold > 0, "{naive:?}");
    assert_eq!(naive.sold, 200 + naive.oversold);
}
