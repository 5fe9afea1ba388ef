//! The pure decision core.
//!
//! [`decide`] takes a [`Command`], the [`Snapshot`] of the rows it names (locked by the
//! backend) and the current time, and returns a [`Decision`]: the [`Outcome`] for the
//! caller and the [`Changes`] to persist. It performs no I/O, reads no clock and draws
//! no random numbers, so every backend behaves identically and every rule can be tested
//! without a database.
//!
//! ```
//! use chrono::Utc;
//! use inventory_core::decide::{decide, Command, Outcome, Snapshot, StockMovement};
//! use inventory_core::{LocationId, Quantity, Sku, StockKey};
//!
//! let key = StockKey::new(Sku::new("MUG")?, LocationId::new("main")?);
//! let command = Command::Move(StockMovement::Receive { key, quantity: Quantity::new(12)? });
//! let decision = decide(&command, &Snapshot::default(), Utc::now())?;
//! assert!(matches!(decision.outcome, Outcome::Stock(level) if level.on_hand == 12));
//! assert_eq!(decision.changes.ledger.len(), 1);
//! # Ok::<(), inventory_core::DomainError>(())
//! ```

pub(crate) mod backorder;
pub(crate) mod count;
pub(crate) mod keyed;
pub(crate) mod lifecycle;
pub(crate) mod movement;
pub(crate) mod part;
pub(crate) mod purchase;
pub(crate) mod reserve;
pub(crate) mod returns;
pub(crate) mod set;
mod snapshot;
pub(crate) mod transfer;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub(crate) use snapshot::Draft;
pub use snapshot::{Changes, Snapshot};

use crate::bulk::{BulkSet, SetResult};
use crate::counting::{CountReport, CountThresholds, Investigation, InvestigationId};
use crate::error::DomainError;
use crate::id::{IdempotencyKey, LocationId, ReservationId, Sku, SupplierId};
use crate::inventory::ReserveResult;
use crate::quantity::Quantity;
use crate::reorder::plan::PlannedOrder;
use crate::reorder::purchase::{PurchaseOrder, PurchaseOrderId};
use crate::reservation::{Reservation, ReserveRequest};
use crate::returns::ReturnRequest;
use crate::shipment::{AddRequest, PartRequest};
use crate::stock::{StockKey, StockLevel, StockState};
use crate::transfer::{Transfer, TransferId, TransferRequest};

/// Most due holds one expiry sweep releases.
pub const EXPIRE_BATCH_MAX: usize = 10_000;

/// A movement of one stock row: the commands that take an idempotency key
/// ([`Command::Once`], [`Inventory::once`](crate::Inventory::once)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "movement")]
pub enum StockMovement {
    /// Units arrive on the shelf.
    Receive {
        /// The row receiving.
        key: StockKey,
        /// Units received.
        quantity: Quantity,
    },
    /// Units leave a supplier for a location.
    AddInTransit {
        /// The receiving row.
        key: StockKey,
        /// Units shipped by the supplier.
        quantity: Quantity,
    },
    /// Units in transit arrive on the shelf.
    ReceiveInTransit {
        /// The receiving row.
        key: StockKey,
        /// Units arrived.
        quantity: Quantity,
    },
    /// Units on the shelf change state: sellable units are set aside as damaged, in
    /// quality control or as safety stock, or come back, or move between two states.
    /// `on_hand` never changes; sellable units leave only as far as they are available.
    ChangeState {
        /// The row.
        key: StockKey,
        /// The state the units leave.
        from: StockState,
        /// The state they enter.
        to: StockState,
        /// Units moved.
        quantity: Quantity,
    },
    /// `on_hand` is corrected by a signed number of units.
    Adjust {
        /// The row corrected.
        key: StockKey,
        /// Signed change to `on_hand`; never zero.
        delta: i64,
        /// Why, for the ledger.
        reason: String,
    },
}

impl StockMovement {
    /// The row it moves.
    pub fn key(&self) -> &StockKey {
        match self {
            Self::Receive { key, .. }
            | Self::AddInTransit { key, .. }
            | Self::ReceiveInTransit { key, .. }
            | Self::ChangeState { key, .. }
            | Self::Adjust { key, .. } => key,
        }
    }
}

impl From<StockMovement> for Command {
    fn from(movement: StockMovement) -> Self {
        Self::Move(movement)
    }
}

/// Every command the inventory accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    /// A stock movement on one row.
    Move(StockMovement),
    /// Hold stock for an order.
    Reserve {
        /// What to hold.
        request: ReserveRequest,
    },
    /// Lengthen an active hold.
    Extend {
        /// The reservation.
        id: ReservationId,
        /// New hold time from now.
        ttl: Duration,
    },
    /// Start picking an active hold.
    Commit {
        /// The reservation.
        id: ReservationId,
    },
    /// Ship a committed reservation.
    Ship {
        /// The reservation.
        id: ReservationId,
    },
    /// Commit an active hold and ship it, or ship a committed reservation, in one
    /// transaction: an order fulfilled in one go.
    Fulfil {
        /// The reservation.
        id: ReservationId,
    },
    /// Record a customer return of a shipped order.
    Return {
        /// The order and its lines.
        request: ReturnRequest,
    },
    /// Ship part of an order's units, the rest staying held.
    ShipPart {
        /// The order, its lines and the caller's key.
        request: PartRequest,
    },
    /// Give part of an order's units back, the rest staying held.
    ReleasePart {
        /// The order, its lines and the caller's key.
        request: PartRequest,
    },
    /// Add lines to an order's reservation (an order edit).
    AddLines {
        /// The order, the lines and the caller's key.
        request: AddRequest,
    },
    /// Cancel an active or committed reservation.
    Release {
        /// The reservation.
        id: ReservationId,
    },
    /// Expire due holds, the longest overdue first.
    ExpireDue {
        /// Most holds to expire, at most [`EXPIRE_BATCH_MAX`].
        limit: usize,
    },
    /// Add a reorder run's planned lines to each supplier's open draft, or raise one.
    RaisePurchaseOrders {
        /// One planned order per supplier.
        orders: Vec<PlannedOrder>,
        /// Where new orders are delivered.
        location: LocationId,
    },
    /// Send a draft purchase order.
    SendPurchaseOrder {
        /// The order.
        id: PurchaseOrderId,
    },
    /// The supplier shipped: the order's units are in transit.
    ShipPurchaseOrder {
        /// The order.
        id: PurchaseOrderId,
    },
    /// Units of a shipped order arrived.
    ReceivePurchaseOrder {
        /// The order.
        id: PurchaseOrderId,
        /// Units received per SKU.
        lines: Vec<(Sku, Quantity)>,
    },
    /// Receive every unit still expected on a shipped order, in one transaction.
    ReceiveOutstanding {
        /// The order.
        id: PurchaseOrderId,
    },
    /// Close a received or partly received order.
    ClosePurchaseOrder {
        /// The order.
        id: PurchaseOrderId,
    },
    /// Withdraw a draft or sent order.
    CancelPurchaseOrder {
        /// The order.
        id: PurchaseOrderId,
    },
    /// A stock movement applied at most once per key: the same movement under a used
    /// key returns the row as that movement left it and writes nothing; a different one
    /// is refused with [`DomainError::IdempotencyKeyReused`].
    Once {
        /// The caller's key for this movement.
        idempotency_key: IdempotencyKey,
        /// The movement.
        movement: StockMovement,
    },
    /// Set absolute on-hand numbers for many rows, all or none, each row optionally
    /// guarded by the on hand it expects to replace; once per key when one is given.
    Set {
        /// The rows and why.
        set: BulkSet,
        /// The caller's key: the same set again answers alike and writes nothing.
        idempotency_key: Option<IdempotencyKey>,
    },
    /// Ship a transfer between two locations.
    ShipTransfer {
        /// The transfer's id (derived from the request's key when it has one).
        id: TransferId,
        /// What to ship.
        request: TransferRequest,
    },
    /// Receive units of a transfer at its destination.
    ReceiveTransfer {
        /// The transfer.
        id: TransferId,
        /// Units received; everything outstanding when `None`.
        quantity: Option<Quantity>,
        /// The caller's key for this receipt.
        idempotency_key: Option<IdempotencyKey>,
    },
    /// Close a transfer early, writing off what never arrived.
    CloseTransfer {
        /// The transfer.
        id: TransferId,
    },
    /// Record a cycle count: on hand becomes what was found.
    RecordCount {
        /// The row counted.
        key: StockKey,
        /// Units found (zero or more).
        counted: i64,
        /// Who counted.
        counted_by: String,
        /// When to investigate and when to freeze.
        thresholds: CountThresholds,
    },
    /// Resolve an open investigation, after an optional recount; unfreezes its SKU.
    ResolveInvestigation {
        /// The investigation.
        id: InvestigationId,
        /// Units found by a recount of its row, if one was made.
        recount: Option<i64>,
        /// Who resolved it.
        resolved_by: String,
    },
    /// Resolve every open investigation of a SKU in one transaction, each after an
    /// optional recount of its row, so the SKU sells again.
    Unfreeze {
        /// The SKU.
        sku: Sku,
        /// Units found by recounts, per location with an open investigation.
        recounts: BTreeMap<LocationId, i64>,
        /// Who resolved them.
        resolved_by: String,
    },
}

/// What a command returns to its caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// A stock row after a movement.
    Stock(StockLevel),
    /// A reserve: the reservation, and `created: false` for a repeated request.
    Reserve(ReserveResult),
    /// A reservation after a transition.
    Reservation(Reservation),
    /// The holds an expiry sweep ended.
    Expired(Vec<ReservationId>),
    /// Purchase orders raised or changed by a run.
    PurchaseOrders(Vec<PurchaseOrder>),
    /// A purchase order after a transition.
    PurchaseOrder(PurchaseOrder),
    /// A recorded count.
    Counted(CountReport),
    /// A resolved investigation.
    Resolved(Investigation),
    /// Every investigation an unfreeze resolved.
    Unfrozen(Vec<Investigation>),
    /// The rows after a bulk set, in the order given.
    Set(Vec<SetResult>),
    /// A transfer after a leg.
    Transfer(Transfer),
}

/// What a backend must lock and load before deciding a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadPlan {
    /// Reservations named by the command, sorted; their SKUs are loaded too.
    pub reservations: Vec<ReservationId>,
    /// SKUs whose rows (all locations) are loaded.
    pub skus: Vec<Sku>,
    /// Whether active holds past expiry on those SKUs are loaded, for lazy reclaim.
    pub overdue_holds: bool,
    /// Load up to this many due holds (any SKU), for an expiry sweep.
    pub due_holds: Option<usize>,
    /// Purchase orders named by the command, sorted; their SKUs are loaded too.
    pub purchase_orders: Vec<PurchaseOrderId>,
    /// Suppliers whose open draft purchase orders are loaded, sorted.
    pub open_drafts: Vec<SupplierId>,
    /// Investigations named by the command, sorted; their SKUs are loaded too. Open
    /// investigations of every SKU loaded are always loaded (they may freeze it).
    pub investigations: Vec<InvestigationId>,
    /// SKUs whose open (active or committed) reservations are loaded: who is short
    /// after a count.
    pub holders_of: Vec<Sku>,
    /// Idempotency keys whose ledger entries are loaded, sorted; read after the stock
    /// rows are locked, so a concurrent use of the same key for the same row is seen.
    pub idempotency_keys: Vec<IdempotencyKey>,
    /// Transfers named by the command, sorted; their SKUs are loaded too.
    pub transfers: Vec<TransferId>,
    /// SKUs whose open investigations the command resolves, sorted (their rows and
    /// open investigations are loaded through `skus`). Such a plan is read under locks:
    /// resolving need not change a stock row the optimistic write would check.
    pub resolving: Vec<Sku>,
}

impl Command {
    /// What a backend must lock and load to decide this command.
    pub fn plan(&self) -> LoadPlan {
        match self {
            Self::Move(movement) => LoadPlan::row(&movement.key().sku),
            Self::Set {
                set,
                idempotency_key,
            } => LoadPlan::set(set, idempotency_key.as_ref()),
            Self::ShipTransfer { id, request } => LoadPlan::ship_transfer(*id, request),
            Self::ReceiveTransfer {
                id,
                idempotency_key,
                ..
            } => LoadPlan::transfer(*id, idempotency_key.as_ref()),
            Self::CloseTransfer { id } => LoadPlan::transfer(*id, None),
            Self::RecordCount { key, .. } => LoadPlan::count(&key.sku),
            Self::ResolveInvestigation { id, .. } => LoadPlan::investigation(*id),
            Self::Unfreeze { sku, .. } => LoadPlan::unfreeze(sku),
            Self::Reserve { request } => LoadPlan::reserve(request),
            Self::Return { request } => {
                LoadPlan::reservation(ReservationId::for_order(&request.order_id))
            }
            Self::ShipPart { request } | Self::ReleasePart { request } => LoadPlan::part(request),
            Self::AddLines { request } => LoadPlan::add_lines(request),
            Self::Extend { id, .. }
            | Self::Commit { id }
            | Self::Ship { id }
            | Self::Fulfil { id }
            | Self::Release { id } => LoadPlan::reservation(*id),
            Self::ExpireDue { limit } => LoadPlan::due(*limit),
            Self::RaisePurchaseOrders { orders, .. } => LoadPlan::drafts(orders),
            Self::SendPurchaseOrder { id }
            | Self::ShipPurchaseOrder { id }
            | Self::ReceivePurchaseOrder { id, .. }
            | Self::ReceiveOutstanding { id }
            | Self::ClosePurchaseOrder { id }
            | Self::CancelPurchaseOrder { id } => LoadPlan::purchase_order(*id),
            Self::Once {
                idempotency_key,
                movement,
            } => LoadPlan::keyed(movement, idempotency_key),
        }
    }
}

/// The plan of each kind of command, shared by [`Command::plan`] and the typed
/// methods of [`Inventory`](crate::Inventory).
impl LoadPlan {
    pub(crate) fn row(sku: &Sku) -> Self {
        Self {
            skus: vec![sku.clone()],
            ..Self::default()
        }
    }

    pub(crate) fn set(set: &BulkSet, key: Option<&IdempotencyKey>) -> Self {
        let mut skus: Vec<Sku> = set.rows.iter().map(|row| row.key.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        // A retry reads every row's key, and one more to see a longer set under the key.
        let mut idempotency_keys: Vec<IdempotencyKey> = key
            .map(|key| (0..=set.rows.len()).map(|index| key.part(index)).collect())
            .unwrap_or_default();
        idempotency_keys.sort();
        Self {
            skus,
            idempotency_keys,
            ..Self::default()
        }
    }

    pub(crate) fn ship_transfer(id: TransferId, request: &TransferRequest) -> Self {
        Self {
            transfers: vec![id],
            ..Self::row(&request.sku)
        }
    }

    pub(crate) fn transfer(id: TransferId, key: Option<&IdempotencyKey>) -> Self {
        Self {
            transfers: vec![id],
            idempotency_keys: key.into_iter().cloned().collect(),
            ..Self::default()
        }
    }

    pub(crate) fn count(sku: &Sku) -> Self {
        Self {
            skus: vec![sku.clone()],
            holders_of: vec![sku.clone()],
            ..Self::default()
        }
    }

    pub(crate) fn investigation(id: InvestigationId) -> Self {
        Self {
            investigations: vec![id],
            ..Self::default()
        }
    }

    pub(crate) fn unfreeze(sku: &Sku) -> Self {
        Self {
            skus: vec![sku.clone()],
            resolving: vec![sku.clone()],
            ..Self::default()
        }
    }

    pub(crate) fn reserve(request: &ReserveRequest) -> Self {
        let mut skus: Vec<Sku> = request.lines.iter().map(|line| line.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        Self {
            reservations: vec![ReservationId::for_order(&request.order_id)],
            skus,
            overdue_holds: true,
            ..Self::default()
        }
    }

    pub(crate) fn part(request: &PartRequest) -> Self {
        Self {
            reservations: vec![ReservationId::for_order(&request.order_id)],
            idempotency_keys: vec![request.idempotency_key.clone()],
            ..Self::default()
        }
    }

    pub(crate) fn add_lines(request: &AddRequest) -> Self {
        let lines = ReserveRequest::new(request.order_id.clone(), request.lines.clone());
        Self {
            idempotency_keys: vec![request.idempotency_key.clone()],
            ..Self::reserve(&lines)
        }
    }

    pub(crate) fn reservation(id: ReservationId) -> Self {
        Self {
            reservations: vec![id],
            ..Self::default()
        }
    }

    pub(crate) fn due(limit: usize) -> Self {
        Self {
            due_holds: Some(limit.min(EXPIRE_BATCH_MAX)),
            ..Self::default()
        }
    }

    pub(crate) fn drafts(orders: &[PlannedOrder]) -> Self {
        let mut open_drafts: Vec<SupplierId> =
            orders.iter().map(|order| order.supplier.clone()).collect();
        open_drafts.sort();
        open_drafts.dedup();
        Self {
            open_drafts,
            ..Self::default()
        }
    }

    pub(crate) fn purchase_order(id: PurchaseOrderId) -> Self {
        Self {
            purchase_orders: vec![id],
            ..Self::default()
        }
    }

    pub(crate) fn keyed(movement: &StockMovement, key: &IdempotencyKey) -> Self {
        Self {
            idempotency_keys: vec![key.clone()],
            ..Self::row(&movement.key().sku)
        }
    }
}

impl LoadPlan {
    /// Whether a decision on this plan reads only stock rows of its SKUs, reservations,
    /// open investigations of its SKUs and keyed ledger entries, so that an optimistic
    /// unit ([`ReadMode::Optimistic`](crate::backend::ReadMode)) is safe: a write that
    /// finds every stock row and reservation it read unchanged knows the decision still
    /// holds. Open investigations are covered because opening one always changes a
    /// stock row of its SKU (the count's adjustment); a keyed entry written meanwhile
    /// makes the write fail on the key's unique index. Purchase orders, due holds and a
    /// count's holders are read under locks.
    pub fn reads_are_guarded(&self) -> bool {
        self.purchase_orders.is_empty()
            && self.open_drafts.is_empty()
            && self.due_holds.is_none()
            && self.holders_of.is_empty()
            && self.investigations.is_empty()
            && self.resolving.is_empty()
            && self.transfers.is_empty()
    }

    /// One plan that loads everything each of `plans` loads, for a batch of commands
    /// decided on one snapshot.
    pub fn merge(plans: impl IntoIterator<Item = LoadPlan>) -> Self {
        let mut merged = Self::default();
        for plan in plans {
            merged.reservations.extend(plan.reservations);
            merged.skus.extend(plan.skus);
            merged.overdue_holds |= plan.overdue_holds;
            merged.due_holds = merged.due_holds.max(plan.due_holds);
            merged.purchase_orders.extend(plan.purchase_orders);
            merged.open_drafts.extend(plan.open_drafts);
            merged.investigations.extend(plan.investigations);
            merged.holders_of.extend(plan.holders_of);
            merged.resolving.extend(plan.resolving);
            merged.idempotency_keys.extend(plan.idempotency_keys);
            merged.transfers.extend(plan.transfers);
        }
        merged.transfers.sort();
        merged.transfers.dedup();
        merged.idempotency_keys.sort();
        merged.idempotency_keys.dedup();
        merged.holders_of.sort();
        merged.holders_of.dedup();
        merged.resolving.sort();
        merged.resolving.dedup();
        merged.investigations.sort();
        merged.investigations.dedup();
        merged.purchase_orders.sort();
        merged.purchase_orders.dedup();
        merged.open_drafts.sort();
        merged.open_drafts.dedup();
        merged.reservations.sort();
        merged.reservations.dedup();
        merged.skus.sort();
        merged.skus.dedup();
        merged
    }
}

/// A decided command: the caller's outcome and the changes to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What the caller gets.
    pub outcome: Outcome,
    /// What the backend writes, in the same transaction.
    pub changes: Changes,
}

/// Decides `command` against the locked `snapshot` at time `now`.
///
/// # Errors
///
/// The [`DomainError`] of the first rule the command breaks; then nothing is to be
/// written.
pub fn decide(
    command: &Command,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
) -> Result<Decision, DomainError> {
    let (outcome, changes) = decide_with(snapshot, now, |draft| decide_in(draft, command))?;
    Ok(Decision { outcome, changes })
}

/// Runs one typed decision on a draft of `snapshot` at `now`: its value and the
/// changes to persist, after the backorders its arrivals cover and the checks every
/// decision passes ([`totals_fit`]).
pub(crate) fn decide_with<T>(
    snapshot: &Snapshot,
    now: DateTime<Utc>,
    decide: impl FnOnce(&mut Draft<'_>) -> Result<T, DomainError>,
) -> Result<(T, Changes), DomainError> {
    let mut draft = Draft::new(snapshot, now);
    let value = decide(&mut draft)?;
    backorder::cover(&mut draft)?;
    totals_fit(&draft)?;
    draft.mark_changed_available();
    crate::events::raise(&mut draft);
    Ok((value, draft.changes))
}

/// Every SKU whose rows the draft changed keeps totals over its locations that fit an
/// `i64`: on hand and in transit, each summed over every location (reserved and
/// committed are parts of on hand, so their totals fit too). A read of the SKU and the
/// numbers derived from it are computed from these totals, so a command that would make
/// them overflow is refused here instead of making the SKU unreadable later.
fn totals_fit(draft: &Draft<'_>) -> Result<(), DomainError> {
    let mut skus: Vec<&Sku> = draft.changes.stock.keys().map(|key| &key.sku).collect();
    skus.dedup();
    for sku in skus {
        let total = draft.locations_of(sku).values().try_fold(
            (0_i64, 0_i64),
            |(on_hand, in_transit), level| {
                Some((
                    on_hand.checked_add(level.on_hand)?,
                    in_transit.checked_add(level.in_transit)?,
                ))
            },
        );
        if total.is_none() {
            return Err(DomainError::Overflow {
                sku: sku.clone(),
                location: None,
            });
        }
    }
    Ok(())
}

/// Decides `command` on top of what `draft` already holds.
pub(crate) fn decide_in(draft: &mut Draft<'_>, command: &Command) -> Result<Outcome, DomainError> {
    Ok(match command {
        Command::Move(stock_movement) => Outcome::Stock(movement::apply(draft, stock_movement)?),
        Command::Set {
            set,
            idempotency_key,
        } => Outcome::Set(set::bulk_set(draft, set, idempotency_key.as_ref())?),
        Command::ShipTransfer { id, request } => {
            Outcome::Transfer(transfer::ship(draft, *id, request)?)
        }
        Command::ReceiveTransfer {
            id,
            quantity,
            idempotency_key,
        } => Outcome::Transfer(transfer::receive(
            draft,
            id,
            *quantity,
            idempotency_key.as_ref(),
        )?),
        Command::CloseTransfer { id } => Outcome::Transfer(transfer::close(draft, id)?),
        Command::Reserve { request } => Outcome::Reserve(reserve::reserve(draft, request)?),
        Command::Extend { id, ttl } => Outcome::Reservation(lifecycle::extend(draft, id, *ttl)?),
        Command::Commit { id } => Outcome::Reservation(lifecycle::commit(draft, id)?),
        Command::Ship { id } => Outcome::Reservation(lifecycle::ship(draft, id)?),
        Command::Fulfil { id } => Outcome::Reservation(lifecycle::fulfil(draft, id)?),
        Command::Release { id } => Outcome::Reservation(lifecycle::release(draft, id)?),
        Command::Return { request } => Outcome::Reservation(returns::record(draft, request)?),
        Command::ShipPart { request } => Outcome::Reservation(part::ship(draft, request)?),
        Command::ReleasePart { request } => Outcome::Reservation(part::release(draft, request)?),
        Command::AddLines { request } => Outcome::Reservation(part::add(draft, request)?),
        Command::ExpireDue { limit } => Outcome::Expired(lifecycle::expire_due(draft, *limit)?),
        Command::RaisePurchaseOrders { orders, location } => {
            Outcome::PurchaseOrders(purchase::raise(draft, orders, location))
        }
        Command::SendPurchaseOrder { id } => Outcome::PurchaseOrder(purchase::send(draft, id)?),
        Command::ShipPurchaseOrder { id } => Outcome::PurchaseOrder(purchase::ship(draft, id)?),
        Command::ReceivePurchaseOrder { id, lines } => {
            Outcome::PurchaseOrder(purchase::receive(draft, id, lines)?)
        }
        Command::ReceiveOutstanding { id } => {
            Outcome::PurchaseOrder(purchase::receive_outstanding(draft, id)?)
        }
        Command::ClosePurchaseOrder { id } => Outcome::PurchaseOrder(purchase::close(draft, id)?),
        Command::CancelPurchaseOrder { id } => Outcome::PurchaseOrder(purchase::cancel(draft, id)?),
        Command::RecordCount {
            key,
            counted,
            counted_by,
            thresholds,
        } => Outcome::Counted(count::record(draft, key, *counted, counted_by, thresholds)?),
        Command::ResolveInvestigation {
            id,
            recount,
            resolved_by,
        } => Outcome::Resolved(count::resolve(draft, id, *recount, resolved_by)?),
        Command::Unfreeze {
            sku,
            recounts,
            resolved_by,
        } => Outcome::Unfrozen(count::unfreeze(draft, sku, recounts, resolved_by)?),
        Command::Once {
            idempotency_key,
            movement,
        } => Outcome::Stock(keyed::once(draft, idempotency_key, movement)?),
    })
}

#[cfg(test)]
mod tests;
