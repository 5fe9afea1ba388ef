//! [`ExpiryWorker`]: releases holds when they run out, in the background, so an
//! expired hold stops counting against available within moments of its time, whether
//! or not a command touches its SKU.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Notify};

use crate::backend::Store;
use crate::background::{Background, Stopped};
use crate::inventory::Inventory;

/// When the expiry worker next wakes, shared by an inventory and its clones: a
/// reservation whose hold runs out sooner wakes it.
#[derive(Debug)]
pub(crate) struct ExpiryAlarm {
    /// The planned wake, in microseconds since the epoch.
    planned: AtomicI64,
    wake: Notify,
}

/// No worker has planned a wake yet: nobody to wake. A worker that starts plans before
/// it reads the next expiry, so it sees every hold made before.
impl Default for ExpiryAlarm {
    fn default() -> Self {
        Self {
            planned: AtomicI64::new(i64::MIN),
            wake: Notify::new(),
        }
    }
}

impl ExpiryAlarm {
    /// A hold now runs out at `at`: wakes the worker when that is before its planned
    /// wake.
    pub(crate) fn hold_until(&self, at: DateTime<Utc>) {
        if at.timestamp_micros() < self.planned.load(Ordering::Acquire) {
            self.wake.notify_one();
        }
    }

    fn plan(&self, at: DateTime<Utc>) {
        self.planned.store(at.timestamp_micros(), Ordering::Release);
    }
}

/// How an [`ExpiryWorker`] paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryConfig {
    /// Longest sleep (default 5 s): it bounds how late a hold made by another app
    /// server (whose commits do not wake this worker) is released, and the wait after
    /// a failed sweep.
    pub interval: Duration,
    /// Most holds one transaction releases (default 500).
    pub batch: usize,
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            batch: 500,
        }
    }
}

/// How long after a hold's time the worker wakes, so the hold is due when it looks.
const SLACK: Duration = Duration::from_millis(20);

/// Releases holds past their time in the background: it sweeps
/// ([`Inventory::expire_due`], a batch per transaction), reads when the next active hold
/// runs out, and sleeps until then (at most [`ExpiryConfig::interval`]); a
/// reservation made through the same inventory (or a clone) whose hold runs out
/// sooner wakes it. Several app servers may each run one: a sweep is an ordinary
/// unit, so two never release a hold twice.
///
/// ```
/// use std::time::Duration;
///
/// use inventory_core::expiry::{ExpiryConfig, ExpiryWorker};
/// use inventory_core::{Inventory, LocationId, MemoryStore, OrderId, OrderLine, Quantity, ReserveRequest, Sku};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let inventory = Inventory::new(MemoryStore::new());
/// let expirer = ExpiryWorker::spawn(inventory.clone(), ExpiryConfig::default());
/// let tee = Sku::new("TEE")?;
/// inventory.receive(tee.clone(), LocationId::new("main")?, Quantity::new(5)?).await?;
/// let line = OrderLine::new(tee.clone(), Quantity::new(2)?);
/// let request = ReserveRequest::new(OrderId::new("o-1")?, vec![line])
///     .with_ttl(Duration::from_secs(1));
/// inventory.reserve(request).await?;
/// assert_eq!(inventory.stock(&tee).await?.total.available(), 3);
/// tokio::time::sleep(Duration::from_millis(1_500)).await;
/// assert_eq!(inventory.stock(&tee).await?.total.available(), 5, "released by itself");
/// let _ = expirer.stop(Duration::from_secs(5)).await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[must_use = "a dropped expiry worker stops releasing holds: keep it, and end it with `stop`"]
pub struct ExpiryWorker {
    /// Dropping it aborts the task.
    task: Background,
}

impl std::fmt::Debug for ExpiryWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpiryWorker")
            .field("task", &self.task)
            .finish()
    }
}

impl ExpiryWorker {
    /// Starts the worker on `inventory` (it sweeps at once). Needs a tokio runtime.
    pub fn spawn<S: Store>(inventory: Inventory<S>, config: ExpiryConfig) -> Self {
        Self {
            task: Background::spawn(|stopping| run(inventory, config, stopping)),
        }
    }

    /// Stops it: a sweep in flight finishes (or rolls back whole when aborted after
    /// `timeout`). Dropping the worker instead aborts it at once.
    pub async fn stop(self, timeout: Duration) -> Stopped {
        self.task.stop(timeout).await
    }
}

async fn run<S: Store>(
    inventory: Inventory<S>,
    config: ExpiryConfig,
    mut stopping: watch::Receiver<bool>,
) {
    let alarm = inventory.expiry_alarm();
    let interval = config.interval.max(Duration::from_millis(1));
    loop {
        if *stopping.borrow() {
            return;
        }
        let swept = sweep(&inventory, config.batch.max(1)).await;
        // Holds made from here on are compared with the longest wait; the read below
        // sees every hold committed before it.
        let now = inventory.now();
        alarm.plan(now + interval);
        let next = if swept {
            inventory
                .read(|store| store.next_expiry())
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        let wait = next
            .map(|at| (at - now).to_std().unwrap_or_default() + SLACK)
            .map_or(interval, |until| until.min(interval));
        alarm.plan(now + wait);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = alarm.wake.notified() => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

/// Releases every hold past its time, a batch per transaction; `false` when a sweep
/// failed (the next wake tries again).
async fn sweep<S: Store>(inventory: &Inventory<S>, batch: usize) -> bool {
    loop {
        match inventory.expire_due(batch).await {
            Ok(expired) => {
                if !expired.is_empty() {
                    tracing::debug!(released = expired.len(), "expired holds released");
                }
                if expired.len() < batch {
                    return true;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "expiry sweep failed; the next wake tries again");
                return false;
            }
        }
    }
}
