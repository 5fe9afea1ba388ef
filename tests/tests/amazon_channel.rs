//! The Amazon channel adapter against a local stand-in of the Selling Partner API that
//! checks every request and answers as Amazon does (refresh-token exchange, expired
//! tokens, `429` with its rate and `Retry-After`, `404` for an unlisted SKU, 5xx): the
//! quantities Amazon ends with are the buffered formula, and the stand-in saw no
//! request outside the documented shapes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::sync::{Buffer, ChannelPolicy, SyncWorker};
use inventory_core::testkit::{loc, order, qty, sku};
use inventory_core::{Inventory, MemoryStore};
use inventory_examples::service::channel_amazon::{AmazonChannel, AmazonConfig};
use inventory_examples::service::channel_shopify::Secret;
use inventory_tests::amazon::{
    AmazonStandIn, CLIENT_ID, CLIENT_SECRET, MARKETPLACE, REFRESH_TOKEN, SELLER,
};
use inventory_tests::channels;
use reqwest::StatusCode;

fn policy() -> ChannelPolicy {
    ChannelPolicy::buffered(Buffer::decimal("0.8").unwrap())
        .with_safety_units(2)
        .with_cap(500)
}

fn config(stand_in: &AmazonStandIn, rate: f64, refresh_token: &str) -> AmazonConfig {
    AmazonConfig {
        seller_id: SELLER.to_owned(),
        marketplace_ids: vec![MARKETPLACE.to_owned()],
        endpoint: Some(stand_in.endpoint().to_owned()),
        token_url: Some(stand_in.token_url()),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        refresh_token: Some(Secret::new(refresh_token)),
        fulfillment_channel_code: None,
        requests_per_second: Some(rate),
        timeout_seconds: Some(1.0),
    }
}

fn worker(inventory: &Inventory<MemoryStore>, config: &AmazonConfig) -> SyncWorker<MemoryStore> {
    let channel = AmazonChannel::new("amazon", config, Arc::default()).unwrap();
    SyncWorker::builder(inventory.clone())
        .channel("amazon", policy(), channel)
        .unwrap()
        .config(channels::FAST)
        .build()
}

async fn settle(
    inventory: &Inventory<MemoryStore>,
    worker: &SyncWorker<MemoryStore>,
    stand_in: &AmazonStandIn,
    names: &[String],
) {
    channels::settle(inventory, worker, &policy(), names, |name| {
        stand_in.quantity(name)
    })
    .await;
}

async fn stocked(stand_in: &AmazonStandIn, count: usize) -> (Inventory<MemoryStore>, Vec<String>) {
    let inventory = Inventory::new(MemoryStore::new());
    let names: Vec<String> = (0..count).map(|i| format!("ASIN-SKU-{i:02}")).collect();
    for (index, name) in names.iter().enumerate() {
        stand_in.list(name, 0);
        let units = 30 + 40 * i64::try_from(index).unwrap();
        inventory
            .receive(sku(name), loc("main"), qty(units))
            .await
            .unwrap();
    }
    (inventory, names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_burst_amazon_holds_the_buffered_formula() {
    let stand_in = AmazonStandIn::start().await;
    stand_in.rate(200.0, 10.0, None);
    let (inventory, names) = stocked(&stand_in, 15).await;
    inventory
        .receive(sku("NOT-LISTED"), loc("main"), qty(9))
        .await
        .unwrap();
    let worker = worker(&inventory, &config(&stand_in, 200.0, REFRESH_TOKEN));
    settle(&inventory, &worker, &stand_in, &names).await;
    // The cap: 30 + 40 * 14 = 590 units, 0.8 of 588 is 470; the largest SKU's share is
    // below 500, so cap a bigger one to check it.
    inventory
        .receive(sku(&names[14]), loc("main"), qty(1_000))
        .await
        .unwrap();

    stand_in.fault(&[StatusCode::SERVICE_UNAVAILABLE, StatusCode::BAD_GATEWAY]);
    let mut tasks = Vec::new();
    for index in 0..45_usize {
        let inventory = inventory.clone();
        let name = names[index % names.len()].clone();
        tasks.push(tokio::spawn(async move {
            let units = i64::try_from(index % 4).unwrap() + 1;
            let reserved = inventory
                .reserve(order(&format!("amz-{index}"), &[(&name, units)]))
                .await
                .unwrap();
            if index % 3 == 0 {
                inventory.release(reserved.reservation.id).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Mid-way every token expires: the adapter exchanges its refresh token again.
    stand_in.expire_tokens();
    settle(&inventory, &worker, &stand_in, &names).await;

    assert_eq!(stand_in.quantity(&names[14]), Some(500), "capped");
    assert_eq!(
        stand_in.quantity("NOT-LISTED"),
        None,
        "skipped, not created"
    );
    assert_eq!(
        stand_in.exchanges(),
        2,
        "one exchange, then one after the expiry"
    );
    assert_eq!(stand_in.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_its_retry_after_and_the_rate_it_names_is_kept() {
    let stand_in = AmazonStandIn::start().await;
    // Amazon allows 20 calls a second with a burst of 3; the adapter was told 200.
    stand_in.rate(20.0, 3.0, Some(Duration::from_secs(1)));
    let (inventory, names) = stocked(&stand_in, 12).await;
    let worker = worker(&inventory, &config(&stand_in, 200.0, REFRESH_TOKEN));
    let started = Instant::now();
    settle(&inventory, &worker, &stand_in, &names).await;
    let elapsed = started.elapsed();
    assert_eq!(
        stand_in.violations(),
        Vec::<String>::new(),
        "no call before Retry-After"
    );
    assert_eq!(
        stand_in.throttled(),
        1,
        "after the first 429 the adapter paces itself to the rate Amazon named"
    );
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_token_fails_the_channel_without_naming_a_secret() {
    let stand_in = AmazonStandIn::start().await;
    let (inventory, names) = stocked(&stand_in, 2).await;
    let wrong = "Atzr|revoked-refresh-token";
    let worker = worker(&inventory, &config(&stand_in, 200.0, wrong));
    worker.run_until_idle().await.unwrap();
    let status = worker.status("amazon", &sku(&names[0])).await.unwrap();
    let failing = status.failing.expect("the channel is failing");
    assert!(failing.contains("refresh-token exchange"), "{failing}");
    for secret in [wrong, CLIENT_SECRET] {
        assert!(!failing.contains(secret), "{failing}");
    }
    assert_eq!(stand_in.quantity(&names[0]), Some(0));
    assert_eq!(stand_in.exchanges(), 0);
}
