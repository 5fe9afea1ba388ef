//! Property tests: random command sequences against MemoryStore, every invariant
//! checked after every step.

use std::collections::BTreeMap;

use inventory_core::catalog::Catalog;
use inventory_core::decide::Outcome;
use inventory_core::events::{EventStore, StockEventKind};
use inventory_core::testkit::invariants::violations;
use inventory_core::testkit::strategy::{apply, ops, Op, PurchaseStep, BUNDLES};
use inventory_core::testkit::{sku, Harness, StoreState};
use inventory_core::{
    MemoryStore, Movement, ReservationStatus, ReserveResult, StockKey, StockLevel,
};
use inventory_tests::proptest_cases;
use proptest::prelude::*;

/// Units at each row that a reserve may take: what is available, plus what overdue
/// active holds on the row keep (a reserve may reclaim those).
fn takeable(before: &StoreState, now: chrono::DateTime<chrono::Utc>) -> BTreeMap<StockKey, i64> {
    let mut units: BTreeMap<StockKey, i64> = before
        .stock
        .iter()
        .map(|(key, level)| (key.clone(), level.available()))
        .collect();
    for hold in before.reservations.iter().filter(|r| r.is_expired_at(now)) {
        for line in &hold.lines {
            *units.entry(line.key()).or_default() += line.quantity.get();
        }
    }
    units
}

/// Each SKU's total over its rows.
fn totals(state: &StoreState) -> BTreeMap<inventory_core::Sku, StockLevel> {
    let mut totals: BTreeMap<inventory_core::Sku, StockLevel> = BTreeMap::new();
    for (key, level) in &state.stock {
        let total = totals.entry(key.sku.clone()).or_default();
        total.on_hand += level.on_hand;
        total.reserved += level.reserved;
        total.committed += level.committed;
        total.in_transit += level.in_transit;
        total.damaged += level.damaged;
        total.quality_control += level.quality_control;
        total.safety_stock += level.safety_stock;
    }
    totals
}

/// The threshold crossings between two states, by SKU: what must have been raised.
fn crossings(
    catalog: &Catalog,
    before: &StoreState,
    after: &StoreState,
) -> Vec<(String, StockEventKind, i64)> {
    let (was, is) = (totals(before), totals(after));
    let mut crossed = Vec::new();
    for (sku, settings) in catalog.entries() {
        let Some(low) = settings.low_stock else {
            continue;
        };
        let measure = |totals: &BTreeMap<_, StockLevel>| {
            low.measure
                .of(&totals.get(sku).copied().unwrap_or_default())
        };
        let (then, now) = (measure(&was), measure(&is));
        match (low.is_low(then), low.is_low(now)) {
            (false, true) => crossed.push((sku.to_string(), StockEventKind::Low, now)),
            (true, false) => crossed.push((sku.to_string(), StockEventKind::Recovered, now)),
            _ => {}
        }
    }
    crossed
}

async fn run(sequence: Vec<Op>) -> Result<(), TestCaseError> {
    let h = Harness::new(MemoryStore::new());
    for (step, op) in sequence.iter().enumerate() {
        let before = h.snapshot().await;
        let now = h.inventory.now();
        let events_before = h.inventory.store().pending_events().await.expect("events");
        let catalog = h.inventory.catalog().await.expect("catalog");
        let result = apply(&h, op).await;
        let after = h.snapshot().await;
        // Every crossing of a low-stock threshold raised exactly one event, and nothing
        // else raised any.
        let raised: Vec<(String, StockEventKind, i64)> =
            h.inventory.store().pending_events().await.expect("events")[events_before.len()..]
                .iter()
                .map(|queued| {
                    (
                        queued.event.sku.to_string(),
                        queued.event.kind,
                        queued.event.value,
                    )
                })
                .collect();
        let crossed = crossings(&catalog, &before, &after);
        prop_assert_eq!(raised, crossed, "step {} {:?}", step, op);
        let found = violations(&after);
        prop_assert!(found.is_empty(), "step {step} {op:?}: {found:?}");
        let catalog = h.inventory.catalog().await.expect("catalog");
        for bundle in BUNDLES.map(sku) {
            let Some(components) = catalog.bundle(&bundle) else {
                continue;
            };
            // The bundle's number is its scarcest component's, from the rows as stored.
            let formula = components
                .iter()
                .map(|component| {
                    let rows = after
                        .stock
                        .iter()
                        .filter(|(key, _)| key.sku == component.sku);
                    let available: i64 = rows.map(|(_, level)| level.available()).sum();
                    available.max(0) / component.quantity.get()
                })
                .min()
                .unwrap_or(0);
            let stock = h.inventory.bundle_stock(&bundle).await.expect("read");
            prop_assert_eq!(
                stock.map(|stock| stock.available),
                Some(formula),
                "step {}",
                step
            );
            prop_assert!(
                !after.stock.keys().any(|key| key.sku == bundle),
                "step {step}: a bundle holds stock"
            );
        }
        match &result {
            Err(error) => prop_assert_eq!(
                &after,
                &before,
                "refused step {} {:?} ({})",
                step,
                op,
                error
            ),
            Ok(Some(Outcome::Reserve(ReserveResult {
                reservation,
                created: true,
            }))) => {
                prop_assert_eq!(reservation.status, ReservationStatus::Active);
                let mut taken: BTreeMap<StockKey, i64> = BTreeMap::new();
                // Backordered units are owed, not taken.
                for line in &reservation.lines {
                    *taken.entry(line.key()).or_default() += line.held();
                }
                let takeable = takeable(&before, now);
                for (key, units) in taken {
                    let limit = takeable.get(&key).copied().unwrap_or(0);
                    prop_assert!(
                        units <= limit.max(0),
                        "step {step}: took {units} of {key:?}, only {limit} takeable"
                    );
                }
            }
            Ok(Some(Outcome::Reserve(ReserveResult { created: false, .. }))) | Ok(None) => {
                prop_assert_eq!(&after.ledger, &before.ledger, "step {} wrote entries", step);
            }
            Ok(Some(Outcome::Counted(report))) => {
                // A count moves on hand only: never what is promised (units it finds may
                // cover backorders, which moves them from owed to held).
                let promised = |snapshot: &StoreState| -> Vec<(i64, i64)> {
                    snapshot
                        .stock
                        .values()
                        .map(|l| (l.reserved + l.backordered, l.committed))
                        .collect()
                };
                prop_assert_eq!(
                    promised(&after),
                    promised(&before),
                    "step {}: a count moved promises",
                    step
                );
                let key = StockKey::new(report.record.sku.clone(), report.record.location.clone());
                prop_assert_eq!(after.stock[&key].on_hand, report.record.counted);
            }
            Ok(Some(Outcome::PurchaseOrder(_))) => {
                if let Op::Purchase(_, PurchaseStep::Receive(_, units)) = op {
                    let total = |snapshot: &StoreState, field: fn(&StockLevel) -> i64| -> i64 {
                        snapshot.stock.values().map(field).sum()
                    };
                    let on_hand = total(&after, |l| l.on_hand) - total(&before, |l| l.on_hand);
                    let in_transit =
                        total(&after, |l| l.in_transit) - total(&before, |l| l.in_transit);
                    prop_assert_eq!(
                        (on_hand, in_transit),
                        (*units, -*units),
                        "step {}: receipt not conserved",
                        step
                    );
                }
            }
            Ok(Some(Outcome::Transfer(transfer))) => {
                // A leg moves units between the source's shelf and the destination's
                // transit and shelf: nothing appears or vanishes but what a close
                // writes off, and a shipment takes only what the source had available.
                let total = |snapshot: &StoreState| -> i64 {
                    snapshot
                        .stock
                        .iter()
                        .filter(|(key, _)| key.sku == transfer.sku)
                        .map(|(_, level)| level.on_hand + level.in_transit)
                        .sum()
                };
                let written_off = match op {
                    Op::CloseTransfer(_) => {
                        let earlier = before
                            .ledger
                            .iter()
                            .filter(|entry| entry.movement == Movement::TransitCancelled)
                            .count();
                        let now = after
                            .ledger
                            .iter()
                            .filter(|entry| entry.movement == Movement::TransitCancelled)
                            .map(|entry| entry.quantity);
                        now.skip(earlier).sum()
                    }
                    _ => 0,
                };
                prop_assert_eq!(
                    total(&after) + written_off,
                    total(&before),
                    "step {}: transfer not conserved",
                    step
                );
                if let Op::ShipTransfer(..) = op {
                    let source = StockKey::new(transfer.sku.clone(), transfer.from.clone());
                    let took = before.stock.get(&source).map_or(0, |l| l.on_hand)
                        - after.stock.get(&source).map_or(0, |l| l.on_hand);
                    let available = before.stock.get(&source).map_or(0, StockLevel::available);
                    prop_assert!(
                        took <= available.max(0),
                        "step {step}: took {took}, {available} available"
                    );
                }
            }
            Ok(Some(Outcome::Set(_))) | Ok(Some(Outcome::Stock(_))) => {
                // Sets and state changes never move promises or transit (units they make
                // available may cover backorders: owed becomes held).
                let kept = |snapshot: &StoreState| -> BTreeMap<StockKey, (i64, i64, i64)> {
                    snapshot
                        .stock
                        .iter()
                        .map(|(key, l)| {
                            let promised = l.reserved + l.backordered;
                            (key.clone(), (promised, l.committed, l.in_transit))
                        })
                        .filter(|(_, numbers)| *numbers != (0, 0, 0))
                        .collect()
                };
                if matches!(op, Op::Set(..) | Op::ChangeState(..)) {
                    prop_assert_eq!(kept(&after), kept(&before), "step {}", step);
                }
                if let Op::ChangeState(..) = op {
                    let on_hand = |s: &StoreState| -> Vec<i64> {
                        s.stock.values().map(|l| l.on_hand).collect()
                    };
                    prop_assert_eq!(on_hand(&after), on_hand(&before), "step {}", step);
                }
            }
            Ok(Some(_)) => {}
        }
        // Reads agree with the audit view.
        for (key, level) in &after.stock {
            let stock = h.inventory.stock(&key.sku).await.expect("known sku");
            let row = stock
                .locations
                .iter()
                .find(|row| row.location == key.location);
            prop_assert_eq!(row.map(|row| row.level), Some(*level));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(1_000),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })]

    /// Every invariant holds after every step of any sequence; refused steps change
    /// nothing; no hold ever takes more than was available (or reclaimable).
    #[test]
    fn memory_store_keeps_every_invariant(sequence in ops(60)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        runtime.block_on(run(sequence))?;
    }
}
