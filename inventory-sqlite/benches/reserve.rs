//! Reservations per second on a SQLite file with the shipped defaults (WAL,
//! `synchronous=FULL`), against the raw baseline measured in the same run: one
//! autocommit conditional `UPDATE` per reservation on the same file settings.
//!
//! `cargo bench -p inventory-sqlite`
//!
//! Prints one line per case:
//! `bench sqlite/<case> ours=<N>/s raw=<M>/s ratio=<N/M> p99_ms=<P> max_ms=<X>`
//! (latencies are ours, per reservation, as each caller sees it).
//!
//! `BENCH_SCALE` (default 1.0) scales the number of reservations per case.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::{Inventory, LocationId, OrderId, OrderLine, Quantity, ReserveRequest, Sku};
use inventory_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::{params, Connection};

struct Case {
    name: &'static str,
    tasks: usize,
    skus: usize,
    reservations: usize,
}

fn sku(index: usize) -> Sku {
    Sku::new(format!("SKU-{index:05}")).expect("valid sku")
}

fn location() -> LocationId {
    LocationId::new("main").expect("valid location")
}

/// A cheap deterministic spread of picks over the SKUs.
fn pick(task: usize, step: usize, skus: usize) -> usize {
    (task.wrapping_mul(7_919) + step.wrapping_mul(104_729)) % skus
}

async fn ours(path: &Path, case: &Case) -> (f64, Vec<Duration>) {
    let mut options = SqliteOptions::default();
    if std::env::var("BENCH_SYNC_NORMAL").is_ok() {
        options.synchronous = inventory_sqlite::Synchronous::Normal;
    }
    let store = SqliteStore::open_with(path, options).await.expect("open");
    let inventory = Inventory::new(store);
    let per_sku = i64::try_from(case.reservations).expect("fits") + 1;
    let setup: Vec<_> = (0..case.tasks)
        .map(|task| {
            let inventory = inventory.clone();
            let (skus, tasks) = (case.skus, case.tasks);
            tokio::spawn(async move {
                for index in (task..skus).step_by(tasks) {
                    inventory
                        .receive(sku(index), location(), Quantity::new(per_sku).unwrap())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in setup {
        task.await.expect("setup");
    }
    let started = Instant::now();
    let workers: Vec<_> = (0..case.tasks)
        .map(|task| {
            let inventory = inventory.clone();
            let (count, tasks, skus) = (case.reservations, case.tasks, case.skus);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for step in (task..count).step_by(tasks) {
                    let order = OrderId::new(format!("bench-{step}")).unwrap();
                    let line =
                        OrderLine::new(sku(pick(task, step, skus)), Quantity::new(1).unwrap());
                    let began = Instant::now();
                    inventory
                        .reserve(ReserveRequest::new(order, vec![line]))
                        .await
                        .expect("reserve");
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(case.reservations);
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let rate = case.reservations as f64 / started.elapsed().as_secs_f64();
    (rate, latencies)
}

/// The bare statement, one autocommit per reservation, on one connection: SQLite
/// writes one at a time, so more connections would only add lock waits.
fn raw(path: &Path, case: &Case) -> f64 {
    let mut connection = Connection::open(path).expect("open");
    connection.busy_timeout(Duration::from_secs(5)).unwrap();
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    connection
        .pragma_update(None, "synchronous", "FULL")
        .unwrap();
    inventory_sqlite::migrate::migrate(&mut connection).expect("schema");
    {
        let tx = connection.transaction().unwrap();
        for index in 0..case.skus {
            tx.execute(
                "INSERT INTO stock (sku, location, on_hand, reserved, committed, in_transit) VALUES (?1, 'main', ?2, 0, 0, 0)",
                params![sku(index).as_str(), case.reservations as i64 + 1],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let mut update = connection
        .prepare(
            "UPDATE stock SET reserved = reserved + ?1
             WHERE sku = ?2 AND location = ?3 AND on_hand - reserved - committed >= ?1",
        )
        .unwrap();
    let names: Vec<String> = (0..case.skus)
        .map(|index| sku(index).as_str().to_owned())
        .collect();
    let started = Instant::now();
    for step in 0..case.reservations {
        let name = &names[pick(step % case.tasks, step, case.skus)];
        assert_eq!(update.execute(params![1, name, "main"]).unwrap(), 1);
    }
    case.reservations as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1_000.0
}

fn main() {
    let scale: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let scaled = |n: f64| ((n * scale) as usize).max(64);
    let cases = [
        Case {
            name: "hot_sku_1_task",
            tasks: 1,
            skus: 1,
            reservations: scaled(2_000.0),
        },
        Case {
            name: "hot_sku_32_tasks",
            tasks: 32,
            skus: 1,
            reservations: scaled(20_000.0),
        },
        Case {
            name: "10000_skus_32_tasks",
            tasks: 32,
            skus: 10_000,
            reservations: scaled(20_000.0),
        },
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for case in &cases {
        let folder = tempfile::tempdir().expect("temporary folder");
        let (rate, mut latencies) = runtime.block_on(ours(&folder.path().join("ours.db"), case));
        let baseline = raw(&folder.path().join("raw.db"), case);
        latencies.sort_unstable();
        let shared = Arc::new(latencies);
        println!(
            "bench sqlite/{} ours={:.0}/s raw={:.0}/s ratio={:.2} p99_ms={:.2} max_ms={:.2}",
            case.name,
            rate,
            baseline,
            rate / baseline,
            percentile(&shared, 0.99),
            percentile(&shared, 1.0),
        );
    }
}
