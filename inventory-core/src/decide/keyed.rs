//! Movements applied once per idempotency key.

use crate::error::DomainError;
use crate::id::IdempotencyKey;
use crate::ledger::Movement;
use crate::stock::StockKey;

use super::snapshot::Draft;
use super::{decide_in, Command, Outcome};

/// The row, movement, signed quantity and reason a keyed movement writes.
fn signature(command: &Command) -> Result<(&StockKey, Movement, i64, Option<&str>), DomainError> {
    Ok(match command {
        Command::Receive { key, quantity } => (key, Movement::Received, quantity.get(), None),
        Command::AddInTransit { key, quantity } => {
            (key, Movement::TransitAdded, quantity.get(), None)
        }
        Command::ReceiveInTransit { key, quantity } => {
            (key, Movement::TransitReceived, quantity.get(), None)
        }
        Command::Adjust { key, delta, reason } => {
            (key, Movement::Adjusted, *delta, Some(reason.as_str()))
        }
        _ => return Err(DomainError::NotKeyable),
    })
}

/// Applies `command` unless `key` was used: the same movement again returns the row as
/// it left it, a different one is refused.
pub(crate) fn once(
    draft: &mut Draft<'_>,
    key: &IdempotencyKey,
    command: &Command,
) -> Result<Outcome, DomainError> {
    let (row, movement, quantity, reason) = signature(command)?;
    if let Some(entry) = draft.keyed(key) {
        let same = entry.key == *row
            && entry.movement == movement
            && entry.quantity == quantity
            && entry.reason.as_deref() == reason;
        return if same {
            Ok(Outcome::Stock(entry.after))
        } else {
            Err(DomainError::IdempotencyKeyReused { key: key.clone() })
        };
    }
    let written = draft.changes.ledger.len();
    let outcome = decide_in(draft, command)?;
    for entry in &mut draft.changes.ledger[written..] {
        entry.idempotency_key = Some(key.clone());
    }
    Ok(outcome)
}
