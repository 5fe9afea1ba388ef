//! Covering backorders: after every decision, units that became available at a row
//! with backordered units go first to the holds that backordered them, first come first
//! served, in the same transaction.

use crate::error::DomainError;
use crate::ledger::Movement;
use crate::reservation::{Reservation, ReservationStatus};
use crate::stock::StockKey;

use super::snapshot::{Cause, Draft};

/// Covers the backorders of every row this decision left with both available and
/// backordered units: the active holds owed units there, oldest first (by creation,
/// then id), each as far as the available units go. A hold past its time is passed
/// over (its other rows may not be in view): the sweep, or a reserve short of units,
/// expires it and cancels what it was owed.
///
/// # Errors
///
/// [`DomainError::InconsistentState`] when a row owes units that no hold in view is
/// owed: the backend did not load the holds of a row with backorders.
pub(crate) fn cover(draft: &mut Draft<'_>) -> Result<(), DomainError> {
    let owing: Vec<StockKey> = draft
        .changes
        .stock
        .iter()
        .filter(|(_, level)| level.backordered > 0 && level.available() > 0)
        .map(|(key, _)| key.clone())
        .collect();
    for key in owing {
        let mut waiting: Vec<Reservation> = draft
            .reservations()
            .into_iter()
            .filter(|held| held.status == ReservationStatus::Active)
            .filter(|held| {
                held.lines
                    .iter()
                    .any(|line| line.key() == key && line.backordered > 0)
            })
            .cloned()
            .collect();
        if waiting.is_empty() {
            return Err(DomainError::InconsistentState {
                detail: format!(
                    "{} at {} owes backordered units to no hold in view",
                    key.sku, key.location
                ),
            });
        }
        waiting.sort_by_key(|held| (held.created_at, held.id));
        for held in waiting {
            if !held.is_expired_at(draft.now) {
                cover_hold(draft, &key, held)?;
            }
        }
    }
    Ok(())
}

/// Covers what `held` is owed at `key` as far as the row's available units go.
fn cover_hold(
    draft: &mut Draft<'_>,
    key: &StockKey,
    mut held: Reservation,
) -> Result<(), DomainError> {
    let mut covered = Vec::new();
    for (index, line) in held.lines.iter().enumerate() {
        if line.key() != *key || line.backordered == 0 {
            continue;
        }
        let available = draft.level(key).unwrap_or_default().available();
        let units = line.backordered.min(available);
        if units <= 0 {
            break;
        }
        draft.move_units(
            key,
            Movement::BackorderCovered,
            units,
            Cause::Reservation(&held),
        )?;
        covered.push((index, units));
    }
    if covered.is_empty() {
        return Ok(());
    }
    for (index, units) in covered {
        held.lines[index].backordered -= units;
    }
    held.updated_at = draft.now;
    draft.put_reservation(held);
    Ok(())
}
