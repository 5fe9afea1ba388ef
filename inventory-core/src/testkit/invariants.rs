//! The invariants of the stock model, checked over everything a store holds.

use std::collections::BTreeMap;

use crate::backend::AuditStore;
use crate::id::ReservationId;
use crate::ledger::replay;
use crate::reservation::ReservationStatus;
use crate::stock::StockKey;

use super::fixtures::StoreState;

/// Every invariant `snapshot` breaks, described; empty when it is sound.
///
/// - every stored number is at least zero, and `available` too unless a cycle count or a
///   bulk set of the row found or set fewer units than were promised;
/// - each row's `reserved` is the sum of its active holds' held units, `backordered` of
///   the units they are owed, and `committed` the sum of its committed reservations
///   (which owe nothing); while a live hold is owed units at a row, the row has none
///   available (arrivals cover backorders first);
/// - each reservation's id is derived from its order id and it holds at least one line;
/// - replaying the ledger gives exactly the stored rows (every state included);
/// - every entry that moves units without a reservation says why: adjustments, sets,
///   state changes and returns carry a reason, transfer legs name their transfer;
/// - only shipped reservations have returns, and never more of a SKU than shipped.
pub fn violations(snapshot: &StoreState) -> Vec<String> {
    let mut found = Vec::new();
    for reservation in &snapshot.reservations {
        found.extend(over_returned(reservation));
    }
    for entry in &snapshot.ledger {
        if let Some(problem) = unexplained(entry) {
            found.push(format!(
                "{} entry of {}/{} {problem}",
                entry.movement.as_str(),
                entry.key.sku,
                entry.key.location
            ));
        }
    }
    let mut held: BTreeMap<StockKey, (i64, i64, i64)> = BTreeMap::new();
    // Units owed to holds that were live when their row last changed, by row: while any
    // are owed, nothing may be available there.
    let mut owed_live: BTreeMap<StockKey, i64> = BTreeMap::new();
    let mut last_change = BTreeMap::new();
    for entry in &snapshot.ledger {
        let at = last_change.entry(entry.key.clone()).or_insert(entry.at);
        *at = (*at).max(entry.at);
    }
    for reservation in &snapshot.reservations {
        if reservation.id != ReservationId::for_order(&reservation.order_id) {
            found.push(format!("reservation {} has a foreign id", reservation.id));
        }
        if reservation.lines.is_empty() {
            found.push(format!("reservation {} holds nothing", reservation.id));
        }
        for line in &reservation.lines {
            let sums = held.entry(line.key()).or_default();
            match reservation.status {
                ReservationStatus::Active => {
                    sums.0 += line.held();
                    sums.2 += line.backordered;
                    let changed = last_change.get(&line.key()).copied();
                    if changed.is_none_or(|at| !reservation.is_expired_at(at)) {
                        *owed_live.entry(line.key()).or_default() += line.backordered;
                    }
                }
                ReservationStatus::Committed => {
                    sums.1 += line.held();
                    if line.backordered != 0 {
                        found.push(format!(
                            "committed reservation {} still owes {} of {}",
                            reservation.id, line.backordered, line.sku
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    let counted: std::collections::BTreeSet<&StockKey> = snapshot
        .ledger
        .iter()
        .filter(|entry| {
            use crate::ledger::Movement;
            matches!(entry.movement, Movement::Counted | Movement::Set)
        })
        .map(|entry| &entry.key)
        .collect();
    for (key, level) in &snapshot.stock {
        // Only a count or a set (physical facts) may leave available below zero.
        if !level.is_valid() || (level.available() < 0 && !counted.contains(key)) {
            found.push(format!("{}/{} is {level:?}", key.sku, key.location));
        }
        let (reserved, committed, backordered) = held.remove(key).unwrap_or_default();
        if (level.reserved, level.committed, level.backordered)
            != (reserved, committed, backordered)
        {
            found.push(format!(
                "{}/{} stores reserved {} committed {} backordered {}, reservations hold \
                 {reserved} and {committed} and are owed {backordered}",
                key.sku, key.location, level.reserved, level.committed, level.backordered
            ));
        }
        if owed_live.get(key).copied().unwrap_or(0) > 0 && level.available() > 0 {
            found.push(format!(
                "{}/{} has {} available while live holds are owed backordered units",
                key.sku,
                key.location,
                level.available()
            ));
        }
    }
    for (key, sums) in held {
        if sums != (0, 0, 0) {
            found.push(format!(
                "{}/{} has holds {sums:?} but no row",
                key.sku, key.location
            ));
        }
    }
    match replay(&snapshot.ledger) {
        Ok(rows) if rows == snapshot.stock => {}
        Ok(rows) => found.push(format!(
            "the ledger replays to {rows:?}, the store holds {:?}",
            snapshot.stock
        )),
        Err(error) => found.push(error.to_string()),
    }
    found
}

/// What is wrong with the returns of `reservation`, if anything.
fn over_returned(reservation: &crate::Reservation) -> Vec<String> {
    let mut found = Vec::new();
    if reservation.returns.is_empty() {
        return found;
    }
    if reservation.status != ReservationStatus::Shipped {
        found.push(format!(
            "reservation {} is {} but has returns",
            reservation.id, reservation.status
        ));
    }
    let mut per_sku: BTreeMap<&crate::Sku, (i64, i64)> = BTreeMap::new();
    for line in &reservation.lines {
        per_sku.entry(&line.sku).or_default().0 += line.quantity.get();
    }
    for line in reservation.returns.iter().flat_map(|record| &record.lines) {
        per_sku.entry(&line.sku).or_default().1 += line.quantity.get();
    }
    for (sku, (shipped, returned)) in per_sku {
        if returned > shipped {
            found.push(format!(
                "reservation {} returned {returned} of {sku}, shipped {shipped}",
                reservation.id
            ));
        }
    }
    found
}

/// Why `entry` does not explain itself, if it does not.
fn unexplained(entry: &crate::LedgerEntry) -> Option<&'static str> {
    use crate::ledger::Movement;
    match entry.movement {
        Movement::Adjusted
        | Movement::Set
        | Movement::Damaged
        | Movement::QualityControl
        | Movement::SafetyStock
        | Movement::Returned
        | Movement::ReturnWrittenOff
            if entry.reason.is_none() =>
        {
            Some("has no reason")
        }
        Movement::Returned | Movement::ReturnWrittenOff if entry.order_id.is_none() => {
            Some("names no order")
        }
        Movement::TransferredOut
            if !entry
                .reference
                .as_deref()
                .is_some_and(|reference| reference.starts_with("transfer:")) =>
        {
            Some("names no transfer")
        }
        _ => None,
    }
}

/// Panics, listing every broken invariant, unless `store` is sound.
pub async fn assert_invariants<S: AuditStore>(store: &S) {
    let snapshot = StoreState::capture(store).await;
    let found = violations(&snapshot);
    assert!(found.is_empty(), "invariants broken:\n{}", found.join("\n"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{order, Harness};
    use crate::MemoryStore;

    #[tokio::test]
    async fn a_tampered_store_is_caught() {
        let harness = Harness::new(MemoryStore::new());
        harness.stocked("A", "W", 5).await;
        harness.held(order("o1", &[("A", 2)])).await;
        let sound = harness.snapshot().await;
        assert!(violations(&sound).is_empty());

        let mut extra_reserved = sound.clone();
        extra_reserved
            .stock
            .values_mut()
            .for_each(|level| level.reserved += 1);
        assert!(!violations(&extra_reserved).is_empty());

        let mut lost_entry = sound.clone();
        lost_entry.ledger.remove(0);
        assert!(!violations(&lost_entry).is_empty());

        let mut lost_hold = sound;
        lost_hold.reservations.clear();
        assert!(!violations(&lost_hold).is_empty());
    }
}
