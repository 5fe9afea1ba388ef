//! Decisions of cycle counting: record a count (adjust, investigate, freeze) and
//! resolve an investigation (optionally with a recount), which unfreezes the SKU.

use std::collections::BTreeMap;

use crate::counting::{
    check_name, discrepancy_basis_points, evaluate, shortage, CountAction, CountRecord,
    CountReport, CountThresholds, Investigation, InvestigationId,
};
use crate::error::DomainError;
use crate::id::{LocationId, Sku};
use crate::ledger::Movement;
use crate::reservation::ReservationLine;
use crate::stock::StockKey;

use super::snapshot::{Cause, Draft};

/// Sets `on_hand` at `key` to `counted`, with a ledger entry when it changes.
fn set_on_hand(
    draft: &mut Draft<'_>,
    key: &StockKey,
    counted: i64,
    counted_by: &str,
) -> Result<i64, DomainError> {
    if counted < 0 {
        return Err(DomainError::InvalidQuantity {
            quantity: counted,
            reason: "a count cannot be negative",
        });
    }
    let expected = draft.require(key)?.on_hand;
    let delta = counted - expected;
    if delta != 0 {
        draft.move_units(
            key,
            Movement::Counted,
            delta,
            Cause::Count { by: counted_by },
        )?;
    }
    Ok(expected)
}

/// Records a count: on hand becomes what was found; above the adjust limit an
/// investigation opens, above the freeze limit it freezes the SKU.
pub(crate) fn record(
    draft: &mut Draft<'_>,
    key: &StockKey,
    counted: i64,
    counted_by: &str,
    thresholds: &CountThresholds,
) -> Result<CountReport, DomainError> {
    check_name(counted_by)?;
    let thresholds = thresholds.checked()?;
    let expected = set_on_hand(draft, key, counted, counted_by)?;
    let action = evaluate(expected, counted, &thresholds);
    let investigation = (action != CountAction::Adjusted).then(|| Investigation {
        id: InvestigationId::opened(&key.sku, &key.location, draft.now, expected, counted),
        sku: key.sku.clone(),
        location: key.location.clone(),
        expected,
        counted,
        freezes: action == CountAction::Frozen,
        opened_at: draft.now,
        resolved_at: None,
        resolved_by: None,
    });
    if let Some(opened) = &investigation {
        draft.put_investigation(opened.clone());
        if opened.freezes {
            // Every channel must now be told 0.
            draft.changes.dirty.insert(key.sku.clone());
        }
    }
    let record = CountRecord {
        sku: key.sku.clone(),
        location: key.location.clone(),
        expected,
        counted,
        discrepancy_basis_points: discrepancy_basis_points(expected, counted),
        action,
        counted_by: counted_by.to_owned(),
        at: draft.now,
        investigation: investigation.as_ref().map(|opened| opened.id),
    };
    draft.changes.counts.push(record.clone());
    let level = draft.require(key)?;
    let short = shortage(&level);
    let short_reservations =
        short.map_or_else(Vec::new, |units| short_reservations(draft, key, units));
    Ok(CountReport {
        record,
        investigation,
        shortage: short,
        short_reservations,
    })
}

/// Resolves an open investigation, after an optional recount of its row; its SKU is
/// unfrozen unless another open investigation still freezes it.
pub(crate) fn resolve(
    draft: &mut Draft<'_>,
    id: &InvestigationId,
    recount: Option<i64>,
    resolved_by: &str,
) -> Result<Investigation, DomainError> {
    check_name(resolved_by)?;
    let mut investigation = draft
        .investigation(id)
        .cloned()
        .ok_or(DomainError::InvestigationNotFound { id: *id })?;
    if investigation.resolved_at.is_some() {
        return Err(DomainError::InvestigationResolved { id: *id });
    }
    if let Some(counted) = recount {
        let key = StockKey::new(investigation.sku.clone(), investigation.location.clone());
        let expected = set_on_hand(draft, &key, counted, resolved_by)?;
        draft.changes.counts.push(CountRecord {
            sku: key.sku,
            location: key.location,
            expected,
            counted,
            discrepancy_basis_points: discrepancy_basis_points(expected, counted),
            action: CountAction::Adjusted,
            counted_by: resolved_by.to_owned(),
            at: draft.now,
            investigation: Some(*id),
        });
    }
    investigation.resolved_at = Some(draft.now);
    investigation.resolved_by = Some(resolved_by.to_owned());
    if investigation.freezes {
        draft.changes.dirty.insert(investigation.sku.clone());
    }
    draft.put_investigation(investigation.clone());
    Ok(investigation)
}

/// Resolves every open investigation of `sku`, each after the recount `recounts` gives
/// its location, if any; a recount at a location without an open investigation is
/// refused.
pub(crate) fn unfreeze(
    draft: &mut Draft<'_>,
    sku: &Sku,
    recounts: &BTreeMap<LocationId, i64>,
    resolved_by: &str,
) -> Result<Vec<Investigation>, DomainError> {
    if draft.locations_of(sku).is_empty() {
        return Err(DomainError::UnknownSku { sku: sku.clone() });
    }
    let open: Vec<(InvestigationId, LocationId)> = draft
        .investigations()
        .filter(|investigation| investigation.sku == *sku && investigation.is_open())
        .map(|investigation| (investigation.id, investigation.location.clone()))
        .collect();
    if open.is_empty() {
        return Err(DomainError::NoOpenInvestigation { sku: sku.clone() });
    }
    if let Some(location) = recounts
        .keys()
        .find(|location| open.iter().all(|(_, at)| at != *location))
    {
        return Err(DomainError::RecountWithoutInvestigation {
            sku: sku.clone(),
            location: location.clone(),
        });
    }
    open.into_iter()
        .map(|(id, location)| resolve(draft, &id, recounts.get(&location).copied(), resolved_by))
        .collect()
}

/// The reservations at `key` that a shortage of `units` leaves unfilled: active holds
/// before committed ones (those are being picked), newest first.
fn short_reservations(
    draft: &Draft<'_>,
    key: &StockKey,
    units: i64,
) -> Vec<crate::id::ReservationId> {
    use crate::reservation::ReservationStatus;
    let mut holders: Vec<(
        bool,
        chrono::DateTime<chrono::Utc>,
        crate::id::ReservationId,
        i64,
    )> = draft
        .reservations()
        .into_iter()
        .filter(|held| held.status.holds_stock())
        .filter_map(|held| {
            let at_row: i64 = held
                .lines
                .iter()
                .filter(|line| line.key() == *key)
                .map(ReservationLine::open)
                .sum();
            (at_row > 0).then_some((
                held.status == ReservationStatus::Committed,
                held.created_at,
                held.id,
                at_row,
            ))
        })
        .collect();
    holders.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut covered = 0;
    let mut short = Vec::new();
    for (_, _, id, at_row) in holders {
        if covered >= units {
            break;
        }
        covered += at_row;
        short.push(id);
    }
    short
}
