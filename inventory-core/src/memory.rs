//! [`MemoryStore`]: a complete in-process backend.
//!
//! One transaction at a time holds the store's lock (an async mutex, so waiting tasks
//! never block a runtime thread); its writes are staged and applied only at commit.
//! That makes every transaction serializable, which is what the conformance suite and
//! the property tests compare other backends against.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::decide::{Changes, LoadPlan, Snapshot};
use crate::error::StoreError;
use crate::id::{LocationId, ReservationId, Sku};
use crate::ledger::LedgerEntry;
use crate::reservation::{Reservation, ReservationStatus};
use crate::stock::{LocationStock, StockKey, StockLevel};
use crate::store::{load_rows, AuditStore, RowSource, Store, StoreTx};

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
}

impl RowSource for MemoryState {
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
}
