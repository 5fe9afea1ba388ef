//! Customer returns of a shipped order, line by line with a disposition.

use crate::error::DomainError;
use crate::id::{ReservationId, Sku};
use crate::ledger::Movement;
use crate::quantity::Quantity;
use crate::reservation::{Reservation, ReservationTransition};
use crate::returns::{ReturnLine, ReturnRecord, ReturnRequest, RETURN_LINES_MAX};
use crate::stock::StockKey;

use super::snapshot::{Cause, Draft};

/// Records `request` on its order's shipped reservation and puts each line's units
/// back as its disposition says: the reservation after it, with every return so far.
/// Under a key used before on this order, the same return answers the reservation and
/// writes nothing; another return is refused.
pub(crate) fn record(
    draft: &mut Draft<'_>,
    request: &ReturnRequest,
) -> Result<Reservation, DomainError> {
    check_lines(&request.lines)?;
    let id = ReservationId::for_order(&request.order_id);
    let mut reservation = draft
        .reservation(&id)
        .cloned()
        .ok_or(DomainError::ReservationNotFound { id })?;
    // A shipped order, or one whose partial shipments sent something.
    let shipped_any = reservation
        .lines
        .iter()
        .any(|line| reservation.shipped_units(line) > 0);
    if !shipped_any {
        return Err(DomainError::InvalidState {
            id,
            current: reservation.status,
            wanted: ReservationTransition::Return,
        });
    }
    let requested = expand_bundles(&reservation, &request.lines)?;
    let placed = place(&reservation, &requested)?;
    let lines: Vec<ReturnLine> = placed.iter().map(|(line, _)| line.clone()).collect();
    if let Some(key) = &request.idempotency_key {
        let earlier = reservation
            .returns
            .iter()
            .find(|record| record.idempotency_key.as_ref() == Some(key));
        if let Some(earlier) = earlier {
            return if earlier.lines == lines {
                Ok(reservation)
            } else {
                Err(DomainError::IdempotencyKeyReused { key: key.clone() })
            };
        }
    }
    check_shipped(&reservation, &lines)?;
    let reason = match &request.idempotency_key {
        Some(key) => format!("return {key}"),
        None => "return".to_owned(),
    };
    for (line, key) in &placed {
        let units = line.quantity.get();
        let cause = Cause::Return {
            reservation: &reservation,
            reason: &reason,
        };
        match line.disposition.state() {
            None => {
                draft.move_units(key, Movement::ReturnWrittenOff, units, cause)?;
            }
            Some(state) => {
                draft.move_units(key, Movement::Returned, units, cause)?;
                if let Some(set_aside) = Movement::of_state(state) {
                    draft.move_units(key, set_aside, units, cause)?;
                }
            }
        }
    }
    reservation.returns.push(ReturnRecord {
        idempotency_key: request.idempotency_key.clone(),
        at: draft.now,
        lines,
    });
    reservation.updated_at = draft.now;
    draft.put_reservation(reservation.clone());
    Ok(reservation)
}

/// The lines with each one naming a bundle the order held replaced, in its place, by
/// one line per component (`quantity x per_bundle` units, same disposition and
/// location), as the bundle was defined when the order was reserved.
fn expand_bundles(
    reservation: &Reservation,
    lines: &[ReturnLine],
) -> Result<Vec<ReturnLine>, DomainError> {
    let mut expanded = Vec::with_capacity(lines.len());
    for line in lines {
        let parts = reservation.bundle_parts(&line.sku);
        if parts.is_empty() {
            expanded.push(line.clone());
            continue;
        }
        for (sku, per_bundle) in parts {
            let units = line
                .quantity
                .get()
                .checked_mul(per_bundle.get())
                .ok_or_else(|| DomainError::Overflow {
                    sku: line.sku.clone(),
                    location: line.location.clone(),
                })?;
            expanded.push(ReturnLine {
                sku: sku.clone(),
                quantity: Quantity::new(units)?,
                ..line.clone()
            });
        }
    }
    Ok(expanded)
}

/// Checks the number of lines.
fn check_lines(lines: &[ReturnLine]) -> Result<(), DomainError> {
    let problem = if lines.is_empty() {
        "it names no line".to_owned()
    } else if lines.len() > RETURN_LINES_MAX {
        format!("{} lines, at most {RETURN_LINES_MAX}", lines.len())
    } else {
        return Ok(());
    };
    Err(DomainError::InvalidReturn { problem })
}

/// Each line with the location its units come back to (the one named, or the first
/// location the order shipped the SKU from) and the row that receives them.
///
/// # Errors
///
/// [`DomainError::OverReturn`] for a SKU the order never shipped.
fn place(
    reservation: &Reservation,
    lines: &[ReturnLine],
) -> Result<Vec<(ReturnLine, StockKey)>, DomainError> {
    lines
        .iter()
        .map(|line| {
            let shipped_from = reservation
                .lines
                .iter()
                .find(|shipped| shipped.sku == line.sku)
                .map(|shipped| shipped.location.clone())
                .ok_or_else(|| DomainError::OverReturn {
                    order_id: reservation.order_id.clone(),
                    sku: line.sku.clone(),
                    shipped: 0,
                    returned: 0,
                    requested: line.quantity.get(),
                })?;
            let location = line.location.clone().unwrap_or(shipped_from);
            let key = StockKey::new(line.sku.clone(), location.clone());
            let placed = ReturnLine {
                location: Some(location),
                ..line.clone()
            };
            Ok((placed, key))
        })
        .collect()
}

/// Refuses a return that would bring back more of a SKU than the order shipped, over
/// all its returns (a SKU the order never shipped has shipped nothing).
fn check_shipped(reservation: &Reservation, lines: &[ReturnLine]) -> Result<(), DomainError> {
    let units = |lines: &mut dyn Iterator<Item = &ReturnLine>, sku: &Sku| -> i64 {
        lines
            .filter(|line| line.sku == *sku)
            .map(|line| line.quantity.get())
            .fold(0_i64, i64::saturating_add)
    };
    let mut skus: Vec<&Sku> = lines.iter().map(|line| &line.sku).collect();
    skus.sort();
    skus.dedup();
    for sku in skus {
        let requested = units(&mut lines.iter(), sku);
        let returned = units(
            &mut reservation.returns.iter().flat_map(|record| &record.lines),
            sku,
        );
        let shipped = reservation
            .lines
            .iter()
            .filter(|line| line.sku == *sku)
            .map(|line| reservation.shipped_units(line))
            .fold(0_i64, i64::saturating_add);
        if returned.saturating_add(requested) > shipped {
            return Err(DomainError::OverReturn {
                order_id: reservation.order_id.clone(),
                sku: sku.clone(),
                shipped,
                returned,
                requested,
            });
        }
    }
    Ok(())
}
