//! The reference service's catalog over HTTP, on SQLite and on PostgreSQL (when
//! `DATABASE_URL` is set): bundles defined by config and by `PUT`, their stock, their
//! reservations and their refusals.

use inventory_examples::service::ServiceConfig;
use inventory_tests::service::{order, Backend};
use reqwest::StatusCode;
use serde_json::{json, Value};

inventory_tests::on_every_backend!(bundles_are_defined_sold_and_refused);

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
