//! The PostgreSQL failover drill: a primary with a synchronous standby
//! (`remote_apply`) on ports of its own; writers reserve through a store given both
//! servers; the primary is killed with SIGKILL part way and the standby promoted; the
//! store moves to it without a restart. Every acknowledged reservation must be on the
//! promoted standby, every order whose outcome was unknown applied once, and every
//! invariant must hold there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::Inventory;
use inventory_examples::service::{start, ServiceConfig};
use inventory_sqlx::PgStore;
use inventory_tests::cluster::{PgPair, PG_STANDBY_PORT};
use inventory_tests::drill::{self, Plan, Progress, Via};

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
