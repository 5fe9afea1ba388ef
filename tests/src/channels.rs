//! What the channel adapter tests share: a worker paced for tests, and a loop that runs
//! it until a stand-in shows the buffered formula for every SKU.

use std::time::{Duration, Instant};

use inventory_core::sync::{published, ChannelPolicy, SyncConfig, SyncWorker};
use inventory_core::{Inventory, MemoryStore, Sku};

/// A short tick and a short rest after a failure, so faults clear within a test.
pub const FAST: SyncConfig = SyncConfig {
    claim_batch: 500,
    claim_for: Duration::from_secs(30),
    tick: Duration::from_millis(20),
    backoff_base: Duration::from_millis(20),
    backoff_max: Duration::from_millis(100),
};

/// What `policy` tells a channel for `name` now.
pub async fn formula(
    inventory: &Inventory<MemoryStore>,
    policy: &ChannelPolicy,
    name: &str,
) -> i64 {
    let sku = Sku::new(name).expect("a SKU");
    let stock = inventory.stock(&sku).await.expect("stock");
    published(policy, &sku, &stock.locations, false)
}

/// Runs passes of `worker` until `shown` (what the stand-in holds) is the formula for
/// every SKU of `names`; panics after 20 s naming the SKUs still wrong.
pub async fn settle(
    inventory: &Inventory<MemoryStore>,
    worker: &SyncWorker<MemoryStore>,
    policy: &ChannelPolicy,
    names: &[String],
    shown: impl Fn(&str) -> Option<i64>,
) {
    let started = Instant::now();
    loop {
        worker.run_until_idle().await.expect("a pass");
        let mut wrong = Vec::new();
        for name in names {
            let wanted = formula(inventory, policy, name).await;
            if shown(name) != Some(wanted) {
                wrong.push(format!("{name}: {:?} != {wanted}", shown(name)));
            }
        }
        if wrong.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the channel never reached the formula: {wrong:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
