//! Reserve: holding, refusing, all-or-nothing, idempotency, request limits.

use std::time::Duration;

use crate::backend::AuditStore;
use crate::error::DomainError;
use crate::id::{OrderId, ReservationId};
use crate::ledger::Movement;
use crate::reservation::{
    AllocationStrategy, OrderLine, ReservationStatus, ReserveRequest, ORDER_LINES_MAX,
};
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, qty, sku, Harness};

/// A hold moves units to `reserved`, lowers `available`, and is stored as active.
pub async fn reserve_holds_units<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let reserved = h
        .inventory
        .reserve(order("o1", &[("TEE", 4)]))
        .await
        .unwrap();
    assert!(reserved.created);
    let hold = reserved.reservation;
    assert_eq!(
        hold.id,
        ReservationId::for_order(&OrderId::new("o1").unwrap())
    );
    assert_eq!(hold.status, ReservationStatus::Active);
    assert_eq!(hold.lines.len(), 1);
    assert_eq!(
        (
            hold.lines[0].location.as_str(),
            hold.lines[0].quantity.get()
        ),
        ("main", 4)
    );
    assert_eq!(
        hold.expires_at - hold.created_at,
        chrono::TimeDelta::minutes(30)
    );
    let level = h.level("TEE", "main").await;
    assert_eq!(
        (level.on_hand, level.reserved, level.available()),
        (10, 4, 6)
    );
    assert_eq!(h.inventory.reservation(hold.id).await.unwrap(), hold);
    let last = h.snapshot().await.ledger.pop().unwrap();
    assert_eq!(
        (last.movement, last.reservation_id),
        (Movement::Reserved, Some(hold.id))
    );
    assert_invariants(h.inventory.store()).await;
}

/// Asking for more than is available is refused with sku, available and requested.
pub async fn reserve_refuses_insufficient_stock_with_context<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 3).await;
    h.held(order("o1", &[("TEE", 2)])).await;
    let before = h.snapshot().await;
    let error = h
        .inventory
        .reserve(order("o2", &[("TEE", 2)]))
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::InsufficientStock {
            sku: sku("TEE"),
            location: None,
            available: 1,
            requested: 2,
        }
    );
    assert_eq!(h.snapshot().await, before);
    // The refused order id stays free.
    h.stocked("TEE", "main", 1).await;
    assert!(
        h.inventory
            .reserve(order("o2", &[("TEE", 2)]))
            .await
            .unwrap()
            .created
    );
    assert_invariants(h.inventory.store()).await;
}

/// One short line refuses the whole order; no line is held.
pub async fn reserve_is_all_or_nothing<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 5).await;
    h.stocked("MUG", "main", 1).await;
    let before = h.snapshot().await;
    let error = h
        .inventory
        .reserve(order("o1", &[("TEE", 2), ("MUG", 2)]))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::InsufficientStock {
            available: 1,
            requested: 2,
            ..
        }
    ));
    let error = h
        .inventory
        .reserve(order("o1", &[("TEE", 2), ("NOPE", 1)]))
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::UnknownSku { sku: sku("NOPE") }
    );
    assert_eq!(h.snapshot().await, before);
    let hold = h.held(order("o1", &[("TEE", 2), ("MUG", 1)])).await;
    assert_eq!(hold.lines.len(), 2);
    assert_eq!(h.level("MUG", "main").await.available(), 0);
    assert_invariants(h.inventory.store()).await;
}

/// Two lines of the same SKU draw on the same units.
pub async fn reserve_counts_repeated_lines_together<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 5).await;
    let before = h.snapshot().await;
    let error = h
        .inventory
        .reserve(order("o1", &[("TEE", 3), ("TEE", 3)]))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::InsufficientStock {
            available: 2,
            requested: 3,
            ..
        }
    ));
    assert_eq!(h.snapshot().await, before);
    h.held(order("o1", &[("TEE", 3), ("TEE", 2)])).await;
    assert_eq!(h.level("TEE", "main").await.reserved, 5);
    assert_invariants(h.inventory.store()).await;
}

/// The same request again returns the same reservation, whatever its state, and
/// writes nothing.
pub async fn reserve_is_idempotent_by_order_id<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let first = h.held(order("o1", &[("TEE", 4)])).await;
    let before = h.snapshot().await;
    h.advance(Duration::from_secs(5));
    let again = h
        .inventory
        .reserve(order("o1", &[("TEE", 4)]))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.reservation, first);
    assert_eq!(h.snapshot().await, before);
    // Still the same after it was committed: a late duplicate webhook changes nothing.
    let committed = h.inventory.commit(first.id).await.unwrap();
    let again = h
        .inventory
        .reserve(order("o1", &[("TEE", 4)]))
        .await
        .unwrap();
    assert_eq!((again.created, again.reservation), (false, committed));
    assert_eq!(h.level("TEE", "main").await.available(), 6);
    assert_invariants(h.inventory.store()).await;
}

/// A different request under a used order id is a conflict and writes nothing.
pub async fn reserve_refuses_a_different_request_under_a_used_order_id<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    h.stocked("MUG", "main", 10).await;
    h.held(order("o1", &[("TEE", 4)])).await;
    let before = h.snapshot().await;
    for different in [
        order("o1", &[("TEE", 5)]),
        order("o1", &[("MUG", 4)]),
        order("o1", &[("TEE", 4), ("MUG", 1)]),
        order("o1", &[("TEE", 4)]).with_split(true),
    ] {
        let error = h.inventory.reserve(different).await.unwrap_err();
        assert_eq!(
            domain_error(error),
            DomainError::IdempotencyConflict {
                order_id: OrderId::new("o1").unwrap(),
            }
        );
    }
    assert_eq!(h.snapshot().await, before);
}

/// No lines, too many lines, a bad hold time, an empty priority list: each refused.
pub async fn reserve_refuses_malformed_requests<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let before = h.snapshot().await;
    let empty = order("o1", &[]);
    let many_lines = vec![OrderLine::new(sku("TEE"), qty(1)); ORDER_LINES_MAX + 1];
    let too_many = ReserveRequest::new(OrderId::new("o1").unwrap(), many_lines);
    let no_priority =
        order("o1", &[("TEE", 1)]).with_allocation(AllocationStrategy::Priority(vec![]));
    let refusals = [
        (empty, DomainError::EmptyOrder),
        (
            too_many,
            DomainError::TooManyLines {
                lines: ORDER_LINES_MAX + 1,
                max: ORDER_LINES_MAX,
            },
        ),
        (
            no_priority,
            DomainError::PriorityListSize {
                locations: 0,
                max: crate::reservation::PRIORITY_LOCATIONS_MAX,
            },
        ),
    ];
    for (request, expected) in refusals {
        let error = h.inventory.reserve(request).await.unwrap_err();
        assert_eq!(domain_error(error), expected);
    }
    for ttl in [Duration::ZERO, Duration::from_secs(31 * 24 * 3600)] {
        let error = h
            .inventory
            .reserve(order("o1", &[("TEE", 1)]).with_ttl(ttl))
            .await
            .unwrap_err();
        assert_eq!(domain_error(error), DomainError::InvalidTtl { ttl });
    }
    let pinned_nowhere = ReserveRequest::new(
        OrderId::new("o1").unwrap(),
        vec![OrderLine::at(sku("TEE"), qty(1), loc("moon"))],
    );
    let error = h.inventory.reserve(pinned_nowhere).await.unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::UnknownLocation { .. }
    ));
    assert_eq!(h.snapshot().await, before);
}
