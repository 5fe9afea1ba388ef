//! The background expirer: with nothing else running, a 1-second hold stops counting
//! against available within moments of its time (woken by the reservation itself), a
//! hold made by another app server is released within the worker's interval, and a
//! stopped worker releases nothing more.

use std::time::{Duration, Instant};

use inventory_core::backend::Store;
use inventory_core::expiry::{ExpiryConfig, ExpiryWorker};
use inventory_core::sync::Stopped;
use inventory_core::testkit::{loc, qty, sku};
use inventory_core::{Inventory, OrderId, OrderLine, ReservationStatus, ReserveRequest};
use inventory_sqlite::{SqliteOptions, SqliteStore};
use inventory_tests::{my, pg};

fn hold(order: &str, units: i64) -> ReserveRequest {
    let line = OrderLine::new(sku("TEE"), qty(units));
    ReserveRequest::new(OrderId::new(order).unwrap(), vec![line]).with_ttl(Duration::from_secs(1))
}

async fn available<S: Store>(inventory: &Inventory<S>) -> i64 {
    inventory
        .stock(&sku("TEE"))
        .await
        .unwrap()
        .total
        .available()
}

/// `elsewhere` is a second app server's handle on the same database.
async fn holds_expire_by_themselves<S: Store + Clone>(store: S, elsewhere: S) {
    let inventory = Inventory::new(store);
    let other_server = Inventory::new(elsewhere);
    inventory
        .receive(sku("TEE"), loc("main"), qty(10))
        .await
        .unwrap();
    let config = ExpiryConfig {
        interval: Duration::from_secs(3),
        ..ExpiryConfig::default()
    };
    let expirer = ExpiryWorker::spawn(inventory.clone(), config);
    // Its first sweep found nothing; it sleeps its interval until this hold wakes it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let made = Instant::now();
    let reserved = inventory.reserve(hold("here", 3)).await.unwrap();
    assert_eq!(available(&inventory).await, 7);
    while available(&inventory).await != 10 {
        assert!(
            made.elapsed() < Duration::from_secs(2),
            "the hold still counts"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let released = inventory
        .reservation(reserved.reservation.id)
        .await
        .unwrap();
    assert_eq!(released.status, ReservationStatus::Expired);
    // A hold made on another server does not ring this worker's alarm: its interval
    // bounds the wait.
    let made = Instant::now();
    other_server.reserve(hold("there", 4)).await.unwrap();
    while available(&inventory).await != 10 {
        assert!(
            made.elapsed() < Duration::from_secs(4),
            "the other server's hold still counts"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        expirer.stop(Duration::from_secs(5)).await,
        Stopped::Finished
    );
    inventory.reserve(hold("after", 2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(
        available(&inventory).await,
        8,
        "nothing runs after the stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_holds_expire_by_themselves() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("shop.db");
    let store = SqliteStore::open_with(&path, SqliteOptions::default())
        .await
        .unwrap();
    let elsewhere = SqliteStore::open_with(&path, SqliteOptions::default())
        .await
        .unwrap();
    holds_expire_by_themselves(store, elsewhere).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_holds_expire_by_themselves() {
    let Some(store) = pg::fresh_store(4).await else {
        return;
    };
    let elsewhere = pg::second_pool(&store, 4).await;
    holds_expire_by_themselves(store, elsewhere).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_holds_expire_by_themselves() {
    let Some(store) = my::fresh_store(4).await else {
        return;
    };
    let elsewhere = my::second_pool(&store, 4).await;
    holds_expire_by_themselves(store, elsewhere).await;
}
