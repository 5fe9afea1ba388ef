//! The Galera drill: a three-node MariaDB Galera cluster on ports of its own; writers
//! through the library on all three nodes race for a hot SKU and for 1,000 spread
//! SKUs; one node is killed with SIGKILL part way and restarted. Afterwards every node
//! holds every acknowledged reservation, no SKU is oversold, the ledger replays to the
//! rows, and the cluster is three nodes again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::Inventory;
use inventory_sqlx::MySqlStore;
use inventory_tests::cluster::{Galera, GALERA_PORTS};
use inventory_tests::drill::{self, Plan, Progress, Via};
use tracing_subscriber::layer::SubscriberExt;

/// Counts the core's reruns of a unit (a Galera certification failure, a deadlock, a
/// lost connection), from its `debug` event.
struct Reruns(Arc<AtomicU64>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Reruns {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(bool);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}").contains("running it again");
                }
            }
        }
        let mut message = Message(false);
        event.record(&mut message);
        if message.0 {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn pool_options() -> inventory_sqlx::sqlx::mysql::MySqlPoolOptions {
    MySqlStore::pool_options()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(3))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_dies_mid_load_and_every_node_ends_whole() {
    if Galera::available().is_err() {
        return;
    }
    let reruns = Arc::new(AtomicU64::new(0));
    let subscriber = tracing_subscriber::registry()
        .with(Reruns(Arc::clone(&reruns)))
        .with(
            tracing_subscriber::filter::Targets::new()
                .with_target("inventory_core", tracing::Level::DEBUG),
        );
    tracing::subscriber::set_global_default(subscriber).expect("one subscriber");

    let started = Instant::now();
    let mut cluster = tokio::task::spawn_blocking(Galera::start)
        .await
        .expect("start the cluster");
    let up = started.elapsed();

    // One store per node, each naming the other two after it; with
    // DRILL_ONE_WRITER_NODE=1, every store names the same order (the recommended
    // deployment: one node takes the writes).
    let one_writer_node = std::env::var("DRILL_ONE_WRITER_NODE").is_ok();
    let orders = if one_writer_node {
        [[0, 1, 2]; 3]
    } else {
        [[0, 1, 2], [1, 2, 0], [2, 0, 1]]
    };
    let mut stores = Vec::new();
    for order in orders {
        let store = MySqlStore::connect_with(&Galera::url(&order), pool_options(), "drill")
            .await
            .expect("connect to a node");
        assert!(
            store.sends_one_statement_per_trip(),
            "a Galera node is recognised"
        );
        // DRILL_MULTI_STATEMENT=1 shows what the round trip per statement prevents.
        let store = if std::env::var("DRILL_MULTI_STATEMENT").is_ok() {
            store.one_statement_per_trip(false)
        } else {
            store
        };
        assert!(
            store.server().contains(&GALERA_PORTS[order[0]].to_string()),
            "{} prefers node {}",
            store.server(),
            order[0] + 1
        );
        stores.push(store);
    }
    stores[0].migrate().await.expect("migrate");
    let handles: Vec<Inventory<MySqlStore>> = stores.iter().cloned().map(Inventory::new).collect();
    let plan = Plan {
        orders: 3_000,
        hot: 300,
        spread: 1_000,
    };
    plan.stock(&handles[0]).await;

    let progress = Arc::new(Progress::default());
    let writers = {
        let via: Vec<Via<MySqlStore>> = handles.iter().cloned().map(Via::Library).collect();
        let progress = Arc::clone(&progress);
        tokio::spawn(async move {
            drill::write(&via, plan, 12, progress, Duration::from_secs(60)).await
        })
    };
    progress.reached(plan.orders / 3).await;
    // Node 2, or the node taking every write.
    let victim = if one_writer_node { 0 } else { 1 };
    cluster = tokio::task::spawn_blocking(move || {
        cluster.kill(victim);
        cluster
    })
    .await
    .expect("kill a node");
    let killed_at = Instant::now();
    progress.reached(plan.orders * 2 / 3).await;
    let (cluster, rejoined) = tokio::task::spawn_blocking(move || {
        let took = cluster.restart(victim);
        (cluster, took)
    })
    .await
    .expect("restart the node");
    let load = tokio::time::timeout(Duration::from_secs(90), writers)
        .await
        .expect("writers finished within 90 s")
        .expect("writers");
    let resumed = drill::resumed_after(&load, killed_at);
    for store in &stores {
        assert!(
            !store.server().contains(&GALERA_PORTS[victim].to_string()),
            "the victim's writers moved: {}",
            store.server()
        );
    }
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.wait_whole();
        cluster.causal_reads();
        cluster
    })
    .await
    .expect("a cluster of 3 again");

    // What each node holds, read through a store on that node alone.
    let mut found_everywhere = usize::MAX;
    let mut lost = Vec::new();
    for (node, port) in GALERA_PORTS.iter().enumerate() {
        let node_url = format!("mysql://root@127.0.0.1:{port}");
        let alone = MySqlStore::connect_in(&node_url, "drill")
            .await
            .expect("connect to one node");
        let found = drill::check(&alone, &load).await;
        lost.push(found.lost.clone());
        assert_eq!(found.oversold, 0, "node {}", node + 1);
        assert!(
            found.violations.is_empty(),
            "node {}: {:?}",
            node + 1,
            found.violations
        );
        assert_eq!(found.hot_reserved, plan.hot, "node {}", node + 1);
        found_everywhere = found_everywhere.min(found.found);
    }
    assert!(lost.iter().all(Vec::is_empty), "lost, by node: {lost:?}");
    let retries = reruns.load(Ordering::Relaxed) + load.resent;
    println!(
        "drill galera: acknowledged={} found={found_everywhere} oversold=0 retries={retries} \
         seconds={:.1} (cluster up in {:.1} s, writes resumed {resumed:.2} s after the kill, \
         node rejoined in {:.1} s, unknown={} applied_earlier={} refused={})",
        load.acknowledged.len(),
        started.elapsed().as_secs_f64(),
        up.as_secs_f64(),
        rejoined.as_secs_f64(),
        load.unknown,
        load.applied_earlier,
        load.refused,
    );
    assert_eq!(load.acknowledged.len() + load.refused, plan.orders);
    assert_eq!(
        load.hot_acknowledged as i64, plan.hot,
        "HOT sold out exactly"
    );
    drop(cluster);
}
