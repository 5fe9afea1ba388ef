//! SQL for each read, and the mapping between MySQL rows and core types. No rule lives
//! here.

use inventory_core::StoreError;

pub(crate) use crate::rows::{
    get, ledger_entry, ledger_version, level, location_stock, purchase_order, reservation,
    stock_row,
};

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

/// `?, ?, ?` for `n` values (at least one: `IN ()` is not SQL, so callers skip empty
/// lists).
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

/// The reservation columns [`reservation`] reads, in order.
macro_rules! reservation_columns {
    () => {
        "r.id, r.order_id, r.status, r.created_at, r.expires_at, r.updated_at, r.`lines`, \
         r.request, r.`returns`"
    };
}
pub(crate) use reservation_columns;

/// The stored numbers of a stock row, in the order [`level`] reads them.
macro_rules! level_columns {
    () => {
        "on_hand, reserved, `committed`, in_transit, damaged, quality_control, safety_stock, \
         backordered"
    };
}
pub(crate) use level_columns;

/// The ledger columns, in [`ledger_entry`] order, then the row's version.
pub(crate) const SELECT_LEDGER_COLUMNS: &str = "
    SELECT sku, location, at, movement, quantity,
           before_on_hand, before_reserved, before_committed, before_in_transit,
           before_damaged, before_quality_control, before_safety_stock, before_backordered,
           after_on_hand, after_reserved, after_committed, after_in_transit,
           after_damaged, after_quality_control, after_safety_stock, after_backordered,
           reservation_id, order_id, reason, unit_price, idempotency_key, actor, reference,
           version
    FROM ledger ";

/// The purchase-order columns [`purchase_order`] reads.
pub(crate) const PURCHASE_ORDER_COLUMNS: &str =
    "SELECT id, supplier, status, location, `lines`, created_at, updated_at FROM purchase_orders";
