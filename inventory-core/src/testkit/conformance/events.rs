//! Low-stock events: raised once per crossing in the command's transaction, delivered
//! in order by the event worker, retried after a failed delivery.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backend::AuditStore;
use crate::error::{BoxError, DomainError};
use crate::events::{
    EventStore, EventWorker, LowStock, Notifier, StockEvent, StockEventKind, StockMeasure,
};
use crate::testkit::invariants::assert_invariants;
use crate::testkit::{domain_error, loc, order, qty, sku, Harness};

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
    let negative = LowStock {
        threshold: -1,
        measure: StockMeasure::Available,
    };
    let refused = h.inventory.set_low_stock(sku("MUG"), Some(negative)).await;
    assert!(matches!(
        domain_error(refused.unwrap_err()),
        DomainError::InvalidSetting { .. }
    ));
    let low = LowStock {
        threshold: 3,
        measure: StockMeasure::Available,
    };
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
    let position = LowStock {
        threshold: 5,
        measure: StockMeasure::Position,
    };
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
