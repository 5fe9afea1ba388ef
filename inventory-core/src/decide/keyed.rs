//! Movements applied once per idempotency key.

use crate::error::DomainError;
use crate::id::IdempotencyKey;
use crate::ledger::Movement;
use crate::stock::{StockKey, StockLevel};

use super::movement;
use super::snapshot::Draft;
use super::StockMovement;

/// The row, movement, signed quantity and reason of the first entry a keyed movement
/// writes.
fn signature(stock_movement: &StockMovement) -> (&StockKey, Movement, i64, Option<String>) {
    match stock_movement {
        StockMovement::Receive { key, quantity } => (key, Movement::Received, quantity.get(), None),
        StockMovement::AddInTransit { key, quantity } => {
            (key, Movement::TransitAdded, quantity.get(), None)
        }
        StockMovement::ReceiveInTransit { key, quantity } => {
            (key, Movement::TransitReceived, quantity.get(), None)
        }
        StockMovement::ChangeState {
            key,
            from,
            to,
            quantity,
        } => {
            let reason = Some(movement::state_change_reason(*from, *to));
            match Movement::of_state(*from) {
                Some(leaving) => (key, leaving, -quantity.get(), reason),
                None => {
                    let entering = Movement::of_state(*to).unwrap_or(Movement::Adjusted);
                    (key, entering, quantity.get(), reason)
                }
            }
        }
        StockMovement::Adjust { key, delta, reason } => {
            (key, Movement::Adjusted, *delta, Some(reason.clone()))
        }
    }
}

/// Applies `stock_movement` unless `key` was used: the same movement again returns the
/// row as it left it, a different one is refused.
pub(crate) fn once(
    draft: &mut Draft<'_>,
    key: &IdempotencyKey,
    stock_movement: &StockMovement,
) -> Result<StockLevel, DomainError> {
    let (row, kind, quantity, reason) = signature(stock_movement);
    if let Some(entry) = draft.keyed(key) {
        let same = entry.key == *row
            && entry.movement == kind
            && entry.quantity == quantity
            && entry.reason == reason;
        return if same {
            Ok(entry.after)
        } else {
            Err(DomainError::IdempotencyKeyReused { key: key.clone() })
        };
    }
    let written = draft.changes.ledger.len();
    let level = movement::apply(draft, stock_movement)?;
    // The key marks the first entry only: a key is unique over the whole ledger.
    if let Some(entry) = draft.changes.ledger.get_mut(written) {
        entry.idempotency_key = Some(key.clone());
    }
    Ok(level)
}
