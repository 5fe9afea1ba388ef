//! The parts that append records: ledger entries, outbox marks, daily sales, purchase
//! orders, counts and investigations.

use inventory_core::decide::Changes;
use inventory_core::reorder::shipped_in;
use inventory_core::LedgerEntry;

use super::Result;
use crate::statement::Statement;

/// Appends the ledger entries, each at its row's next version.
pub(super) fn ledger(
    statement: &mut Statement,
    entries: &[LedgerEntry],
    versions: &[i64],
    gate: &str,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let columns = [
        statement.column(entries, |e| e.key.sku.to_string(), "text[]")?,
        statement.column(entries, |e| e.key.location.to_string(), "text[]")?,
        statement.bind(versions.to_vec(), "int8[]")?,
        statement.column(entries, |e| e.at, "timestamptz[]")?,
        statement.column(entries, |e| e.movement.as_str(), "text[]")?,
        statement.column(entries, |e| e.quantity, "int8[]")?,
        statement.column(entries, |e| e.before.on_hand, "int8[]")?,
        statement.column(entries, |e| e.before.reserved, "int8[]")?,
        statement.column(entries, |e| e.before.committed, "int8[]")?,
        statement.column(entries, |e| e.before.in_transit, "int8[]")?,
        statement.column(entries, |e| e.before.damaged, "int8[]")?,
        statement.column(entries, |e| e.before.quality_control, "int8[]")?,
        statement.column(entries, |e| e.before.safety_stock, "int8[]")?,
        statement.column(entries, |e| e.before.backordered, "int8[]")?,
        statement.column(entries, |e| e.after.on_hand, "int8[]")?,
        statement.column(entries, |e| e.after.reserved, "int8[]")?,
        statement.column(entries, |e| e.after.committed, "int8[]")?,
        statement.column(entries, |e| e.after.in_transit, "int8[]")?,
        statement.column(entries, |e| e.after.damaged, "int8[]")?,
        statement.column(entries, |e| e.after.quality_control, "int8[]")?,
        statement.column(entries, |e| e.after.safety_stock, "int8[]")?,
        statement.column(entries, |e| e.after.backordered, "int8[]")?,
        statement.column(
            entries,
            |e| e.reservation_id.map(|id| id.as_uuid()),
            "uuid[]",
        )?,
        statement.column(
            entries,
            |e| e.order_id.as_ref().map(ToString::to_string),
            "text[]",
        )?,
        statement.column(entries, |e| e.reason.clone(), "text[]")?,
        statement.column(entries, |e| e.unit_price.map(|p| p.to_string()), "text[]")?,
        statement.column(
            entries,
            |e| e.idempotency_key.as_ref().map(ToString::to_string),
            "text[]",
        )?,
        statement.column(entries, |e| e.actor.clone(), "text[]")?,
        statement.column(entries, |e| e.reference.clone(), "text[]")?,
    ]
    .join(", ");
    statement.part(
        "ledger_appended",
        format!(
            "INSERT INTO ledger (sku, location, version, at, movement, quantity,
                 before_on_hand, before_reserved, before_committed, before_in_transit,
                 before_damaged, before_quality_control, before_safety_stock,
                 before_backordered,
                 after_on_hand, after_reserved, after_committed, after_in_transit,
                 after_damaged, after_quality_control, after_safety_stock,
                 after_backordered,
                 reservation_id, order_id, reason, unit_price, idempotency_key, actor,
                 reference)
             SELECT * FROM UNNEST({columns}) AS v WHERE {gate}
             ON CONFLICT DO NOTHING
             RETURNING 1"
        ),
    );
    Ok(())
}

/// Marks dirty SKUs in the sync outbox and adds shipments to the daily sales.
pub(super) fn demand(statement: &mut Statement, changes: &Changes, gate: &str) -> Result<()> {
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
    let shipped: Vec<_> = shipped_in(changes).into_iter().collect();
    if !shipped.is_empty() {
        let (sku, day, units, revenue) = (
            statement.column(&shipped, |((sku, _), _)| sku.to_string(), "text[]")?,
            statement.column(&shipped, |((_, day), _)| *day, "date[]")?,
            statement.column(&shipped, |(_, sales)| sales.units, "int8[]")?,
            statement.column(&shipped, |(_, sales)| sales.revenue.to_string(), "text[]")?,
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
pub(super) fn purchase_orders(
    statement: &mut Statement,
    changes: &Changes,
    gate: &str,
) -> Result<()> {
    let orders: Vec<_> = changes.purchase_orders.values().collect();
    if orders.is_empty() {
        return Ok(());
    }
    let columns = [
        statement.column(&orders, |o| o.id.as_uuid(), "uuid[]")?,
        statement.column(&orders, |o| o.supplier.to_string(), "text[]")?,
        statement.column(&orders, |o| o.status.as_str().to_owned(), "text[]")?,
        statement.column(&orders, |o| o.location.to_string(), "text[]")?,
        statement.json_column(&orders, |o| &o.lines, "lines")?,
        statement.column(&orders, |o| o.created_at, "timestamptz[]")?,
        statement.column(&orders, |o| o.updated_at, "timestamptz[]")?,
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
pub(super) fn counting(statement: &mut Statement, changes: &Changes, gate: &str) -> Result<()> {
    let counts = &changes.counts;
    if !counts.is_empty() {
        let skus: Vec<String> = counts.iter().map(|c| c.sku.to_string()).collect();
        let (sku, body) = (
            statement.bind(skus.clone(), "text[]")?,
            statement.json_column(counts, |count| count, "count")?,
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
            statement.column(counts, |c| c.location.to_string(), "text[]")?,
            statement.column(counts, |c| c.at.timestamp_micros(), "int8[]")?,
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
    transfers(statement, changes, gate)?;
    let investigations: Vec<_> = changes.investigations.values().collect();
    if !investigations.is_empty() {
        let columns = [
            statement.column(&investigations, |i| i.id.as_uuid(), "uuid[]")?,
            statement.column(&investigations, |i| i.sku.to_string(), "text[]")?,
            statement.column(&investigations, |i| i.is_open(), "bool[]")?,
            statement.column(&investigations, |i| i.freezes, "bool[]")?,
            statement.json_column(&investigations, |i| *i, "investigation")?,
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

/// Inserts or updates the decided transfers.
fn transfers(statement: &mut Statement, changes: &Changes, gate: &str) -> Result<()> {
    let transfers: Vec<_> = changes.transfers.values().collect();
    if transfers.is_empty() {
        return Ok(());
    }
    let columns = [
        statement.column(&transfers, |t| t.id.as_uuid(), "uuid[]")?,
        statement.column(&transfers, |t| t.sku.to_string(), "text[]")?,
        statement.column(&transfers, |t| t.status.as_str(), "text[]")?,
        statement.column(&transfers, |t| t.updated_at, "timestamptz[]")?,
        statement.json_column(&transfers, |t| *t, "transfer")?,
    ]
    .join(", ");
    statement.part(
        "transfers_written",
        format!(
            "INSERT INTO transfers (id, sku, status, updated_at, body)
             SELECT v.id, v.sku, v.status, v.updated_at, v.body::jsonb
             FROM UNNEST({columns}) AS v(id, sku, status, updated_at, body)
             WHERE {gate}
             ON CONFLICT (id) DO UPDATE SET
                status = excluded.status, updated_at = excluded.updated_at, body = excluded.body
             RETURNING 1"
        ),
    );
    Ok(())
}

/// Appends the low-stock events a unit raised to the outbox, in order.
pub(super) fn events(statement: &mut Statement, changes: &Changes, gate: &str) -> Result<()> {
    if changes.events.is_empty() {
        return Ok(());
    }
    let sku = statement.column(&changes.events, |e| e.sku.to_string(), "text[]")?;
    let body = statement.json_column(&changes.events, |e| e, "stock event")?;
    statement.part(
        "events_appended",
        format!(
            "INSERT INTO stock_events (sku, body)
             SELECT v.sku, v.body::jsonb
             FROM UNNEST({sku}, {body}) WITH ORDINALITY AS v(sku, body, n)
             WHERE {gate}
             ORDER BY v.n
             RETURNING 1"
        ),
    );
    Ok(())
}
