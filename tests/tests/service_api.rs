//! The reference service over HTTP, on SQLite and on PostgreSQL (when `DATABASE_URL` is
//! set): every endpoint and every error code of the API contract.

use std::time::Duration;

use inventory_examples::service::ServiceConfig;
use inventory_tests::service::{Backend, TestService};
use reqwest::StatusCode;
use serde_json::{json, Value};

inventory_tests::on_every_backend!(
    stock_endpoints_and_input_errors,
    reservation_lifecycle_and_its_errors,
    holds_expire_and_say_so,
    counts_freeze_and_unfreeze,
    reorder_and_purchase_orders,
    metrics_count_reservations_and_requests,
    an_api_token_guards_the_api,
);

async fn service(backend: Backend, config: &str) -> Option<TestService> {
    backend
        .start(ServiceConfig::parse(config).expect("test config"))
        .await
}

async fn stocked(service: &TestService, sku: &str, location: &str, quantity: i64) {
    let (status, row) = service
        .post(
            "/v1/receipts",
            json!({ "sku": sku, "location": location, "quantity": quantity }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
}

fn order(id: &str, sku: &str, quantity: i64) -> Value {
    json!({ "order_id": id, "lines": [{ "sku": sku, "quantity": quantity }] })
}

async fn stock_endpoints_and_input_errors(backend: Backend) {
    let Some(service) = service(backend, "").await else {
        return;
    };
    let (status, health) = service.get("/healthz").await;
    assert_eq!(
        (status, health["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );

    let (status, row) = service
        .post(
            "/v1/receipts",
            json!({ "sku": "TEE", "location": "main", "quantity": 10 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        row,
        json!({ "sku": "TEE", "location": "main", "on_hand": 10, "reserved": 0,
                "committed": 0, "in_transit": 0, "available": 10 })
    );
    stocked(&service, "TEE", "annex", 5).await;

    let (status, row) = service
        .post(
            "/v1/adjustments",
            json!({ "sku": "TEE", "location": "main", "delta": -3, "reason": "damaged" }),
        )
        .await;
    assert_eq!((status, row["on_hand"].as_i64()), (StatusCode::OK, Some(7)));
    let (status, error) = service
        .post(
            "/v1/adjustments",
            json!({ "sku": "TEE", "location": "main", "delta": -8, "reason": "lost" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"], "insufficient_stock");
    assert_eq!(
        (error["available"].as_i64(), error["requested"].as_i64()),
        (Some(7), Some(8))
    );

    let (status, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["available"].as_i64(),
            stock["frozen"].as_bool()
        ),
        (Some(12), Some(12), Some(false))
    );
    let locations: Vec<_> = stock["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .map(|row| {
            (
                row["location"].as_str().map(str::to_owned),
                row["on_hand"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        locations,
        [
            (Some("annex".to_owned()), Some(5)),
            (Some("main".to_owned()), Some(7))
        ]
    );

    // Every kind of bad input is refused with a typed code and changes nothing.
    let bad_bodies = [
        json!({ "sku": "TEE", "location": "main", "quantity": 0 }),
        json!({ "sku": "TEE", "location": "main", "quantity": -4 }),
        json!({ "sku": "", "location": "main", "quantity": 1 }),
        json!({ "sku": "TEE", "location": " main", "quantity": 1 }),
        json!({ "sku": "TEE", "location": "main", "quantity": 9_223_372_036_854_775_807_i64 }),
        json!({ "sku": "TEE", "location": "main", "quantity": "ten" }),
        json!({ "sku": "TEE", "location": "main" }),
    ];
    for body in bad_bodies {
        let (status, error) = service.post("/v1/receipts", body.clone()).await;
        assert_eq!(error["error"], "invalid_request", "{body} gave {error}");
        assert!(
            matches!(
                status,
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{body} gave {status}"
        );
    }
    let response = service
        .client
        .post(service.url("/v1/receipts"))
        .header("content-type", "application/json")
        .body("{\"sku\": \"TEE\"")
        .send()
        .await
        .expect("request");
    let (status, error) = inventory_tests::service::answer(response).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, error) = service
        .post(
            "/v1/adjustments",
            json!({ "sku": "TEE", "location": "main", "delta": 0, "reason": "none" }),
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request"))
    );
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(
        stock["on_hand"].as_i64(),
        Some(12),
        "bad input changed stock"
    );

    let (status, error) = service.get("/v1/stock/NOPE").await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_sku"))
    );
    let (status, error) = service
        .post(
            "/v1/adjustments",
            json!({ "sku": "TEE", "location": "nowhere", "delta": 2, "reason": "found" }),
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_sku"))
    );
    let (status, error) = service.get("/v1/no-such-route").await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    service.stop().await;
}

async fn reservation_lifecycle_and_its_errors(backend: Backend) {
    let Some(service) = service(backend, "").await else {
        return;
    };
    stocked(&service, "TEE", "main", 10).await;

    let (status, held) = service
        .post("/v1/reservations", order("o-1", "TEE", 3))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    assert_eq!(
        (held["order_id"].as_str(), held["status"].as_str()),
        (Some("o-1"), Some("active"))
    );
    assert_eq!(
        held["lines"],
        json!([{ "sku": "TEE", "location": "main", "quantity": 3 }])
    );
    let expires = held["expires_at"].as_str().expect("expires_at");
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires).is_ok(),
        "{expires}"
    );
    let id = held["id"].as_str().expect("id").to_owned();

    let (status, again) = service
        .post("/v1/reservations", order("o-1", "TEE", 3))
        .await;
    assert_eq!(
        (status, &again),
        (StatusCode::OK, &held),
        "a repeat is the same reservation"
    );
    let (status, error) = service
        .post("/v1/reservations", order("o-1", "TEE", 4))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_conflict"))
    );
    let (status, error) = service
        .post("/v1/reservations", order("o-2", "TEE", 8))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        (
            error["error"].as_str(),
            error["sku"].as_str(),
            error["available"].as_i64(),
            error["requested"].as_i64()
        ),
        (Some("insufficient_stock"), Some("TEE"), Some(7), Some(8))
    );
    let (status, error) = service
        .post("/v1/reservations", order("o-3", "NOPE", 1))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_sku"))
    );
    for bad in [
        json!({ "order_id": "o-4", "lines": [] }),
        json!({ "order_id": "o-4", "lines": [{ "sku": "TEE", "quantity": 0 }] }),
        json!({ "order_id": "o-4", "lines": [{ "sku": "TEE", "quantity": 1 }], "ttl_seconds": 0 }),
        json!({ "order_id": "", "lines": [{ "sku": "TEE", "quantity": 1 }] }),
    ] {
        let (status, error) = service.post("/v1/reservations", bad.clone()).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")),
            "{bad}"
        );
    }

    let (status, read) = service.get(&format!("/v1/reservations/{id}")).await;
    assert_eq!((status, &read), (StatusCode::OK, &held));
    let (status, extended) = service
        .post(
            &format!("/v1/reservations/{id}/extend"),
            json!({ "ttl_seconds": 7200 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        extended["expires_at"].as_str() > held["expires_at"].as_str(),
        "{extended}"
    );

    let (status, committed) = service
        .post_empty(&format!("/v1/reservations/{id}/commit"))
        .await;
    assert_eq!(
        (status, committed["status"].as_str()),
        (StatusCode::OK, Some("committed"))
    );
    let (status, error) = service
        .post_empty(&format!("/v1/reservations/{id}/commit"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    let (status, shipped) = service
        .post_empty(&format!("/v1/reservations/{id}/ship"))
        .await;
    assert_eq!(
        (status, shipped["status"].as_str()),
        (StatusCode::OK, Some("shipped"))
    );
    let (status, error) = service
        .post_empty(&format!("/v1/reservations/{id}/release"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );

    let (_, other) = service
        .post("/v1/reservations", order("o-5", "TEE", 2))
        .await;
    let other = other["id"].as_str().expect("id").to_owned();
    let (status, released) = service
        .post_empty(&format!("/v1/reservations/{other}/release"))
        .await;
    assert_eq!(
        (status, released["status"].as_str()),
        (StatusCode::OK, Some("released"))
    );
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["reserved"].as_i64(),
            stock["committed"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(7), Some(0), Some(0), Some(7))
    );

    let unknown = "5f0c3c52-7d1e-4a7a-9a61-0c2f5f3d9e11";
    for path in [
        format!("/v1/reservations/{unknown}"),
        "/v1/reservations/not-a-uuid".to_owned(),
    ] {
        let (status, error) = service.get(&path).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
    }
    let (status, error) = service
        .post_empty(&format!("/v1/reservations/{unknown}/ship"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    service.stop().await;
}

async fn holds_expire_and_say_so(backend: Backend) {
    let Some(service) = service(backend, "sweep_interval_seconds = 3600").await else {
        return;
    };
    stocked(&service, "TEE", "main", 2).await;
    let mut body = order("short", "TEE", 2);
    body["ttl_seconds"] = json!(1);
    let (status, held) = service.post("/v1/reservations", body).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = held["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (_, read) = service.get(&format!("/v1/reservations/{id}")).await;
    assert_eq!(read["status"], "expired");
    let (status, error) = service
        .post_empty(&format!("/v1/reservations/{id}/commit"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("expired"))
    );
    // The expired hold never blocks a sale.
    let (status, _) = service
        .post("/v1/reservations", order("next", "TEE", 2))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    service.stop().await;
}

async fn counts_freeze_and_unfreeze(backend: Backend) {
    let Some(service) = service(backend, "[counting]\nstart = \"2026-01-01\"").await else {
        return;
    };
    stocked(&service, "MUG", "main", 50).await;
    stocked(&service, "CAP", "main", 100).await;
    stocked(&service, "PEN", "main", 100).await;
    // Never counted, spread over the C interval from the start day: all due 90 days on.
    let (status, due) = service.get("/v1/counts/due?date=2026-04-01").await;
    assert_eq!(status, StatusCode::OK);
    let skus_due = |due: &Value| {
        let mut skus: Vec<String> = due
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|item| item["sku"].as_str().map(str::to_owned))
            .collect();
        skus.sort_unstable();
        skus
    };
    assert_eq!(skus_due(&due), ["CAP", "MUG", "PEN"]);
    assert_eq!(due[0]["class"], "C", "{due}");

    let count =
        |sku: &str, counted: i64| json!({ "sku": sku, "location": "main", "counted": counted });
    let (status, report) = service.post("/v1/counts", count("CAP", 97)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            report["expected"].as_i64(),
            report["counted"].as_i64(),
            report["discrepancy_percent"].as_f64(),
            report["action"].as_str()
        ),
        (Some(100), Some(97), Some(3.0), Some("adjusted"))
    );
    let (_, report) = service.post("/v1/counts", count("PEN", 93)).await;
    assert_eq!(report["action"], "investigate");
    let (_, report) = service.post("/v1/counts", count("MUG", 38)).await;
    assert_eq!(
        (
            report["discrepancy_percent"].as_f64(),
            report["action"].as_str()
        ),
        (Some(24.0), Some("frozen"))
    );

    let (_, stock) = service.get("/v1/stock/MUG").await;
    assert_eq!(
        (stock["frozen"].as_bool(), stock["on_hand"].as_i64()),
        (Some(true), Some(38))
    );
    let (status, error) = service
        .post("/v1/reservations", order("frozen-1", "MUG", 1))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::LOCKED, Some("sku_frozen"))
    );
    let (status, error) = service
        .post(
            "/v1/counts",
            json!({ "sku": "MUG", "location": "main", "counted": -1 }),
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request"))
    );

    let (status, unfrozen) = service.post_empty("/v1/skus/MUG/unfreeze").await;
    assert_eq!(
        (status, unfrozen["frozen"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{unfrozen}"
    );
    let (status, error) = service.post_empty("/v1/skus/MUG/unfreeze").await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    let (status, error) = service.post_empty("/v1/skus/NOPE/unfreeze").await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_sku"))
    );
    let (status, _) = service
        .post("/v1/reservations", order("thawed", "MUG", 1))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Counted today, the three are not due tomorrow; 91 days on, every row is.
    let later = (chrono::Utc::now().date_naive() + chrono::Days::new(91)).to_string();
    let (_, due) = service.get(&format!("/v1/counts/due?date={later}")).await;
    assert_eq!(skus_due(&due), ["CAP", "MUG", "PEN"]);
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    let (_, due) = service
        .get(&format!("/v1/counts/due?date={tomorrow}"))
        .await;
    assert_eq!(due, json!([]));
    let (status, error) = service.get("/v1/counts/due?date=yesterday").await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    service.stop().await;
}

const SUPPLIERS: &str = r#"
[[suppliers]]
id = "acme"
lead_time_days = 7
[[suppliers.skus]]
sku = "TEE"
unit_cost = "4.10"
reorder_point = 20
order_quantity = 100
"#;

async fn reorder_and_purchase_orders(backend: Backend) {
    let Some(service) = service(backend, SUPPLIERS).await else {
        return;
    };
    stocked(&service, "TEE", "main", 10).await;
    let (status, raised) = service.post_empty("/v1/reorder/run").await;
    assert_eq!(status, StatusCode::OK, "{raised}");
    let raised = raised.as_array().expect("orders").clone();
    assert_eq!(raised.len(), 1);
    let po = &raised[0];
    assert_eq!(
        (po["supplier"].as_str(), po["status"].as_str()),
        (Some("acme"), Some("draft"))
    );
    assert_eq!(
        (
            po["lines"][0]["sku"].as_str(),
            po["lines"][0]["ordered"].as_i64()
        ),
        (Some("TEE"), Some(100))
    );
    let (_, again) = service.post_empty("/v1/reorder/run").await;
    assert_eq!(again, json!([]), "a second run raises nothing");
    let (status, listed) = service.get("/v1/purchase-orders").await;
    assert_eq!(
        (status, listed.as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );

    let id = po["id"].as_str().expect("id");
    let (status, error) = service
        .post_empty(&format!("/v1/purchase-orders/{id}/receive"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state")),
        "a draft is not received"
    );
    for step in ["send", "ship"] {
        let (status, order) = service
            .post_empty(&format!("/v1/purchase-orders/{id}/{step}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{step}: {order}");
    }
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(stock["in_transit"].as_i64(), Some(100));
    let (status, error) = service
        .post(
            &format!("/v1/purchase-orders/{id}/receive"),
            json!({ "lines": [{ "sku": "TEE", "quantity": 101 }] }),
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")),
        "{error}"
    );
    let (status, order) = service
        .post(
            &format!("/v1/purchase-orders/{id}/receive"),
            json!({ "lines": [{ "sku": "TEE", "quantity": 40 }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    let (status, order) = service
        .post_empty(&format!("/v1/purchase-orders/{id}/receive"))
        .await;
    assert_eq!(
        (status, order["status"].as_str()),
        (StatusCode::OK, Some("received")),
        "{order}"
    );
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["in_transit"].as_i64()),
        (Some(110), Some(0))
    );
    let (status, order) = service
        .post_empty(&format!("/v1/purchase-orders/{id}/close"))
        .await;
    assert_eq!(
        (status, order["status"].as_str()),
        (StatusCode::OK, Some("closed")),
        "{order}"
    );
    let (status, error) = service
        .post_empty(&format!("/v1/purchase-orders/{id}/cancel"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    let (status, error) = service
        .post_empty(&format!("/v1/purchase-orders/{id}/approve"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    let unknown = "9a1b2c3d-0000-4000-8000-000000000000";
    let (status, error) = service
        .post_empty(&format!("/v1/purchase-orders/{unknown}/receive"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    service.stop().await;
}

async fn metrics_count_reservations_and_requests(backend: Backend) {
    let Some(service) = service(backend, "").await else {
        return;
    };
    stocked(&service, "TEE", "main", 1).await;
    service
        .post("/v1/reservations", order("m-1", "TEE", 1))
        .await;
    service
        .post("/v1/reservations", order("m-2", "TEE", 1))
        .await;
    let text = service.metrics().await;
    for line in [
        "inventory_reservations_total{result=\"accepted\",source=\"api\"} 1",
        "inventory_reservations_total{result=\"refused\",source=\"api\"} 1",
        "inventory_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/reservations\",status=\"409\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    service.stop().await;
}

async fn an_api_token_guards_the_api(backend: Backend) {
    let token = "s3cret-token-0123456789";
    let config = format!("api_token = \"{token}\"");
    let Some(service) = service(backend, &config).await else {
        return;
    };
    let url = service.url("/v1/stock/TEE");
    for header in [None, Some("Bearer wrong-token-0123456789"), Some(token)] {
        let mut request = service.client.get(&url);
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        let (status, error) =
            inventory_tests::service::answer(request.send().await.expect("request")).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{header:?}"
        );
    }
    let request = service.client.get(&url).bearer_auth(token);
    let (status, error) =
        inventory_tests::service::answer(request.send().await.expect("request")).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_sku"))
    );
    let receipt = json!({ "sku": "TEE", "location": "main", "quantity": 1 });
    let (status, _) = service.post("/v1/receipts", receipt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an unauthorized receipt");
    let (status, _) = service.get("/healthz").await;
    assert_eq!(status, StatusCode::OK, "health needs no token");
    let request = service.client.get(&url).bearer_auth(token);
    let (status, _) =
        inventory_tests::service::answer(request.send().await.expect("request")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the refused receipt changed nothing"
    );
    service.stop().await;
}
