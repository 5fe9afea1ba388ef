//! What the PostgreSQL and MySQL benchmarks share: SKU names and picks, the task
//! runner, CPU and latency figures, the library's spread reservations.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::backend::Store;
use inventory_core::{Inventory, OrderId, OrderLine, Quantity, ReserveRequest, Sku};

pub const POOL: u32 = 64;

pub fn sku(index: usize) -> String {
    format!("SKU-{index:05}")
}

pub fn pick(task: usize, step: usize, skus: usize) -> usize {
    (task.wrapping_mul(7_919) + step.wrapping_mul(104_729)) % skus
}

/// Untimed calls of each method before it is timed, so that every pooled connection
/// has prepared (and planned) its statements: the steady state of a server that runs
/// for more than a few hundred commands.
pub const WARMUP: usize = 4 * POOL as usize;

pub async fn run_tasks<F, Fut>(tasks: usize, count: usize, one: F) -> (f64, Vec<Duration>)
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let one = Arc::new(one);
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let one = Arc::clone(&one);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for step in (task..count).step_by(tasks) {
                    let began = Instant::now();
                    one(task, step).await;
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(count);
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    latencies.sort_unstable();
    (count as f64 / started.elapsed().as_secs_f64(), latencies)
}

/// CPU seconds used so far by this process and by the database server: the server
/// processes on this machine (`mariadbd`, `mysqld`, `postgres`) when there are any, else
/// the rest of the machine, from Linux's `/proc` (zero elsewhere). Counting the server's
/// own processes keeps other load on a shared machine out of the figure.
pub fn cpu_seconds() -> (f64, f64) {
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| process_ticks(&stat))
        .unwrap_or(0.0);
    let server = server_ticks();
    let all = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| {
            let cpu: Vec<f64> = stat
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|n| n.parse().ok())
                .collect();
            Some(cpu.iter().sum::<f64>() - cpu.get(3)? - cpu.get(4)?)
        })
        .unwrap_or(0.0);
    let rest = server.unwrap_or(all - own);
    (own / 100.0, rest / 100.0)
}

/// User and system ticks of one `/proc/<pid>/stat` line.
fn process_ticks(stat: &str) -> Option<f64> {
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    Some(fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?)
}

/// Ticks of every database server process on this machine, `None` when there is none.
fn server_ticks() -> Option<f64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map(|(name, _)| name);
        if matches!(name, Some("mariadbd" | "mysqld" | "postgres")) {
            *total.get_or_insert(0.0) += process_ticks(&stat).unwrap_or(0.0);
        }
    }
    total
}

/// CPU microseconds per call since `before`, as `<this process>+<the server>`.
pub fn cpu_per_call(before: (f64, f64), calls: usize) -> String {
    let after = cpu_seconds();
    let per_call = |used: f64| used * 1e6 / calls as f64;
    format!(
        "{:.0}+{:.0}",
        per_call(after.0 - before.0),
        per_call(after.1 - before.1)
    )
}

pub fn p99(sorted: &[Duration]) -> f64 {
    let index = ((sorted.len() as f64 * 0.99).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1_000.0
}

/// `count` reservations of one unit each by `tasks` tasks over SKUs `<prefix>SKU-00000`
/// and up, order ids `<prefix><round><step>`.
pub async fn reserve_spread<S: Store>(
    inventory: &Inventory<S>,
    prefix: &'static str,
    round: &'static str,
    skus: usize,
    tasks: usize,
    count: usize,
) -> (f64, Vec<Duration>) {
    let inventory = inventory.clone();
    run_tasks(tasks, count, move |task, step| {
        let inventory = inventory.clone();
        async move {
            let line = OrderLine::new(
                Sku::new(format!("{prefix}{}", sku(pick(task, step, skus)))).unwrap(),
                Quantity::new(1).unwrap(),
            );
            let order = OrderId::new(format!("{prefix}{round}{step}")).unwrap();
            let held = inventory
                .reserve(ReserveRequest::new(order, vec![line]))
                .await
                .expect("reserve");
            assert!(held.created);
        }
    })
    .await
}

/// `inventory` with the group-commit settings `BENCH_LANES` and `BENCH_BATCH` name,
/// when both are set.
pub fn with_bench_lanes<S: Store>(inventory: Inventory<S>) -> Inventory<S> {
    match (std::env::var("BENCH_LANES"), std::env::var("BENCH_BATCH")) {
        (Ok(lanes), Ok(batch)) => inventory.with_group_commit(inventory_core::GroupCommit {
            lanes: lanes.parse().unwrap(),
            max_batch: batch.parse().unwrap(),
        }),
        _ => inventory,
    }
}

/// `BENCH_SCALE` (default 1.0).
pub fn scale() -> f64 {
    std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

/// The cases `BENCH_ONLY` selects, with their reservation counts: `(name, skus, tasks,
/// count)`.
pub fn cases() -> Vec<(String, usize, usize, usize)> {
    let only = std::env::var("BENCH_ONLY").ok();
    let mut cases = Vec::new();
    for (label, skus) in [("hot_sku", 1), ("10000_skus", 10_000)] {
        for tasks in [1, 8, 32, 64] {
            let name = format!("{label}_{tasks}_tasks");
            if only
                .as_ref()
                .is_some_and(|only| !name.contains(only.as_str()))
            {
                continue;
            }
            let count = ((if tasks == 1 { 1_000.0 } else { 4_000.0 }) * scale()) as usize;
            cases.push((name, skus, tasks, count.max(tasks)));
        }
    }
    cases
}
