//! Allocation strategies for lines that name no location.

use crate::backend::AuditStore;
use crate::error::DomainError;
use crate::id::OrderId;
use crate::reservation::{AllocationStrategy, OrderLine, ReserveRequest};
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, qty, sku, Harness};

fn placed(hold: &crate::Reservation) -> Vec<(String, i64)> {
    hold.lines
        .iter()
        .map(|line| (line.location.to_string(), line.quantity.get()))
        .collect()
}

fn pairs(expected: &[(&str, i64)]) -> Vec<(String, i64)> {
    expected.iter().map(|(l, q)| (l.to_string(), *q)).collect()
}

/// The default strategy takes the location with the most available; ties go to the
/// smallest location id.
pub async fn allocation_most_available<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "berlin", 4).await;
    h.stocked("TEE", "hamburg", 9).await;
    h.stocked("TEE", "munich", 9).await;
    let hold = h.held(order("o1", &[("TEE", 3)])).await;
    assert_eq!(placed(&hold), pairs(&[("hamburg", 3)]));
    let hold = h.held(order("o2", &[("TEE", 3)])).await;
    assert_eq!(placed(&hold), pairs(&[("munich", 3)]));
    assert_invariants(h.inventory.store()).await;
}

/// A priority list takes the first listed location that can fill the line, and never
/// an unlisted one.
pub async fn allocation_priority_list<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "store", 2).await;
    h.stocked("TEE", "warehouse", 50).await;
    h.stocked("TEE", "unlisted", 500).await;
    let priority = AllocationStrategy::Priority(vec![loc("store"), loc("warehouse")]);
    let hold = h
        .held(order("o1", &[("TEE", 2)]).with_allocation(priority.clone()))
        .await;
    assert_eq!(placed(&hold), pairs(&[("store", 2)]));
    let hold = h
        .held(order("o2", &[("TEE", 1)]).with_allocation(priority.clone()))
        .await;
    assert_eq!(placed(&hold), pairs(&[("warehouse", 1)]));
    let error = h
        .inventory
        .reserve(order("o3", &[("TEE", 60)]).with_allocation(priority))
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::InsufficientStock {
            sku: sku("TEE"),
            location: None,
            available: 49,
            requested: 60,
        }
    );
    assert_invariants(h.inventory.store()).await;
}

/// With splitting allowed, a line no single location can fill is spread over several
/// in strategy order; without it, it is refused.
pub async fn allocation_split_across_locations<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "a", 3).await;
    h.stocked("TEE", "b", 5).await;
    h.stocked("TEE", "c", 1).await;
    let error = h
        .inventory
        .reserve(order("o1", &[("TEE", 7)]))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::InsufficientStock {
            available: 5,
            requested: 7,
            ..
        }
    ));
    let hold = h.held(order("o1", &[("TEE", 7)]).with_split(true)).await;
    assert_eq!(placed(&hold), pairs(&[("b", 5), ("a", 2)]));
    let error = h
        .inventory
        .reserve(order("o2", &[("TEE", 3)]).with_split(true))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::InsufficientStock {
            location: None,
            available: 2,
            requested: 3,
            ..
        }
    ));
    let stock = h.inventory.stock(&sku("TEE")).await.unwrap();
    assert_eq!((stock.total.reserved, stock.total.available()), (7, 2));
    assert_invariants(h.inventory.store()).await;
}

/// A line that names its location is held there, whatever the strategy.
pub async fn allocation_pinned_location_ignores_strategy<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "small", 2).await;
    h.stocked("TEE", "large", 90).await;
    let request = ReserveRequest::new(
        OrderId::new("o1").unwrap(),
        vec![OrderLine::at(sku("TEE"), qty(2), loc("small"))],
    );
    let hold = h.held(request).await;
    assert_eq!(placed(&hold), pairs(&[("small", 2)]));
    let request = ReserveRequest::new(
        OrderId::new("o2").unwrap(),
        vec![OrderLine::at(sku("TEE"), qty(1), loc("small"))],
    )
    .with_split(true);
    let error = h.inventory.reserve(request).await.unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::InsufficientStock {
            sku: sku("TEE"),
            location: Some(loc("small")),
            available: 0,
            requested: 1,
        }
    );
    assert_invariants(h.inventory.store()).await;
}
