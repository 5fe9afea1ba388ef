//! The expiry sweeper: it sleeps until the next active hold runs out (never longer than
//! the configured interval) and releases what is due, so an expired hold stops counting
//! within moments of its time whatever the interval; a handler that makes a hold
//! running out sooner than the sweeper's planned wake wakes it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use inventory_core::backend::Store;
use inventory_core::Inventory;
use tokio::sync::{watch, Notify};

use super::ServiceStore;

/// Most holds one sweep releases per transaction.
const SWEEP_BATCH: usize = 500;
/// How long after a hold's time the sweeper wakes, so the hold is due when it looks.
const SLACK: Duration = Duration::from_millis(20);

/// When the sweeper next wakes, shared with the handlers that make holds.
#[derive(Debug)]
pub struct ExpiryAlarm {
    /// The planned wake, in microseconds since the epoch.
    planned: AtomicI64,
    wake: Notify,
}

impl Default for ExpiryAlarm {
    fn default() -> Self {
        Self {
            planned: AtomicI64::new(i64::MAX),
            wake: Notify::new(),
        }
    }
}

impl ExpiryAlarm {
    /// A hold now runs out at `at`: wakes the sweeper when that is before its planned
    /// wake.
    pub fn hold_until(&self, at: DateTime<Utc>) {
        if at.timestamp_micros() < self.planned.load(Ordering::Acquire) {
            self.wake.notify_one();
        }
    }

    fn plan(&self, at: DateTime<Utc>) {
        self.planned.store(at.timestamp_micros(), Ordering::Release);
    }
}

/// Sweeps at once, then whenever the next hold runs out or `interval` passes or a
/// handler rings `alarm`, until told to stop.
pub(crate) async fn run<S: ServiceStore>(
    inventory: Inventory<S>,
    alarm: std::sync::Arc<ExpiryAlarm>,
    interval: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = sweep(&inventory) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
        // Holds made from here on are compared with the longest wait; the read below
        // sees every hold committed before it.
        let now = Utc::now();
        alarm.plan(now + interval);
        let next = match inventory.read(|store| store.next_expiry()).await {
            Ok(next) => next,
            Err(error) => {
                tracing::warn!(%error, "reading the next expiry failed; waiting the interval");
                None
            }
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

/// Releases every hold past its time, a batch per transaction.
async fn sweep<S: Store>(inventory: &Inventory<S>) {
    loop {
        match inventory.expire_due(SWEEP_BATCH).await {
            Ok(expired) if expired.is_empty() => return,
            Ok(expired) => {
                tracing::info!(count = expired.len(), "expired holds released");
                if expired.len() < SWEEP_BATCH {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "expiry sweep failed; the next wake retries");
                return;
            }
        }
    }
}
