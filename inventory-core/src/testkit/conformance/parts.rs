//! Parts of an order settled one at a time: partial shipments (fulfilments of some
//! lines) and partial releases (refunds and edits of some units), each once per key.

use crate::backend::AuditStore;
use crate::catalog::BackorderLimit;
use crate::error::DomainError;
use crate::id::{IdempotencyKey, OrderId};
use crate::ledger::Movement;
use crate::reservation::OrderLine;
use crate::reservation::ReservationStatus;
use crate::returns::{Disposition, ReturnLine, ReturnRequest};
use crate::shipment::{AddRequest, PartLine, PartRequest};
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, order, qty, sku, Harness};

fn part(order_id: &OrderId, key: &str, lines: &[(&str, i64)]) -> PartRequest {
    PartRequest::new(
        order_id.clone(),
        lines
            .iter()
            .map(|(name, units)| PartLine::new(sku(name), qty(*units)))
            .collect(),
        IdempotencyKey::new(key).unwrap(),
    )
}

/// A fulfilment ships exactly the units it names: from an active hold they are
/// committed and shipped at once, from a committed one shipped; the rest stays held;
/// a redelivery under the same key ships nothing more; once nothing is held the
/// reservation is shipped; the shipped units can come back as returns, no more.
pub async fn partial_shipments_ship_exactly_the_lines_named<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    h.stocked("TEE", "main", 5).await;
    let hold = h.held(order("p1", &[("MUG", 3), ("TEE", 2)])).await;
    let order_id = hold.order_id.clone();

    let first = h
        .inventory
        .ship_part(part(&order_id, "f-1", &[("MUG", 2)]))
        .await
        .unwrap();
    assert_eq!(first.status, ReservationStatus::Active);
    assert_eq!((first.lines[0].shipped, first.lines[0].held()), (2, 1));
    let mug = h.level("MUG", "main").await;
    assert_eq!((mug.on_hand, mug.reserved, mug.committed), (8, 1, 0));
    let before = h.snapshot().await;
    let again = h
        .inventory
        .ship_part(part(&order_id, "f-1", &[("MUG", 2)]))
        .await
        .unwrap();
    assert_eq!(again, first, "a redelivery answers the same reservation");
    assert_eq!(h.snapshot().await, before, "and ships nothing more");

    // A return of what shipped so far, while the rest is still held.
    let back = |units| ReturnLine {
        sku: sku("MUG"),
        quantity: qty(units),
        disposition: Disposition::Restock,
        location: None,
    };
    let over = ReturnRequest::new(order_id.clone(), vec![back(3)]);
    assert!(matches!(
        domain_error(h.inventory.record_return(over).await.unwrap_err()),
        DomainError::OverReturn { shipped: 2, .. }
    ));
    h.inventory
        .record_return(ReturnRequest::new(order_id.clone(), vec![back(1)]))
        .await
        .unwrap();

    let last = h
        .inventory
        .ship_part(part(&order_id, "f-2", &[("TEE", 2), ("MUG", 1)]))
        .await
        .unwrap();
    assert_eq!(last.status, ReservationStatus::Shipped);
    let (mug, tee) = (h.level("MUG", "main").await, h.level("TEE", "main").await);
    assert_eq!(
        (mug.on_hand, mug.reserved),
        (8, 0),
        "10 - 3 shipped + 1 back"
    );
    assert_eq!((tee.on_hand, tee.reserved), (3, 0));
    let shipped: i64 = h
        .snapshot()
        .await
        .ledger
        .iter()
        .filter(|entry| {
            entry.movement == Movement::Shipped && entry.reservation_id == Some(hold.id)
        })
        .map(|entry| entry.quantity.abs())
        .sum();
    assert_eq!(shipped, 5, "every unit shipped once");

    // From a committed reservation; then the rest released, the shipped part kept.
    let committed = h.held(order("p2", &[("MUG", 4)])).await;
    h.inventory.commit(committed.id).await.unwrap();
    let part_of = h
        .inventory
        .ship_part(part(&committed.order_id, "f-3", &[("MUG", 1)]))
        .await
        .unwrap();
    assert_eq!(part_of.status, ReservationStatus::Committed);
    assert_eq!(h.level("MUG", "main").await.committed, 3);
    let released = h.inventory.release(committed.id).await.unwrap();
    assert_eq!(
        released.status,
        ReservationStatus::Shipped,
        "the rest released, the order shipped in part"
    );
    assert_eq!(
        (released.lines[0].shipped, released.lines[0].released),
        (1, 3)
    );
    let mug = h.level("MUG", "main").await;
    assert_eq!((mug.on_hand, mug.committed, mug.available()), (7, 0, 7));
    let returned = ReturnRequest::new(committed.order_id.clone(), vec![back(2)]);
    assert!(matches!(
        domain_error(h.inventory.record_return(returned).await.unwrap_err()),
        DomainError::OverReturn { shipped: 1, .. }
    ));
    let returned = ReturnRequest::new(committed.order_id.clone(), vec![back(1)]);
    h.inventory.record_return(returned).await.unwrap();
    assert_invariants(h.inventory.store()).await;
}

/// A fulfilment never ships more than is held on the shelf, nor a SKU the order does
/// not hold, nor from a finished or expired reservation; a key used by another order
/// is refused; every refusal changes nothing.
pub async fn partial_shipments_refuse_what_the_order_does_not_hold<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    let hold = h.held(order("p3", &[("MUG", 2)])).await;
    let other = h.held(order("p4", &[("MUG", 1)])).await;
    h.inventory
        .ship_part(part(&other.order_id, "used", &[("MUG", 1)]))
        .await
        .unwrap();
    let before = h.snapshot().await;
    let cases = [
        part(&hold.order_id, "k-1", &[("MUG", 3)]),
        part(&hold.order_id, "k-2", &[("TEE", 1)]),
        part(&hold.order_id, "used", &[("MUG", 1)]),
        part(&OrderId::new("unknown").unwrap(), "k-3", &[("MUG", 1)]),
        part(&hold.order_id, "k-4", &[]),
    ];
    for request in cases {
        let error = domain_error(h.inventory.ship_part(request.clone()).await.unwrap_err());
        let expected = match request.idempotency_key.as_str() {
            "k-1" => matches!(
                error,
                DomainError::ExceedsOrder {
                    left: 2,
                    requested: 3,
                    wanted: "ship",
                    ..
                }
            ),
            "k-2" => matches!(error, DomainError::ExceedsOrder { left: 0, .. }),
            "used" => matches!(error, DomainError::IdempotencyKeyReused { .. }),
            "k-3" => matches!(error, DomainError::ReservationNotFound { .. }),
            _ => matches!(error, DomainError::EmptyOrder),
        };
        assert!(expected, "{request:?}: {error:?}");
    }
    assert_eq!(h.snapshot().await, before, "refusals change nothing");
    h.inventory.release(hold.id).await.unwrap();
    let released = h.snapshot().await;
    let finished = h
        .inventory
        .ship_part(part(&hold.order_id, "k-5", &[("MUG", 1)]))
        .await;
    assert!(matches!(
        domain_error(finished.unwrap_err()),
        DomainError::InvalidState { .. }
    ));
    assert_eq!(h.snapshot().await, released);
    assert_invariants(h.inventory.store()).await;
}

/// A refund or an edit releases exactly the units it names, backordered ones first,
/// once per key; the rest stays held; a reservation left with nothing is released, or
/// shipped when part of it shipped.
pub async fn partial_releases_cancel_backorders_first_and_keep_the_rest<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 3).await;
    h.inventory
        .set_backorder_limit(sku("TEE"), Some(BackorderLimit::Units(5)))
        .await
        .unwrap();
    let hold = h.held(order("p5", &[("TEE", 5)])).await;
    assert_eq!((hold.lines[0].held(), hold.lines[0].backordered), (3, 2));

    let refund = h
        .inventory
        .release_part(part(&hold.order_id, "refund-1", &[("TEE", 3)]))
        .await
        .unwrap();
    assert_eq!(refund.status, ReservationStatus::Active);
    assert_eq!(
        (
            refund.lines[0].backordered,
            refund.lines[0].held(),
            refund.lines[0].released
        ),
        (0, 2, 3),
        "the two owed units first, then one held"
    );
    let tee = h.level("TEE", "main").await;
    assert_eq!((tee.reserved, tee.backordered, tee.available()), (2, 0, 1));
    let before = h.snapshot().await;
    h.inventory
        .release_part(part(&hold.order_id, "refund-1", &[("TEE", 3)]))
        .await
        .unwrap();
    assert_eq!(
        h.snapshot().await,
        before,
        "a redelivery releases nothing more"
    );
    let over = h
        .inventory
        .release_part(part(&hold.order_id, "refund-2", &[("TEE", 3)]))
        .await;
    assert!(matches!(
        domain_error(over.unwrap_err()),
        DomainError::ExceedsOrder {
            left: 2,
            wanted: "release",
            ..
        }
    ));

    h.inventory
        .ship_part(part(&hold.order_id, "ship-1", &[("TEE", 1)]))
        .await
        .unwrap();
    let end = h
        .inventory
        .release_part(part(&hold.order_id, "refund-3", &[("TEE", 1)]))
        .await
        .unwrap();
    assert_eq!(end.status, ReservationStatus::Shipped, "one unit shipped");
    let tee = h.level("TEE", "main").await;
    assert_eq!((tee.on_hand, tee.reserved, tee.available()), (2, 0, 2));

    let whole = h.held(order("p6", &[("TEE", 2)])).await;
    let gone = h
        .inventory
        .release_part(part(&whole.order_id, "edit-1", &[("TEE", 2)]))
        .await
        .unwrap();
    assert_eq!(gone.status, ReservationStatus::Released, "nothing shipped");
    assert_eq!(h.level("TEE", "main").await.available(), 2);
    assert_invariants(h.inventory.store()).await;
}

fn added(order_id: &OrderId, key: &str, lines: &[(&str, i64)]) -> AddRequest {
    AddRequest::new(
        order_id.clone(),
        lines
            .iter()
            .map(|(name, units)| OrderLine::new(sku(name), qty(*units)))
            .collect(),
        IdempotencyKey::new(key).unwrap(),
    )
}

/// An edit adds lines to a live order, allocated and held like its own lines, all or
/// nothing, once per key; on a committed order they are committed at once; a key used
/// by another order is refused; refusals change nothing; the order then ships whole.
pub async fn added_lines_are_held_like_the_order_once_per_key<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("MUG", "main", 10).await;
    h.stocked("TEE", "main", 2).await;
    h.stocked("CAP", "main", 5).await;
    let hold = h.held(order("p7", &[("MUG", 2)])).await;
    let order_id = hold.order_id.clone();

    let edited = h
        .inventory
        .add_lines(added(&order_id, "edit-1", &[("TEE", 1), ("CAP", 2)]))
        .await
        .unwrap();
    assert_eq!(edited.lines.len(), 3);
    assert_eq!(edited.status, ReservationStatus::Active);
    assert_eq!(h.level("TEE", "main").await.reserved, 1);
    assert_eq!(h.level("CAP", "main").await.reserved, 2);
    let before = h.snapshot().await;
    let again = h
        .inventory
        .add_lines(added(&order_id, "edit-1", &[("TEE", 1), ("CAP", 2)]))
        .await
        .unwrap();
    assert_eq!(again, edited, "a redelivery answers the same reservation");
    assert_eq!(h.snapshot().await, before, "and holds nothing more");

    let other = h.held(order("p8", &[("MUG", 1)])).await;
    let before = h.snapshot().await;
    let short = h
        .inventory
        .add_lines(added(&order_id, "edit-2", &[("CAP", 1), ("TEE", 5)]))
        .await;
    assert!(matches!(
        domain_error(short.unwrap_err()),
        DomainError::InsufficientStock { .. }
    ));
    let reused = h
        .inventory
        .add_lines(added(&other.order_id, "edit-1", &[("MUG", 1)]))
        .await;
    assert!(matches!(
        domain_error(reused.unwrap_err()),
        DomainError::IdempotencyKeyReused { .. }
    ));
    let unknown = h
        .inventory
        .add_lines(added(&order_id, "edit-3", &[("NOPE", 1)]))
        .await;
    assert!(matches!(
        domain_error(unknown.unwrap_err()),
        DomainError::UnknownSku { .. }
    ));
    assert_eq!(h.snapshot().await, before, "refusals change nothing");

    // An edit that removes a line's units, then one on the committed order.
    h.inventory
        .release_part(part(&order_id, "edit-4", &[("CAP", 1)]))
        .await
        .unwrap();
    assert_eq!(h.level("CAP", "main").await.reserved, 1);
    h.inventory.commit(hold.id).await.unwrap();
    let committed = h
        .inventory
        .add_lines(added(&order_id, "edit-5", &[("MUG", 1)]))
        .await
        .unwrap();
    assert_eq!(committed.status, ReservationStatus::Committed);
    let mug = h.level("MUG", "main").await;
    assert_eq!(
        (mug.reserved, mug.committed),
        (1, 3),
        "p8 holds 1; p7 picks 3"
    );
    let shipped = h.inventory.ship(hold.id).await.unwrap();
    assert_eq!(shipped.status, ReservationStatus::Shipped);
    let (mug, tee, cap) = (
        h.level("MUG", "main").await,
        h.level("TEE", "main").await,
        h.level("CAP", "main").await,
    );
    assert_eq!((mug.on_hand, mug.committed), (7, 0));
    assert_eq!((tee.on_hand, tee.reserved), (1, 0));
    assert_eq!(
        (cap.on_hand, cap.reserved),
        (4, 0),
        "one added, one removed"
    );
    assert_invariants(h.inventory.store()).await;
}
