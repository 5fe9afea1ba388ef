//! Transfers between locations: ship, receive (partly or wholly), close.

use crate::error::DomainError;
use crate::id::IdempotencyKey;
use crate::ledger::Movement;
use crate::quantity::Quantity;
use crate::stock::StockKey;
use crate::transfer::{
    transfer_reference, Transfer, TransferId, TransferLeg, TransferRequest, TransferStatus,
};

use super::snapshot::{Cause, Draft};

/// Ships `request` as transfer `id`: the units leave the source's sellable stock and
/// enter the destination's transit. A transfer already shipped under this id answers
/// itself when it is the same request.
pub(crate) fn ship(
    draft: &mut Draft<'_>,
    id: TransferId,
    request: &TransferRequest,
) -> Result<Transfer, DomainError> {
    if let Some(existing) = draft.transfer(&id) {
        let same = existing.sku == request.sku
            && existing.from == request.from
            && existing.to == request.to
            && existing.quantity == request.quantity.get();
        return match (same, &request.idempotency_key) {
            (true, _) => Ok(existing.clone()),
            (false, Some(key)) => Err(DomainError::IdempotencyKeyReused { key: key.clone() }),
            (false, None) => Err(DomainError::InconsistentState {
                detail: format!("transfer {id} exists with other numbers"),
            }),
        };
    }
    if request.from == request.to {
        return Err(DomainError::InvalidTransfer {
            problem: format!("it ships from {} to itself", request.from),
        });
    }
    if draft.is_frozen(&request.sku) {
        return Err(DomainError::SkuFrozen {
            sku: request.sku.clone(),
        });
    }
    let source = StockKey::new(request.sku.clone(), request.from.clone());
    let units = request.quantity.get();
    let available = draft.require(&source)?.available();
    if available < units {
        return Err(DomainError::InsufficientStock {
            sku: request.sku.clone(),
            location: Some(request.from.clone()),
            available,
            requested: units,
        });
    }
    let destination = StockKey::new(request.sku.clone(), request.to.clone());
    let reason = format!("transfer to {}", request.to);
    draft.move_units(
        &source,
        Movement::TransferredOut,
        units,
        Cause::Transfer {
            id,
            reason: &reason,
        },
    )?;
    let reason = format!("transfer from {}", request.from);
    let cause = Cause::Transfer {
        id,
        reason: &reason,
    };
    draft.move_units(&destination, Movement::TransitAdded, units, cause)?;
    let transfer = Transfer {
        id,
        sku: request.sku.clone(),
        from: request.from.clone(),
        to: request.to.clone(),
        quantity: units,
        received: 0,
        written_off: 0,
        status: TransferStatus::InTransit,
        idempotency_key: request.idempotency_key.clone(),
        created_at: draft.now,
        updated_at: draft.now,
    };
    draft.put_transfer(transfer.clone());
    Ok(transfer)
}

fn find(draft: &Draft<'_>, id: &TransferId) -> Result<Transfer, DomainError> {
    draft
        .transfer(id)
        .cloned()
        .ok_or(DomainError::TransferNotFound { id: *id })
}

/// Receives `quantity` units of transfer `id` at its destination (everything
/// outstanding when `None`), once per `key` when one is given.
pub(crate) fn receive(
    draft: &mut Draft<'_>,
    id: &TransferId,
    quantity: Option<Quantity>,
    key: Option<&IdempotencyKey>,
) -> Result<Transfer, DomainError> {
    let mut transfer = find(draft, id)?;
    if let Some(key) = key {
        if let Some(entry) = draft.keyed(key) {
            let same = entry.reference.as_deref() == Some(transfer_reference(id).as_str())
                && entry.movement == Movement::TransitReceived
                && quantity.is_none_or(|units| units.get() == entry.quantity);
            return if same {
                Ok(transfer)
            } else {
                Err(DomainError::IdempotencyKeyReused { key: key.clone() })
            };
        }
    }
    if transfer.status != TransferStatus::InTransit {
        return Err(DomainError::InvalidTransferState {
            id: *id,
            current: transfer.status,
            wanted: TransferLeg::Receive,
        });
    }
    let outstanding = transfer.outstanding();
    let units = quantity.map_or(outstanding, Quantity::get);
    if units > outstanding {
        return Err(DomainError::InsufficientInTransit {
            sku: transfer.sku.clone(),
            location: transfer.to.clone(),
            in_transit: outstanding,
            requested: units,
        });
    }
    let destination = StockKey::new(transfer.sku.clone(), transfer.to.clone());
    let reason = format!("transfer from {}", transfer.from);
    let cause = Cause::Transfer {
        id: *id,
        reason: &reason,
    };
    draft.move_units(&destination, Movement::TransitReceived, units, cause)?;
    if let (Some(key), Some(entry)) = (key, draft.changes.ledger.last_mut()) {
        entry.idempotency_key = Some(key.clone());
    }
    transfer.received += units;
    if transfer.outstanding() == 0 {
        transfer.status = TransferStatus::Received;
    }
    transfer.updated_at = draft.now;
    draft.put_transfer(transfer.clone());
    Ok(transfer)
}

/// Closes transfer `id` early: what never arrived is written off the destination's
/// transit. A closed transfer answers itself; a received one cannot be closed.
pub(crate) fn close(draft: &mut Draft<'_>, id: &TransferId) -> Result<Transfer, DomainError> {
    let mut transfer = find(draft, id)?;
    match transfer.status {
        TransferStatus::Closed => return Ok(transfer),
        TransferStatus::Received => {
            return Err(DomainError::InvalidTransferState {
                id: *id,
                current: transfer.status,
                wanted: TransferLeg::Close,
            })
        }
        TransferStatus::InTransit => {}
    }
    let outstanding = transfer.outstanding();
    if outstanding > 0 {
        let destination = StockKey::new(transfer.sku.clone(), transfer.to.clone());
        let reason = "transfer closed: never arrived";
        let cause = Cause::Transfer { id: *id, reason };
        draft.move_units(&destination, Movement::TransitCancelled, outstanding, cause)?;
    }
    transfer.written_off = outstanding;
    transfer.status = TransferStatus::Closed;
    transfer.updated_at = draft.now;
    draft.put_transfer(transfer.clone());
    Ok(transfer)
}
