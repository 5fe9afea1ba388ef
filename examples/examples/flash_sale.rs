//! 200 units of a best seller, 340 buyers at once: the library sells exactly 200; a
//! naive read-then-write counter oversells.
//!
//! `cargo run -p inventory-examples --example flash_sale`

use inventory_core::{Inventory, MemoryStore, Quantity, Sku, StockLevel};
use inventory_examples::flash_sale::{location, run_library, run_naive, SaleReport};

const STOCKED: usize = 200;
const BUYERS: usize = 340;

fn numbers(label: &str, level: &StockLevel) {
    println!(
        "  {label:<7} on_hand={:<4} reserved={:<4} committed={:<4} in_transit={:<4} available={}",
        level.on_hand,
        level.reserved,
        level.committed,
        level.in_transit,
        level.available()
    );
}

fn report(label: &str, report: &SaleReport) {
    println!(
        "{label}: {} orders succeeded, {} refused, {} oversold",
        report.sold, report.refused, report.oversold
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let inventory = Inventory::new(MemoryStore::new());
    let sku = Sku::new("SNEAKER-LIMITED-42")?;
    let stocked = i64::try_from(STOCKED)?;
    inventory
        .receive(sku.clone(), location(), Quantity::new(stocked)?)
        .await?;
    inventory
        .add_in_transit(sku.clone(), location(), Quantity::new(100)?)
        .await?;

    println!("Flash sale: {STOCKED} units of {sku}, {BUYERS} buyers at once (MemoryStore)");
    numbers("before", &inventory.stock(&sku).await?.total);
    let library = run_library(inventory.clone(), sku.clone(), STOCKED, BUYERS).await?;
    numbers("after", &inventory.stock(&sku).await?.total);
    report("inventory library", &library);

    let naive = run_naive(STOCKED, BUYERS).await;
    report("NAIVE read-then-write (for comparison)", &naive);
    Ok(())
}
