//! What the library tells a host app through `tracing`: nothing above `debug` on the
//! happy path, a `warn` naming the channel when a channel push fails, and `debug`
//! events for sync passes, under the documented `inventory_core::...` targets.

use std::sync::{Arc, Mutex};

use inventory_core::sync::SyncWorker;
use inventory_core::testkit::{loc, order, qty, shop_worker, sku, RecordingChannel};
use inventory_core::{Inventory, MemoryStore};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// One event as the host app's subscriber sees it.
#[derive(Debug, Clone)]
struct Seen {
    level: Level,
    target: String,
    fields: Vec<(String, String)>,
}

impl Seen {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Seen>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Seen {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
}

impl Capture {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[tokio::test]
async fn quiet_on_the_happy_path_and_a_warning_for_a_failing_channel() {
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let inventory = Inventory::new(MemoryStore::new());
    let channel = RecordingChannel::new();
    let worker: SyncWorker<_> = shop_worker(inventory.clone(), &channel).build();
    inventory
        .receive(sku("TEE"), loc("main"), qty(10))
        .await
        .unwrap();
    let reserved = inventory
        .reserve(order("o-1", &[("TEE", 2)]))
        .await
        .unwrap();
    inventory.commit(reserved.reservation.id).await.unwrap();
    inventory.ship(reserved.reservation.id).await.unwrap();
    worker.run_until_idle().await.unwrap();
    let happy = capture.take();
    let loud: Vec<&Seen> = happy
        .iter()
        .filter(|seen| seen.level < Level::DEBUG)
        .collect();
    assert!(loud.is_empty(), "above debug on the happy path: {loud:?}");
    assert!(
        happy.iter().any(|seen| seen.level == Level::DEBUG
            && seen.target == "inventory_core::sync::worker"
            && seen.field("claimed").is_some()),
        "a sync pass is a debug event: {happy:?}"
    );

    channel.set_failing(true);
    inventory
        .receive(sku("TEE"), loc("main"), qty(5))
        .await
        .unwrap();
    worker.run_pass().await.unwrap();
    let failing = capture.take();
    let warned: Vec<&Seen> = failing
        .iter()
        .filter(|seen| seen.level == Level::WARN && seen.target == "inventory_core::sync::worker")
        .collect();
    assert_eq!(warned.len(), 1, "{failing:?}");
    assert_eq!(warned[0].field("channel"), Some("shop"), "{warned:?}");
    assert!(warned[0].field("failures").is_some());
}
