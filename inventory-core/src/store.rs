//! The storage traits every backend implements, and the shared loader.
//!
//! A backend only runs SQL (or touches memory) and maps rows to core types: it locks and
//! loads what a [`LoadPlan`] names, persists [`Changes`], and commits. Every decision is
//! made by [`decide`](crate::decide::decide) in between. Backends with a synchronous
//! connection implement [`RowSource`] and load with [`load_rows`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::counting::{Investigation, InvestigationId};
use crate::decide::{Changes, LoadPlan, Snapshot};
use crate::error::StoreError;
use crate::group::GroupCommit;
use crate::id::{IdempotencyKey, ReservationId, Sku, SupplierId};
use crate::ledger::LedgerEntry;
use crate::reorder::purchase::{PurchaseOrder, PurchaseOrderId};
use crate::reservation::Reservation;
use crate::stock::{LocationStock, StockKey, StockLevel};

/// How a unit of work reads the rows it decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// Lock every row as it is read: nothing read can change before the commit.
    #[default]
    Locking,
    /// Read without locks, then write only if nothing read has changed (checked under
    /// lock by the write itself): a lone command needs no `BEGIN` and no locking round
    /// trip. A unit whose check fails is run again with [`ReadMode::Locking`].
    Optimistic,
}

/// A storage backend: opens transactions and answers plain reads.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// One open transaction.
    type Tx: StoreTx;

    /// How an [`Inventory`](crate::Inventory) on this store groups commands by default:
    /// one lane for a single-writer store, several where writers run in parallel.
    fn group_commit(&self) -> GroupCommit {
        GroupCommit::default()
    }

    /// Opens a transaction. Dropping it without [`StoreTx::commit`] rolls it back.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot start one.
    async fn begin(&self) -> Result<Self::Tx, StoreError>;

    /// Opens a transaction that reads as `mode` says. A store without an optimistic
    /// path ignores the mode and locks (the default).
    ///
    /// With [`ReadMode::Optimistic`] the transaction reads without locks and its
    /// [`persist_and_commit`](StoreTx::persist_and_commit) must write only if every
    /// stock row and reservation the unit read is unchanged, and every stock row it did
    /// not see is still absent, checked under lock in the same atomic write; otherwise it
    /// fails with [`StoreError::Conflict`] and writes nothing. The core asks for it only
    /// for plans where that check covers everything the decision read
    /// ([`LoadPlan::reads_are_guarded`]).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot start one.
    async fn begin_with(&self, mode: ReadMode) -> Result<Self::Tx, StoreError> {
        let _ = mode;
        self.begin().await
    }

    /// Every stock row of `sku` (any order; empty when the SKU is unknown).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError>;

    /// The reservation with this id, if any.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError>;

    /// When the next active hold runs out: the earliest `expires_at` of an active
    /// reservation (`None` when there is none). An expiry sweeper sleeps until then.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// An open transaction. What [`load`](StoreTx::load) returns stays locked until
/// commit or drop, so no other transaction can change it in between.
#[async_trait]
pub trait StoreTx: Send {
    /// Locks and loads what `plan` names, in the order of [`load_rows`]: reservations
    /// first, then every stock row of every SKU involved, in key order (so two
    /// transactions never wait on each other in a cycle). A backend should do this in
    /// as few round trips as it can.
    ///
    /// # Errors
    ///
    /// [`StoreError`]; [`StoreError::Conflict`] when a lock cannot be had now.
    async fn load(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot, StoreError>;

    /// Writes decided changes: upserts rows and reservations, appends ledger entries.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when a write fails; the transaction must then be dropped.
    async fn persist(&mut self, changes: &Changes) -> Result<(), StoreError>;

    /// Makes everything persisted in this transaction durable and visible at once.
    ///
    /// A backend whose writers run in parallel must fail with
    /// [`StoreError::Conflict`] when a stock row or reservation that was absent from
    /// the loaded snapshot exists by now (another unit created it): the unit is then
    /// decided again on the real row.
    ///
    /// # Errors
    ///
    /// [`StoreError`]; only [`StoreError::Unavailable`] leaves it unknown whether the
    /// commit took effect, every other error means it did not.
    async fn commit(self) -> Result<(), StoreError>;

    /// A whole unit of work: [`load`](StoreTx::load) what `plan` names, hand the
    /// snapshot to `decide` (pure: no I/O, no waiting), then, unless the changes it
    /// returns are empty, [`persist_and_commit`](StoreTx::persist_and_commit) them; the
    /// value `decide` returns with the changes is the unit's result. A backend whose
    /// connection lives on a thread of its own may run all of it in one visit to that
    /// thread (the default makes one call per step).
    ///
    /// # Errors
    ///
    /// [`UnitFailure::Load`] when loading failed (nothing was written);
    /// [`UnitFailure::Commit`] when persisting or committing failed (as
    /// `persist_and_commit`: only [`StoreError::Unavailable`] leaves the outcome unknown).
    async fn run_unit<T: Send + 'static>(
        mut self,
        plan: &LoadPlan,
        now: DateTime<Utc>,
        decide: Decide<T>,
    ) -> Result<T, UnitFailure>
    where
        Self: Sized,
    {
        run_in_steps(self, plan, now, decide).await
    }

    /// [`persist`](StoreTx::persist) then [`commit`](StoreTx::commit); a backend may do
    /// both in one round trip.
    ///
    /// # Errors
    ///
    /// As `persist` and `commit`.
    async fn persist_and_commit(mut self, changes: &Changes) -> Result<(), StoreError>
    where
        Self: Sized,
    {
        self.persist(changes).await?;
        self.commit().await
    }
}

/// [`StoreTx::run_unit`] one step at a time: load, decide, then persist and commit
/// (what the default does; a backend that overrides it may fall back on this).
///
/// # Errors
///
/// As [`StoreTx::run_unit`].
pub async fn run_in_steps<Tx: StoreTx, T: Send + 'static>(
    mut tx: Tx,
    plan: &LoadPlan,
    now: DateTime<Utc>,
    decide: Decide<T>,
) -> Result<T, UnitFailure> {
    let snapshot = tx.load(plan, now).await.map_err(UnitFailure::Load)?;
    let (changes, value) = decide(snapshot);
    if !changes.is_empty() {
        tx.persist_and_commit(&changes)
            .await
            .map_err(UnitFailure::Commit)?;
    }
    Ok(value)
}

/// The decision step of [`StoreTx::run_unit`]: the changes to write and the unit's
/// result, from the loaded snapshot.
pub type Decide<T> = Box<dyn FnOnce(Snapshot) -> (Changes, T) + Send>;

/// Where [`StoreTx::run_unit`] failed.
#[derive(Debug)]
pub enum UnitFailure {
    /// Loading failed: nothing was written.
    Load(StoreError),
    /// Persisting or committing failed.
    Commit(StoreError),
}

/// Synchronous row reads inside an open transaction, for backends whose connection is
/// synchronous (memory, SQLite). [`load_rows`] turns them into a [`Snapshot`].
pub trait RowSource {
    /// The reservations with these ids that exist.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    fn reservations(&mut self, ids: &[ReservationId]) -> Result<Vec<Reservation>, StoreError>;

    /// Active holds with `expires_at <= now` that hold any of `skus`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    fn overdue_holds(
        &mut self,
        skus: &[Sku],
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError>;

    /// Up to `limit` active holds with `expires_at <= now`, ordered by
    /// `(expires_at, id)`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    fn due_holds(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Reservation>, StoreError>;

    /// Every stock row of `skus` (sorted, unique), in key order.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    fn stock(&mut self, skus: &[Sku]) -> Result<Vec<(StockKey, StockLevel)>, StoreError>;

    /// The purchase orders with these ids, and the open drafts of these suppliers.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    fn purchase_orders(
        &mut self,
        ids: &[PurchaseOrderId],
        drafts_of: &[SupplierId],
    ) -> Result<Vec<PurchaseOrder>, StoreError>;

    /// The investigations with these ids, and every open investigation of these SKUs.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    fn investigations(
        &mut self,
        ids: &[InvestigationId],
        open_of: &[Sku],
    ) -> Result<Vec<Investigation>, StoreError>;

    /// Every active or committed reservation holding units of any of `skus`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    fn holders(&mut self, skus: &[Sku]) -> Result<Vec<Reservation>, StoreError>;

    /// The ledger entries written under any of `keys`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    fn keyed(&mut self, keys: &[IdempotencyKey]) -> Result<Vec<LedgerEntry>, StoreError>;
}

/// Optional capability: whole-store reads, for audits, replay checks and tests.
#[async_trait]
pub trait AuditStore: Store {
    /// Every stock row.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>, StoreError>;

    /// Every reservation, ordered by id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn all_reservations(&self) -> Result<Vec<Reservation>, StoreError>;

    /// The whole ledger: each row's entries in the order they were written (entries of
    /// different rows may interleave in any order; replay is per row).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn ledger(&self) -> Result<Vec<LedgerEntry>, StoreError>;
}

/// Loads what `plan` names from `source`: the named purchase orders and open drafts,
/// the named reservations, overdue holds on its
/// SKUs (for lazy reclaim), due holds (for a sweep), then every stock row of every SKU
/// any of them touches, in one sorted read.
///
/// # Errors
///
/// The first [`StoreError`] of `source`.
pub fn load_rows<R: RowSource + ?Sized>(
    source: &mut R,
    plan: &LoadPlan,
    now: DateTime<Utc>,
) -> Result<Snapshot, StoreError> {
    let orders = if plan.purchase_orders.is_empty() && plan.open_drafts.is_empty() {
        Vec::new()
    } else {
        source.purchase_orders(&plan.purchase_orders, &plan.open_drafts)?
    };
    let mut held = Vec::new();
    if !plan.reservations.is_empty() {
        held.extend(source.reservations(&plan.reservations)?);
    }
    if plan.overdue_holds && !plan.skus.is_empty() {
        held.extend(source.overdue_holds(&plan.skus, now)?);
    }
    if let Some(limit) = plan.due_holds {
        held.extend(source.due_holds(now, limit)?);
    }
    if !plan.holders_of.is_empty() {
        held.extend(source.holders(&plan.holders_of)?);
    }
    let named = if plan.investigations.is_empty() {
        Vec::new()
    } else {
        source.investigations(&plan.investigations, &[])?
    };
    let mut skus = skus_to_lock(plan, &held, &orders);
    skus.extend(named.iter().map(|investigation| investigation.sku.clone()));
    skus.sort();
    skus.dedup();
    let rows = if skus.is_empty() {
        Vec::new()
    } else {
        source.stock(&skus)?
    };
    let mut snapshot = assemble(held, rows, orders);
    let open = if skus.is_empty() {
        Vec::new()
    } else {
        source.investigations(&[], &skus)?
    };
    snapshot.investigations = named.into_iter().chain(open).map(|i| (i.id, i)).collect();
    if !plan.idempotency_keys.is_empty() {
        snapshot.keyed = by_key(source.keyed(&plan.idempotency_keys)?);
    }
    Ok(snapshot)
}

/// Ledger entries by their idempotency key (entries without one are left out).
pub fn by_key(entries: Vec<LedgerEntry>) -> BTreeMap<IdempotencyKey, LedgerEntry> {
    entries
        .into_iter()
        .filter_map(|entry| Some((entry.idempotency_key.clone()?, entry)))
        .collect()
}

/// Every SKU whose rows a unit must lock: those the plan names and those the loaded
/// reservations hold. Sorted, without repeats.
pub fn skus_to_lock(plan: &LoadPlan, held: &[Reservation], orders: &[PurchaseOrder]) -> Vec<Sku> {
    let mut skus = plan.skus.clone();
    skus.extend(held.iter().flat_map(Reservation::skus));
    skus.extend(orders.iter().flat_map(PurchaseOrder::skus));
    skus.sort();
    skus.dedup();
    skus
}

/// The snapshot of loaded reservations, stock rows and purchase orders (a hold loaded
/// twice, as named and as overdue, is kept once).
pub fn assemble(
    held: Vec<Reservation>,
    rows: Vec<(StockKey, StockLevel)>,
    orders: Vec<PurchaseOrder>,
) -> Snapshot {
    Snapshot {
        stock: rows.into_iter().collect(),
        reservations: held.into_iter().map(|r| (r.id, r)).collect(),
        purchase_orders: orders.into_iter().map(|order| (order.id, order)).collect(),
        investigations: BTreeMap::new(),
        keyed: BTreeMap::new(),
    }
}
