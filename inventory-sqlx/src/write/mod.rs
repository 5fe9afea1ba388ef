//! The one statement that writes a unit's changes: a part per table that has something
//! to write (nothing else is sent or planned), each part's parameters bound beside its
//! text. An optimistic unit's statement first locks and checks what the unit read
//! ([`Guard`]); every part waits for that check, so a stale unit writes nothing.
//!
//! The statement ends by checking that every insert of a row the unit had not seen went
//! in; when one did not (another unit created it first) it raises a serialization
//! failure, so the whole statement, and with it the transaction, is undone and retried.

use std::collections::{HashMap, HashSet};

use inventory_core::decide::Changes;
use inventory_core::{Reservation, ReservationId, StockKey, StoreError};
use sqlx::postgres::PgArguments;

use crate::statement::Statement;

mod records;
mod rows;

use records::{counting, demand, events, ledger, purchase_orders};
use rows::{holds, reservations, stock};

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
    events(&mut statement, changes, gate)?;
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
/// it is as it was read and no row of those SKUs has appeared. Only what the unit read
/// is planned: a unit that found no reservation locks none.
fn guard_parts(statement: &mut Statement, guard: &Guard) -> Result<()> {
    let held = &guard.reservations;
    let mut checks = Vec::new();
    let mut after_held = "";
    if !held.is_empty() {
        let read_ids = statement.column(held, |r| r.id.as_uuid(), "uuid[]")?;
        statement.part(
            "held_locked",
            format!(
                "SELECT id, status, expires_at, updated_at FROM reservations
                 WHERE id = ANY({read_ids}) ORDER BY id FOR UPDATE"
            ),
        );
        let (status, expires, updated) = (
            statement.column(held, |r| r.status.as_str(), "text[]")?,
            statement.column(held, |r| r.expires_at, "timestamptz[]")?,
            statement.column(held, |r| r.updated_at, "timestamptz[]")?,
        );
        let read_reservations = statement.bind(count(held.len()), "int8")?;
        checks.push(format!(
            "(SELECT count(*) FROM held_locked h
              JOIN UNNEST({read_ids}, {status}, {expires}, {updated})
                  AS v(id, status, expires_at, updated_at)
              ON h.id = v.id AND h.status = v.status AND h.expires_at = v.expires_at
                 AND h.updated_at = v.updated_at) = {read_reservations}"
        ));
        after_held = " AND (SELECT count(*) FROM held_locked) >= 0";
    }
    let skus = statement.bind(guard.skus.clone(), "text[]")?;
    statement.part(
        "stock_locked",
        format!(
            "SELECT sku, location, version FROM stock
             WHERE sku = ANY({skus}){after_held}
             ORDER BY sku, location FOR UPDATE"
        ),
    );
    let (row_sku, row_location, row_version) = (
        statement.column(&guard.rows, |(key, _)| key.sku.to_string(), "text[]")?,
        statement.column(&guard.rows, |(key, _)| key.location.to_string(), "text[]")?,
        statement.column(&guard.rows, |(_, version)| *version, "int8[]")?,
    );
    let read_rows = statement.bind(count(guard.rows.len()), "int8")?;
    // Every row locked now is a row read, at the version read: as many locked as read,
    // and every one of them matched.
    checks.push(format!(
        "(SELECT count(*) = {read_rows} AND count(v.sku) = {read_rows}
          FROM stock_locked s
          LEFT JOIN UNNEST({row_sku}, {row_location}, {row_version}) AS v(sku, location, version)
          ON s.sku = v.sku AND s.location = v.location AND s.version = v.version)"
    ));
    statement.part(
        "guard",
        format!(
            "SELECT CASE WHEN {}
             THEN true
             ELSE inventory_stale('a row this unit read was changed before its write') END AS ok",
            checks.join("\n AND ")
        ),
    );
    Ok(())
}

pub(super) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Ledger versions continue each row's count: the version of every new entry, and the
/// last version of each row.
pub(super) struct LedgerVersions {
    per_entry: Vec<i64>,
    pub(super) last: HashMap<StockKey, i64>,
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
