//! A day of cycle counting: a week of priced sales ranks SKUs into A, B and C; the day's
//! count list follows; one count is close, one is off by 6% (an investigation), and one
//! is the classic theft case, 50 on the system and 38 on the shelf, which freezes the
//! SKU until someone resolves it.
//!
//! `cargo run -p inventory-examples --example cycle_count_day`

use std::str::FromStr;
use std::time::Duration;

use inventory_core::counting::{count_list, AbcConfig, CountThresholds};
use inventory_core::{
    DomainError, Error, Inventory, LocationId, ManualClock, OrderId, OrderLine, Quantity,
    ReserveRequest, Sku,
};
use inventory_sqlite::{SqliteOptions, SqliteStore};
use rust_decimal::Decimal;

type Failure = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let store = SqliteStore::temporary(SqliteOptions::default()).await?;
    let start = chrono::DateTime::from_timestamp(1_767_225_600, 0).ok_or("time")?;
    let clock = ManualClock::new(start);
    let inventory = Inventory::new(store).with_clock(clock.clone());
    let shelf = LocationId::new("main")?;
    let catalogue = [
        ("WATCH-STEEL", "129.00", 1),
        ("HEADPHONES", "59.90", 2),
        ("CABLE-USB-C", "9.99", 4),
        ("STICKER-PACK", "2.50", 3),
        ("POSTCARD", "1.20", 2),
    ];
    for (name, ..) in &catalogue {
        inventory
            .receive(Sku::new(*name)?, shelf.clone(), Quantity::new(57)?)
            .await?;
    }
    for day in 0..7 {
        for (name, price, per_day) in &catalogue {
            let line = OrderLine::new(Sku::new(*name)?, Quantity::new(*per_day)?)
                .priced(Decimal::from_str(price)?);
            let order = ReserveRequest::new(OrderId::new(format!("{name}-{day}"))?, vec![line]);
            let held = inventory.reserve(order).await?.reservation;
            inventory.commit(held.id).await?;
            inventory.ship(held.id).await?;
        }
        clock.advance(Duration::from_secs(24 * 3600));
    }

    let today = inventory.now().date_naive();
    let list = count_list(
        &inventory,
        today,
        today - chrono::Days::new(90),
        &AbcConfig::default(),
        Some(10),
    )
    .await?;
    println!("Count list for {today}:");
    for item in &list {
        let on_hand = inventory.stock(&item.sku).await?.total.on_hand;
        println!(
            "  {:?}  {:<13} at {}  (system says {on_hand})",
            item.class,
            item.sku.as_str(),
            item.location
        );
    }

    let thresholds = CountThresholds::default();
    let counts = [
        ("WATCH-STEEL", 49, "close"),
        ("CABLE-USB-C", 27, "off by a few"),
        ("HEADPHONES", 38, "theft"),
    ];
    // Make the headphones the classic case: the system expects 50 before its count.
    let headphones = Sku::new("HEADPHONES")?;
    let on_hand = inventory.stock(&headphones).await?.total.on_hand;
    if on_hand != 50 {
        inventory
            .adjust(
                headphones.clone(),
                shelf.clone(),
                50 - on_hand,
                "found in returns",
            )
            .await?;
    }
    let mut frozen = None;
    for (name, counted, label) in counts {
        let report = inventory
            .record_count(Sku::new(name)?, shelf.clone(), counted, "maria", thresholds)
            .await?;
        println!(
            "Count {name:<12} ({label}): expected {}, counted {}, {:.2}% -> {:?}",
            report.record.expected,
            report.record.counted,
            report.record.discrepancy_basis_points as f64 / 100.0,
            report.record.action
        );
        if let Some(investigation) = report.investigation.filter(|i| i.freezes) {
            frozen = Some(investigation);
        }
    }
    let frozen = frozen.ok_or("the theft case froze nothing")?;
    let order = ReserveRequest::new(
        OrderId::new("after-count")?,
        vec![OrderLine::new(headphones.clone(), Quantity::new(1)?)],
    );
    match inventory.reserve(order.clone()).await {
        Err(Error::Domain(DomainError::SkuFrozen { sku })) => {
            println!("A new order for {sku} is refused: frozen")
        }
        other => println!("unexpected: {other:?}"),
    }
    inventory
        .resolve_investigation(frozen.id, Some(38), "lead")
        .await?;
    inventory.reserve(order).await?;
    println!("Investigation resolved (recount 38): {headphones} sells again");
    Ok(())
}
