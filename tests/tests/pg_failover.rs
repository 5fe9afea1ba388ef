//! The PostgreSQL failover drill: a primary with a synchronous standby
//! (`remote_apply`) on ports of its own; writers reserve through a store given both
//! servers; the primary is killed with SIGKILL part way and the standby promoted; the
//! store moves to it without a restart. Every acknowledged reservation must be on the
//! promoted standby, every order whose outcome was unknown applied once, and every
//! invariant must hold there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::testkit::{loc, qty, sku};
use inventory_core::{Inventory, OrderId, OrderLine, ReserveRequest, StoreError};
use inventory_examples::service::{start, ServiceConfig};
use inventory_sqlx::{PgStore, COMMIT_TIMEOUT};
use inventory_tests::cluster::{psql, PgPair, PG_PRIMARY_PORT, PG_STANDBY_PORT};
use inventory_tests::drill::{self, Plan, Progress, Via};

/// The drills share ports and a folder: one at a time.
static ONE_PAIR: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn pool_options() -> inventory_sqlx::sqlx::postgres::PgPoolOptions {
    PgStore::pool_options_in("inventory")
        .expect("schema name")
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_primary_dies_and_no_acknowledged_reservation_is_lost() {
    if PgPair::available().is_err() {
        return;
    }
    let _one_at_a_time = ONE_PAIR.lock().await;
    let started = Instant::now();
    let pair = tokio::task::spawn_blocking(PgPair::start)
        .await
        .expect("start the pair");
    let store = PgStore::connect_with(&PgPair::url(), pool_options(), Some("inventory"))
        .await
        .expect("connect to the pair");
    assert!(
        store.server().ends_with(":5434/postgres"),
        "{}",
        store.server()
    );
    store.migrate().await.expect("migrate");
    let inventory = Inventory::new(store.clone());
    let plan = Plan {
        orders: 3_000,
        hot: 400,
        spread: 500,
    };
    plan.stock(&inventory).await;

    // The reference service, on a store of its own given the same two servers.
    let served = PgStore::connect_with(&PgPair::url(), pool_options(), Some("inventory"))
        .await
        .expect("the service's store");
    let listener = inventory_tests::service::free_listener().await;
    let config = ServiceConfig::parse("").expect("empty config");
    let service = start(served.clone(), config, listener)
        .await
        .expect("start the service");
    let base = format!("http://{}", service.addr());

    let progress = Arc::new(Progress::default());
    let writers = {
        // Three library writers to one service writer.
        let client = reqwest::Client::new();
        let handles = vec![
            Via::Library(inventory.clone()),
            Via::Library(inventory.clone()),
            Via::Library(inventory.clone()),
            Via::Service(base, client),
        ];
        let progress = Arc::clone(&progress);
        tokio::spawn(async move {
            drill::write(&handles, plan, 16, progress, Duration::from_secs(60)).await
        })
    };
    progress.reached(plan.orders / 3).await;
    let pair = tokio::task::spawn_blocking(move || {
        pair.kill_primary();
        pair
    })
    .await
    .expect("kill the primary");
    let killed_at = Instant::now();
    // What an orchestrator does once it sees the primary gone.
    let pair = tokio::task::spawn_blocking(move || {
        pair.promote();
        pair
    })
    .await
    .expect("promote the standby");
    let load = tokio::time::timeout(Duration::from_secs(90), writers)
        .await
        .expect("writers finished within 90 s")
        .expect("writers");
    let resumed = drill::resumed_after(&load, killed_at);
    for (who, moved) in [("library", &store), ("service", &served)] {
        assert!(
            moved
                .server()
                .ends_with(&format!(":{PG_STANDBY_PORT}/postgres")),
            "the {who}'s store moved to the promoted standby: {}",
            moved.server()
        );
    }
    service.stop().await.expect("stop the service");

    // What the promoted standby holds, read through a store of its own.
    let standby_url = format!("postgres://postgres@127.0.0.1:{PG_STANDBY_PORT}/postgres");
    let promoted = PgStore::connect_in(&standby_url, "inventory")
        .await
        .expect("connect to the promoted standby");
    let found = drill::check(&promoted, &load).await;
    println!(
        "drill pg-failover: acknowledged={} found={} lost={} writes_resumed_after_s={resumed:.2} \
         unknown={} applied_earlier={} resent={} refused={} seconds={:.1}",
        load.acknowledged.len(),
        found.found,
        found.lost.len(),
        load.unknown,
        load.applied_earlier,
        load.resent,
        load.refused,
        started.elapsed().as_secs_f64()
    );
    assert!(found.lost.is_empty(), "lost: {:?}", found.lost);
    assert_eq!(found.oversold, 0);
    assert!(found.violations.is_empty(), "{:?}", found.violations);
    assert_eq!(
        load.acknowledged.len() + load.refused,
        plan.orders,
        "every order answered once"
    );
    assert_eq!(load.hot_acknowledged, 400, "HOT sold out exactly");
    assert_eq!(
        found.hot_reserved, 400,
        "one unit per acknowledged HOT order"
    );
    assert!(load.resent > 0, "the kill interrupted some orders");
    drop(pair);
}

/// A pair with 5 units of `name` in stock, its standby then stopped (so commits wait),
/// and an inventory on a store given both servers and `commit_timeout`.
async fn stocked_without_standby(
    name: &str,
    commit_timeout: Option<Duration>,
) -> (PgPair, Inventory<PgStore>) {
    let pair = tokio::task::spawn_blocking(PgPair::start)
        .await
        .expect("start the pair");
    let store = PgStore::connect_with(&PgPair::url(), pool_options(), Some("inventory"))
        .await
        .expect("connect to the pair")
        .with_commit_timeout(commit_timeout);
    store.migrate().await.expect("migrate");
    let inventory = Inventory::new(store);
    inventory
        .receive(sku(name), loc("W"), qty(5))
        .await
        .expect("receive");
    let pair = tokio::task::spawn_blocking(move || {
        pair.stop_standby();
        pair
    })
    .await
    .expect("stop the standby");
    (pair, inventory)
}

/// A commit whose wait for the synchronous standby is cancelled succeeds on the
/// primary with only a WARNING; the store reports it unknown, not acknowledged, and
/// the order sent again applies once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_standby_wait_is_cancelled_is_not_acknowledged() {
    if PgPair::available().is_err() {
        return;
    }
    let _one_at_a_time = ONE_PAIR.lock().await;
    let (pair, inventory) = stocked_without_standby("SYNC", Some(COMMIT_TIMEOUT)).await;

    let order = || {
        ReserveRequest::new(
            OrderId::new("sync-1").expect("order id"),
            vec![OrderLine::new(sku("SYNC"), qty(2))],
        )
    };
    let waiting = {
        let inventory = inventory.clone();
        tokio::spawn(async move { inventory.reserve(order()).await })
    };
    // The commit waits for the standby that is gone; an operator (or a tool that
    // cancels long statements) cancels it.
    let cancelled = tokio::task::spawn_blocking(|| {
        for _ in 0..100 {
            let found = psql(
                PG_PRIMARY_PORT,
                "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity \
                 WHERE wait_event = 'SyncRep'",
            );
            if found.as_deref().is_some_and(|count| count != "0") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    })
    .await
    .expect("cancel");
    assert!(cancelled, "a commit waited for the standby");
    let answer = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the reserve answered once cancelled")
        .expect("reserve task");
    match answer {
        Err(inventory_core::Error::Store(StoreError::Unavailable(source))) => assert!(
            source.to_string().contains("synchronous replication"),
            "{source}"
        ),
        other => panic!("a commit not known to be on the standby was answered {other:?}"),
    }

    // It did commit on the primary: sent again (the standby back), it applies once.
    let pair = tokio::task::spawn_blocking(move || {
        pair.start_standby();
        pair
    })
    .await
    .expect("start the standby");
    let again = inventory.reserve(order()).await.expect("sent again");
    assert!(!again.created, "the first send had been applied");
    let stock = inventory.stock(&sku("SYNC")).await.expect("stock");
    assert_eq!(stock.total.reserved, 2, "held once");
    drop(pair);
}

/// With its synchronous standby gone, PostgreSQL waits for ever at commit
/// (`statement_timeout` does not end the wait); the store gives up after its commit
/// timeout and reports the outcome unknown. The standby back, the transaction
/// completes on the server, and the order sent again applies once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_waiting_for_a_missing_standby_is_given_up_on_in_time() {
    if PgPair::available().is_err() {
        return;
    }
    let _one_at_a_time = ONE_PAIR.lock().await;
    let (pair, inventory) =
        stocked_without_standby("WAIT", Some(Duration::from_millis(1_500))).await;
    let order = || {
        ReserveRequest::new(
            OrderId::new("wait-1").expect("order id"),
            vec![OrderLine::new(sku("WAIT"), qty(3))],
        )
    };
    let sent = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(20), inventory.reserve(order()))
        .await
        .expect("the store gave up waiting");
    match answer {
        Err(inventory_core::Error::Store(StoreError::Unavailable(source))) => {
            assert!(
                source.to_string().contains("did not answer within"),
                "{source}"
            );
        }
        other => panic!("a commit still waiting for a standby was answered {other:?}"),
    }
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "gave up within the limit (and the core's retries): {:?}",
        sent.elapsed()
    );
    let pair = tokio::task::spawn_blocking(move || {
        pair.start_standby();
        pair
    })
    .await
    .expect("start the standby");
    let again = tokio::time::timeout(Duration::from_secs(20), inventory.reserve(order()))
        .await
        .expect("answered with the standby back")
        .expect("sent again");
    assert!(
        !again.created,
        "the first send had committed once the standby returned"
    );
    let stock = inventory.stock(&sku("WAIT")).await.expect("stock");
    assert_eq!(stock.total.reserved, 3, "held once");
    drop(pair);
}
