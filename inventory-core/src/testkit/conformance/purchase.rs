//! Purchase orders and reorder runs.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;

use crate::backend::AuditStore;
use crate::decide::{Command, Outcome};
use crate::error::DomainError;
use crate::ledger::Movement;
use crate::reorder::{
    run_reorder, DemandStore, Notifier, PlannedLine, PlannedOrder, PurchaseOrder, PurchaseOrderId,
    PurchaseOrderStatus as Status, PurchaseStore, PurchaseTransition as Wanted, ReorderConfig,
    ReorderRule, ServiceLevel, Supplier, SupplierLink,
};
use crate::sync::SyncStore;
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, qty, sku, Harness};
use crate::SupplierId;

fn supplier_id(name: &str) -> SupplierId {
    SupplierId::new(name).expect("valid supplier literal")
}

fn cost(text: &str) -> Decimal {
    Decimal::from_str(text).expect("valid decimal literal")
}

/// Raises a draft for `supplier` with `(sku, units)` lines through the run's command.
async fn draft<S: AuditStore>(
    h: &Harness<S>,
    supplier: &str,
    lines: &[(&str, i64)],
) -> PurchaseOrder {
    let lines = lines
        .iter()
        .map(|(name, units)| PlannedLine {
            sku: sku(name),
            quantity: *units,
            unit_cost: cost("1.50"),
            reorder_point: 0,
            position: 0,
        })
        .collect();
    let orders = vec![PlannedOrder {
        supplier: supplier_id(supplier),
        lines,
    }];
    match h
        .inventory
        .execute(Command::RaisePurchaseOrders {
            orders,
            location: loc("main"),
        })
        .await
        .unwrap()
    {
        Outcome::PurchaseOrders(mut raised) => raised.remove(0),
        other => panic!("raise decided {other:?}"),
    }
}

/// An order from `acme` with `lines`, sent, shipped, and 6 units of TEE received.
async fn partly_received<S: AuditStore>(h: &Harness<S>, lines: &[(&str, i64)]) -> PurchaseOrder {
    let po = draft(h, "acme", lines).await;
    h.inventory.send_purchase_order(po.id).await.unwrap();
    h.inventory.ship_purchase_order(po.id).await.unwrap();
    h.inventory
        .receive_purchase_order(po.id, vec![(sku("TEE"), qty(6))])
        .await
        .unwrap()
}

/// Receiving everything outstanding takes what is still expected on every line in one
/// transaction (after a partial receipt, only the rest), completes the order, and is
/// refused with nothing changed once nothing is expected.
pub async fn receiving_everything_outstanding_completes_an_order<S: AuditStore + PurchaseStore>(
    store: S,
) {
    let h = Harness::new(store);
    let po = partly_received(&h, &[("TEE", 10), ("MUG", 4)]).await;
    let received = h.inventory.receive_outstanding(po.id).await.unwrap();
    assert_eq!(received.status, Status::Received);
    assert!(received.outstanding().is_empty());
    let (tee, mug) = (h.level("TEE", "main").await, h.level("MUG", "main").await);
    assert_eq!((tee.on_hand, tee.in_transit), (10, 0));
    assert_eq!((mug.on_hand, mug.in_transit), (4, 0));
    let before = h.snapshot().await;
    assert_eq!(
        domain_error(h.inventory.receive_outstanding(po.id).await.unwrap_err()),
        DomainError::InvalidPurchaseOrderState {
            id: po.id,
            current: Status::Received,
            wanted: Wanted::Receive
        }
    );
    assert_eq!(h.snapshot().await, before);
    assert_invariants(h.inventory.store()).await;
}

/// draft -> sent -> shipped (in transit) -> partial and full receipts (on hand) ->
/// closed, with every wrong transition refused and nothing changed by a refusal.
pub async fn purchase_orders_move_stock_through_their_lifecycle<S: AuditStore + PurchaseStore>(
    store: S,
) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 5).await;
    let po = draft(&h, "acme", &[("TEE", 10), ("MUG", 4)]).await;
    assert_eq!((po.status, po.lines.len()), (Status::Draft, 2));
    assert_eq!(po.total_cost(), cost("21.00"));
    let refuse = |result: crate::Result<PurchaseOrder>| domain_error(result.unwrap_err());
    let before = h.snapshot().await;
    assert_eq!(
        refuse(h.inventory.ship_purchase_order(po.id).await),
        DomainError::InvalidPurchaseOrderState {
            id: po.id,
            current: Status::Draft,
            wanted: Wanted::Ship
        }
    );
    assert_eq!(h.snapshot().await, before);

    h.inventory.send_purchase_order(po.id).await.unwrap();
    let shipped = h.inventory.ship_purchase_order(po.id).await.unwrap();
    assert_eq!(shipped.status, Status::Shipped);
    let tee = h.level("TEE", "main").await;
    assert_eq!((tee.on_hand, tee.in_transit), (5, 10));
    assert_eq!(
        h.level("MUG", "main").await.in_transit,
        4,
        "a new row for a new SKU"
    );
    assert_eq!(
        refuse(h.inventory.cancel_purchase_order(po.id).await),
        DomainError::InvalidPurchaseOrderState {
            id: po.id,
            current: Status::Shipped,
            wanted: Wanted::Cancel
        }
    );

    let partial = h
        .inventory
        .receive_purchase_order(po.id, vec![(sku("TEE"), qty(6))])
        .await
        .unwrap();
    assert_eq!(partial.status, Status::Shipped);
    let before = h.snapshot().await;
    assert_eq!(
        refuse(
            h.inventory
                .receive_purchase_order(po.id, vec![(sku("TEE"), qty(5))])
                .await
        ),
        DomainError::ReceiptExceedsOrder {
            id: po.id,
            sku: sku("TEE"),
            outstanding: 4,
            requested: 5
        }
    );
    assert!(matches!(
        refuse(
            h.inventory
                .receive_purchase_order(po.id, vec![(sku("LAMP"), qty(1))])
                .await
        ),
        DomainError::ReceiptExceedsOrder { outstanding: 0, .. }
    ));
    assert_eq!(h.snapshot().await, before);
    let full = h
        .inventory
        .receive_purchase_order(po.id, vec![(sku("TEE"), qty(4)), (sku("MUG"), qty(4))])
        .await
        .unwrap();
    assert_eq!(full.status, Status::Received);
    let tee = h.level("TEE", "main").await;
    assert_eq!(
        (tee.on_hand, tee.in_transit),
        (15, 0),
        "in transit decrease = on hand increase"
    );
    let closed = h.inventory.close_purchase_order(po.id).await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(
        h.inventory.store().purchase_order(&po.id).await.unwrap(),
        Some(closed)
    );
    let unknown = PurchaseOrderId::raised(&supplier_id("nobody"), h.inventory.now());
    assert_eq!(
        refuse(h.inventory.send_purchase_order(unknown).await),
        DomainError::PurchaseOrderNotFound { id: unknown }
    );
    assert_invariants(h.inventory.store()).await;
}

/// Closing a partly received order writes off what never came; cancelling an unshipped
/// one moves nothing.
pub async fn closing_early_writes_off_and_cancel_moves_nothing<S: AuditStore + PurchaseStore>(
    store: S,
) {
    let h = Harness::new(store);
    let po = partly_received(&h, &[("TEE", 10)]).await;
    h.inventory.close_purchase_order(po.id).await.unwrap();
    let tee = h.level("TEE", "main").await;
    assert_eq!((tee.on_hand, tee.in_transit), (6, 0));
    let last = h.snapshot().await.ledger.pop().unwrap();
    assert_eq!(
        (last.movement, last.quantity),
        (Movement::TransitCancelled, 4)
    );

    let other = draft(&h, "globex", &[("TEE", 3)]).await;
    let before = h.snapshot().await.stock;
    assert_eq!(
        h.inventory
            .cancel_purchase_order(other.id)
            .await
            .unwrap()
            .status,
        Status::Cancelled
    );
    assert_eq!(h.snapshot().await.stock, before);
    assert_invariants(h.inventory.store()).await;
}

#[derive(Default)]
struct Told(Mutex<Vec<String>>);

#[async_trait]
impl Notifier for Told {
    async fn purchase_order_raised(&self, _order: &PurchaseOrder, summary: &str) {
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(summary.to_owned());
    }
}

/// A run orders every SKU at or below its point, one order per supplier, tells the
/// notifier once per order, creates nothing on a second run, and adds new needs to
/// the supplier's open draft.
pub async fn reorder_runs_raise_one_order_per_supplier_once<S>(store: S)
where
    S: AuditStore + SyncStore + DemandStore + PurchaseStore,
{
    let h = Harness::new(store);
    let store = h.inventory.store();
    let acme = Supplier::new(supplier_id("acme"), 7.0).unwrap();
    let globex = Supplier {
        case_pack: 12,
        ..Supplier::new(supplier_id("globex"), 3.0).unwrap()
    };
    store.put_supplier(&acme).await.unwrap();
    store.put_supplier(&globex).await.unwrap();
    let dynamic = ReorderRule::Dynamic {
        service_level: ServiceLevel::new(0.95).unwrap(),
        review_days: 7,
        quantity: None,
    };
    let link = |name: &str, supplier: &Supplier, rule| SupplierLink {
        sku: sku(name),
        supplier: supplier.id.clone(),
        unit_cost: cost("4.20"),
        rule,
    };
    store.put_link(&link("FAST", &acme, dynamic)).await.unwrap();
    store.put_link(&link("IDLE", &acme, dynamic)).await.unwrap();
    store
        .put_link(&link(
            "BOLT",
            &globex,
            ReorderRule::Static {
                point: 10,
                quantity: None,
            },
        ))
        .await
        .unwrap();
    h.stocked("FAST", "main", 100).await;
    h.stocked("IDLE", "main", 1).await;
    h.stocked("BOLT", "main", 5).await;
    for day in 0..3 {
        let held = h.held(order(&format!("sale-{day}"), &[("FAST", 30)])).await;
        h.inventory.commit(held.id).await.unwrap();
        h.inventory.ship(held.id).await.unwrap();
        h.advance(Duration::from_secs(24 * 3600));
    }

    let told = Told::default();
    let config = ReorderConfig {
        window_days: 3,
        location: loc("main"),
    };
    let raised = run_reorder(&h.inventory, &config, &told).await.unwrap();
    let summaries = told.0.lock().unwrap().clone();
    assert_eq!(
        summaries,
        [
            "Auto PO for 1 SKU from acme",
            "Auto PO for 1 SKU from globex"
        ]
    );
    assert_eq!(raised.len(), 2);
    // FAST over the window (the three whole days before today): 30/day, no deviation.
    // Target: 30 x (7 + 7) = 420; position 100 - 90 = 10 -> 410.
    assert_eq!(
        (raised[0].lines[0].sku.as_str(), raised[0].lines[0].ordered),
        ("FAST", 410)
    );
    // BOLT: static point 10, position 5: lift to 11 -> 6 -> one case of 12.
    assert_eq!(
        (raised[1].lines[0].sku.as_str(), raised[1].lines[0].ordered),
        ("BOLT", 12)
    );

    assert!(
        run_reorder(&h.inventory, &config, &told)
            .await
            .unwrap()
            .is_empty(),
        "a second run orders nothing"
    );
    assert_eq!(told.0.lock().unwrap().len(), 2);
    assert_eq!(store.all_purchase_orders().await.unwrap().len(), 2);

    // IDLE starts selling: the next day it joins acme's open draft, no new order.
    let held = h.held(order("idle-sale", &[("IDLE", 1)])).await;
    h.inventory.commit(held.id).await.unwrap();
    h.inventory.ship(held.id).await.unwrap();
    assert!(
        run_reorder(&h.inventory, &config, &told)
            .await
            .unwrap()
            .is_empty(),
        "today's sales wait for tomorrow"
    );
    h.advance(Duration::from_secs(24 * 3600));
    let merged = run_reorder(&h.inventory, &config, &told).await.unwrap();
    assert_eq!(merged.len(), 1);
    assert_eq!((merged[0].id, merged[0].lines.len()), (raised[0].id, 2));
    assert_eq!(store.all_purchase_orders().await.unwrap().len(), 2);
    assert_invariants(store).await;
}

/// Every ledger entry names the document behind it and who did it, as stored and read
/// back: a reservation's movements reference `order:<id>`, a purchase order's
/// `purchase-order:<id>`, a count names its counter; a plain receipt names neither.
pub async fn ledger_entries_name_actor_and_reference<S: AuditStore>(store: S) {
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    let held = h.held(order("A-7", &[("TEE", 2)])).await;
    h.inventory.commit(held.id).await.unwrap();
    h.inventory.ship(held.id).await.unwrap();
    let po = draft(&h, "acme", &[("TEE", 5)]).await;
    h.inventory.send_purchase_order(po.id).await.unwrap();
    h.inventory.ship_purchase_order(po.id).await.unwrap();
    h.inventory
        .record_count(
            sku("TEE"),
            loc("main"),
            7,
            "maria",
            crate::counting::CountThresholds::default(),
        )
        .await
        .unwrap();

    let ledger = h.inventory.store().ledger().await.unwrap();
    let of = |movement: Movement| -> Vec<_> {
        ledger
            .iter()
            .filter(|entry| entry.movement == movement)
            .map(|entry| (entry.actor.clone(), entry.reference.clone()))
            .collect()
    };
    let order_ref = Some(crate::order_reference(&held.order_id));
    for movement in [Movement::Reserved, Movement::Committed, Movement::Shipped] {
        assert_eq!(of(movement), [(None, order_ref.clone())], "{movement:?}");
    }
    assert_eq!(
        of(Movement::TransitAdded),
        [(None, Some(crate::purchase_order_reference(&po.id)))]
    );
    assert_eq!(of(Movement::Received), [(None, None)]);
    assert_eq!(of(Movement::Counted), [(Some("maria".to_owned()), None)]);
    assert_invariants(h.inventory.store()).await;
}

/// The ledger query pages newest first through exactly the entries each filter selects
/// (SKU, location, time range, reference, and all of them at once), whatever the page
/// size: the pages of a query put together are the whole ledger filtered and ordered by
/// position, with no entry twice and none missing.
pub async fn ledger_pages_newest_first_by_every_filter<S: AuditStore>(store: S) {
    use crate::{LedgerCursor, LedgerQuery};
    let h = Harness::new(store);
    h.stocked("TEE", "main", 10).await;
    h.stocked("MUG", "main", 4).await;
    h.advance(Duration::from_secs(60));
    h.stocked("TEE", "annex", 3).await;
    let held = h.held(order("A-9", &[("TEE", 2), ("MUG", 1)])).await;
    h.advance(Duration::from_secs(60));
    h.inventory.commit(held.id).await.unwrap();
    h.inventory.ship(held.id).await.unwrap();
    let po = draft(&h, "acme", &[("MUG", 6)]).await;
    h.inventory.send_purchase_order(po.id).await.unwrap();
    h.advance(Duration::from_secs(60));
    h.inventory.ship_purchase_order(po.id).await.unwrap();
    h.stocked("MUG", "annex", 1).await;

    // Every entry with its position, newest first, as the query must order them.
    let mut seqs = std::collections::BTreeMap::new();
    let mut all: Vec<(LedgerCursor, crate::LedgerEntry)> = Vec::new();
    for entry in h.inventory.store().ledger().await.unwrap() {
        let seq = seqs.entry(entry.key.clone()).or_insert(0);
        *seq += 1;
        let position = LedgerCursor {
            at: entry.at,
            sku: entry.key.sku.clone(),
            location: entry.key.location.clone(),
            seq: *seq,
        };
        all.push((position, entry));
    }
    all.sort_by(|a, b| b.0.cmp(&a.0));
    assert!(all.len() >= 10, "the story wrote {} entries", all.len());

    let middle = all[all.len() / 2].1.at;
    let queries = [
        LedgerQuery::default(),
        LedgerQuery {
            sku: Some(sku("TEE")),
            ..LedgerQuery::default()
        },
        LedgerQuery {
            location: Some(loc("annex")),
            ..LedgerQuery::default()
        },
        LedgerQuery {
            since: Some(middle),
            ..LedgerQuery::default()
        },
        LedgerQuery {
            until: Some(middle),
            ..LedgerQuery::default()
        },
        LedgerQuery {
            reference: Some(crate::order_reference(&held.order_id)),
            ..LedgerQuery::default()
        },
        LedgerQuery {
            sku: Some(sku("MUG")),
            location: Some(loc("main")),
            since: Some(all.last().unwrap().1.at),
            until: Some(all[0].1.at + chrono::TimeDelta::seconds(1)),
            reference: Some(crate::purchase_order_reference(&po.id)),
            ..LedgerQuery::default()
        },
    ];
    for query in queries {
        let expected: Vec<_> = all
            .iter()
            .filter(|(position, entry)| query.matches(entry, position))
            .map(|(_, entry)| entry.clone())
            .collect();
        assert!(!expected.is_empty(), "{query:?} selects something");
        for size in [1, 2, 1_000] {
            let mut found = Vec::new();
            let mut page_query = LedgerQuery {
                limit: size,
                ..query.clone()
            };
            loop {
                let page = h.inventory.store().ledger_page(&page_query).await.unwrap();
                assert!(page.entries.len() <= size);
                found.extend(page.entries);
                match page.next {
                    Some(next) => page_query.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(found, expected, "{query:?} in pages of {size}");
        }
    }
    assert_invariants(h.inventory.store()).await;
}
