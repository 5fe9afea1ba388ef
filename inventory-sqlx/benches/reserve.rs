//! Reservations per second on PostgreSQL with default durability, against two baselines
//! measured in the same run through the same pool:
//!
//! - raw: the single-statement limit, one autocommit
//!   `UPDATE stock SET reserved = reserved + $1 WHERE sku = $2 AND location = $3 AND
//!   on_hand - reserved - committed >= $1` per reservation;
//! - interactive: the common approach, `BEGIN; SELECT ... FOR UPDATE; UPDATE; INSERT
//!   reservation; COMMIT` per reservation.
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p inventory-sqlx`
//!
//! One line per case:
//! `bench postgres/<case> ours=<N>/s raw=<M>/s interactive=<K>/s ratio=<N/M> vs_interactive=<N/K> p99_ms=...
//! cpu_us=<C>+<S> interactive_cpu_us=<C>+<S> hand_written=<H>/s vs_hand_written=<N/H>`,
//! where `cpu_us` is the CPU time per reservation of this process (C) and of the
//! database server's processes when they run here (S; else the rest of the machine),
//! from Linux's `/proc`, and
//! `hand_written` is a third baseline: the transaction a peer would write by hand for
//! the rows a reservation of ours writes (stock row, reservation, hold, ledger entry,
//! outbox mark), one round trip per statement.
//! `BENCH_SCALE` (default 1.0) scales the number of reservations, `BENCH_ONLY=<text>`
//! runs the cases whose name contains it, and `BENCH_LANES` with `BENCH_BATCH` set
//! ours to other group-commit settings.
//!
//! The `history` case keeps one pool, as an app server does: the 10,000-SKU, 8-task
//! case on fresh SKUs, then `BENCH_HISTORY` (default 1,000,000) past reservations
//! finished through the library (half shipped, half released), then the same case on
//! fresh SKUs again, with no `ANALYZE` and no reconnect in between:
//! `bench postgres/history finished=<K> ours_fresh=<N>/s ours_history=<M>/s ratio=<M/N>`.

mod common;

use std::str::FromStr;
use std::time::Instant;

use common::{
    cases, cpu_per_call, cpu_seconds, p99, pick, reserve_spread, run_tasks, scale, sku,
    with_bench_lanes, POOL, WARMUP,
};

use inventory_core::{Inventory, OrderId, OrderLine, Quantity, ReserveRequest, Sku};
use inventory_sqlx::sqlx::postgres::{PgConnectOptions, PgPool};
use inventory_sqlx::sqlx::{self, Executor};
use inventory_sqlx::PgStore;

/// A fresh schema with the inventory tables, stocked, and a pool on it.
async fn prepare(url: &str, name: &str, skus: usize, units: i64) -> PgPool {
    let admin = PgPool::connect(url).await.expect("connect");
    let statement = format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}");
    admin
        .execute(sqlx::AssertSqlSafe(statement))
        .await
        .expect("schema");
    admin.close().await;
    let options = PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", name)]);
    let pool = PgStore::pool_options()
        .max_connections(POOL)
        .connect_with(options)
        .await
        .expect("pool");
    PgStore::new(pool.clone()).migrate().await.expect("migrate");
    pool.execute("CREATE TABLE bench_reservations (order_id TEXT PRIMARY KEY, sku TEXT NOT NULL, quantity BIGINT NOT NULL)")
        .await
        .expect("baseline table");
    stock(&pool, "", skus, units).await;
    pool
}

/// Rows `<prefix>SKU-00000` and up at `main`, `units` each.
async fn stock(pool: &PgPool, prefix: &str, skus: usize, units: i64) {
    let names: Vec<String> = (0..skus).map(|i| format!("{prefix}{}", sku(i))).collect();
    sqlx::query(
        "INSERT INTO stock (sku, location, on_hand, reserved, committed, in_transit, version)
         SELECT s, 'main', $2, 0, 0, 0, 0 FROM UNNEST($1::text[]) AS s",
    )
    .bind(names)
    .bind(units)
    .execute(pool)
    .await
    .expect("stock");
}

/// Finishes `count` reservations through the library, as days of trade leave them:
/// every one reserved, then half committed and shipped, half released.
async fn load_history(inventory: &Inventory<PgStore>, skus: usize, count: usize) {
    let inventory = inventory.clone();
    run_tasks(64, count, move |task, step| {
        let inventory = inventory.clone();
        async move {
            let line = OrderLine::new(
                Sku::new(format!("past-{}", sku(pick(task, step, skus)))).unwrap(),
                Quantity::new(1).unwrap(),
            );
            let order = OrderId::new(format!("past-{step}")).unwrap();
            let id = inventory
                .reserve(ReserveRequest::new(order, vec![line]))
                .await
                .expect("reserve")
                .reservation
                .id;
            if step % 2 == 0 {
                inventory.commit(id).await.expect("commit");
                inventory.ship(id).await.expect("ship");
            } else {
                inventory.release(id).await.expect("release");
            }
        }
    })
    .await;
}

/// One pool, as an app server lives: the spread case on fresh SKUs, then `finished`
/// past reservations, then the same case on fresh SKUs again, with no `ANALYZE` and no
/// new connection in between.
async fn history(url: &str, finished: usize, count: usize) {
    let (skus, tasks) = (10_000, 8);
    let units = i64::try_from(count + WARMUP).unwrap() * 4 + 1;
    let pool = prepare(url, "inv_bench", 0, units).await;
    let inventory = inventory_on(&pool);
    stock(&pool, "fresh-", skus, units).await;
    reserve_spread(&inventory, "fresh-", "warm-", skus, tasks, WARMUP).await;
    let (fresh, _) = reserve_spread(&inventory, "fresh-", "ours-", skus, tasks, count).await;
    let per_sku = i64::try_from(finished).unwrap() + 1;
    stock(&pool, "past-", skus, per_sku).await;
    let started = Instant::now();
    load_history(&inventory, skus, finished).await;
    let loaded = started.elapsed().as_secs_f64();
    stock(&pool, "later-", skus, units).await;
    let (later, latency) = reserve_spread(&inventory, "later-", "ours-", skus, tasks, count).await;
    pool.close().await;
    println!(
        "bench postgres/history finished={finished} ours_fresh={fresh:.0}/s ours_history={later:.0}/s \
         ratio={:.2} p99_ms={:.2} load_seconds={loaded:.0}",
        later / fresh,
        p99(&latency),
    );
}

fn inventory_on(pool: &PgPool) -> Inventory<PgStore> {
    with_bench_lanes(Inventory::new(PgStore::new(pool.clone())))
}

/// The bare statement: one autocommit conditional update.
async fn raw_reserve(pool: PgPool, name: String) {
    let done = sqlx::query(
        "UPDATE stock SET reserved = reserved + $1
         WHERE sku = $2 AND location = $3 AND on_hand - reserved - committed >= $1",
    )
    .bind(1_i64)
    .bind(name)
    .bind("main")
    .execute(&pool)
    .await
    .expect("update");
    assert_eq!(done.rows_affected(), 1);
}

/// The interactive transaction peers write by hand.
async fn interactive_reserve(pool: PgPool, name: String, order: String) {
    let mut tx = pool.begin().await.expect("begin");
    let (on_hand, reserved, committed): (i64, i64, i64) = sqlx::query_as(
        "SELECT on_hand, reserved, committed FROM stock WHERE sku = $1 AND location = 'main' FOR UPDATE",
    )
    .bind(&name)
    .fetch_one(&mut *tx)
    .await
    .expect("select");
    assert!(on_hand - reserved - committed >= 1);
    sqlx::query("UPDATE stock SET reserved = reserved + 1 WHERE sku = $1 AND location = 'main'")
        .bind(&name)
        .execute(&mut *tx)
        .await
        .expect("update");
    sqlx::query("INSERT INTO bench_reservations (order_id, sku, quantity) VALUES ($1, $2, 1)")
        .bind(order)
        .bind(&name)
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
}

/// The transaction a peer would write by hand for the rows a reservation of ours
/// writes, on the library's schema: lock and check the stock row, update it, insert the
/// reservation (the same id and JSON as ours), its hold, its ledger entry and the outbox
/// mark, commit: eight round trips.
async fn hand_written_reserve(pool: PgPool, name: String, order: String) {
    let order = OrderId::new(order).unwrap();
    let line = OrderLine::new(Sku::new(name.clone()).unwrap(), Quantity::new(1).unwrap());
    let request = ReserveRequest::new(order.clone(), vec![line.clone()]);
    let id = inventory_core::ReservationId::for_order(&order).as_uuid();
    let lines = serde_json::to_string(&vec![line]).unwrap();
    let request = serde_json::to_string(&request).unwrap();
    let now = chrono::Utc::now();
    let mut tx = pool.begin().await.expect("begin");
    let (on_hand, reserved, committed, version): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT on_hand, reserved, committed, version FROM stock
         WHERE sku = $1 AND location = 'main' FOR UPDATE",
    )
    .bind(&name)
    .fetch_one(&mut *tx)
    .await
    .expect("select");
    assert!(on_hand - reserved - committed >= 1);
    sqlx::query(
        "UPDATE stock SET reserved = reserved + 1, version = version + 1
         WHERE sku = $1 AND location = 'main'",
    )
    .bind(&name)
    .execute(&mut *tx)
    .await
    .expect("update");
    sqlx::query(
        "INSERT INTO reservations (id, order_id, status, created_at, expires_at, updated_at, lines, request)
         VALUES ($1, $2, 'active', $3, $3 + interval '15 minutes', $3, $4::jsonb, $5::jsonb)",
    )
    .bind(id)
    .bind(order.as_str())
    .bind(now)
    .bind(&lines)
    .bind(&request)
    .execute(&mut *tx)
    .await
    .expect("reservation");
    sqlx::query(
        "INSERT INTO holds (reservation_id, sku, expires_at) VALUES ($1, $2, $3 + interval '15 minutes')",
    )
    .bind(id)
    .bind(&name)
    .bind(now)
    .execute(&mut *tx)
    .await
    .expect("hold");
    sqlx::query(
        "INSERT INTO ledger (sku, location, version, at, movement, quantity,
            before_on_hand, before_reserved, before_committed, before_in_transit,
            after_on_hand, after_reserved, after_committed, after_in_transit,
            reservation_id, order_id)
         VALUES ($1, 'main', $2, $3, 'reserve', 1, $4, $5, $6, 0, $4, $5 + 1, $6, 0, $7, $8)",
    )
    .bind(&name)
    .bind(version + 1)
    .bind(now)
    .bind(on_hand)
    .bind(reserved)
    .bind(committed)
    .bind(id)
    .bind(order.as_str())
    .execute(&mut *tx)
    .await
    .expect("ledger");
    sqlx::query(
        "INSERT INTO sync_outbox (sku, generation) VALUES ($1, 1)
         ON CONFLICT (sku) DO UPDATE SET generation = sync_outbox.generation + 1, retry_at = NULL",
    )
    .bind(&name)
    .execute(&mut *tx)
    .await
    .expect("outbox");
    tx.commit().await.expect("commit");
}

async fn case(url: &str, name: &str, skus: usize, tasks: usize, count: usize) {
    let units = i64::try_from(count + WARMUP).unwrap() * 4 + 1;
    let pool = prepare(url, "inv_bench", skus, units).await;

    let inventory = inventory_on(&pool);
    reserve_spread(&inventory, "", "warm-", skus, tasks, WARMUP).await;
    let before = cpu_seconds();
    let (ours, ours_latency) = reserve_spread(&inventory, "", "ours-", skus, tasks, count).await;
    let ours_cpu = cpu_per_call(before, count);

    let raw = |count: usize| {
        let pool = pool.clone();
        run_tasks(tasks, count, move |task, step| {
            raw_reserve(pool.clone(), sku(pick(task, step, skus)))
        })
    };
    raw(WARMUP).await;
    let (raw, raw_latency) = raw(count).await;

    let interactive = |round: &'static str, count: usize| {
        let pool = pool.clone();
        run_tasks(tasks, count, move |task, step| {
            let order = format!("{round}{step}");
            interactive_reserve(pool.clone(), sku(pick(task, step, skus)), order)
        })
    };
    interactive("warm-", WARMUP).await;
    let before = cpu_seconds();
    let (interactive, interactive_latency) = interactive("interactive-", count).await;
    let interactive_cpu = cpu_per_call(before, count);

    let hand_written = |round: &'static str, count: usize| {
        let pool = pool.clone();
        run_tasks(tasks, count, move |task, step| {
            let order = format!("hand-{round}{step}");
            hand_written_reserve(pool.clone(), sku(pick(task, step, skus)), order)
        })
    };
    hand_written("warm-", WARMUP).await;
    let (hand_written, _) = hand_written("timed-", count).await;
    pool.close().await;

    println!(
        "bench postgres/{name} ours={ours:.0}/s raw={raw:.0}/s interactive={interactive:.0}/s ratio={:.2} \
         vs_interactive={:.2} p99_ms={:.2} raw_p99_ms={:.2} interactive_p99_ms={:.2} \
         cpu_us={ours_cpu} interactive_cpu_us={interactive_cpu} hand_written={hand_written:.0}/s \
         vs_hand_written={:.2}",
        ours / raw,
        ours / interactive,
        p99(&ours_latency),
        p99(&raw_latency),
        p99(&interactive_latency),
        ours / hand_written,
    );
}

fn main() {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres"));
    let Some(url) = url else {
        eprintln!("!!! SKIPPING the PostgreSQL benchmark: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) !!!");
        return;
    };
    let scale = scale();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for (name, skus, tasks, count) in cases() {
            case(&url, &name, skus, tasks, count).await;
        }
        let only = std::env::var("BENCH_ONLY").ok();
        if only
            .as_ref()
            .is_none_or(|only| "history".contains(only.as_str()))
        {
            let finished = std::env::var("BENCH_HISTORY")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1_000_000);
            history(&url, finished, (4_000.0 * scale) as usize).await;
        }
        let admin = PgPool::connect(&url).await.expect("connect");
        let _ = admin
            .execute("DROP SCHEMA IF EXISTS inv_bench CASCADE")
            .await;
    });
}
