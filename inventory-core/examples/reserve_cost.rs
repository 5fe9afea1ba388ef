//! Reserves and releases `N` single-unit orders on a `MemoryStore`, one after another,
//! for counting the core's instructions per command with callgrind (repeatable on a
//! noisy machine, unlike a timed run):
//!
//! ```sh
//! cargo build --release -p inventory-core --example reserve_cost
//! valgrind --tool=callgrind target/release/examples/reserve_cost 0
//! valgrind --tool=callgrind target/release/examples/reserve_cost 5000
//! ```
//!
//! (the second total minus the first, over 5,000, is the cost of one reserve and its
//! release).

use inventory_core::{
    Inventory, LocationId, MemoryStore, OrderId, OrderLine, Quantity, ReserveRequest, Sku,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::args()
        .nth(1)
        .map(|text| text.parse())
        .transpose()?
        .unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let inventory = Inventory::new(MemoryStore::new());
        let sku = Sku::new("TEE")?;
        let shelf = LocationId::new("main")?;
        inventory
            .receive(sku.clone(), shelf, Quantity::new(1_000_000)?)
            .await?;
        for index in 0..count {
            let line = OrderLine::new(sku.clone(), Quantity::new(1)?);
            let order = OrderId::new(format!("o-{index}"))?;
            let held = inventory
                .reserve(ReserveRequest::new(order, vec![line]))
                .await?;
            inventory.release(held.reservation.id).await?;
        }
        Ok(())
    })
}
