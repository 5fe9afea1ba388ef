//! The ledger: one immutable entry per change to a stock row, and its replay.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id::{IdempotencyKey, LocationId, OrderId, ReservationId, Sku};
use crate::stock::{StockDelta, StockKey, StockLevel, StockState};

/// Longest adjustment reason accepted, in bytes.
pub const REASON_LENGTH_MAX: usize = 512;

/// What moved units in a stock row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// Units arrived on the shelf: `on_hand + q`.
    Received,
    /// Units left a supplier for this location: `in_transit + q`.
    TransitAdded,
    /// Units in transit arrived: `in_transit - q`, `on_hand + q`.
    TransitReceived,
    /// An order held units: `reserved + q`.
    Reserved,
    /// A hold went to picking: `reserved - q`, `committed + q`.
    Committed,
    /// Picked units left: `committed - q`, `on_hand - q`.
    Shipped,
    /// An active hold was cancelled: `reserved - q`.
    Released,
    /// A committed reservation was cancelled: `committed - q`.
    ReleasedCommitted,
    /// An active hold ran out of time: `reserved - q`.
    Expired,
    /// `on_hand` was corrected by a signed `q`, with a reason.
    Adjusted,
    /// Units in transit that will never arrive were written off: `in_transit - q`.
    TransitCancelled,
    /// A cycle count set `on_hand` to what was found: `on_hand + q` (signed).
    Counted,
    /// Units moved between sellable and damaged: `damaged + q` (signed).
    Damaged,
    /// Units moved between sellable and quality control: `quality_control + q` (signed).
    QualityControl,
    /// Units moved between sellable and safety stock: `safety_stock + q` (signed).
    SafetyStock,
    /// A transfer's units left this location for another: `on_hand - q`.
    TransferredOut,
    /// A customer's units came back on the shelf: `on_hand + q`.
    Returned,
    /// A customer return whose units were not kept: recorded, no stock moves.
    ReturnWrittenOff,
    /// A bulk set replaced `on_hand` by an absolute number: `on_hand + q` (signed).
    Set,
    /// A hold took units beyond available under the SKU's backorder policy:
    /// `backordered + q`.
    Backordered,
    /// An arrival covered backordered units of a hold: `backordered - q`,
    /// `reserved + q`.
    BackorderCovered,
    /// A hold with units still backordered was released or expired: `backordered - q`.
    BackorderCancelled,
}

impl Movement {
    /// The lowercase name used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::TransitAdded => "transit_added",
            Self::TransitReceived => "transit_received",
            Self::Reserved => "reserved",
            Self::Committed => "committed",
            Self::Shipped => "shipped",
            Self::Released => "released",
            Self::ReleasedCommitted => "released_committed",
            Self::Expired => "expired",
            Self::Adjusted => "adjusted",
            Self::TransitCancelled => "transit_cancelled",
            Self::Counted => "counted",
            Self::Damaged => "damaged",
            Self::QualityControl => "quality_control",
            Self::SafetyStock => "safety_stock",
            Self::TransferredOut => "transferred_out",
            Self::Returned => "returned",
            Self::ReturnWrittenOff => "return_written_off",
            Self::Set => "set",
            Self::Backordered => "backordered",
            Self::BackorderCovered => "backorder_covered",
            Self::BackorderCancelled => "backorder_cancelled",
        }
    }

    /// The movement that moves units between sellable and `state`, or `None` for the
    /// sellable state itself.
    pub fn of_state(state: StockState) -> Option<Self> {
        match state {
            StockState::Available => None,
            StockState::Damaged => Some(Self::Damaged),
            StockState::QualityControl => Some(Self::QualityControl),
            StockState::SafetyStock => Some(Self::SafetyStock),
        }
    }

    /// Every movement, in declaration order.
    pub const ALL: [Self; 22] = [
        Self::Received,
        Self::TransitAdded,
        Self::TransitReceived,
        Self::Reserved,
        Self::Committed,
        Self::Shipped,
        Self::Released,
        Self::ReleasedCommitted,
        Self::Expired,
        Self::Adjusted,
        Self::TransitCancelled,
        Self::Counted,
        Self::Damaged,
        Self::QualityControl,
        Self::SafetyStock,
        Self::TransferredOut,
        Self::Returned,
        Self::ReturnWrittenOff,
        Self::Set,
        Self::Backordered,
        Self::BackorderCovered,
        Self::BackorderCancelled,
    ];

    /// The change this movement of `quantity` units makes to a row.
    pub fn delta(self, quantity: i64) -> StockDelta {
        let zero = StockDelta::default();
        match self {
            Self::Received | Self::Adjusted | Self::Counted | Self::Returned | Self::Set => {
                StockDelta {
                    on_hand: quantity,
                    ..zero
                }
            }
            Self::TransitAdded => StockDelta {
                in_transit: quantity,
                ..zero
            },
            Self::TransitReceived => StockDelta {
                on_hand: quantity,
                in_transit: -quantity,
                ..zero
            },
            Self::Reserved => StockDelta {
                reserved: quantity,
                ..zero
            },
            Self::Committed => StockDelta {
                reserved: -quantity,
                committed: quantity,
                ..zero
            },
            Self::Shipped => StockDelta {
                on_hand: -quantity,
                committed: -quantity,
                ..zero
            },
            Self::Released | Self::Expired => StockDelta {
                reserved: -quantity,
                ..zero
            },
            Self::ReleasedCommitted => StockDelta {
                committed: -quantity,
                ..zero
            },
            Self::TransitCancelled => StockDelta {
                in_transit: -quantity,
                ..zero
            },
            Self::Damaged => StockDelta::of_state(StockState::Damaged, quantity),
            Self::QualityControl => StockDelta::of_state(StockState::QualityControl, quantity),
            Self::SafetyStock => StockDelta::of_state(StockState::SafetyStock, quantity),
            Self::TransferredOut => StockDelta {
                on_hand: -quantity,
                ..zero
            },
            Self::ReturnWrittenOff => zero,
            Self::Backordered => StockDelta {
                backordered: quantity,
                ..zero
            },
            Self::BackorderCovered => StockDelta {
                backordered: -quantity,
                reserved: quantity,
                ..zero
            },
            Self::BackorderCancelled => StockDelta {
                backordered: -quantity,
                ..zero
            },
        }
    }
}

impl std::str::FromStr for Movement {
    type Err = crate::reservation::UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|movement| movement.as_str() == name)
            .ok_or_else(|| crate::reservation::UnknownName(name.to_owned()))
    }
}

/// One change to one stock row, kept forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// When the change was decided.
    pub at: DateTime<Utc>,
    /// The row changed.
    pub key: StockKey,
    /// What moved.
    pub movement: Movement,
    /// Units moved; negative only for a downward [`Movement::Adjusted`],
    /// [`Movement::Counted`] or [`Movement::Set`], or units leaving a state
    /// ([`Movement::Damaged`], [`Movement::QualityControl`], [`Movement::SafetyStock`]).
    pub quantity: i64,
    /// The row before.
    pub before: StockLevel,
    /// The row after.
    pub after: StockLevel,
    /// The reservation that caused it, if any.
    pub reservation_id: Option<ReservationId>,
    /// The order that caused it, if any.
    pub order_id: Option<OrderId>,
    /// Why, for adjustments.
    pub reason: Option<String>,
    /// The customer's price per unit, for shipments of priced order lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Decimal>,
    /// The caller's idempotency key, for a movement applied once per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<IdempotencyKey>,
    /// Who did it, when the command names someone (the counter of a cycle count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The document behind it, as `<kind>:<id>`: `order:<order id>` for a
    /// reservation's movements, `purchase-order:<id>` for a purchase order's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Most entries one [`LedgerQuery`] page holds.
pub const LEDGER_PAGE_MAX: usize = 1_000;

/// Which ledger entries to page through, newest first: every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerQuery {
    /// Only this SKU.
    pub sku: Option<Sku>,
    /// Only this location.
    pub location: Option<LocationId>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only entries with this reference (`order:<id>`, `purchase-order:<id>`).
    pub reference: Option<String>,
    /// Entries per page, 1 to [`LEDGER_PAGE_MAX`] (0 means the maximum).
    pub limit: usize,
    /// Continue after this position: the `next` of the page before.
    pub after: Option<LedgerCursor>,
}

impl LedgerQuery {
    /// The page size asked for, within 1 to [`LEDGER_PAGE_MAX`].
    pub fn page_size(&self) -> usize {
        match self.limit {
            0 => LEDGER_PAGE_MAX,
            limit => limit.min(LEDGER_PAGE_MAX),
        }
    }

    /// Whether `entry`, at `position`, is one this query pages through.
    pub fn matches(&self, entry: &LedgerEntry, position: &LedgerCursor) -> bool {
        self.sku.as_ref().is_none_or(|sku| entry.key.sku == *sku)
            && self
                .location
                .as_ref()
                .is_none_or(|location| entry.key.location == *location)
            && self.since.is_none_or(|since| entry.at >= since)
            && self.until.is_none_or(|until| entry.at < until)
            && self
                .reference
                .as_ref()
                .is_none_or(|reference| entry.reference.as_ref() == Some(reference))
            && self.after.as_ref().is_none_or(|after| position < after)
    }
}

/// A ledger entry's position in newest-first order: its time, then its row, then its
/// place among the row's entries (`seq`, growing with each entry of the row). Ordered
/// as the fields are; pages run from the greatest position down.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LedgerCursor {
    /// When the entry was written.
    pub at: DateTime<Utc>,
    /// Its SKU.
    pub sku: Sku,
    /// Its location.
    pub location: LocationId,
    /// Its place among its row's entries.
    pub seq: i64,
}

/// One page of a [`LedgerQuery`], newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPage {
    /// The entries.
    pub entries: Vec<LedgerEntry>,
    /// Where the next page starts, when there are more entries.
    pub next: Option<LedgerCursor>,
}

impl LedgerPage {
    /// The page of `query` among `positioned` entries that already match it, sorted
    /// newest first: the first `page_size` entries, and a cursor when more remain.
    pub fn of(query: &LedgerQuery, positioned: Vec<(LedgerCursor, LedgerEntry)>) -> Self {
        let size = query.page_size();
        let more = positioned.len() > size;
        let mut entries = Vec::with_capacity(size.min(positioned.len()));
        let mut last = None;
        for (position, entry) in positioned.into_iter().take(size) {
            last = Some(position);
            entries.push(entry);
        }
        Self {
            entries,
            next: if more { last } else { None },
        }
    }
}

/// Longest document reference accepted, in bytes.
pub const REFERENCE_LENGTH_MAX: usize = 256;

/// Checks a caller's document reference: `<kind>:<id>` (`stocktake:2026-12`,
/// `erp:DOC-77`, `https://...`), 3 to [`REFERENCE_LENGTH_MAX`] bytes of visible
/// characters, no spaces.
///
/// # Errors
///
/// [`DomainError::InvalidReference`](crate::DomainError::InvalidReference) naming what
/// is wrong.
pub fn check_reference(reference: &str) -> Result<(), crate::DomainError> {
    let problem = if reference.len() > REFERENCE_LENGTH_MAX {
        "is longer than 256 bytes"
    } else if reference
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        "contains a space or a control character"
    } else if !reference
        .split_once(':')
        .is_some_and(|(kind, id)| !kind.is_empty() && !id.is_empty())
    {
        "is not <kind>:<id>"
    } else {
        return Ok(());
    };
    Err(crate::DomainError::InvalidReference {
        reference: reference.chars().take(128).collect(),
        problem,
    })
}

/// The reference of a reservation's ledger entries.
pub fn order_reference(order_id: &crate::OrderId) -> String {
    format!("order:{order_id}")
}

/// The reference of a purchase order's ledger entries.
pub fn purchase_order_reference(id: &crate::reorder::PurchaseOrderId) -> String {
    format!("purchase-order:{id}")
}

/// Why a ledger does not replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ledger entry {index} does not replay: {detail}")]
pub struct ReplayError {
    /// Position of the first bad entry.
    pub index: usize,
    /// What did not match.
    pub detail: String,
}

/// Replays a ledger, in order, into the stock rows it describes.
///
/// Each entry's `before` must equal the row so far, and `after` must equal `before`
/// changed by what its movement implies. A ledger that replays proves that every row
/// is explained by its history.
///
/// # Errors
///
/// [`ReplayError`] at the first entry that breaks the chain.
pub fn replay<'a>(
    entries: impl IntoIterator<Item = &'a LedgerEntry>,
) -> Result<BTreeMap<StockKey, StockLevel>, ReplayError> {
    let mut rows: BTreeMap<StockKey, StockLevel> = BTreeMap::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let fail = |detail: String| ReplayError { index, detail };
        let row = rows.entry(entry.key.clone()).or_default();
        if *row != entry.before {
            return Err(fail(format!(
                "before is {:?}, the row was {row:?}",
                entry.before
            )));
        }
        let next = row
            .apply(&entry.key, entry.movement.delta(entry.quantity))
            .map_err(|error| fail(error.to_string()))?;
        if next != entry.after {
            return Err(fail(format!(
                "after is {:?}, {:?} of {} gives {next:?}",
                entry.after, entry.movement, entry.quantity
            )));
        }
        *row = next;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{LocationId, Sku};

    fn entry(movement: Movement, quantity: i64, before: StockLevel) -> LedgerEntry {
        let key = StockKey::new(Sku::new("A").unwrap(), LocationId::new("W").unwrap());
        let after = before.apply(&key, movement.delta(quantity)).unwrap();
        LedgerEntry {
            at: DateTime::<Utc>::UNIX_EPOCH,
            key,
            movement,
            quantity,
            before,
            after,
            reservation_id: None,
            order_id: None,
            reason: None,
            unit_price: None,
            idempotency_key: None,
            actor: None,
            reference: None,
        }
    }

    #[test]
    fn movement_names_round_trip() {
        for movement in Movement::ALL {
            assert_eq!(movement.as_str().parse::<Movement>(), Ok(movement));
        }
        assert!("teleported".parse::<Movement>().is_err());
    }

    #[test]
    fn replays_a_chain() {
        let first = entry(Movement::Received, 10, StockLevel::default());
        let second = entry(Movement::Reserved, 4, first.after);
        let third = entry(Movement::Committed, 4, second.after);
        let rows = replay([&first, &second, &third]).unwrap();
        let level = rows.values().next().unwrap();
        assert_eq!((level.on_hand, level.reserved, level.committed), (10, 0, 4));
    }

    #[test]
    fn detects_a_broken_chain_and_a_wrong_after() {
        let first = entry(Movement::Received, 10, StockLevel::default());
        let skipped = entry(Movement::Received, 1, StockLevel::default());
        assert_eq!(replay([&first, &skipped]).unwrap_err().index, 1);
        let mut wrong = entry(Movement::Shipped, 0, first.after);
        wrong.after.on_hand = 3;
        assert_eq!(replay([&first, &wrong]).unwrap_err().index, 1);
    }
}
