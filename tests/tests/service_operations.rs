//! The reference service over HTTP, on SQLite and on PostgreSQL (when `DATABASE_URL` is
//! set): cycle counts, reorder runs and purchase orders, and the metrics endpoint.

use inventory_tests::service::{order, Backend};
use reqwest::StatusCode;
use serde_json::{json, Value};

inventory_tests::on_every_backend!(
    counts_freeze_and_unfreeze,
    reorder_and_purchase_orders,
    metrics_count_reservations_and_requests,
);

async fn counts_freeze_and_unfreeze(backend: Backend) {
    let Some(service) = backend
        .start_with("[counting]\nstart = \"2026-01-01\"")
        .await
    else {
        return;
    };
    service.receive("MUG", "main", 50).await;
    service.receive("CAP", "main", 100).await;
    service.receive("PEN", "main", 100).await;
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
    let Some(service) = backend.start_with(SUPPLIERS).await else {
        return;
    };
    service.receive("TEE", "main", 10).await;
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
    let Some(service) = backend.start_with("").await else {
        return;
    };
    service.receive("TEE", "main", 1).await;
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
