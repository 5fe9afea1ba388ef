//! Decisions on an existing reservation: extend, commit, ship, release, expire.

use std::time::Duration;

use crate::error::DomainError;
use crate::id::ReservationId;
use crate::ledger::Movement;
use crate::reservation::{check_ttl, Reservation, ReservationStatus, ReservationTransition};

use super::snapshot::{Cause, Draft};

fn find(draft: &Draft<'_>, id: &ReservationId) -> Result<Reservation, DomainError> {
    draft
        .reservation(id)
        .cloned()
        .ok_or(DomainError::ReservationNotFound { id: *id })
}

/// The reservation, if it is active and its hold has not run out. A hold past its time
/// is refused as expired whether or not the sweep has written it so yet.
fn live_hold(
    draft: &Draft<'_>,
    id: &ReservationId,
    wanted: ReservationTransition,
) -> Result<Reservation, DomainError> {
    let reservation = find(draft, id)?;
    if reservation.status == ReservationStatus::Expired {
        return Err(DomainError::Expired {
            id: *id,
            expired_at: reservation.expires_at,
        });
    }
    if reservation.status != ReservationStatus::Active {
        return Err(DomainError::InvalidState {
            id: *id,
            current: reservation.status,
            wanted,
        });
    }
    if reservation.is_expired_at(draft.now) {
        return Err(DomainError::Expired {
            id: *id,
            expired_at: reservation.expires_at,
        });
    }
    Ok(reservation)
}

/// Moves every line of `reservation` by `movement` and stores its new status.
fn transition(
    draft: &mut Draft<'_>,
    mut reservation: Reservation,
    movement: Movement,
    status: ReservationStatus,
) -> Result<Reservation, DomainError> {
    for line in &reservation.lines {
        let cause = Cause::Reservation(&reservation);
        // Backordered units were never held: a release or expiry cancels them.
        if line.backordered > 0 {
            debug_assert!(matches!(movement, Movement::Released | Movement::Expired));
            draft.move_units(
                &line.key(),
                Movement::BackorderCancelled,
                line.backordered,
                cause,
            )?;
        }
        if line.held() == 0 {
            continue;
        }
        draft.move_units(&line.key(), movement, line.held(), cause)?;
        if movement == Movement::Shipped {
            // The sale's price goes with the shipment: revenue for cycle counting.
            if let Some(entry) = draft.changes.ledger.last_mut() {
                entry.unit_price = line.unit_price;
            }
        }
    }
    reservation.status = status;
    // A release or expiry of an order that shipped in part ends it shipped: what was
    // left is recorded as released on its lines, so returns see what really shipped.
    let ends = matches!(
        status,
        ReservationStatus::Released | ReservationStatus::Expired
    );
    if ends && reservation.lines.iter().any(|line| line.shipped > 0) {
        for line in &mut reservation.lines {
            line.released += line.open();
            line.backordered = 0;
        }
        reservation.status = ReservationStatus::Shipped;
    }
    reservation.updated_at = draft.now;
    draft.put_reservation(reservation.clone());
    Ok(reservation)
}

/// Holds an active reservation until `now + ttl`; never shortens a hold.
pub(crate) fn extend(
    draft: &mut Draft<'_>,
    id: &ReservationId,
    ttl: Duration,
) -> Result<Reservation, DomainError> {
    let ttl = check_ttl(ttl)?;
    let mut reservation = live_hold(draft, id, ReservationTransition::Extend)?;
    let until = draft
        .now
        .checked_add_signed(ttl)
        .ok_or(DomainError::InvalidTtl {
            ttl: ttl.to_std().unwrap_or_default(),
        })?;
    reservation.expires_at = reservation.expires_at.max(until);
    reservation.updated_at = draft.now;
    draft.put_reservation(reservation.clone());
    Ok(reservation)
}

/// Starts picking: held units move from `reserved` to `committed`. A hold with units
/// still backordered waits for them.
pub(crate) fn commit(
    draft: &mut Draft<'_>,
    id: &ReservationId,
) -> Result<Reservation, DomainError> {
    let reservation = live_hold(draft, id, ReservationTransition::Commit)?;
    if let Some(line) = reservation.lines.iter().find(|line| line.backordered > 0) {
        return Err(DomainError::Backordered {
            id: *id,
            sku: line.sku.clone(),
            backordered: line.backordered,
        });
    }
    transition(
        draft,
        reservation,
        Movement::Committed,
        ReservationStatus::Committed,
    )
}

/// Ships a committed reservation: its units leave `committed` and `on_hand`.
pub(crate) fn ship(draft: &mut Draft<'_>, id: &ReservationId) -> Result<Reservation, DomainError> {
    let reservation = find(draft, id)?;
    if reservation.status != ReservationStatus::Committed {
        return Err(DomainError::InvalidState {
            id: *id,
            current: reservation.status,
            wanted: ReservationTransition::Ship,
        });
    }
    transition(
        draft,
        reservation,
        Movement::Shipped,
        ReservationStatus::Shipped,
    )
}

/// Ships an active hold (committing it first, in the same decision) or a committed
/// reservation.
pub(crate) fn fulfil(
    draft: &mut Draft<'_>,
    id: &ReservationId,
) -> Result<Reservation, DomainError> {
    match find(draft, id)?.status {
        // `commit` refuses a hold past its time as expired.
        ReservationStatus::Active | ReservationStatus::Expired => {
            commit(draft, id)?;
        }
        ReservationStatus::Committed => {}
        current => {
            return Err(DomainError::InvalidState {
                id: *id,
                current,
                wanted: ReservationTransition::Fulfil,
            })
        }
    }
    ship(draft, id)
}

/// Cancels an active or committed reservation, giving its units back to available.
/// An active hold past its expiry may still be released.
pub(crate) fn release(
    draft: &mut Draft<'_>,
    id: &ReservationId,
) -> Result<Reservation, DomainError> {
    let reservation = find(draft, id)?;
    let movement = match reservation.status {
        ReservationStatus::Active => Movement::Released,
        ReservationStatus::Committed => Movement::ReleasedCommitted,
        current => {
            return Err(DomainError::InvalidState {
                id: *id,
                current,
                wanted: ReservationTransition::Release,
            })
        }
    };
    transition(draft, reservation, movement, ReservationStatus::Released)
}

/// Ends an active hold whose time has run out.
pub(crate) fn expire(
    draft: &mut Draft<'_>,
    reservation: Reservation,
) -> Result<Reservation, DomainError> {
    debug_assert!(reservation.is_expired_at(draft.now));
    transition(
        draft,
        reservation,
        Movement::Expired,
        ReservationStatus::Expired,
    )
}

/// Expires up to `limit` due holds in view, the longest overdue first.
pub(crate) fn expire_due(
    draft: &mut Draft<'_>,
    limit: usize,
) -> Result<Vec<ReservationId>, DomainError> {
    let mut due: Vec<Reservation> = draft
        .reservations()
        .into_iter()
        .filter(|reservation| reservation.is_expired_at(draft.now))
        .cloned()
        .collect();
    due.sort_by_key(|reservation| (reservation.expires_at, reservation.id));
    due.truncate(limit.min(super::EXPIRE_BATCH_MAX));
    let mut expired = Vec::with_capacity(due.len());
    for reservation in due {
        expired.push(expire(draft, reservation)?.id);
    }
    Ok(expired)
}
