//! 200 units of a best seller, 340 buyers at once: the library sells exactly 200; a
//! naive read-then-write counter oversells.
//!
//! `cargo run -p inventory-examples --example flash_sale [-- <database file>]`
//!
//! Runs on SQLite: a temporary file by default, or the file given (created if new; the
//! sale's SKU gets a fresh name each run so earlier runs do not matter).

use inventory_core::backend::Store;
use inventory_core::{Inventory, Quantity, Sku, StockLevel};
use inventory_examples::flash_sale::{location, run_library, run_naive, SaleReport};
use inventory_sqlite::{SqliteOptions, SqliteStore};

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

async fn sale<S: Store + Clone>(
    inventory: Inventory<S>,
    sku: Sku,
) -> Result<(), Box<dyn std::error::Error>> {
    let stocked = i64::try_from(STOCKED)?;
    inventory
        .receive(sku.clone(), location(), Quantity::new(stocked)?)
        .await?;
    inventory
        .add_in_transit(sku.clone(), location(), Quantity::new(100)?)
        .await?;
    numbers("before", &inventory.stock(&sku).await?.total);
    let library = run_library(inventory.clone(), sku.clone(), STOCKED, BUYERS).await?;
    numbers("after", &inventory.stock(&sku).await?.total);
    report("inventory library", &library);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (store, place) = match std::env::args().nth(1) {
        Some(path) => (SqliteStore::open(&path).await?, path),
        None => {
            let store = SqliteStore::temporary(SqliteOptions::default()).await?;
            let place = format!("{} (temporary)", store.path().display());
            (store, place)
        }
    };
    let run = run_stamp();
    let sku = Sku::new(format!("SNEAKER-LIMITED-42-{run}"))?;
    println!("Flash sale: {STOCKED} units of {sku}, {BUYERS} buyers at once");
    println!("  store: SQLite at {place}");
    sale(Inventory::new(store), sku).await?;

    let naive = run_naive(STOCKED, BUYERS).await;
    report("NAIVE read-then-write (for comparison)", &naive);
    Ok(())
}

/// Seconds since the epoch, to tell runs on the same file apart.
fn run_stamp() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}
