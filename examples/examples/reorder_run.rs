//! A day's reorder run: four weeks of sales, three SKUs from two suppliers, one run that
//! raises one purchase order per supplier, a second run that raises nothing, and the
//! first order sent, shipped and received.
//!
//! `cargo run -p inventory-examples --example reorder_run`

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use inventory_core::reorder::{
    run_reorder, Notifier, PurchaseOrder, PurchaseStore, ReorderConfig, ReorderRule, ServiceLevel,
    Supplier, SupplierLink,
};
use inventory_core::{
    Inventory, LocationId, ManualClock, OrderId, OrderLine, Quantity, ReserveRequest, Sku,
    SupplierId,
};
use inventory_sqlite::{SqliteOptions, SqliteStore};
use rust_decimal::Decimal;

/// Prints what a real notifier would send to Slack or e-mail.
struct Printer;

#[async_trait]
impl Notifier for Printer {
    async fn purchase_order_raised(&self, order: &PurchaseOrder, summary: &str) {
        println!("  notify: {summary} (total {})", order.total_cost());
    }
}

type Failure = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let store = SqliteStore::temporary(SqliteOptions::default()).await?;
    let start = chrono::DateTime::from_timestamp(1_767_225_600, 0).ok_or("time")?;
    let clock = ManualClock::new(start);
    let inventory = Inventory::new(store.clone()).with_clock(clock.clone());
    let main_store = LocationId::new("main")?;

    let acme = Supplier {
        case_pack: 12,
        minimum_order_quantity: 48,
        ..Supplier::new(SupplierId::new("acme")?, 14.0)?
    };
    let globex = Supplier::new(SupplierId::new("globex")?, 5.0)?;
    store.put_supplier(&acme).await?;
    store.put_supplier(&globex).await?;
    let dynamic = ReorderRule::Dynamic {
        service_level: ServiceLevel::new(0.95)?,
        review_days: 7,
        quantity: None,
    };
    let catalogue = [
        ("TEE-BLACK-M", &acme, "4.10", 600, 20),
        ("TEE-WHITE-S", &acme, "4.10", 300, 2),
        ("MUG-LOGO", &globex, "2.35", 190, 6),
    ];
    for (name, supplier, cost, stock, _) in &catalogue {
        let sku = Sku::new(*name)?;
        let link = SupplierLink {
            sku: sku.clone(),
            supplier: supplier.id.clone(),
            unit_cost: Decimal::from_str(cost)?,
            rule: dynamic,
        };
        store.put_link(&link).await?;
        inventory
            .receive(sku, main_store.clone(), Quantity::new(*stock)?)
            .await?;
    }

    // Four weeks of sales, shipped every day.
    for day in 0..28 {
        for (name, _, _, _, per_day) in &catalogue {
            let order = OrderId::new(format!("{name}-day-{day}"))?;
            let line = OrderLine::new(Sku::new(*name)?, Quantity::new(*per_day)?);
            let held = inventory
                .reserve(ReserveRequest::new(order, vec![line]))
                .await?
                .reservation;
            inventory.commit(held.id).await?;
            inventory.ship(held.id).await?;
        }
        clock.advance(Duration::from_secs(24 * 3600));
    }
    println!("After four weeks of sales:");
    for (name, ..) in &catalogue {
        let total = inventory.stock(&Sku::new(*name)?).await?.total;
        println!(
            "  {name:<12} on_hand={:<4} in_transit={}",
            total.on_hand, total.in_transit
        );
    }

    let config = ReorderConfig::new(main_store.clone());
    println!("Reorder run:");
    let raised = run_reorder(&inventory, &config, &Printer).await?;
    for order in &raised {
        for line in &order.lines {
            println!(
                "  PO {} {:<7} {:<12} x {:<4} at {}",
                &order.id.to_string()[..8],
                order.supplier,
                line.sku,
                line.ordered,
                line.unit_cost
            );
        }
    }
    println!(
        "Second run the same day: {} new orders",
        run_reorder(&inventory, &config, &Printer).await?.len()
    );

    let first = raised.first().ok_or("the run raised nothing")?;
    inventory.send_purchase_order(first.id).await?;
    inventory.ship_purchase_order(first.id).await?;
    let line = &first.lines[0];
    let before = inventory.stock(&line.sku).await?.total;
    println!(
        "{} shipped by {}: {} in_transit={}",
        first.id, first.supplier, line.sku, before.in_transit
    );
    let half = Quantity::new((line.ordered / 2).max(1))?;
    inventory
        .receive_purchase_order(first.id, vec![(line.sku.clone(), half)])
        .await?;
    let after = inventory.stock(&line.sku).await?.total;
    println!(
        "Received {half} of {}: on_hand {} -> {}, in_transit {} -> {}",
        line.sku, before.on_hand, after.on_hand, before.in_transit, after.in_transit
    );
    Ok(())
}
