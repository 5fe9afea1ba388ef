//! Reservations per second on a SQLite file with the shipped defaults (WAL,
//! `synchronous=FULL`), against the raw baseline measured in the same run: one
//! autocommit conditional `UPDATE` per reservation on the same file settings.
//!
//! `cargo bench -p inventory-sqlite`
//!
//! A second baseline, `hand_written`, is the transaction a peer would write by hand for
//! the rows a reservation of ours writes (stock row, reservation, hold, ledger entry,
//! outbox mark) on the library's schema, one commit per reservation.
//!
//! Prints one line per case:
//! `bench sqlite/<case> ours=<N>/s raw=<M>/s ratio=<N/M> hand_written=<H>/s
//! vs_hand_written=<N/H> p99_ms=<P> max_ms=<X> pages_per_reservation=<F>` (latencies
//! are ours, per reservation, as each caller sees it; pages are WAL frames written per
//! reservation, from the WAL's size after a short untimed run of the same case that
//! starts on an empty WAL).
//!
//! Then the `history` case, in one store as an app server keeps it: the 10,000-SKU,
//! 8-task case on fresh SKUs, `BENCH_HISTORY` (default 1,000,000) past reservations
//! finished through the library (half shipped, half released), and the same case on
//! fresh SKUs again:
//! `bench sqlite/history finished=<K> ours_fresh=<N>/s ours_history=<M>/s ratio=<M/N>`.
//!
//! `BENCH_SCALE` (default 1.0) scales the number of reservations per case,
//! `BENCH_ONLY=<text>` runs the cases whose name contains it.

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

fn sku(prefix: &str, index: usize) -> Sku {
    Sku::new(format!("{prefix}SKU-{index:05}")).expect("valid sku")
}

fn location() -> LocationId {
    LocationId::new("main").expect("valid location")
}

/// A cheap deterministic spread of picks over the SKUs.
fn pick(task: usize, step: usize, skus: usize) -> usize {
    (task.wrapping_mul(7_919) + step.wrapping_mul(104_729)) % skus
}

/// Stocks `skus` rows named `<prefix>SKU-...` with `units` each, from `tasks` tasks.
async fn stock(
    inventory: &Inventory<SqliteStore>,
    prefix: &'static str,
    skus: usize,
    tasks: usize,
    units: i64,
) {
    let setup: Vec<_> = (0..tasks)
        .map(|task| {
            let inventory = inventory.clone();
            tokio::spawn(async move {
                for index in (task..skus).step_by(tasks) {
                    inventory
                        .receive(
                            sku(prefix, index),
                            location(),
                            Quantity::new(units).unwrap(),
                        )
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in setup {
        task.await.expect("setup");
    }
}

/// `count` reservations of one unit from `tasks` tasks over `<prefix>SKU-...`, order ids
/// `<prefix><round><step>`; with `finish`, each is then shipped (even steps) or
/// released (odd steps). Returns the rate and each reservation's latency.
async fn reserve(
    inventory: &Inventory<SqliteStore>,
    (prefix, round): (&'static str, &'static str),
    (skus, tasks, count): (usize, usize, usize),
    finish: bool,
) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let inventory = inventory.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for step in (task..count).step_by(tasks) {
                    let order = OrderId::new(format!("{prefix}{round}{step}")).unwrap();
                    let line = OrderLine::new(
                        sku(prefix, pick(task, step, skus)),
                        Quantity::new(1).unwrap(),
                    );
                    let began = Instant::now();
                    let id = inventory
                        .reserve(ReserveRequest::new(order, vec![line]))
                        .await
                        .expect("reserve")
                        .reservation
                        .id;
                    latencies.push(began.elapsed());
                    if finish && step % 2 == 0 {
                        inventory.commit(id).await.expect("commit");
                        inventory.ship(id).await.expect("ship");
                    } else if finish {
                        inventory.release(id).await.expect("release");
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(count);
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    (rate, latencies)
}

/// The store's options, with `BENCH_CHECKPOINT=<pages>` and `BENCH_CACHE_KIB` applied.
fn options() -> SqliteOptions {
    let mut options = SqliteOptions::default();
    if let Some(pages) = std::env::var("BENCH_CHECKPOINT")
        .ok()
        .and_then(|p| p.parse().ok())
    {
        options.checkpoint_pages = pages;
    }
    if let Some(kib) = std::env::var("BENCH_CACHE_KIB")
        .ok()
        .and_then(|k| k.parse().ok())
    {
        options.cache_kib = kib;
    }
    options
}

async fn open(path: &Path) -> Inventory<SqliteStore> {
    let mut options = options();
    if std::env::var("BENCH_SYNC_NORMAL").is_ok() {
        options.synchronous = inventory_sqlite::Synchronous::Normal;
    }
    Inventory::new(SqliteStore::open_with(path, options).await.expect("open"))
}

/// Untimed reservations of each case, to count the WAL frames they write: few enough
/// that the automatic checkpoint does not restart the WAL meanwhile.
fn measured() -> usize {
    (options().checkpoint_pages as usize / 20).clamp(16, 256)
}

/// WAL frames per reservation: a checkpoint empties the WAL, then `measured()`
/// reservations of the case, then the WAL's size says how many frames they wrote.
async fn pages_per_reservation(
    path: &Path,
    inventory: &Inventory<SqliteStore>,
    case: &Case,
) -> f64 {
    let wal = path.with_extension("db-wal");
    let connection = Connection::open(path).expect("open");
    let page_size: i64 = connection
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap();
    connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    let work = (case.skus, case.tasks.min(measured()), measured());
    reserve(inventory, ("", "measured-"), work, false).await;
    let bytes = std::fs::metadata(&wal).expect("wal").len();
    let frames = bytes.saturating_sub(32) / (u64::try_from(page_size).unwrap() + 24);
    let limit = options().checkpoint_pages;
    assert!(
        frames < u64::from(limit),
        "the WAL restarted while measuring"
    );
    frames as f64 / measured() as f64
}

async fn ours(path: &Path, case: &Case) -> (f64, Vec<Duration>, f64) {
    let inventory = open(path).await;
    let per_sku = i64::try_from(case.reservations + measured()).expect("fits") + 1;
    stock(&inventory, "", case.skus, case.tasks, per_sku).await;
    let work = (case.skus, case.tasks, case.reservations);
    let (rate, latencies) = reserve(&inventory, ("", "bench-"), work, false).await;
    let pages = pages_per_reservation(path, &inventory, case).await;
    (rate, latencies, pages)
}

/// One store, as an app server keeps it: the spread case on fresh SKUs, `finished` past
/// reservations, then the spread case on fresh SKUs again.
async fn history(path: &Path, finished: usize, count: usize) {
    let (skus, tasks) = (10_000, 8);
    let inventory = open(path).await;
    let units = i64::try_from(count).unwrap() + 1;
    stock(&inventory, "fresh-", skus, 32, units).await;
    let (fresh, _) = reserve(&inventory, ("fresh-", "o-"), (skus, tasks, count), false).await;
    stock(
        &inventory,
        "past-",
        skus,
        32,
        i64::try_from(finished).unwrap() + 1,
    )
    .await;
    let started = Instant::now();
    reserve(&inventory, ("past-", "o-"), (skus, 64, finished), true).await;
    let loaded = started.elapsed().as_secs_f64();
    eprintln!("history: {finished} finished in {loaded:.0} s; measuring again");
    stock(&inventory, "later-", skus, 32, units).await;
    let (later, mut latencies) =
        reserve(&inventory, ("later-", "o-"), (skus, tasks, count), false).await;
    latencies.sort_unstable();
    let megabytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) / 1_000_000;
    println!(
        "bench sqlite/history finished={finished} ours_fresh={fresh:.0}/s ours_history={later:.0}/s \
         ratio={:.2} p99_ms={:.2} load_seconds={loaded:.0} file_mb={megabytes}",
        later / fresh,
        percentile(&latencies, 0.99),
    );
}

/// A baseline's file: one connection in WAL mode with `synchronous=FULL` and SQLite's
/// other defaults, the library's schema, and the case's SKUs stocked at `main`.
fn baseline_file(path: &Path, case: &Case) -> Connection {
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
    let tx = connection.transaction().unwrap();
    for index in 0..case.skus {
        tx.execute(
            "INSERT INTO stock (sku, location, on_hand, reserved, committed, in_transit) VALUES (?1, 'main', ?2, 0, 0, 0)",
            params![sku("", index).as_str(), case.reservations as i64 + 1],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    connection
}

/// The bare statement, one autocommit per reservation, on one connection, in WAL mode
/// with `synchronous=FULL` and SQLite's other defaults (a checkpoint every 1,000 pages
/// keeps this short run's WAL small, which suits the bare statement best): SQLite
/// writes one at a time, so more connections would only add lock waits.
fn raw(path: &Path, case: &Case) -> f64 {
    let connection = baseline_file(path, case);
    let mut update = connection
        .prepare(
            "UPDATE stock SET reserved = reserved + ?1
             WHERE sku = ?2 AND location = ?3 AND on_hand - reserved - committed >= ?1",
        )
        .unwrap();
    let names: Vec<String> = (0..case.skus)
        .map(|index| sku("", index).as_str().to_owned())
        .collect();
    let started = Instant::now();
    for step in 0..case.reservations {
        let name = &names[pick(step % case.tasks, step, case.skus)];
        assert_eq!(update.execute(params![1, name, "main"]).unwrap(), 1);
    }
    case.reservations as f64 / started.elapsed().as_secs_f64()
}

/// The hand-written transaction a peer would write for the same rows a reservation of
/// ours writes, on the library's schema, one connection, SQLite's defaults otherwise
/// (as `raw`): `BEGIN IMMEDIATE`, read and check the stock row, update it, insert the
/// reservation (the same id and JSON as ours), its hold, its ledger entry and the
/// outbox mark, `COMMIT`. Where the cost of those rows ends and the library's begins.
fn hand_written(path: &Path, case: &Case) -> f64 {
    let mut connection = baseline_file(path, case);
    let started = Instant::now();
    for step in 0..case.reservations {
        let name = sku("", pick(step % case.tasks, step, case.skus));
        let order = OrderId::new(format!("hand-{step}")).unwrap();
        let line = OrderLine::new(name.clone(), Quantity::new(1).unwrap());
        let request = ReserveRequest::new(order.clone(), vec![line.clone()]);
        let id = inventory_core::ReservationId::for_order(&order).to_string();
        let lines = serde_json::to_string(&vec![line]).unwrap();
        let request = serde_json::to_string(&request).unwrap();
        let now = chrono::Utc::now().timestamp_micros();
        let (name, order) = (name.as_str(), order.as_str());
        let tx = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let (on_hand, reserved, committed): (i64, i64, i64) = tx
            .prepare_cached("SELECT on_hand, reserved, committed FROM stock WHERE sku = ?1 AND location = 'main'")
            .unwrap()
            .query_row([name], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap();
        assert!(on_hand - reserved - committed >= 1);
        let statements: [(&str, Vec<&dyn rusqlite::ToSql>); 5] = [
            (
                "UPDATE stock SET reserved = reserved + 1 WHERE sku = ?1 AND location = 'main'",
                vec![&name],
            ),
            (
                "INSERT INTO reservations (id, order_id, status, created_at, expires_at, updated_at, lines, request)
                 VALUES (?1, ?2, 'active', ?3, ?3 + 900000000, ?3, ?4, ?5)",
                vec![&id, &order, &now, &lines, &request],
            ),
            (
                "INSERT INTO holds (reservation_id, sku, expires_at) VALUES (?1, ?2, ?3 + 900000000)",
                vec![&id, &name, &now],
            ),
            (
                "INSERT INTO ledger (seq, at, sku, location, movement, quantity,
                    before_on_hand, before_reserved, before_committed, before_in_transit,
                    after_on_hand, after_reserved, after_committed, after_in_transit,
                    reservation_id, order_id)
                 VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM ledger WHERE sku = ?2 AND location = 'main'),
                    ?1, ?2, 'main', 'reserve', 1, ?3, ?4, ?5, 0, ?3, ?4 + 1, ?5, 0, ?6, ?7)",
                vec![&now, &name, &on_hand, &reserved, &committed, &id, &order],
            ),
            (
                "INSERT INTO sync_outbox (sku, generation) VALUES (?1, 1)
                 ON CONFLICT (sku) DO UPDATE SET generation = generation + 1, retry_at = NULL",
                vec![&name],
            ),
        ];
        for (text, values) in statements {
            tx.prepare_cached(text)
                .unwrap()
                .execute(values.as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
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
            name: "10000_skus_1_task",
            tasks: 1,
            skus: 10_000,
            reservations: scaled(2_000.0),
        },
        Case {
            name: "10000_skus_8_tasks",
            tasks: 8,
            skus: 10_000,
            reservations: scaled(10_000.0),
        },
        Case {
            name: "10000_skus_32_tasks",
            tasks: 32,
            skus: 10_000,
            reservations: scaled(20_000.0),
        },
    ];
    let only = std::env::var("BENCH_ONLY").ok();
    let wanted = |name: &str| {
        only.as_ref()
            .is_none_or(|only| name.contains(only.as_str()))
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for case in cases.iter().filter(|case| wanted(case.name)) {
        let folder = tempfile::tempdir().expect("temporary folder");
        let (rate, mut latencies, pages) =
            runtime.block_on(ours(&folder.path().join("ours.db"), case));
        let baseline = raw(&folder.path().join("raw.db"), case);
        let by_hand = hand_written(&folder.path().join("hand.db"), case);
        latencies.sort_unstable();
        let shared = Arc::new(latencies);
        println!(
            "bench sqlite/{} ours={:.0}/s raw={:.0}/s ratio={:.2} hand_written={by_hand:.0}/s \
             vs_hand_written={:.2} p99_ms={:.2} max_ms={:.2} pages_per_reservation={pages:.1}",
            case.name,
            rate,
            baseline,
            rate / baseline,
            rate / by_hand,
            percentile(&shared, 0.99),
            percentile(&shared, 1.0),
        );
    }
    if wanted("history") {
        let finished = std::env::var("BENCH_HISTORY")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000_000);
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("history.db");
        runtime.block_on(history(&path, finished, scaled(10_000.0)));
    }
}
