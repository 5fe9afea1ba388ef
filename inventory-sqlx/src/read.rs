//! The optimistic read: everything a guarded plan needs, in one statement and one
//! round trip, without locks (one statement sees one consistent snapshot). The write
//! that follows checks under lock that none of it changed ([`Guard`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use inventory_core::counting::Investigation;
use inventory_core::decide::{LoadPlan, Snapshot};
use inventory_core::{
    assemble, by_key, skus_to_lock, LedgerEntry, Reservation, StockKey, StockLevel, StoreError,
};
use serde::Deserialize;
use sqlx::postgres::PgConnection;
use sqlx::Row;
use uuid::Uuid;

use crate::error::corrupt;
use crate::store::{before, strings};
use crate::write::Guard;

/// One row per item read: `kind` (0 reservation, 1 stock row, 2 open investigation,
/// 3 keyed ledger entry) and its JSON, in the core types' serde form. `$1` reservation
/// ids, `$2` SKUs, `$3` whether overdue holds on them are wanted, `$4` now, `$5`
/// idempotency keys. Every lookup is an index probe with a parameter list.
const READ: &str = "
WITH
named AS (
    SELECT id, order_id, status, created_at, expires_at, updated_at, lines, request
    FROM reservations WHERE id = ANY($1::uuid[])
),
overdue AS (
    SELECT id, order_id, status, created_at, expires_at, updated_at, lines, request
    FROM reservations
    WHERE id = ANY(ARRAY(
            SELECT reservation_id FROM holds
            WHERE $3::bool AND sku = ANY($2::text[]) AND expires_at <= $4::timestamptz))
      AND id <> ALL($1::uuid[])
),
held AS (
    SELECT * FROM named UNION ALL SELECT * FROM overdue
),
skus AS (
    SELECT unnest($2::text[]) AS sku
    UNION
    SELECT line->>'sku' FROM held, jsonb_array_elements(held.lines) AS line
)
SELECT 0 AS kind, json_build_object(
        'id', id, 'order_id', order_id, 'status', status, 'lines', lines, 'request', request,
        'created_at', created_at, 'expires_at', expires_at, 'updated_at', updated_at)::text
FROM held
UNION ALL
SELECT 1, json_build_object(
        'sku', sku, 'location', location, 'on_hand', on_hand, 'reserved', reserved,
        'committed', committed, 'in_transit', in_transit, 'version', version)::text
FROM stock WHERE sku = ANY(ARRAY(SELECT sku FROM skus))
UNION ALL
SELECT 2, body::text
FROM investigations WHERE open AND sku = ANY(ARRAY(SELECT sku FROM skus))
UNION ALL
SELECT 3, json_build_object(
        'at', at, 'key', json_build_object('sku', sku, 'location', location),
        'movement', movement, 'quantity', quantity,
        'before', json_build_object('on_hand', before_on_hand, 'reserved', before_reserved,
            'committed', before_committed, 'in_transit', before_in_transit),
        'after', json_build_object('on_hand', after_on_hand, 'reserved', after_reserved,
            'committed', after_committed, 'in_transit', after_in_transit),
        'reservation_id', reservation_id, 'order_id', order_id, 'reason', reason,
        'unit_price', unit_price, 'idempotency_key', idempotency_key)::text
FROM ledger WHERE idempotency_key = ANY($5::text[])";

/// A `stock` row as [`READ`] returns it.
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
    let found = sqlx::query(READ)
        .bind(ids)
        .bind(strings(&plan.skus))
        .bind(plan.overdue_holds)
        .bind(now)
        .bind(keys)
        .fetch_all(connection)
        .await
        .map_err(before)?;
    let (mut held, mut rows, mut investigations, mut keyed) = (vec![], vec![], vec![], vec![]);
    for row in &found {
        let kind: i32 = row.try_get(0).map_err(|e| corrupt("kind", e))?;
        let body: &str = row.try_get(1).map_err(|e| corrupt("body", e))?;
        match kind {
            0 => held.push(json::<Reservation>(body, "reservation")?),
            1 => rows.push(json::<StockRow>(body, "stock row")?),
            2 => investigations.push(json::<Investigation>(body, "investigation")?),
            _ => keyed.push(json::<LedgerEntry>(body, "ledger entry")?),
        }
    }
    let skus = skus_to_lock(plan, &held, &[]);
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
