//! The reference service's catalog over HTTP, on SQLite and on PostgreSQL (when
//! `DATABASE_URL` is set): bundles and backorder policies set by config and by `PUT`,
//! their stock, their reservations and their refusals.

use inventory_examples::service::ServiceConfig;
use inventory_tests::service::{channel_receiver, eventually, order, Backend};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

inventory_tests::on_every_backend!(
    bundles_are_defined_sold_and_refused,
    backorders_are_sold_covered_and_refused,
    low_stock_events_reach_the_webhook_once,
);

fn components(value: &Value) -> Vec<(String, i64)> {
    value["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|component| {
            let sku = component["sku"].as_str().expect("sku").to_owned();
            (sku, component["quantity"].as_i64().expect("quantity"))
        })
        .collect()
}

/// A bundle from the config file and one from `PUT /v1/skus/{sku}/bundle`:
/// `GET /v1/stock/{sku}` answers its scarcest component per location and in total, a
/// reservation of it answers its component lines (each naming the bundle), 409 when a
/// component is short; 422 for a bundle of bundles, a bundle with stock, a receipt of a
/// bundle; `DELETE` ends it (404 after).
async fn bundles_are_defined_sold_and_refused(backend: Backend) {
    let config = ServiceConfig::parse(
        "[[bundles]]\nsku = \"GIFT\"\ncomponents = [{ sku = \"TEA\", quantity = 2 }, { sku = \"MUG\", quantity = 1 }]",
    )
    .expect("config");
    let Some(service) = backend.start(config).await else {
        return;
    };
    let (status, gift) = service.get("/v1/skus/GIFT/bundle").await;
    assert_eq!(status, StatusCode::OK, "{gift}");
    assert_eq!(
        components(&gift),
        [("MUG".to_owned(), 1), ("TEA".to_owned(), 2)]
    );
    service.receive("MUG", "east", 3).await;
    service.receive("TEA", "east", 5).await;
    service.receive("MUG", "west", 4).await;
    service.receive("TEA", "west", 1).await;
    let (status, stock) = service.get("/v1/stock/GIFT").await;
    assert_eq!(status, StatusCode::OK, "{stock}");
    assert_eq!(
        (stock["available"].as_i64(), stock["on_hand"].as_i64()),
        (Some(3), Some(0)),
        "7 mugs, 6 tea: 3 sets; a bundle holds nothing itself"
    );
    let at: Vec<(String, i64)> = stock["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .map(|row| {
            let location = row["location"].as_str().expect("location").to_owned();
            (location, row["available"].as_i64().expect("available"))
        })
        .collect();
    assert_eq!(at, [("east".to_owned(), 2), ("west".to_owned(), 0)]);
    assert_eq!(components(&stock).len(), 2);

    let (status, held) = service
        .post("/v1/reservations", order("kit-1", "GIFT", 2))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let lines = held["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2, "{held}");
    assert!(lines
        .iter()
        .all(|line| line["bundle"]["sku"] == json!("GIFT")));
    let (status, short) = service
        .post("/v1/reservations", order("kit-2", "GIFT", 2))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{short}");
    assert_eq!(
        (short["error"].as_str(), short["sku"].as_str()),
        (Some("insufficient_stock"), Some("TEA"))
    );

    let (status, defined) = service
        .put(
            "/v1/skus/DUO/bundle",
            json!({ "components": [{ "sku": "MUG", "quantity": 2 }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{defined}");
    let (_, duo) = service.get("/v1/stock/DUO").await;
    assert_eq!(duo["available"].as_i64(), Some(2), "5 mugs left: 2 pairs");
    let refusals = [
        (
            "/v1/skus/BOX/bundle",
            json!({ "components": [{ "sku": "GIFT", "quantity": 1 }] }),
            "component_is_bundle",
        ),
        (
            "/v1/skus/TEA/bundle",
            json!({ "components": [{ "sku": "LEAF", "quantity": 1 }] }),
            "used_in_bundle",
        ),
        (
            "/v1/skus/BOX/bundle",
            json!({ "components": [] }),
            "no_components",
        ),
        (
            "/v1/skus/BOX/bundle",
            json!({ "components": [{ "sku": "MUG", "quantity": 0 }] }),
            "",
        ),
    ];
    for (path, body, problem) in refusals {
        let (status, refused) = service.put(path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"], json!("invalid_request"));
        if !problem.is_empty() {
            assert_eq!(refused["problem"]["problem"], json!(problem), "{refused}");
        }
    }
    let (status, refused) = service
        .post(
            "/v1/receipts",
            json!({ "sku": "DUO", "location": "east", "quantity": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["sku"], json!("DUO"));

    let (status, _) = service.delete("/v1/skus/DUO/bundle").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = service.delete("/v1/skus/DUO/bundle").await;
    assert_eq!(
        (status, gone["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = service.get("/v1/skus/DUO/bundle").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    service.stop().await;
}

/// A backorder limit from the config file: a reservation beyond available answers its
/// backordered units, the stock shows them, commit answers 409 `backordered` until a
/// receipt covers them; `PUT /v1/skus/{sku}/policy` takes units or `"in_transit"`,
/// 422 for a limit under one unit or a word it does not know.
async fn backorders_are_sold_covered_and_refused(backend: Backend) {
    let config =
        ServiceConfig::parse("[[policies]]\nsku = \"TEE\"\nbackorder_limit = 5").expect("config");
    let Some(service) = backend.start(config).await else {
        return;
    };
    let (status, policy) = service.get("/v1/skus/TEE/policy").await;
    assert_eq!(
        (status, policy["backorder_limit"].as_i64()),
        (StatusCode::OK, Some(5))
    );
    service.receive("TEE", "main", 2).await;
    let (status, held) = service
        .post("/v1/reservations", order("pre-1", "TEE", 4))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    assert_eq!(held["lines"][0]["backordered"].as_i64(), Some(2), "{held}");
    let id = held["id"].as_str().expect("id").to_owned();
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(
        (
            stock["reserved"].as_i64(),
            stock["backordered"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(2), Some(2), Some(0))
    );
    let commit = format!("/v1/reservations/{id}/commit");
    let (status, waiting) = service.post_empty(&commit).await;
    assert_eq!(status, StatusCode::CONFLICT, "{waiting}");
    assert_eq!(
        (waiting["error"].as_str(), waiting["backordered"].as_i64()),
        (Some("backordered"), Some(2))
    );

    let (status, changed) = service
        .put(
            "/v1/skus/TEE/policy",
            json!({ "backorder_limit": "in_transit" }),
        )
        .await;
    assert_eq!(
        (status, changed["backorder_limit"].as_str()),
        (StatusCode::OK, Some("in_transit"))
    );
    let (status, zero) = service
        .put("/v1/skus/TEE/policy", json!({ "backorder_limit": 0 }))
        .await;
    assert_eq!(
        (status, zero["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request"))
    );
    let (status, _) = service
        .put("/v1/skus/TEE/policy", json!({ "backorder_limit": "soon" }))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a shape it does not take"
    );
    let (status, off) = service.put("/v1/skus/TEE/policy", json!({})).await;
    assert_eq!(
        (status, off["backorder_limit"].clone()),
        (StatusCode::OK, Value::Null)
    );

    service.receive("TEE", "main", 3).await;
    let (_, covered) = service.get(&format!("/v1/reservations/{id}")).await;
    assert_eq!(
        covered["lines"][0]["backordered"].as_i64(),
        Some(0),
        "{covered}"
    );
    let (status, committed) = service.post_empty(&commit).await;
    assert_eq!(status, StatusCode::OK, "{committed}");
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(
        (
            stock["committed"].as_i64(),
            stock["backordered"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(4), Some(0), Some(1))
    );
    service.stop().await;
}

/// A low-stock threshold set by `PUT /v1/skus/{sku}/policy`: the reservation that
/// crosses it raises one `low` event and the receipt that lifts it one `recovered`,
/// POSTed to the configured webhook in order, the first delivery refused and retried.
async fn low_stock_events_reach_the_webhook_once(backend: Backend) {
    let (url, received) = channel_receiver(1).await;
    let config = ServiceConfig::parse(&format!("low_stock_webhook = \"{url}\"\nsync_tick_ms = 50"))
        .expect("config");
    let Some(service) = backend.start(config).await else {
        return;
    };
    service.receive("MUG", "main", 10).await;
    let (status, policy) = service
        .put("/v1/skus/MUG/policy", json!({ "low_stock_threshold": 3 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(
        (
            policy["low_stock_threshold"].as_i64(),
            policy["low_stock_measure"].as_str()
        ),
        (Some(3), Some("available"))
    );
    let (status, refused) = service
        .put("/v1/skus/MUG/policy", json!({ "low_stock_threshold": -1 }))
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request"))
    );
    // A threshold at the reorder point: stored, watching nothing until a reorder run
    // computes the point.
    let (status, policy) = service
        .put(
            "/v1/skus/TEA/policy",
            json!({ "low_stock_threshold": "reorder_point", "low_stock_measure": "position" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(
        (
            policy["low_stock_threshold"].as_str(),
            policy["low_stock_measure"].as_str(),
            policy["reorder_point"].is_null()
        ),
        (Some("reorder_point"), Some("position"), true)
    );
    let (status, refused) = service
        .put(
            "/v1/skus/TEA/policy",
            json!({ "low_stock_threshold": "soon" }),
        )
        .await;
    assert!(status.is_client_error(), "{status} {refused}");
    let (_, policy) = service.get("/v1/skus/TEA/policy").await;
    assert_eq!(
        policy["low_stock_threshold"].as_str(),
        Some("reorder_point"),
        "a refused change changes nothing"
    );
    let (status, _) = service
        .post("/v1/reservations", order("big", "MUG", 8))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    service.receive("MUG", "main", 5).await;
    let delivered = eventually(Duration::from_secs(10), async || {
        received.events.lock().expect("lock").len() >= 2
    })
    .await;
    let events = received.events.lock().expect("lock").clone();
    assert!(delivered, "{events:?}");
    let kinds: Vec<(&str, i64)> = events
        .iter()
        .map(|event| {
            (
                event["kind"].as_str().unwrap_or(""),
                event["value"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(kinds, [("low", 2), ("recovered", 7)]);
    service.stop().await;
}
