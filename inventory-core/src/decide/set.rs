//! Bulk set with compare-and-set: absolute on-hand numbers for many rows, all or none.

use std::collections::BTreeSet;

use crate::bulk::{BulkSet, SetResult, StaleRow, BULK_SET_ROWS_MAX};
use crate::counting::{check_name, shortage};
use crate::error::DomainError;
use crate::id::IdempotencyKey;
use crate::ledger::{check_reference, Movement};

use super::movement::check_reason;
use super::snapshot::{Cause, Draft};

/// Checks the set's shape: rows, reason, reference, actor; no stock is read.
fn check(set: &BulkSet) -> Result<(), DomainError> {
    let invalid = |problem: String| Err(DomainError::InvalidBulkSet { problem });
    if set.rows.is_empty() {
        return invalid("it names no row".to_owned());
    }
    if set.rows.len() > BULK_SET_ROWS_MAX {
        return invalid(format!(
            "{} rows, at most {BULK_SET_ROWS_MAX}",
            set.rows.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for row in &set.rows {
        if !seen.insert(&row.key) {
            return invalid(format!("{} at {} twice", row.key.sku, row.key.location));
        }
        for number in std::iter::once(row.on_hand).chain(row.expected_on_hand) {
            if number < 0 {
                return Err(DomainError::InvalidQuantity {
                    quantity: number,
                    reason: "an on hand is never below zero",
                });
            }
        }
    }
    check_reason(&set.reason)?;
    if let Some(reference) = &set.reference {
        check_reference(reference)?;
    }
    if let Some(actor) = &set.actor {
        check_name(actor)?;
    }
    Ok(())
}

/// Applies `set`, once per `key` when one is given: every row's expectation holds or
/// nothing is set; each row gets one [`Movement::Set`] entry (zero when it already held
/// the number, a record that it was confirmed).
pub(crate) fn bulk_set(
    draft: &mut Draft<'_>,
    set: &BulkSet,
    key: Option<&IdempotencyKey>,
) -> Result<Vec<SetResult>, DomainError> {
    check(set)?;
    if let Some(key) = key {
        if let Some(answer) = replayed(draft, set, key)? {
            return Ok(answer);
        }
    }
    let stale: Vec<StaleRow> = set
        .rows
        .iter()
        .filter_map(|row| {
            let expected_on_hand = row.expected_on_hand?;
            let current_on_hand = draft.level(&row.key).unwrap_or_default().on_hand;
            (current_on_hand != expected_on_hand).then(|| StaleRow {
                key: row.key.clone(),
                expected_on_hand,
                current_on_hand,
            })
        })
        .collect();
    if !stale.is_empty() {
        return Err(DomainError::StaleExpectations { rows: stale });
    }
    let mut results = Vec::with_capacity(set.rows.len());
    for (index, row) in set.rows.iter().enumerate() {
        let current = draft.level(&row.key).unwrap_or_default().on_hand;
        let cause = Cause::Document {
            reason: &set.reason,
            reference: set.reference.as_deref(),
            actor: set.actor.as_deref(),
        };
        let level = draft.move_units(&row.key, Movement::Set, row.on_hand - current, cause)?;
        if let Some(key) = key {
            let entry = draft.changes.ledger.last_mut();
            if let Some(entry) = entry {
                entry.idempotency_key = Some(key.part(index));
            }
        }
        results.push(SetResult {
            key: row.key.clone(),
            level,
            shortage: shortage(&level),
        });
    }
    Ok(results)
}

/// The answer of the set first applied under `key`, when it was: the rows as it left
/// them. `None` when the key is unused; an error when it was used for another set.
fn replayed(
    draft: &Draft<'_>,
    set: &BulkSet,
    key: &IdempotencyKey,
) -> Result<Option<Vec<SetResult>>, DomainError> {
    if draft.keyed(key).is_none() {
        return Ok(None);
    }
    let reused = || DomainError::IdempotencyKeyReused { key: key.clone() };
    let mut answer = Vec::with_capacity(set.rows.len());
    for (index, row) in set.rows.iter().enumerate() {
        let entry = draft.keyed(&key.part(index)).ok_or_else(reused)?;
        let same = entry.key == row.key
            && entry.movement == Movement::Set
            && entry.after.on_hand == row.on_hand
            && entry.reason.as_deref() == Some(set.reason.as_str());
        if !same {
            return Err(reused());
        }
        answer.push(SetResult {
            key: row.key.clone(),
            level: entry.after,
            shortage: shortage(&entry.after),
        });
    }
    if draft.keyed(&key.part(set.rows.len())).is_some() {
        return Err(reused());
    }
    Ok(Some(answer))
}
