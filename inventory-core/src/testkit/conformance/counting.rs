//! Cycle counts: thresholds, investigations, freezes, shortages, resolution, channels.

use crate::counting::{CountAction, CountStore, CountThresholds, InvestigationId};
use crate::error::DomainError;
use crate::ledger::Movement;
use crate::store::AuditStore;
use crate::sync::{Buffer, ChannelPolicy, SyncStore, SyncWorker};
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, sku, Harness, RecordingChannel};

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
        DomainError::InvalidRequest { .. }
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

/// A count below what is promised leaves available negative and reports the shortage;
/// reserved and committed are untouched.
pub async fn a_short_count_reports_the_shortage<S: AuditStore + CountStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("T", "main", 10).await;
    h.held(order("o1", &[("T", 6)])).await;
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
    assert_eq!(report.shortage, Some(2));
    let level = h.level("T", "main").await;
    assert_eq!(
        (level.on_hand, level.reserved, level.available()),
        (4, 6, -2)
    );
    assert_invariants(h.inventory.store()).await;
}

/// Channels are told 0 while a SKU is frozen, and its number again once resolved.
pub async fn frozen_skus_are_told_zero<S: AuditStore + CountStore + SyncStore>(store: S) {
    let h = Harness::new(store);
    let channel = RecordingChannel::new();
    let worker = SyncWorker::builder(h.inventory.clone())
        .channel(
            "shop",
            ChannelPolicy::buffered(Buffer::FULL),
            channel.clone(),
        )
        .unwrap()
        .build();
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
