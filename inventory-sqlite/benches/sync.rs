//! Channel sync on SQLite (shipped defaults) with an in-process channel:
//!
//! - `steady`: 1,000 reservations per second for three seconds over 1,000 SKUs; the
//!   latency from a reservation's commit to the channel receiving a number that
//!   includes it (p50, p99, max);
//! - `burst_hot_sku`: 2,000 reservations on one SKU from 32 tasks at full speed; the
//!   coalescing ratio, changes per push.
//!
//! `cargo bench -p inventory-sqlite --bench sync`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use inventory_core::sync::{Buffer, Channel, ChannelError, ChannelPolicy, StockUpdate, SyncWorker};
use inventory_core::{Inventory, LocationId, OrderId, OrderLine, Quantity, ReserveRequest, Sku};
use inventory_sqlite::{SqliteOptions, SqliteStore};

/// Remembers when each update arrived.
#[derive(Clone, Default)]
struct TimingChannel {
    received: Arc<Mutex<Vec<(Sku, i64, Instant)>>>,
}

impl TimingChannel {
    fn received(&self) -> Vec<(Sku, i64, Instant)> {
        self.received.lock().unwrap().clone()
    }
}

#[async_trait]
impl Channel for TimingChannel {
    async fn push(&self, updates: &[StockUpdate]) -> Result<(), ChannelError> {
        let now = Instant::now();
        let mut received = self.received.lock().unwrap();
        received.extend(
            updates
                .iter()
                .map(|update| (update.sku.clone(), update.quantity, now)),
        );
        Ok(())
    }
}

fn sku(index: usize) -> Sku {
    Sku::new(format!("SKU-{index:04}")).unwrap()
}

fn location() -> LocationId {
    LocationId::new("main").unwrap()
}

fn reserve_one(sku: Sku, order: String) -> ReserveRequest {
    ReserveRequest::new(
        OrderId::new(order).unwrap(),
        vec![OrderLine::new(sku, Quantity::new(1).unwrap())],
    )
}

async fn setup(
    skus: usize,
    units: i64,
) -> (
    Inventory<SqliteStore>,
    TimingChannel,
    SyncWorker<SqliteStore>,
) {
    let store = SqliteStore::temporary(SqliteOptions::default())
        .await
        .unwrap();
    let inventory = Inventory::new(store);
    for index in 0..skus {
        inventory
            .receive(sku(index), location(), Quantity::new(units).unwrap())
            .await
            .unwrap();
    }
    let channel = TimingChannel::default();
    let worker = SyncWorker::builder(inventory.clone())
        .channel(
            "shop",
            ChannelPolicy::buffered(Buffer::FULL),
            channel.clone(),
        )
        .unwrap()
        .build();
    worker.run_until_idle().await.unwrap();
    drop(worker);
    let worker = SyncWorker::builder(inventory.clone())
        .channel(
            "shop",
            ChannelPolicy::buffered(Buffer::FULL),
            channel.clone(),
        )
        .unwrap()
        .spawn();
    (inventory, channel, worker)
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1_000.0
}

async fn steady() {
    const SKUS: usize = 1_000;
    const TASKS: usize = 4;
    const PER_SECOND: usize = 1_000;
    const SECONDS: usize = 3;
    let units = 10_000;
    let (inventory, channel, _worker) = setup(SKUS, units).await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let inventory = inventory.clone();
            tokio::spawn(async move {
                // Each task owns the SKUs congruent to it, so it knows each one's count.
                let mut commits = Vec::new();
                let mut left = vec![units; SKUS];
                let per_task = PER_SECOND * SECONDS / TASKS;
                let interval = Duration::from_secs_f64(TASKS as f64 / PER_SECOND as f64);
                for step in 0..per_task {
                    let due = started + interval.mul_f64(step as f64);
                    tokio::time::sleep_until(due.into()).await;
                    let index = (step * TASKS + task) % SKUS;
                    inventory
                        .reserve(reserve_one(sku(index), format!("steady-{task}-{step}")))
                        .await
                        .unwrap();
                    left[index] -= 1;
                    commits.push((index, left[index], Instant::now()));
                }
                commits
            })
        })
        .collect();
    let mut commits = Vec::new();
    for task in tasks {
        commits.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = channel.received();
    let mut latencies: Vec<Duration> = commits
        .iter()
        .map(|(index, expected, committed)| {
            let name = sku(*index);
            let arrival = received
                .iter()
                .find(|(s, quantity, _)| *s == name && quantity <= expected)
                .map(|(_, _, at)| *at)
                .expect("every change reaches the channel");
            arrival.saturating_duration_since(*committed)
        })
        .collect();
    latencies.sort_unstable();
    println!(
        "bench sync/steady_1000_per_s reservations={} rate={:.0}/s p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        commits.len(),
        commits.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
}

async fn burst() {
    const CHANGES: usize = 2_000;
    const TASKS: usize = 32;
    let (inventory, channel, _worker) = setup(1, CHANGES as i64).await;
    let before = channel.received().len();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let inventory = inventory.clone();
            tokio::spawn(async move {
                for step in (task..CHANGES).step_by(TASKS) {
                    inventory
                        .reserve(reserve_one(sku(0), format!("burst-{step}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while channel.received().last().map(|(_, quantity, _)| *quantity) != Some(0) {
        assert!(Instant::now() < deadline, "the last number never arrived");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let pushes = channel.received().len() - before;
    println!(
        "bench sync/burst_hot_sku changes={CHANGES} pushes={pushes} coalescing={:.1}",
        CHANGES as f64 / pushes as f64
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        steady().await;
        burst().await;
    });
}
