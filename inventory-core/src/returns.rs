//! Customer returns: units of a shipped order coming back, each line with what becomes
//! of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{IdempotencyKey, LocationId, OrderId, Sku};
use crate::quantity::Quantity;
use crate::stock::StockState;

/// Most lines one return may carry.
pub const RETURN_LINES_MAX: usize = 256;

/// What becomes of returned units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Back on the shelf, sellable.
    Restock,
    /// Back on the shelf as damaged: on hand, not sellable.
    Damaged,
    /// Back on the shelf held for inspection: on hand, not sellable.
    QualityControl,
    /// Not kept (thrown away, refunded without return): recorded, no stock moves.
    WriteOff,
}

impl Disposition {
    /// The lowercase name used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restock => "restock",
            Self::Damaged => "damaged",
            Self::QualityControl => "quality_control",
            Self::WriteOff => "write_off",
        }
    }

    /// The state the units enter on the shelf, or `None` when they do not come back.
    pub fn state(self) -> Option<StockState> {
        match self {
            Self::Restock => Some(StockState::Available),
            Self::Damaged => Some(StockState::Damaged),
            Self::QualityControl => Some(StockState::QualityControl),
            Self::WriteOff => None,
        }
    }
}

/// One line of a return.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReturnLine {
    /// The SKU coming back; the order must have shipped it.
    pub sku: Sku,
    /// Units coming back.
    pub quantity: Quantity,
    /// What becomes of them.
    pub disposition: Disposition,
    /// Where they come back; by default the location the order shipped them from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationId>,
}

/// A customer return of a shipped order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequest {
    /// The order whose reservation was shipped.
    pub order_id: OrderId,
    /// 1 to [`RETURN_LINES_MAX`] lines.
    pub lines: Vec<ReturnLine>,
    /// The caller's key (an RMA number, an HTTP `Idempotency-Key`): the same return
    /// under the same key is recorded once. Without a key, every call is a new return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<IdempotencyKey>,
}

impl ReturnRequest {
    /// A return of `lines` of `order_id`, without a key.
    pub fn new(order_id: OrderId, lines: Vec<ReturnLine>) -> Self {
        Self {
            order_id,
            lines,
            idempotency_key: None,
        }
    }

    /// The same return under `key`.
    pub fn with_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }
}

/// A return as recorded on its reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRecord {
    /// The caller's key, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<IdempotencyKey>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Its lines, each with the location the units came back to.
    pub lines: Vec<ReturnLine>,
}
