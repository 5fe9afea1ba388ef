//! [`Inventory`]: the entry point users call. Each call runs one command as one unit:
//! lock and load, decide, persist, commit, retried on transient conflicts.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::backend::Store;
use crate::bulk::{BulkSet, SetResult};
use crate::catalog::{
    bundle_available, BackorderLimit, BundleComponent, BundleProblem, BundleStock, Catalog,
    CatalogCache, SkuSettings, CATALOG_RECHECK_DEFAULT,
};
use crate::clock::{Clock, SystemClock};
use crate::decide::{
    keyed, lifecycle, movement, reserve, Command, Draft, LoadPlan, Outcome, StockMovement,
};
use crate::error::{DomainError, Result, StoreError};
use crate::events::{LowStock, Threshold};
use crate::expiry::ExpiryAlarm;
use crate::group::{GroupCommit, Lanes, Runner};
use crate::id::{IdempotencyKey, LocationId, ReservationId, Sku};
use crate::quantity::Quantity;
use crate::reservation::{
    check_ttl, Reservation, ReservationStatus, ReserveRequest, HOLD_TTL_DEFAULT,
};
use crate::retry::RetryPolicy;
use crate::returns::ReturnRequest;
use crate::shipment::{AddRequest, PartRequest};
use crate::stock::{SkuStock, StockKey, StockLevel, StockState};
use crate::transfer::{Transfer, TransferId, TransferRequest};

/// The result of a reserve: the reservation, and whether this call created it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReserveResult {
    /// The reservation.
    pub reservation: Reservation,
    /// `false` when the same request had already been reserved (a repeated delivery).
    pub created: bool,
}

/// An inventory over a storage backend `S`.
///
/// ```
/// use inventory_core::{Inventory, LocationId, MemoryStore, OrderId, OrderLine, Quantity,
///     ReserveRequest, Sku};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let inventory = Inventory::new(MemoryStore::new());
/// let sku = Sku::new("TEE-RED-M")?;
/// inventory.receive(sku.clone(), LocationId::new("main")?, Quantity::new(5)?).await?;
///
/// let order = ReserveRequest::new(
///     OrderId::new("#1001")?,
///     vec![OrderLine::new(sku.clone(), Quantity::new(2)?)],
/// );
/// let hold = inventory.reserve(order).await?;
/// assert!(hold.created);
/// assert_eq!(inventory.stock(&sku).await?.total.available(), 3);
///
/// inventory.commit(hold.reservation.id).await?;
/// inventory.ship(hold.reservation.id).await?;
/// assert_eq!(inventory.stock(&sku).await?.total.on_hand, 3);
/// # Ok::<(), inventory_core::Error>(())
/// # }).unwrap();
/// ```
pub struct Inventory<S> {
    runner: Runner<S>,
    default_ttl: Duration,
    lanes: Arc<Lanes>,
    actor: Option<Arc<str>>,
    reference: Option<Arc<str>>,
    catalog: Arc<CatalogCache>,
    expiry: Arc<ExpiryAlarm>,
}

/// Names the store's type and the inventory's settings (the store itself need not be
/// `Debug`).
impl<S> std::fmt::Debug for Inventory<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inventory")
            .field("store", &std::any::type_name::<S>())
            .field("default_ttl", &self.default_ttl)
            .field("actor", &self.actor)
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

/// Clones share the store and the group-commit queues.
impl<S> Clone for Inventory<S> {
    fn clone(&self) -> Self {
        Self {
            runner: self.runner.clone(),
            default_ttl: self.default_ttl,
            lanes: Arc::clone(&self.lanes),
            actor: self.actor.clone(),
            reference: self.reference.clone(),
            catalog: Arc::clone(&self.catalog),
            expiry: Arc::clone(&self.expiry),
        }
    }
}

impl<S: Store> Inventory<S> {
    /// An inventory on `store`, with the system clock, the default retry policy, the
    /// store's preferred group commit and 30-minute holds.
    pub fn new(store: S) -> Self {
        let group = store.group_commit();
        Self {
            runner: Runner {
                store: Arc::new(store),
                clock: Arc::new(SystemClock),
                retry: RetryPolicy::default(),
                committed: Arc::new(Notify::new()),
            },
            default_ttl: HOLD_TTL_DEFAULT,
            lanes: Arc::new(Lanes::new(group)),
            actor: None,
            reference: None,
            catalog: Arc::new(CatalogCache::new(CATALOG_RECHECK_DEFAULT)),
            expiry: Arc::new(ExpiryAlarm::default()),
        }
    }

    /// How long this inventory uses its copy of the catalog (bundle definitions)
    /// before it asks the store whether another app server changed it (default
    /// [`CATALOG_RECHECK_DEFAULT`]); changes made through this inventory or its clones
    /// are seen at once. Configure before cloning.
    pub fn with_catalog_recheck(mut self, recheck: Duration) -> Self {
        self.catalog = Arc::new(CatalogCache::new(recheck));
        self
    }

    /// Replaces the clock (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.runner.clock = Arc::new(clock);
        self
    }

    /// Replaces the retry policy for transient storage conflicts.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.runner.retry = retry;
        self
    }

    /// Replaces the group-commit settings. Configure before cloning: clones made
    /// earlier keep the old queues.
    pub fn with_group_commit(mut self, group: GroupCommit) -> Self {
        self.lanes = Arc::new(Lanes::new(group));
        self
    }

    /// Sets the hold time of requests that name none.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidTtl`] outside 1 second to 30 days.
    pub fn with_default_ttl(mut self, ttl: Duration) -> Result<Self, DomainError> {
        check_ttl(ttl)?;
        self.default_ttl = ttl;
        Ok(self)
    }

    /// A handle on the same inventory (same store, same queues) whose commands write
    /// `actor` as who did it on every ledger entry that names no one else (a count
    /// names its counter, a bulk set its own actor). Cheap: make one per request.
    ///
    /// ```
    /// use inventory_core::{Inventory, LocationId, MemoryStore, Quantity, Sku};
    /// use inventory_core::backend::AuditStore;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let clerk = inventory.acting_as("clerk:ana")?;
    /// clerk.receive(Sku::new("MUG")?, LocationId::new("main")?, Quantity::new(3)?).await?;
    /// let ledger = inventory.store().ledger().await?;
    /// assert_eq!(ledger[0].actor.as_deref(), Some("clerk:ana"));
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidActor`] for an empty, over-long or control-character name.
    pub fn acting_as(&self, actor: &str) -> Result<Self, DomainError> {
        crate::counting::check_name(actor)?;
        let mut acting = self.clone();
        acting.actor = Some(Arc::from(actor));
        Ok(acting)
    }

    /// Who this handle's commands name as their actor, if anyone.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// A handle on the same inventory whose commands write `reference` (the document
    /// behind them, `<kind>:<id>`: `asn:2026-0042`, `erp:DOC-77`) on every ledger entry
    /// that names no document of its own (a reservation's entries name their order, a
    /// transfer's its transfer). Cheap: make one per request.
    ///
    /// ```
    /// use inventory_core::{Inventory, LocationId, MemoryStore, Quantity, Sku};
    /// use inventory_core::backend::AuditStore;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let asn = inventory.with_reference("asn:2026-0042")?;
    /// asn.receive(Sku::new("MUG")?, LocationId::new("main")?, Quantity::new(3)?).await?;
    /// let ledger = inventory.store().ledger().await?;
    /// assert_eq!(ledger[0].reference.as_deref(), Some("asn:2026-0042"));
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidReference`] unless it is `<kind>:<id>` of visible
    /// characters, at most 256 bytes.
    pub fn with_reference(&self, reference: &str) -> Result<Self, DomainError> {
        crate::ledger::check_reference(reference)?;
        let mut referring = self.clone();
        referring.reference = Some(Arc::from(reference));
        Ok(referring)
    }

    /// The storage backend.
    pub fn store(&self) -> &S {
        &self.runner.store
    }

    /// The current time, to the microsecond (the precision every backend stores).
    pub fn now(&self) -> DateTime<Utc> {
        self.runner.now()
    }

    /// Notified after every commit that changed some SKU's available (shared by
    /// clones): what wakes a [`SyncWorker`](crate::sync::SyncWorker).
    pub fn commit_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.runner.committed)
    }

    /// The alarm of this inventory's [`ExpiryWorker`](crate::expiry::ExpiryWorker).
    pub(crate) fn expiry_alarm(&self) -> Arc<ExpiryAlarm> {
        Arc::clone(&self.expiry)
    }

    /// Runs any command and answers its untyped [`Outcome`]: for generic drivers such
    /// as property tests that replay command sequences. Programs call the typed methods
    /// ([`receive`](Self::receive), [`reserve`](Self::reserve), ...), each of which
    /// answers its own result type.
    ///
    /// Every command, typed or not, is queued with the commands waiting on the same
    /// lane and committed with them in one transaction (group commit), but decided and
    /// answered on its own; transient conflicts are retried.
    ///
    /// Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Domain`](crate::Error::Domain) when a rule refuses it (nothing changed);
    /// [`Error::Store`](crate::Error::Store) when storage fails, with
    /// [`StoreError::Contention`] once every retry
    /// conflicted.
    pub async fn execute(&self, mut command: Command) -> Result<Outcome> {
        if let Command::Reserve { request } = &mut command {
            request.ttl.get_or_insert(self.default_ttl);
        }
        let plan = command.plan();
        self.run(plan, move |draft| crate::decide::decide_in(draft, &command))
            .await
    }

    /// Runs one typed decision: loads `plan`, decides with `decide` in the unit of
    /// its lane, and answers what `decide` returned once the unit committed.
    ///
    /// The decision reads this inventory's copy of the catalog, and a command naming a
    /// bundle locks its components too.
    pub(crate) async fn run<T, F>(&self, mut plan: LoadPlan, decide: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut Draft<'_>) -> std::result::Result<T, DomainError> + Send + Sync + 'static,
    {
        // The copy is fresh for nearly every command: take it without building the
        // future of a store read.
        let catalog = match self.catalog.fresh() {
            Some(catalog) => catalog,
            None => Box::pin(self.catalog()).await?,
        };
        if !catalog.is_empty() {
            plan.skus = catalog.with_components(&plan.skus);
        }
        let (actor, reference) = (self.actor.clone(), self.reference.clone());
        let stamped = move |draft: &mut Draft<'_>| {
            draft.catalog = Arc::clone(&catalog);
            let written = draft.changes.ledger.len();
            let value = decide(draft)?;
            for entry in &mut draft.changes.ledger[written..] {
                if let Some(actor) = &actor {
                    entry.actor.get_or_insert_with(|| actor.to_string());
                }
                if let Some(reference) = &reference {
                    entry.reference.get_or_insert_with(|| reference.to_string());
                }
            }
            Ok(value)
        };
        self.lanes.submit(&self.runner, plan, stamped).await
    }

    /// Applies one stock movement: the row after it.
    ///
    /// # Errors
    ///
    /// The movement's errors (as [`receive`](Self::receive), [`adjust`](Self::adjust),
    /// ...); storage errors.
    pub async fn apply(&self, stock_movement: StockMovement) -> Result<StockLevel> {
        let plan = LoadPlan::row(&stock_movement.key().sku);
        self.run(plan, move |draft| movement::apply(draft, &stock_movement))
            .await
    }

    /// Units arrive at `location`. Creates the row when the SKU is new there.
    ///
    /// # Errors
    ///
    /// [`DomainError::Overflow`] when `on_hand` would pass `i64::MAX`; storage errors.
    pub async fn receive(
        &self,
        sku: Sku,
        location: LocationId,
        quantity: Quantity,
    ) -> Result<StockLevel> {
        let key = StockKey::new(sku, location);
        self.apply(StockMovement::Receive { key, quantity }).await
    }

    /// A supplier shipped units to `location`: they count as `in_transit`.
    ///
    /// # Errors
    ///
    /// [`DomainError::Overflow`]; storage errors.
    pub async fn add_in_transit(
        &self,
        sku: Sku,
        location: LocationId,
        quantity: Quantity,
    ) -> Result<StockLevel> {
        let key = StockKey::new(sku, location);
        self.apply(StockMovement::AddInTransit { key, quantity })
            .await
    }

    /// Units in transit arrived at `location`: `in_transit` to `on_hand`.
    ///
    /// # Errors
    ///
    /// [`DomainError::UnknownSku`], [`DomainError::UnknownLocation`],
    /// [`DomainError::InsufficientInTransit`], [`DomainError::Overflow`]; storage errors.
    pub async fn receive_in_transit(
        &self,
        sku: Sku,
        location: LocationId,
        quantity: Quantity,
    ) -> Result<StockLevel> {
        let key = StockKey::new(sku, location);
        self.apply(StockMovement::ReceiveInTransit { key, quantity })
            .await
    }

    /// Moves `quantity` units of the row between two states: sellable units set aside as
    /// damaged, in quality control or as safety stock, units coming back to sellable, or
    /// units moving between two unavailable states. `on_hand` does not change; channels
    /// see available change.
    ///
    /// ```
    /// use inventory_core::{Inventory, LocationId, MemoryStore, Quantity, Sku, StockState};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let (mug, main) = (Sku::new("MUG")?, LocationId::new("main")?);
    /// inventory.receive(mug.clone(), main.clone(), Quantity::new(10)?).await?;
    /// // A carton was dropped: two mugs are chipped.
    /// let row = inventory
    ///     .change_state(mug, main, StockState::Available, StockState::Damaged, Quantity::new(2)?)
    ///     .await?;
    /// assert_eq!((row.on_hand, row.damaged, row.available()), (10, 2, 8));
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::SameStockState`]; unknown SKU or location;
    /// [`DomainError::InsufficientStock`] when more sellable units are taken than are
    /// available (held units cannot be set aside), [`DomainError::InsufficientInState`]
    /// when more leave a state than it holds; [`DomainError::Overflow`]; storage errors.
    pub async fn change_state(
        &self,
        sku: Sku,
        location: LocationId,
        from: StockState,
        to: StockState,
        quantity: Quantity,
    ) -> Result<StockLevel> {
        let key = StockKey::new(sku, location);
        self.apply(StockMovement::ChangeState {
            key,
            from,
            to,
            quantity,
        })
        .await
    }

    /// Corrects `on_hand` by `delta` units, with a reason for the ledger. A decrease may
    /// take only available units, never promised ones.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidQuantity`] for a zero delta, [`DomainError::InvalidReason`]
    /// for an empty or malformed reason, unknown SKU or location,
    /// [`DomainError::InsufficientStock`], [`DomainError::Overflow`]; storage errors.
    pub async fn adjust(
        &self,
        sku: Sku,
        location: LocationId,
        delta: i64,
        reason: impl Into<String>,
    ) -> Result<StockLevel> {
        let key = StockKey::new(sku, location);
        let reason = reason.into();
        self.apply(StockMovement::Adjust { key, delta, reason })
            .await
    }

    /// Applies a stock movement at most once per `idempotency_key`: a retry of the same
    /// request returns the row as the first run left it and changes nothing.
    ///
    /// ```
    /// use inventory_core::decide::StockMovement;
    /// use inventory_core::{IdempotencyKey, Inventory, LocationId, MemoryStore, Quantity, Sku,
    ///     StockKey};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let row = StockKey::new(Sku::new("TEE")?, LocationId::new("main")?);
    /// let receipt = StockMovement::Receive { key: row, quantity: Quantity::new(12)? };
    /// let asn = IdempotencyKey::new("ASN-2026-0042")?;
    /// let first = inventory.once(asn.clone(), receipt.clone()).await?;
    /// let retry = inventory.once(asn, receipt).await?; // the client timed out and retried
    /// assert_eq!((first.on_hand, retry.on_hand), (12, 12));
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::IdempotencyKeyReused`] when the key was used for a different
    /// movement, and the movement's own errors; storage errors.
    pub async fn once(
        &self,
        idempotency_key: IdempotencyKey,
        stock_movement: StockMovement,
    ) -> Result<StockLevel> {
        let plan = LoadPlan::keyed(&stock_movement, &idempotency_key);
        self.run(plan, move |draft| {
            keyed::once(draft, &idempotency_key, &stock_movement)
        })
        .await
    }

    /// Sets absolute on-hand numbers for many rows in one transaction (a stocktake
    /// import, an ERP sync): every row whose `expected_on_hand` still holds, or none.
    /// Reserved, committed, in-transit and unavailable units are never moved; a row set
    /// below what is promised reports its shortage. With an `idempotency_key`, the same
    /// set again answers as the first time and writes nothing.
    ///
    /// ```
    /// use inventory_core::{BulkSet, DomainError, Error, Inventory, LocationId, MemoryStore,
    ///     Quantity, SetRow, Sku, StockKey};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let row = StockKey::new(Sku::new("MUG")?, LocationId::new("main")?);
    /// inventory.receive(row.sku.clone(), row.location.clone(), Quantity::new(10)?).await?;
    /// let import = |expected| BulkSet {
    ///     reason: "stocktake".into(),
    ///     reference: Some("stocktake:2026-12".into()),
    ///     actor: None,
    ///     rows: vec![SetRow { key: row.clone(), on_hand: 8, expected_on_hand: Some(expected) }],
    /// };
    /// // The import was read when the shelf held 9: stale, nothing is set.
    /// let stale = inventory.set(import(9), None).await.unwrap_err();
    /// assert!(matches!(stale, Error::Domain(DomainError::StaleExpectations { .. })));
    /// let set = inventory.set(import(10), None).await?;
    /// assert_eq!(set[0].level.on_hand, 8);
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::StaleExpectations`] naming every stale row with what it holds;
    /// [`DomainError::InvalidBulkSet`], [`DomainError::InvalidQuantity`],
    /// [`DomainError::InvalidReason`], [`DomainError::InvalidReference`],
    /// [`DomainError::InvalidActor`] for a malformed set;
    /// [`DomainError::IdempotencyKeyReused`]; [`DomainError::Overflow`]; storage errors.
    pub async fn set(
        &self,
        set: BulkSet,
        idempotency_key: Option<IdempotencyKey>,
    ) -> Result<Vec<SetResult>> {
        let plan = LoadPlan::set(&set, idempotency_key.as_ref());
        self.run(plan, move |draft| {
            crate::decide::set::bulk_set(draft, &set, idempotency_key.as_ref())
        })
        .await
    }

    /// Ships a transfer between two locations in one transaction: the units leave the
    /// source's sellable stock (never its held or set-aside units) and enter the
    /// destination's transit. Channels selling from the source see the drop now, the
    /// destination's see the rise at receipt. Under an idempotency key the transfer's
    /// id is derived from the key, so a retry answers the same transfer.
    ///
    /// ```
    /// use inventory_core::{Inventory, LocationId, MemoryStore, Quantity, Sku, TransferRequest,
    ///     TransferStatus};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let (mug, warehouse, shop) = (Sku::new("MUG")?, LocationId::new("warehouse")?,
    ///     LocationId::new("shop")?);
    /// inventory.receive(mug.clone(), warehouse.clone(), Quantity::new(20)?).await?;
    /// let request = TransferRequest {
    ///     sku: mug.clone(),
    ///     from: warehouse,
    ///     to: shop,
    ///     quantity: Quantity::new(8)?,
    ///     idempotency_key: None,
    /// };
    /// let transfer = inventory.ship_transfer(request).await?;
    /// inventory.receive_transfer(transfer.id, Some(Quantity::new(5)?), None).await?;
    /// // Three never arrived: closing writes them off.
    /// let closed = inventory.close_transfer(transfer.id).await?;
    /// assert_eq!((closed.status, closed.received, closed.written_off),
    ///     (TransferStatus::Closed, 5, 3));
    /// assert_eq!(inventory.stock(&mug).await?.total.on_hand, 17);
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidTransfer`] from a location to itself, unknown SKU or
    /// source location, [`DomainError::InsufficientStock`] at the source,
    /// [`DomainError::SkuFrozen`], [`DomainError::IdempotencyKeyReused`],
    /// [`DomainError::Overflow`]; storage errors.
    pub async fn ship_transfer(&self, request: TransferRequest) -> Result<Transfer> {
        let id = request
            .idempotency_key
            .as_ref()
            .map_or_else(TransferId::random, TransferId::for_key);
        let plan = LoadPlan::ship_transfer(id, &request);
        self.run(plan, move |draft| {
            crate::decide::transfer::ship(draft, id, &request)
        })
        .await
    }

    /// Receives `quantity` units of a transfer at its destination (everything still
    /// outstanding when `None`): from its transit to its shelf. A transfer whose every
    /// unit arrived is `received`. Under an idempotency key a receipt is applied once.
    ///
    /// # Errors
    ///
    /// [`DomainError::TransferNotFound`], [`DomainError::InvalidTransferState`] unless
    /// in transit, [`DomainError::InsufficientInTransit`] beyond what is outstanding,
    /// [`DomainError::IdempotencyKeyReused`]; storage errors.
    pub async fn receive_transfer(
        &self,
        id: TransferId,
        quantity: Option<Quantity>,
        idempotency_key: Option<IdempotencyKey>,
    ) -> Result<Transfer> {
        let plan = LoadPlan::transfer(id, idempotency_key.as_ref());
        self.run(plan, move |draft| {
            crate::decide::transfer::receive(draft, &id, quantity, idempotency_key.as_ref())
        })
        .await
    }

    /// Closes a transfer in transit: what never arrived is written off the
    /// destination's transit, with a ledger entry saying so. Closing a closed transfer
    /// answers it unchanged.
    ///
    /// # Errors
    ///
    /// [`DomainError::TransferNotFound`], [`DomainError::InvalidTransferState`] for a
    /// received transfer; storage errors.
    pub async fn close_transfer(&self, id: TransferId) -> Result<Transfer> {
        self.run(LoadPlan::transfer(id, None), move |draft| {
            crate::decide::transfer::close(draft, &id)
        })
        .await
    }

    /// The transfer with this id.
    ///
    /// # Errors
    ///
    /// [`DomainError::TransferNotFound`]; storage errors.
    pub async fn transfer(&self, id: TransferId) -> Result<Transfer> {
        self.read(|store| store.transfer(&id))
            .await?
            .ok_or_else(|| DomainError::TransferNotFound { id }.into())
    }

    /// Holds stock for an order, all lines or none. The same request again returns the
    /// same reservation with `created: false`.
    ///
    /// # Errors
    ///
    /// [`DomainError::InsufficientStock`], unknown SKU or location,
    /// [`DomainError::IdempotencyConflict`] for a different request under a used order
    /// id, [`DomainError::EmptyOrder`], [`DomainError::TooManyLines`],
    /// [`DomainError::NegativePrice`], [`DomainError::PriorityListSize`],
    /// [`DomainError::InvalidTtl`]; storage errors.
    pub async fn reserve(&self, mut request: ReserveRequest) -> Result<ReserveResult> {
        request.ttl.get_or_insert(self.default_ttl);
        let plan = LoadPlan::reserve(&request);
        let reserved: ReserveResult = self
            .run(plan, move |draft| reserve::reserve(draft, &request))
            .await?;
        if reserved.created && reserved.reservation.status == ReservationStatus::Active {
            self.expiry.hold_until(reserved.reservation.expires_at);
        }
        Ok(reserved)
    }

    /// Holds an active reservation until `now + ttl` (never shortens it).
    ///
    /// # Errors
    ///
    /// [`DomainError::ReservationNotFound`], [`DomainError::InvalidState`],
    /// [`DomainError::Expired`], [`DomainError::InvalidTtl`]; storage errors.
    pub async fn extend(&self, id: ReservationId, ttl: Duration) -> Result<Reservation> {
        self.run(LoadPlan::reservation(id), move |draft| {
            lifecycle::extend(draft, &id, ttl)
        })
        .await
    }

    /// Starts picking an active hold: its units move from reserved to committed.
    ///
    /// # Errors
    ///
    /// [`DomainError::ReservationNotFound`], [`DomainError::InvalidState`],
    /// [`DomainError::Expired`]; storage errors.
    pub async fn commit(&self, id: ReservationId) -> Result<Reservation> {
        self.run(LoadPlan::reservation(id), move |draft| {
            lifecycle::commit(draft, &id)
        })
        .await
    }

    /// Ships a committed reservation: its units leave committed and on hand.
    ///
    /// # Errors
    ///
    /// [`DomainError::ReservationNotFound`], [`DomainError::InvalidState`]; storage errors.
    pub async fn ship(&self, id: ReservationId) -> Result<Reservation> {
        self.run(LoadPlan::reservation(id), move |draft| {
            lifecycle::ship(draft, &id)
        })
        .await
    }

    /// Fulfils an order in one transaction: an active hold is committed and shipped, a
    /// committed reservation shipped. No crash can leave it committed but not shipped.
    ///
    /// # Errors
    ///
    /// [`DomainError::ReservationNotFound`], [`DomainError::InvalidState`] (shipped,
    /// released), [`DomainError::Expired`]; storage errors.
    pub async fn fulfil(&self, id: ReservationId) -> Result<Reservation> {
        self.run(LoadPlan::reservation(id), move |draft| {
            lifecycle::fulfil(draft, &id)
        })
        .await
    }

    /// Ships part of an order (a fulfilment of some lines): the units named leave the
    /// shelf (committed and shipped at once from an active hold), the rest stays held
    /// as it was. A line naming a bundle the order holds ships its components. Once
    /// nothing is left held, the reservation is shipped. Applied once per key: the
    /// same key again answers the reservation and ships nothing more.
    ///
    /// ```
    /// use inventory_core::{IdempotencyKey, Inventory, LocationId, MemoryStore, OrderId,
    ///     OrderLine, PartLine, PartRequest, Quantity, ReservationStatus, ReserveRequest, Sku};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let (mug, main) = (Sku::new("MUG")?, LocationId::new("main")?);
    /// inventory.receive(mug.clone(), main, Quantity::new(10)?).await?;
    /// let order = OrderId::new("#1001")?;
    /// let lines = vec![OrderLine::new(mug.clone(), Quantity::new(3)?)];
    /// inventory.reserve(ReserveRequest::new(order.clone(), lines)).await?;
    ///
    /// let first = PartLine::new(mug.clone(), Quantity::new(2)?);
    /// let key = IdempotencyKey::new("fulfillment-1")?;
    /// let request = PartRequest::new(order.clone(), vec![first], key);
    /// let part = inventory.ship_part(request.clone()).await?;
    /// assert_eq!(part.status, ReservationStatus::Active, "one unit still held");
    /// inventory.ship_part(request).await?; // a redelivery ships nothing more
    /// let row = &inventory.stock(&mug).await?.locations[0].level;
    /// assert_eq!((row.on_hand, row.reserved), (8, 1));
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::ReservationNotFound`], [`DomainError::InvalidState`] unless active
    /// or committed, [`DomainError::Expired`], [`DomainError::ExceedsOrder`] for more
    /// than is held on the shelf, [`DomainError::EmptyOrder`],
    /// [`DomainError::TooManyLines`], [`DomainError::IdempotencyKeyReused`] for a key
    /// another request used; storage errors.
    pub async fn ship_part(&self, request: PartRequest) -> Result<Reservation> {
        self.run(LoadPlan::part(&request), move |draft| {
            crate::decide::part::ship(draft, &request)
        })
        .await
    }

    /// Releases part of an order (a refund of unshipped units, an order edit that
    /// removes some): backordered units of a line are cancelled first, then held ones
    /// become available; the rest stays held. Once nothing is left held, the
    /// reservation is shipped if anything shipped, else released. Applied once per key.
    ///
    /// # Errors
    ///
    /// As [`Inventory::ship_part`], with [`DomainError::ExceedsOrder`] for more than is
    /// held or backordered; an active hold past its time may still be released.
    pub async fn release_part(&self, request: PartRequest) -> Result<Reservation> {
        self.run(LoadPlan::part(&request), move |draft| {
            crate::decide::part::release(draft, &request)
        })
        .await
    }

    /// Adds lines to an order's active or committed reservation (an order edit that
    /// adds items): allocated as the order's own lines were (its strategy and split), all
    /// or nothing, with the order's bundles and backorder rules; held units are reserved,
    /// and committed at once for a committed reservation. Applied once per key (the
    /// edit's id). Lines an edit removes are given back with
    /// [`Inventory::release_part`].
    ///
    /// # Errors
    ///
    /// [`DomainError::ReservationNotFound`], [`DomainError::InvalidState`] unless active
    /// or committed, [`DomainError::Expired`], the errors of
    /// [`Inventory::reserve`] for the new lines ([`DomainError::InsufficientStock`],
    /// [`DomainError::SkuFrozen`], [`DomainError::TooManyLines`] past
    /// [`ORDER_LINES_MAX`](crate::ORDER_LINES_MAX) lines in all, ...),
    /// [`DomainError::Backordered`] for a committed reservation that would owe units,
    /// [`DomainError::IdempotencyKeyReused`]; storage errors.
    pub async fn add_lines(&self, request: AddRequest) -> Result<Reservation> {
        self.run(LoadPlan::add_lines(&request), move |draft| {
            crate::decide::part::add(draft, &request)
        })
        .await
    }

    /// Records a customer return of a shipped order: each line's units come back to the
    /// shelf as its disposition says (sellable, damaged, in quality control) or are
    /// written off, every line in the ledger linked to the order. Never more of a SKU
    /// than the order shipped, over all its returns. Under an idempotency key the same
    /// return is recorded once. Answers the reservation with every return so far.
    ///
    /// ```
    /// use inventory_core::{Disposition, Inventory, LocationId, MemoryStore, OrderId,
    ///     OrderLine, Quantity, ReserveRequest, ReturnLine, ReturnRequest, Sku};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let (mug, main) = (Sku::new("MUG")?, LocationId::new("main")?);
    /// inventory.receive(mug.clone(), main.clone(), Quantity::new(5)?).await?;
    /// let order = OrderId::new("#1001")?;
    /// let lines = vec![OrderLine::new(mug.clone(), Quantity::new(2)?)];
    /// let hold = inventory.reserve(ReserveRequest::new(order.clone(), lines)).await?;
    /// inventory.fulfil(hold.reservation.id).await?;
    ///
    /// let back = |disposition| ReturnLine {
    ///     sku: mug.clone(),
    ///     quantity: Quantity::new(1).unwrap(),
    ///     disposition,
    ///     location: None, // where it shipped from
    /// };
    /// let lines = vec![back(Disposition::Restock), back(Disposition::Damaged)];
    /// inventory.record_return(ReturnRequest::new(order, lines)).await?;
    /// let row = &inventory.stock(&mug).await?.locations[0].level;
    /// assert_eq!((row.on_hand, row.damaged, row.available()), (5, 1, 4));
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::ReservationNotFound`] for an unknown order,
    /// [`DomainError::InvalidState`] unless it shipped (whole, or in part by
    /// [`Inventory::ship_part`]), [`DomainError::OverReturn`],
    /// [`DomainError::InvalidReturn`] for no line or too many,
    /// [`DomainError::IdempotencyKeyReused`] for another return under a used key,
    /// [`DomainError::Overflow`]; storage errors.
    pub async fn record_return(&self, request: ReturnRequest) -> Result<Reservation> {
        let plan = LoadPlan::reservation(ReservationId::for_order(&request.order_id));
        self.run(plan, move |draft| {
            crate::decide::returns::record(draft, &request)
        })
        .await
    }

    /// Cancels an active or committed reservation; its units are available again.
    ///
    /// # Errors
    ///
    /// [`DomainError::ReservationNotFound`], [`DomainError::InvalidState`]; storage errors.
    pub async fn release(&self, id: ReservationId) -> Result<Reservation> {
        self.run(LoadPlan::reservation(id), move |draft| {
            lifecycle::release(draft, &id)
        })
        .await
    }

    /// Expires up to `limit` holds whose time has run out; returns their ids.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub async fn expire_due(&self, limit: usize) -> Result<Vec<ReservationId>> {
        self.run(LoadPlan::due(limit), move |draft| {
            lifecycle::expire_due(draft, limit)
        })
        .await
    }

    /// A SKU's stock at every location, with totals.
    ///
    /// # Errors
    ///
    /// [`DomainError::UnknownSku`] when it has no row; [`DomainError::Overflow`] when a
    /// total passes `i64::MAX`; storage errors.
    pub async fn stock(&self, sku: &Sku) -> Result<SkuStock> {
        let rows = self.read(|store| store.stock(sku)).await?;
        if rows.is_empty() {
            return Err(DomainError::UnknownSku { sku: sku.clone() }.into());
        }
        Ok(SkuStock::from_rows(sku.clone(), rows)?)
    }

    /// The reservation with this id.
    ///
    /// # Errors
    ///
    /// [`DomainError::ReservationNotFound`]; storage errors.
    pub async fn reservation(&self, id: ReservationId) -> Result<Reservation> {
        self.read(|store| store.reservation(&id))
            .await?
            .ok_or_else(|| DomainError::ReservationNotFound { id }.into())
    }

    /// This inventory's copy of the catalog (checked against the store as
    /// [`with_catalog_recheck`](Self::with_catalog_recheck) says).
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub async fn catalog(&self) -> Result<Arc<Catalog>> {
        Ok(self.catalog.current(self.store()).await?)
    }

    /// The catalog copy, for the crate's readers that answer storage errors.
    pub(crate) async fn current_catalog(&self) -> std::result::Result<Arc<Catalog>, StoreError> {
        self.catalog.current(self.store()).await
    }

    /// Defines `sku` as a bundle (kit) of `components`, or redefines it: the bundle
    /// holds no stock of its own, its available is derived from its components' (see
    /// [`bundle_stock`](Self::bundle_stock)), and reserving it reserves its components
    /// as one all-or-nothing unit (each reservation keeps the composition it was made
    /// with). Answers the components as stored, ordered by SKU.
    ///
    /// ```
    /// use inventory_core::catalog::BundleComponent;
    /// use inventory_core::{Inventory, LocationId, MemoryStore, OrderId, OrderLine, Quantity,
    ///     ReserveRequest, Sku};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let (mug, tea, gift) = (Sku::new("MUG")?, Sku::new("TEA")?, Sku::new("GIFT-SET")?);
    /// let main = LocationId::new("main")?;
    /// inventory.receive(mug.clone(), main.clone(), Quantity::new(3)?).await?;
    /// inventory.receive(tea.clone(), main.clone(), Quantity::new(5)?).await?;
    /// let part = |sku: &Sku, units| BundleComponent::new(sku.clone(), Quantity::new(units).unwrap());
    /// inventory.define_bundle(gift.clone(), vec![part(&mug, 1), part(&tea, 2)]).await?;
    /// // 3 mugs, 5 tea: 2 gift sets (tea runs out first).
    /// assert_eq!(inventory.bundle_stock(&gift).await?.unwrap().available, 2);
    ///
    /// let order = ReserveRequest::new(OrderId::new("#7")?, vec![OrderLine::new(gift.clone(), Quantity::new(2)?)]);
    /// let hold = inventory.reserve(order).await?;
    /// assert_eq!(hold.reservation.lines.len(), 2, "one line per component");
    /// assert_eq!(inventory.stock(&tea).await?.total.available(), 1);
    /// assert_eq!(inventory.bundle_stock(&gift).await?.unwrap().available, 0);
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidBundle`]: no component or more than
    /// [`BUNDLE_COMPONENTS_MAX`](crate::catalog::BUNDLE_COMPONENTS_MAX), a component
    /// named twice or the bundle itself, a component that is a bundle, a SKU that is a
    /// component of another bundle, a SKU with stock rows, a backorder policy or a
    /// low-stock threshold; storage errors.
    pub async fn define_bundle(
        &self,
        sku: Sku,
        components: Vec<BundleComponent>,
    ) -> Result<Vec<BundleComponent>> {
        let settings = self
            .change_settings(&sku, |catalog, has_stock| {
                let components = catalog.check_bundle(&sku, components.clone())?;
                let settings = catalog.settings(&sku);
                let problem = match settings {
                    Some(settings) if settings.backorder.is_some() => {
                        Some(BundleProblem::BackorderPolicy)
                    }
                    Some(settings) if settings.low_stock.is_some() => {
                        Some(BundleProblem::LowStockThreshold)
                    }
                    _ => None,
                };
                if let Some(problem) = problem {
                    return Err(DomainError::InvalidBundle {
                        sku: sku.clone(),
                        problem,
                    });
                }
                if has_stock {
                    return Err(DomainError::InvalidBundle {
                        sku: sku.clone(),
                        problem: BundleProblem::HasStock,
                    });
                }
                let mut settings = catalog.settings(&sku).cloned().unwrap_or_default();
                settings.bundle = components;
                Ok(settings)
            })
            .await?;
        Ok(settings.bundle)
    }

    /// Lets `sku` be sold beyond available, up to `limit` backordered units at each
    /// location (or stops it, with `None`). A line no location can fill then takes
    /// the available units of the first location able to (available and room together)
    /// and backorders the rest there: `reserved` counts only the units held, the row's
    /// `backordered` the units owed. Arrivals at the row (receipts, transfer and
    /// purchase-order receipts, restocking returns, released holds, anything that
    /// makes units available) cover the backorders first, oldest hold first, in the same
    /// transaction; a hold with units still backordered cannot be committed. Channels
    /// are told only units that exist unless their policy says otherwise
    /// ([`ChannelPolicy::with_backorders`](crate::sync::ChannelPolicy::with_backorders)).
    ///
    /// ```
    /// use inventory_core::catalog::BackorderLimit;
    /// use inventory_core::{Inventory, LocationId, MemoryStore, OrderId, OrderLine, Quantity,
    ///     ReserveRequest, Sku};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::new());
    /// let (tee, main) = (Sku::new("TEE")?, LocationId::new("main")?);
    /// inventory.receive(tee.clone(), main.clone(), Quantity::new(2)?).await?;
    /// inventory.set_backorder_limit(tee.clone(), Some(BackorderLimit::Units(50))).await?;
    ///
    /// let order = ReserveRequest::new(OrderId::new("#9")?, vec![OrderLine::new(tee.clone(), Quantity::new(5)?)]);
    /// let hold = inventory.reserve(order).await?.reservation;
    /// assert_eq!(hold.lines[0].backordered, 3, "2 held, 3 owed");
    /// assert!(inventory.commit(hold.id).await.is_err(), "it waits for its units");
    ///
    /// inventory.receive(tee.clone(), main.clone(), Quantity::new(10)?).await?;
    /// let row = &inventory.stock(&tee).await?.locations[0].level;
    /// assert_eq!((row.reserved, row.backordered, row.available()), (5, 0, 7));
    /// inventory.commit(hold.id).await?;
    /// # Ok::<(), inventory_core::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidBackorderLimit`] for a limit under one unit;
    /// [`DomainError::InvalidBundle`] for a bundle (its components carry the policy);
    /// storage errors.
    pub async fn set_backorder_limit(
        &self,
        sku: Sku,
        limit: Option<BackorderLimit>,
    ) -> Result<Option<BackorderLimit>> {
        let settings = self.change_policy(sku, Some(limit), None).await?;
        Ok(settings.backorder)
    }

    /// Sets `sku`'s whole selling policy in one change: its backorder limit (see
    /// [`set_backorder_limit`](Self::set_backorder_limit)) and its low-stock threshold
    /// (see [`set_low_stock`](Self::set_low_stock)); `None` turns either off. Both are
    /// checked before anything is written. Answers what is stored.
    ///
    /// # Errors
    ///
    /// As the two setters; storage errors.
    pub async fn set_policy(
        &self,
        sku: Sku,
        backorder: Option<BackorderLimit>,
        low_stock: Option<crate::events::LowStock>,
    ) -> Result<(Option<BackorderLimit>, Option<crate::events::LowStock>)> {
        let settings = self
            .change_policy(sku, Some(backorder), Some(low_stock))
            .await?;
        Ok((settings.backorder, settings.low_stock))
    }

    /// Changes the parts of `sku`'s policy given (`None` keeps a part as it is), after
    /// checking them, in one catalog change.
    async fn change_policy(
        &self,
        sku: Sku,
        backorder: Option<Option<BackorderLimit>>,
        low_stock: Option<Option<crate::events::LowStock>>,
    ) -> Result<SkuSettings> {
        let backorder = backorder
            .map(|limit| limit.map(|limit| limit.checked(&sku)).transpose())
            .transpose()?;
        let low_stock = low_stock
            .map(|low| low.map(LowStock::checked).transpose())
            .transpose()?;
        self.change_settings(&sku, |catalog, _| {
            let mut settings = catalog.settings(&sku).cloned().unwrap_or_default();
            if let Some(backorder) = backorder {
                if backorder.is_some() && catalog.bundle(&sku).is_some() {
                    return Err(DomainError::InvalidBundle {
                        sku: sku.clone(),
                        problem: BundleProblem::BackorderPolicy,
                    });
                }
                settings.backorder = backorder;
            }
            if let Some(low_stock) = low_stock {
                if low_stock.is_some() && catalog.bundle(&sku).is_some() {
                    return Err(DomainError::InvalidBundle {
                        sku: sku.clone(),
                        problem: BundleProblem::LowStockThreshold,
                    });
                }
                if low_stock.map(|low| low.threshold) != Some(Threshold::ReorderPoint) {
                    // A point is kept only while the threshold follows it.
                    settings.reorder_point = None;
                }
                settings.low_stock = low_stock;
            }
            Ok(settings)
        })
        .await
    }

    /// Sets (or, with `None`, removes) `sku`'s low-stock threshold: from now on, a
    /// command that takes its measure to or below the threshold raises one
    /// [`StockEventKind::Low`](crate::events::StockEventKind::Low) event in its own
    /// transaction, and one that takes it back above raises
    /// [`StockEventKind::Recovered`](crate::events::StockEventKind::Recovered); an
    /// [`EventWorker`](crate::events::EventWorker) delivers them. The threshold is a
    /// number of units, or the SKU's reorder point
    /// ([`Threshold::ReorderPoint`](crate::events::Threshold::ReorderPoint)), which each
    /// reorder run keeps current. A change of threshold that makes the SKU low (or no
    /// longer low) with its stock as it is raises that event at once. Answers the
    /// threshold stored.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] for a negative threshold,
    /// [`DomainError::InvalidBundle`] for a bundle (its components carry thresholds);
    /// storage errors.
    pub async fn set_low_stock(
        &self,
        sku: Sku,
        low_stock: Option<crate::events::LowStock>,
    ) -> Result<Option<crate::events::LowStock>> {
        let settings = self.change_policy(sku, None, Some(low_stock)).await?;
        Ok(settings.low_stock)
    }

    /// Records `points`, each SKU's reorder point as a reorder run computed it (`None`
    /// when it has none), for the SKUs whose low-stock threshold follows it: each point
    /// that moved is one catalog change, which raises the event the move makes true.
    pub(crate) async fn record_reorder_points(&self, points: &[(Sku, Option<i64>)]) -> Result<()> {
        let catalog = self.catalog().await?;
        let follows = |catalog: &Catalog, sku: &Sku| {
            catalog
                .settings(sku)
                .filter(|settings| {
                    settings.low_stock.map(|low| low.threshold) == Some(Threshold::ReorderPoint)
                })
                .cloned()
        };
        for (sku, point) in points {
            match follows(&catalog, sku) {
                Some(settings) if settings.reorder_point != *point => {}
                _ => continue,
            }
            self.change_settings(sku, |catalog, _| {
                let mut settings = catalog.settings(sku).cloned().unwrap_or_default();
                if follows(catalog, sku).is_some() {
                    settings.reorder_point = *point;
                }
                Ok(settings)
            })
            .await?;
        }
        Ok(())
    }

    /// Ends `sku`'s definition as a bundle: reservations made of it keep their
    /// component lines. Answers whether it was a bundle.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub async fn remove_bundle(&self, sku: &Sku) -> Result<bool> {
        if self
            .read(|store| store.catalog())
            .await?
            .bundle(sku)
            .is_none()
        {
            return Ok(false);
        }
        self.change_settings(sku, |catalog, _| {
            let mut settings = catalog.settings(sku).cloned().unwrap_or_default();
            settings.bundle = Vec::new();
            Ok(settings)
        })
        .await?;
        Ok(true)
    }

    /// The units of bundle `sku` available, per location and in total, from its
    /// components' stock now; `None` when `sku` is not a bundle.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub async fn bundle_stock(&self, sku: &Sku) -> Result<Option<BundleStock>> {
        let catalog = self.catalog().await?;
        let Some(components) = catalog.bundle(sku) else {
            return Ok(None);
        };
        let mut rows = std::collections::BTreeMap::new();
        for component in components {
            let found = self.read(|store| store.stock(&component.sku)).await?;
            rows.insert(component.sku.clone(), found);
        }
        Ok(Some(bundle_available(sku, components, &rows)))
    }

    /// Writes the settings `decide` makes of the stored catalog (and whether `sku` has
    /// stock rows), over the version it read: run again when another change got in
    /// first.
    async fn change_settings(
        &self,
        sku: &Sku,
        decide: impl Fn(&Catalog, bool) -> std::result::Result<SkuSettings, DomainError>,
    ) -> Result<SkuSettings> {
        let mut attempt = 1;
        loop {
            let catalog = self.read(|store| store.catalog()).await?;
            let has_stock = !self.read(|store| store.stock(sku)).await?.is_empty();
            let settings = decide(&catalog, has_stock)?;
            let checked = std::time::Instant::now();
            match self
                .store()
                .put_sku_settings(sku, &settings, catalog.version())
                .await
            {
                Ok(version) => {
                    let old = catalog.settings(sku).and_then(SkuSettings::low_stock_watch);
                    let new = settings.low_stock_watch();
                    let changed = catalog.with(sku, settings.clone(), version);
                    self.catalog.keep(Arc::new(changed), checked);
                    if old != new {
                        let name = sku.clone();
                        self.run(LoadPlan::row(sku), move |draft| {
                            crate::events::rewatch(draft, &name, old, new);
                            Ok(())
                        })
                        .await?;
                    }
                    return Ok(settings);
                }
                Err(error) if error.is_transient() => {
                    let Some(delay) = self.runner.retry.delay_after(attempt) else {
                        return Err(error.after_attempts(attempt).into());
                    };
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Runs a read of the store, retried after a transient failure (a dropped
    /// connection, a busy database) as commands are, by this inventory's
    /// [`RetryPolicy`]. The read must be safe to repeat.
    ///
    /// ```
    /// use inventory_core::backend::AuditStore;
    /// use inventory_core::{Inventory, MemoryStore};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let inventory = Inventory::new(MemoryStore::default());
    /// let rows = inventory.read(|store| store.all_stock()).await?;
    /// assert!(rows.is_empty());
    /// # Ok::<(), inventory_core::StoreError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The read's error when it is not transient; [`StoreError::Contention`]
    /// when every run failed transiently.
    pub async fn read<'a, T, F, Fut>(&'a self, read: F) -> std::result::Result<T, StoreError>
    where
        F: Fn(&'a S) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, StoreError>> + 'a,
    {
        let store = self.store();
        self.runner.retry.run(|| read(store)).await
    }
}
