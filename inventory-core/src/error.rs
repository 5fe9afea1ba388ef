//! Errors in layers: [`DomainError`] for a broken rule, [`StoreError`] for storage
//! failures, and [`Error`] for either.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::bulk::StaleRow;
use crate::counting::InvestigationId;
use crate::id::{
    IdempotencyKey, IdentifierKind, LocationId, OrderId, ReservationId, Sku, SupplierId,
};
use crate::reorder::purchase::{PurchaseOrderId, PurchaseOrderStatus, PurchaseTransition};
use crate::reservation::{ReservationStatus, ReservationTransition};
use crate::stock::StockState;
use crate::transfer::{TransferId, TransferLeg, TransferStatus};

/// A boxed error from a storage driver, kept as the `source` of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A rule refused the command. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// The SKU has no stock row anywhere.
    #[error("unknown sku {sku}")]
    UnknownSku {
        /// The SKU named.
        sku: Sku,
    },
    /// The SKU has no stock row at this location.
    #[error("sku {sku} is not stocked at location {location}")]
    UnknownLocation {
        /// The SKU named.
        sku: Sku,
        /// The location named.
        location: LocationId,
    },
    /// Too few units are available.
    #[error("insufficient stock of {sku}{}: {available} available, {requested} requested",
        .location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default())]
    InsufficientStock {
        /// The SKU.
        sku: Sku,
        /// The location, or `None` when every candidate location was short.
        location: Option<LocationId>,
        /// Units available (summed over candidates when `location` is `None`).
        available: i64,
        /// Units asked for.
        requested: i64,
    },
    /// Fewer units are in transit than a receipt names.
    #[error("only {in_transit} units of {sku} are in transit to {location}, {requested} received")]
    InsufficientInTransit {
        /// The SKU.
        sku: Sku,
        /// The receiving location.
        location: LocationId,
        /// Units in transit.
        in_transit: i64,
        /// Units received.
        requested: i64,
    },
    /// Fewer units are in an unavailable state than a state change takes from it.
    #[error("only {held} units of {sku} at {location} are {state}, {requested} requested")]
    InsufficientInState {
        /// The SKU.
        sku: Sku,
        /// The location.
        location: LocationId,
        /// The state the units were to leave.
        state: StockState,
        /// Units in that state.
        held: i64,
        /// Units asked for.
        requested: i64,
    },
    /// A state change names the same state twice.
    #[error("a state change must move units between two different states, not {state} to {state}")]
    SameStockState {
        /// The state named twice.
        state: StockState,
    },
    /// No reservation has this id.
    #[error("reservation {id} not found")]
    ReservationNotFound {
        /// The id asked for.
        id: ReservationId,
    },
    /// The reservation is not in a state that allows this transition.
    #[error("cannot {wanted} reservation {id}: it is {current}")]
    InvalidState {
        /// The reservation.
        id: ReservationId,
        /// Its state.
        current: ReservationStatus,
        /// What was asked.
        wanted: ReservationTransition,
    },
    /// The hold ran out of time before this transition.
    #[error("reservation {id} expired at {expired_at}")]
    Expired {
        /// The reservation.
        id: ReservationId,
        /// When its hold ended.
        expired_at: DateTime<Utc>,
    },
    /// The order id was already used by a different request.
    #[error("order {order_id} was already reserved with a different request")]
    IdempotencyConflict {
        /// The order id.
        order_id: OrderId,
    },
    /// The idempotency key was already used by a different movement.
    #[error("idempotency key {key} was already used for a different movement")]
    IdempotencyKeyReused {
        /// The key.
        key: IdempotencyKey,
    },
    /// No purchase order has this id.
    #[error("purchase order {id} not found")]
    PurchaseOrderNotFound {
        /// The id asked for.
        id: PurchaseOrderId,
    },
    /// The purchase order is not in a state that allows this transition.
    #[error("cannot {wanted} purchase order {id}: it is {current}")]
    InvalidPurchaseOrderState {
        /// The purchase order.
        id: PurchaseOrderId,
        /// Its state.
        current: PurchaseOrderStatus,
        /// What was asked.
        wanted: PurchaseTransition,
    },
    /// A receipt names more units of a SKU than are still expected on the order (or a
    /// SKU the order does not have).
    #[error("purchase order {id} expects {outstanding} more units of {sku}, {requested} received")]
    ReceiptExceedsOrder {
        /// The purchase order.
        id: PurchaseOrderId,
        /// The SKU.
        sku: Sku,
        /// Units still expected.
        outstanding: i64,
        /// Units received.
        requested: i64,
    },
    /// The SKU is frozen by an open investigation: it takes no reservations.
    #[error("sku {sku} is frozen until its count investigation is resolved")]
    SkuFrozen {
        /// The SKU.
        sku: Sku,
    },
    /// No investigation has this id.
    #[error("investigation {id} not found")]
    InvestigationNotFound {
        /// The id asked for.
        id: InvestigationId,
    },
    /// The SKU has no open investigation to resolve.
    #[error("{sku} has no open investigation")]
    NoOpenInvestigation {
        /// The SKU.
        sku: Sku,
    },
    /// The investigation was already resolved.
    #[error("investigation {id} is already resolved")]
    InvestigationResolved {
        /// The investigation.
        id: InvestigationId,
    },
    /// A quantity is zero, negative, or otherwise unusable.
    #[error("invalid quantity {quantity}: {reason}")]
    InvalidQuantity {
        /// The quantity given.
        quantity: i64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An identifier is malformed.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidIdentifier {
        /// Which kind of identifier.
        kind: IdentifierKind,
        /// The value given (cut to the length limit).
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A hold time is outside the allowed range.
    #[error("hold time {ttl:?} is outside 1 second to 30 days")]
    InvalidTtl {
        /// The hold time given.
        ttl: Duration,
    },
    /// A reservation request has no lines.
    #[error("an order needs at least one line")]
    EmptyOrder,
    /// A reservation request has more lines than one order may.
    #[error("an order may have at most {max} lines, not {lines}")]
    TooManyLines {
        /// Lines given.
        lines: usize,
        /// The limit ([`ORDER_LINES_MAX`](crate::reservation::ORDER_LINES_MAX)).
        max: usize,
    },
    /// A line's unit price is negative.
    #[error("the unit price {price} of {sku} is negative")]
    NegativePrice {
        /// The line's SKU.
        sku: Sku,
        /// The price given.
        price: rust_decimal::Decimal,
    },
    /// A priority allocation names no location, or more than allowed.
    #[error("a priority list names 1 to {max} locations, not {locations}")]
    PriorityListSize {
        /// Locations given.
        locations: usize,
        /// The limit.
        max: usize,
    },
    /// An adjustment's reason is empty, too long or contains a control character.
    #[error("invalid adjustment reason: {problem}")]
    InvalidReason {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// No transfer has this id.
    #[error("transfer {id} not found")]
    TransferNotFound {
        /// The id asked for.
        id: TransferId,
    },
    /// The transfer is not in a state that allows this leg.
    #[error("cannot {wanted} transfer {id}: it is {current}")]
    InvalidTransferState {
        /// The transfer.
        id: TransferId,
        /// Its state.
        current: TransferStatus,
        /// What was asked.
        wanted: TransferLeg,
    },
    /// A transfer request breaks a rule (it ships to its own source).
    #[error("invalid transfer: {problem}")]
    InvalidTransfer {
        /// What is wrong with it.
        problem: String,
    },
    /// A return brings back more of a SKU than its order shipped, over all its returns.
    #[error("order {order_id} shipped {shipped} of {sku}, {returned} came back already, {requested} more cannot")]
    OverReturn {
        /// The order.
        order_id: OrderId,
        /// The SKU.
        sku: Sku,
        /// Units the order shipped.
        shipped: i64,
        /// Units returned before.
        returned: i64,
        /// Units this return brings back.
        requested: i64,
    },
    /// A partial shipment or release names more units of a SKU than its order has
    /// left for it: on the shelf to ship, held or backordered to release.
    #[error("order {order_id} has {left} unit(s) of {sku} left to {wanted}, {requested} asked")]
    ExceedsOrder {
        /// The order.
        order_id: OrderId,
        /// The SKU (a bundle's component when the line named the bundle).
        sku: Sku,
        /// `ship` or `release`.
        wanted: &'static str,
        /// Units left for it.
        left: i64,
        /// Units asked.
        requested: i64,
    },
    /// A return names no line or too many.
    #[error("invalid return: {problem}")]
    InvalidReturn {
        /// What is wrong with it.
        problem: String,
    },
    /// Some rows of a bulk set expected an on hand they no longer hold: nothing was set.
    #[error("{} row(s) of the set expected an on hand they no longer hold", rows.len())]
    StaleExpectations {
        /// Every stale row, with what it holds now.
        rows: Vec<StaleRow>,
    },
    /// A reservation with units still backordered cannot be committed until an arrival
    /// covers them.
    #[error("reservation {id} still waits for {backordered} backordered units of {sku}")]
    Backordered {
        /// The reservation.
        id: ReservationId,
        /// A SKU with backordered units.
        sku: Sku,
        /// Units of it not yet covered.
        backordered: i64,
    },
    /// A backorder policy is out of its range.
    #[error("invalid backorder limit {units} for {sku}: it must be at least 1 unit")]
    InvalidBackorderLimit {
        /// The SKU.
        sku: Sku,
        /// The limit given.
        units: i64,
    },
    /// A bundle definition breaks a rule of bundles.
    #[error("{sku} cannot be a bundle: {problem}")]
    InvalidBundle {
        /// The bundle SKU.
        sku: Sku,
        /// Which rule.
        problem: crate::catalog::BundleProblem,
    },
    /// A stock movement names a bundle, which holds no stock of its own: move its
    /// components.
    #[error("{sku} is a bundle and holds no stock of its own; move its components")]
    BundleHoldsNoStock {
        /// The bundle SKU.
        sku: Sku,
    },
    /// A bulk set names no row, too many rows, or one row twice.
    #[error("invalid bulk set: {problem}")]
    InvalidBulkSet {
        /// What is wrong with it.
        problem: String,
    },
    /// A document reference is empty, too long, or not `<kind>:<id>` of visible
    /// characters.
    #[error("invalid reference {reference:?}: {problem}")]
    InvalidReference {
        /// The reference given (cut to 128 characters).
        reference: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The name of who counted or resolved is empty, too long or contains a control
    /// character.
    #[error("{name:?} is not a usable name of who did it (a counter, a resolver, an actor)")]
    InvalidActor {
        /// The name given (cut to 128 characters).
        name: String,
    },
    /// A recount names a location where the SKU has no open investigation.
    #[error("{sku} has no open investigation at {location} to recount")]
    RecountWithoutInvestigation {
        /// The SKU.
        sku: Sku,
        /// The location recounted.
        location: LocationId,
    },
    /// A purchase-order receipt names no line.
    #[error("a receipt against purchase order {id} needs at least one line")]
    EmptyReceipt {
        /// The purchase order.
        id: PurchaseOrderId,
    },
    /// A SKU's reorder link names a supplier the run was not given.
    #[error("sku {sku} links to unknown supplier {supplier}")]
    UnknownSupplier {
        /// The SKU.
        sku: Sku,
        /// The supplier named.
        supplier: SupplierId,
    },
    /// No sync channel has this name.
    #[error("no channel called {name:?}")]
    UnknownChannel {
        /// The name asked for.
        name: String,
    },
    /// A setting (a supplier's terms, a reorder rule, a channel's buffer or name, count
    /// thresholds or classes, a service option) is out of its range.
    #[error("invalid {setting} {value}: {problem}")]
    InvalidSetting {
        /// Which setting.
        setting: &'static str,
        /// The value given, as text.
        value: String,
        /// The range it must be in.
        problem: &'static str,
    },
    /// A sum would pass the largest storable number.
    #[error("quantity overflow for {sku}{}", .location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default())]
    Overflow {
        /// The SKU.
        sku: Sku,
        /// The location, or `None` for a total over locations.
        location: Option<LocationId>,
    },
    /// Stored rows contradict each other; a bug or a damaged store, never bad input.
    #[error("inconsistent stored state: {detail}")]
    InconsistentState {
        /// What contradicts what.
        detail: String,
    },
}

impl DomainError {
    /// [`DomainError::InvalidSetting`]: `setting` is `value`, which `problem` rules out.
    pub fn invalid_setting(
        setting: &'static str,
        value: impl std::fmt::Display,
        problem: &'static str,
    ) -> Self {
        Self::InvalidSetting {
            setting,
            value: value.to_string(),
            problem,
        }
    }
}

/// A storage backend failed. Whether the command took effect is stated per variant.
/// Its message names the cause (the driver's words); [`StoreError::summary`] is the
/// message without it, for callers that must not show a driver's text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A transient conflict (deadlock, serialization failure, busy database). The unit
    /// was rolled back and may be retried; the service retries it itself.
    #[error("transient storage conflict: {0}")]
    Conflict(#[source] BoxError),
    /// The connection broke before the commit was sent: the unit was rolled back by the
    /// database and may be retried; the service retries it itself.
    #[error("storage connection interrupted before commit: {0}")]
    Interrupted(#[source] BoxError),
    /// Still conflicting after every retry. Nothing was changed.
    #[error("storage still conflicting after {attempts} attempts: {source}")]
    Contention {
        /// How many times the unit ran.
        attempts: u32,
        /// The last conflict.
        #[source]
        source: BoxError,
    },
    /// The database cannot be reached or the connection broke. A commit that failed
    /// this way may or may not have taken effect; repeat it idempotently.
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Stored data is unreadable or damaged: `what` names the value, `source` says why
    /// (the driver's or parser's error, or [`UnreadableValue`]).
    #[error("stored {what} is corrupt: {source}")]
    Corrupt {
        /// The stored value that cannot be read back (`"sku"`, `"timestamp"`, ...).
        what: String,
        /// Why it cannot.
        #[source]
        source: BoxError,
    },
    /// Any other driver failure.
    #[error("storage failure: {0}")]
    Backend(#[source] BoxError),
}

/// A stored value that does not decode, when no parser error says why: the value as
/// read, for the [`StoreError::Corrupt`] that carries it.
#[derive(Debug, thiserror::Error)]
#[error("unreadable value {0}")]
pub struct UnreadableValue(pub String);

impl StoreError {
    /// What failed, without the driver's words: for a message shown to a caller who
    /// must not see them (the cause stays in [`std::error::Error::source`]).
    pub fn summary(&self) -> String {
        match self {
            Self::Conflict(_) => "transient storage conflict".to_owned(),
            Self::Interrupted(_) => "storage connection interrupted before commit".to_owned(),
            Self::Contention { attempts, .. } => {
                format!("storage still conflicting after {attempts} attempts")
            }
            Self::Unavailable(_) => "storage unavailable".to_owned(),
            Self::Corrupt { what, .. } => format!("stored {what} is corrupt"),
            Self::Backend(_) => "storage failure".to_owned(),
        }
    }

    /// [`StoreError::Corrupt`]: the stored `what` cannot be read back because of `source`.
    pub fn corrupt(what: &str, source: impl Into<BoxError>) -> Self {
        Self::Corrupt {
            what: what.to_owned(),
            source: source.into(),
        }
    }

    /// [`StoreError::Corrupt`] for a stored `value` no parser error explains (a
    /// timestamp out of range, an unknown name).
    pub fn corrupt_value(what: &str, value: impl std::fmt::Display) -> Self {
        Self::corrupt(what, UnreadableValue(value.to_string()))
    }

    /// [`StoreError::Contention`] after `attempts` runs that ended in this error (its
    /// source kept as the last conflict).
    pub fn after_attempts(self, attempts: u32) -> Self {
        let source = match self {
            Self::Conflict(source) | Self::Interrupted(source) => source,
            other => Box::new(other),
        };
        Self::Contention { attempts, source }
    }

    /// Whether running the unit again may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Conflict(_) | Self::Interrupted(_))
    }
}

/// Any failure of an inventory operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule refused the command.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// The rule that refused the command, if that is what happened.
    pub fn as_domain(&self) -> Option<&DomainError> {
        match self {
            Self::Domain(error) => Some(error),
            Self::Store(_) => None,
        }
    }
}

/// Result of an inventory operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
