//! Partial shipments and partial releases of a reservation, line by line, and lines
//! added to it (order edits), each applied once under the caller's key.

use crate::error::DomainError;
use crate::id::{IdempotencyKey, OrderId, ReservationId, Sku};
use crate::ledger::Movement;
use crate::reservation::{
    Reservation, ReservationStatus, ReservationTransition, ReserveRequest, ORDER_LINES_MAX,
};
use crate::shipment::{AddRequest, PartLine, PartRequest};

use super::reserve;
use super::snapshot::{Cause, Draft};

/// Which part of an order a request settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Units leave the warehouse; the rest stays held.
    Ship,
    /// Units are given back (backordered ones first); the rest stays held.
    Release,
}

impl Part {
    fn word(self) -> &'static str {
        match self {
            Self::Ship => "ship",
            Self::Release => "release",
        }
    }

    fn reason(self, request: &PartRequest) -> String {
        match self {
            Self::Ship => format!("shipment {}", request.idempotency_key),
            Self::Release => format!("release {}", request.idempotency_key),
        }
    }

    fn transition(self) -> ReservationTransition {
        match self {
            Self::Ship => ReservationTransition::Ship,
            Self::Release => ReservationTransition::Release,
        }
    }
}

/// Ships `request`'s units of an active or committed reservation (an active hold past
/// its time is refused as expired): from an active hold they are committed and shipped
/// at once, from a committed one shipped. Once nothing is left held, the reservation is
/// shipped.
pub(crate) fn ship(
    draft: &mut Draft<'_>,
    request: &PartRequest,
) -> Result<Reservation, DomainError> {
    settle(draft, request, Part::Ship)
}

/// Gives `request`'s units of an active or committed reservation back: backordered
/// units are cancelled first, then held ones become available. Once nothing is left
/// held, the reservation is shipped if anything shipped, else released.
pub(crate) fn release(
    draft: &mut Draft<'_>,
    request: &PartRequest,
) -> Result<Reservation, DomainError> {
    settle(draft, request, Part::Release)
}

fn settle(
    draft: &mut Draft<'_>,
    request: &PartRequest,
    part: Part,
) -> Result<Reservation, DomainError> {
    if request.lines.is_empty() {
        return Err(DomainError::EmptyOrder);
    }
    if request.lines.len() > ORDER_LINES_MAX {
        return Err(DomainError::TooManyLines {
            lines: request.lines.len(),
            max: ORDER_LINES_MAX,
        });
    }
    let reason = part.reason(request);
    let expired_refused = part == Part::Ship;
    let key = &request.idempotency_key;
    let mut reservation = match open(
        draft,
        &request.order_id,
        key,
        &reason,
        part.transition(),
        expired_refused,
    )? {
        Opened::Again(done) => return Ok(done),
        Opened::New(reservation) => reservation,
    };
    let units = expand(&reservation, &request.lines)?;
    // Take each SKU's units from its lines in order, as far as each has them.
    let mut taken: Vec<(usize, i64, i64)> = Vec::new(); // (line, backordered, held)
    for (sku, wanted) in units {
        let mut left = wanted;
        let mut available = 0_i64;
        for (index, line) in reservation.lines.iter().enumerate() {
            if line.sku != sku {
                continue;
            }
            let (from_backorder, from_shelf) = match part {
                Part::Ship => (0, line.held()),
                Part::Release => (line.backordered, line.held()),
            };
            available = available.saturating_add(from_backorder + from_shelf);
            let backordered = from_backorder.min(left);
            let held = from_shelf.min(left - backordered);
            if backordered + held > 0 {
                taken.push((index, backordered, held));
                left -= backordered + held;
            }
        }
        if left > 0 {
            return Err(DomainError::ExceedsOrder {
                order_id: request.order_id.clone(),
                sku,
                wanted: part.word(),
                left: available,
                requested: wanted,
            });
        }
    }
    let written = draft.changes.ledger.len();
    let status = reservation.status;
    for (index, backordered, held) in &taken {
        let line = reservation.lines[*index].clone();
        let key = line.key();
        let cause = Cause::Part {
            reservation: &reservation,
            reason: &reason,
        };
        if *backordered > 0 {
            draft.move_units(&key, Movement::BackorderCancelled, *backordered, cause)?;
        }
        if *held > 0 {
            match (part, status) {
                (Part::Ship, status) => {
                    if status == ReservationStatus::Active {
                        draft.move_units(&key, Movement::Committed, *held, cause)?;
                    }
                    draft.move_units(&key, Movement::Shipped, *held, cause)?;
                    if let Some(entry) = draft.changes.ledger.last_mut() {
                        entry.unit_price = line.unit_price;
                    }
                }
                (Part::Release, ReservationStatus::Committed) => {
                    draft.move_units(&key, Movement::ReleasedCommitted, *held, cause)?;
                }
                (Part::Release, _) => {
                    draft.move_units(&key, Movement::Released, *held, cause)?;
                }
            }
        }
    }
    for (index, backordered, held) in taken {
        let line = &mut reservation.lines[index];
        line.backordered -= backordered;
        match part {
            Part::Ship => line.shipped += held,
            Part::Release => line.released += backordered + held,
        }
    }
    if let Some(entry) = draft.changes.ledger.get_mut(written) {
        entry.idempotency_key = Some(request.idempotency_key.clone());
    }
    if reservation.lines.iter().all(|line| line.open() == 0) {
        let shipped = reservation.lines.iter().any(|line| line.shipped > 0);
        reservation.status = if shipped {
            ReservationStatus::Shipped
        } else {
            ReservationStatus::Released
        };
    }
    reservation.updated_at = draft.now;
    draft.put_reservation(reservation.clone());
    Ok(reservation)
}

/// The order's reservation, as a request on it finds it.
enum Opened {
    /// Open for the request.
    New(Reservation),
    /// The same request was applied before (its key marks an entry of this reservation
    /// written for the same reason): answered as the reservation is, nothing written.
    Again(Reservation),
}

/// The reservation of `order_id` for a request under `key` written for `reason`: the
/// same request again is [`Opened::Again`]; refused when another request used the key,
/// when the reservation is neither active nor committed (`wanted` names the step), or
/// when it is an active hold past its time and `expired_refused`.
fn open(
    draft: &Draft<'_>,
    order_id: &OrderId,
    key: &IdempotencyKey,
    reason: &str,
    wanted: ReservationTransition,
    expired_refused: bool,
) -> Result<Opened, DomainError> {
    let id = ReservationId::for_order(order_id);
    let reservation = draft
        .reservation(&id)
        .cloned()
        .ok_or(DomainError::ReservationNotFound { id })?;
    // The key marks the first entry the request wrote.
    if let Some(entry) = draft.keyed(key) {
        let same = entry.reservation_id == Some(id) && entry.reason.as_deref() == Some(reason);
        if !same {
            return Err(DomainError::IdempotencyKeyReused { key: key.clone() });
        }
        return Ok(Opened::Again(reservation));
    }
    match reservation.status {
        ReservationStatus::Active if expired_refused && reservation.is_expired_at(draft.now) => {
            Err(DomainError::Expired {
                id,
                expired_at: reservation.expires_at,
            })
        }
        ReservationStatus::Active | ReservationStatus::Committed => Ok(Opened::New(reservation)),
        current => Err(DomainError::InvalidState {
            id,
            current,
            wanted,
        }),
    }
}

/// Adds `request`'s lines to an active (not expired) or committed reservation,
/// allocated as the order's own lines were (its strategy and split), all or nothing:
/// held units are reserved (and committed, for a committed reservation), a SKU with a
/// backorder limit may backorder what is short on an active one. Once per key.
pub(crate) fn add(draft: &mut Draft<'_>, request: &AddRequest) -> Result<Reservation, DomainError> {
    let reason = format!("addition {}", request.idempotency_key);
    let key = &request.idempotency_key;
    let mut reservation = match open(
        draft,
        &request.order_id,
        key,
        &reason,
        ReservationTransition::Amend,
        true,
    )? {
        Opened::Again(done) => return Ok(done),
        Opened::New(reservation) => reservation,
    };
    let id = reservation.id;
    let extra = ReserveRequest {
        order_id: request.order_id.clone(),
        lines: request.lines.clone(),
        ttl: None,
        ..reservation.request.clone()
    };
    reserve::check_request(&extra)?;
    let lines = reserve::hold_lines(draft, &extra, reservation.lines.len())?;
    let committed = reservation.status == ReservationStatus::Committed;
    if let Some(line) = lines.iter().find(|line| committed && line.backordered > 0) {
        // Units being picked cannot be owed.
        return Err(DomainError::Backordered {
            id,
            sku: line.sku.clone(),
            backordered: line.backordered,
        });
    }
    let written = draft.changes.ledger.len();
    for line in &lines {
        let cause = Cause::Part {
            reservation: &reservation,
            reason: &reason,
        };
        if line.held() > 0 {
            draft.move_units(&line.key(), Movement::Reserved, line.held(), cause)?;
            if committed {
                draft.move_units(&line.key(), Movement::Committed, line.held(), cause)?;
            }
        }
        if line.backordered > 0 {
            draft.move_units(&line.key(), Movement::Backordered, line.backordered, cause)?;
        }
    }
    if let Some(entry) = draft.changes.ledger.get_mut(written) {
        entry.idempotency_key = Some(request.idempotency_key.clone());
    }
    reservation.lines.extend(lines);
    reservation.updated_at = draft.now;
    draft.put_reservation(reservation.clone());
    Ok(reservation)
}

/// Units per SKU the lines ask for, a bundle's replaced by its components (as the
/// order held them), in the order first named.
fn expand(reservation: &Reservation, lines: &[PartLine]) -> Result<Vec<(Sku, i64)>, DomainError> {
    let mut units: Vec<(Sku, i64)> = Vec::new();
    let mut add = |sku: &Sku, quantity: i64| -> Result<(), DomainError> {
        match units.iter_mut().find(|(known, _)| known == sku) {
            Some((_, total)) => {
                *total = total.checked_add(quantity).ok_or(DomainError::Overflow {
                    sku: sku.clone(),
                    location: None,
                })?;
            }
            None => units.push((sku.clone(), quantity)),
        }
        Ok(())
    };
    for line in lines {
        let parts = reservation.bundle_parts(&line.sku);
        if parts.is_empty() {
            add(&line.sku, line.quantity.get())?;
            continue;
        }
        for (sku, per_bundle) in parts {
            let quantity =
                line.quantity
                    .get()
                    .checked_mul(per_bundle.get())
                    .ok_or(DomainError::Overflow {
                        sku: line.sku.clone(),
                        location: None,
                    })?;
            add(sku, quantity)?;
        }
    }
    Ok(units)
}
