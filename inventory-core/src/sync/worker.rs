//! [`SyncWorker`]: pushes each channel its number for every SKU whose available changed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::background::{Background, Stopped};
use crate::catalog::Catalog;
use crate::error::{DomainError, Error, StoreError};
use crate::id::Sku;
use crate::inventory::Inventory;

use super::channel::{Channel, StockUpdate};
use super::policy::{published_bundle, published_with_backorders, ChannelPolicy};
use super::store::{DirtyMark, Pushed, SyncStore, CHANNEL_NAME_MAX};

/// How a [`SyncWorker`] paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// Dirty SKUs claimed per pass.
    pub claim_batch: usize,
    /// How long a claim lasts: a worker that dies mid-pass frees its SKUs after this.
    pub claim_for: Duration,
    /// The safety-net tick: a pass runs at least this often even without a wake-up
    /// (changes committed by other processes are seen this way).
    pub tick: Duration,
    /// First retry delay of a failing channel; doubles per failure, with jitter.
    pub backoff_base: Duration,
    /// Largest retry delay.
    pub backoff_max: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            claim_batch: 500,
            claim_for: Duration::from_secs(30),
            tick: Duration::from_secs(2),
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// Where one channel stands for one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// The last number the channel took, and when.
    pub last: Option<Pushed>,
    /// Whether a change waits to be pushed.
    pub pending: bool,
    /// The channel's last error while it is failing.
    pub failing: Option<String>,
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Dirty SKUs claimed.
    pub claimed: usize,
    /// Updates the channels took.
    pub pushed: usize,
}

#[derive(Debug, Default)]
struct Health {
    failures: u32,
    retry_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

struct Slot {
    name: String,
    policy: ChannelPolicy,
    channel: Arc<dyn Channel>,
    health: Mutex<Health>,
}

impl Slot {
    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// When the channel may be tried again, if it is resting after failures.
    fn resting_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.health().retry_at.filter(|at| *at > now)
    }
}

struct Shared<S> {
    inventory: Inventory<S>,
    slots: Vec<Slot>,
    config: SyncConfig,
}

/// Builds a [`SyncWorker`]: its channels and their policies.
#[must_use = "a builder does nothing until `build` or `spawn`"]
pub struct SyncWorkerBuilder<S> {
    shared: Shared<S>,
}

impl<S> std::fmt::Debug for SyncWorkerBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.shared.describe(f.debug_struct("SyncWorkerBuilder"))
    }
}

impl<S> Shared<S> {
    /// The channels (by name, with their policies) and the pacing.
    fn describe(&self, mut out: std::fmt::DebugStruct<'_, '_>) -> std::fmt::Result {
        let channels: Vec<(&str, &ChannelPolicy)> = self
            .slots
            .iter()
            .map(|slot| (slot.name.as_str(), &slot.policy))
            .collect();
        out.field("channels", &channels)
            .field("config", &self.config)
            .field("inventory", &self.inventory)
            .finish()
    }
}

impl<S: SyncStore> SyncWorkerBuilder<S> {
    /// Adds a channel called `name` (unique, at most 64 bytes) with its policy.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] for an empty, over-long or repeated name.
    pub fn channel(
        mut self,
        name: &str,
        policy: ChannelPolicy,
        channel: impl Channel,
    ) -> Result<Self, DomainError> {
        let taken = self.shared.slots.iter().any(|slot| slot.name == name);
        if name.is_empty()
            || name.len() > CHANNEL_NAME_MAX
            || name.chars().any(char::is_control)
            || taken
        {
            return Err(DomainError::InvalidSetting {
                setting: "channel name",
                value: format!("{name:?}"),
                problem: "must be 1 to 64 bytes without control characters, and not taken",
            });
        }
        self.shared.slots.push(Slot {
            name: name.to_owned(),
            policy,
            channel: Arc::new(channel),
            health: Mutex::default(),
        });
        Ok(self)
    }

    /// Replaces the pacing.
    pub fn config(mut self, config: SyncConfig) -> Self {
        self.shared.config = config;
        self
    }

    /// The worker, not running: drive it with [`SyncWorker::run_until_idle`].
    pub fn build(self) -> SyncWorker<S> {
        SyncWorker {
            shared: Arc::new(self.shared),
            task: None,
        }
    }

    /// The worker, running in the background: woken after every commit of its
    /// inventory, and at least every `tick`. Needs a tokio runtime. Keep the handle:
    /// dropping it aborts the task; [`SyncWorker::stop`] ends it gracefully.
    pub fn spawn(self) -> SyncWorker<S> {
        let mut worker = self.build();
        let shared = Arc::clone(&worker.shared);
        worker.task = Some(Background::spawn(|stopping| async move {
            shared.run_forever(stopping).await;
        }));
        worker
    }
}

/// Pushes every channel the number its policy gives for each SKU whose available
/// changed, and only numbers that differ from what the channel was last told.
///
/// Stock changes mark SKUs dirty in their own transaction (the outbox), so a crash
/// between a commit and its push loses nothing: the next pass, in this process or
/// another, finds the mark. A failing channel rests with exponential backoff and jitter
/// while the others carry on; a mark is cleared only once every channel has the number
/// and no newer change arrived meanwhile.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use inventory_core::sync::{Buffer, Channel, ChannelError, ChannelPolicy, StockUpdate, SyncWorker};
/// use inventory_core::{Inventory, LocationId, MemoryStore, Quantity, Sku};
///
/// /// A channel that keeps what it was told (a real one calls the shop's API).
/// #[derive(Clone, Default)]
/// struct Shop(Arc<Mutex<Vec<StockUpdate>>>);
///
/// #[async_trait::async_trait]
/// impl Channel for Shop {
///     async fn push(&self, updates: &[StockUpdate]) -> Result<(), ChannelError> {
///         self.0.lock().unwrap().extend_from_slice(updates);
///         Ok(())
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let inventory = Inventory::new(MemoryStore::new());
/// let shopify = Shop::default();
/// let worker = SyncWorker::builder(inventory.clone())
///     .channel("shopify", ChannelPolicy::buffered(Buffer::decimal("0.9")?), shopify.clone())?
///     .build();
/// let sku = Sku::new("TEE")?;
/// inventory.receive(sku.clone(), LocationId::new("main")?, Quantity::new(143)?).await?;
/// worker.run_until_idle().await?;
/// let told = shopify.0.lock().unwrap().last().map(|update| update.quantity);
/// assert_eq!(told, Some(128));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
///
/// A spawned worker runs as long as its handle lives, so the handle must be kept:
/// dropping it at once is a warning (an error here, under `deny`).
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// # use inventory_core::{Inventory, MemoryStore};
/// # use inventory_core::sync::SyncWorker;
/// # async fn start(inventory: Inventory<MemoryStore>) {
/// SyncWorker::builder(inventory).spawn();
/// # }
/// ```
///
/// Kept, it ends gracefully with [`SyncWorker::stop`]:
///
/// ```
/// # use std::time::Duration;
/// # use inventory_core::{Inventory, MemoryStore};
/// # use inventory_core::sync::{Stopped, SyncWorker};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let worker = SyncWorker::builder(Inventory::new(MemoryStore::new())).spawn();
/// // ... serve ...
/// assert_eq!(worker.stop(Duration::from_secs(10)).await, Stopped::Finished);
/// # });
/// ```
#[must_use = "a dropped worker stops pushing: keep it, and end it with `stop`"]
pub struct SyncWorker<S: SyncStore> {
    shared: Arc<Shared<S>>,
    /// The task of a spawned worker; dropping it aborts the task.
    task: Option<Background>,
}

impl<S: SyncStore> std::fmt::Debug for SyncWorker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("SyncWorker");
        out.field("running", &self.task.is_some());
        self.shared.describe(out)
    }
}

impl<S: SyncStore> SyncWorker<S> {
    /// Starts building a worker for `inventory`'s store.
    pub fn builder(inventory: Inventory<S>) -> SyncWorkerBuilder<S> {
        SyncWorkerBuilder {
            shared: Shared {
                inventory,
                slots: Vec::new(),
                config: SyncConfig::default(),
            },
        }
    }

    /// Runs one pass: claim dirty SKUs, push what changed, release the claims.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails (channel failures are not errors: the
    /// channel rests and its SKUs stay pending).
    pub async fn run_pass(&self) -> Result<PassReport, StoreError> {
        self.shared.pass().await
    }

    /// Runs passes until one claims nothing.
    ///
    /// # Errors
    ///
    /// As [`SyncWorker::run_pass`].
    pub async fn run_until_idle(&self) -> Result<PassReport, StoreError> {
        let mut total = PassReport::default();
        loop {
            let pass = self.shared.pass().await?;
            total.claimed += pass.claimed;
            total.pushed += pass.pushed;
            if pass.claimed == 0 {
                return Ok(total);
            }
        }
    }

    /// Pushes every SKU's number to `channel` (or to every channel), whatever it was
    /// last told: for a new channel, or after an outage. Returns the updates pushed.
    ///
    /// # Errors
    ///
    /// [`Error::Domain`] for an unknown channel; [`Error::Store`] when the store fails.
    /// A channel that fails leaves its SKUs marked dirty, to be retried.
    pub async fn reconcile(&self, channel: Option<&str>) -> Result<usize, Error> {
        if let Some(name) = channel {
            self.shared.slot(name)?;
        }
        let store = self.shared.inventory.store();
        let batch = self.shared.config.claim_batch.max(1);
        let mut after: Option<Sku> = None;
        let mut pushed = 0;
        loop {
            let skus = store.skus_after(after.as_ref(), batch).await?;
            let Some(last) = skus.last().cloned() else {
                break;
            };
            pushed += self.reconcile_batch(channel, &skus).await?;
            after = Some(last);
        }
        let catalog = self.shared.inventory.current_catalog().await?;
        let bundles: Vec<Sku> = catalog
            .entries()
            .filter(|(_, settings)| !settings.bundle.is_empty())
            .map(|(sku, _)| sku.clone())
            .collect();
        for skus in bundles.chunks(batch) {
            pushed += self.reconcile_batch(channel, skus).await?;
        }
        Ok(pushed)
    }

    /// Pushes the numbers of `skus` to `channel` (or every channel); marks them dirty
    /// for a channel that fails. Returns the updates pushed.
    async fn reconcile_batch(&self, channel: Option<&str>, skus: &[Sku]) -> Result<usize, Error> {
        let store = self.shared.inventory.store();
        let stock = read(&self.shared.inventory, skus).await?;
        let mut pushed = 0;
        for slot in self
            .shared
            .slots
            .iter()
            .filter(|slot| channel.is_none_or(|name| name == slot.name))
        {
            let updates = numbers(slot, skus, &stock);
            match self
                .shared
                .push(slot, &updates, self.shared.inventory.now())
                .await?
            {
                Ok(()) => pushed += updates.len(),
                Err(_) => store.mark_dirty(skus).await?,
            }
        }
        Ok(pushed)
    }

    /// Where `channel` stands for `sku`.
    ///
    /// # Errors
    ///
    /// [`Error::Domain`] for an unknown channel; [`Error::Store`] when the store fails.
    pub async fn status(&self, channel: &str, sku: &Sku) -> Result<SyncStatus, Error> {
        let slot = self.shared.slot(channel)?;
        let store = self.shared.inventory.store();
        let last = store
            .last_pushed(channel, std::slice::from_ref(sku))
            .await?
            .remove(sku);
        let failing = {
            let health = slot.health();
            health.last_error.clone().filter(|_| health.failures > 0)
        };
        Ok(SyncStatus {
            last,
            pending: store.is_dirty(sku).await? || failing.is_some(),
            failing,
        })
    }

    /// Stops the background task gracefully: the pass in flight finishes (its pushes
    /// done, its claims released) and no other starts. Waits at most `timeout`, then
    /// aborts the pass (its claims run out after `claim_for`). Dropping a spawned
    /// worker instead aborts it at once.
    pub async fn stop(mut self, timeout: Duration) -> Stopped {
        match self.task.take() {
            Some(task) => task.stop(timeout).await,
            None => Stopped::Finished,
        }
    }
}

/// What a pass reads: the rows of each SKU and of each bundle's components, which of
/// them are frozen, and the catalog that says which SKUs are bundles.
struct Read {
    stock: BTreeMap<Sku, Vec<crate::stock::LocationStock>>,
    frozen: BTreeSet<Sku>,
    catalog: Arc<Catalog>,
}

async fn read<S: SyncStore>(inventory: &Inventory<S>, skus: &[Sku]) -> Result<Read, StoreError> {
    let store = inventory.store();
    let catalog = inventory.current_catalog().await?;
    let wanted = catalog.with_components(skus);
    Ok(Read {
        stock: store.stock_of(&wanted).await?,
        frozen: store.frozen(&wanted).await?,
        catalog,
    })
}

/// Each SKU's number for `slot`'s channel; a frozen SKU, and a bundle with a frozen
/// component, is told 0.
fn numbers(slot: &Slot, skus: &[Sku], read: &Read) -> Vec<StockUpdate> {
    skus.iter()
        .map(|sku| {
            let quantity = match read.catalog.bundle(sku) {
                Some(components) => {
                    let frozen = components.iter().any(|c| read.frozen.contains(&c.sku));
                    published_bundle(&slot.policy, sku, components, &read.stock, frozen)
                }
                None => {
                    let rows = read.stock.get(sku).map(Vec::as_slice).unwrap_or_default();
                    let frozen = read.frozen.contains(sku);
                    let limit = read.catalog.backorder(sku);
                    published_with_backorders(&slot.policy, sku, rows, frozen, limit)
                }
            };
            StockUpdate {
                sku: sku.clone(),
                quantity,
            }
        })
        .collect()
}

fn after(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    now.checked_add_signed(TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX))
        .unwrap_or(now)
}

impl<S: SyncStore> Shared<S> {
    fn slot(&self, name: &str) -> Result<&Slot, DomainError> {
        self.slots
            .iter()
            .find(|slot| slot.name == name)
            .ok_or_else(|| DomainError::UnknownChannel {
                name: name.to_owned(),
            })
    }

    /// Pushes `updates` in the channel's batches and records each accepted batch.
    /// The outer error is the store's; the inner one the channel's.
    async fn push(
        &self,
        slot: &Slot,
        updates: &[StockUpdate],
        now: DateTime<Utc>,
    ) -> Result<Result<(), ()>, StoreError> {
        for batch in updates.chunks(slot.channel.batch_max().max(1)) {
            if let Err(error) = slot.channel.push(batch).await {
                let mut health = slot.health();
                health.failures = health.failures.saturating_add(1);
                let exponent = health.failures.saturating_sub(1).min(20);
                let ceiling = self
                    .config
                    .backoff_base
                    .saturating_mul(1 << exponent)
                    .min(self.config.backoff_max);
                let jittered = ceiling / 2 + ceiling.mul_f64(fastrand::f64() / 2.0);
                health.retry_at = Some(after(now, jittered));
                health.last_error = Some(error.to_string());
                tracing::warn!(
                    channel = %slot.name,
                    %error,
                    failures = health.failures,
                    resting_ms = u64::try_from(jittered.as_millis()).unwrap_or(u64::MAX),
                    updates = batch.len(),
                    "channel push failed; the channel rests, its SKUs stay pending"
                );
                return Ok(Err(()));
            }
            self.inventory
                .store()
                .record_pushed(&slot.name, batch, now)
                .await?;
        }
        let recovered = std::mem::take(&mut *slot.health()).failures;
        if recovered > 0 {
            tracing::info!(channel = %slot.name, failures = recovered, "channel recovered");
        }
        tracing::debug!(channel = %slot.name, updates = updates.len(), "pushed");
        Ok(Ok(()))
    }

    async fn pass(&self) -> Result<PassReport, StoreError> {
        let store = self.inventory.store();
        let now = self.inventory.now();
        let marks = store
            .claim_dirty(
                now,
                after(now, self.config.claim_for),
                self.config.claim_batch.max(1),
            )
            .await?;
        if marks.is_empty() {
            return Ok(PassReport::default());
        }
        let skus: Vec<Sku> = marks.iter().map(|mark| mark.sku.clone()).collect();
        let stock = read(&self.inventory, &skus).await?;
        let mut behind: BTreeSet<Sku> = BTreeSet::new();
        let mut retry_at: Option<DateTime<Utc>> = None;
        let mut pushed = 0;
        for slot in &self.slots {
            let told = store.last_pushed(&slot.name, &skus).await?;
            let changed: Vec<StockUpdate> = numbers(slot, &skus, &stock)
                .into_iter()
                .filter(|update| {
                    told.get(&update.sku)
                        .is_none_or(|last| last.quantity != update.quantity)
                })
                .collect();
            if changed.is_empty() {
                continue;
            }
            let resting = slot.resting_until(now);
            let outcome = match resting {
                Some(_) => Err(()),
                None => self.push(slot, &changed, now).await?,
            };
            match outcome {
                Ok(()) => pushed += changed.len(),
                Err(()) => {
                    behind.extend(changed.into_iter().map(|update| update.sku));
                    let at = slot.health().retry_at.unwrap_or(now);
                    retry_at = Some(retry_at.map_or(at, |earlier| earlier.min(at)));
                }
            }
        }
        let (waiting, done): (Vec<DirtyMark>, Vec<DirtyMark>) = marks
            .iter()
            .cloned()
            .partition(|mark| behind.contains(&mark.sku));
        store.release_dirty(&done, None).await?;
        if !waiting.is_empty() {
            store.release_dirty(&waiting, retry_at).await?;
        }
        tracing::debug!(
            claimed = marks.len(),
            pushed,
            pending = waiting.len(),
            "sync pass"
        );
        Ok(PassReport {
            claimed: marks.len(),
            pushed,
        })
    }

    async fn run_forever(&self, mut stopping: watch::Receiver<bool>) {
        let signal = self.inventory.commit_signal();
        loop {
            loop {
                if *stopping.borrow() {
                    return;
                }
                match self.pass().await {
                    Ok(pass) if pass.claimed > 0 => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "sync pass failed; trying again after a pause");
                        tokio::time::sleep(self.config.backoff_base).await;
                        break;
                    }
                }
            }
            let now = self.inventory.now();
            let resting = self
                .slots
                .iter()
                .filter_map(|slot| slot.resting_until(now))
                .min();
            let wait = resting
                .and_then(|at| (at - now).to_std().ok())
                .map_or(self.config.tick, |until| until.min(self.config.tick));
            tokio::select! {
                () = signal.notified() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stopping.wait_for(|stop| *stop) => return,
            }
        }
    }
}
