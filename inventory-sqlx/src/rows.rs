//! SQL for each read and write, and the mapping between rows and core types. No rule
//! lives here. Every hot-path statement is keyed by SKU or by reservation id.

use chrono::{DateTime, Utc};
use inventory_core::{
    IdempotencyKey, LedgerEntry, LocationId, LocationStock, OrderId, Reservation, ReservationId,
    Sku, StockKey, StockLevel, StoreError,
};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::corrupt;

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

/// The columns [`reservation`] reads, in order.
macro_rules! reservation_columns {
    () => {
        "id, order_id, status, created_at, expires_at, updated_at, lines::text, request::text,
         returns::text"
    };
}

/// The named reservations and the overdue active holds on the given SKUs, locked in id
/// order. `$1` ids, `$2` SKUs (empty when no reclaim is wanted), `$3` now.
pub(crate) const LOCK_RESERVATIONS: &str = concat!(
    "SELECT ",
    reservation_columns!(),
    "
    FROM reservations
    WHERE id = ANY(ARRAY(
        SELECT unnest($1::uuid[])
        UNION
        SELECT reservation_id FROM holds WHERE sku = ANY($2::text[]) AND expires_at <= $3
    ))
    ORDER BY id
    FOR UPDATE"
);

/// Due active holds for the sweep, longest overdue first; holds another sweeper has
/// locked are skipped. `$1` now, `$2` limit.
pub(crate) const LOCK_DUE_HOLDS: &str = concat!(
    "SELECT ",
    reservation_columns!(),
    "
    FROM reservations
    WHERE status = 'active' AND expires_at <= $1
    ORDER BY expires_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED"
);

/// Every row of the given SKUs, locked in key order. `$1` SKUs.
pub(crate) const LOCK_STOCK: &str = "
    SELECT sku, location, on_hand, reserved, committed, in_transit,
           damaged, quality_control, safety_stock, backordered, version
    FROM stock
    WHERE sku = ANY($1::text[])
    ORDER BY sku, location
    FOR UPDATE";

/// A row of either database whose column `index` decodes into a `T`.
pub(crate) trait Cell<T> {
    /// The value of column `index`.
    fn cell(&self, index: usize) -> Result<T>;
}

impl<T> Cell<T> for PgRow
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    fn cell(&self, index: usize) -> Result<T> {
        self.try_get(index)
            .map_err(|error| corrupt("column", error))
    }
}

#[cfg(feature = "mysql")]
impl<T> Cell<T> for sqlx::mysql::MySqlRow
where
    T: for<'r> sqlx::Decode<'r, sqlx::MySql> + sqlx::Type<sqlx::MySql>,
{
    fn cell(&self, index: usize) -> Result<T> {
        self.try_get(index)
            .map_err(|error| corrupt("column", error))
    }
}

/// A row whose columns decode into every type the stored records use: the decoders
/// below read PostgreSQL and MySQL rows alike (each database's SQL puts the columns in
/// the same order).
pub(crate) trait StoredRow:
    Cell<i64>
    + Cell<String>
    + Cell<Option<String>>
    + Cell<Uuid>
    + Cell<Option<Uuid>>
    + Cell<DateTime<Utc>>
{
}

impl<R> StoredRow for R where
    R: Cell<i64>
        + Cell<String>
        + Cell<Option<String>>
        + Cell<Uuid>
        + Cell<Option<Uuid>>
        + Cell<DateTime<Utc>>
{
}

/// The value of column `index` of `row`.
pub(crate) fn get<T, R: Cell<T>>(row: &R, index: usize) -> Result<T> {
    row.cell(index)
}

pub(crate) fn sku(text: String) -> Result<Sku> {
    Sku::new(text).map_err(|error| corrupt("sku", error))
}

pub(crate) fn location(text: String) -> Result<LocationId> {
    LocationId::new(text).map_err(|error| corrupt("location", error))
}

/// The stored numbers of a stock row, in the order [`level`] reads them.
macro_rules! level_columns {
    () => {
        "on_hand, reserved, committed, in_transit, damaged, quality_control, safety_stock, \
         backordered"
    };
}
pub(crate) use level_columns;

/// How many columns [`level`] reads.
pub(crate) const LEVEL_WIDTH: usize = 8;

/// The stored numbers starting at column `first` ([`level_columns!`]).
pub(crate) fn level(row: &impl StoredRow, first: usize) -> Result<StockLevel> {
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

/// A row of the columns in `reservation_columns!` order.
pub(crate) fn reservation(row: &impl StoredRow) -> Result<Reservation> {
    let status: String = get(row, 2)?;
    let lines: String = get(row, 6)?;
    let request: String = get(row, 7)?;
    let returns: String = get(row, 8)?;
    Ok(Reservation {
        id: ReservationId::from_uuid(get::<Uuid, _>(row, 0)?),
        order_id: OrderId::new(get::<String, _>(row, 1)?)
            .map_err(|error| corrupt("order id", error))?,
        status: status.parse().map_err(|error| corrupt("status", error))?,
        created_at: get(row, 3)?,
        expires_at: get(row, 4)?,
        updated_at: get(row, 5)?,
        lines: serde_json::from_str(&lines).map_err(|error| corrupt("lines", error))?,
        request: serde_json::from_str(&request).map_err(|error| corrupt("request", error))?,
        returns: serde_json::from_str(&returns).map_err(|error| corrupt("returns", error))?,
    })
}

/// A `stock` row: sku, location, the stored numbers, version.
pub(crate) fn stock_row(row: &impl StoredRow) -> Result<(StockKey, StockLevel, i64)> {
    let key = StockKey::new(sku(get(row, 0)?)?, location(get(row, 1)?)?);
    Ok((key, level(row, 2)?, get(row, 2 + LEVEL_WIDTH)?))
}

/// A `stock` row of one SKU: location and the stored numbers.
pub(crate) fn location_stock(row: &impl StoredRow) -> Result<LocationStock> {
    Ok(LocationStock {
        location: location(get(row, 0)?)?,
        level: level(row, 1)?,
    })
}

/// Reads a reservation by id. `$1` id.
pub(crate) const SELECT_RESERVATION: &str = concat!(
    "SELECT ",
    reservation_columns!(),
    " FROM reservations WHERE id = $1"
);

/// Reads every reservation.
pub(crate) const SELECT_ALL_RESERVATIONS: &str =
    concat!("SELECT ", reservation_columns!(), " FROM reservations");

/// The ledger columns, in `ledger_entry` order.
macro_rules! ledger_columns {
    () => {
        "SELECT sku, location, at, movement, quantity,
                before_on_hand, before_reserved, before_committed, before_in_transit,
                before_damaged, before_quality_control, before_safety_stock,
                before_backordered,
                after_on_hand, after_reserved, after_committed, after_in_transit,
                after_damaged, after_quality_control, after_safety_stock,
                after_backordered,
                reservation_id, order_id, reason, unit_price, idempotency_key,
                actor, reference, version
         FROM ledger "
    };
}

/// Every ledger column ([`ledger_entry`], then the row's version), for a query that
/// adds its own `WHERE` and order.
pub(crate) const SELECT_LEDGER_COLUMNS: &str = ledger_columns!();

/// The first ledger column after the entry's two levels.
const LEDGER_TAIL: usize = 5 + 2 * LEVEL_WIDTH;

/// The entry's version within its row (the last ledger column).
pub(crate) fn ledger_version(row: &impl StoredRow) -> Result<i64> {
    get(row, LEDGER_TAIL + 7)
}

/// The whole ledger, row by row in version order.
pub(crate) const SELECT_LEDGER: &str =
    concat!(ledger_columns!(), "ORDER BY sku, location, version");

/// The entries written under any of the keys `$1`.
pub(crate) const SELECT_KEYED: &str =
    concat!(ledger_columns!(), "WHERE idempotency_key = ANY($1::text[])");

pub(crate) fn ledger_entry(row: &impl StoredRow) -> Result<LedgerEntry> {
    let movement: String = get(row, 3)?;
    Ok(LedgerEntry {
        key: StockKey::new(sku(get(row, 0)?)?, location(get(row, 1)?)?),
        at: get::<DateTime<Utc>, _>(row, 2)?,
        movement: movement
            .parse()
            .map_err(|error| corrupt("movement", error))?,
        quantity: get(row, 4)?,
        before: level(row, 5)?,
        after: level(row, 5 + LEVEL_WIDTH)?,
        reservation_id: get::<Option<Uuid>, _>(row, LEDGER_TAIL)?.map(ReservationId::from_uuid),
        order_id: get::<Option<String>, _>(row, LEDGER_TAIL + 1)?
            .map(|id| OrderId::new(id).map_err(|error| corrupt("order id", error)))
            .transpose()?,
        reason: get(row, LEDGER_TAIL + 2)?,
        unit_price: get::<Option<String>, _>(row, LEDGER_TAIL + 3)?
            .map(|text| text.parse().map_err(|e| corrupt("unit price", e)))
            .transpose()?,
        idempotency_key: get::<Option<String>, _>(row, LEDGER_TAIL + 4)?
            .map(|key| IdempotencyKey::new(key).map_err(|e| corrupt("idempotency key", e)))
            .transpose()?,
        actor: get(row, LEDGER_TAIL + 5)?,
        reference: get(row, LEDGER_TAIL + 6)?,
    })
}

/// The named purchase orders and the open drafts of the named suppliers, locked in id
/// order. `$1` ids, `$2` suppliers.
pub(crate) const LOCK_PURCHASE_ORDERS: &str = "
    SELECT id, supplier, status, location, lines::text, created_at, updated_at
    FROM purchase_orders
    WHERE id = ANY($1::uuid[]) OR (status = 'draft' AND supplier = ANY($2::text[]))
    ORDER BY id
    FOR UPDATE";

/// Every purchase order.
pub(crate) const SELECT_PURCHASE_ORDERS: &str =
    "SELECT id, supplier, status, location, lines::text, created_at, updated_at FROM purchase_orders";

/// One purchase order. `$1` id.
pub(crate) const SELECT_PURCHASE_ORDER: &str =
    "SELECT id, supplier, status, location, lines::text, created_at, updated_at FROM purchase_orders WHERE id = $1";

/// A `purchase_orders` row.
pub(crate) fn purchase_order(
    row: &impl StoredRow,
) -> Result<inventory_core::reorder::PurchaseOrder> {
    let status: String = get(row, 2)?;
    let lines: String = get(row, 4)?;
    Ok(inventory_core::reorder::PurchaseOrder {
        id: inventory_core::reorder::PurchaseOrderId::from_uuid(get::<Uuid, _>(row, 0)?),
        supplier: inventory_core::SupplierId::new(get::<String, _>(row, 1)?)
            .map_err(|e| corrupt("supplier", e))?,
        status: status.parse().map_err(|e| corrupt("status", e))?,
        location: location(get(row, 3)?)?,
        lines: serde_json::from_str(&lines).map_err(|e| corrupt("lines", e))?,
        created_at: get(row, 5)?,
        updated_at: get(row, 6)?,
    })
}

/// The named investigations and the open ones of the named SKUs, locked. `$1` ids,
/// `$2` SKUs.
pub(crate) const LOCK_INVESTIGATIONS: &str = "
    SELECT body::text FROM investigations
    WHERE id = ANY($1::uuid[]) OR (open AND sku = ANY($2::text[]))
    ORDER BY id
    FOR UPDATE";

/// The named transfers, locked in id order. `$1` ids.
pub(crate) const LOCK_TRANSFERS: &str =
    "SELECT body::text FROM transfers WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE";

/// One transfer. `$1` id.
pub(crate) const SELECT_TRANSFER: &str = "SELECT body::text FROM transfers WHERE id = $1";

/// Active and committed reservations holding the given SKUs, locked. `$1` SKUs.
pub(crate) const LOCK_HOLDERS: &str = concat!(
    "SELECT ",
    reservation_columns!(),
    "
    FROM reservations
    WHERE id = ANY(ARRAY(SELECT reservation_id FROM holds WHERE sku = ANY($1::text[])))
    ORDER BY id
    FOR UPDATE"
);

/// Decodes JSON bodies read back from the database (`what` names them in errors).
pub(crate) fn decode_bodies<T: serde::de::DeserializeOwned>(
    bodies: &[String],
    what: &'static str,
) -> Result<Vec<T>> {
    bodies
        .iter()
        .map(|body| serde_json::from_str(body).map_err(|e| corrupt(what, e)))
        .collect()
}

/// Writes one SKU's catalog settings (`$2` JSON, or NULL to remove them) if the catalog
/// is still at version `$3`, bumps it and marks the SKU for channel sync, in one
/// statement: answers the new version, or no row when another change got in first.
pub(crate) const PUT_SKU_SETTINGS: &str = "
WITH bumped AS (
    UPDATE catalog_version SET version = version + 1
    WHERE id = 1 AND version = $3
    RETURNING version
),
removed AS (
    DELETE FROM catalog
    WHERE sku = $1 AND $2::jsonb IS NULL AND EXISTS (SELECT 1 FROM bumped)
),
stored AS (
    INSERT INTO catalog (sku, settings)
    SELECT $1, $2::jsonb FROM bumped WHERE $2::jsonb IS NOT NULL
    ON CONFLICT (sku) DO UPDATE SET settings = excluded.settings
),
marked AS (
    INSERT INTO sync_outbox (sku, generation)
    SELECT $1, 1 FROM bumped
    ON CONFLICT (sku) DO UPDATE
        SET generation = sync_outbox.generation + 1, retry_at = NULL
)
SELECT version FROM bumped";

/// The catalog from its read: one row per entry (or one empty row), each with the
/// version.
pub(crate) fn catalog(
    rows: Vec<(i64, Option<String>, Option<String>)>,
) -> Result<inventory_core::catalog::Catalog> {
    let mut version = 0;
    let mut entries = Vec::with_capacity(rows.len());
    for (found, sku, settings) in rows {
        version = u64::try_from(found).map_err(|error| corrupt("catalog version", error))?;
        if let (Some(sku), Some(settings)) = (sku, settings) {
            let sku = Sku::new(sku).map_err(|error| corrupt("catalog sku", error))?;
            let settings = serde_json::from_str(&settings)
                .map_err(|error| corrupt("catalog settings", error))?;
            entries.push((sku, settings));
        }
    }
    Ok(inventory_core::catalog::Catalog::new(version, entries))
}
