//! Sync workers running in the background: woken by commits (not by their tick), and
//! two workers on one PostgreSQL database sharing the work.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::async_trait;
use inventory_core::backend::AuditStore;
use inventory_core::sync::{
    Buffer, Channel, ChannelError, ChannelPolicy, StockUpdate, Stopped, SyncConfig, SyncStore,
    SyncWorker,
};
use inventory_core::testkit::{loc, order, qty, shop_worker, sku, RecordingChannel};
use inventory_core::{Inventory, SystemClock};
use inventory_sqlite::{SqliteOptions, SqliteStore};
use inventory_tests::pg;

/// A tick far longer than the test: only commit wake-ups can explain a push.
const SLOW_TICK: SyncConfig = SyncConfig {
    claim_batch: 500,
    claim_for: Duration::from_secs(30),
    tick: Duration::from_secs(3_600),
    backoff_base: Duration::from_millis(200),
    backoff_max: Duration::from_secs(60),
};

async fn wait_for(channel: &RecordingChannel, sku_name: &str, quantity: i64) -> Duration {
    let started = Instant::now();
    while channel.last(&sku(sku_name)) != Some(quantity) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{sku_name} never reached {quantity}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    started.elapsed()
}

async fn woken_by_commits<S: AuditStore + SyncStore + Clone>(store: S) {
    let inventory = Inventory::new(store).with_clock(SystemClock);
    let channel = RecordingChannel::new();
    let worker = shop_worker(inventory.clone(), &channel)
        .config(SLOW_TICK)
        .spawn();
    inventory
        .receive(sku("TEE"), loc("main"), qty(50))
        .await
        .unwrap();
    wait_for(&channel, "TEE", 50).await;
    inventory.reserve(order("o1", &[("TEE", 5)])).await.unwrap();
    let latency = wait_for(&channel, "TEE", 45).await;
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    assert_eq!(worker.stop(Duration::from_secs(5)).await, Stopped::Finished);
}

/// A channel whose pushes take `pause`, counting the pushes begun and finished.
#[derive(Clone)]
struct SlowChannel {
    pause: Duration,
    begun: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

#[async_trait]
impl Channel for SlowChannel {
    async fn push(&self, _updates: &[StockUpdate]) -> Result<(), ChannelError> {
        self.begun.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.pause).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Stopping a worker mid-push lets the push finish and releases its claim (the SKU is
/// no longer dirty), then returns; a timeout shorter than the push aborts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_worker_finishes_its_push() {
    for (timeout, wanted) in [
        (Duration::from_secs(10), Stopped::Finished),
        (Duration::from_millis(50), Stopped::Aborted),
    ] {
        let store = SqliteStore::temporary(SqliteOptions::default())
            .await
            .unwrap();
        let inventory = Inventory::new(store.clone()).with_clock(SystemClock);
        let channel = SlowChannel {
            pause: Duration::from_millis(600),
            begun: Arc::default(),
            finished: Arc::default(),
        };
        let worker = SyncWorker::builder(inventory.clone())
            .channel(
                "slow",
                ChannelPolicy::buffered(Buffer::FULL),
                channel.clone(),
            )
            .unwrap()
            .config(SLOW_TICK)
            .spawn();
        inventory
            .receive(sku("TEE"), loc("main"), qty(50))
            .await
            .unwrap();
        let started = Instant::now();
        while channel.begun.load(Ordering::SeqCst) == 0 {
            assert!(started.elapsed() < Duration::from_secs(10), "never pushed");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(worker.stop(timeout).await, wanted);
        let finished = channel.finished.load(Ordering::SeqCst);
        let dirty = store.is_dirty(&sku("TEE")).await.unwrap();
        match wanted {
            Stopped::Finished => assert_eq!((finished, dirty), (1, false)),
            Stopped::Aborted => assert_eq!((finished, dirty), (0, true)),
        }
        // Nothing runs after the stop.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(channel.begun.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_worker_is_woken_by_commits() {
    woken_by_commits(inventory_core::MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_worker_is_woken_by_commits() {
    woken_by_commits(
        SqliteStore::temporary(SqliteOptions::default())
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_worker_is_woken_by_commits() {
    let Some(store) = pg::fresh_store(4).await else {
        return;
    };
    woken_by_commits(store).await;
}

/// Two app servers (two pools, two inventories, two workers) on one database push to
/// one channel: every SKU ends at its number, and no SKU is pushed the same number twice
/// in a row (no state pushed twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgres_share_the_work() {
    let Some(first) = pg::fresh_store(8).await else {
        return;
    };
    let second = pg::second_pool(&first, 8).await;
    let channel = RecordingChannel::new();
    let config = SyncConfig {
        tick: Duration::from_millis(50),
        claim_batch: 3,
        ..SyncConfig::default()
    };
    let servers: Vec<_> = [first.clone(), second]
        .into_iter()
        .map(|store| {
            let inventory = Inventory::new(store);
            let worker = shop_worker(inventory.clone(), &channel)
                .config(config)
                .spawn();
            (inventory, worker)
        })
        .collect();
    let names: Vec<String> = (0..12).map(|index| format!("SKU-{index:02}")).collect();
    for name in &names {
        servers[0]
            .0
            .receive(sku(name), loc("main"), qty(1_000))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let inventory = servers[task % 2].0.clone();
            let names = names.clone();
            tokio::spawn(async move {
                for step in 0..25 {
                    let name = &names[(task * 7 + step) % names.len()];
                    inventory
                        .reserve(order(&format!("w{task}-{step}"), &[(name, 1)]))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let stock = first
        .stock_of(&names.iter().map(|name| sku(name)).collect::<Vec<_>>())
        .await
        .unwrap();
    for (name, rows) in &stock {
        let available: i64 = rows.iter().map(|row| row.level.available()).sum();
        wait_for(&channel, name.as_str(), available).await;
    }
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for StockUpdate { sku, quantity } in channel.updates() {
        let previous = last.insert(sku.to_string(), quantity);
        assert_ne!(
            previous,
            Some(quantity),
            "{sku} was pushed {quantity} twice in a row"
        );
    }
    drop(servers);
}

/// The handles an app keeps in its own structs print with `{:?}`: the store's type,
/// the channels by name, whether the worker runs.
#[tokio::test]
async fn handles_print_for_debugging() {
    let inventory = Inventory::new(inventory_core::MemoryStore::new());
    let printed = format!("{inventory:?}");
    assert!(printed.contains("MemoryStore"), "{printed}");
    let channel = RecordingChannel::new();
    let builder = shop_worker(inventory.clone(), &channel);
    assert!(format!("{builder:?}").contains("\"shop\""), "{builder:?}");
    let worker = builder.spawn();
    let printed = format!("{worker:?}");
    assert!(
        printed.contains("running: true") && printed.contains("\"shop\""),
        "{printed}"
    );
    assert_eq!(worker.stop(Duration::from_secs(5)).await, Stopped::Finished);
}
