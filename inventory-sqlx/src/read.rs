//! The optimistic read: everything a guarded plan needs, in one statement and one
//! round trip, without locks (one statement sees one consistent snapshot). The write
//! that follows checks under lock that none of it changed ([`Guard`]).

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use inventory_core::backend::{assemble, by_key, skus_to_lock};
use inventory_core::counting::Investigation;
use inventory_core::decide::{LoadPlan, Snapshot};
use inventory_core::{LedgerEntry, Reservation, StockKey, StockLevel, StoreError};
use serde::Deserialize;
use sqlx::postgres::PgConnection;
use sqlx::Row;
use uuid::Uuid;

use crate::error::corrupt;
use crate::store::{before, strings};
use crate::write::Guard;

/// One row per item read: `kind` (0 reservation, 1 stock row, 2 open investigation,
/// 3 keyed ledger entry, 4 a hold owed backordered units on a SKU read) and its JSON, in the core types' serde form. `$1` reservation
/// ids, `$2` SKUs, `$3` now, `$4` idempotency keys. Every lookup is an index probe with
/// a parameter list. Overdue holds and keyed entries are asked for only by the plans
/// that need them (a statement per shape, each planned once per connection), so a plan
/// runs no part it does not use.
fn statement(overdue: bool, keyed: bool) -> &'static str {
    static SHAPES: LazyLock<[String; 4]> = LazyLock::new(|| {
        let shape = |overdue: bool, keyed: bool| {
            let held = if overdue { OVERDUE } else { NO_OVERDUE };
            let keyed = if keyed { KEYED } else { "" };
            [HEAD, held, BODY, keyed].concat()
        };
        [
            shape(false, false),
            shape(false, true),
            shape(true, false),
            shape(true, true),
        ]
    });
    &SHAPES[usize::from(overdue) * 2 + usize::from(keyed)]
}

macro_rules! parts {
    ($($name:ident = $text:literal;)*) => { $(const $name: &str = $text;)* };
}

parts! {
HEAD = "
WITH
named AS (
    SELECT id, order_id, status, created_at, expires_at, updated_at, lines, request, returns
    FROM reservations WHERE id = ANY($1::uuid[])
),";
OVERDUE = "
overdue AS (
    SELECT id, order_id, status, created_at, expires_at, updated_at, lines, request, returns
    FROM reservations
    WHERE id = ANY(ARRAY(
            SELECT reservation_id FROM holds
            WHERE sku = ANY($2::text[]) AND expires_at <= $3::timestamptz))
      AND id <> ALL($1::uuid[])
),
held AS (
    SELECT * FROM named UNION ALL SELECT * FROM overdue
),";
NO_OVERDUE = "
held AS (
    SELECT * FROM named
),";
BODY = "
skus AS (
    SELECT unnest($2::text[]) AS sku
    UNION
    SELECT line->>'sku' FROM held, jsonb_array_elements(held.lines) AS line
)
SELECT 0 AS kind, json_build_object(
        'id', id, 'order_id', order_id, 'status', status, 'lines', lines, 'request', request,
        'created_at', created_at, 'expires_at', expires_at, 'updated_at', updated_at,
        'returns', returns)::text
FROM held
UNION ALL
SELECT 1, json_build_object(
        'sku', sku, 'location', location, 'on_hand', on_hand, 'reserved', reserved,
        'committed', committed, 'in_transit', in_transit, 'damaged', damaged,
        'quality_control', quality_control, 'safety_stock', safety_stock,
        'backordered', backordered, 'version', version)::text
FROM stock WHERE sku = ANY(ARRAY(SELECT sku FROM skus))
UNION ALL
SELECT 2, body::text
FROM investigations WHERE open AND sku = ANY(ARRAY(SELECT sku FROM skus))
UNION ALL
SELECT 4, json_build_object(
        'id', id, 'order_id', order_id, 'status', status, 'lines', lines, 'request', request,
        'created_at', created_at, 'expires_at', expires_at, 'updated_at', updated_at,
        'returns', returns)::text
FROM reservations
WHERE id = ANY(ARRAY(
    SELECT reservation_id FROM holds
    WHERE sku = ANY(ARRAY(
        SELECT sku FROM stock
        WHERE sku = ANY(ARRAY(SELECT sku FROM skus)) AND backordered > 0))))";
KEYED = "
UNION ALL
SELECT 3, json_build_object(
        'at', at, 'key', json_build_object('sku', sku, 'location', location),
        'movement', movement, 'quantity', quantity,
        'before', json_build_object('on_hand', before_on_hand, 'reserved', before_reserved,
            'committed', before_committed, 'in_transit', before_in_transit,
            'damaged', before_damaged, 'quality_control', before_quality_control,
            'safety_stock', before_safety_stock, 'backordered', before_backordered),
        'after', json_build_object('on_hand', after_on_hand, 'reserved', after_reserved,
            'committed', after_committed, 'in_transit', after_in_transit,
            'damaged', after_damaged, 'quality_control', after_quality_control,
            'safety_stock', after_safety_stock, 'backordered', after_backordered),
        'reservation_id', reservation_id, 'order_id', order_id, 'reason', reason,
        'unit_price', unit_price, 'idempotency_key', idempotency_key,
        'actor', actor, 'reference', reference)::text
FROM ledger WHERE idempotency_key = ANY($4::text[])";
}

/// A `stock` row as the read returns it.
#[derive(Deserialize)]
struct StockRow {
    #[serde(flatten)]
    key: StockKey,
    #[serde(flatten)]
    level: StockLevel,
    version: i64,
}

/// What the optimistic read found: the snapshot to decide on, the version of each row,
/// and the guard its write must pass.
pub(crate) struct Read {
    pub(crate) snapshot: Snapshot,
    pub(crate) versions: HashMap<StockKey, i64>,
    pub(crate) guard: Guard,
}

/// Reads what `plan` names (a plan whose reads are guarded) in one round trip.
pub(crate) async fn read(
    connection: &mut PgConnection,
    plan: &LoadPlan,
    now: DateTime<Utc>,
) -> Result<Read, StoreError> {
    let ids: Vec<Uuid> = plan.reservations.iter().map(|id| id.as_uuid()).collect();
    let keys: Vec<String> = plan
        .idempotency_keys
        .iter()
        .map(ToString::to_string)
        .collect();
    let text = statement(plan.overdue_holds, !keys.is_empty());
    let found = sqlx::query(sqlx::AssertSqlSafe(text))
        .bind(ids)
        .bind(strings(&plan.skus))
        .bind(now)
        .bind(keys)
        .fetch_all(connection)
        .await
        .map_err(before)?;
    let (mut held, mut rows, mut investigations, mut keyed) = (vec![], vec![], vec![], vec![]);
    let mut owed = Vec::new();
    for row in &found {
        let kind: i32 = row.try_get(0).map_err(|e| corrupt("kind", e))?;
        let body: &str = row.try_get(1).map_err(|e| corrupt("body", e))?;
        match kind {
            0 => held.push(json::<Reservation>(body, "reservation")?),
            1 => rows.push(json::<StockRow>(body, "stock row")?),
            2 => investigations.push(json::<Investigation>(body, "investigation")?),
            4 => owed.push(json::<Reservation>(body, "reservation")?),
            _ => keyed.push(json::<LedgerEntry>(body, "ledger entry")?),
        }
    }
    // Holds owed backordered units are read (and guarded) too, but their other rows
    // are not: the write locks the SKUs of what the plan named.
    let skus = skus_to_lock(plan, &held, &[]);
    held.extend(owed);
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    let guard = Guard {
        skus: strings(&skus),
        rows: rows
            .iter()
            .map(|row| (row.key.clone(), row.version))
            .collect(),
        reservations: held.clone(),
    };
    let versions = rows
        .iter()
        .map(|row| (row.key.clone(), row.version))
        .collect();
    let stock = rows.into_iter().map(|row| (row.key, row.level)).collect();
    let mut snapshot = assemble(held, stock, Vec::new());
    snapshot.investigations = investigations.into_iter().map(|i| (i.id, i)).collect();
    snapshot.keyed = by_key(keyed);
    Ok(Read {
        snapshot,
        versions,
        guard,
    })
}

fn json<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| corrupt(what, e))
}
