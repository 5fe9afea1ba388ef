//! The reserve decision: idempotency, all-or-nothing allocation, lazy reclaim of
//! expired holds.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::error::DomainError;
use crate::id::{LocationId, ReservationId};
use crate::inventory::ReserveResult;
use crate::ledger::Movement;
use crate::quantity::Quantity;
use crate::reservation::{
    check_ttl, AllocationStrategy, BundleLine, OrderLine, Reservation, ReservationLine,
    ReservationStatus, ReserveRequest, HOLD_TTL_DEFAULT, ORDER_LINES_MAX, PRIORITY_LOCATIONS_MAX,
};
use crate::stock::StockKey;

use super::lifecycle::expire;
use super::snapshot::{Cause, Draft};

/// Holds every line of `request`, or none.
///
/// A repeated request under the same order id returns the stored reservation, whatever
/// its state. When stock is short, active holds past their expiry on the SKUs involved
/// are expired first and the allocation is tried once more.
pub(crate) fn reserve(
    draft: &mut Draft<'_>,
    request: &ReserveRequest,
) -> Result<ReserveResult, DomainError> {
    check_request(request)?;
    let id = ReservationId::for_order(&request.order_id);
    if let Some(existing) = draft.reservation(&id) {
        if existing.request.is_same_order(request) {
            return Ok(ReserveResult {
                reservation: existing.clone(),
                created: false,
            });
        }
        return Err(DomainError::IdempotencyConflict {
            order_id: request.order_id.clone(),
        });
    }
    let lines = hold_lines(draft, request, 0)?;
    let ttl = check_ttl(request.ttl.unwrap_or(HOLD_TTL_DEFAULT))?;
    let expires_at = draft
        .now
        .checked_add_signed(ttl)
        .ok_or(DomainError::InvalidTtl {
            ttl: request.ttl.unwrap_or(HOLD_TTL_DEFAULT),
        })?;
    let reservation = Reservation {
        returns: Vec::new(),
        id,
        order_id: request.order_id.clone(),
        status: ReservationStatus::Active,
        lines,
        request: request.clone(),
        created_at: draft.now,
        expires_at,
        updated_at: draft.now,
    };
    for line in &reservation.lines {
        let cause = Cause::Reservation(&reservation);
        if line.held() > 0 {
            draft.move_units(&line.key(), Movement::Reserved, line.held(), cause)?;
        }
        if line.backordered > 0 {
            draft.move_units(&line.key(), Movement::Backordered, line.backordered, cause)?;
        }
    }
    draft.put_reservation(reservation.clone());
    Ok(ReserveResult {
        reservation,
        created: true,
    })
}

pub(super) fn check_request(request: &ReserveRequest) -> Result<(), DomainError> {
    if request.lines.is_empty() {
        return Err(DomainError::EmptyOrder);
    }
    if let Some(line) = request.lines.iter().find(|line| {
        line.unit_price
            .is_some_and(|price| price.is_sign_negative())
    }) {
        return Err(DomainError::NegativePrice {
            sku: line.sku.clone(),
            price: line.unit_price.unwrap_or_default(),
        });
    }
    if request.lines.len() > ORDER_LINES_MAX {
        return Err(DomainError::TooManyLines {
            lines: request.lines.len(),
            max: ORDER_LINES_MAX,
        });
    }
    if let AllocationStrategy::Priority(list) = &request.allocation {
        if list.is_empty() || list.len() > PRIORITY_LOCATIONS_MAX {
            return Err(DomainError::PriorityListSize {
                locations: list.len(),
                max: PRIORITY_LOCATIONS_MAX,
            });
        }
    }
    request.ttl.map_or(Ok(()), |ttl| check_ttl(ttl).map(drop))
}

/// The request with each bundle line replaced, in its place, by one line per
/// component (`bundle quantity x component quantity` units, at the bundle line's
/// location if it names one), and for each line of the result the bundle it stands
/// for. A request naming no bundle is returned as it is.
fn expand_bundles<'r>(
    catalog: &Catalog,
    request: &'r ReserveRequest,
) -> Result<(Cow<'r, ReserveRequest>, Vec<Option<BundleLine>>), DomainError> {
    let names_bundle = |line: &OrderLine| catalog.bundle(&line.sku).is_some();
    if !request.lines.iter().any(names_bundle) {
        return Ok((Cow::Borrowed(request), vec![None; request.lines.len()]));
    }
    let mut lines = Vec::with_capacity(request.lines.len());
    let mut origins = Vec::with_capacity(request.lines.len());
    for line in &request.lines {
        let Some(components) = catalog.bundle(&line.sku) else {
            lines.push(line.clone());
            origins.push(None);
            continue;
        };
        for component in components {
            let units = line
                .quantity
                .get()
                .checked_mul(component.quantity.get())
                .ok_or_else(|| DomainError::Overflow {
                    sku: line.sku.clone(),
                    location: line.location.clone(),
                })?;
            lines.push(OrderLine {
                sku: component.sku.clone(),
                quantity: Quantity::new(units)?,
                location: line.location.clone(),
                unit_price: None,
            });
            origins.push(Some(BundleLine {
                sku: line.sku.clone(),
                per_bundle: component.quantity,
            }));
        }
    }
    let expanded = ReserveRequest {
        lines,
        ..request.clone()
    };
    Ok((Cow::Owned(expanded), origins))
}

/// The reservation lines of `request` (bundles expanded), allocated, or the rule that
/// refuses them: at most [`ORDER_LINES_MAX`] lines with the `held` ones an order has
/// already, no frozen SKU, enough units (overdue holds reclaimed, backorders within
/// their limits). Changes stock only to expire overdue holds.
pub(super) fn hold_lines(
    draft: &mut Draft<'_>,
    request: &ReserveRequest,
    held: usize,
) -> Result<Vec<ReservationLine>, DomainError> {
    let catalog = Arc::clone(&draft.catalog);
    let (expanded, origins) = expand_bundles(&catalog, request)?;
    let total = held + expanded.lines.len();
    if held > 0 && total > ORDER_LINES_MAX {
        return Err(DomainError::TooManyLines {
            lines: total,
            max: ORDER_LINES_MAX,
        });
    }
    if let Some(frozen) = expanded
        .lines
        .iter()
        .find(|line| draft.is_frozen(&line.sku))
    {
        return Err(DomainError::SkuFrozen {
            sku: frozen.sku.clone(),
        });
    }
    allocate_or_reclaim(draft, &expanded, &origins)
}

/// Expires every overdue active hold on the request's SKUs; returns how many.
fn reclaim_expired(draft: &mut Draft<'_>, request: &ReserveRequest) -> Result<usize, DomainError> {
    let overdue: Vec<Reservation> = draft
        .reservations()
        .into_iter()
        .filter(|held| held.is_expired_at(draft.now))
        .filter(|held| {
            let skus = held.skus();
            request.lines.iter().any(|line| skus.contains(&line.sku))
        })
        .cloned()
        .collect();
    let count = overdue.len();
    for held in overdue {
        expire(draft, held)?;
    }
    Ok(count)
}

/// Allocates from available units; when they are short, expires overdue holds on the
/// SKUs and tries again; when still short and a SKU short of units may be backordered,
/// takes the missing units as backordered within its limit.
fn allocate_or_reclaim(
    draft: &mut Draft<'_>,
    request: &ReserveRequest,
    origins: &[Option<BundleLine>],
) -> Result<Vec<ReservationLine>, DomainError> {
    let short = |result| match result {
        Err(short @ DomainError::InsufficientStock { .. }) => Ok(short),
        other => Err(other),
    };
    let mut refusal = match short(allocate(draft, request, origins, false)) {
        Ok(refusal) => refusal,
        Err(done) => return done,
    };
    if reclaim_expired(draft, request)? > 0 {
        refusal = match short(allocate(draft, request, origins, false)) {
            Ok(refusal) => refusal,
            Err(done) => return done,
        };
    }
    let catalog = Arc::clone(&draft.catalog);
    if request
        .lines
        .iter()
        .all(|line| catalog.backorder(&line.sku).is_none())
    {
        return Err(refusal);
    }
    allocate(draft, request, origins, true)
}

/// Chooses where each line's units come from, against availability that shrinks as
/// earlier lines take units; with `backorders`, a line of a SKU with a backorder limit
/// that no location can fill takes what the first location able to (its available
/// units and its room for backorders together) has, and backorders the rest there.
/// Changes nothing.
fn allocate(
    draft: &Draft<'_>,
    request: &ReserveRequest,
    origins: &[Option<BundleLine>],
    backorders: bool,
) -> Result<Vec<ReservationLine>, DomainError> {
    let mut available: BTreeMap<StockKey, i64> = BTreeMap::new();
    let mut room: BTreeMap<StockKey, i64> = BTreeMap::new();
    let mut lines = Vec::with_capacity(request.lines.len());
    for (line, origin) in request.lines.iter().zip(origins) {
        let rows = draft.locations_of(&line.sku);
        if rows.is_empty() {
            return Err(DomainError::UnknownSku {
                sku: line.sku.clone(),
            });
        }
        for (location, level) in &rows {
            let key = StockKey::new(line.sku.clone(), location.clone());
            available.entry(key).or_insert_with(|| level.available());
        }
        let candidates = candidates(line, request, &rows, &available)?;
        let limit = draft.catalog.backorder(&line.sku).filter(|_| backorders);
        let filled = match (fill(line, request.allow_split, &candidates), limit) {
            (Ok(filled), _) => filled
                .into_iter()
                .map(|(at, units)| (at, units, 0))
                .collect(),
            (Err(short), None) => return Err(short),
            (Err(short), Some(limit)) => {
                let room_at = |location: &LocationId| {
                    let key = StockKey::new(line.sku.clone(), location.clone());
                    *room
                        .entry(key)
                        .or_insert_with(|| limit.room(&rows[location]))
                };
                backorder(line, &candidates, room_at).ok_or(short)?
            }
        };
        for (location, quantity, backordered) in filled {
            let key = StockKey::new(line.sku.clone(), location.clone());
            *available.get_mut(&key).expect("candidate rows are loaded") -= quantity - backordered;
            if backordered > 0 {
                *room.get_mut(&key).expect("room was looked up") -= backordered;
            }
            lines.push(ReservationLine {
                sku: line.sku.clone(),
                location,
                quantity: Quantity::new(quantity)?,
                unit_price: line.unit_price,
                bundle: origin.clone(),
                backordered,
                shipped: 0,
                released: 0,
            });
        }
    }
    Ok(lines)
}

/// The first candidate whose available units and room for backorders together fill
/// the line: `(location, quantity, backordered)`, or `None`.
fn backorder(
    line: &OrderLine,
    candidates: &[(LocationId, i64)],
    mut room_at: impl FnMut(&LocationId) -> i64,
) -> Option<Vec<(LocationId, i64, i64)>> {
    let requested = line.quantity.get();
    candidates.iter().find_map(|(location, units)| {
        let held = (*units).clamp(0, requested);
        let owed = requested - held;
        (owed <= room_at(location)).then(|| vec![(location.clone(), requested, owed)])
    })
}

/// The locations a line may take from, in the order to try them, with what each has.
fn candidates(
    line: &OrderLine,
    request: &ReserveRequest,
    rows: &BTreeMap<LocationId, crate::stock::StockLevel>,
    available: &BTreeMap<StockKey, i64>,
) -> Result<Vec<(LocationId, i64)>, DomainError> {
    let has = |location: &LocationId| {
        let key = StockKey::new(line.sku.clone(), location.clone());
        available.get(&key).copied()
    };
    if let Some(location) = &line.location {
        let units = has(location).ok_or_else(|| DomainError::UnknownLocation {
            sku: line.sku.clone(),
            location: location.clone(),
        })?;
        return Ok(vec![(location.clone(), units)]);
    }
    let mut ordered: Vec<(LocationId, i64)> = match &request.allocation {
        AllocationStrategy::MostAvailable => {
            let mut all: Vec<_> = rows
                .keys()
                .filter_map(|l| Some((l.clone(), has(l)?)))
                .collect();
            all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            all
        }
        AllocationStrategy::Priority(list) => list
            .iter()
            .filter_map(|l| Some((l.clone(), has(l)?)))
            .collect(),
    };
    let mut seen = Vec::new();
    ordered.retain(|(location, _)| {
        let first = !seen.contains(location);
        seen.push(location.clone());
        first
    });
    Ok(ordered)
}

/// Takes the line's units from the first candidate that has them all, or, when
/// splitting is allowed, from each candidate in turn.
fn fill(
    line: &OrderLine,
    allow_split: bool,
    candidates: &[(LocationId, i64)],
) -> Result<Vec<(LocationId, i64)>, DomainError> {
    let requested = line.quantity.get();
    if let Some((location, _)) = candidates.iter().find(|(_, units)| *units >= requested) {
        return Ok(vec![(location.clone(), requested)]);
    }
    let short = |available: i64| DomainError::InsufficientStock {
        sku: line.sku.clone(),
        location: line.location.clone(),
        available,
        requested,
    };
    if !allow_split || line.location.is_some() {
        let best = candidates
            .iter()
            .map(|(_, units)| *units)
            .max()
            .unwrap_or(0);
        return Err(short(best.max(0)));
    }
    let mut remaining = requested;
    let mut taken = Vec::new();
    for (location, units) in candidates.iter().filter(|(_, units)| *units > 0) {
        let take = remaining.min(*units);
        taken.push((location.clone(), take));
        remaining -= take;
        if remaining == 0 {
            return Ok(taken);
        }
    }
    let total = candidates
        .iter()
        .map(|(_, units)| (*units).max(0))
        .fold(0i64, i64::saturating_add);
    Err(short(total))
}
