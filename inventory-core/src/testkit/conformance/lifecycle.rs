//! Commit, ship, release, and every transition from the wrong state.

use std::time::Duration;

use crate::backend::AuditStore;
use crate::error::DomainError;
use crate::id::{IdempotencyKey, OrderId, ReservationId};
use crate::ledger::Movement;
use crate::reservation::{OrderLine, ReservationStatus, ReservationTransition};
use crate::returns::{Disposition, ReturnLine, ReturnRequest};
use crate::shipment::AddRequest;
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, order, qty, Harness};

/// Commit moves held units from `reserved` to `committed`; available is unchanged.
pub async fn commit_moves_reserved_to_committed<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let hold = h.held(order("o1", &[("TEE", 4)])).await;
    h.advance(Duration::from_secs(60));
    let committed = h.inventory.commit(hold.id).await.unwrap();
    assert_eq!(committed.status, ReservationStatus::Committed);
    assert_eq!(committed.updated_at, h.inventory.now());
    let level = h.level("TEE", "main").await;
    assert_eq!(
        (level.reserved, level.committed, level.available()),
        (0, 4, 6)
    );
    // Committed reservations no longer expire.
    h.advance(Duration::from_secs(24 * 3600));
    assert!(h.inventory.expire_due(100).await.unwrap().is_empty());
    assert_eq!(
        h.inventory.reservation(hold.id).await.unwrap().status,
        ReservationStatus::Committed
    );
    assert_invariants(h.inventory.store()).await;
}

/// Ship takes the units out of `committed` and `on_hand`.
pub async fn ship_takes_units_off_the_shelf<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    h.stocked("MUG", "main", 2).await;
    let hold = h.held(order("o1", &[("TEE", 4), ("MUG", 2)])).await;
    h.inventory.commit(hold.id).await.unwrap();
    let shipped = h.inventory.ship(hold.id).await.unwrap();
    assert_eq!(shipped.status, ReservationStatus::Shipped);
    let tee = h.level("TEE", "main").await;
    assert_eq!((tee.on_hand, tee.committed, tee.available()), (6, 0, 6));
    let mug = h.level("MUG", "main").await;
    assert_eq!((mug.on_hand, mug.available()), (0, 0));
    assert_invariants(h.inventory.store()).await;
}

/// Release gives units back from an active hold and from a committed reservation.
pub async fn release_returns_units_from_active_and_committed<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let active = h.held(order("o1", &[("TEE", 3)])).await;
    let picked = h.held(order("o2", &[("TEE", 4)])).await;
    h.inventory.commit(picked.id).await.unwrap();
    let released = h.inventory.release(active.id).await.unwrap();
    assert_eq!(released.status, ReservationStatus::Released);
    let released = h.inventory.release(picked.id).await.unwrap();
    assert_eq!(released.status, ReservationStatus::Released);
    let level = h.level("TEE", "main").await;
    assert_eq!(
        (level.reserved, level.committed, level.available()),
        (0, 0, 10)
    );
    assert_invariants(h.inventory.store()).await;
}

/// Every transition from a state that does not allow it is refused with the current
/// state and the wanted transition, and writes nothing.
pub async fn wrong_state_transitions_are_refused<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let active = h.held(order("active", &[("TEE", 1)])).await.id;
    let committed = h.held(order("committed", &[("TEE", 1)])).await.id;
    h.inventory.commit(committed).await.unwrap();
    let shipped = h.held(order("shipped", &[("TEE", 1)])).await.id;
    h.inventory.commit(shipped).await.unwrap();
    h.inventory.ship(shipped).await.unwrap();
    let released = h.held(order("released", &[("TEE", 1)])).await.id;
    h.inventory.release(released).await.unwrap();
    let before = h.snapshot().await;
    let cases = [
        (
            active,
            ReservationTransition::Ship,
            ReservationStatus::Active,
        ),
        (
            committed,
            ReservationTransition::Return,
            ReservationStatus::Committed,
        ),
        (
            released,
            ReservationTransition::Return,
            ReservationStatus::Released,
        ),
        (
            committed,
            ReservationTransition::Commit,
            ReservationStatus::Committed,
        ),
        (
            committed,
            ReservationTransition::Extend,
            ReservationStatus::Committed,
        ),
        (
            shipped,
            ReservationTransition::Release,
            ReservationStatus::Shipped,
        ),
        (
            shipped,
            ReservationTransition::Ship,
            ReservationStatus::Shipped,
        ),
        (
            shipped,
            ReservationTransition::Commit,
            ReservationStatus::Shipped,
        ),
        (
            released,
            ReservationTransition::Release,
            ReservationStatus::Released,
        ),
        (
            released,
            ReservationTransition::Commit,
            ReservationStatus::Released,
        ),
        (
            released,
            ReservationTransition::Ship,
            ReservationStatus::Released,
        ),
        (
            released,
            ReservationTransition::Extend,
            ReservationStatus::Released,
        ),
        (
            shipped,
            ReservationTransition::Fulfil,
            ReservationStatus::Shipped,
        ),
        (
            released,
            ReservationTransition::Fulfil,
            ReservationStatus::Released,
        ),
        (
            released,
            ReservationTransition::Amend,
            ReservationStatus::Released,
        ),
    ];
    for (id, wanted, current) in cases {
        let result = match wanted {
            ReservationTransition::Commit => h.inventory.commit(id).await,
            ReservationTransition::Ship => h.inventory.ship(id).await,
            ReservationTransition::Release => h.inventory.release(id).await,
            ReservationTransition::Extend => h.inventory.extend(id, Duration::from_secs(60)).await,
            ReservationTransition::Fulfil => h.inventory.fulfil(id).await,
            ReservationTransition::Return => {
                let reservation = h.inventory.reservation(id).await.unwrap();
                let line = ReturnLine {
                    sku: reservation.lines[0].sku.clone(),
                    quantity: reservation.lines[0].quantity,
                    disposition: Disposition::Restock,
                    location: None,
                };
                let request = ReturnRequest::new(reservation.order_id, vec![line]);
                h.inventory.record_return(request).await
            }
            ReservationTransition::Amend => {
                let reservation = h.inventory.reservation(id).await.unwrap();
                let line = OrderLine::new(reservation.lines[0].sku.clone(), qty(1));
                let key = IdempotencyKey::new(format!("amend-{id}")).unwrap();
                let request = AddRequest::new(reservation.order_id, vec![line], key);
                h.inventory.add_lines(request).await
            }
        };
        assert_eq!(
            domain_error(result.unwrap_err()),
            DomainError::InvalidState {
                id,
                current,
                wanted
            }
        );
    }
    assert_eq!(h.snapshot().await, before);
}

/// Transitions and reads of a reservation that does not exist are refused.
pub async fn unknown_reservations_are_refused<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let id = ReservationId::for_order(&OrderId::new("never").unwrap());
    let before = h.snapshot().await;
    let results = [
        h.inventory.commit(id).await,
        h.inventory.ship(id).await,
        h.inventory.release(id).await,
        h.inventory.extend(id, Duration::from_secs(60)).await,
        h.inventory.fulfil(id).await,
        h.inventory.reservation(id).await,
    ];
    for result in results {
        assert_eq!(
            domain_error(result.unwrap_err()),
            DomainError::ReservationNotFound { id }
        );
    }
    assert_eq!(h.snapshot().await, before);
}

/// Fulfil ships an order in one transaction: an active hold is committed and shipped
/// (two ledger entries per line, one commit), a committed one shipped; a hold past its
/// time is refused as expired and nothing changes.
pub async fn fulfil_commits_and_ships_at_once<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    h.stocked("MUG", "main", 10).await;
    let active = h.held(order("active", &[("TEE", 2), ("MUG", 1)])).await;
    let before = h.snapshot().await;
    let shipped = h.inventory.fulfil(active.id).await.unwrap();
    assert_eq!(shipped.status, ReservationStatus::Shipped);
    let after = h.snapshot().await;
    assert_eq!(after.ledger.len(), before.ledger.len() + 4);
    let movements: Vec<_> = after
        .ledger
        .iter()
        .filter(|entry| entry.reservation_id == Some(active.id))
        .filter(|entry| entry.movement != Movement::Reserved)
        .map(|entry| (entry.key.sku.to_string(), entry.movement))
        .collect();
    assert_eq!(movements.len(), 4, "{movements:?}");
    for sku in ["TEE", "MUG"] {
        assert!(movements.contains(&(sku.to_owned(), Movement::Committed)));
        assert!(movements.contains(&(sku.to_owned(), Movement::Shipped)));
    }
    let tee = h.level("TEE", "main").await;
    assert_eq!((tee.on_hand, tee.reserved, tee.committed), (8, 0, 0));

    let committed = h.held(order("committed", &[("TEE", 1)])).await;
    h.inventory.commit(committed.id).await.unwrap();
    let shipped = h.inventory.fulfil(committed.id).await.unwrap();
    assert_eq!(shipped.status, ReservationStatus::Shipped);
    assert_eq!(h.level("TEE", "main").await.on_hand, 7);

    let late = h
        .held(order("late", &[("TEE", 1)]).with_ttl(Duration::from_secs(60)))
        .await;
    h.advance(Duration::from_secs(60));
    let before = h.snapshot().await;
    let error = h.inventory.fulfil(late.id).await.unwrap_err();
    assert!(matches!(domain_error(error), DomainError::Expired { .. }));
    assert_eq!(h.snapshot().await, before);
    assert_invariants(h.inventory.store()).await;
}
