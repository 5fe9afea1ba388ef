//! Stock movements applied once per idempotency key.

use crate::backend::AuditStore;
use crate::decide::StockMovement;
use crate::error::DomainError;
use crate::id::IdempotencyKey;
use crate::stock::StockKey;
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, qty, sku, Harness};

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::new(text).unwrap()
}

fn receipt(units: i64) -> StockMovement {
    StockMovement::Receive {
        key: StockKey::new(sku("TEE"), loc("main")),
        quantity: qty(units),
    }
}

fn adjustment(delta: i64, reason: &str) -> StockMovement {
    StockMovement::Adjust {
        key: StockKey::new(sku("TEE"), loc("main")),
        delta,
        reason: reason.to_owned(),
    }
}

/// A keyed receipt sent three times is received once; each answer is the row as the
/// first one left it, even after later movements; the entry carries the key.
pub async fn keyed_receipt_applies_once<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    let first = h.inventory.once(key("asn-1"), receipt(10)).await.unwrap();
    assert_eq!(first.on_hand, 10);
    h.stocked("TEE", "main", 5).await;
    for _ in 0..2 {
        let again = h.inventory.once(key("asn-1"), receipt(10)).await.unwrap();
        assert_eq!(again, first, "a repeat answers what the first run did");
    }
    assert_eq!(h.level("TEE", "main").await.on_hand, 15);
    let snapshot = h.snapshot().await;
    assert_eq!(snapshot.ledger.len(), 2);
    assert_eq!(snapshot.ledger[0].idempotency_key, Some(key("asn-1")));
    assert_eq!(snapshot.ledger[1].idempotency_key, None);
    assert_invariants(h.inventory.store()).await;
}

/// A used key with another quantity, row, movement or reason is refused and changes
/// nothing; a fresh key applies.
pub async fn reused_idempotency_key_is_refused<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.inventory.once(key("k-1"), receipt(10)).await.unwrap();
    h.inventory
        .once(key("k-2"), adjustment(-2, "damaged"))
        .await
        .unwrap();
    let before = h.snapshot().await;
    let others = [
        (key("k-1"), receipt(11)),
        (
            key("k-1"),
            StockMovement::Receive {
                key: StockKey::new(sku("TEE"), loc("annex")),
                quantity: qty(10),
            },
        ),
        (key("k-1"), adjustment(10, "found")),
        (key("k-2"), adjustment(-2, "stolen")),
        (key("k-2"), adjustment(-3, "damaged")),
    ];
    for (used, movement) in others {
        let error = h.inventory.once(used.clone(), movement).await.unwrap_err();
        assert_eq!(
            domain_error(error),
            DomainError::IdempotencyKeyReused { key: used }
        );
    }
    assert_eq!(h.snapshot().await, before, "refusals changed nothing");
    let level = h
        .inventory
        .once(key("k-3"), adjustment(-2, "damaged"))
        .await
        .unwrap();
    assert_eq!(level.on_hand, 6);
    assert_invariants(h.inventory.store()).await;
}

/// A keyed movement that a rule refuses writes nothing, so the key stays free. (Only
/// stock movements take a key: [`Inventory::once`](crate::Inventory::once) accepts no
/// other command.)
pub async fn refused_keyed_movement_leaves_the_key_free<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 3).await;
    let error = h
        .inventory
        .once(key("adj-1"), adjustment(-5, "lost"))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::InsufficientStock { .. }
    ));
    let level = h
        .inventory
        .once(key("adj-1"), adjustment(-2, "lost"))
        .await
        .unwrap();
    assert_eq!(level.on_hand, 1);
    assert_invariants(h.inventory.store()).await;
}
