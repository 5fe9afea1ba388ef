//! Low-stock events: raised once per crossing in the command's transaction, delivered
//! in order by the event worker, retried after a failed delivery.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backend::AuditStore;
use crate::catalog::{BundleComponent, BundleProblem};
use crate::error::{BoxError, DomainError};
use crate::events::{
    EventStore, EventWorker, LowStock, Notifier, StockEvent, StockEventKind, StockMeasure,
};
use crate::reorder::{
    run_reorder, DemandStore, PurchaseStore, ReorderConfig, ReorderRule, SilentNotifier, Supplier,
    SupplierLink,
};
use crate::sync::SyncStore;
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, qty, sku, Harness};
use crate::SupplierId;

/// A notifier that keeps what it was told, and fails while told to.
#[derive(Clone, Default)]
struct Recorder {
    told: Arc<Mutex<Vec<StockEvent>>>,
    failing: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl Notifier for Recorder {
    async fn notify(&self, events: &[StockEvent]) -> Result<(), BoxError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err("the webhook is down".into());
        }
        self.told.lock().expect("lock").extend_from_slice(events);
        Ok(())
    }
}

/// Crossing the threshold downward raises one `low` event, going further down none,
/// crossing back up one `recovered`; a position threshold counts units in transit; a
/// refused command raises nothing; a negative threshold is refused. The worker delivers
/// them in order; a failed delivery waits for its backoff, holding back newer events,
/// and all are delivered then, in the order raised.
pub async fn low_stock_events_are_raised_once_per_crossing_and_delivered<
    S: AuditStore + EventStore,
>(
    store: S,
) {
    let h = Harness::new(store);
    let store = h.inventory.store();
    h.stocked("MUG", "main", 10).await;
    let negative = LowStock::units(-1, StockMeasure::Available);
    let refused = h.inventory.set_low_stock(sku("MUG"), Some(negative)).await;
    assert!(matches!(
        domain_error(refused.unwrap_err()),
        DomainError::InvalidSetting { .. }
    ));
    let low = LowStock::units(3, StockMeasure::Available);
    h.inventory
        .set_low_stock(sku("MUG"), Some(low))
        .await
        .unwrap();
    h.held(order("o1", &[("MUG", 6)])).await;
    assert!(
        store.pending_events().await.unwrap().is_empty(),
        "4 left: not low"
    );
    let second = h.held(order("o2", &[("MUG", 1)])).await;
    h.held(order("o3", &[("MUG", 2)])).await;
    assert!(h
        .inventory
        .reserve(order("o4", &[("MUG", 5)]))
        .await
        .is_err());
    let kinds = |events: Vec<crate::events::QueuedEvent>| -> Vec<(StockEventKind, i64)> {
        events
            .into_iter()
            .map(|q| (q.event.kind, q.event.value))
            .collect()
    };
    assert_eq!(
        kinds(store.pending_events().await.unwrap()),
        [(StockEventKind::Low, 3)],
        "once per crossing, none for a refused order"
    );
    h.inventory.release(second.id).await.unwrap();
    h.stocked("MUG", "main", 2).await;
    assert_eq!(
        kinds(store.pending_events().await.unwrap()),
        [(StockEventKind::Low, 3), (StockEventKind::Recovered, 4)]
    );

    // Position: units in transit count.
    h.stocked("TEA", "main", 8).await;
    let position = LowStock::units(5, StockMeasure::Position);
    h.inventory
        .set_low_stock(sku("TEA"), Some(position))
        .await
        .unwrap();
    h.inventory
        .add_in_transit(sku("TEA"), loc("main"), qty(10))
        .await
        .unwrap();
    h.held(order("t1", &[("TEA", 8)])).await;
    assert_eq!(
        store.pending_events().await.unwrap().len(),
        2,
        "none available, but 10 on the way: not low"
    );

    // Delivery: a failed attempt waits for its backoff, then all go, in order.
    let notifier = Recorder::default();
    notifier.failing.store(true, Ordering::SeqCst);
    let worker = EventWorker::new(h.inventory.clone(), notifier.clone());
    assert_eq!(worker.run_until_idle().await.unwrap(), 0);
    let waiting = store.pending_events().await.unwrap();
    assert!(
        waiting.iter().all(|queued| queued.attempts == 1),
        "{waiting:?}"
    );
    notifier.failing.store(false, Ordering::SeqCst);
    // A newer crossing waits behind the ones backing off: events go out in order.
    h.held(order("o5", &[("MUG", 2)])).await;
    let waiting = worker.run_until_idle().await.unwrap();
    assert_eq!(waiting, 0, "still backing off");
    h.advance(Duration::from_secs(2));
    assert_eq!(worker.run_until_idle().await.unwrap(), 3);
    let told: Vec<(String, StockEventKind)> = notifier
        .told
        .lock()
        .unwrap()
        .iter()
        .map(|event| (event.sku.to_string(), event.kind))
        .collect();
    assert_eq!(
        told,
        [
            ("MUG".to_owned(), StockEventKind::Low),
            ("MUG".to_owned(), StockEventKind::Recovered),
            ("MUG".to_owned(), StockEventKind::Low)
        ]
    );
    assert!(store.pending_events().await.unwrap().is_empty());
    assert_eq!(worker.run_until_idle().await.unwrap(), 0, "delivered once");
    assert_invariants(store).await;
}

/// A threshold follows what is set: setting one that the stock is already at or below
/// raises `low` at once, lowering it below the stock raises `recovered`, removing it
/// raises nothing. A reorder-point threshold watches nothing until a reorder run
/// computes the point; each run that moves the point raises what the move makes true.
/// A bundle takes no threshold.
pub async fn low_stock_thresholds_follow_changes_and_the_reorder_point<S>(store: S)
where
    S: AuditStore + EventStore + SyncStore + DemandStore + PurchaseStore,
{
    let h = Harness::new(store);
    let store = h.inventory.store();
    let kinds = || async {
        store
            .pending_events()
            .await
            .unwrap()
            .into_iter()
            .map(|q| (q.event.sku.to_string(), q.event.kind, q.event.threshold))
            .collect::<Vec<_>>()
    };
    h.stocked("MUG", "main", 10).await;
    let set = |units| h.inventory.set_low_stock(sku("MUG"), units);
    set(Some(LowStock::units(4, StockMeasure::Available)))
        .await
        .unwrap();
    assert!(kinds().await.is_empty(), "10 is above 4");
    set(Some(LowStock::units(10, StockMeasure::Available)))
        .await
        .unwrap();
    set(Some(LowStock::units(12, StockMeasure::Available)))
        .await
        .unwrap();
    set(Some(LowStock::units(9, StockMeasure::Available)))
        .await
        .unwrap();
    set(None).await.unwrap();
    set(Some(LowStock::units(2, StockMeasure::Available)))
        .await
        .unwrap();
    let mug = |kind, threshold| ("MUG".to_owned(), kind, threshold);
    assert_eq!(
        kinds().await,
        [
            mug(StockEventKind::Low, 10),
            mug(StockEventKind::Recovered, 9)
        ],
        "10 is low at 10 (once, not again at 12), no longer at 9; removing and a \
         threshold below the stock raise nothing"
    );

    // The reorder point: static at 12, then 6.
    let acme = Supplier::new(SupplierId::new("acme").unwrap(), 7.0).unwrap();
    store.put_supplier(&acme).await.unwrap();
    let link = |point| SupplierLink {
        sku: sku("MUG"),
        supplier: acme.id.clone(),
        unit_cost: rust_decimal::Decimal::ONE,
        rule: ReorderRule::Static {
            point,
            quantity: Some(100),
        },
    };
    store.put_link(&link(12)).await.unwrap();
    let follows = Some(LowStock::reorder_point(StockMeasure::Available));
    let stored = set(follows).await.unwrap();
    assert_eq!(stored, follows);
    assert_eq!(
        kinds().await.len(),
        2,
        "no point known yet: nothing watched"
    );
    let config = ReorderConfig::new(loc("main"));
    let raised = run_reorder(&h.inventory, &config, &SilentNotifier)
        .await
        .unwrap();
    assert_eq!(raised.len(), 1, "10 is at or below 12: ordered");
    let catalog = h.inventory.catalog().await.unwrap();
    assert_eq!(
        catalog.settings(&sku("MUG")).unwrap().reorder_point,
        Some(12)
    );
    assert_eq!(kinds().await[2..], [mug(StockEventKind::Low, 12)]);
    // The order is on its way: a run moving the point below the stock recovers it.
    store.put_link(&link(6)).await.unwrap();
    run_reorder(&h.inventory, &config, &SilentNotifier)
        .await
        .unwrap();
    assert_eq!(kinds().await[3..], [mug(StockEventKind::Recovered, 6)]);
    run_reorder(&h.inventory, &config, &SilentNotifier)
        .await
        .unwrap();
    assert_eq!(
        kinds().await.len(),
        4,
        "a run that moves nothing raises nothing"
    );
    // Selling down to the point is a crossing like any other.
    h.held(order("o1", &[("MUG", 4)])).await;
    assert_eq!(kinds().await[4..], [mug(StockEventKind::Low, 6)]);

    // A bundle takes no threshold, and a SKU with one is no bundle.
    h.stocked("TEA", "main", 5).await;
    let kit = BundleComponent::new(sku("TEA"), qty(1));
    h.inventory
        .define_bundle(sku("KIT"), vec![kit.clone()])
        .await
        .unwrap();
    let refused = h
        .inventory
        .set_low_stock(
            sku("KIT"),
            Some(LowStock::units(1, StockMeasure::Available)),
        )
        .await;
    assert!(matches!(
        domain_error(refused.unwrap_err()),
        DomainError::InvalidBundle {
            problem: BundleProblem::LowStockThreshold,
            ..
        }
    ));
    let refused = h.inventory.define_bundle(sku("MUG"), vec![kit]).await;
    assert!(matches!(
        domain_error(refused.unwrap_err()),
        DomainError::InvalidBundle {
            problem: BundleProblem::LowStockThreshold,
            ..
        }
    ));
    assert_invariants(store).await;
}
