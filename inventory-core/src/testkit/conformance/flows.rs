//! The daily flows beside selling: unavailable stock by state, transfers between
//! locations, returns with disposition, bulk sets.

use crate::backend::AuditStore;
use crate::bulk::{BulkSet, SetRow, StaleRow};
use crate::counting::CountThresholds;
use crate::decide::StockMovement;
use crate::error::DomainError;
use crate::id::{IdempotencyKey, OrderId};
use crate::ledger::Movement;
use crate::returns::{Disposition, ReturnLine, ReturnRequest};
use crate::stock::{StockKey, StockState};
use crate::sync::SyncStore;
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, qty, sku, Harness};
use crate::transfer::{
    transfer_reference, TransferId, TransferLeg, TransferRequest, TransferStatus,
};

use StockState::{Available, Damaged, QualityControl, SafetyStock};

/// Units move between sellable and each unavailable state and between states: on hand
/// never changes, available drops by what is set aside, every move is in the ledger
/// (with its reason) and marks the SKU for channels only when available changed.
pub async fn state_changes_set_units_aside<S: AuditStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    let store = h.inventory.store();
    h.stocked("MUG", "main", 10).await;
    settle(&h).await;
    let change = |from, to, units| {
        h.inventory
            .change_state(sku("MUG"), loc("main"), from, to, qty(units))
    };
    let row = change(Available, Damaged, 2).await.unwrap();
    assert_eq!((row.on_hand, row.damaged, row.available()), (10, 2, 8));
    assert!(
        store.is_dirty(&sku("MUG")).await.unwrap(),
        "channels see the drop"
    );
    settle(&h).await;
    let row = change(Damaged, QualityControl, 1).await.unwrap();
    assert_eq!(
        (row.damaged, row.quality_control, row.available()),
        (1, 1, 8)
    );
    assert!(
        !store.is_dirty(&sku("MUG")).await.unwrap(),
        "a move between two unavailable states leaves available as it was"
    );
    let row = change(Available, SafetyStock, 3).await.unwrap();
    let row_after_qc = change(QualityControl, Available, 1).await.unwrap();
    assert_eq!(row.safety_stock, 3);
    assert_eq!(
        (
            row_after_qc.on_hand,
            row_after_qc.quality_control,
            row_after_qc.unavailable(),
            row_after_qc.available()
        ),
        (10, 0, 4, 6)
    );
    let stock = h.inventory.stock(&sku("MUG")).await.unwrap();
    assert_eq!((stock.total.damaged, stock.total.safety_stock), (1, 3));

    let snapshot = h.snapshot().await;
    let moves: Vec<(Movement, i64)> = snapshot.ledger[1..]
        .iter()
        .map(|entry| (entry.movement, entry.quantity))
        .collect();
    assert_eq!(
        moves,
        [
            (Movement::Damaged, 2),
            (Movement::Damaged, -1),
            (Movement::QualityControl, 1),
            (Movement::SafetyStock, 3),
            (Movement::QualityControl, -1),
        ]
    );
    assert_eq!(
        snapshot.ledger[2].reason.as_deref(),
        Some("stock state damaged -> quality_control")
    );
    assert_invariants(store).await;
}

/// Claims and releases every dirty mark: channels are up to date.
async fn settle<S: AuditStore + SyncStore>(h: &Harness<S>) {
    let now = h.inventory.now();
    let until = now + chrono::TimeDelta::seconds(30);
    let store = h.inventory.store();
    let marks = store.claim_dirty(now, until, 10).await.unwrap();
    store.release_dirty(&marks, None).await.unwrap();
}

/// Units set aside are not sold: a reserve sees only sellable units, held units cannot
/// be set aside, a state cannot give more than it holds, a state change to itself is
/// refused; each refusal writes nothing.
pub async fn unavailable_units_are_never_sold<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 5).await;
    h.inventory
        .change_state(sku("MUG"), loc("main"), Available, Damaged, qty(2))
        .await
        .unwrap();
    let error = h
        .inventory
        .reserve(order("o1", &[("MUG", 4)]))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::InsufficientStock {
            available: 3,
            requested: 4,
            ..
        }
    ));
    h.held(order("o2", &[("MUG", 3)])).await;
    let before = h.snapshot().await;
    let refusals = [
        (Available, QualityControl, 1),
        (Damaged, Available, 3),
        (SafetyStock, Damaged, 1),
        (Damaged, Damaged, 1),
    ];
    let mut errors = Vec::new();
    for (from, to, units) in refusals {
        let error = h
            .inventory
            .change_state(sku("MUG"), loc("main"), from, to, qty(units))
            .await
            .unwrap_err();
        errors.push(domain_error(error));
    }
    assert_eq!(
        errors,
        [
            DomainError::InsufficientStock {
                sku: sku("MUG"),
                location: Some(loc("main")),
                available: 0,
                requested: 1,
            },
            DomainError::InsufficientInState {
                sku: sku("MUG"),
                location: loc("main"),
                state: Damaged,
                held: 2,
                requested: 3,
            },
            DomainError::InsufficientInState {
                sku: sku("MUG"),
                location: loc("main"),
                state: SafetyStock,
                held: 0,
                requested: 1,
            },
            DomainError::SameStockState { state: Damaged },
        ]
    );
    let error = h
        .inventory
        .change_state(sku("MUG"), loc("elsewhere"), Available, Damaged, qty(1))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::UnknownLocation { .. }
    ));
    assert_eq!(h.snapshot().await, before);
    assert_invariants(h.inventory.store()).await;
}

/// A count counts every unit on the shelf whatever its state: finding the same number
/// changes nothing, and units set aside still count as promised against when short.
pub async fn counts_count_units_in_every_state<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    h.inventory
        .change_state(sku("MUG"), loc("main"), Available, QualityControl, qty(4))
        .await
        .unwrap();
    let count = |found| {
        h.inventory.record_count(
            sku("MUG"),
            loc("main"),
            found,
            "ana",
            CountThresholds::default(),
        )
    };
    let report = count(10).await.unwrap();
    assert_eq!((report.record.expected, report.shortage), (10, None));
    assert_eq!(h.level("MUG", "main").await.quality_control, 4);
    h.held(order("o1", &[("MUG", 4)])).await;
    let report = count(7).await.unwrap();
    assert_eq!(
        report.shortage,
        Some(1),
        "4 held and 4 in quality control, 7 found: one held unit is missing"
    );
    let row = h.level("MUG", "main").await;
    assert_eq!(
        (row.on_hand, row.quality_control, row.available()),
        (7, 4, -1)
    );
    assert_invariants(h.inventory.store()).await;
}

/// A state change under an idempotency key applies once; the same key for another
/// change is refused.
pub async fn keyed_state_change_applies_once<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 6).await;
    let key = IdempotencyKey::new("qc-2026-17").unwrap();
    let movement = |to, units| StockMovement::ChangeState {
        key: StockKey::new(sku("MUG"), loc("main")),
        from: Available,
        to,
        quantity: qty(units),
    };
    let first = h
        .inventory
        .once(key.clone(), movement(QualityControl, 2))
        .await;
    let again = h
        .inventory
        .once(key.clone(), movement(QualityControl, 2))
        .await;
    assert_eq!(first.unwrap(), again.unwrap());
    assert_eq!(h.level("MUG", "main").await.quality_control, 2);
    let other = h.inventory.once(key.clone(), movement(Damaged, 2)).await;
    assert_eq!(
        domain_error(other.unwrap_err()),
        DomainError::IdempotencyKeyReused { key }
    );
    assert_invariants(h.inventory.store()).await;
}

fn set_row(s: &str, l: &str, on_hand: i64, expected: Option<i64>) -> SetRow {
    SetRow {
        key: StockKey::new(sku(s), loc(l)),
        on_hand,
        expected_on_hand: expected,
    }
}

fn stocktake(rows: Vec<SetRow>) -> BulkSet {
    BulkSet {
        reason: "stocktake".to_owned(),
        reference: Some("stocktake:2026-12".to_owned()),
        actor: Some("ana".to_owned()),
        rows,
    }
}

/// A bulk set replaces on hand on every row at once, creates new rows, never moves
/// held or set-aside units, reports a row set below what is promised, and writes one
/// `set` entry per row with the reason, reference and actor.
pub async fn bulk_set_replaces_on_hand_row_by_row<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    h.stocked("TEE", "main", 4).await;
    h.held(order("o1", &[("MUG", 3)])).await;
    h.inventory
        .change_state(sku("MUG"), loc("main"), Available, Damaged, qty(2))
        .await
        .unwrap();
    let rows = vec![
        set_row("MUG", "main", 4, Some(10)),
        set_row("TEE", "main", 4, None),
        set_row("CAP", "annex", 7, Some(0)),
    ];
    let results = h.inventory.set(stocktake(rows), None).await.unwrap();
    let numbers: Vec<(i64, i64, i64, Option<i64>)> = results
        .iter()
        .map(|r| {
            (
                r.level.on_hand,
                r.level.reserved,
                r.level.damaged,
                r.shortage,
            )
        })
        .collect();
    assert_eq!(
        numbers,
        [(4, 3, 2, Some(1)), (4, 0, 0, None), (7, 0, 0, None)],
        "3 held and 2 damaged, 4 on the shelf: one held unit is missing"
    );
    assert_eq!(h.level("CAP", "annex").await.available(), 7);
    let snapshot = h.snapshot().await;
    let mut sets: Vec<_> = snapshot
        .ledger
        .iter()
        .filter(|entry| entry.movement == Movement::Set)
        .map(|entry| {
            (
                entry.key.sku.as_str().to_owned(),
                entry.quantity,
                entry.reason.as_deref(),
                entry.reference.as_deref(),
                entry.actor.as_deref(),
            )
        })
        .collect();
    sets.sort();
    let doc = (Some("stocktake"), Some("stocktake:2026-12"), Some("ana"));
    assert_eq!(
        sets,
        [
            ("CAP".to_owned(), 7, doc.0, doc.1, doc.2),
            ("MUG".to_owned(), -6, doc.0, doc.1, doc.2),
            ("TEE".to_owned(), 0, doc.0, doc.1, doc.2),
        ]
    );
    assert_invariants(h.inventory.store()).await;
}

/// When any row's expectation is stale nothing is set, and the refusal names every
/// stale row with what it holds.
pub async fn a_stale_bulk_set_changes_nothing<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    h.stocked("TEE", "main", 4).await;
    let before = h.snapshot().await;
    let rows = vec![
        set_row("MUG", "main", 8, Some(9)),
        set_row("TEE", "main", 3, Some(4)),
        set_row("CAP", "main", 1, Some(2)),
    ];
    let error = h.inventory.set(stocktake(rows), None).await.unwrap_err();
    let stale = |s: &str, expected, current| StaleRow {
        key: StockKey::new(sku(s), loc("main")),
        expected_on_hand: expected,
        current_on_hand: current,
    };
    assert_eq!(
        domain_error(error),
        DomainError::StaleExpectations {
            rows: vec![stale("MUG", 9, 10), stale("CAP", 2, 0)]
        }
    );
    assert_eq!(h.snapshot().await, before);
}

/// Under an idempotency key the same set answers alike and writes nothing, even after
/// the rows moved on; another set under the key is refused.
pub async fn keyed_bulk_set_applies_once<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    let key = IdempotencyKey::new("erp-sync-881").unwrap();
    let rows = || {
        vec![
            set_row("MUG", "main", 6, Some(10)),
            set_row("TEE", "main", 2, None),
        ]
    };
    let first = h.inventory.set(stocktake(rows()), Some(key.clone())).await;
    let first = first.unwrap();
    h.stocked("MUG", "main", 1).await;
    let again = h.inventory.set(stocktake(rows()), Some(key.clone())).await;
    assert_eq!(again.unwrap(), first, "the first answer, nothing applied");
    assert_eq!(h.level("MUG", "main").await.on_hand, 7);
    let mut longer = rows();
    longer.push(set_row("CAP", "main", 1, None));
    for other in [vec![set_row("MUG", "main", 5, None)], longer] {
        let error = h.inventory.set(stocktake(other), Some(key.clone())).await;
        assert_eq!(
            domain_error(error.unwrap_err()),
            DomainError::IdempotencyKeyReused { key: key.clone() }
        );
    }
    assert_invariants(h.inventory.store()).await;
}

/// A malformed set is refused whole: no row, a row twice, a negative number, too many
/// rows, a bad reason, reference or actor.
pub async fn malformed_bulk_sets_are_refused<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    let before = h.snapshot().await;
    let many: Vec<SetRow> = (0..=crate::BULK_SET_ROWS_MAX)
        .map(|n| set_row(&format!("S{n}"), "main", 1, None))
        .collect();
    let with = |change: fn(&mut BulkSet)| {
        let mut set = stocktake(vec![set_row("MUG", "main", 1, None)]);
        change(&mut set);
        set
    };
    let cases = [
        stocktake(Vec::new()),
        stocktake(vec![
            set_row("MUG", "main", 1, None),
            set_row("MUG", "main", 2, None),
        ]),
        stocktake(vec![set_row("MUG", "main", -1, None)]),
        stocktake(vec![set_row("MUG", "main", 1, Some(-10))]),
        stocktake(many),
        with(|set| set.reason = " ".to_owned()),
        with(|set| set.reference = Some("no kind".to_owned())),
        with(|set| set.reference = Some("stocktake:".to_owned())),
        with(|set| set.actor = Some(String::new())),
    ];
    for set in cases {
        let error = domain_error(h.inventory.set(set, None).await.unwrap_err());
        assert!(
            matches!(
                error,
                DomainError::InvalidBulkSet { .. }
                    | DomainError::InvalidQuantity { .. }
                    | DomainError::InvalidReason { .. }
                    | DomainError::InvalidReference { .. }
                    | DomainError::InvalidActor { .. }
            ),
            "{error:?}"
        );
    }
    assert_eq!(h.snapshot().await, before);
}

/// A shipped order of `lines`, as its reservation's order id.
async fn shipped_order<S: AuditStore>(h: &Harness<S>, id: &str, lines: &[(&str, i64)]) -> OrderId {
    let hold = h.held(order(id, lines)).await;
    h.inventory.fulfil(hold.id).await.unwrap();
    hold.order_id
}

fn back(s: &str, units: i64, disposition: Disposition) -> ReturnLine {
    ReturnLine {
        sku: sku(s),
        quantity: qty(units),
        disposition,
        location: None,
    }
}

/// Each returned line comes back as its disposition says: restocked units are
/// sellable, damaged and quality-control units are on hand but set aside, written-off
/// units only recorded; every entry names the order; the reservation keeps the return
/// with the location each line came back to.
pub async fn returns_put_units_back_by_disposition<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    h.stocked("TEE", "main", 5).await;
    let order_id = shipped_order(&h, "r1", &[("MUG", 4), ("TEE", 2)]).await;
    let mut to_annex = back("MUG", 1, Disposition::Restock);
    to_annex.location = Some(loc("annex"));
    let lines = vec![
        back("MUG", 1, Disposition::Restock),
        back("MUG", 1, Disposition::Damaged),
        back("MUG", 1, Disposition::QualityControl),
        to_annex,
        back("TEE", 2, Disposition::WriteOff),
    ];
    let reservation = h
        .inventory
        .record_return(ReturnRequest::new(order_id.clone(), lines))
        .await
        .unwrap();
    let row = h.level("MUG", "main").await;
    assert_eq!(
        (
            row.on_hand,
            row.damaged,
            row.quality_control,
            row.available()
        ),
        (9, 1, 1, 7)
    );
    assert_eq!(h.level("MUG", "annex").await.available(), 1);
    assert_eq!(h.level("TEE", "main").await.on_hand, 3, "written off");
    assert_eq!(reservation.returns.len(), 1);
    let record = &reservation.returns[0];
    assert!(record.lines.iter().all(|line| line.location.is_some()));
    assert_eq!(record.lines[3].location, Some(loc("annex")));

    let snapshot = h.snapshot().await;
    let mut returned: Vec<(Movement, i64)> = snapshot
        .ledger
        .iter()
        .filter(|entry| entry.reference.as_deref() == Some("order:r1"))
        .filter(|entry| {
            entry.movement != Movement::Committed && entry.movement != Movement::Shipped
        })
        .filter(|entry| entry.movement != Movement::Reserved)
        .map(|entry| (entry.movement, entry.quantity))
        .collect();
    returned.sort_by_key(|(movement, _)| movement.as_str());
    assert_eq!(
        returned,
        [
            (Movement::Damaged, 1),
            (Movement::QualityControl, 1),
            (Movement::ReturnWrittenOff, 2),
            (Movement::Returned, 1),
            (Movement::Returned, 1),
            (Movement::Returned, 1),
            (Movement::Returned, 1),
        ]
    );
    assert_invariants(h.inventory.store()).await;
}

/// A return never brings back more than the order shipped over all its returns, nor
/// a SKU it did not ship; only a shipped order takes returns; refusals change nothing.
pub async fn returns_never_exceed_what_was_shipped<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    let order_id = shipped_order(&h, "r2", &[("MUG", 3)]).await;
    let first = ReturnRequest::new(order_id.clone(), vec![back("MUG", 2, Disposition::Restock)]);
    h.inventory.record_return(first).await.unwrap();
    let before = h.snapshot().await;
    let over = ReturnRequest::new(
        order_id.clone(),
        vec![
            back("MUG", 1, Disposition::Restock),
            back("MUG", 1, Disposition::Damaged),
        ],
    );
    let error = h.inventory.record_return(over).await.unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::OverReturn {
            order_id: order_id.clone(),
            sku: sku("MUG"),
            shipped: 3,
            returned: 2,
            requested: 2,
        }
    );
    let foreign = ReturnRequest::new(order_id.clone(), vec![back("TEE", 1, Disposition::Restock)]);
    let error = domain_error(h.inventory.record_return(foreign).await.unwrap_err());
    assert!(
        matches!(error, DomainError::OverReturn { shipped: 0, .. }),
        "{error:?}"
    );
    let empty = ReturnRequest::new(order_id, Vec::new());
    let error = domain_error(h.inventory.record_return(empty).await.unwrap_err());
    assert!(
        matches!(error, DomainError::InvalidReturn { .. }),
        "{error:?}"
    );
    let unknown = ReturnRequest::new(
        OrderId::new("never").unwrap(),
        vec![back("MUG", 1, Disposition::Restock)],
    );
    let error = domain_error(h.inventory.record_return(unknown).await.unwrap_err());
    assert!(
        matches!(error, DomainError::ReservationNotFound { .. }),
        "{error:?}"
    );
    assert_eq!(h.snapshot().await, before);
    assert_invariants(h.inventory.store()).await;
}

/// Under a key a return is recorded once, a different return under the key refused;
/// without a key each call is a return of its own.
pub async fn keyed_return_is_recorded_once<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    let order_id = shipped_order(&h, "r3", &[("MUG", 4)]).await;
    let key = IdempotencyKey::new("RMA-77").unwrap();
    let rma = |units| {
        ReturnRequest::new(
            order_id.clone(),
            vec![back("MUG", units, Disposition::Restock)],
        )
        .with_key(key.clone())
    };
    let first = h.inventory.record_return(rma(1)).await.unwrap();
    let again = h.inventory.record_return(rma(1)).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(h.level("MUG", "main").await.on_hand, 7);
    let error = h.inventory.record_return(rma(2)).await.unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::IdempotencyKeyReused { key }
    );
    let plain = || ReturnRequest::new(order_id.clone(), vec![back("MUG", 1, Disposition::Restock)]);
    h.inventory.record_return(plain()).await.unwrap();
    let last = h.inventory.record_return(plain()).await.unwrap();
    assert_eq!(last.returns.len(), 3);
    assert_eq!(h.level("MUG", "main").await.on_hand, 9);
    assert_invariants(h.inventory.store()).await;
}

fn transfer_of(units: i64, key: Option<&str>) -> TransferRequest {
    TransferRequest {
        sku: sku("MUG"),
        from: loc("warehouse"),
        to: loc("shop"),
        quantity: qty(units),
        idempotency_key: key.map(|key| IdempotencyKey::new(key).unwrap()),
    }
}

/// A transfer ships from the source's sellable units into the destination's transit
/// (the SKU is marked for channels), is received in parts to the destination's shelf,
/// and is `received` once every unit arrived; every entry names the transfer.
pub async fn transfers_move_units_in_two_legs<S: AuditStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "warehouse", 20).await;
    settle(&h).await;
    let transfer = h
        .inventory
        .ship_transfer(transfer_of(8, None))
        .await
        .unwrap();
    assert_eq!(
        (transfer.status, transfer.outstanding()),
        (TransferStatus::InTransit, 8)
    );
    assert!(
        h.inventory.store().is_dirty(&sku("MUG")).await.unwrap(),
        "the source dropped"
    );
    let source = h.level("MUG", "warehouse").await;
    let destination = h.level("MUG", "shop").await;
    assert_eq!((source.on_hand, source.available()), (12, 12));
    assert_eq!((destination.in_transit, destination.available()), (8, 0));
    settle(&h).await;

    let partly = h
        .inventory
        .receive_transfer(transfer.id, Some(qty(5)), None)
        .await
        .unwrap();
    assert_eq!(
        (partly.received, partly.status),
        (5, TransferStatus::InTransit)
    );
    assert!(
        h.inventory.store().is_dirty(&sku("MUG")).await.unwrap(),
        "the destination rose"
    );
    let done = h
        .inventory
        .receive_transfer(transfer.id, None, None)
        .await
        .unwrap();
    assert_eq!((done.received, done.status), (8, TransferStatus::Received));
    assert_eq!(h.inventory.transfer(transfer.id).await.unwrap(), done);
    let destination = h.level("MUG", "shop").await;
    assert_eq!((destination.on_hand, destination.in_transit), (8, 0));
    assert_eq!(
        h.inventory.stock(&sku("MUG")).await.unwrap().total.on_hand,
        20
    );

    let reference = transfer_reference(&transfer.id);
    let moves: Vec<(String, Movement, i64)> = h
        .snapshot()
        .await
        .ledger
        .iter()
        .filter(|entry| entry.reference.as_deref() == Some(reference.as_str()))
        .map(|entry| {
            (
                entry.key.location.as_str().to_owned(),
                entry.movement,
                entry.quantity,
            )
        })
        .collect();
    let mut moves = moves;
    moves.sort_by_key(|(location, movement, quantity)| {
        (location.clone(), movement.as_str(), *quantity)
    });
    assert_eq!(
        moves,
        [
            ("shop".to_owned(), Movement::TransitAdded, 8),
            ("shop".to_owned(), Movement::TransitReceived, 3),
            ("shop".to_owned(), Movement::TransitReceived, 5),
            ("warehouse".to_owned(), Movement::TransferredOut, 8),
        ]
    );
    assert_invariants(h.inventory.store()).await;
}

/// Closing a transfer writes off what never arrived, with an entry saying so; a closed
/// transfer closes again unchanged but takes no receipt; a received one cannot close.
pub async fn closing_a_transfer_writes_off_what_never_arrived<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "warehouse", 20).await;
    let transfer = h
        .inventory
        .ship_transfer(transfer_of(8, None))
        .await
        .unwrap();
    h.inventory
        .receive_transfer(transfer.id, Some(qty(5)), None)
        .await
        .unwrap();
    let closed = h.inventory.close_transfer(transfer.id).await.unwrap();
    assert_eq!(
        (closed.status, closed.received, closed.written_off),
        (TransferStatus::Closed, 5, 3)
    );
    assert_eq!(h.level("MUG", "shop").await.in_transit, 0);
    let last = h.snapshot().await.ledger;
    let written_off = last
        .iter()
        .find(|entry| entry.movement == Movement::TransitCancelled)
        .unwrap();
    assert_eq!(written_off.quantity, 3);
    assert_eq!(
        written_off.reason.as_deref(),
        Some("transfer closed: never arrived")
    );
    assert_eq!(
        h.inventory.close_transfer(transfer.id).await.unwrap(),
        closed
    );
    let before = h.snapshot().await;
    let error = h
        .inventory
        .receive_transfer(transfer.id, None, None)
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::InvalidTransferState {
            id: transfer.id,
            current: TransferStatus::Closed,
            wanted: TransferLeg::Receive,
        }
    );
    let received = h
        .inventory
        .ship_transfer(transfer_of(2, None))
        .await
        .unwrap();
    h.inventory
        .receive_transfer(received.id, None, None)
        .await
        .unwrap();
    let error = h.inventory.close_transfer(received.id).await.unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::InvalidTransferState {
            current: TransferStatus::Received,
            ..
        }
    ));
    assert_ne!(
        h.snapshot().await,
        before,
        "the second transfer moved stock"
    );
    assert_invariants(h.inventory.store()).await;
}

/// A transfer takes only the source's available units (never held or damaged ones),
/// never ships to its own source, never receives more than is outstanding; unknown
/// transfers are refused; refusals change nothing.
pub async fn transfers_take_only_available_units<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "warehouse", 20).await;
    h.held(order("o1", &[("MUG", 13)])).await;
    h.inventory
        .change_state(sku("MUG"), loc("warehouse"), Available, Damaged, qty(2))
        .await
        .unwrap();
    let transfer = h
        .inventory
        .ship_transfer(transfer_of(3, None))
        .await
        .unwrap();
    let before = h.snapshot().await;
    let error = h
        .inventory
        .ship_transfer(transfer_of(3, None))
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::InsufficientStock {
            sku: sku("MUG"),
            location: Some(loc("warehouse")),
            available: 2,
            requested: 3,
        }
    );
    let mut to_itself = transfer_of(1, None);
    to_itself.to = loc("warehouse");
    let error = domain_error(h.inventory.ship_transfer(to_itself).await.unwrap_err());
    assert!(
        matches!(error, DomainError::InvalidTransfer { .. }),
        "{error:?}"
    );
    let mut unknown_source = transfer_of(1, None);
    unknown_source.from = loc("nowhere");
    let error = domain_error(h.inventory.ship_transfer(unknown_source).await.unwrap_err());
    assert!(
        matches!(error, DomainError::UnknownLocation { .. }),
        "{error:?}"
    );
    let error = h
        .inventory
        .receive_transfer(transfer.id, Some(qty(4)), None)
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::InsufficientInTransit {
            sku: sku("MUG"),
            location: loc("shop"),
            in_transit: 3,
            requested: 4,
        }
    );
    let missing = TransferId::for_key(&IdempotencyKey::new("never").unwrap());
    let error = h.inventory.close_transfer(missing).await.unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::TransferNotFound { id: missing }
    );
    let error = h.inventory.transfer(missing).await.unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::TransferNotFound { id: missing }
    );
    assert_eq!(h.snapshot().await, before);
    assert_invariants(h.inventory.store()).await;
}

/// Under keys every leg applies once: the same shipment answers the same transfer, a
/// different one under the key is refused; a keyed receipt is applied once.
pub async fn keyed_transfer_legs_apply_once<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "warehouse", 20).await;
    let first = h
        .inventory
        .ship_transfer(transfer_of(6, Some("TR-9")))
        .await
        .unwrap();
    let again = h
        .inventory
        .ship_transfer(transfer_of(6, Some("TR-9")))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        first.id,
        TransferId::for_key(&IdempotencyKey::new("TR-9").unwrap())
    );
    assert_eq!(
        h.level("MUG", "warehouse").await.on_hand,
        14,
        "shipped once"
    );
    let error = h
        .inventory
        .ship_transfer(transfer_of(7, Some("TR-9")))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::IdempotencyKeyReused { .. }
    ));
    let key = IdempotencyKey::new("GRN-1").unwrap();
    let receipt = || {
        h.inventory
            .receive_transfer(first.id, Some(qty(2)), Some(key.clone()))
    };
    let received = receipt().await.unwrap();
    assert_eq!(receipt().await.unwrap(), received);
    assert_eq!(h.level("MUG", "shop").await.on_hand, 2, "received once");
    assert_invariants(h.inventory.store()).await;
}
