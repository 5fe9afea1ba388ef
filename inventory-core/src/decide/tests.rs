//! Pure tests of the decision core: no store, no clock, no runtime.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::id::{LocationId, OrderId};
use crate::ledger::{replay, Movement};
use crate::reservation::{OrderLine, ReservationStatus};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + seconds, 0).unwrap()
}

fn key(sku: &str, location: &str) -> StockKey {
    StockKey::new(Sku::new(sku).unwrap(), LocationId::new(location).unwrap())
}

fn units(n: i64) -> Quantity {
    Quantity::new(n).unwrap()
}

fn reserve(order: &str, sku: &str, n: i64) -> Command {
    let line = OrderLine::new(Sku::new(sku).unwrap(), units(n));
    let request = ReserveRequest::new(OrderId::new(order).unwrap(), vec![line])
        .with_ttl(Duration::from_secs(60));
    Command::Reserve { request }
}

/// Decides `commands` one after another on one snapshot, as a group commit does.
fn batch(
    snapshot: &mut Snapshot,
    commands: &[Command],
    now: DateTime<Utc>,
) -> (Vec<Result<Outcome, DomainError>>, Changes) {
    let mut all = Changes::default();
    let outcomes = commands
        .iter()
        .map(|command| {
            let decision = decide(command, snapshot, now)?;
            snapshot.apply(&decision.changes);
            all.merge(decision.changes);
            Ok(decision.outcome)
        })
        .collect();
    (outcomes, all)
}

#[test]
fn plans_name_exactly_what_a_command_reads() {
    let plan = reserve("o1", "B", 1).plan();
    let order = OrderId::new("o1").unwrap();
    assert_eq!(plan.reservations, vec![ReservationId::for_order(&order)]);
    assert_eq!(plan.skus, vec![Sku::new("B").unwrap()]);
    assert!(plan.overdue_holds);

    let id = ReservationId::for_order(&order);
    let plan = Command::Ship { id }.plan();
    assert_eq!(
        (
            plan.reservations.clone(),
            plan.skus.len(),
            plan.overdue_holds
        ),
        (vec![id], 0, false)
    );

    let sweep = Command::ExpireDue { limit: usize::MAX }.plan();
    assert_eq!(sweep.due_holds, Some(EXPIRE_BATCH_MAX));

    let merged = LoadPlan::merge([
        reserve("o1", "B", 1).plan(),
        plan,
        sweep,
        reserve("o2", "A", 1).plan(),
    ]);
    assert_eq!(
        merged.skus,
        vec![Sku::new("A").unwrap(), Sku::new("B").unwrap()]
    );
    assert_eq!(merged.reservations.len(), 2, "o1's id is named twice");
    assert!(merged.reservations.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(
        (merged.overdue_holds, merged.due_holds),
        (true, Some(EXPIRE_BATCH_MAX))
    );
}

#[test]
fn a_batch_on_one_snapshot_sells_the_last_unit_once() {
    let mut snapshot = Snapshot::default();
    let receive = Command::Move(StockMovement::Receive {
        key: key("A", "W"),
        quantity: units(1),
    });
    let commands = [
        receive,
        reserve("o1", "A", 1),
        reserve("o2", "A", 1),
        reserve("o1", "A", 1),
    ];
    let (outcomes, changes) = batch(&mut snapshot, &commands, at(0));
    assert!(matches!(
        outcomes[1],
        Ok(Outcome::Reserve(ReserveResult { created: true, .. }))
    ));
    assert!(matches!(
        outcomes[2],
        Err(DomainError::InsufficientStock {
            available: 0,
            requested: 1,
            ..
        })
    ));
    assert!(matches!(
        outcomes[3],
        Ok(Outcome::Reserve(ReserveResult { created: false, .. }))
    ));
    let movements: Vec<Movement> = changes.ledger.iter().map(|entry| entry.movement).collect();
    assert_eq!(movements, [Movement::Received, Movement::Reserved]);
    assert_eq!(replay(&changes.ledger).unwrap(), changes.stock);
    assert_eq!(changes.stock[&key("A", "W")].reserved, 1);
}

#[test]
fn decisions_are_deterministic() {
    let mut snapshot = Snapshot::default();
    let receive = Command::Move(StockMovement::Receive {
        key: key("A", "W"),
        quantity: units(5),
    });
    batch(&mut snapshot, &[receive], at(0));
    let first = decide(&reserve("o1", "A", 2), &snapshot, at(5)).unwrap();
    let second = decide(&reserve("o1", "A", 2), &snapshot, at(5)).unwrap();
    assert_eq!(first, second);
}

#[test]
fn reclaim_needs_every_row_of_the_overdue_hold() {
    let mut snapshot = Snapshot::default();
    let stock = [
        Command::Move(StockMovement::Receive {
            key: key("A", "W"),
            quantity: units(1),
        }),
        Command::Move(StockMovement::Receive {
            key: key("B", "W"),
            quantity: units(1),
        }),
    ];
    batch(&mut snapshot, &stock, at(0));
    let line = |sku: &str| OrderLine::new(Sku::new(sku).unwrap(), units(1));
    let both = ReserveRequest::new(OrderId::new("both").unwrap(), vec![line("A"), line("B")])
        .with_ttl(Duration::from_secs(60));
    batch(&mut snapshot, &[Command::Reserve { request: both }], at(0));

    // With every row loaded, the overdue hold is reclaimed on both SKUs.
    let decision = decide(&reserve("next", "A", 1), &snapshot, at(61)).unwrap();
    let expired = decision
        .changes
        .ledger
        .iter()
        .filter(|e| e.movement == Movement::Expired);
    assert_eq!(expired.count(), 2);
    let held = decision.changes.reservations.values();
    let statuses: Vec<_> = held.map(|r| (r.order_id.to_string(), r.status)).collect();
    assert!(statuses.contains(&("both".to_owned(), ReservationStatus::Expired)));

    // A backend that forgot to load B's row gets an error, never a made-up row.
    snapshot.stock.remove(&key("B", "W"));
    let error = decide(&reserve("next", "A", 1), &snapshot, at(61)).unwrap_err();
    assert!(matches!(error, DomainError::InconsistentState { .. }));
}

#[test]
fn hold_times_are_exact() {
    let mut snapshot = Snapshot::default();
    let receive = Command::Move(StockMovement::Receive {
        key: key("A", "W"),
        quantity: units(1),
    });
    batch(&mut snapshot, &[receive], at(0));
    let decision = decide(&reserve("o1", "A", 1), &snapshot, at(10)).unwrap();
    let Outcome::Reserve(ReserveResult { reservation, .. }) = decision.outcome else {
        panic!()
    };
    assert_eq!(
        reservation.expires_at - reservation.created_at,
        TimeDelta::seconds(60)
    );
    snapshot.apply(&decision.changes);
    // At exactly expires_at the hold is over.
    let error = decide(&Command::Commit { id: reservation.id }, &snapshot, at(70)).unwrap_err();
    assert!(matches!(error, DomainError::Expired { .. }));
    assert!(decide(&Command::Commit { id: reservation.id }, &snapshot, at(69)).is_ok());
}

#[test]
fn commands_round_trip_through_json() {
    let command = reserve("o1", "A", 2);
    let text = serde_json::to_string(&command).unwrap();
    assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), command);
    let bad = text.replace("\"quantity\":2", "\"quantity\":0");
    assert!(serde_json::from_str::<Command>(&bad).is_err());
}

/// What makes optimistic units safe: a count that opens an investigation (the only
/// way a SKU freezes) always changes a stock row of that SKU, so a unit that read the
/// SKU's rows before the freeze finds one changed when it writes.
#[test]
fn opening_an_investigation_changes_a_stock_row_of_its_sku() {
    let row = key("MUG", "main");
    let received = decide(
        &Command::Move(StockMovement::Receive {
            key: row.clone(),
            quantity: units(100),
        }),
        &Snapshot::default(),
        at(0),
    )
    .unwrap();
    let mut snapshot = Snapshot::default();
    snapshot.apply(&received.changes);
    for counted in [0, 50, 89, 94, 96, 100, 106, 111, 200] {
        let count = Command::RecordCount {
            key: row.clone(),
            counted,
            counted_by: "ann".into(),
            thresholds: crate::counting::CountThresholds::default(),
        };
        let decision = decide(&count, &snapshot, at(1)).unwrap();
        if !decision.changes.investigations.is_empty() {
            assert!(
                decision.changes.stock.contains_key(&row),
                "counted {counted}: an investigation opened without a stock change"
            );
        }
    }
    assert!(reserve("o1", "MUG", 1).plan().reads_are_guarded());
    let count = Command::RecordCount {
        key: row,
        counted: 1,
        counted_by: "ann".into(),
        thresholds: crate::counting::CountThresholds::default(),
    };
    assert!(!count.plan().reads_are_guarded());
    assert!(!Command::ExpireDue { limit: 5 }.plan().reads_are_guarded());
}
