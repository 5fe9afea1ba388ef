//! The flash sale's promise, as a test: the library sells exactly what is stocked, the
//! naive counter does not.

use inventory_core::testkit::sku;
use inventory_core::{Inventory, MemoryStore, Quantity};
use inventory_examples::flash_sale::{location, run_library, run_naive, SaleReport};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn library_sells_exactly_the_stock_and_naive_oversells() {
    let inventory = Inventory::new(MemoryStore::new());
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

    let naive = run_naive(200, 340).await;
    assert!(naive.oversold > 0, "{naive:?}");
}
