//! The reference service end to end: signed Shopify webhooks, a channel receiving its
//! numbers over HTTP, and 1,000 concurrent buyers for 200 units, on SQLite and on
//! PostgreSQL (when `DATABASE_URL` is set).

use std::sync::atomic::Ordering;
use std::time::Duration;

use inventory_core::{OrderId, ReservationId};
use inventory_examples::service::{sign, ServiceConfig};
use inventory_tests::service::{
    answer, channel_receiver, eventually, open_files_limit, Backend, TestService,
};
use inventory_tests::shopify::{Fault, ShopifyStandIn};
use reqwest::StatusCode;
use serde_json::{json, Value};

inventory_tests::on_every_backend!(
    shopify_webhooks_reserve_once_and_refuse_bad_signatures,
    a_channel_ends_with_the_formula_after_a_burst,
    a_shopify_store_ends_with_the_formula_and_a_refused_one_shows_failing,
    the_rest_of_an_order_life_ends_the_same_in_any_delivery_order,
    a_thousand_buyers_for_two_hundred_units,
    a_redelivered_webhook_is_recognised_after_a_restart,
    a_cancellation_before_the_creation_leaves_nothing_held,
    order_edits_wait_for_their_lines_and_change_nothing_they_cannot_hold,
);

/// `orders/edited` names lines by id alone: an edit before its order's lines are known
/// waits (409 `out_of_order`, nothing changed), is applied once per edit id whatever
/// the webhook id, refuses what stock cannot hold or a quantity of 0 without changing
/// anything, and changes nothing for a cancelled order; malformed bodies are 400.
async fn order_edits_wait_for_their_lines_and_change_nothing_they_cannot_hold(backend: Backend) {
    let Some(service) = with_webhook_secret(backend).await else {
        return;
    };
    service.receive("TEE", "main", 5).await;
    service.receive("MUG", "main", 2).await;
    let edit = |edit: i64, additions: Value, removals: Value| json!({ "order_edit": { "id": edit, "order_id": 8_000, "line_items": { "additions": additions, "removals": removals } } });
    let order = |lines: Value| json!({ "id": 8_000, "line_items": lines });
    let add_tee = edit(8_010, json!([{ "id": 8_101, "delta": 1 }]), json!([]));
    let (status, early) = deliver(&service, "orders/edited", "e-1", &add_tee, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{early}");
    assert_eq!(early["error"], "out_of_order", "{early}");
    assert_eq!(available(&service, "TEE").await, (5, 0, 5));
    let (status, created) = deliver(
        &service,
        "orders/create",
        "c-1",
        &order(json!([{ "id": 8_101, "sku": "TEE", "quantity": 2 }])),
        None,
    )
    .await;
    assert_eq!(
        (status, created["status"].as_str()),
        (StatusCode::OK, Some("applied"))
    );
    // Shopify delivers it again with the same webhook id; a second sending of the same
    // edit under a new webhook id is still applied once.
    for webhook in ["e-1", "e-1-again"] {
        let (status, applied) = deliver(&service, "orders/edited", webhook, &add_tee, None).await;
        assert_eq!(
            (status, applied["status"].as_str()),
            (StatusCode::OK, Some("applied")),
            "{applied}"
        );
        assert_eq!(
            available(&service, "TEE").await,
            (5, 3, 2),
            "2 ordered, 1 added once"
        );
    }
    // A new line is known once `orders/updated` names it.
    let add_mugs = edit(8_011, json!([{ "id": 8_102, "delta": 3 }]), json!([]));
    let (status, early) = deliver(&service, "orders/edited", "e-2", &add_mugs, None).await;
    assert_eq!(
        (status, early["error"].as_str()),
        (StatusCode::CONFLICT, Some("out_of_order")),
        "{early}"
    );
    let updated = order(json!([
        { "id": 8_101, "sku": "TEE", "quantity": 3 },
        { "id": 8_102, "sku": "MUG", "quantity": 3 },
    ]));
    let (status, ignored) = deliver(&service, "orders/updated", "u-1", &updated, None).await;
    assert_eq!(
        (status, ignored["status"].as_str()),
        (StatusCode::OK, Some("ignored")),
        "{ignored}"
    );
    assert_eq!(
        available(&service, "TEE").await,
        (5, 3, 2),
        "an update changes nothing held"
    );
    // 3 mugs asked, 2 on the shelf: refused and acknowledged, nothing held.
    let (status, refused) = deliver(&service, "orders/edited", "e-2", &add_mugs, None).await;
    assert_eq!(
        (status, refused["status"].as_str()),
        (StatusCode::OK, Some("refused")),
        "{refused}"
    );
    assert_eq!(refused["error"], "insufficient_stock", "{refused}");
    assert_eq!(available(&service, "MUG").await, (2, 0, 2));
    let zero = edit(8_012, json!([]), json!([{ "id": 8_101, "delta": 0 }]));
    let (status, refused) = deliver(&service, "orders/edited", "e-3", &zero, None).await;
    assert_eq!(
        (status, refused["status"].as_str()),
        (StatusCode::OK, Some("refused")),
        "{refused}"
    );
    assert_eq!(available(&service, "TEE").await, (5, 3, 2));
    for (webhook, body) in [
        ("e-4", json!({ "id": 8_000 })),
        (
            "e-5",
            edit(8_013, json!([{ "id": -1, "delta": 1 }]), json!([])),
        ),
        (
            "e-6",
            json!({ "order_edit": { "id": 8_014, "order_id": "8000" } }),
        ),
    ] {
        let (status, refused) = deliver(&service, "orders/edited", webhook, &body, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
    }
    // Removing a unit: released. After the order is cancelled, an edit changes nothing.
    let remove_tee = edit(8_015, json!([]), json!([{ "id": 8_101, "delta": 1 }]));
    let (status, applied) = deliver(&service, "orders/edited", "e-7", &remove_tee, None).await;
    assert_eq!(
        (status, applied["status"].as_str()),
        (StatusCode::OK, Some("applied")),
        "{applied}"
    );
    assert_eq!(available(&service, "TEE").await, (5, 2, 3));
    let (status, _) = deliver(&service, "orders/cancelled", "x-1", &order(json!([])), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(available(&service, "TEE").await, (5, 0, 5));
    let late = edit(8_016, json!([{ "id": 8_101, "delta": 2 }]), json!([]));
    let (status, refused) = deliver(&service, "orders/edited", "e-8", &late, None).await;
    assert_eq!(
        (status, refused["status"].as_str()),
        (StatusCode::OK, Some("refused")),
        "{refused}"
    );
    assert_eq!(refused["error"], "invalid_state", "{refused}");
    assert_eq!(available(&service, "TEE").await, (5, 0, 5));
    let metrics = service.metrics().await;
    for wanted in [
        "inventory_webhooks_total{topic=\"orders/edited\",status=\"applied\"} 3",
        "inventory_webhooks_total{topic=\"orders/updated\",status=\"ignored\"} 1",
    ] {
        assert!(metrics.contains(wanted), "{wanted} missing in {metrics}");
    }
    service.stop().await;
}

/// `orders/cancelled` delivered before its `orders/create` leaves a tombstone: the late
/// create holds nothing, even after a restart.
async fn a_cancellation_before_the_creation_leaves_nothing_held(backend: Backend) {
    let config =
        || ServiceConfig::parse(&format!("shopify_webhook_secret = \"{SECRET}\"")).expect("config");
    let Some(service) = backend.start(config()).await else {
        return;
    };
    service.receive("TEE", "main", 10).await;
    let order = shopify_order(7_001, &[(Some("TEE"), 3)]);
    let (status, cancelled) = deliver(&service, "orders/cancelled", "w-c", &order, None).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (StatusCode::OK, Some("tombstoned"))
    );
    let service = service.restart(config()).await;
    let (status, created) = deliver(&service, "orders/create", "w-a", &order, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (created["status"].as_str(), created["error"].as_str()),
        (Some("refused"), Some("cancelled")),
        "{created}"
    );
    assert_eq!(available(&service, "TEE").await, (10, 0, 10));
    let other = shopify_order(7_002, &[(Some("TEE"), 1)]);
    let (_, held) = deliver(&service, "orders/create", "w-b", &other, None).await;
    assert_eq!(
        held["status"].as_str(),
        Some("applied"),
        "other orders still hold"
    );
    service.stop().await;
}

/// A webhook id applied before a restart is recognised by the new process (the store's
/// inbox), not applied or re-decided again.
async fn a_redelivered_webhook_is_recognised_after_a_restart(backend: Backend) {
    let config =
        || ServiceConfig::parse(&format!("shopify_webhook_secret = \"{SECRET}\"")).expect("config");
    let Some(service) = backend.start(config()).await else {
        return;
    };
    service.receive("TEE", "main", 10).await;
    let order = shopify_order(9_001, &[(Some("TEE"), 2)]);
    let (status, first) = deliver(&service, "orders/create", "w-9001", &order, None).await;
    assert_eq!(
        (status, first["status"].as_str()),
        (StatusCode::OK, Some("applied"))
    );
    let service = service.restart(config()).await;
    let (status, again) = deliver(&service, "orders/create", "w-9001", &order, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        again,
        json!({ "status": "duplicate", "webhook_id": "w-9001" }),
        "recognised by its id, not re-decided"
    );
    assert_eq!(available(&service, "TEE").await, (10, 2, 8));
    service.stop().await;
}

const SECRET: &str = "shpss_test_secret";

async fn available(service: &TestService, sku: &str) -> (i64, i64, i64) {
    let (_, stock) = service.get(&format!("/v1/stock/{sku}")).await;
    let number = |name: &str| stock[name].as_i64().expect("number");
    (number("on_hand"), number("reserved"), number("available"))
}

/// Delivers a webhook as Shopify does; `signature` overrides the right one.
/// The service on `backend` with the Shopify webhook secret [`SECRET`] (`None` when the
/// backend is not available here).
async fn with_webhook_secret(backend: Backend) -> Option<TestService> {
    let config = format!("shopify_webhook_secret = \"{SECRET}\"");
    backend
        .start(ServiceConfig::parse(&config).expect("config"))
        .await
}

async fn deliver(
    service: &TestService,
    topic: &str,
    webhook_id: &str,
    body: &Value,
    signature: Option<&str>,
) -> (StatusCode, Value) {
    let raw = serde_json::to_vec(body).expect("body");
    let right = sign(SECRET.as_bytes(), &raw);
    let mut request = service
        .client
        .post(service.url("/v1/webhooks/shopify"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", topic)
        .header("x-shopify-webhook-id", webhook_id)
        .header("x-shopify-shop-domain", "test-shop.myshopify.com");
    match signature {
        Some("") => {}
        Some(wrong) => request = request.header("x-shopify-hmac-sha256", wrong),
        None => request = request.header("x-shopify-hmac-sha256", right),
    }
    answer(request.body(raw).send().await.expect("delivery")).await
}

fn shopify_order(id: u64, lines: &[(Option<&str>, i64)]) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity, "price": "19.90", "title": "Tee" }))
        .collect();
    json!({ "id": id, "name": format!("#{id}"), "currency": "EUR", "line_items": items })
}

async fn shopify_webhooks_reserve_once_and_refuse_bad_signatures(backend: Backend) {
    let Some(service) = with_webhook_secret(backend).await else {
        return;
    };
    service.receive("TEE", "main", 10).await;
    service.receive("MUG", "main", 5).await;
    let order = shopify_order(
        4_501,
        &[
            (Some("TEE"), 2),
            (None, 1),
            (Some("TEE"), 1),
            (Some("MUG"), 1),
        ],
    );

    // Wrong, malformed and missing signatures: 401, nothing changes.
    let tampered = sign(
        b"another secret",
        &serde_json::to_vec(&order).expect("body"),
    );
    for signature in [tampered.as_str(), "not base64!", ""] {
        let (status, error) =
            deliver(&service, "orders/create", "w-0", &order, Some(signature)).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized"))
        );
    }
    assert_eq!(available(&service, "TEE").await, (10, 0, 10));

    // An id outside Shopify's (a positive 64-bit signed integer) is refused with 400
    // whatever the topic, as the document says, and changes nothing.
    for id in [json!(9_223_372_036_854_775_808_u64), json!(-1)] {
        for topic in ["orders/create", "products/update"] {
            let mut odd = order.clone();
            odd["id"] = id.clone();
            let (status, error) = deliver(&service, topic, "w-odd", &odd, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{topic} {id}: {error}");
        }
    }
    assert_eq!(available(&service, "TEE").await, (10, 0, 10));

    let (status, applied) = deliver(&service, "orders/create", "w-1", &order, None).await;
    assert_eq!(
        (status, applied["status"].as_str()),
        (StatusCode::OK, Some("applied")),
        "{applied}"
    );
    assert_eq!(applied["reservation"]["order_id"], "shopify:4501");
    assert_eq!(
        available(&service, "TEE").await,
        (10, 3, 7),
        "two TEE lines merged, the SKU-less line skipped"
    );
    assert_eq!(available(&service, "MUG").await, (5, 1, 4));

    // The same webhook id again, and the same order under a new id: applied once.
    let (status, again) = deliver(&service, "orders/create", "w-1", &order, None).await;
    assert_eq!(
        (status, again["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    let (status, again) = deliver(&service, "orders/create", "w-2", &order, None).await;
    assert_eq!(
        (status, again["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    assert_eq!(available(&service, "TEE").await, (10, 3, 7));

    // Fulfilled commits and ships; cancelled releases another order.
    let (status, shipped) = deliver(&service, "orders/fulfilled", "w-3", &order, None).await;
    assert_eq!(
        (status, shipped["reservation"]["status"].as_str()),
        (StatusCode::OK, Some("shipped")),
        "{shipped}"
    );
    assert_eq!(available(&service, "TEE").await, (7, 0, 7));
    let (_, again) = deliver(&service, "orders/fulfilled", "w-4", &order, None).await;
    assert_eq!(again["status"], "duplicate");
    assert_eq!(available(&service, "TEE").await, (7, 0, 7));

    let second = shopify_order(4_502, &[(Some("TEE"), 4)]);
    deliver(&service, "orders/create", "w-5", &second, None).await;
    assert_eq!(available(&service, "TEE").await, (7, 4, 3));
    let (status, released) = deliver(&service, "orders/cancelled", "w-6", &second, None).await;
    assert_eq!(
        (status, released["reservation"]["status"].as_str()),
        (StatusCode::OK, Some("released"))
    );
    assert_eq!(available(&service, "TEE").await, (7, 0, 7));

    // An order the stock cannot cover is acknowledged as refused, with the reason.
    let big = shopify_order(4_503, &[(Some("TEE"), 50)]);
    let (status, refused) = deliver(&service, "orders/create", "w-7", &big, None).await;
    assert_eq!(
        (
            status,
            refused["status"].as_str(),
            refused["error"].as_str()
        ),
        (StatusCode::OK, Some("refused"), Some("insufficient_stock"))
    );
    let (status, ignored) = deliver(&service, "products/update", "w-8", &big, None).await;
    assert_eq!(
        (status, ignored["status"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );

    // A body over 1 MiB is refused before it is read whole.
    let huge = json!({ "id": 1, "line_items": [], "note": "x".repeat(1_100_000) });
    let raw = serde_json::to_vec(&huge).expect("body");
    let response = service
        .client
        .post(service.url("/v1/webhooks/shopify"))
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-webhook-id", "w-9")
        .header("x-shopify-hmac-sha256", sign(SECRET.as_bytes(), &raw))
        .body(raw)
        .send()
        .await
        .expect("delivery");
    assert_eq!(response.status().as_u16(), 413);
    let (status, malformed) = deliver(
        &service,
        "orders/create",
        "w-10",
        &json!({ "id": "x" }),
        None,
    )
    .await;
    assert_eq!(
        (status, malformed["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    assert_eq!(available(&service, "TEE").await, (7, 0, 7));
    let metrics = service.metrics().await;
    for line in [
        "inventory_webhooks_total{topic=\"orders/create\",status=\"unauthorized\"} 3",
        "inventory_webhooks_total{topic=\"orders/create\",status=\"applied\"} 2",
        "inventory_webhooks_total{topic=\"orders/create\",status=\"duplicate\"} 2",
        "inventory_webhooks_total{topic=\"orders/create\",status=\"refused\"} 1",
        "inventory_webhooks_total{topic=\"other\",status=\"ignored\"} 1",
        "inventory_reservations_total{result=\"accepted\",source=\"shopify\"} 2",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
    service.stop().await;
}

/// Waits until a channel (buffer 0.9, 2 safety units) holds its formula for `sku`, as
/// `holds` reads it; answers the formula.
async fn told_the_formula(
    service: &TestService,
    sku: &str,
    holds: impl Fn(&str) -> Option<i64>,
) -> i64 {
    let (_, _, left) = available(service, sku).await;
    let formula = ((left - 2).max(0) * 9) / 10;
    let told = eventually(Duration::from_secs(20), async || {
        holds(sku) == Some(formula)
    })
    .await;
    assert!(
        told,
        "{sku}: the channel holds {:?}, the formula says {formula}",
        holds(sku)
    );
    formula
}

async fn a_channel_ends_with_the_formula_after_a_burst(backend: Backend) {
    // The receiver refuses its first two pushes: the worker retries with backoff.
    let (url, received) = channel_receiver(2).await;
    let config = format!(
        "sync_tick_ms = 100\n[[channels]]\nname = \"shop\"\nbuffer = 0.9\nsafety_units = 2\nwebhook = \"{url}\"\n"
    );
    let Some(service) = backend
        .start(ServiceConfig::parse(&config).expect("config"))
        .await
    else {
        return;
    };
    service.receive("TEE", "main", 143).await;
    service.receive("CAP", "main", 40).await;
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..60_i64 {
        let (client, url) = (service.client.clone(), service.url("/v1/reservations"));
        burst.spawn(async move {
            let sku = if n % 3 == 0 { "CAP" } else { "TEE" };
            let body = json!({ "order_id": format!("burst-{n}"), "lines": [{ "sku": sku, "quantity": 1 + n % 2 }] });
            client.post(url).json(&body).send().await.expect("request").status()
        });
    }
    let statuses = burst.join_all().await;
    assert!(
        statuses.iter().all(|status| *status == StatusCode::CREATED),
        "{statuses:?}"
    );

    for sku in ["TEE", "CAP"] {
        let formula = told_the_formula(&service, sku, |sku| received.last(sku)).await;
        let settled = eventually(Duration::from_secs(10), async || {
            let (_, status) = service.get(&format!("/v1/channels/shop/stock/{sku}")).await;
            status["quantity"].as_i64() == Some(formula) && status["pending"] == false
        })
        .await;
        assert!(
            settled,
            "{sku}: the status endpoint never showed {formula}, settled"
        );
    }
    assert_eq!(
        received.refuse.load(Ordering::SeqCst),
        0,
        "both refusals were retried"
    );
    let (status, error) = service.get("/v1/channels/amazon/stock/TEE").await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let metrics = service.metrics().await;
    assert!(
        metrics.contains("inventory_sync_failures_total{channel=\"shop\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("inventory_sync_pushes_total{channel=\"shop\"}"),
        "{metrics}"
    );
    service.stop().await;
}

/// Two Shopify stores as channels (local stand-ins of the Admin GraphQL API): the one
/// whose token is right ends at the formula through throttling and a 503; the one that
/// refuses its token shows failing in the status endpoint and in `/metrics`.
async fn a_shopify_store_ends_with_the_formula_and_a_refused_one_shows_failing(backend: Backend) {
    let store = ShopifyStandIn::start("shpat_right").await;
    let refusing = ShopifyStandIn::start("shpat_other").await;
    for sku in ["TEE", "CAP"] {
        store.add_item(sku, 0);
        refusing.add_item(sku, 0);
    }
    store.bucket(30.0, 200.0, 30.0);
    store.fault(&[Fault::Unavailable]);
    let channel = |name: &str, url: &str| {
        format!(
            "[[channels]]\nname = \"{name}\"\nbuffer = 0.9\nsafety_units = 2\n\
             [channels.shopify]\napi_url = \"{url}\"\nlocation_id = \"1001\"\n\
             access_token = \"shpat_right\"\ntimeout_seconds = 2\n"
        )
    };
    let config = format!(
        "sync_tick_ms = 50\n{}{}",
        channel("shopify", store.url()),
        channel("wholesale", refusing.url())
    );
    let Some(service) = backend
        .start(ServiceConfig::parse(&config).expect("config"))
        .await
    else {
        return;
    };
    service.receive("TEE", "main", 143).await;
    service.receive("CAP", "main", 40).await;
    for n in 0..20_i64 {
        let sku = if n % 3 == 0 { "CAP" } else { "TEE" };
        let (status, _) = service
            .post(
                "/v1/reservations",
                json!({ "order_id": format!("s-{n}"), "lines": [{ "sku": sku, "quantity": 1 + n % 2 }] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    for sku in ["TEE", "CAP"] {
        let formula = told_the_formula(&service, sku, |sku| store.available(sku)).await;
        let settled = eventually(Duration::from_secs(10), async || {
            let (_, status) = service
                .get(&format!("/v1/channels/shopify/stock/{sku}"))
                .await;
            // Not `pending == false`: a dirty mark is per SKU, and the failing
            // channel keeps it.
            status["quantity"].as_i64() == Some(formula) && status["failing"].is_null()
        })
        .await;
        assert!(settled, "{sku}: the status endpoint never showed {formula}");
        let (_, status) = service
            .get(&format!("/v1/channels/wholesale/stock/{sku}"))
            .await;
        let failing = status["failing"].as_str().unwrap_or_default();
        assert!(failing.contains("access token"), "{status}");
        assert!(!failing.contains("shpat_right"), "{status}");
        assert_eq!(status["pending"], true, "{status}");
        assert_eq!(refusing.available(sku), Some(0));
    }
    assert_eq!(store.violations(), Vec::<String>::new());
    let metrics = service.metrics().await;
    for wanted in [
        "inventory_sync_pushes_total{channel=\"shopify\"}",
        "inventory_sync_failures_total{channel=\"wholesale\"}",
    ] {
        assert!(metrics.contains(wanted), "{wanted} missing in {metrics}");
    }
    assert!(!metrics.contains("shpat_"), "{metrics}");
    service.stop().await;
}

/// The webhooks of one order's life: created, fulfilled in two parts (one announced
/// again by an update), edited twice (units added to a line and a new line, announced
/// first by `orders/updated`; then units removed), part refunded with `cancel`
/// (unshipped units released) and with `return` (units back on the shelf), a
/// `no_restock` line, a pending fulfillment that succeeds later. Delivered once in
/// order for one order, and in reverse, each twice, retrying every `out_of_order`
/// answer, for another order of the same SKUs under other names: both end with the
/// same stock.
async fn the_rest_of_an_order_life_ends_the_same_in_any_delivery_order(backend: Backend) {
    let Some(service) = with_webhook_secret(backend).await else {
        return;
    };
    let life = |order: u64, prefix: &str| -> Vec<(&'static str, Value)> {
        let sku = |name: &str| format!("{prefix}-{name}");
        // Line item ids: order + 101 (MUG), + 102 (TEE), + 103 (CAP), + 104 (PEN, added).
        let id = |name: &str| {
            order
                + 101
                + ["MUG", "TEE", "CAP", "PEN"]
                    .iter()
                    .position(|n| *n == name)
                    .expect("known") as u64
        };
        let line = |name: &str, quantity: i64| json!({ "id": id(name), "sku": sku(name), "quantity": quantity });
        let refund_line = |name: &str, quantity: i64, restock: &str| json!({ "quantity": quantity, "restock_type": restock, "line_item": line(name, quantity) });
        let fulfillment = |id: u64, status: &str, lines: Vec<Value>| json!({ "id": id, "order_id": order, "status": status, "line_items": lines });
        let refund = |id: u64, lines: Vec<Value>| json!({ "id": id, "order_id": order, "refund_line_items": lines });
        let delta = |name: &str, delta: i64| json!({ "id": id(name), "delta": delta });
        let edit = |edit: u64, additions: Vec<Value>, removals: Vec<Value>| json!({ "order_edit": { "id": edit, "order_id": order, "line_items": { "additions": additions, "removals": removals } } });
        vec![
            (
                "orders/create",
                json!({ "id": order, "line_items": [line("MUG", 4), line("TEE", 3), line("CAP", 1)] }),
            ),
            (
                "fulfillments/create",
                fulfillment(order + 1, "success", vec![line("MUG", 2)]),
            ),
            (
                "fulfillments/update",
                fulfillment(order + 1, "success", vec![line("MUG", 2)]),
            ),
            (
                "orders/updated",
                json!({ "id": order, "line_items": [line("MUG", 4), line("TEE", 5), line("CAP", 1), line("PEN", 3)] }),
            ),
            (
                "orders/edited",
                edit(order + 6, vec![delta("TEE", 2), delta("PEN", 3)], vec![]),
            ),
            (
                "refunds/create",
                refund(
                    order + 2,
                    vec![
                        refund_line("TEE", 1, "cancel"),
                        refund_line("CAP", 1, "no_restock"),
                    ],
                ),
            ),
            (
                "orders/edited",
                edit(order + 7, vec![], vec![delta("PEN", 1)]),
            ),
            (
                "fulfillments/create",
                fulfillment(
                    order + 3,
                    "success",
                    vec![line("MUG", 2), line("TEE", 4), line("PEN", 2)],
                ),
            ),
            (
                "refunds/create",
                refund(order + 4, vec![refund_line("MUG", 1, "return")]),
            ),
            (
                "fulfillments/create",
                fulfillment(order + 5, "pending", vec![line("CAP", 1)]),
            ),
            (
                "fulfillments/update",
                fulfillment(order + 5, "success", vec![line("CAP", 1)]),
            ),
        ]
    };
    for prefix in ["A", "B"] {
        for (name, units) in [("MUG", 10), ("TEE", 10), ("CAP", 5), ("PEN", 10)] {
            service
                .receive(&format!("{prefix}-{name}"), "main", units)
                .await;
        }
    }
    // Once, in order: every delivery is applied or ignored at once.
    for (index, (topic, body)) in life(5_000, "A").into_iter().enumerate() {
        let (status, answer) = deliver(&service, topic, &format!("a-{index}"), &body, None).await;
        assert_eq!(status, StatusCode::OK, "{topic}: {answer}");
        assert_ne!(answer["status"], "refused", "{topic}: {answer}");
    }
    // In reverse, each twice, `out_of_order` answers delivered again later.
    let mut queue: std::collections::VecDeque<(usize, &str, Value)> = life(6_000, "B")
        .into_iter()
        .enumerate()
        .rev()
        .map(|(index, (topic, body))| (index, topic, body))
        .collect();
    let mut rounds = 0;
    while let Some((index, topic, body)) = queue.pop_front() {
        rounds += 1;
        assert!(rounds < 100, "deliveries never settled");
        let id = format!("b-{index}");
        let (status, answer) = deliver(&service, topic, &id, &body, None).await;
        if status == StatusCode::CONFLICT {
            assert_eq!(answer["error"], "out_of_order", "{topic}: {answer}");
            queue.push_back((index, topic, body));
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{topic}: {answer}");
        let (status, again) = deliver(&service, topic, &id, &body, None).await;
        assert_eq!(
            (status, again["status"].as_str()),
            (StatusCode::OK, Some("duplicate"))
        );
    }
    for name in ["MUG", "TEE", "CAP", "PEN"] {
        let once = available(&service, &format!("A-{name}")).await;
        let shuffled = available(&service, &format!("B-{name}")).await;
        assert_eq!(once, shuffled, "{name}");
    }
    assert_eq!(
        available(&service, "A-MUG").await,
        (7, 0, 7),
        "4 shipped, 1 back"
    );
    assert_eq!(
        available(&service, "A-TEE").await,
        (6, 0, 6),
        "3 ordered and 2 added by the edit: 4 shipped, 1 released"
    );
    assert_eq!(
        available(&service, "A-PEN").await,
        (8, 0, 8),
        "3 added by the edit: 1 removed by the next, 2 shipped"
    );
    assert_eq!(
        available(&service, "A-CAP").await,
        (4, 0, 4),
        "shipped once it succeeded"
    );
    for order in ["shopify:5000", "shopify:6000"] {
        let id = ReservationId::for_order(&OrderId::new(order).expect("order id"));
        let (status, reservation) = service.get(&format!("/v1/reservations/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reservation["status"], "shipped", "{reservation}");
    }
    service.stop().await;
}

async fn a_thousand_buyers_for_two_hundred_units(backend: Backend) {
    let Some(service) = backend.start(ServiceConfig::default()).await else {
        return;
    };
    service.receive("HOT", "main", 200).await;
    // Each request holds a client and a server socket in this process.
    let parallel = match open_files_limit() {
        Some(limit) if limit < 2_600 => {
            inventory_tests::loud(&format!(
                "open-file limit {limit}: the 1,000 buyers run {} at a time",
                (limit / 4).max(16)
            ));
            usize::try_from((limit / 4).max(16)).unwrap_or(16)
        }
        _ => 1_000,
    };
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut buyers = tokio::task::JoinSet::new();
    for n in 0..1_000 {
        let (client, url, gate) = (
            service.client.clone(),
            service.url("/v1/reservations"),
            gate.clone(),
        );
        buyers.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("gate");
            let body = json!({ "order_id": format!("buyer-{n}"), "lines": [{ "sku": "HOT", "quantity": 1 }] });
            answer(client.post(url).json(&body).send().await.expect("request")).await
        });
    }
    let (mut created, mut refused) = (0, 0);
    while let Some(result) = buyers.join_next().await {
        let (status, body) = result.expect("buyer");
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT if body["error"] == "insufficient_stock" => refused += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, refused), (200, 800));
    assert_eq!(available(&service, "HOT").await, (200, 200, 0));
    service.stop().await;
}
