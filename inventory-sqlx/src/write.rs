//! The one statement that writes a unit's changes: a part per table that has something
//! to write (nothing else is sent or planned), each part's parameters bound beside its
//! text. An optimistic unit's statement first locks and checks what the unit read
//! ([`Guard`]); every part waits for that check, so a stale unit writes nothing.
//!
//! The statement ends by checking that every insert of a row the unit had not seen went
//! in; when one did not (another unit created it first) it raises a serialization
//! failure, so the whole statement, and with it the transaction, is undone and retried.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use inventory_core::decide::Changes;
use inventory_core::reorder::shipped_in;
use inventory_core::{
    LedgerEntry, Reservation, ReservationId, ReservationStatus, StockKey, StockLevel, StoreError,
};
use sqlx::postgres::PgArguments;
use uuid::Uuid;

use crate::error::corrupt;
use crate::statement::Statement;

type Result<T> = std::result::Result<T, StoreError>;

/// What an optimistic unit read: the write goes ahead only if all of it is unchanged.
#[derive(Debug, Default)]
pub(crate) struct Guard {
    /// Every SKU whose rows were read (all its rows, at any location).
    pub(crate) skus: Vec<String>,
    /// The stock rows read, with their versions.
    pub(crate) rows: Vec<(StockKey, i64)>,
    /// The reservations read, as they were.
    pub(crate) reservations: Vec<Reservation>,
}

/// Builds the statement writing `changes`. `versions` holds the version of every row
/// the unit loaded (rows absent from it are new) and is advanced to the new versions;
/// `known` holds the reservations the unit loaded and gains the new ones.
pub(crate) fn statement(
    changes: &Changes,
    versions: &mut HashMap<StockKey, i64>,
    known: &mut HashSet<ReservationId>,
    guard: Option<&Guard>,
) -> Result<(String, PgArguments)> {
    let mut statement = Statement::default();
    let gate = match guard {
        Some(guard) => {
            guard_parts(&mut statement, guard)?;
            "(SELECT ok FROM guard)"
        }
        None => "true",
    };
    let mut checks = Vec::new();
    if guard.is_some() {
        checks.push("(SELECT ok FROM guard)".to_owned());
    }
    let ledger_versions = ledger_versions(changes, versions);
    let inserted_rows = stock(&mut statement, changes, versions, &ledger_versions, gate)?;
    let new_reservations = reservations(&mut statement, changes, known, gate)?;
    holds(&mut statement, changes, gate)?;
    ledger(
        &mut statement,
        &changes.ledger,
        &ledger_versions.per_entry,
        gate,
    )?;
    demand(&mut statement, changes, gate)?;
    purchase_orders(&mut statement, changes, gate)?;
    counting(&mut statement, changes, gate)?;
    for (part, expected) in [
        ("stock_inserted", inserted_rows),
        ("reservations_inserted", new_reservations),
        ("ledger_appended", changes.ledger.len()),
    ] {
        if statement.has(part) {
            let expected = statement.bind(i64::try_from(expected).unwrap_or(i64::MAX), "int8")?;
            checks.push(format!("(SELECT count(*) FROM {part}) = {expected}"));
        }
    }
    let main = if checks.is_empty() {
        "SELECT true".to_owned()
    } else {
        format!(
            "SELECT CASE WHEN {} THEN true ELSE inventory_stale('a row this unit read or created was \
             changed or created by another unit') END",
            checks.join("\n    AND ")
        )
    };

    for (key, version) in ledger_versions.last {
        versions.insert(key, version);
    }
    for key in changes.stock.keys() {
        versions.entry(key.clone()).or_insert(0);
    }
    known.extend(changes.reservations.keys().copied());
    Ok(statement.finish(&main))
}

/// Locks what the unit read (reservations in id order, then every row of its SKUs in
/// key order, as a locking unit does) and raises a serialization failure unless all of
/// it is as it was read and no row of those SKUs has appeared.
fn guard_parts(statement: &mut Statement, guard: &Guard) -> Result<()> {
    let ids: Vec<Uuid> = guard.reservations.iter().map(|r| r.id.as_uuid()).collect();
    let status: Vec<String> = guard
        .reservations
        .iter()
        .map(|r| r.status.as_str().to_owned())
        .collect();
    let expires: Vec<DateTime<Utc>> = guard.reservations.iter().map(|r| r.expires_at).collect();
    let updated: Vec<DateTime<Utc>> = guard.reservations.iter().map(|r| r.updated_at).collect();
    let read_ids = statement.bind(ids, "uuid[]")?;
    statement.part(
        "held_locked",
        format!(
            "SELECT id, status, expires_at, updated_at FROM reservations
             WHERE id = ANY({read_ids}) ORDER BY id FOR UPDATE"
        ),
    );
    let skus = statement.bind(guard.skus.clone(), "text[]")?;
    statement.part(
        "stock_locked",
        format!(
            "SELECT sku, location, version FROM stock
             WHERE sku = ANY({skus}) AND (SELECT count(*) FROM held_locked) >= 0
             ORDER BY sku, location FOR UPDATE"
        ),
    );
    let (status, expires, updated) = (
        statement.bind(status, "text[]")?,
        statement.bind(expires, "timestamptz[]")?,
        statement.bind(updated, "timestamptz[]")?,
    );
    let read_reservations = statement.bind(count(guard.reservations.len()), "int8")?;
    let row_sku: Vec<String> = guard.rows.iter().map(|(k, _)| k.sku.to_string()).collect();
    let row_location: Vec<String> = guard
        .rows
        .iter()
        .map(|(k, _)| k.location.to_string())
        .collect();
    let row_version: Vec<i64> = guard.rows.iter().map(|(_, version)| *version).collect();
    let (row_sku, row_location, row_version) = (
        statement.bind(row_sku, "text[]")?,
        statement.bind(row_location, "text[]")?,
        statement.bind(row_version, "int8[]")?,
    );
    let read_rows = statement.bind(count(guard.rows.len()), "int8")?;
    statement.part(
        "guard",
        format!(
            "SELECT CASE WHEN
                (SELECT count(*) FROM held_locked h
                 JOIN UNNEST({read_ids}, {status}, {expires}, {updated})
                     AS v(id, status, expires_at, updated_at)
                 ON h.id = v.id AND h.status = v.status AND h.expires_at = v.expires_at
                    AND h.updated_at = v.updated_at) = {read_reservations}
                AND (SELECT count(*) FROM stock_locked) = {read_rows}
                AND (SELECT count(*) FROM stock_locked s
                     JOIN UNNEST({row_sku}, {row_location}, {row_version})
                         AS v(sku, location, version)
                     ON s.sku = v.sku AND s.location = v.location AND s.version = v.version)
                    = {read_rows}
             THEN true
             ELSE inventory_stale('a row this unit read was changed before its write') END AS ok"
        ),
    );
    Ok(())
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Ledger versions continue each row's count: the version of every new entry, and the
/// last version of each row.
struct LedgerVersions {
    per_entry: Vec<i64>,
    last: HashMap<StockKey, i64>,
}

fn ledger_versions(changes: &Changes, versions: &HashMap<StockKey, i64>) -> LedgerVersions {
    let mut last: HashMap<StockKey, i64> = HashMap::new();
    let per_entry = changes
        .ledger
        .iter()
        .map(|entry| {
            let version = last
                .entry(entry.key.clone())
                .or_insert_with(|| versions.get(&entry.key).copied().unwrap_or(0));
            *version += 1;
            *version
        })
        .collect();
    LedgerVersions { per_entry, last }
}

/// Stock rows as column arrays.
#[derive(Default)]
struct StockColumns {
    sku: Vec<String>,
    location: Vec<String>,
    on_hand: Vec<i64>,
    reserved: Vec<i64>,
    committed: Vec<i64>,
    in_transit: Vec<i64>,
    version: Vec<i64>,
}

impl StockColumns {
    fn push(&mut self, key: &StockKey, level: &StockLevel, version: i64) {
        self.sku.push(key.sku.to_string());
        self.location.push(key.location.to_string());
        self.on_hand.push(level.on_hand);
        self.reserved.push(level.reserved);
        self.committed.push(level.committed);
        self.in_transit.push(level.in_transit);
        self.version.push(version);
    }

    /// `UNNEST(...)` of the seven columns.
    fn unnest(self, statement: &mut Statement) -> Result<String> {
        Ok(format!(
            "UNNEST({}, {}, {}, {}, {}, {}, {})",
            statement.bind(self.sku, "text[]")?,
            statement.bind(self.location, "text[]")?,
            statement.bind(self.on_hand, "int8[]")?,
            statement.bind(self.reserved, "int8[]")?,
            statement.bind(self.committed, "int8[]")?,
            statement.bind(self.in_transit, "int8[]")?,
            statement.bind(self.version, "int8[]")?,
        ))
    }
}

/// Updates the rows the unit loaded and inserts new ones; returns how many are new.
fn stock(
    statement: &mut Statement,
    changes: &Changes,
    versions: &HashMap<StockKey, i64>,
    ledger_versions: &LedgerVersions,
    gate: &str,
) -> Result<usize> {
    let (mut updated, mut inserted) = (StockColumns::default(), StockColumns::default());
    for (key, level) in &changes.stock {
        let old = versions.get(key).copied();
        let version = ledger_versions.last.get(key).copied().or(old).unwrap_or(0);
        match old {
            Some(_) => updated.push(key, level, version),
            None => inserted.push(key, level, version),
        }
    }
    let new_rows = inserted.sku.len();
    if !updated.sku.is_empty() {
        let rows = updated.unnest(statement)?;
        statement.part(
            "stock_updated",
            format!(
                "UPDATE stock AS s
                 SET on_hand = v.on_hand, reserved = v.reserved, committed = v.committed,
                     in_transit = v.in_transit, version = v.version
                 FROM {rows} AS v(sku, location, on_hand, reserved, committed, in_transit, version)
                 WHERE s.sku = v.sku AND s.location = v.location AND {gate}
                 RETURNING 1"
            ),
        );
    }
    if new_rows > 0 {
        let rows = inserted.unnest(statement)?;
        statement.part(
            "stock_inserted",
            format!(
                "INSERT INTO stock (sku, location, on_hand, reserved, committed, in_transit, version)
                 SELECT * FROM {rows} AS v WHERE {gate}
                 ON CONFLICT DO NOTHING
                 RETURNING 1"
            ),
        );
    }
    Ok(new_rows)
}

/// Updates the reservations the unit loaded and inserts new ones; returns how many are
/// new.
fn reservations(
    statement: &mut Statement,
    changes: &Changes,
    known: &HashSet<ReservationId>,
    gate: &str,
) -> Result<usize> {
    let (changed, new): (Vec<&Reservation>, Vec<&Reservation>) = changes
        .reservations
        .values()
        .partition(|reservation| known.contains(&reservation.id));
    if !changed.is_empty() {
        let id = statement.bind(uuids(&changed), "uuid[]")?;
        let status = statement.bind(statuses(&changed), "text[]")?;
        let expires = statement.bind(
            changed.iter().map(|r| r.expires_at).collect::<Vec<_>>(),
            "timestamptz[]",
        )?;
        let updated = statement.bind(
            changed.iter().map(|r| r.updated_at).collect::<Vec<_>>(),
            "timestamptz[]",
        )?;
        statement.part(
            "reservations_updated",
            format!(
                "UPDATE reservations AS r
                 SET status = v.status, expires_at = v.expires_at, updated_at = v.updated_at
                 FROM UNNEST({id}, {status}, {expires}, {updated})
                     AS v(id, status, expires_at, updated_at)
                 WHERE r.id = v.id AND {gate}
                 RETURNING 1"
            ),
        );
    }
    if !new.is_empty() {
        let lines = new
            .iter()
            .map(|r| serde_json::to_string(&r.lines).map_err(|e| corrupt("lines", e)))
            .collect::<Result<Vec<String>>>()?;
        let requests = new
            .iter()
            .map(|r| serde_json::to_string(&r.request).map_err(|e| corrupt("request", e)))
            .collect::<Result<Vec<String>>>()?;
        let times = |f: fn(&Reservation) -> DateTime<Utc>| new.iter().map(|r| f(r)).collect();
        let columns = [
            statement.bind(uuids(&new), "uuid[]")?,
            statement.bind(
                new.iter()
                    .map(|r| r.order_id.to_string())
                    .collect::<Vec<_>>(),
                "text[]",
            )?,
            statement.bind(statuses(&new), "text[]")?,
            statement.bind::<Vec<_>>(times(|r| r.created_at), "timestamptz[]")?,
            statement.bind::<Vec<_>>(times(|r| r.expires_at), "timestamptz[]")?,
            statement.bind::<Vec<_>>(times(|r| r.updated_at), "timestamptz[]")?,
            statement.bind(lines, "text[]")?,
            statement.bind(requests, "text[]")?,
        ]
        .join(", ");
        statement.part(
            "reservations_inserted",
            format!(
                "INSERT INTO reservations
                     (id, order_id, status, created_at, expires_at, updated_at, lines, request)
                 SELECT v.id, v.order_id, v.status, v.created_at, v.expires_at, v.updated_at,
                        v.lines::jsonb, v.request::jsonb
                 FROM UNNEST({columns})
                     AS v(id, order_id, status, created_at, expires_at, updated_at, lines, request)
                 WHERE {gate}
                 ON CONFLICT DO NOTHING
                 RETURNING 1"
            ),
        );
    }
    Ok(new.len())
}

fn uuids(reservations: &[&Reservation]) -> Vec<Uuid> {
    reservations.iter().map(|r| r.id.as_uuid()).collect()
}

fn statuses(reservations: &[&Reservation]) -> Vec<String> {
    reservations
        .iter()
        .map(|r| r.status.as_str().to_owned())
        .collect()
}

/// Keeps `holds` in step with the reservations written: one row per SKU of an open
/// reservation, with its expiry while active (NULL once committed), none once closed.
fn holds(statement: &mut Statement, changes: &Changes, gate: &str) -> Result<()> {
    let mut closed = Vec::new();
    let (mut id, mut sku, mut expiry) = (vec![], vec![], vec![]);
    for reservation in changes.reservations.values() {
        let expires_at = match reservation.status {
            ReservationStatus::Active => Some(reservation.expires_at),
            ReservationStatus::Committed => None,
            _ => {
                closed.push(reservation.id.as_uuid());
                continue;
            }
        };
        let skus: BTreeSet<String> = reservation.skus().iter().map(ToString::to_string).collect();
        for name in skus {
            id.push(reservation.id.as_uuid());
            sku.push(name);
            expiry.push(expires_at);
        }
    }
    if !closed.is_empty() {
        let ids = statement.bind(closed, "uuid[]")?;
        statement.part(
            "holds_closed",
            format!("DELETE FROM holds WHERE reservation_id = ANY({ids}) AND {gate} RETURNING 1"),
        );
    }
    if !id.is_empty() {
        let (id, sku, expiry) = (
            statement.bind(id, "uuid[]")?,
            statement.bind(sku, "text[]")?,
            statement.bind(expiry, "timestamptz[]")?,
        );
        statement.part(
            "holds_written",
            format!(
                "INSERT INTO holds (reservation_id, sku, expires_at)
                 SELECT * FROM UNNEST({id}, {sku}, {expiry}) AS v WHERE {gate}
                 ON CONFLICT (reservation_id, sku) DO UPDATE SET expires_at = excluded.expires_at
                 RETURNING 1"
            ),
        );
    }
    Ok(())
}

/// Appends the ledger entries, each at its row's next version.
fn ledger(
    statement: &mut Statement,
    entries: &[LedgerEntry],
    versions: &[i64],
    gate: &str,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let number = |f: fn(&LedgerEntry) -> i64| entries.iter().map(f).collect::<Vec<i64>>();
    let text = |f: fn(&LedgerEntry) -> Option<String>| {
        entries.iter().map(f).collect::<Vec<Option<String>>>()
    };
    let columns = [
        statement.bind(text(|e| Some(e.key.sku.to_string())), "text[]")?,
        statement.bind(text(|e| Some(e.key.location.to_string())), "text[]")?,
        statement.bind(versions.to_vec(), "int8[]")?,
        statement.bind(
            entries.iter().map(|e| e.at).collect::<Vec<_>>(),
            "timestamptz[]",
        )?,
        statement.bind(text(|e| Some(e.movement.as_str().to_owned())), "text[]")?,
        statement.bind(number(|e| e.quantity), "int8[]")?,
        statement.bind(number(|e| e.before.on_hand), "int8[]")?,
        statement.bind(number(|e| e.before.reserved), "int8[]")?,
        statement.bind(number(|e| e.before.committed), "int8[]")?,
        statement.bind(number(|e| e.before.in_transit), "int8[]")?,
        statement.bind(number(|e| e.after.on_hand), "int8[]")?,
        statement.bind(number(|e| e.after.reserved), "int8[]")?,
        statement.bind(number(|e| e.after.committed), "int8[]")?,
        statement.bind(number(|e| e.after.in_transit), "int8[]")?,
        statement.bind(
            entries
                .iter()
                .map(|e| e.reservation_id.map(|id| id.as_uuid()))
                .collect::<Vec<_>>(),
            "uuid[]",
        )?,
        statement.bind(
            text(|e| e.order_id.as_ref().map(ToString::to_string)),
            "text[]",
        )?,
        statement.bind(text(|e| e.reason.clone()), "text[]")?,
        statement.bind(text(|e| e.unit_price.map(|p| p.to_string())), "text[]")?,
        statement.bind(
            text(|e| e.idempotency_key.as_ref().map(ToString::to_string)),
            "text[]",
        )?,
    ]
    .join(", ");
    statement.part(
        "ledger_appended",
        format!(
            "INSERT INTO ledger (sku, location, version, at, movement, quantity,
                 before_on_hand, before_reserved, before_committed, before_in_transit,
                 after_on_hand, after_reserved, after_committed, after_in_transit,
                 reservation_id, order_id, reason, unit_price, idempotency_key)
             SELECT * FROM UNNEST({columns}) AS v WHERE {gate}
             ON CONFLICT DO NOTHING
             RETURNING 1"
        ),
    );
    Ok(())
}

/// Marks dirty SKUs in the sync outbox and adds shipments to the daily sales.
fn demand(statement: &mut Statement, changes: &Changes, gate: &str) -> Result<()> {
    if !changes.dirty.is_empty() {
        let dirty: Vec<String> = changes.dirty.iter().map(ToString::to_string).collect();
        let skus = statement.bind(dirty, "text[]")?;
        statement.part(
            "outbox_marked",
            format!(
                "INSERT INTO sync_outbox (sku, generation)
                 SELECT v.sku, 1 FROM UNNEST({skus}) AS v(sku) WHERE {gate}
                 ON CONFLICT (sku) DO UPDATE
                     SET generation = sync_outbox.generation + 1, retry_at = NULL
                 RETURNING 1"
            ),
        );
    }
    let shipped = shipped_in(changes);
    if !shipped.is_empty() {
        let (sku, day, units, revenue) = (
            statement.bind(
                shipped
                    .keys()
                    .map(|(sku, _)| sku.to_string())
                    .collect::<Vec<_>>(),
                "text[]",
            )?,
            statement.bind(
                shipped
                    .keys()
                    .map(|(_, day)| *day)
                    .collect::<Vec<NaiveDate>>(),
                "date[]",
            )?,
            statement.bind(
                shipped
                    .values()
                    .map(|sales| sales.units)
                    .collect::<Vec<_>>(),
                "int8[]",
            )?,
            statement.bind(
                shipped
                    .values()
                    .map(|sales| sales.revenue.to_string())
                    .collect::<Vec<_>>(),
                "text[]",
            )?,
        );
        statement.part(
            "shipped_added",
            format!(
                "INSERT INTO daily_shipped (sku, day, units, revenue)
                 SELECT v.sku, v.day, v.units, v.revenue::numeric
                 FROM UNNEST({sku}, {day}, {units}, {revenue}) AS v(sku, day, units, revenue)
                 WHERE {gate}
                 ON CONFLICT (sku, day) DO UPDATE SET units = daily_shipped.units + excluded.units,
                     revenue = daily_shipped.revenue + excluded.revenue
                 RETURNING 1"
            ),
        );
    }
    Ok(())
}

/// Writes purchase orders raised or changed.
fn purchase_orders(statement: &mut Statement, changes: &Changes, gate: &str) -> Result<()> {
    let orders: Vec<_> = changes.purchase_orders.values().collect();
    if orders.is_empty() {
        return Ok(());
    }
    let lines = orders
        .iter()
        .map(|order| serde_json::to_string(&order.lines).map_err(|e| corrupt("lines", e)))
        .collect::<Result<Vec<String>>>()?;
    let columns = [
        statement.bind(
            orders.iter().map(|o| o.id.as_uuid()).collect::<Vec<_>>(),
            "uuid[]",
        )?,
        statement.bind(
            orders
                .iter()
                .map(|o| o.supplier.to_string())
                .collect::<Vec<_>>(),
            "text[]",
        )?,
        statement.bind(
            orders
                .iter()
                .map(|o| o.status.as_str().to_owned())
                .collect::<Vec<_>>(),
            "text[]",
        )?,
        statement.bind(
            orders
                .iter()
                .map(|o| o.location.to_string())
                .collect::<Vec<_>>(),
            "text[]",
        )?,
        statement.bind(lines, "text[]")?,
        statement.bind(
            orders.iter().map(|o| o.created_at).collect::<Vec<_>>(),
            "timestamptz[]",
        )?,
        statement.bind(
            orders.iter().map(|o| o.updated_at).collect::<Vec<_>>(),
            "timestamptz[]",
        )?,
    ]
    .join(", ");
    statement.part(
        "orders_written",
        format!(
            "INSERT INTO purchase_orders (id, supplier, status, location, lines, created_at, updated_at)
             SELECT v.id, v.supplier, v.status, v.location, v.lines::jsonb, v.created_at, v.updated_at
             FROM UNNEST({columns})
                 AS v(id, supplier, status, location, lines, created_at, updated_at)
             WHERE {gate}
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, lines = excluded.lines,
                 updated_at = excluded.updated_at
             RETURNING 1"
        ),
    );
    Ok(())
}

/// Appends count records, moves each row's last count, writes investigations.
fn counting(statement: &mut Statement, changes: &Changes, gate: &str) -> Result<()> {
    let counts = &changes.counts;
    if !counts.is_empty() {
        let bodies = counts
            .iter()
            .map(|count| serde_json::to_string(count).map_err(|e| corrupt("count", e)))
            .collect::<Result<Vec<String>>>()?;
        let skus: Vec<String> = counts.iter().map(|c| c.sku.to_string()).collect();
        let (sku, body) = (
            statement.bind(skus.clone(), "text[]")?,
            statement.bind(bodies, "text[]")?,
        );
        statement.part(
            "counts_appended",
            format!(
                "INSERT INTO count_records (sku, body)
                 SELECT v.sku, v.body::jsonb
                 FROM UNNEST({sku}, {body}) WITH ORDINALITY AS v(sku, body, n)
                 WHERE {gate}
                 ORDER BY v.n
                 RETURNING 1"
            ),
        );
        let (sku, location, at) = (
            statement.bind(skus, "text[]")?,
            statement.bind(
                counts
                    .iter()
                    .map(|c| c.location.to_string())
                    .collect::<Vec<_>>(),
                "text[]",
            )?,
            statement.bind(
                counts
                    .iter()
                    .map(|c| c.at.timestamp_micros())
                    .collect::<Vec<_>>(),
                "int8[]",
            )?,
        );
        statement.part(
            "last_counted",
            format!(
                "INSERT INTO last_counts (sku, location, at)
                 SELECT v.sku, v.location, MAX(v.at)
                 FROM UNNEST({sku}, {location}, {at}) AS v(sku, location, at)
                 WHERE {gate}
                 GROUP BY v.sku, v.location
                 ON CONFLICT (sku, location) DO UPDATE SET at = GREATEST(last_counts.at, excluded.at)
                 RETURNING 1"
            ),
        );
    }
    let investigations: Vec<_> = changes.investigations.values().collect();
    if !investigations.is_empty() {
        let bodies = investigations
            .iter()
            .map(|item| serde_json::to_string(item).map_err(|e| corrupt("investigation", e)))
            .collect::<Result<Vec<String>>>()?;
        let columns = [
            statement.bind(
                investigations
                    .iter()
                    .map(|i| i.id.as_uuid())
                    .collect::<Vec<_>>(),
                "uuid[]",
            )?,
            statement.bind(
                investigations
                    .iter()
                    .map(|i| i.sku.to_string())
                    .collect::<Vec<_>>(),
                "text[]",
            )?,
            statement.bind(
                investigations
                    .iter()
                    .map(|i| i.resolved_at.is_none())
                    .collect::<Vec<_>>(),
                "bool[]",
            )?,
            statement.bind(
                investigations.iter().map(|i| i.freezes).collect::<Vec<_>>(),
                "bool[]",
            )?,
            statement.bind(bodies, "text[]")?,
        ]
        .join(", ");
        statement.part(
            "investigations_written",
            format!(
                "INSERT INTO investigations (id, sku, open, freezes, body)
                 SELECT v.id, v.sku, v.open, v.freezes, v.body::jsonb
                 FROM UNNEST({columns}) AS v(id, sku, open, freezes, body)
                 WHERE {gate}
                 ON CONFLICT (id) DO UPDATE SET open = excluded.open, body = excluded.body
                 RETURNING 1"
            ),
        );
    }
    Ok(())
}
