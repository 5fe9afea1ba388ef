//! Receipts, transit and adjustments.

use crate::backend::AuditStore;
use crate::error::DomainError;
use crate::ledger::Movement;
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, qty, sku, Harness};

/// A receipt creates the row, sets `on_hand` and writes one ledger entry.
pub async fn receive_creates_row_and_ledger<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    let level = h.stocked("TEE", "main", 7).await;
    assert_eq!((level.on_hand, level.available()), (7, 7));
    let snapshot = h.snapshot().await;
    assert_eq!(snapshot.ledger.len(), 1);
    let entry = &snapshot.ledger[0];
    assert_eq!((entry.movement, entry.quantity), (Movement::Received, 7));
    assert_eq!((entry.before.on_hand, entry.after.on_hand), (0, 7));
    assert_eq!(entry.at, h.inventory.now());
    assert_invariants(h.inventory.store()).await;
}

/// Receipts add up per row, and totals sum the locations.
pub async fn receive_accumulates_and_totals_locations<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 7).await;
    h.stocked("TEE", "main", 3).await;
    h.stocked("TEE", "outlet", 5).await;
    h.stocked("MUG", "main", 1).await;
    let stock = h.inventory.stock(&sku("TEE")).await.unwrap();
    assert_eq!(stock.total.on_hand, 15);
    let rows: Vec<_> = stock
        .locations
        .iter()
        .map(|row| (row.location.as_str(), row.level.on_hand))
        .collect();
    assert_eq!(rows, [("main", 10), ("outlet", 5)]);
    assert_invariants(h.inventory.store()).await;
}

/// A receipt past `i64::MAX` is an overflow error and writes nothing.
pub async fn receive_overflow_changes_nothing<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", i64::MAX).await;
    let before = h.snapshot().await;
    let error = h
        .inventory
        .receive(sku("TEE"), loc("main"), qty(1))
        .await
        .unwrap_err();
    assert!(matches!(domain_error(error), DomainError::Overflow { .. }));
    let error = h
        .inventory
        .add_in_transit(sku("TEE"), loc("main"), qty(1))
        .await;
    assert!(error.is_ok(), "in_transit is a separate number");
    let error = h
        .inventory
        .receive_in_transit(sku("TEE"), loc("main"), qty(1))
        .await
        .unwrap_err();
    assert!(matches!(domain_error(error), DomainError::Overflow { .. }));
    let after = h.snapshot().await;
    assert_eq!(after.ledger.len(), before.ledger.len() + 1);
    assert_invariants(h.inventory.store()).await;
}

/// Receipts at two locations whose sum over the SKU would pass `i64::MAX`: the second
/// is refused as an overflow of the SKU's total and changes nothing, and the SKU stays
/// readable; the same for units in transit.
pub async fn sku_total_overflow_is_refused<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    let half = i64::MAX / 2 + 1;
    h.stocked("TEE", "east", half).await;
    let before = h.snapshot().await;
    let error = h
        .inventory
        .receive(sku("TEE"), loc("west"), qty(half))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::Overflow { location: None, .. }
    ));
    h.inventory
        .add_in_transit(sku("TEE"), loc("east"), qty(half))
        .await
        .unwrap();
    let error = h
        .inventory
        .add_in_transit(sku("TEE"), loc("west"), qty(half))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::Overflow { location: None, .. }
    ));
    let after = h.snapshot().await;
    assert_eq!(after.ledger.len(), before.ledger.len() + 1);
    let stock = h
        .inventory
        .stock(&sku("TEE"))
        .await
        .expect("still readable");
    assert_eq!((stock.total.on_hand, stock.total.in_transit), (half, half));
    assert_invariants(h.inventory.store()).await;
}

/// Units in transit are not sellable; receiving them moves them to `on_hand`.
pub async fn transit_moves_units_to_on_hand<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    let level = h
        .inventory
        .add_in_transit(sku("TEE"), loc("main"), qty(40))
        .await
        .unwrap();
    assert_eq!(
        (level.in_transit, level.on_hand, level.available()),
        (40, 0, 0)
    );
    let level = h
        .inventory
        .receive_in_transit(sku("TEE"), loc("main"), qty(25))
        .await
        .unwrap();
    assert_eq!(
        (level.in_transit, level.on_hand, level.available()),
        (15, 25, 25)
    );
    assert_invariants(h.inventory.store()).await;
}

/// Receiving more than is in transit is refused with the numbers, and writes nothing.
pub async fn transit_receipt_beyond_in_transit_is_refused<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.inventory
        .add_in_transit(sku("TEE"), loc("main"), qty(4))
        .await
        .unwrap();
    let before = h.snapshot().await;
    let error = h
        .inventory
        .receive_in_transit(sku("TEE"), loc("main"), qty(5))
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::InsufficientInTransit {
            sku: sku("TEE"),
            location: loc("main"),
            in_transit: 4,
            requested: 5,
        }
    );
    assert_eq!(h.snapshot().await, before);
}

/// Operations on a SKU or location without a row are refused with which one is unknown.
pub async fn unknown_sku_and_location_are_refused<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 3).await;
    let before = h.snapshot().await;
    let error = h
        .inventory
        .receive_in_transit(sku("NOPE"), loc("main"), qty(1))
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::UnknownSku { sku: sku("NOPE") }
    );
    let error = h
        .inventory
        .adjust(sku("TEE"), loc("elsewhere"), 1, "found")
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::UnknownLocation {
            sku: sku("TEE"),
            location: loc("elsewhere"),
        }
    );
    let error = h.inventory.stock(&sku("NOPE")).await.unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::UnknownSku { sku: sku("NOPE") }
    );
    assert_eq!(h.snapshot().await, before);
}

/// Adjustments move `on_hand` both ways and record their reason.
pub async fn adjust_corrects_on_hand_with_reason<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let level = h
        .inventory
        .adjust(sku("TEE"), loc("main"), -3, "water damage")
        .await
        .unwrap();
    assert_eq!(level.on_hand, 7);
    let level = h
        .inventory
        .adjust(sku("TEE"), loc("main"), 2, "found behind shelf")
        .await
        .unwrap();
    assert_eq!(level.on_hand, 9);
    let ledger = h.snapshot().await.ledger;
    let last = ledger.last().unwrap();
    assert_eq!((last.movement, last.quantity), (Movement::Adjusted, 2));
    assert_eq!(last.reason.as_deref(), Some("found behind shelf"));
    assert_eq!(ledger[1].quantity, -3);
    assert_invariants(h.inventory.store()).await;
}

/// Zero deltas, blank or malformed reasons, overflow and taking promised units are all
/// refused, and none of them writes anything.
pub async fn adjust_refuses_bad_input_and_promised_units<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    h.held(crate::testkit::order("o1", &[("TEE", 6)])).await;
    let before = h.snapshot().await;
    let adjust = |delta: i64, reason: &'static str| {
        let inventory = &h.inventory;
        async move {
            domain_error(
                inventory
                    .adjust(sku("TEE"), loc("main"), delta, reason)
                    .await
                    .unwrap_err(),
            )
        }
    };
    assert!(matches!(
        adjust(0, "x").await,
        DomainError::InvalidQuantity { quantity: 0, .. }
    ));
    assert!(matches!(
        adjust(i64::MIN, "x").await,
        DomainError::InvalidQuantity { .. }
    ));
    assert!(matches!(
        adjust(1, "  ").await,
        DomainError::InvalidReason { .. }
    ));
    assert!(matches!(
        adjust(1, "a\u{7}b").await,
        DomainError::InvalidReason { .. }
    ));
    assert!(matches!(
        adjust(i64::MAX, "x").await,
        DomainError::Overflow { .. }
    ));
    assert_eq!(
        adjust(-5, "theft").await,
        DomainError::InsufficientStock {
            sku: sku("TEE"),
            location: Some(loc("main")),
            available: 4,
            requested: 5,
        }
    );
    assert_eq!(h.snapshot().await, before);
}

/// Identifiers with quotes, semicolons, wildcards and non-ASCII text are stored and
/// found exactly, case and accents included (`sku-a` and `SKU-A` are two SKUs, as are
/// a precomposed and a combining `é`); a NUL is refused before it reaches storage.
pub async fn identifiers_are_stored_exactly<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    let names = [
        "O'Brien \"quoted\" tee",
        "x'); DROP TABLE stock; --",
        "100%_cotton_%",
        "Käse-Größe-🧀-黒",
        "back\\slash",
        "sku-a",
        "SKU-A",
        "caf\u{e9}",
        "cafe\u{301}",
    ];
    for (index, name) in names.iter().enumerate() {
        let units = i64::try_from(index).unwrap() + 1;
        h.stocked(name, "lager-ø", units).await;
        let hold = h
            .held(crate::testkit::order(
                &format!("{name}#order"),
                &[(name, 1)],
            ))
            .await;
        assert_eq!(hold.order_id.as_str(), format!("{name}#order"));
        let stock = h.inventory.stock(&sku(name)).await.unwrap();
        assert_eq!(stock.sku.as_str(), *name);
        assert_eq!(stock.locations[0].location.as_str(), "lager-ø");
        assert_eq!((stock.total.on_hand, stock.total.reserved), (units, 1));
    }
    // A prefix or a pattern finds nothing: no LIKE, no truncation.
    assert!(h.inventory.stock(&sku("100")).await.is_err());
    assert!(h.inventory.stock(&sku("%")).await.is_err());
    assert!(matches!(
        crate::Sku::new("nul\0byte"),
        Err(DomainError::InvalidIdentifier { .. })
    ));
    let stored: Vec<String> = h
        .snapshot()
        .await
        .stock
        .keys()
        .map(|key| key.sku.to_string())
        .collect();
    let mut expected: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    expected.sort();
    assert_eq!(stored, expected);
    assert_invariants(h.inventory.store()).await;
}
