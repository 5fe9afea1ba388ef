//! A reorder run over 100,000 SKUs with 90 days of sales history on SQLite (shipped
//! defaults), against the raw cost of the one aggregate query a run cannot avoid
//! (units shipped per SKU over the window), measured in the same run.
//!
//! `cargo bench -p inventory-sqlite --bench reorder`
//!
//! `bench reorder/<case> skus=<N> seconds=<S> skus_per_s=<R> raw_seconds=<B> ratio=<S/B> ...`
//! `BENCH_SCALE` (default 1.0) scales the number of SKUs.

use std::str::FromStr;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use inventory_core::reorder::{
    run_reorder, PurchaseStore, ReorderConfig, ReorderRule, ServiceLevel, SilentNotifier, Supplier,
    SupplierLink,
};
use inventory_core::{Inventory, LocationId, ManualClock, Sku, SupplierId};
use inventory_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::{params, Connection};
use rust_decimal::Decimal;

const SUPPLIERS: usize = 20;
const DAYS: u64 = 90;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

/// Writes stock, 90 days of shipped aggregates and links straight into the file.
fn seed(path: &std::path::Path, skus: usize) {
    let mut connection = Connection::open(path).unwrap();
    let tx = connection.transaction().unwrap();
    {
        let mut stock = tx
            .prepare("INSERT INTO stock (sku, location, on_hand, reserved, committed, in_transit) VALUES (?1, 'main', ?2, 0, 0, 0)")
            .unwrap();
        let mut shipped = tx
            .prepare("INSERT INTO daily_shipped (sku, day, units) VALUES (?1, ?2, ?3)")
            .unwrap();
        let mut link = tx
            .prepare("INSERT INTO sku_suppliers (sku, supplier, body) VALUES (?1, ?2, ?3)")
            .unwrap();
        let rule = ReorderRule::Dynamic {
            service_level: ServiceLevel::new(0.95).unwrap(),
            review_days: 7,
            quantity: None,
        };
        for index in 0..skus {
            let sku = format!("SKU-{index:06}");
            stock.execute(params![sku, (index % 400) as i64]).unwrap();
            for day in 0..DAYS {
                if (index as u64 + day).is_multiple_of(3) {
                    let date = today().checked_sub_days(Days::new(day)).unwrap();
                    shipped
                        .execute(params![
                            sku,
                            (date - NaiveDate::default()).num_days(),
                            (index % 7 + 1) as i64
                        ])
                        .unwrap();
                }
            }
            let body = serde_json::to_string(&SupplierLink {
                sku: Sku::new(sku.clone()).unwrap(),
                supplier: SupplierId::new(format!("supplier-{:02}", index % SUPPLIERS)).unwrap(),
                unit_cost: Decimal::from_str("3.75").unwrap(),
                rule,
            })
            .unwrap();
            link.execute(params![
                sku,
                format!("supplier-{:02}", index % SUPPLIERS),
                body
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn raw_aggregate(path: &std::path::Path) -> (f64, usize) {
    let connection = Connection::open(path).unwrap();
    let yesterday = today().pred_opt().unwrap();
    let first = yesterday.checked_sub_days(Days::new(27)).unwrap();
    let started = Instant::now();
    let mut statement = connection
        .prepare(
            "SELECT sku, SUM(units) FROM daily_shipped WHERE day BETWEEN ?1 AND ?2 GROUP BY sku",
        )
        .unwrap();
    let rows = statement
        .query_map(
            params![
                (first - NaiveDate::default()).num_days(),
                (yesterday - NaiveDate::default()).num_days()
            ],
            |row| row.get::<_, i64>(1),
        )
        .unwrap()
        .count();
    (started.elapsed().as_secs_f64(), rows)
}

fn main() {
    let scale: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let skus = ((100_000.0 * scale) as usize).max(100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::temporary(SqliteOptions::default()).await.unwrap();
        for index in 0..SUPPLIERS {
            let supplier = Supplier::new(SupplierId::new(format!("supplier-{index:02}")).unwrap(), 10.0).unwrap();
            store.put_supplier(&supplier).await.unwrap();
        }
        let path = store.path().to_owned();
        let seeding = Instant::now();
        seed(&path, skus);
        let seeded = seeding.elapsed().as_secs_f64();

        let noon = today().and_hms_opt(12, 0, 0).unwrap().and_utc();
        let inventory = Inventory::new(store.clone()).with_clock(ManualClock::new(noon));
        let config = ReorderConfig::new(LocationId::new("main").unwrap());
        let started = Instant::now();
        let raised = run_reorder(&inventory, &config, &SilentNotifier).await.unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let lines: usize = raised.iter().map(|order| order.lines.len()).sum();
        let again = Instant::now();
        let second = run_reorder(&inventory, &config, &SilentNotifier).await.unwrap();
        let second_seconds = again.elapsed().as_secs_f64();
        assert!(second.is_empty(), "a second run raised orders");
        let (raw, aggregated) = raw_aggregate(&path);
        println!(
            "bench reorder/{skus}_skus_90_days skus={skus} seconds={seconds:.2} skus_per_s={:.0} raw_seconds={raw:.3} \
             ratio={:.1} orders={} lines={lines} second_run_seconds={second_seconds:.2} aggregated_skus={aggregated} \
             seed_seconds={seeded:.1}",
            skus as f64 / seconds,
            seconds / raw,
            raised.len(),
        );
    });
}
