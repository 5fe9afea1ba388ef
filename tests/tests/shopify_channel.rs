//! The Shopify channel adapter against a local stand-in of the Admin GraphQL API that
//! checks every request and answers as Shopify does (stale compare-and-set, throttling,
//! 5xx, answers slower than the timeout): the numbers Shopify ends with are the
//! buffered formula, and the stand-in saw no request outside the documented shapes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::sync::{Buffer, ChannelPolicy, SyncWorker};
use inventory_core::testkit::{loc, order, qty, sku};
use inventory_core::{
    Disposition, Inventory, MemoryStore, OrderId, ReturnLine, ReturnRequest, TransferRequest,
};
use inventory_examples::service::channel_shopify::{Secret, ShopifyChannel, ShopifyConfig};
use inventory_examples::service::metrics::Metrics;
use inventory_tests::channels;
use inventory_tests::shopify::{Fault, ShopifyStandIn, LOCATION};

const TOKEN: &str = "shpat_stand_in_token_0123";

fn policy() -> ChannelPolicy {
    ChannelPolicy::buffered(Buffer::decimal("0.9").unwrap()).with_safety_units(1)
}

fn config(stand_in: &ShopifyStandIn, token: &str) -> ShopifyConfig {
    ShopifyConfig {
        shop: None,
        api_url: Some(stand_in.url().to_owned()),
        location_id: LOCATION.rsplit('/').next().unwrap().to_owned(),
        access_token: Some(Secret::new(token)),
        access_token_env: None,
        timeout_seconds: Some(0.3),
    }
}

/// A worker whose only channel is the stand-in, resting briefly after a failure.
fn worker(
    inventory: &Inventory<MemoryStore>,
    stand_in: &ShopifyStandIn,
    token: &str,
) -> SyncWorker<MemoryStore> {
    let channel = ShopifyChannel::new("shopify", &config(stand_in, token), Arc::default()).unwrap();
    SyncWorker::builder(inventory.clone())
        .channel("shopify", policy(), channel)
        .unwrap()
        .config(channels::FAST)
        .build()
}

async fn formula(inventory: &Inventory<MemoryStore>, name: &str) -> i64 {
    channels::formula(inventory, &policy(), name).await
}

async fn settle(
    inventory: &Inventory<MemoryStore>,
    worker: &SyncWorker<MemoryStore>,
    stand_in: &ShopifyStandIn,
    names: &[String],
) {
    channels::settle(inventory, worker, &policy(), names, |name| {
        stand_in.available(name)
    })
    .await;
}

fn names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("SKU-{i:02}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_burst_shopify_holds_the_buffered_formula() {
    let stand_in = ShopifyStandIn::start(TOKEN).await;
    let inventory = Inventory::new(MemoryStore::new());
    let skus = names(20);
    for (index, name) in skus.iter().enumerate() {
        stand_in.add_item(name, 3);
        inventory
            .receive(
                sku(name),
                loc("main"),
                qty(40 + i64::try_from(index).unwrap()),
            )
            .await
            .unwrap();
        inventory
            .receive(sku(name), loc("north"), qty(10))
            .await
            .unwrap();
    }
    // Sold here, unknown to Shopify or not stocked at its location: skipped.
    stand_in.add_unstocked("UNSTOCKED");
    for name in ["UNSTOCKED", "NOT-ON-SHOPIFY"] {
        inventory
            .receive(sku(name), loc("main"), qty(5))
            .await
            .unwrap();
    }
    let worker = worker(&inventory, &stand_in, TOKEN);
    settle(&inventory, &worker, &stand_in, &skus).await;

    // The burst: orders, releases, shipments, returns with restock, transfers, while
    // the storefront sells and Shopify fails twice.
    stand_in.fault(&[Fault::Unavailable, Fault::Late(Duration::from_millis(600))]);
    let mut tasks = Vec::new();
    for index in 0..60_usize {
        let inventory = inventory.clone();
        let name = skus[index % skus.len()].clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("o-{index}");
            let units = i64::try_from(index % 3).unwrap() + 1;
            let reserved = inventory.reserve(order(&id, &[(&name, units)])).await;
            let Ok(reserved) = reserved else { return };
            let reservation = reserved.reservation.id;
            match index % 4 {
                0 => {
                    inventory.release(reservation).await.unwrap();
                }
                1 => {
                    inventory.fulfil(reservation).await.unwrap();
                    let line = ReturnLine {
                        sku: sku(&name),
                        quantity: qty(1),
                        disposition: Disposition::Restock,
                        location: None,
                    };
                    let request = ReturnRequest::new(OrderId::new(&id).unwrap(), vec![line]);
                    inventory.record_return(request).await.unwrap();
                }
                _ => {}
            }
        }));
    }
    for (index, name) in skus.iter().enumerate().take(8) {
        let request = TransferRequest {
            sku: sku(name),
            from: loc("main"),
            to: loc("north"),
            quantity: qty(2),
            idempotency_key: None,
        };
        let transfer = inventory.ship_transfer(request).await.unwrap();
        if index % 2 == 0 {
            inventory
                .receive_transfer(transfer.id, None, None)
                .await
                .unwrap();
        }
        // A storefront sale: Shopify's number drops at once, the order webhook
        // reaches the inventory later and holds the unit here too.
        stand_in.sell(name, 1);
        inventory
            .reserve(order(&format!("web-{index}"), &[(name, 1)]))
            .await
            .unwrap();
    }
    for task in tasks {
        task.await.unwrap();
    }
    settle(&inventory, &worker, &stand_in, &skus).await;

    assert_eq!(stand_in.violations(), Vec::<String>::new());
    assert_eq!(stand_in.available("UNSTOCKED"), None, "never stocked there");
    assert!(stand_in.sets("NOT-ON-SHOPIFY").is_empty());
    // Drift the inventory never heard of (an edit in Shopify's admin): the next
    // reconciliation puts the formula back, though the number kept is stale.
    stand_in.sell("SKU-10", 4);
    stand_in.sell("SKU-11", -3);
    worker.reconcile(Some("shopify")).await.unwrap();
    for name in &skus {
        assert_eq!(
            stand_in.available(name),
            Some(formula(&inventory, name).await),
            "{name}"
        );
    }
    assert_eq!(stand_in.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_change_from_is_read_again_and_never_overshoots() {
    let stand_in = ShopifyStandIn::start(TOKEN).await;
    let inventory = Inventory::new(MemoryStore::new());
    stand_in.add_item("TEE", 0);
    inventory
        .receive(sku("TEE"), loc("main"), qty(101))
        .await
        .unwrap();
    let worker = worker(&inventory, &stand_in, TOKEN);
    let names = vec!["TEE".to_owned()];
    settle(&inventory, &worker, &stand_in, &names).await;
    assert_eq!(
        stand_in.available("TEE"),
        Some(90),
        "floor((101 - 1) * 0.9)"
    );

    // The storefront sells 5 (Shopify: 85); the order reaches the inventory as 5 held,
    // and a second order holds 7 more: the formula falls to floor((89 - 1) * 0.9) = 79.
    stand_in.sell("TEE", 5);
    inventory
        .reserve(order("web-1", &[("TEE", 5)]))
        .await
        .unwrap();
    inventory
        .reserve(order("web-2", &[("TEE", 7)]))
        .await
        .unwrap();
    let (mutations_before, _) = stand_in.calls();
    settle(&inventory, &worker, &stand_in, &names).await;
    let (mutations_after, _) = stand_in.calls();

    assert_eq!(stand_in.available("TEE"), Some(79));
    assert_eq!(
        mutations_after - mutations_before,
        2,
        "one refused as stale, one from the number read again"
    );
    assert_eq!(
        stand_in.sets("TEE"),
        vec![90, 79],
        "never above the formula"
    );
    assert_eq!(stand_in.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calls_wait_what_shopify_asks_then_stay_under_the_limit() {
    let stand_in = ShopifyStandIn::start(TOKEN).await;
    // A small bucket, nearly empty: the first call is throttled.
    stand_in.bucket(20.0, 100.0, 5.0);
    let inventory = Inventory::new(MemoryStore::new());
    let skus = names(5);
    for name in &skus {
        stand_in.add_item(name, 0);
        inventory
            .receive(sku(name), loc("main"), qty(50))
            .await
            .unwrap();
    }
    let worker = worker(&inventory, &stand_in, TOKEN);
    let started = Instant::now();
    settle(&inventory, &worker, &stand_in, &skus).await;
    for round in 0..6 {
        let name = &skus[round % skus.len()];
        inventory
            .reserve(order(&format!("r-{round}"), &[(name, 2)]))
            .await
            .unwrap();
        settle(&inventory, &worker, &stand_in, &skus).await;
    }
    let elapsed = started.elapsed();
    let (mutations, searches) = stand_in.calls();
    assert_eq!(
        stand_in.violations(),
        Vec::<String>::new(),
        "no early retry"
    );
    assert_eq!(
        stand_in.throttled(),
        1,
        "after the first answer the adapter waits for the bucket itself"
    );
    // Every call after the first had to wait for the bucket to refill its cost.
    let refills = Duration::from_millis(u64::try_from(10 * (mutations + searches - 1)).unwrap());
    assert!(elapsed >= refills, "{elapsed:?} < {refills:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_outlives_its_timeout_is_sent_again_and_applied_once() {
    let stand_in = ShopifyStandIn::start(TOKEN).await;
    let inventory = Inventory::new(MemoryStore::new());
    stand_in.add_item("MUG", 0);
    inventory
        .receive(sku("MUG"), loc("main"), qty(11))
        .await
        .unwrap();
    let worker = worker(&inventory, &stand_in, TOKEN);
    let names = vec!["MUG".to_owned()];
    // The search answers late once (nothing to apply twice), then a 503.
    stand_in.fault(&[Fault::Late(Duration::from_millis(500)), Fault::Unavailable]);
    settle(&inventory, &worker, &stand_in, &names).await;
    assert_eq!(stand_in.sets("MUG"), vec![9]);
    // The mutation applies, then answers after the caller gave up; its repeat meets a
    // 503, the next repeat is answered from its key: applied once.
    inventory
        .reserve(order("o-1", &[("MUG", 2)]))
        .await
        .unwrap();
    stand_in.fault(&[Fault::Late(Duration::from_millis(500)), Fault::Unavailable]);
    settle(&inventory, &worker, &stand_in, &names).await;
    assert_eq!(stand_in.available("MUG"), Some(7));
    assert_eq!(stand_in.sets("MUG"), vec![9, 7], "applied once");
    assert_eq!(stand_in.calls().0, 2, "one mutation per number");
    assert_eq!(
        stand_in.replays(),
        1,
        "the repeat was answered from its key"
    );
    assert_eq!(stand_in.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_fails_the_channel_without_naming_the_token() {
    let stand_in = ShopifyStandIn::start(TOKEN).await;
    let inventory = Inventory::new(MemoryStore::new());
    stand_in.add_item("CAP", 0);
    inventory
        .receive(sku("CAP"), loc("main"), qty(11))
        .await
        .unwrap();
    let wrong = "shpat_wrong_token_9876";
    let metrics = Arc::new(Metrics::default());
    let channel = ShopifyChannel::new("shopify", &config(&stand_in, wrong), metrics).unwrap();
    let worker = SyncWorker::builder(inventory.clone())
        .channel("shopify", policy(), channel)
        .unwrap()
        .build();
    worker.run_until_idle().await.unwrap();
    let status = worker.status("shopify", &sku("CAP")).await.unwrap();
    let failing = status.failing.expect("the channel is failing");
    assert!(failing.contains("access token"), "{failing}");
    assert!(!failing.contains(wrong), "{failing}");
    assert!(status.pending);
    assert_eq!(stand_in.available("CAP"), Some(0));
}
