//! The parts that write stock rows, reservations and their holds.

use std::collections::{BTreeSet, HashMap, HashSet};

use inventory_core::decide::Changes;
use inventory_core::{Reservation, ReservationId, ReservationStatus, StockKey, StockLevel};

use super::{LedgerVersions, Result};
use crate::statement::Statement;

/// Stock rows as column arrays.
#[derive(Default)]
struct StockColumns {
    sku: Vec<String>,
    location: Vec<String>,
    on_hand: Vec<i64>,
    reserved: Vec<i64>,
    committed: Vec<i64>,
    in_transit: Vec<i64>,
    damaged: Vec<i64>,
    quality_control: Vec<i64>,
    safety_stock: Vec<i64>,
    backordered: Vec<i64>,
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
        self.damaged.push(level.damaged);
        self.quality_control.push(level.quality_control);
        self.safety_stock.push(level.safety_stock);
        self.backordered.push(level.backordered);
        self.version.push(version);
    }

    /// `UNNEST(...)` of the eleven columns.
    fn unnest(self, statement: &mut Statement) -> Result<String> {
        Ok(format!(
            "UNNEST({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            statement.bind(self.sku, "text[]")?,
            statement.bind(self.location, "text[]")?,
            statement.bind(self.on_hand, "int8[]")?,
            statement.bind(self.reserved, "int8[]")?,
            statement.bind(self.committed, "int8[]")?,
            statement.bind(self.in_transit, "int8[]")?,
            statement.bind(self.damaged, "int8[]")?,
            statement.bind(self.quality_control, "int8[]")?,
            statement.bind(self.safety_stock, "int8[]")?,
            statement.bind(self.backordered, "int8[]")?,
            statement.bind(self.version, "int8[]")?,
        ))
    }
}

/// Updates the rows the unit loaded and inserts new ones; returns how many are new.
pub(super) fn stock(
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
                     in_transit = v.in_transit, damaged = v.damaged,
                     quality_control = v.quality_control, safety_stock = v.safety_stock,
                     backordered = v.backordered, version = v.version
                 FROM {rows} AS v(sku, location, on_hand, reserved, committed, in_transit,
                     damaged, quality_control, safety_stock, backordered, version)
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
                "INSERT INTO stock (sku, location, on_hand, reserved, committed, in_transit,
                     damaged, quality_control, safety_stock, backordered, version)
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
pub(super) fn reservations(
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
        let id = statement.column(&changed, |r| r.id.as_uuid(), "uuid[]")?;
        let status = statement.column(&changed, |r| r.status.as_str(), "text[]")?;
        let expires = statement.column(&changed, |r| r.expires_at, "timestamptz[]")?;
        let updated = statement.column(&changed, |r| r.updated_at, "timestamptz[]")?;
        // Returns are sent only for reservations that have some: the hot path's
        // transitions send a NULL and keep the stored (empty) list.
        let returns = changed
            .iter()
            .map(|r| match r.returns.is_empty() {
                true => Ok(None),
                false => serde_json::to_string(&r.returns)
                    .map(Some)
                    .map_err(|e| inventory_core::StoreError::corrupt("returns", e)),
            })
            .collect::<Result<Vec<Option<String>>>>()?;
        let returns = statement.bind(returns, "text[]")?;
        // Lines change when an arrival covers what a hold was owed.
        let lines = statement.json_column(&changed, |r| &r.lines, "lines")?;
        statement.part(
            "reservations_updated",
            format!(
                "UPDATE reservations AS r
                 SET status = v.status, expires_at = v.expires_at, updated_at = v.updated_at,
                     lines = v.lines::jsonb, returns = COALESCE(v.returns::jsonb, r.returns)
                 FROM UNNEST({id}, {status}, {expires}, {updated}, {lines}, {returns})
                     AS v(id, status, expires_at, updated_at, lines, returns)
                 WHERE r.id = v.id AND {gate}
                 RETURNING 1"
            ),
        );
    }
    if !new.is_empty() {
        let columns = [
            statement.column(&new, |r| r.id.as_uuid(), "uuid[]")?,
            statement.column(&new, |r| r.order_id.to_string(), "text[]")?,
            statement.column(&new, |r| r.status.as_str(), "text[]")?,
            statement.column(&new, |r| r.created_at, "timestamptz[]")?,
            statement.column(&new, |r| r.expires_at, "timestamptz[]")?,
            statement.column(&new, |r| r.updated_at, "timestamptz[]")?,
            statement.json_column(&new, |r| &r.lines, "lines")?,
            statement.json_column(&new, |r| &r.request, "request")?,
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

/// Keeps `holds` in step with the reservations written: one row per SKU of an open
/// reservation, with its expiry while active (NULL once committed), none once closed.
pub(super) fn holds(statement: &mut Statement, changes: &Changes, gate: &str) -> Result<()> {
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
