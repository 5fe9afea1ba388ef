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

/// The threshold crossings between two states, by SKU: what must have been raised. A
/// SKU is low when the catalog of its state watches it and its measure is at or below
/// the threshold; a step that makes it low raises `low`, one that makes a watched SKU
/// no longer low raises `recovered` (one that stops watching it raises nothing).
fn crossings(
    (catalog_before, before): (&Catalog, &StoreState),
    (catalog_after, after): (&Catalog, &StoreState),
) -> Vec<(String, StockEventKind, i64)> {
    let (was, is) = (totals(before), totals(after));
    let mut crossed = Vec::new();
    for (sku, settings) in catalog_after.entries() {
        let Some(watch) = settings.low_stock_watch() else {
            continue;
        };
        let total = |totals: &BTreeMap<_, StockLevel>| totals.get(sku).copied().unwrap_or_default();
        let then = catalog_before
            .settings(sku)
            .and_then(|settings| settings.low_stock_watch())
            .is_some_and(|watch| watch.low(&total(&was)).0);
        let (now, value) = watch.low(&total(&is));
        match (then, now) {
            (false, true) => crossed.push((sku.to_string(), StockEventKind::Low, value)),
            (true, false) => crossed.push((sku.to_string(), StockEventKind::Recovered, value)),
            _ => {}
        }
    }
    crossed
}

/// Units each active hold is owed at each row, by row, the holds oldest first (by
/// creation, then id): the order backorders are covered in.
fn owed(state: &StoreState) -> BTreeMap<StockKey, Vec<(inventory_core::ReservationId, i64)>> {
    let mut holds: Vec<_> = state
        .reservations
        .iter()
        .filter(|held| held.status == ReservationStatus::Active)
        .collect();
    holds.sort_by_key(|held| (held.created_at, held.id));
    let mut owed: BTreeMap<StockKey, Vec<_>> = BTreeMap::new();
    for held in holds {
        let mut rows: BTreeMap<StockKey, i64> = BTreeMap::new();
        for line in &held.lines {
            *rows.entry(line.key()).or_default() += line.backordered;
        }
        for (key, units) in rows {
            owed.entry(key).or_default().push((held.id, units));
        }
    }
    owed
}

/// Backorders are covered first come, first served: a step that covers units a hold
/// was owed at a row leaves no older hold, still live, owed units there.
fn covered_in_order(
    before: &StoreState,
    after: &StoreState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let was = owed(before);
    for (key, holds) in owed(after) {
        let earlier: BTreeMap<_, i64> = was
            .get(&key)
            .map(|holds| holds.iter().copied().collect())
            .unwrap_or_default();
        let live = |id| {
            after
                .reservations
                .iter()
                .any(|held| held.id == id && !held.is_expired_at(now))
        };
        let mut still_owed: Option<inventory_core::ReservationId> = None;
        for (id, units) in holds {
            let covered = earlier.get(&id).is_some_and(|then| *then > units);
            if let (true, Some(older)) = (covered, still_owed) {
                return Err(format!(
                    "{key:?}: {id:?} was covered while the older {older:?} is still owed"
                ));
            }
            if units > 0 && live(id) && still_owed.is_none() {
                still_owed = Some(id);
            }
        }
    }
    Ok(())
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
        let catalog_after = h.inventory.catalog().await.expect("catalog");
        let crossed = crossings((&catalog, &before), (&catalog_after, &after));
        prop_assert_eq!(raised, crossed, "step {} {:?}", step, op);
        let found = violations(&after);
        prop_assert!(found.is_empty(), "step {step} {op:?}: {found:?}");
        let in_order = covered_in_order(&before, &after, h.inventory.now());
        prop_assert!(in_order.is_ok(), "step {step} {op:?}: {in_order:?}");
        let catalog = catalog_after;
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

/// A step of the backorder sequences: on one SKU at one location that may be sold 1,000
/// units beyond the shelf.
#[derive(Debug, Clone)]
enum Backorder {
    /// An order of this many units.
    Reserve(i64),
    /// A receipt of this many units.
    Receive(i64),
    /// The release of the hold made by the `usize`-th order (modulo those made).
    Release(usize),
    /// The commit of that hold (refused while it is owed units).
    Commit(usize),
    /// The clock moves this many seconds (holds last 30 minutes).
    Advance(u64),
}

fn backorder_steps() -> impl Strategy<Value = Vec<Backorder>> {
    let step = prop_oneof![
        4 => (1..=6i64).prop_map(Backorder::Reserve),
        3 => (1..=9i64).prop_map(Backorder::Receive),
        1 => any::<usize>().prop_map(Backorder::Release),
        1 => any::<usize>().prop_map(Backorder::Commit),
        2 => (1..=300u64).prop_map(Backorder::Advance),
    ];
    proptest::collection::vec(step, 1..=40)
}

/// Units owed to each hold of `made`, in order, and whether it is live at `now`.
fn owed_in_order(
    made: &[inventory_core::ReservationId],
    snapshot: &StoreState,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(i64, bool)> {
    made.iter()
        .map(|id| {
            let held = snapshot.reservations.iter().find(|r| r.id == *id);
            let live = held.is_some_and(|held| {
                held.status == ReservationStatus::Active && !held.is_expired_at(now)
            });
            let units = held.map_or(0, |held| held.lines.iter().map(|l| l.backordered).sum());
            (units, live)
        })
        .collect()
}

/// Arrivals cover backorders first come, first served: after every step, a hold that
/// was covered any units leaves no hold made before it, still live, owed units; and a
/// live hold is owed units only while none are available.
async fn backorders_in_order(steps: Vec<Backorder>) -> Result<(), TestCaseError> {
    use inventory_core::catalog::BackorderLimit;
    use inventory_core::testkit::{loc, order};
    use std::time::Duration;

    let h = Harness::new(MemoryStore::new());
    let (tee, main) = (sku("TEE"), loc("main"));
    h.stocked("TEE", "main", 2).await;
    h.inventory
        .set_backorder_limit(tee.clone(), Some(BackorderLimit::Units(1_000)))
        .await
        .expect("limit");
    let mut made = Vec::new();
    for (step, op) in steps.iter().enumerate() {
        let before = owed_in_order(&made, &h.snapshot().await, h.inventory.now());
        match op {
            Backorder::Reserve(units) => {
                let id = format!("o{step}");
                let held = h.held(order(&id, &[("TEE", *units)])).await;
                made.push(held.id);
                h.advance(Duration::from_millis(1));
            }
            Backorder::Receive(units) => {
                let units = inventory_core::Quantity::new(*units).expect("units");
                h.inventory
                    .receive(tee.clone(), main.clone(), units)
                    .await
                    .expect("receipt");
            }
            Backorder::Release(index) | Backorder::Commit(index) if !made.is_empty() => {
                let id = made[index % made.len()];
                let result = match op {
                    Backorder::Release(_) => h.inventory.release(id).await.map(drop),
                    _ => h.inventory.commit(id).await.map(drop),
                };
                // Holds may be expired, released, committed or owed: refusals are fine.
                let _ = result;
            }
            Backorder::Release(_) | Backorder::Commit(_) => {}
            Backorder::Advance(seconds) => h.advance(Duration::from_secs(*seconds)),
        }
        let after_state = h.snapshot().await;
        let after = owed_in_order(&made, &after_state, h.inventory.now());
        let mut older_owed = None;
        for (index, (units, live)) in after.iter().enumerate() {
            let covered = before.get(index).is_some_and(|(then, _)| then > units) && *live;
            prop_assert!(
                !(covered && older_owed.is_some()),
                "step {step} {op:?}: order {index} covered while order {older_owed:?} is owed: {after:?}"
            );
            if *units > 0 && *live && older_owed.is_none() {
                older_owed = Some(index);
            }
        }
        let found = violations(&after_state);
        prop_assert!(found.is_empty(), "step {step} {op:?}: {found:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(300),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })]

    /// Backorders are covered by arrivals first come, first served.
    #[test]
    fn backorders_are_covered_first_come_first_served(steps in backorder_steps()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        runtime.block_on(backorders_in_order(steps))?;
    }
}
