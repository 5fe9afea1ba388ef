//! Writing a storage backend: what to implement, in what order, and how to prove it.
//!
//! A backend is thin. It runs SQL (or touches memory) and maps rows to core types; it
//! never decides anything. Every rule lives in [`decide`](crate::decide::decide), which
//! the core calls between a backend's load and its write, so a backend that loads what
//! it is asked for and writes what it is handed behaves exactly like every other one.
//! A full backend is a [`Backend`]: the traits below, implemented on one cloneable
//! handle. This module holds the unit-of-work traits and helpers; the feature traits
//! live beside their features and are linked from here.
//!
//! # 1. The unit of work: [`Store`] and [`StoreTx`]
//!
//! [`Store::begin`] opens a transaction; [`StoreTx::load`] locks and loads what a
//! [`LoadPlan`] names and returns a [`Snapshot`]: reservations first, then every stock
//! row of every SKU involved **in key order** (two units never wait on each other in a
//! cycle), purchase orders, investigations, keyed ledger entries as the plan asks.
//! [`StoreTx::persist`] writes the [`Changes`] the decision produced (upserts of rows,
//! reservations, orders, investigations, dirty marks; appended ledger entries) and
//! [`StoreTx::commit`] makes them durable at once. The plain reads [`Store::stock`],
//! [`Store::reservation`] and [`Store::next_expiry`] serve callers outside a unit, and
//! the catalog (bundle definitions) is read whole and written with a compare-and-set on
//! its version ([`Store::catalog`], [`Store::put_sku_settings`]).
//!
//! Classify every driver error, because the core's retry depends on it:
//! [`StoreError::Conflict`] (deadlock, serialization
//! failure, busy) and [`StoreError::Interrupted`] (the
//! connection broke before the commit was sent) are retried whole;
//! [`StoreError::Unavailable`] during commit means the
//! outcome is unknown and is never retried blindly;
//! [`StoreError::corrupt`] names a stored value that cannot
//! be read back and keeps the parser's error as its source; everything else is
//! [`StoreError::Backend`].
//!
//! Then make it fast, optionally: [`Store::group_commit`] (several lanes where writers
//! run in parallel), [`Store::begin_with`] with [`ReadMode::Optimistic`] (read without
//! locks, write only if nothing read changed), [`StoreTx::run_unit`] (the whole unit in
//! one visit to a connection thread; [`run_in_steps`] is the default) and
//! [`StoreTx::persist_and_commit`] (one round trip).
//!
//! # 2. Loading: [`RowSource`] and [`load_rows`]
//!
//! A backend with a synchronous connection (memory, SQLite) implements [`RowSource`]
//! (eight small reads) and calls [`load_rows`], which asks them in the right order and
//! assembles the snapshot. A backend that loads in fewer round trips (PostgreSQL: one
//! statement) builds the same snapshot with [`skus_to_lock`], [`by_key`] and
//! [`assemble`].
//!
//! # 3. The feature traits
//!
//! In this order, each a handful of plain reads and writes:
//!
//! - [`AuditStore`]: whole-state reads (every row, reservation, ledger entry) that the
//!   invariant checks and the conformance suite use, and the ledger query (pages newest
//!   first by SKU, location, time range and reference, with an index behind each filter).
//! - [`SyncStore`](crate::sync::SyncStore): the outbox of channel sync. Dirty marks are
//!   written by `persist` in the command's own transaction (from
//!   [`Changes::dirty`]); a worker claims marks for a while
//!   ([`claim_dirty`](crate::sync::SyncStore::claim_dirty)), pushes, then releases them
//!   ([`release_dirty`](crate::sync::SyncStore::release_dirty)): a mark whose generation
//!   changed meanwhile stays for the newer change, a failed push waits until its retry
//!   time, and a claim that runs out (a dead worker) is claimed again: the protocol is
//!   written out once, on [`SyncStore`](crate::sync::SyncStore), with the conformance
//!   case that checks each step.
//! - [`EventStore`](crate::events::EventStore): the outbox of low-stock events,
//!   appended by `persist` from [`Changes::events`] and handed out in order to an
//!   [`EventWorker`](crate::events::EventWorker) (claim, then remove or retry later).
//! - [`DemandStore`](crate::reorder::DemandStore) and
//!   [`PurchaseStore`](crate::reorder::PurchaseStore): shipped units per day, revenue,
//!   suppliers, reorder links and purchase orders, for reordering.
//! - [`CountStore`](crate::counting::CountStore): counts and investigations.
//! - [`InboxStore`](crate::inbox::InboxStore): ids of messages already handled
//!   (webhook deduplication), with a retention window, and the SKUs of channels'
//!   order lines by the channel's line id, kept for good.
//!
//! Ask the core's predicates instead of writing the rules again in SQL or code:
//! [`ReservationStatus::holds_stock`](crate::ReservationStatus::holds_stock) (which
//! reservations hold units), [`Investigation::is_open`](crate::counting::Investigation::is_open),
//! [`Reservation::is_expired_at`](crate::Reservation::is_expired_at).
//!
//! # 4. Proof: the conformance suite
//!
//! One line in a test file of the backend's crate stamps every conformance case
//! (behaviour, error paths, idempotency, expiry, sync, reorders, counts) onto it, as
//! `#[tokio::test]`s in a module named after the backend; the factory's store must be a
//! [`Backend`]. Add the invariant checks
//! ([`testkit::invariants`](crate::testkit::invariants)), the hot-SKU race
//! ([`testkit::race`](crate::testkit::race)) and a differential property test against
//! [`MemoryStore`](crate::MemoryStore) ([`testkit::strategy`](crate::testkit::strategy)),
//! all with the `testkit` feature.
//!
//! # Skeleton
//!
//! Every method a full backend writes, with the traits in the order above (bodies left
//! to you). It compiles as a [`Backend`]:
//!
//! ```no_run
//! use std::collections::{BTreeMap, BTreeSet};
//!
//! use async_trait::async_trait;
//! use chrono::{DateTime, NaiveDate, Utc};
//! use inventory_core::backend::{AuditStore, Backend, Store, StoreTx};
//! use inventory_core::catalog::{Catalog, SkuSettings};
//! use inventory_core::counting::{CountRecord, CountStore, Investigation, InvestigationId};
//! use inventory_core::decide::{Changes, LoadPlan, Snapshot};
//! use inventory_core::events::{EventStore, QueuedEvent};
//! use inventory_core::inbox::{InboxStore, LineRef};
//! use inventory_core::reorder::{
//!     DemandStore, PurchaseOrder, PurchaseOrderId, PurchaseStore, ShippedPerDay, Supplier,
//!     SupplierLink,
//! };
//! use inventory_core::sync::{DirtyMark, Pushed, StockUpdate, SyncStore};
//! use inventory_core::{
//!     LedgerEntry, LedgerPage, LedgerQuery, LocationStock, OrderId, Reservation, ReservationId,
//!     Sku, StockKey, StockLevel, StoreError, Transfer, TransferId,
//! };
//! use rust_decimal::Decimal;
//!
//! /// A handle on the database: cheap to clone (a pool).
//! #[derive(Clone)]
//! struct MyStore;
//!
//! /// One open transaction on one connection.
//! struct MyTx;
//!
//! // 1. The unit of work.
//! #[async_trait]
//! impl Store for MyStore {
//!     type Tx = MyTx;
//!     async fn begin(&self) -> Result<MyTx, StoreError> { todo!("BEGIN") }
//!     async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError> { todo!() }
//!     async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError> { todo!() }
//!     async fn transfer(&self, id: &TransferId) -> Result<Option<Transfer>, StoreError> { todo!() }
//!     async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> { todo!() }
//!     async fn catalog_version(&self) -> Result<u64, StoreError> { todo!() }
//!     async fn catalog(&self) -> Result<Catalog, StoreError> { todo!() }
//!     async fn put_sku_settings(&self, sku: &Sku, settings: &SkuSettings, expected: u64)
//!         -> Result<u64, StoreError> { todo!("compare the version, write, bump it") }
//! }
//!
//! #[async_trait]
//! impl StoreTx for MyTx {
//!     async fn load(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
//!         todo!("lock and load in key order, e.g. with load_rows")
//!     }
//!     async fn persist(&mut self, changes: &Changes) -> Result<(), StoreError> { todo!() }
//!     async fn commit(self) -> Result<(), StoreError> { todo!("COMMIT") }
//! }
//!
//! // 3. The feature traits.
//! #[async_trait]
//! impl AuditStore for MyStore {
//!     async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>, StoreError> { todo!() }
//!     async fn all_reservations(&self) -> Result<Vec<Reservation>, StoreError> { todo!() }
//!     async fn ledger(&self) -> Result<Vec<LedgerEntry>, StoreError> { todo!() }
//!     async fn ledger_page(&self, query: &LedgerQuery) -> Result<LedgerPage, StoreError> { todo!() }
//! }
//!
//! #[async_trait]
//! impl SyncStore for MyStore {
//!     async fn claim_dirty(&self, now: DateTime<Utc>, claim_until: DateTime<Utc>, limit: usize)
//!         -> Result<Vec<DirtyMark>, StoreError> { todo!() }
//!     async fn release_dirty(&self, marks: &[DirtyMark], retry_at: Option<DateTime<Utc>>)
//!         -> Result<(), StoreError> { todo!() }
//!     async fn mark_dirty(&self, skus: &[Sku]) -> Result<(), StoreError> { todo!() }
//!     async fn is_dirty(&self, sku: &Sku) -> Result<bool, StoreError> { todo!() }
//!     async fn skus_after(&self, after: Option<&Sku>, limit: usize) -> Result<Vec<Sku>, StoreError> { todo!() }
//!     async fn stock_of(&self, skus: &[Sku]) -> Result<BTreeMap<Sku, Vec<LocationStock>>, StoreError> { todo!() }
//!     async fn frozen(&self, skus: &[Sku]) -> Result<BTreeSet<Sku>, StoreError> { todo!() }
//!     async fn last_pushed(&self, channel: &str, skus: &[Sku]) -> Result<BTreeMap<Sku, Pushed>, StoreError> { todo!() }
//!     async fn record_pushed(&self, channel: &str, updates: &[StockUpdate], at: DateTime<Utc>)
//!         -> Result<(), StoreError> { todo!() }
//! }
//!
//! #[async_trait]
//! impl EventStore for MyStore {
//!     async fn claim_events(&self, now: DateTime<Utc>, claim_until: DateTime<Utc>, limit: usize)
//!         -> Result<Vec<QueuedEvent>, StoreError> { todo!() }
//!     async fn finish_events(&self, seqs: &[i64], retry_at: Option<DateTime<Utc>>)
//!         -> Result<(), StoreError> { todo!() }
//!     async fn pending_events(&self) -> Result<Vec<QueuedEvent>, StoreError> { todo!() }
//! }
//!
//! #[async_trait]
//! impl DemandStore for MyStore {
//!     async fn shipped_per_day(&self, first: NaiveDate, last: NaiveDate) -> Result<ShippedPerDay, StoreError> { todo!() }
//!     async fn revenue(&self, first: NaiveDate, last: NaiveDate) -> Result<BTreeMap<Sku, Decimal>, StoreError> { todo!() }
//! }
//!
//! #[async_trait]
//! impl PurchaseStore for MyStore {
//!     async fn put_supplier(&self, supplier: &Supplier) -> Result<(), StoreError> { todo!() }
//!     async fn suppliers(&self) -> Result<Vec<Supplier>, StoreError> { todo!() }
//!     async fn put_link(&self, link: &SupplierLink) -> Result<(), StoreError> { todo!() }
//!     async fn links(&self) -> Result<Vec<SupplierLink>, StoreError> { todo!() }
//!     async fn purchase_order(&self, id: &PurchaseOrderId) -> Result<Option<PurchaseOrder>, StoreError> { todo!() }
//!     async fn all_purchase_orders(&self) -> Result<Vec<PurchaseOrder>, StoreError> { todo!() }
//! }
//!
//! #[async_trait]
//! impl CountStore for MyStore {
//!     async fn counts_of(&self, sku: &Sku) -> Result<Vec<CountRecord>, StoreError> { todo!() }
//!     async fn investigation(&self, id: &InvestigationId) -> Result<Option<Investigation>, StoreError> { todo!() }
//!     async fn last_counted(&self) -> Result<BTreeMap<StockKey, DateTime<Utc>>, StoreError> { todo!() }
//!     async fn open_investigations(&self) -> Result<Vec<Investigation>, StoreError> { todo!() }
//! }
//!
//! #[async_trait]
//! impl InboxStore for MyStore {
//!     async fn handled(&self, source: &str, id: &str) -> Result<bool, StoreError> { todo!() }
//!     async fn record_handled(&self, source: &str, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> { todo!() }
//!     async fn forget_handled_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> { todo!() }
//!     async fn record_lines(&self, order: &OrderId, lines: &[LineRef]) -> Result<u64, StoreError> { todo!() }
//!     async fn lines_of(&self, order: &OrderId) -> Result<Vec<LineRef>, StoreError> { todo!() }
//! }
//!
//! fn full_backend<B: Backend>() {}
//! full_backend::<MyStore>();
//! ```
#![cfg_attr(
    feature = "testkit",
    doc = r#"
With the `testkit` feature, the proof is this one line (here on the in-memory store):

```
// In a test file of the backend's crate: one `#[tokio::test]` per case, in `mod memory`.
inventory_core::conformance_suite!(memory, async { Some(inventory_core::MemoryStore::new()) });
# fn main() {}
```
"#
)]

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::catalog::{Catalog, SkuSettings};
use crate::counting::{Investigation, InvestigationId};
use crate::decide::{Changes, LoadPlan, Snapshot};
use crate::error::StoreError;
use crate::group::GroupCommit;
use crate::id::{IdempotencyKey, ReservationId, Sku, SupplierId};
use crate::ledger::LedgerEntry;
use crate::reorder::purchase::{PurchaseOrder, PurchaseOrderId};
use crate::reservation::Reservation;
use crate::stock::{LocationStock, StockKey, StockLevel};
use crate::transfer::{Transfer, TransferId};

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

    /// The transfer with this id, if any.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn transfer(&self, id: &TransferId) -> Result<Option<Transfer>, StoreError>;

    /// When the next active hold runs out: the earliest `expires_at` of an active
    /// reservation (`None` when there is none). An expiry sweeper sleeps until then.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// The catalog's version: 0 until its first change, then bumped by every
    /// [`put_sku_settings`](Store::put_sku_settings). A cheap read: an inventory makes
    /// it to learn whether its copy of the catalog is still current.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn catalog_version(&self) -> Result<u64, StoreError>;

    /// The whole [`Catalog`] with its version, read at one instant.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails; [`StoreError::corrupt`] for a stored entry
    /// that cannot be read back.
    async fn catalog(&self) -> Result<Catalog, StoreError>;

    /// Stores `settings` for `sku` (empty settings remove the SKU from the catalog),
    /// bumps the version and marks `sku` dirty for channel sync (a bundle's number
    /// changes with its definition), atomically, if the catalog is still at `expected`;
    /// answers the new version. The core decides every definition on the catalog at
    /// `expected`, so this compare-and-set keeps two concurrent definitions from
    /// breaking a rule between them.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] (nothing written) when the version is no longer
    /// `expected`; [`StoreError`] when the write fails.
    async fn put_sku_settings(
        &self,
        sku: &Sku,
        settings: &SkuSettings,
        expected: u64,
    ) -> Result<u64, StoreError>;
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
    if changes.is_empty() {
        // Nothing to write, but locking reads hold their locks until the transaction
        // ends (a dropped transaction may end only when its connection is next used,
        // and a sweep skipping locked holds would pass over these): end it now. Nothing
        // was written, so a failure here is retried as a failed read is.
        tx.commit().await.map_err(|error| {
            UnitFailure::Load(match error {
                StoreError::Unavailable(source) => StoreError::Interrupted(source),
                other => other,
            })
        })?;
    } else {
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

    /// The transfers with these ids that exist.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    fn transfers(&mut self, ids: &[TransferId]) -> Result<Vec<Transfer>, StoreError>;
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

    /// One page of the entries `query` selects, newest first (see
    /// [`LedgerCursor`](crate::LedgerCursor) for the order): at most
    /// `query.page_size() + 1` read, so the page knows whether more remain
    /// ([`LedgerPage::of`](crate::LedgerPage::of) builds it). Each filter should have
    /// an index behind it.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn ledger_page(
        &self,
        query: &crate::LedgerQuery,
    ) -> Result<crate::LedgerPage, StoreError>;
}

/// Loads what `plan` names from `source`: the named purchase orders and open drafts,
/// the named reservations, overdue holds on its
/// SKUs (for lazy reclaim), due holds (for a sweep), then every stock row of every SKU
/// any of them touches, in one sorted read, then the holds of every SKU with a row that
/// owes backordered units ([`owing_skus`]).
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
    let transfers = if plan.transfers.is_empty() {
        Vec::new()
    } else {
        source.transfers(&plan.transfers)?
    };
    let mut skus = skus_to_lock(plan, &held, &orders);
    skus.extend(named.iter().map(|investigation| investigation.sku.clone()));
    skus.extend(transfers.iter().map(|transfer| transfer.sku.clone()));
    skus.sort();
    skus.dedup();
    let rows = if skus.is_empty() {
        Vec::new()
    } else {
        source.stock(&skus)?
    };
    let owing = owing_skus(&rows);
    if !owing.is_empty() {
        held.extend(source.holders(&owing)?);
    }
    let mut snapshot = assemble(held, rows, orders);
    let open = if skus.is_empty() {
        Vec::new()
    } else {
        source.investigations(&[], &skus)?
    };
    snapshot.investigations = named.into_iter().chain(open).map(|i| (i.id, i)).collect();
    snapshot.transfers = transfers.into_iter().map(|t| (t.id, t)).collect();
    if !plan.idempotency_keys.is_empty() {
        snapshot.keyed = by_key(source.keyed(&plan.idempotency_keys)?);
    }
    Ok(snapshot)
}

/// The SKUs (sorted, unique) with a row that owes backordered units: a unit loads the
/// holds of these SKUs too (after their rows), so that an arrival can cover them.
pub fn owing_skus(rows: &[(StockKey, StockLevel)]) -> Vec<Sku> {
    let mut skus: Vec<Sku> = rows
        .iter()
        .filter(|(_, level)| level.backordered > 0)
        .map(|(key, _)| key.sku.clone())
        .collect();
    skus.dedup();
    skus
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
        transfers: BTreeMap::new(),
    }
}

/// Everything a full backend provides: the unit of work and the feature traits, on
/// one cloneable handle. Implemented for every type that has them all; the
/// conformance suite and the reference service ask for it.
pub trait Backend:
    AuditStore
    + crate::sync::SyncStore
    + crate::events::EventStore
    + crate::reorder::DemandStore
    + crate::reorder::PurchaseStore
    + crate::counting::CountStore
    + crate::inbox::InboxStore
    + Clone
{
}

impl<T> Backend for T where
    T: AuditStore
        + crate::sync::SyncStore
        + crate::events::EventStore
        + crate::reorder::DemandStore
        + crate::reorder::PurchaseStore
        + crate::counting::CountStore
        + crate::inbox::InboxStore
        + Clone
{
}
