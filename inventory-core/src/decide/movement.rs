//! Decisions that move units without a reservation: receipts, transit, state changes,
//! adjustments.

use crate::error::DomainError;
use crate::ledger::{Movement, REASON_LENGTH_MAX};
use crate::quantity::Quantity;
use crate::stock::{StockKey, StockLevel, StockState};

use super::snapshot::{Cause, Draft};
use super::StockMovement;

/// Applies one stock movement: the row after it.
pub(crate) fn apply(
    draft: &mut Draft<'_>,
    stock_movement: &StockMovement,
) -> Result<StockLevel, DomainError> {
    match stock_movement {
        StockMovement::Receive { key, quantity } => receive(draft, key, *quantity),
        StockMovement::AddInTransit { key, quantity } => add_in_transit(draft, key, *quantity),
        StockMovement::ReceiveInTransit { key, quantity } => {
            receive_in_transit(draft, key, *quantity)
        }
        StockMovement::ChangeState {
            key,
            from,
            to,
            quantity,
        } => change_state(draft, key, *from, *to, *quantity),
        StockMovement::Adjust { key, delta, reason } => adjust(draft, key, *delta, reason),
    }
}

/// The reason written on the entries of a state change.
pub(crate) fn state_change_reason(from: StockState, to: StockState) -> String {
    format!("stock state {from} -> {to}")
}

/// Moves units between two states of the row's on hand: one entry leaving `from`
/// (unless it is sellable) and one entering `to` (unless it is sellable).
pub(crate) fn change_state(
    draft: &mut Draft<'_>,
    key: &StockKey,
    from: StockState,
    to: StockState,
    quantity: Quantity,
) -> Result<StockLevel, DomainError> {
    if from == to {
        return Err(DomainError::SameStockState { state: from });
    }
    let level = draft.require(key)?;
    let (held, requested) = (level.in_state(from), quantity.get());
    if held < requested {
        return Err(match from {
            StockState::Available => DomainError::InsufficientStock {
                sku: key.sku.clone(),
                location: Some(key.location.clone()),
                available: held,
                requested,
            },
            state => DomainError::InsufficientInState {
                sku: key.sku.clone(),
                location: key.location.clone(),
                state,
                held,
                requested,
            },
        });
    }
    let reason = state_change_reason(from, to);
    let mut after = level;
    if let Some(leaving) = Movement::of_state(from) {
        after = draft.move_units(key, leaving, -requested, Cause::Reason(&reason))?;
    }
    if let Some(entering) = Movement::of_state(to) {
        after = draft.move_units(key, entering, requested, Cause::Reason(&reason))?;
    }
    Ok(after)
}

/// Units arrive on the shelf. Creates the row if the SKU is new at the location.
pub(crate) fn receive(
    draft: &mut Draft<'_>,
    key: &StockKey,
    quantity: Quantity,
) -> Result<StockLevel, DomainError> {
    draft.move_units(key, Movement::Received, quantity.get(), Cause::Stock)
}

/// Units leave a supplier for the location. Creates the row if needed.
pub(crate) fn add_in_transit(
    draft: &mut Draft<'_>,
    key: &StockKey,
    quantity: Quantity,
) -> Result<StockLevel, DomainError> {
    draft.move_units(key, Movement::TransitAdded, quantity.get(), Cause::Stock)
}

/// Units in transit arrive: they move from `in_transit` to `on_hand`.
pub(crate) fn receive_in_transit(
    draft: &mut Draft<'_>,
    key: &StockKey,
    quantity: Quantity,
) -> Result<StockLevel, DomainError> {
    let level = draft.require(key)?;
    if level.in_transit < quantity.get() {
        return Err(DomainError::InsufficientInTransit {
            sku: key.sku.clone(),
            location: key.location.clone(),
            in_transit: level.in_transit,
            requested: quantity.get(),
        });
    }
    draft.move_units(key, Movement::TransitReceived, quantity.get(), Cause::Stock)
}

/// Corrects `on_hand` by a signed `delta`. A decrease may not take units that are
/// promised to reservations: it is limited to what is available.
pub(crate) fn adjust(
    draft: &mut Draft<'_>,
    key: &StockKey,
    delta: i64,
    reason: &str,
) -> Result<StockLevel, DomainError> {
    check_reason(reason)?;
    let decrease = match delta {
        0 => Err("must not be zero"),
        i64::MIN => Err("is out of range"),
        _ => Ok((-delta).max(0)),
    }
    .map_err(|reason| DomainError::InvalidQuantity {
        quantity: delta,
        reason,
    })?;
    let level = draft.require(key)?;
    if decrease > level.available() {
        return Err(DomainError::InsufficientStock {
            sku: key.sku.clone(),
            location: Some(key.location.clone()),
            available: level.available(),
            requested: decrease,
        });
    }
    draft.move_units(key, Movement::Adjusted, delta, Cause::Reason(reason))
}

pub(crate) fn check_reason(reason: &str) -> Result<(), DomainError> {
    let problem = if reason.trim().is_empty() {
        "an adjustment needs a reason"
    } else if reason.len() > REASON_LENGTH_MAX {
        "the reason is longer than 512 bytes"
    } else if reason.chars().any(char::is_control) {
        "the reason contains a control character"
    } else {
        return Ok(());
    };
    Err(DomainError::InvalidReason { problem })
}
