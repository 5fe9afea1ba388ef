//! Parts of an order settled one at a time: a partial shipment (a fulfilment that ships
//! some lines while the rest stays held), a partial release (a refund or an order edit
//! that cancels some units) and an addition (an order edit that adds lines).

use serde::{Deserialize, Serialize};

use crate::id::{IdempotencyKey, OrderId, Sku};
use crate::quantity::Quantity;
use crate::reservation::OrderLine;

/// Units of one SKU of an order: a SKU the order holds, or a bundle it named (counted
/// in bundles: each stands for its components as the bundle was defined when the order
/// was reserved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartLine {
    /// The SKU.
    pub sku: Sku,
    /// Units (or bundles).
    pub quantity: Quantity,
}

impl PartLine {
    /// `quantity` units of `sku`.
    pub fn new(sku: Sku, quantity: Quantity) -> Self {
        Self { sku, quantity }
    }
}

/// Part of an order to ship or to release, under the caller's key (a channel's
/// fulfilment or refund id): the same key again answers the reservation and changes
/// nothing, so a redelivered webhook never ships or releases twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRequest {
    /// The order whose reservation holds the units.
    pub order_id: OrderId,
    /// 1 to [`ORDER_LINES_MAX`](crate::ORDER_LINES_MAX) lines.
    pub lines: Vec<PartLine>,
    /// The caller's key, unique over the ledger.
    pub idempotency_key: IdempotencyKey,
}

impl PartRequest {
    /// `lines` of `order_id` under `idempotency_key`.
    pub fn new(order_id: OrderId, lines: Vec<PartLine>, idempotency_key: IdempotencyKey) -> Self {
        Self {
            order_id,
            lines,
            idempotency_key,
        }
    }
}

/// Lines to add to an order's reservation (an order edit), under the caller's key (the
/// edit's id): allocated as the order's own lines were, all or nothing, once per key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddRequest {
    /// The order whose reservation takes the lines.
    pub order_id: OrderId,
    /// 1 or more lines; the reservation holds at most
    /// [`ORDER_LINES_MAX`](crate::ORDER_LINES_MAX) lines in all.
    pub lines: Vec<OrderLine>,
    /// The caller's key, unique over the ledger.
    pub idempotency_key: IdempotencyKey,
}

impl AddRequest {
    /// `lines` for `order_id` under `idempotency_key`.
    pub fn new(order_id: OrderId, lines: Vec<OrderLine>, idempotency_key: IdempotencyKey) -> Self {
        Self {
            order_id,
            lines,
            idempotency_key,
        }
    }
}
