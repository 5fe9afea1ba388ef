//! SQL for each read and write, and the mapping between rows and core types. No rule
//! lives here: the statements only load what a plan names and store what was decided.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use inventory_core::backend::RowSource;
use inventory_core::decide::Changes;
use inventory_core::reorder::{shipped_in, PurchaseOrder, PurchaseOrderId};
use inventory_core::{
    IdempotencyKey, LedgerCursor, LedgerEntry, LedgerPage, LedgerQuery, LocationId, LocationStock,
    Movement, OrderId, Reservation, ReservationId, ReservationStatus, Sku, StockKey, StockLevel,
    StoreError, SupplierId, Transfer, TransferId,
};
use rusqlite::{params, Connection, OptionalExtension, Row};
use rust_decimal::Decimal;

use crate::error::{corrupt, corrupt_value, store_error};

/// The reads of [`load_rows`](inventory_core::backend::load_rows) on one connection, inside its
/// transaction.
pub(crate) struct Rows<'c>(pub(crate) &'c Connection);

impl RowSource for Rows<'_> {
    fn holders(&mut self, skus: &[Sku]) -> Result<Vec<Reservation>> {
        held_on(self.0, skus, "", [])
    }

    fn reservations(&mut self, ids: &[ReservationId]) -> Result<Vec<Reservation>> {
        reservations(self.0, ids)
    }

    fn keyed(&mut self, keys: &[IdempotencyKey]) -> Result<Vec<LedgerEntry>> {
        keyed(self.0, keys)
    }

    fn overdue_holds(&mut self, skus: &[Sku], now: DateTime<Utc>) -> Result<Vec<Reservation>> {
        overdue_holds(self.0, skus, now)
    }

    fn due_holds(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Reservation>> {
        due_holds(self.0, now, limit)
    }

    fn stock(&mut self, skus: &[Sku]) -> Result<Vec<(StockKey, StockLevel)>> {
        stock_rows(self.0, skus)
    }

    fn purchase_orders(
        &mut self,
        ids: &[PurchaseOrderId],
        drafts_of: &[SupplierId],
    ) -> Result<Vec<PurchaseOrder>> {
        crate::purchase::locked_orders(self.0, ids, drafts_of)
    }

    fn investigations(
        &mut self,
        ids: &[inventory_core::counting::InvestigationId],
        open_of: &[Sku],
    ) -> Result<Vec<inventory_core::counting::Investigation>> {
        crate::counting::locked_investigations(self.0, ids, open_of)
    }

    fn transfers(&mut self, ids: &[TransferId]) -> Result<Vec<Transfer>> {
        let mut found = Vec::new();
        for id in ids {
            found.extend(transfer(self.0, *id)?);
        }
        Ok(found)
    }
}

/// The transfer with this id, if any.
pub(crate) fn transfer(connection: &Connection, id: TransferId) -> Result<Option<Transfer>> {
    let bodies = texts(
        connection,
        "SELECT body FROM transfers WHERE id = ?1",
        [id.to_string()],
    )?;
    Ok(decode::<Transfer>(bodies, "transfer")?.into_iter().next())
}

/// Inserts or updates the decided transfers.
fn persist_transfers<'t>(
    connection: &Connection,
    transfers: impl Iterator<Item = &'t Transfer>,
) -> Result<()> {
    let mut write = connection
        .prepare_cached(
            "INSERT INTO transfers (id, sku, status, updated_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET
                status = excluded.status, updated_at = excluded.updated_at, body = excluded.body",
        )
        .map_err(store_error)?;
    for transfer in transfers {
        let body = serde_json::to_string(transfer).map_err(|e| corrupt("transfer", e))?;
        write
            .execute(params![
                transfer.id.to_string(),
                transfer.sku.as_str(),
                transfer.status.as_str(),
                micros(transfer.updated_at),
                body,
            ])
            .map_err(store_error)?;
    }
    Ok(())
}

type Result<T> = std::result::Result<T, StoreError>;

const RESERVATION_COLUMNS: &str =
    "id, order_id, status, created_at, expires_at, updated_at, lines, request, returns";

/// Days since 1970-01-01: how `daily_shipped` stores a day.
pub(crate) fn epoch_day(day: chrono::NaiveDate) -> i64 {
    (day - chrono::NaiveDate::default()).num_days()
}

pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn time(micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt_value("timestamp", micros))
}

/// The stored numbers of a stock row, in the order [`level`] reads them.
const LEVEL: &str = "on_hand, reserved, committed, in_transit, damaged, quality_control,
    safety_stock, backordered";
/// A ledger entry's row before and after, in the order [`level`] reads them twice.
const BEFORE_AFTER: &str = "before_on_hand, before_reserved, before_committed, before_in_transit,
    before_damaged, before_quality_control, before_safety_stock, before_backordered,
    after_on_hand, after_reserved, after_committed, after_in_transit,
    after_damaged, after_quality_control, after_safety_stock, after_backordered";
/// How many columns [`level`] reads.
const LEVEL_WIDTH: usize = 8;

fn level(row: &Row<'_>, first: usize) -> rusqlite::Result<StockLevel> {
    Ok(StockLevel {
        on_hand: row.get(first)?,
        reserved: row.get(first + 1)?,
        committed: row.get(first + 2)?,
        in_transit: row.get(first + 3)?,
        damaged: row.get(first + 4)?,
        quality_control: row.get(first + 5)?,
        safety_stock: row.get(first + 6)?,
        backordered: row.get(first + 7)?,
    })
}

fn sku(text: String) -> Result<Sku> {
    Sku::new(text).map_err(|error| corrupt("sku", error))
}

fn location(text: String) -> Result<LocationId> {
    LocationId::new(text).map_err(|error| corrupt("location", error))
}

/// The columns of a reservation row, before validation.
struct RawReservation {
    id: String,
    order_id: String,
    status: String,
    created_at: i64,
    expires_at: i64,
    updated_at: i64,
    lines: String,
    request: String,
    returns: String,
}

impl RawReservation {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            order_id: row.get(1)?,
            status: row.get(2)?,
            created_at: row.get(3)?,
            expires_at: row.get(4)?,
            updated_at: row.get(5)?,
            lines: row.get(6)?,
            request: row.get(7)?,
            returns: row.get(8)?,
        })
    }

    fn into_reservation(self) -> Result<Reservation> {
        Ok(Reservation {
            id: ReservationId::parse(&self.id).map_err(|error| corrupt("reservation id", error))?,
            order_id: OrderId::new(self.order_id).map_err(|error| corrupt("order id", error))?,
            status: self
                .status
                .parse()
                .map_err(|error| corrupt("status", error))?,
            lines: serde_json::from_str(&self.lines).map_err(|error| corrupt("lines", error))?,
            request: serde_json::from_str(&self.request)
                .map_err(|error| corrupt("request", error))?,
            created_at: time(self.created_at)?,
            expires_at: time(self.expires_at)?,
            updated_at: time(self.updated_at)?,
            returns: serde_json::from_str(&self.returns)
                .map_err(|error| corrupt("returns", error))?,
        })
    }
}

fn reservations_where(
    connection: &Connection,
    condition: &str,
    bind: impl rusqlite::Params,
) -> Result<Vec<Reservation>> {
    let sql = format!("SELECT {RESERVATION_COLUMNS} FROM reservations WHERE {condition}");
    let mut statement = connection.prepare_cached(&sql).map_err(store_error)?;
    let raw = statement
        .query_map(bind, RawReservation::read)
        .map_err(store_error)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(store_error)?;
    raw.into_iter()
        .map(RawReservation::into_reservation)
        .collect()
}

/// The reservation with this id.
pub(crate) fn reservation(
    connection: &Connection,
    id: ReservationId,
) -> Result<Option<Reservation>> {
    let sql = format!("SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = ?1");
    let mut statement = connection.prepare_cached(&sql).map_err(store_error)?;
    let raw = statement
        .query_row([id.to_string()], RawReservation::read)
        .optional()
        .map_err(store_error)?;
    raw.map(RawReservation::into_reservation).transpose()
}

/// The earliest expiry of an active reservation (on the partial index
/// `reservations_due`).
pub(crate) fn next_expiry(connection: &Connection) -> Result<Option<DateTime<Utc>>> {
    let earliest: Option<i64> = connection
        .prepare_cached("SELECT MIN(expires_at) FROM reservations WHERE status = 'active'")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map_err(store_error)?;
    earliest.map(time).transpose()
}

/// The reservations with these ids that exist.
pub(crate) fn reservations(
    connection: &Connection,
    ids: &[ReservationId],
) -> Result<Vec<Reservation>> {
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        found.extend(reservation(connection, *id)?);
    }
    Ok(found)
}

/// Active holds with `expires_at <= now` on any of `skus`, without repeats.
pub(crate) fn overdue_holds(
    connection: &Connection,
    skus: &[Sku],
    now: DateTime<Utc>,
) -> Result<Vec<Reservation>> {
    held_on(connection, skus, "AND h.expires_at <= ?2", [micros(now)])
}

/// The reservations holding any of `skus` (one `holds` row per SKU of an open
/// reservation) whose hold meets `condition` (`?2` is `extra`), without repeats: an
/// index range of `holds_by_sku` per SKU, joined to the reservation by its key.
fn held_on<const N: usize>(
    connection: &Connection,
    skus: &[Sku],
    condition: &str,
    extra: [i64; N],
) -> Result<Vec<Reservation>> {
    let columns = RESERVATION_COLUMNS
        .split(", ")
        .map(|column| format!("r.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM holds h JOIN reservations r ON r.id = h.reservation_id
         WHERE h.sku = ?1 {condition}"
    );
    let mut statement = connection.prepare_cached(&sql).map_err(store_error)?;
    let mut found: BTreeMap<ReservationId, Reservation> = BTreeMap::new();
    for sku in skus {
        let sku_text = sku.as_str();
        let mut bind: Vec<&dyn rusqlite::ToSql> = vec![&sku_text];
        bind.extend(extra.iter().map(|value| value as &dyn rusqlite::ToSql));
        let raw = statement
            .query_map(bind.as_slice(), RawReservation::read)
            .map_err(store_error)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(store_error)?;
        for held in raw {
            let held = held.into_reservation()?;
            found.insert(held.id, held);
        }
    }
    Ok(found.into_values().collect())
}

/// Up to `limit` active holds with `expires_at <= now`, longest overdue first.
pub(crate) fn due_holds(
    connection: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Reservation>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let condition = "status = 'active' AND expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2";
    reservations_where(connection, condition, params![micros(now), limit])
}

/// Every row of `sku`, ordered by location.
pub(crate) fn stock_of(connection: &Connection, sku_name: &Sku) -> Result<Vec<LocationStock>> {
    let sql = format!("SELECT location, {LEVEL} FROM stock WHERE sku = ?1 ORDER BY location");
    let mut statement = connection.prepare_cached(&sql).map_err(store_error)?;
    let rows = statement
        .query_map([sku_name.as_str()], |row| {
            Ok((row.get::<_, String>(0)?, level(row, 1)?))
        })
        .map_err(store_error)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(store_error)?;
    rows.into_iter()
        .map(|(name, level)| {
            Ok(LocationStock {
                location: location(name)?,
                level,
            })
        })
        .collect()
}

/// Every row of each of `skus`, in key order.
pub(crate) fn stock_rows(
    connection: &Connection,
    skus: &[Sku],
) -> Result<Vec<(StockKey, StockLevel)>> {
    let mut rows = Vec::new();
    for sku_name in skus {
        for row in stock_of(connection, sku_name)? {
            rows.push((StockKey::new(sku_name.clone(), row.location), row.level));
        }
    }
    Ok(rows)
}

/// Every stock row.
pub(crate) fn all_stock(connection: &Connection) -> Result<BTreeMap<StockKey, StockLevel>> {
    let mut statement = connection
        .prepare(&format!("SELECT sku, location, {LEVEL} FROM stock"))
        .map_err(store_error)?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                level(row, 2)?,
            ))
        })
        .map_err(store_error)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(store_error)?;
    rows.into_iter()
        .map(|(s, l, level)| Ok((StockKey::new(sku(s)?, location(l)?), level)))
        .collect()
}

/// Every reservation, ordered by id.
pub(crate) fn all_reservations(connection: &Connection) -> Result<Vec<Reservation>> {
    let mut found = reservations_where(connection, "1 = 1", [])?;
    found.sort_by_key(|reservation| reservation.id);
    Ok(found)
}

/// The whole ledger, row by row, each row's entries in the order they were written.
pub(crate) fn ledger(connection: &Connection) -> Result<Vec<LedgerEntry>> {
    ledger_where(connection, "1 = 1", [])
}

/// The ledger entries written under `keys`.
pub(crate) fn keyed(connection: &Connection, keys: &[IdempotencyKey]) -> Result<Vec<LedgerEntry>> {
    let mut found = Vec::new();
    for key in keys {
        found.extend(ledger_where(
            connection,
            "idempotency_key = ?1",
            [key.to_string()],
        )?);
    }
    Ok(found)
}

/// The ledger entries matching `condition`, row by row in the order they were written.
fn ledger_where(
    connection: &Connection,
    condition: &str,
    bind: impl rusqlite::Params,
) -> Result<Vec<LedgerEntry>> {
    let found = ledger_rows(connection, condition, "ORDER BY sku, location, seq", bind)?;
    Ok(found.into_iter().map(|(_, entry)| entry).collect())
}

/// One page of the ledger entries `query` selects, newest first, each filter on an
/// index (the row's key, `ledger_by_time`, `ledger_by_reference`).
pub(crate) fn ledger_page(connection: &Connection, query: &LedgerQuery) -> Result<LedgerPage> {
    use rusqlite::types::Value;
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut filter = |condition: &str, bound: Vec<Value>| {
        let mut text = condition.to_owned();
        for value in bound {
            values.push(value);
            text = text.replacen("$", &format!("?{}", values.len()), 1);
        }
        conditions.push(text);
    };
    if let Some(sku) = &query.sku {
        filter("sku = $", vec![Value::Text(sku.to_string())]);
    }
    if let Some(location) = &query.location {
        filter("location = $", vec![Value::Text(location.to_string())]);
    }
    if let Some(since) = query.since {
        filter("at >= $", vec![Value::Integer(micros(since))]);
    }
    if let Some(until) = query.until {
        filter("at < $", vec![Value::Integer(micros(until))]);
    }
    if let Some(reference) = &query.reference {
        filter("reference = $", vec![Value::Text(reference.clone())]);
    }
    if let Some(after) = &query.after {
        filter(
            "(at, sku, location, seq) < ($, $, $, $)",
            vec![
                Value::Integer(micros(after.at)),
                Value::Text(after.sku.to_string()),
                Value::Text(after.location.to_string()),
                Value::Integer(after.seq),
            ],
        );
    }
    let condition = if conditions.is_empty() {
        "1 = 1".to_owned()
    } else {
        conditions.join(" AND ")
    };
    let tail = format!(
        "ORDER BY at DESC, sku DESC, location DESC, seq DESC LIMIT {}",
        query.page_size() + 1
    );
    let found = ledger_rows(
        connection,
        &condition,
        &tail,
        rusqlite::params_from_iter(values),
    )?;
    let positioned = found
        .into_iter()
        .map(|(seq, entry)| {
            let position = LedgerCursor {
                at: entry.at,
                sku: entry.key.sku.clone(),
                location: entry.key.location.clone(),
                seq,
            };
            (position, entry)
        })
        .collect();
    Ok(LedgerPage::of(query, positioned))
}

/// The ledger entries matching `condition`, in the order `tail` gives, each with its
/// place among its row's entries.
fn ledger_rows(
    connection: &Connection,
    condition: &str,
    tail: &str,
    bind: impl rusqlite::Params,
) -> Result<Vec<(i64, LedgerEntry)>> {
    let sql = format!(
        "SELECT at, sku, location, movement, quantity, {BEFORE_AFTER},
                reservation_id, order_id, reason, unit_price, idempotency_key,
                actor, reference, seq
         FROM ledger WHERE {condition} {tail}"
    );
    let mut statement = connection.prepare_cached(&sql).map_err(store_error)?;
    let mut rows = statement.query(bind).map_err(store_error)?;
    let mut entries = Vec::new();
    // The first column after the two levels.
    const TAIL: usize = 5 + 2 * LEVEL_WIDTH;
    while let Some(row) = rows.next().map_err(store_error)? {
        let raw = (|| -> rusqlite::Result<_> {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                level(row, 5)?,
                level(row, 5 + LEVEL_WIDTH)?,
                row.get::<_, Option<String>>(TAIL)?,
                row.get::<_, Option<String>>(TAIL + 1)?,
                row.get::<_, Option<String>>(TAIL + 2)?,
                row.get::<_, Option<String>>(TAIL + 3)?,
                row.get::<_, Option<String>>(TAIL + 4)?,
                row.get::<_, Option<String>>(TAIL + 5)?,
                row.get::<_, Option<String>>(TAIL + 6)?,
                row.get::<_, i64>(TAIL + 7)?,
            ))
        })()
        .map_err(store_error)?;
        let (
            at,
            s,
            l,
            movement,
            quantity,
            before,
            after,
            reservation_id,
            order_id,
            reason,
            price,
            key,
            actor,
            reference,
            seq,
        ) = raw;
        entries.push((
            seq,
            LedgerEntry {
                at: time(at)?,
                key: StockKey::new(sku(s)?, location(l)?),
                movement: movement
                    .parse::<Movement>()
                    .map_err(|error| corrupt("movement", error))?,
                quantity,
                before,
                after,
                reservation_id: reservation_id
                    .map(|id| {
                        ReservationId::parse(&id).map_err(|error| corrupt("reservation id", error))
                    })
                    .transpose()?,
                order_id: order_id
                    .map(|id| OrderId::new(id).map_err(|error| corrupt("order id", error)))
                    .transpose()?,
                reason,
                unit_price: price
                    .map(|text| {
                        text.parse::<Decimal>()
                            .map_err(|error| corrupt("unit price", error))
                    })
                    .transpose()?,
                idempotency_key: key
                    .map(|key| {
                        IdempotencyKey::new(key).map_err(|error| corrupt("idempotency key", error))
                    })
                    .transpose()?,
                actor,
                reference,
            },
        ));
    }
    Ok(entries)
}

/// Writes decided changes: upserts rows and reservations (keeping `holds` in
/// step), appends ledger entries.
pub(crate) fn persist(connection: &Connection, changes: &Changes) -> Result<()> {
    let mut upsert_stock = connection
        .prepare_cached(&format!(
            "INSERT INTO stock (sku, location, {LEVEL})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (sku, location) DO UPDATE SET
                on_hand = excluded.on_hand, reserved = excluded.reserved,
                committed = excluded.committed, in_transit = excluded.in_transit,
                damaged = excluded.damaged, quality_control = excluded.quality_control,
                safety_stock = excluded.safety_stock, backordered = excluded.backordered"
        ))
        .map_err(store_error)?;
    for (key, level) in &changes.stock {
        upsert_stock
            .execute(params![
                key.sku.as_str(),
                key.location.as_str(),
                level.on_hand,
                level.reserved,
                level.committed,
                level.in_transit,
                level.damaged,
                level.quality_control,
                level.safety_stock,
                level.backordered,
            ])
            .map_err(store_error)?;
    }
    for reservation in changes.reservations.values() {
        persist_reservation(connection, reservation)?;
    }
    crate::purchase::persist_orders(connection, changes.purchase_orders.values())?;
    persist_transfers(connection, changes.transfers.values())?;
    crate::counting::persist_counting(connection, changes)?;
    crate::events::append(connection, &changes.events)?;
    let mut mark = connection
        .prepare_cached(
            "INSERT INTO sync_outbox (sku, generation) VALUES (?1, 1)
             ON CONFLICT (sku) DO UPDATE SET generation = generation + 1, retry_at = NULL",
        )
        .map_err(store_error)?;
    for sku_name in &changes.dirty {
        mark.execute([sku_name.as_str()]).map_err(store_error)?;
    }
    for ((sku_name, day), sales) in shipped_in(changes) {
        // Revenue is exact decimal text: added up here, under the write lock.
        let earlier: Option<String> = connection
            .prepare_cached("SELECT revenue FROM daily_shipped WHERE sku = ?1 AND day = ?2")
            .and_then(|mut statement| {
                statement
                    .query_row(params![sku_name.as_str(), epoch_day(day)], |row| row.get(0))
                    .optional()
            })
            .map_err(store_error)?;
        let earlier = earlier
            .map(|text| {
                text.parse::<Decimal>()
                    .map_err(|error| corrupt("revenue", error))
            })
            .transpose()?
            .unwrap_or_default();
        connection
            .prepare_cached(
                "INSERT INTO daily_shipped (sku, day, units, revenue) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (sku, day) DO UPDATE SET units = units + excluded.units, revenue = excluded.revenue",
            )
            .and_then(|mut statement| {
                statement.execute(params![sku_name.as_str(), epoch_day(day), sales.units, (earlier + sales.revenue).to_string()])
            })
            .map_err(store_error)?;
    }
    let mut append = connection
        .prepare_cached(&format!(
            "INSERT INTO ledger (seq, at, sku, location, movement, quantity, {BEFORE_AFTER},
                reservation_id, order_id, reason, unit_price, idempotency_key, actor, reference)
             VALUES (
                (SELECT COALESCE(MAX(seq), 0) + 1 FROM ledger WHERE sku = ?2 AND location = ?3),
                ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)"
        ))
        .map_err(store_error)?;
    for entry in &changes.ledger {
        let (before, after) = (entry.before, entry.after);
        append
            .execute(params![
                micros(entry.at),
                entry.key.sku.as_str(),
                entry.key.location.as_str(),
                entry.movement.as_str(),
                entry.quantity,
                before.on_hand,
                before.reserved,
                before.committed,
                before.in_transit,
                before.damaged,
                before.quality_control,
                before.safety_stock,
                before.backordered,
                after.on_hand,
                after.reserved,
                after.committed,
                after.in_transit,
                after.damaged,
                after.quality_control,
                after.safety_stock,
                after.backordered,
                entry.reservation_id.map(|id| id.to_string()),
                entry.order_id.as_ref().map(OrderId::as_str),
                entry.reason.as_deref(),
                entry.unit_price.map(|price| price.to_string()),
                entry.idempotency_key.as_ref().map(|key| key.to_string()),
                entry.actor.as_deref(),
                entry.reference.as_deref(),
            ])
            .map_err(store_error)?;
    }
    Ok(())
}

fn persist_reservation(connection: &Connection, reservation: &Reservation) -> Result<()> {
    let id = reservation.id.to_string();
    let lines =
        serde_json::to_string(&reservation.lines).map_err(|error| corrupt("lines", error))?;
    let request =
        serde_json::to_string(&reservation.request).map_err(|error| corrupt("request", error))?;
    let returns =
        serde_json::to_string(&reservation.returns).map_err(|error| corrupt("returns", error))?;
    connection
        .prepare_cached(
            "INSERT INTO reservations (id, order_id, status, created_at, expires_at, updated_at, lines, request, returns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET
                status = excluded.status, expires_at = excluded.expires_at, updated_at = excluded.updated_at,
                lines = excluded.lines, returns = excluded.returns",
        )
        .map_err(store_error)?
        .execute(params![
            id,
            reservation.order_id.as_str(),
            reservation.status.as_str(),
            micros(reservation.created_at),
            micros(reservation.expires_at),
            micros(reservation.updated_at),
            lines,
            request,
            returns,
        ])
        .map_err(store_error)?;
    // One `holds` row per SKU while the reservation is open, with its expiry while it
    // is active; none once it is closed.
    let expires_at = match reservation.status {
        ReservationStatus::Active => Some(micros(reservation.expires_at)),
        ReservationStatus::Committed => None,
        _ => {
            connection
                .prepare_cached("DELETE FROM holds WHERE reservation_id = ?1")
                .map_err(store_error)?
                .execute([&id])
                .map_err(store_error)?;
            return Ok(());
        }
    };
    let mut hold = connection
        .prepare_cached(
            "INSERT INTO holds (reservation_id, sku, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (reservation_id, sku) DO UPDATE SET expires_at = excluded.expires_at",
        )
        .map_err(store_error)?;
    for sku_name in reservation.skus() {
        hold.execute(params![id, sku_name.as_str(), expires_at])
            .map_err(store_error)?;
    }
    Ok(())
}

/// The first column of every row of `sql`, as text (JSON bodies).
pub(crate) fn texts(
    connection: &Connection,
    sql: &str,
    bind: impl rusqlite::Params,
) -> Result<Vec<String>> {
    let mut statement = connection.prepare_cached(sql).map_err(store_error)?;
    let found = statement
        .query_map(bind, |row| row.get::<_, String>(0))
        .map_err(store_error)?;
    found
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(store_error)
}

/// Decodes JSON bodies read back from the file (`what` names them in errors).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    texts: Vec<String>,
    what: &'static str,
) -> Result<Vec<T>> {
    texts
        .iter()
        .map(|text| serde_json::from_str(text).map_err(|e| corrupt(what, e)))
        .collect()
}
