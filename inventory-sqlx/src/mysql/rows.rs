//! SQL for each read, and the mapping between MySQL rows and core types. No rule lives
//! here.

use chrono::{DateTime, Utc};
use inventory_core::reorder::{PurchaseOrder, PurchaseOrderId};
use inventory_core::{
    IdempotencyKey, LedgerEntry, LocationStock, OrderId, Reservation, ReservationId, StockKey,
    StockLevel, StoreError, SupplierId,
};
use sqlx::mysql::MySqlRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::corrupt;
use crate::rows::{location, sku};

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

/// `?, ?, ?` for `n` values (at least one: `IN ()` is not SQL, so callers skip empty
/// lists).
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

pub(crate) fn get<'r, T>(row: &'r MySqlRow, index: usize) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::MySql> + sqlx::Type<sqlx::MySql>,
{
    row.try_get(index).map_err(|error| corrupt("column", error))
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

/// How many columns [`level`] reads.
pub(crate) const LEVEL_WIDTH: usize = 8;

/// The stored numbers starting at column `first` ([`level_columns!`]).
pub(crate) fn level(row: &MySqlRow, first: usize) -> Result<StockLevel> {
    Ok(StockLevel {
        on_hand: get(row, first)?,
        reserved: get(row, first + 1)?,
        committed: get(row, first + 2)?,
        in_transit: get(row, first + 3)?,
        damaged: get(row, first + 4)?,
        quality_control: get(row, first + 5)?,
        safety_stock: get(row, first + 6)?,
        backordered: get(row, first + 7)?,
    })
}

fn json<T: serde::de::DeserializeOwned>(text: &str, what: &'static str) -> Result<T> {
    serde_json::from_str(text).map_err(|error| corrupt(what, error))
}

/// A row of the columns in `reservation_columns!` order.
pub(crate) fn reservation(row: &MySqlRow) -> Result<Reservation> {
    let status: String = get(row, 2)?;
    Ok(Reservation {
        id: ReservationId::from_uuid(get::<Uuid>(row, 0)?),
        order_id: OrderId::new(get::<String>(row, 1)?)
            .map_err(|error| corrupt("order id", error))?,
        status: status.parse().map_err(|error| corrupt("status", error))?,
        created_at: get(row, 3)?,
        expires_at: get(row, 4)?,
        updated_at: get(row, 5)?,
        lines: json(&get::<String>(row, 6)?, "lines")?,
        request: json(&get::<String>(row, 7)?, "request")?,
        returns: json(&get::<String>(row, 8)?, "returns")?,
    })
}

/// A `stock` row: sku, location, the stored numbers, version.
pub(crate) fn stock_row(row: &MySqlRow) -> Result<(StockKey, StockLevel, i64)> {
    let key = StockKey::new(sku(get(row, 0)?)?, location(get(row, 1)?)?);
    Ok((key, level(row, 2)?, get(row, 2 + LEVEL_WIDTH)?))
}

/// A `stock` row of one SKU: location and the stored numbers.
pub(crate) fn location_stock(row: &MySqlRow) -> Result<LocationStock> {
    Ok(LocationStock {
        location: location(get(row, 0)?)?,
        level: level(row, 1)?,
    })
}

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

/// The first ledger column after the entry's two levels.
const LEDGER_TAIL: usize = 5 + 2 * LEVEL_WIDTH;

/// The entry's version within its row (the last ledger column).
pub(crate) fn ledger_version(row: &MySqlRow) -> Result<i64> {
    get(row, LEDGER_TAIL + 7)
}

pub(crate) fn ledger_entry(row: &MySqlRow) -> Result<LedgerEntry> {
    let movement: String = get(row, 3)?;
    Ok(LedgerEntry {
        key: StockKey::new(sku(get(row, 0)?)?, location(get(row, 1)?)?),
        at: get::<DateTime<Utc>>(row, 2)?,
        movement: movement
            .parse()
            .map_err(|error| corrupt("movement", error))?,
        quantity: get(row, 4)?,
        before: level(row, 5)?,
        after: level(row, 5 + LEVEL_WIDTH)?,
        reservation_id: get::<Option<Uuid>>(row, LEDGER_TAIL)?.map(ReservationId::from_uuid),
        order_id: get::<Option<String>>(row, LEDGER_TAIL + 1)?
            .map(|id| OrderId::new(id).map_err(|error| corrupt("order id", error)))
            .transpose()?,
        reason: get(row, LEDGER_TAIL + 2)?,
        unit_price: get::<Option<String>>(row, LEDGER_TAIL + 3)?
            .map(|text| text.parse().map_err(|e| corrupt("unit price", e)))
            .transpose()?,
        idempotency_key: get::<Option<String>>(row, LEDGER_TAIL + 4)?
            .map(|key| IdempotencyKey::new(key).map_err(|e| corrupt("idempotency key", e)))
            .transpose()?,
        actor: get(row, LEDGER_TAIL + 5)?,
        reference: get(row, LEDGER_TAIL + 6)?,
    })
}

/// The purchase-order columns [`purchase_order`] reads.
pub(crate) const PURCHASE_ORDER_COLUMNS: &str =
    "SELECT id, supplier, status, location, `lines`, created_at, updated_at FROM purchase_orders";

/// A `purchase_orders` row.
pub(crate) fn purchase_order(row: &MySqlRow) -> Result<PurchaseOrder> {
    let status: String = get(row, 2)?;
    Ok(PurchaseOrder {
        id: PurchaseOrderId::from_uuid(get::<Uuid>(row, 0)?),
        supplier: SupplierId::new(get::<String>(row, 1)?).map_err(|e| corrupt("supplier", e))?,
        status: status.parse().map_err(|e| corrupt("status", e))?,
        location: location(get(row, 3)?)?,
        lines: json(&get::<String>(row, 4)?, "lines")?,
        created_at: get(row, 5)?,
        updated_at: get(row, 6)?,
    })
}
