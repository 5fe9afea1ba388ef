//! Cycle counts: thresholds, investigations, freezes, shortages, resolution, channels.

use crate::backend::AuditStore;
use crate::counting::{CountAction, CountStore, CountThresholds, InvestigationId};
use crate::error::DomainError;
use crate::ledger::Movement;
use crate::sync::SyncStore;
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, shop_worker, sku, Harness, RecordingChannel};

/// Exactly 5% adjusts, exactly 10% investigates, just above 10% freezes (and the theft
/// case 50 -> 38 freezes); a frozen SKU takes no reservations; history is kept.
pub async fn counts_adjust_investigate_or_freeze<S: AuditStore + CountStore>(store: S) {
    let h = Harness::new(store);
    for (name, units) in [("A", 100), ("B", 100), ("C", 1_000), ("D", 50)] {
        h.stocked(name, "main", units).await;
    }
    let count = |name: &'static str, counted: i64| {
        let inventory = &h.inventory;
        async move {
            inventory
                .record_count(
                    sku(name),
                    loc("main"),
                    counted,
                    "maria",
                    CountThresholds::default(),
                )
                .await
                .unwrap()
        }
    };
    let a = count("A", 95).await;
    assert_eq!(
        (
            a.record.action,
            a.record.discrepancy_basis_points,
            a.investigation.is_none()
        ),
        (CountAction::Adjusted, 500, true)
    );
    assert_eq!(h.level("A", "main").await.on_hand, 95);
    let ledger = h.snapshot().await.ledger;
    let last = ledger
        .iter()
        .rev()
        .find(|entry| entry.key.sku == sku("A"))
        .unwrap();
    assert_eq!((last.movement, last.quantity), (Movement::Counted, -5));
    let b = count("B", 90).await;
    assert_eq!(b.record.action, CountAction::Investigate);
    assert!(!b.investigation.as_ref().unwrap().freezes);
    assert!(
        h.inventory.reserve(order("b1", &[("B", 1)])).await.is_ok(),
        "an investigation alone does not freeze"
    );
    let c = count("C", 899).await;
    assert_eq!(c.record.action, CountAction::Frozen);
    let d = count("D", 38).await;
    assert_eq!(
        (d.record.action, d.record.discrepancy_basis_points),
        (CountAction::Frozen, 2_400)
    );
    let refused = h
        .inventory
        .reserve(order("d1", &[("D", 1)]))
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(refused),
        DomainError::SkuFrozen { sku: sku("D") }
    );
    let open = h.inventory.store().open_investigations().await.unwrap();
    let mut skus: Vec<String> = open.iter().map(|i| i.sku.to_string()).collect();
    skus.sort();
    assert_eq!(skus, ["B", "C", "D"]);
    let history = h.inventory.store().counts_of(&sku("D")).await.unwrap();
    assert_eq!(history, vec![d.record.clone()]);
    assert_invariants(h.inventory.store()).await;
}

/// Resolving (with a recount) unfreezes; a second resolution and an unknown id are
/// refused; bad counts are refused and change nothing.
pub async fn resolving_an_investigation_unfreezes<S: AuditStore + CountStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("D", "main", 50).await;
    let report = h
        .inventory
        .record_count(
            sku("D"),
            loc("main"),
            38,
            "maria",
            CountThresholds::default(),
        )
        .await
        .unwrap();
    let id = report.investigation.unwrap().id;
    let resolved = h
        .inventory
        .resolve_investigation(id, Some(40), "lead")
        .await
        .unwrap();
    assert_eq!(resolved.resolved_by.as_deref(), Some("lead"));
    assert_eq!(h.level("D", "main").await.on_hand, 40);
    assert!(
        h.inventory.reserve(order("d1", &[("D", 2)])).await.is_ok(),
        "unfrozen"
    );
    let again = h
        .inventory
        .resolve_investigation(id, None, "lead")
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(again),
        DomainError::InvestigationResolved { id }
    );
    let unknown = InvestigationId::opened(&sku("X"), &loc("main"), h.inventory.now(), 1, 2);
    let error = h
        .inventory
        .resolve_investigation(unknown, None, "lead")
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::InvestigationNotFound { id: unknown }
    );

    let before = h.snapshot().await;
    let negative = h
        .inventory
        .record_count(
            sku("D"),
            loc("main"),
            -1,
            "maria",
            CountThresholds::default(),
        )
        .await;
    assert!(matches!(
        domain_error(negative.unwrap_err()),
        DomainError::InvalidQuantity { .. }
    ));
    let nameless = h
        .inventory
        .record_count(sku("D"), loc("main"), 40, " ", CountThresholds::default())
        .await;
    assert!(matches!(
        domain_error(nameless.unwrap_err()),
        DomainError::InvalidActor { .. }
    ));
    let unknown_sku = h
        .inventory
        .record_count(
            sku("Q"),
            loc("main"),
            1,
            "maria",
            CountThresholds::default(),
        )
        .await;
    assert_eq!(
        domain_error(unknown_sku.unwrap_err()),
        DomainError::UnknownSku { sku: sku("Q") }
    );
    assert_eq!(h.snapshot().await, before);
    assert_invariants(h.inventory.store()).await;
}

/// Unfreezing a SKU frozen at two locations resolves both investigations in one
/// transaction, recounting the one a recount names; a recount at a location without an
/// open investigation, a SKU with none, or an unknown SKU is refused and changes
/// nothing.
pub async fn unfreezing_resolves_every_open_investigation_at_once<S: AuditStore + CountStore>(
    store: S,
) {
    let h = Harness::new(store);
    h.stocked("D", "east", 50).await;
    h.stocked("D", "west", 50).await;
    h.stocked("D", "north", 50).await;
    for location in ["east", "west"] {
        let report = h
            .inventory
            .record_count(
                sku("D"),
                loc(location),
                38,
                "maria",
                CountThresholds::default(),
            )
            .await
            .unwrap();
        assert!(report.investigation.is_some());
    }
    assert!(h
        .inventory
        .reserve(order("frozen", &[("D", 1)]))
        .await
        .is_err());
    let before = h.snapshot().await;
    let stray = std::collections::BTreeMap::from([(loc("north"), 50)]);
    let error = h
        .inventory
        .unfreeze(sku("D"), stray, "lead")
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(error),
        DomainError::RecountWithoutInvestigation { .. }
    ));
    assert_eq!(h.snapshot().await, before);

    let recounts = std::collections::BTreeMap::from([(loc("east"), 40)]);
    let resolved = h
        .inventory
        .unfreeze(sku("D"), recounts, "lead")
        .await
        .unwrap();
    assert_eq!(resolved.len(), 2);
    assert!(resolved
        .iter()
        .all(|investigation| investigation.resolved_by.as_deref() == Some("lead")));
    assert_eq!(h.level("D", "east").await.on_hand, 40);
    assert_eq!(h.level("D", "west").await.on_hand, 38);
    assert!(h
        .inventory
        .reserve(order("sells", &[("D", 1)]))
        .await
        .is_ok());

    let before = h.snapshot().await;
    let none = std::collections::BTreeMap::new();
    let error = h
        .inventory
        .unfreeze(sku("D"), none.clone(), "lead")
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::NoOpenInvestigation { sku: sku("D") }
    );
    let error = h
        .inventory
        .unfreeze(sku("X"), none, "lead")
        .await
        .unwrap_err();
    assert_eq!(
        domain_error(error),
        DomainError::UnknownSku { sku: sku("X") }
    );
    assert_eq!(h.snapshot().await, before);
    assert_invariants(h.inventory.store()).await;
}

/// A count below what is promised leaves available negative and reports the shortage
/// and who is short (active holds before committed ones, newest first); reserved and
/// committed are untouched.
pub async fn a_short_count_reports_the_shortage<S: AuditStore + CountStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("T", "main", 10).await;
    let picked = h.held(order("picked", &[("T", 4)])).await;
    h.inventory.commit(picked.id).await.unwrap();
    h.advance(std::time::Duration::from_secs(1));
    let older = h.held(order("older", &[("T", 3)])).await;
    h.advance(std::time::Duration::from_secs(1));
    let newest = h.held(order("newest", &[("T", 2)])).await;
    let report = h
        .inventory
        .record_count(
            sku("T"),
            loc("main"),
            4,
            "maria",
            CountThresholds::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.shortage, Some(5));
    assert_eq!(report.short_reservations, vec![newest.id, older.id]);
    let level = h.level("T", "main").await;
    assert_eq!(
        (
            level.on_hand,
            level.reserved,
            level.committed,
            level.available()
        ),
        (4, 5, 4, -5)
    );
    let enough = h
        .inventory
        .record_count(
            sku("T"),
            loc("main"),
            9,
            "maria",
            CountThresholds::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        (enough.shortage, enough.short_reservations.len()),
        (None, 0)
    );
    assert_invariants(h.inventory.store()).await;
}

/// Channels are told 0 while a SKU is frozen, and its number again once resolved.
pub async fn frozen_skus_are_told_zero<S: AuditStore + CountStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    let channel = RecordingChannel::new();
    let worker = shop_worker(h.inventory.clone(), &channel).build();
    h.stocked("T", "main", 100).await;
    worker.run_until_idle().await.unwrap();
    assert_eq!(channel.last(&sku("T")), Some(100));
    let report = h
        .inventory
        .record_count(
            sku("T"),
            loc("main"),
            80,
            "maria",
            CountThresholds::default(),
        )
        .await
        .unwrap();
    worker.run_until_idle().await.unwrap();
    assert_eq!(channel.last(&sku("T")), Some(0), "frozen");
    h.inventory
        .resolve_investigation(report.investigation.unwrap().id, None, "lead")
        .await
        .unwrap();
    worker.run_until_idle().await.unwrap();
    assert_eq!(channel.last(&sku("T")), Some(80));
}

/// Priced order lines record their price with the shipment; revenue per SKU is exact,
/// ranks SKUs into classes, and the count list follows classes and last counts.
pub async fn revenue_ranks_the_count_list<
    S: AuditStore + CountStore + crate::reorder::DemandStore,
>(
    store: S,
) {
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use crate::counting::{count_list, AbcClass, AbcConfig};
    use crate::reservation::{OrderLine, ReserveRequest};
    use crate::{OrderId, Quantity};

    let h = Harness::new(store);
    for name in ["HI", "MID", "LOW", "NONE", "IDLE"] {
        h.stocked(name, "main", 100).await;
    }
    let price = |text: &str| Decimal::from_str(text).unwrap();
    for (index, (name, units, unit_price)) in [
        ("HI", 3, Some("19.99")),
        ("MID", 2, Some("5.10")),
        ("LOW", 1, Some("0.35")),
        ("NONE", 9, None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut line = OrderLine::new(sku(name), Quantity::new(units).unwrap());
        line.unit_price = unit_price.map(price);
        let held = h
            .inventory
            .reserve(ReserveRequest::new(
                OrderId::new(format!("sale-{index}")).unwrap(),
                vec![line],
            ))
            .await
            .unwrap();
        h.inventory.commit(held.reservation.id).await.unwrap();
        h.inventory.ship(held.reservation.id).await.unwrap();
    }
    let shipped = h
        .snapshot()
        .await
        .ledger
        .into_iter()
        .filter(|entry| entry.movement == Movement::Shipped);
    let prices: Vec<Option<Decimal>> = shipped.map(|entry| entry.unit_price).collect();
    assert_eq!(prices.iter().filter(|price| price.is_some()).count(), 3);
    let today = h.inventory.now().date_naive();
    let revenue = h.inventory.store().revenue(today, today).await.unwrap();
    assert_eq!(revenue[&sku("HI")], price("59.97"));
    assert_eq!(revenue[&sku("MID")], price("10.20"));
    assert_eq!(revenue[&sku("LOW")], price("0.35"));
    assert!(!revenue.contains_key(&sku("NONE")), "no price, no revenue");

    let refused = h
        .inventory
        .reserve(ReserveRequest::new(
            OrderId::new("neg").unwrap(),
            vec![OrderLine::new(sku("LOW"), Quantity::new(1).unwrap()).priced(price("-1"))],
        ))
        .await
        .unwrap_err();
    assert!(matches!(
        domain_error(refused),
        DomainError::NegativePrice { .. }
    ));

    // Tomorrow: 5 SKUs -> 1 A (HI), 2 B (MID, LOW), the rest C. Counting everything once
    // today means nothing is due tomorrow; a week on, the A SKU is due again.
    h.advance(std::time::Duration::from_secs(24 * 3600));
    let tomorrow = h.inventory.now().date_naive();
    let config = AbcConfig::default();
    // With a schedule started long ago, every row that was never counted is due.
    let long_ago = tomorrow - chrono::Days::new(400);
    let all = count_list(&h.inventory, tomorrow, long_ago, &config, None)
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let classes: std::collections::BTreeMap<String, AbcClass> = all
        .iter()
        .map(|item| (item.sku.to_string(), item.class))
        .collect();
    assert_eq!(classes["HI"], AbcClass::A);
    assert_eq!((classes["MID"], classes["LOW"]), (AbcClass::B, AbcClass::B));
    assert_eq!(
        (classes["NONE"], classes["IDLE"]),
        (AbcClass::C, AbcClass::C)
    );
    for item in &all {
        let level = h.level(item.sku.as_str(), "main").await;
        h.inventory
            .record_count(
                item.sku.clone(),
                item.location.clone(),
                level.on_hand,
                "maria",
                crate::counting::CountThresholds::default(),
            )
            .await
            .unwrap();
    }
    assert!(count_list(
        &h.inventory,
        tomorrow + chrono::Days::new(6),
        long_ago,
        &config,
        None
    )
    .await
    .unwrap()
    .is_empty());
    let week = count_list(
        &h.inventory,
        tomorrow + chrono::Days::new(7),
        long_ago,
        &config,
        Some(10),
    )
    .await
    .unwrap();
    let due: Vec<&str> = week.iter().map(|item| item.sku.as_str()).collect();
    assert_eq!(due, ["HI"]);
}
