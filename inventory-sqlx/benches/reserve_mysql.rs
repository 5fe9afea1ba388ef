//! Reservations per second on MySQL or MariaDB with default durability, against the two
//! baselines of the PostgreSQL benchmark, measured in the same run through the same
//! pool:
//!
//! - raw: the single-statement limit, one autocommit
//!   `UPDATE stock SET reserved = reserved + ? WHERE sku = ? AND location = ? AND
//!   on_hand - reserved - committed >= ?` per reservation;
//! - interactive: the common approach, `BEGIN; SELECT ... FOR UPDATE; UPDATE; INSERT
//!   reservation; COMMIT` per reservation.
//!
//! `MYSQL_URL=mysql://root@127.0.0.1:3306/test cargo bench -p inventory-sqlx --bench
//! reserve_mysql` (or `DATABASE_URL` set to a `mysql://` URL). It works in a database
//! of its own, `inv_bench_mysql`, dropped at the end.
//!
//! One line per case:
//! `bench mysql/<case> ours=<N>/s raw=<M>/s interactive=<K>/s ratio=<N/M>
//! vs_interactive=<N/K> p99_ms=... cpu_us=<C>+<S> interactive_cpu_us=<C>+<S>`, as for
//! PostgreSQL. `BENCH_SCALE`, `BENCH_ONLY`, `BENCH_LANES` and `BENCH_BATCH` as there.

mod common;

use std::str::FromStr;

use common::{
    cases, cpu_per_call, cpu_seconds, p99, pick, reserve_spread, run_tasks, sku, with_bench_lanes,
    POOL, WARMUP,
};
use inventory_core::Inventory;
use inventory_sqlx::sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use inventory_sqlx::sqlx::{self, Executor};
use inventory_sqlx::MySqlStore;

const DATABASE: &str = "inv_bench_mysql";

/// A fresh database with the inventory tables, stocked, and a pool on it.
async fn prepare(url: &str, skus: usize, units: i64) -> MySqlPool {
    let admin = MySqlPool::connect(url).await.expect("connect");
    for statement in [
        format!("DROP DATABASE IF EXISTS {DATABASE}"),
        format!("CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
    ] {
        admin
            .execute(sqlx::AssertSqlSafe(statement))
            .await
            .expect("database");
    }
    admin.close().await;
    let options = MySqlConnectOptions::from_str(url)
        .expect("a mysql:// URL")
        .database(DATABASE);
    let pool = MySqlStore::pool_options()
        .max_connections(POOL)
        .connect_with(options)
        .await
        .expect("pool");
    MySqlStore::new(pool.clone())
        .migrate()
        .await
        .expect("migrate");
    pool.execute(
        "CREATE TABLE bench_reservations (order_id VARCHAR(128) PRIMARY KEY,
         sku VARCHAR(128) NOT NULL, quantity BIGINT NOT NULL) ENGINE = InnoDB",
    )
    .await
    .expect("baseline table");
    for chunk in (0..skus).collect::<Vec<_>>().chunks(1_000) {
        let rows = vec!["(?, 'main', ?, 0, 0, 0, 0)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO stock (sku, location, on_hand, reserved, `committed`, in_transit,
             version) VALUES {rows}"
        );
        let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
        for index in chunk {
            statement = statement.bind(sku(*index)).bind(units);
        }
        statement.execute(&pool).await.expect("stock");
    }
    pool
}

/// The bare statement: one autocommit conditional update.
async fn raw_reserve(pool: MySqlPool, name: String) {
    let done = sqlx::query(
        "UPDATE stock SET reserved = reserved + ?
         WHERE sku = ? AND location = ? AND on_hand - reserved - `committed` >= ?",
    )
    .bind(1_i64)
    .bind(name)
    .bind("main")
    .bind(1_i64)
    .execute(&pool)
    .await
    .expect("update");
    assert_eq!(done.rows_affected(), 1);
}

/// The interactive transaction peers write by hand.
async fn interactive_reserve(pool: MySqlPool, name: String, order: String) {
    let mut tx = pool.begin().await.expect("begin");
    let (on_hand, reserved, committed): (i64, i64, i64) = sqlx::query_as(
        "SELECT on_hand, reserved, `committed` FROM stock
         WHERE sku = ? AND location = 'main' FOR UPDATE",
    )
    .bind(&name)
    .fetch_one(&mut *tx)
    .await
    .expect("select");
    assert!(on_hand - reserved - committed >= 1);
    sqlx::query("UPDATE stock SET reserved = reserved + 1 WHERE sku = ? AND location = 'main'")
        .bind(&name)
        .execute(&mut *tx)
        .await
        .expect("update");
    sqlx::query("INSERT INTO bench_reservations (order_id, sku, quantity) VALUES (?, ?, 1)")
        .bind(order)
        .bind(&name)
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
}

async fn case(url: &str, name: &str, skus: usize, tasks: usize, count: usize) {
    let units = i64::try_from(count + WARMUP).unwrap() * 4 + 1;
    let pool = prepare(url, skus, units).await;

    // BENCH_ONE_STATEMENT_PER_TRIP=1: the path a Galera node takes.
    let per_trip = std::env::var("BENCH_ONE_STATEMENT_PER_TRIP").is_ok();
    let store = MySqlStore::new(pool.clone()).one_statement_per_trip(per_trip);
    let inventory = with_bench_lanes(Inventory::new(store));
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
    pool.close().await;

    println!(
        "bench mysql/{name} ours={ours:.0}/s raw={raw:.0}/s interactive={interactive:.0}/s \
         ratio={:.2} vs_interactive={:.2} p99_ms={:.2} raw_p99_ms={:.2} \
         interactive_p99_ms={:.2} cpu_us={ours_cpu} interactive_cpu_us={interactive_cpu}",
        ours / raw,
        ours / interactive,
        p99(&ours_latency),
        p99(&raw_latency),
        p99(&interactive_latency),
    );
}

fn main() {
    let url = std::env::var("MYSQL_URL").ok().or_else(|| {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| url.starts_with("mysql://"))
    });
    let Some(url) = url else {
        eprintln!(
            "!!! SKIPPING the MySQL benchmark: set MYSQL_URL \
             (e.g. mysql://root@127.0.0.1:3306/test) !!!"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for (name, skus, tasks, count) in cases() {
            case(&url, &name, skus, tasks, count).await;
        }
        let admin = MySqlPool::connect(&url).await.expect("connect");
        let drop = format!("DROP DATABASE IF EXISTS {DATABASE}");
        let _ = admin.execute(sqlx::AssertSqlSafe(drop)).await;
    });
}
