//! [`EventWorker`]: delivers the outbox's stock events to a [`Notifier`], oldest first,
//! retrying a failed delivery with exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinHandle;

use super::{EventStore, Notifier, StockEvent};
use crate::error::StoreError;
use crate::inventory::Inventory;

/// How an [`EventWorker`] claims, retries and waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventConfig {
    /// Most events delivered in one call of the notifier.
    pub batch: usize,
    /// How long a claim lasts (a worker that dies lets it run out).
    pub claim_for: Duration,
    /// Wait after the first failed delivery; doubled after each further one.
    pub backoff_base: Duration,
    /// Longest wait between two attempts.
    pub backoff_max: Duration,
    /// Longest sleep of a spawned worker between passes (it also wakes after every
    /// commit of its inventory).
    pub tick: Duration,
}

impl Default for EventConfig {
    fn default() -> Self {
        Self {
            batch: 100,
            claim_for: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            tick: Duration::from_secs(2),
        }
    }
}

/// Delivers low-stock events (see [`events`](super)) to a [`Notifier`].
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use inventory_core::events::{
///     EventWorker, LowStock, Notifier, StockEvent, StockEventKind, StockMeasure,
/// };
/// use inventory_core::{BoxError, Inventory, LocationId, MemoryStore, Quantity, Sku};
///
/// #[derive(Clone, Default)]
/// struct Inbox(Arc<Mutex<Vec<StockEvent>>>);
///
/// #[async_trait::async_trait]
/// impl Notifier for Inbox {
///     async fn notify(&self, events: &[StockEvent]) -> Result<(), BoxError> {
///         self.0.lock().unwrap().extend_from_slice(events);
///         Ok(())
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let inventory = Inventory::new(MemoryStore::new());
/// let (mug, main) = (Sku::new("MUG")?, LocationId::new("main")?);
/// inventory.receive(mug.clone(), main.clone(), Quantity::new(10)?).await?;
/// let low = LowStock::units(3, StockMeasure::Available);
/// inventory.set_low_stock(mug.clone(), Some(low)).await?;
/// inventory.adjust(mug.clone(), main.clone(), -8, "breakage").await?;
///
/// let inbox = Inbox::default();
/// let worker = EventWorker::new(inventory.clone(), inbox.clone());
/// assert_eq!(worker.run_until_idle().await?, 1);
/// let told = inbox.0.lock().unwrap();
/// assert_eq!((told[0].kind, told[0].value), (StockEventKind::Low, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct EventWorker<S: EventStore> {
    inventory: Inventory<S>,
    notifier: Arc<dyn Notifier>,
    config: EventConfig,
    task: Option<JoinHandle<()>>,
}

impl<S: EventStore> EventWorker<S> {
    /// A worker delivering `inventory`'s events to `notifier`, with the default
    /// [`EventConfig`].
    pub fn new(inventory: Inventory<S>, notifier: impl Notifier) -> Self {
        Self {
            inventory,
            notifier: Arc::new(notifier),
            config: EventConfig::default(),
            task: None,
        }
    }

    /// Replaces the settings.
    pub fn with_config(mut self, config: EventConfig) -> Self {
        self.config = config;
        self
    }

    /// Claims a batch and delivers it: the events delivered (0 when none was due, or
    /// the notifier failed and the batch waits for its retry).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails (a notifier's failure is not an error).
    pub async fn run_pass(&self) -> Result<usize, StoreError> {
        let store = self.inventory.store();
        let now = self.inventory.now();
        let claimed = store
            .claim_events(
                now,
                after(now, self.config.claim_for),
                self.config.batch.max(1),
            )
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let seqs: Vec<i64> = claimed.iter().map(|queued| queued.seq).collect();
        let events: Vec<StockEvent> = claimed.iter().map(|q| q.event.clone()).collect();
        match self.notifier.notify(&events).await {
            Ok(()) => {
                store.finish_events(&seqs, None).await?;
                Ok(events.len())
            }
            Err(error) => {
                let failures = claimed.iter().map(|q| q.attempts).max().unwrap_or(0) + 1;
                tracing::warn!(%error, failures, events = events.len(), "stock events not delivered; retried later");
                let exponent = failures.saturating_sub(1).min(20);
                let delay = self
                    .config
                    .backoff_base
                    .saturating_mul(1 << exponent)
                    .min(self.config.backoff_max);
                store.finish_events(&seqs, Some(after(now, delay))).await?;
                Ok(0)
            }
        }
    }

    /// Runs passes until one delivers nothing: the events delivered.
    ///
    /// # Errors
    ///
    /// As [`EventWorker::run_pass`].
    pub async fn run_until_idle(&self) -> Result<usize, StoreError> {
        let mut delivered = 0;
        loop {
            match self.run_pass().await? {
                0 => return Ok(delivered),
                passed => delivered += passed,
            }
        }
    }

    /// Runs in the background: woken after every commit of its inventory and at least
    /// every `tick`. Dropping the worker stops it. Needs a tokio runtime.
    #[must_use = "dropping the worker stops it"]
    pub fn spawn(mut self) -> Self {
        let worker = Self {
            inventory: self.inventory.clone(),
            notifier: Arc::clone(&self.notifier),
            config: self.config,
            task: None,
        };
        let signal = self.inventory.commit_signal();
        self.task = Some(tokio::spawn(async move {
            loop {
                // A store failure is tried again at the next wake-up.
                let _ = worker.run_until_idle().await;
                tokio::select! {
                    () = signal.notified() => {}
                    () = tokio::time::sleep(worker.config.tick) => {}
                }
            }
        }));
        self
    }
}

impl<S: EventStore> Drop for EventWorker<S> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn after(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    now.checked_add_signed(TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX))
        .unwrap_or(now)
}
