//! The reference service against its own OpenAPI document, from outside the project.
//!
//! `service_answers_as_its_openapi_document_says` starts the service on SQLite (API
//! token, Shopify secret, a channel, a supplier, two SKUs in stock) and runs
//! schemathesis (a property-based API tester, from PyPI) against `GET /openapi.json`:
//! every documented operation, with generated valid and invalid requests, must answer
//! only documented statuses, content types and headers, with bodies matching their
//! schemas, never a 5xx, 405 with `Allow` for undocumented methods, and 401 without
//! the token. The schemathesis settings and the hook that signs webhooks are in
//! `tests/schemathesis/`.
//!
//! Schemathesis is found by `SCHEMATHESIS` (a path) or on `PATH`; without it the test
//! skips loudly, unless `INVENTORY_REQUIRE_SCHEMATHESIS=1` (set by `.ci/run`, which
//! installs it), when it fails. `INVENTORY_CONTRACT_EXAMPLES` sets the examples per
//! operation (default 40); `SCHEMATHESIS_SEED` repeats a run.
//!
//! The other tests here hold the README to the document: its endpoint table lists
//! exactly the documented operations with their success statuses, and its error table
//! exactly the documented error codes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use inventory_examples::service::openapi::ApiDoc;
use inventory_examples::service::ErrorCode;
use inventory_tests::loud;
use inventory_tests::service::{channel_receiver, Backend};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde_json::{json, Value};
use utoipa::OpenApi;

const TOKEN: &str = "contract-test-token-0001";
const SECRET: &str = "contract-test-secret";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// The schemathesis executable, if there is one.
fn schemathesis() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    let found = Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    found.then(|| PathBuf::from("schemathesis"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_answers_as_its_openapi_document_says() {
    let Some(schemathesis) = schemathesis() else {
        let required = std::env::var("INVENTORY_REQUIRE_SCHEMATHESIS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "INVENTORY_REQUIRE_SCHEMATHESIS=1 but schemathesis is not installed"
        );
        loud(
            "SKIPPED the OpenAPI contract test: schemathesis not found \
             (pip install schemathesis, or set SCHEMATHESIS=<path>)",
        );
        return;
    };
    let (webhook, _received) = channel_receiver(0).await;
    let config = format!(
        r#"
api_token = "{TOKEN}"
shopify_webhook_secret = "{SECRET}"

[[channels]]
name = "web"
buffer = 1.0
webhook = "{webhook}"

[[suppliers]]
id = "acme"
lead_time_days = 7

[[suppliers.skus]]
sku = "SKU-A"
unit_cost = "2.50"
reorder_point = 100000
order_quantity = 100

[reorder]
location = "main"
window_days = 28
"#
    );
    let mut service = Backend::Sqlite
        .start_with(&config)
        .await
        .expect("SQLite is never skipped");
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {TOKEN}")).expect("header");
    headers.insert(AUTHORIZATION, bearer);
    service.client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");
    for sku in ["SKU-A", "SKU-B"] {
        service.receive(sku, "main", 1_000).await;
    }
    // A purchase order to act on, and a reservation to move.
    let (status, _) = service.post_empty("/v1/reorder/run").await;
    assert!(status.is_success(), "reorder run: {status}");
    let order = json!({ "order_id": "seed-1", "lines": [{ "sku": "SKU-B", "quantity": 1 }] });
    let (status, _) = service.post("/v1/reservations", order).await;
    assert!(status.is_success(), "seed reservation: {status}");

    let examples = std::env::var("INVENTORY_CONTRACT_EXAMPLES").unwrap_or_else(|_| "40".into());
    let folder = workspace().join("tests/schemathesis");
    let mut command = Command::new(schemathesis);
    command
        .current_dir(&folder)
        .env("SHOPIFY_WEBHOOK_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .args(["--config-file", "schemathesis.toml", "run"])
        .arg(format!("{}/openapi.json", service.base))
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--checks", "all"])
        // Valid-looking requests may still be refused by state (no stock, wrong
        // status): documented 4xx answers, which this check would count as failures.
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--max-examples", &examples])
        .args(["--request-timeout", "30"]);
    if let Ok(seed) = std::env::var("SCHEMATHESIS_SEED") {
        command.args(["--seed", &seed]);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found responses that break the OpenAPI document:\n{stdout}\n{stderr}"
    );
    // The summary's "<N> generated, ..." line: at least one case ran.
    let generated = stdout
        .lines()
        .find_map(|line| {
            let (count, rest) = line.trim().split_once(' ')?;
            rest.starts_with("generated")
                .then(|| count.parse::<u64>().ok())?
        })
        .unwrap_or(0);
    assert!(generated > 0, "schemathesis ran no case:\n{stdout}");
    // The run reached the core, not only the error paths: generated reservations were
    // taken, and signed webhooks got past the signature check.
    let metrics = service.metrics().await;
    let counted = |prefix: &str, wanted: &str, unwanted: &str| -> f64 {
        metrics
            .lines()
            .filter(|line| line.starts_with(prefix))
            .filter(|line| line.contains(wanted) && !line.contains(unwanted))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let accepted = counted(
        "inventory_reservations_total{",
        "\"accepted\"",
        "\"shopify\"",
    );
    assert!(
        accepted > 1.0,
        "no generated reservation was taken:\n{metrics}"
    );
    let signed = counted("inventory_webhooks_total{", "", "\"unauthorized\"");
    assert!(
        signed > 0.0,
        "no signed webhook got past the signature:\n{metrics}"
    );
    service.stop().await;
}

/// `(METHOD, path)` of every operation in the document, with its 2xx statuses.
fn documented_operations() -> BTreeSet<(String, String, String)> {
    let document = serde_json::to_value(ApiDoc::openapi()).expect("document");
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let mut success: Vec<&str> = operation["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .map(String::as_str)
                .filter(|status| status.starts_with('2'))
                .collect();
            success.sort_unstable();
            operations.insert((method.to_uppercase(), path.clone(), success.join(", ")));
        }
    }
    operations
}

/// The rows of the README table whose header row starts with `| <first> |`, as cells.
fn readme_table(first: &str) -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README");
    let header = format!("| {first} |");
    let mut lines = readme.lines().skip_while(|line| !line.starts_with(&header));
    assert!(
        lines.next().is_some(),
        "README has no table headed {header}"
    );
    lines
        .skip(1)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn readme_endpoint_table_matches_the_openapi_document() {
    let mut listed = BTreeSet::new();
    for row in readme_table("endpoint") {
        let endpoint = row[0].trim_matches('`');
        let (method, path) = endpoint.split_once(' ').expect("`METHOD /path`");
        listed.insert((method.to_owned(), path.to_owned(), row[1].clone()));
    }
    let documented = documented_operations();
    let missing: Vec<_> = documented.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&documented).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README endpoint table and OpenAPI document differ:\n \
         documented, not in the README (method, path, 2xx): {missing:?}\n \
         in the README, not documented: {extra:?}"
    );
}

#[test]
fn readme_error_table_matches_the_openapi_document() {
    let document: Value = serde_json::to_value(ApiDoc::openapi()).expect("document");
    let documented: BTreeSet<String> = document["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enum")
        .iter()
        .map(|code| code.as_str().expect("code").to_owned())
        .collect();
    let answered: BTreeSet<String> = ErrorCode::ALL
        .iter()
        .map(|code| code.as_str().to_owned())
        .collect();
    assert_eq!(
        documented, answered,
        "the document lists every code answered"
    );
    let listed: BTreeSet<String> = readme_table("error")
        .iter()
        .map(|row| row[0].trim_matches('`').to_owned())
        .collect();
    assert_eq!(
        listed, documented,
        "README error table and OpenAPI ErrorCode differ"
    );
}

/// The README's walk through the service names the real reservation id of its order
/// (ids derive from order ids), so the commit it shows answers 200, not 404.
#[test]
fn the_readme_names_the_real_reservation_id_of_its_example_order() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let order = inventory_core::OrderId::new("#1001").expect("order id");
    let id = inventory_core::ReservationId::for_order(&order).to_string();
    assert!(
        readme.contains(&format!("localhost:8080/v1/reservations/{id}/commit")),
        "the README should commit reservation {id}"
    );
}
