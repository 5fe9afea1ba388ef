//! [`MemoryStore`]: a complete in-process backend.
//!
//! One transaction at a time holds the store's lock (an async mutex, so waiting tasks
//! never block a runtime thread); its writes are staged and applied only at commit.
//! That makes every transaction serializable, which is what the conformance suite and
//! the property tests compare other backends against.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::backend::{load_rows, AuditStore, RowSource, Store, StoreTx};
use crate::catalog::{Catalog, SkuSettings};
use crate::counting::{CountRecord, CountStore, Investigation, InvestigationId};
use crate::decide::{Changes, LoadPlan, Snapshot};
use crate::error::StoreError;
use crate::events::{EventStore, QueuedEvent};
use crate::id::{IdempotencyKey, LineId, LocationId, OrderId, ReservationId, Sku, SupplierId};
use crate::inbox::{InboxStore, LineRef};
use crate::ledger::{LedgerCursor, LedgerEntry, LedgerPage, LedgerQuery};
use crate::reorder::{
    shipped_in, DaySales, DemandStore, PurchaseOrder, PurchaseOrderId, PurchaseOrderStatus,
    PurchaseStore, ShippedPerDay, Supplier, SupplierLink,
};
use crate::reservation::{Reservation, ReservationStatus};
use crate::stock::{LocationStock, StockKey, StockLevel};
use crate::sync::{DirtyMark, Pushed, StockUpdate, SyncStore};

/// An in-memory store, safe to share between tasks and threads. Clones share the data.
///
/// ```
/// use inventory_core::{Inventory, LocationId, MemoryStore, Quantity, Sku};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let inventory = Inventory::new(MemoryStore::new());
/// let level = inventory
///     .receive(Sku::new("A")?, LocationId::new("main")?, Quantity::new(3)?)
///     .await?;
/// assert_eq!(level.available(), 3);
/// # Ok::<(), inventory_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<MemoryState>>,
}

#[derive(Debug, Default)]
struct MemoryState {
    stock: BTreeMap<Sku, BTreeMap<LocationId, StockLevel>>,
    reservations: BTreeMap<ReservationId, Reservation>,
    /// Active holds by expiry, for the sweep and lazy reclaim.
    active_by_expiry: BTreeSet<(DateTime<Utc>, ReservationId)>,
    ledger: Vec<LedgerEntry>,
    /// The sync outbox: dirty SKUs.
    outbox: BTreeMap<Sku, OutboxEntry>,
    /// What each channel was last told, by channel and SKU.
    told: BTreeMap<(String, Sku), Pushed>,
    /// Units shipped per SKU and day.
    shipped: BTreeMap<(Sku, NaiveDate), DaySales>,
    suppliers: BTreeMap<SupplierId, Supplier>,
    links: BTreeMap<Sku, SupplierLink>,
    purchase_orders: BTreeMap<PurchaseOrderId, PurchaseOrder>,
    counts: Vec<CountRecord>,
    investigations: BTreeMap<InvestigationId, Investigation>,
    transfers: BTreeMap<crate::TransferId, crate::Transfer>,
    /// Handled messages by source and id.
    inbox: BTreeMap<(String, String), DateTime<Utc>>,
    /// The SKU of each channel order line, by order and line id.
    lines: BTreeMap<(OrderId, LineId), Sku>,
    /// The catalog's entries and version.
    catalog: BTreeMap<Sku, SkuSettings>,
    catalog_version: u64,
    /// The outbox of stock events by seq.
    events: BTreeMap<i64, OutboxEvent>,
    next_event: i64,
}

/// A stock event in the outbox, with its claim end and retry time.
type OutboxEvent = (QueuedEvent, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// One dirty SKU of the outbox.
#[derive(Debug, Clone, Copy)]
struct OutboxEntry {
    generation: i64,
    claimed_until: Option<DateTime<Utc>>,
    retry_at: Option<DateTime<Utc>>,
}

impl MemoryState {
    fn mark(&mut self, sku: &Sku) {
        let entry = self.outbox.entry(sku.clone()).or_insert(OutboxEntry {
            generation: 0,
            claimed_until: None,
            retry_at: None,
        });
        entry.generation += 1;
        entry.retry_at = None;
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl MemoryState {
    fn overdue(&self, now: DateTime<Utc>) -> impl Iterator<Item = &Reservation> {
        self.active_by_expiry
            .iter()
            .take_while(move |(expires_at, _)| *expires_at <= now)
            .map(|(_, id)| &self.reservations[id])
    }

    fn apply(&mut self, changes: &Changes) {
        for (key, level) in &changes.stock {
            let rows = self.stock.entry(key.sku.clone()).or_default();
            rows.insert(key.location.clone(), *level);
        }
        for (id, reservation) in &changes.reservations {
            if let Some(old) = self.reservations.get(id) {
                self.active_by_expiry.remove(&(old.expires_at, *id));
            }
            if reservation.status == ReservationStatus::Active {
                self.active_by_expiry.insert((reservation.expires_at, *id));
            }
            self.reservations.insert(*id, reservation.clone());
        }
        self.ledger.extend(changes.ledger.iter().cloned());
        for sku in &changes.dirty {
            self.mark(sku);
        }
        for (key, sales) in shipped_in(changes) {
            let day = self.shipped.entry(key).or_default();
            day.units += sales.units;
            day.revenue += sales.revenue;
        }
        for (id, order) in &changes.purchase_orders {
            self.purchase_orders.insert(*id, order.clone());
        }
        self.counts.extend(changes.counts.iter().cloned());
        for (id, transfer) in &changes.transfers {
            self.transfers.insert(*id, transfer.clone());
        }
        for (id, investigation) in &changes.investigations {
            self.investigations.insert(*id, investigation.clone());
        }
        for event in &changes.events {
            self.next_event += 1;
            let queued = QueuedEvent {
                seq: self.next_event,
                attempts: 0,
                event: event.clone(),
            };
            self.events.insert(self.next_event, (queued, None, None));
        }
    }

    fn frozen(&self, skus: &[Sku]) -> BTreeSet<Sku> {
        let open = self
            .investigations
            .values()
            .filter(|i| i.freezes_now() && skus.contains(&i.sku));
        open.map(|i| i.sku.clone()).collect()
    }
}

/// A [`MemoryStore`] transaction: holds the store's lock until commit or drop.
#[derive(Debug)]
pub struct MemoryTx {
    state: OwnedMutexGuard<MemoryState>,
    staged: Changes,
}

#[async_trait]
impl Store for MemoryStore {
    type Tx = MemoryTx;

    async fn begin(&self) -> Result<MemoryTx, StoreError> {
        Ok(MemoryTx {
            state: Arc::clone(&self.state).lock_owned().await,
            staged: Changes::default(),
        })
    }

    async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError> {
        let state = self.state.lock().await;
        let rows = state.stock.get(sku).into_iter().flatten();
        Ok(rows
            .map(|(location, level)| LocationStock {
                location: location.clone(),
                level: *level,
            })
            .collect())
    }

    async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError> {
        Ok(self.state.lock().await.reservations.get(id).cloned())
    }

    async fn transfer(
        &self,
        id: &crate::TransferId,
    ) -> Result<Option<crate::Transfer>, StoreError> {
        Ok(self.state.lock().await.transfers.get(id).cloned())
    }

    async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let state = self.state.lock().await;
        Ok(state
            .reservations
            .values()
            .filter(|reservation| reservation.status == ReservationStatus::Active)
            .map(|reservation| reservation.expires_at)
            .min())
    }

    async fn catalog_version(&self) -> Result<u64, StoreError> {
        Ok(self.state.lock().await.catalog_version)
    }

    async fn catalog(&self) -> Result<Catalog, StoreError> {
        let state = self.state.lock().await;
        let entries = state
            .catalog
            .iter()
            .map(|(sku, s)| (sku.clone(), s.clone()));
        Ok(Catalog::new(state.catalog_version, entries))
    }

    async fn put_sku_settings(
        &self,
        sku: &Sku,
        settings: &SkuSettings,
        expected: u64,
    ) -> Result<u64, StoreError> {
        let mut state = self.state.lock().await;
        if state.catalog_version != expected {
            return Err(StoreError::Conflict("the catalog changed meanwhile".into()));
        }
        if settings.is_empty() {
            state.catalog.remove(sku);
        } else {
            state.catalog.insert(sku.clone(), settings.clone());
        }
        state.catalog_version += 1;
        state.mark(sku);
        Ok(state.catalog_version)
    }
}

impl RowSource for MemoryState {
    fn keyed(&mut self, keys: &[IdempotencyKey]) -> Result<Vec<LedgerEntry>, StoreError> {
        let named = |entry: &&LedgerEntry| {
            entry
                .idempotency_key
                .as_ref()
                .is_some_and(|key| keys.contains(key))
        };
        Ok(self.ledger.iter().filter(named).cloned().collect())
    }

    fn holders(&mut self, skus: &[Sku]) -> Result<Vec<Reservation>, StoreError> {
        let open = |held: &&Reservation| {
            held.status.holds_stock() && held.lines.iter().any(|line| skus.contains(&line.sku))
        };
        Ok(self.reservations.values().filter(open).cloned().collect())
    }

    fn investigations(
        &mut self,
        ids: &[InvestigationId],
        open_of: &[Sku],
    ) -> Result<Vec<Investigation>, StoreError> {
        let wanted =
            |i: &&Investigation| ids.contains(&i.id) || (i.is_open() && open_of.contains(&i.sku));
        Ok(self
            .investigations
            .values()
            .filter(wanted)
            .cloned()
            .collect())
    }

    fn transfers(&mut self, ids: &[crate::TransferId]) -> Result<Vec<crate::Transfer>, StoreError> {
        Ok(ids
            .iter()
            .filter_map(|id| self.transfers.get(id).cloned())
            .collect())
    }

    fn reservations(&mut self, ids: &[ReservationId]) -> Result<Vec<Reservation>, StoreError> {
        Ok(ids
            .iter()
            .filter_map(|id| self.reservations.get(id).cloned())
            .collect())
    }

    fn overdue_holds(
        &mut self,
        skus: &[Sku],
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError> {
        let holds = self.overdue(now);
        Ok(holds
            .filter(|held| held.lines.iter().any(|line| skus.contains(&line.sku)))
            .cloned()
            .collect())
    }

    fn due_holds(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Reservation>, StoreError> {
        Ok(self.overdue(now).take(limit).cloned().collect())
    }

    fn stock(&mut self, skus: &[Sku]) -> Result<Vec<(StockKey, StockLevel)>, StoreError> {
        let mut rows = Vec::new();
        for sku in skus {
            for (location, level) in self.stock.get(sku).into_iter().flatten() {
                rows.push((StockKey::new(sku.clone(), location.clone()), *level));
            }
        }
        Ok(rows)
    }

    fn purchase_orders(
        &mut self,
        ids: &[PurchaseOrderId],
        drafts_of: &[SupplierId],
    ) -> Result<Vec<PurchaseOrder>, StoreError> {
        let wanted = |order: &&PurchaseOrder| {
            ids.contains(&order.id)
                || (order.status == PurchaseOrderStatus::Draft
                    && drafts_of.contains(&order.supplier))
        };
        Ok(self
            .purchase_orders
            .values()
            .filter(wanted)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl StoreTx for MemoryTx {
    async fn load(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
        load_rows(&mut *self.state, plan, now)
    }

    async fn persist(&mut self, changes: &Changes) -> Result<(), StoreError> {
        self.staged.merge(changes.clone());
        Ok(())
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        let staged = std::mem::take(&mut self.staged);
        self.state.apply(&staged);
        Ok(())
    }
}

#[async_trait]
impl InboxStore for MemoryStore {
    async fn handled(&self, source: &str, id: &str) -> Result<bool, StoreError> {
        let key = (source.to_owned(), id.to_owned());
        Ok(self.state.lock().await.inbox.contains_key(&key))
    }

    async fn record_handled(
        &self,
        source: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = (source.to_owned(), id.to_owned());
        let mut state = self.state.lock().await;
        if state.inbox.contains_key(&key) {
            return Ok(false);
        }
        state.inbox.insert(key, at);
        Ok(true)
    }

    async fn forget_handled_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state.lock().await;
        let count = state.inbox.len();
        state.inbox.retain(|_, at| *at >= before);
        Ok(u64::try_from(count - state.inbox.len()).unwrap_or(u64::MAX))
    }

    async fn record_lines(&self, order: &OrderId, lines: &[LineRef]) -> Result<u64, StoreError> {
        let mut state = self.state.lock().await;
        let mut added = 0;
        for line in lines {
            let key = (order.clone(), line.line.clone());
            if let std::collections::btree_map::Entry::Vacant(entry) = state.lines.entry(key) {
                entry.insert(line.sku.clone());
                added += 1;
            }
        }
        Ok(added)
    }

    async fn lines_of(&self, order: &OrderId) -> Result<Vec<LineRef>, StoreError> {
        let state = self.state.lock().await;
        Ok(state
            .lines
            .iter()
            .filter(|((of, _), _)| of == order)
            .map(|((_, line), sku)| LineRef::new(line.clone(), sku.clone()))
            .collect())
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>, StoreError> {
        let state = self.state.lock().await;
        let mut rows = BTreeMap::new();
        for (sku, locations) in &state.stock {
            for (location, level) in locations {
                rows.insert(StockKey::new(sku.clone(), location.clone()), *level);
            }
        }
        Ok(rows)
    }

    async fn all_reservations(&self) -> Result<Vec<Reservation>, StoreError> {
        Ok(self
            .state
            .lock()
            .await
            .reservations
            .values()
            .cloned()
            .collect())
    }

    async fn ledger(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        Ok(self.state.lock().await.ledger.clone())
    }

    async fn ledger_page(&self, query: &LedgerQuery) -> Result<LedgerPage, StoreError> {
        let state = self.state.lock().await;
        let mut seqs: BTreeMap<&StockKey, i64> = BTreeMap::new();
        let mut found: Vec<(LedgerCursor, LedgerEntry)> = Vec::new();
        for entry in &state.ledger {
            let seq = seqs.entry(&entry.key).or_insert(0);
            *seq += 1;
            let position = LedgerCursor {
                at: entry.at,
                sku: entry.key.sku.clone(),
                location: entry.key.location.clone(),
                seq: *seq,
            };
            if query.matches(entry, &position) {
                found.push((position, entry.clone()));
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0));
        found.truncate(query.page_size() + 1);
        Ok(LedgerPage::of(query, found))
    }
}

#[async_trait]
impl SyncStore for MemoryStore {
    async fn claim_dirty(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DirtyMark>, StoreError> {
        let mut state = self.state.lock().await;
        let mut claimed = Vec::new();
        for (sku, entry) in state.outbox.iter_mut() {
            let free = entry.claimed_until.is_none_or(|until| until <= now);
            let due = entry.retry_at.is_none_or(|at| at <= now);
            if claimed.len() < limit && free && due {
                entry.claimed_until = Some(claim_until);
                claimed.push(DirtyMark {
                    sku: sku.clone(),
                    generation: entry.generation,
                });
            }
        }
        Ok(claimed)
    }

    async fn release_dirty(
        &self,
        marks: &[DirtyMark],
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        for mark in marks {
            let Some(entry) = state.outbox.get_mut(&mark.sku) else {
                continue;
            };
            let unchanged = entry.generation == mark.generation;
            entry.claimed_until = None;
            match retry_at {
                None if unchanged => {
                    state.outbox.remove(&mark.sku);
                }
                Some(at) if unchanged => entry.retry_at = Some(at),
                _ => {}
            }
        }
        Ok(())
    }

    async fn mark_dirty(&self, skus: &[Sku]) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        for sku in skus {
            state.mark(sku);
        }
        Ok(())
    }

    async fn frozen(&self, skus: &[Sku]) -> Result<BTreeSet<Sku>, StoreError> {
        Ok(self.state.lock().await.frozen(skus))
    }

    async fn is_dirty(&self, sku: &Sku) -> Result<bool, StoreError> {
        Ok(self.state.lock().await.outbox.contains_key(sku))
    }

    async fn skus_after(&self, after: Option<&Sku>, limit: usize) -> Result<Vec<Sku>, StoreError> {
        let state = self.state.lock().await;
        let skus = state
            .stock
            .keys()
            .filter(|sku| after.is_none_or(|after| *sku > after));
        Ok(skus.take(limit).cloned().collect())
    }

    async fn stock_of(
        &self,
        skus: &[Sku],
    ) -> Result<BTreeMap<Sku, Vec<LocationStock>>, StoreError> {
        let state = self.state.lock().await;
        Ok(skus
            .iter()
            .map(|sku| {
                let rows = state.stock.get(sku).into_iter().flatten();
                let rows = rows.map(|(location, level)| LocationStock {
                    location: location.clone(),
                    level: *level,
                });
                (sku.clone(), rows.collect())
            })
            .collect())
    }

    async fn last_pushed(
        &self,
        channel: &str,
        skus: &[Sku],
    ) -> Result<BTreeMap<Sku, Pushed>, StoreError> {
        let state = self.state.lock().await;
        Ok(skus
            .iter()
            .filter_map(|sku| {
                let told = state.told.get(&(channel.to_owned(), sku.clone()))?;
                Some((sku.clone(), *told))
            })
            .collect())
    }

    async fn record_pushed(
        &self,
        channel: &str,
        updates: &[StockUpdate],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        for update in updates {
            let told = Pushed {
                quantity: update.quantity,
                at,
            };
            state
                .told
                .insert((channel.to_owned(), update.sku.clone()), told);
        }
        Ok(())
    }
}

#[async_trait]
impl DemandStore for MemoryStore {
    async fn shipped_per_day(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<ShippedPerDay, StoreError> {
        let state = self.state.lock().await;
        let mut shipped = ShippedPerDay::new();
        for ((sku, day), sales) in &state.shipped {
            if (first..=last).contains(day) {
                shipped
                    .entry(sku.clone())
                    .or_default()
                    .insert(*day, sales.units);
            }
        }
        Ok(shipped)
    }

    async fn revenue(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<BTreeMap<Sku, Decimal>, StoreError> {
        let state = self.state.lock().await;
        let mut revenue: BTreeMap<Sku, Decimal> = BTreeMap::new();
        for ((sku, day), sales) in &state.shipped {
            if (first..=last).contains(day) && !sales.revenue.is_zero() {
                *revenue.entry(sku.clone()).or_default() += sales.revenue;
            }
        }
        Ok(revenue)
    }
}

#[async_trait]
impl PurchaseStore for MemoryStore {
    async fn put_supplier(&self, supplier: &Supplier) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        state
            .suppliers
            .insert(supplier.id.clone(), supplier.clone());
        Ok(())
    }

    async fn suppliers(&self) -> Result<Vec<Supplier>, StoreError> {
        Ok(self
            .state
            .lock()
            .await
            .suppliers
            .values()
            .cloned()
            .collect())
    }

    async fn put_link(&self, link: &SupplierLink) -> Result<(), StoreError> {
        self.state
            .lock()
            .await
            .links
            .insert(link.sku.clone(), link.clone());
        Ok(())
    }

    async fn links(&self) -> Result<Vec<SupplierLink>, StoreError> {
        Ok(self.state.lock().await.links.values().cloned().collect())
    }

    async fn purchase_order(
        &self,
        id: &PurchaseOrderId,
    ) -> Result<Option<PurchaseOrder>, StoreError> {
        Ok(self.state.lock().await.purchase_orders.get(id).cloned())
    }

    async fn all_purchase_orders(&self) -> Result<Vec<PurchaseOrder>, StoreError> {
        Ok(self
            .state
            .lock()
            .await
            .purchase_orders
            .values()
            .cloned()
            .collect())
    }
}

#[async_trait]
impl CountStore for MemoryStore {
    async fn counts_of(&self, sku: &Sku) -> Result<Vec<CountRecord>, StoreError> {
        let state = self.state.lock().await;
        Ok(state
            .counts
            .iter()
            .filter(|count| count.sku == *sku)
            .cloned()
            .collect())
    }

    async fn investigation(
        &self,
        id: &InvestigationId,
    ) -> Result<Option<Investigation>, StoreError> {
        Ok(self.state.lock().await.investigations.get(id).cloned())
    }

    async fn last_counted(&self) -> Result<BTreeMap<StockKey, DateTime<Utc>>, StoreError> {
        let state = self.state.lock().await;
        let mut last = BTreeMap::new();
        for count in &state.counts {
            last.insert(
                StockKey::new(count.sku.clone(), count.location.clone()),
                count.at,
            );
        }
        Ok(last)
    }

    async fn open_investigations(&self) -> Result<Vec<Investigation>, StoreError> {
        let state = self.state.lock().await;
        Ok(state
            .investigations
            .values()
            .filter(|i| i.is_open())
            .cloned()
            .collect())
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>, StoreError> {
        let mut state = self.state.lock().await;
        let mut claimed = Vec::new();
        for (queued, claimed_until, retry_at) in state.events.values_mut() {
            let free = claimed_until.is_none_or(|until| until <= now);
            if claimed.len() == limit || !free || retry_at.is_some_and(|at| at > now) {
                // In order: nothing after an event that is held or waiting.
                break;
            }
            *claimed_until = Some(claim_until);
            claimed.push(queued.clone());
        }
        Ok(claimed)
    }

    async fn finish_events(
        &self,
        seqs: &[i64],
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut state = self.state.lock().await;
        for seq in seqs {
            match retry_at {
                None => {
                    state.events.remove(seq);
                }
                Some(at) => {
                    if let Some((queued, claimed_until, retry)) = state.events.get_mut(seq) {
                        queued.attempts = queued.attempts.saturating_add(1);
                        *claimed_until = None;
                        *retry = Some(at);
                    }
                }
            }
        }
        Ok(())
    }

    async fn pending_events(&self) -> Result<Vec<QueuedEvent>, StoreError> {
        let state = self.state.lock().await;
        Ok(state
            .events
            .values()
            .map(|(queued, ..)| queued.clone())
            .collect())
    }
}
