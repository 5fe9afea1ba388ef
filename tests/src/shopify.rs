//! A local stand-in for Shopify's Admin GraphQL API, as far as the Shopify channel
//! adapter uses it: `inventoryItems` searched by SKU and `inventorySetQuantities` on
//! `available`, for API version 2026-04.
//!
//! It checks every request against the documented shapes (the token header, the
//! version in the path, `@idempotent` with a key, the input's fields and enum values,
//! `changeFromQuantity` present on every quantity, at most 250 quantities, 32-bit
//! integers) and records each departure as a violation; it answers as Shopify does:
//! `CHANGE_FROM_QUANTITY_STALE` user errors (and then applies nothing of the call),
//! cost-based throttling with `extensions.cost.throttleStatus` and `THROTTLED` errors,
//! a repeated idempotency key answered from its first answer without applying again,
//! and faults on demand (a 5xx, an answer slower than the caller's timeout).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// The API version the stand-in speaks.
pub const VERSION: &str = "2026-04";
/// The location every item is stocked at.
pub const LOCATION: &str = "gid://shopify/Location/1001";
/// What a mutation costs.
pub const MUTATION_COST: f64 = 10.0;
/// What a search costs.
pub const QUERY_COST: f64 = 12.0;

const REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

/// A fault the next call meets.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answer 503 without doing anything.
    Unavailable,
    /// Do the call, then answer only after this long (past the caller's timeout).
    Late(Duration),
}

#[derive(Debug)]
struct Item {
    sku: String,
    /// `None`: not stocked at [`LOCATION`].
    available: Option<i64>,
}

#[derive(Debug)]
struct Bucket {
    maximum: f64,
    restore_rate: f64,
    available: f64,
    at: Instant,
}

impl Bucket {
    fn now(&mut self) -> f64 {
        let elapsed = self.at.elapsed().as_secs_f64();
        self.available = (self.available + elapsed * self.restore_rate).min(self.maximum);
        self.at = Instant::now();
        self.available
    }

    fn status(&self) -> Value {
        json!({
            "maximumAvailable": self.maximum,
            "currentlyAvailable": self.available.floor(),
            "restoreRate": self.restore_rate,
        })
    }
}

#[derive(Debug)]
struct Inner {
    items: BTreeMap<String, Item>,
    bucket: Bucket,
    /// Until when a throttled caller was told to wait.
    throttled_until: Option<Instant>,
    throttled: usize,
    violations: Vec<String>,
    /// Idempotency keys: the input first sent with each and the answer given.
    keys: HashMap<String, (Value, Value)>,
    faults: VecDeque<Fault>,
    /// Every quantity applied, by SKU, in order.
    sets: BTreeMap<String, Vec<i64>>,
    mutations: usize,
    searches: usize,
    /// Mutations answered from their idempotency key.
    replays: usize,
}

/// The stand-in, serving on a local port until dropped.
#[derive(Clone)]
pub struct ShopifyStandIn {
    url: String,
    token: String,
    inner: Arc<Mutex<Inner>>,
    server: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for ShopifyStandIn {
    fn drop(&mut self) {
        if Arc::strong_count(&self.server) == 1 {
            self.server.abort();
        }
    }
}

impl ShopifyStandIn {
    /// Serves on a free local port, expecting `token`; the bucket starts full (1,000,
    /// restoring 100 a second, as Shopify's standard plan).
    pub async fn start(token: &str) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            items: BTreeMap::new(),
            bucket: Bucket {
                maximum: 1_000.0,
                restore_rate: 100.0,
                available: 1_000.0,
                at: Instant::now(),
            },
            throttled_until: None,
            throttled: 0,
            violations: Vec::new(),
            keys: HashMap::new(),
            faults: VecDeque::new(),
            sets: BTreeMap::new(),
            mutations: 0,
            searches: 0,
            replays: 0,
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = Router::new()
            .route("/admin/api/{version}/graphql.json", post(graphql))
            .with_state((token.to_owned(), Arc::clone(&inner)));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/admin/api/{VERSION}/graphql.json"),
            token: token.to_owned(),
            inner,
            server: Arc::new(server),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The GraphQL URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The token it expects.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Adds an inventory item for `sku` stocked at [`LOCATION`] with `available`
    /// units; answers its id.
    pub fn add_item(&self, sku: &str, available: i64) -> String {
        self.add(sku, Some(available))
    }

    /// Adds an inventory item for `sku` that is not stocked at [`LOCATION`].
    pub fn add_unstocked(&self, sku: &str) -> String {
        self.add(sku, None)
    }

    fn add(&self, sku: &str, available: Option<i64>) -> String {
        let mut inner = self.lock();
        let id = format!("gid://shopify/InventoryItem/{}", 5_000 + inner.items.len());
        inner.items.insert(
            id.clone(),
            Item {
                sku: sku.to_owned(),
                available,
            },
        );
        id
    }

    /// What Shopify shows as available for `sku` (the first item with it).
    pub fn available(&self, sku: &str) -> Option<i64> {
        let inner = self.lock();
        inner
            .items
            .values()
            .find(|item| item.sku == sku)
            .and_then(|item| item.available)
    }

    /// A storefront order took `units` of `sku` (Shopify's number moves on its own).
    pub fn sell(&self, sku: &str, units: i64) {
        let mut inner = self.lock();
        if let Some(item) = inner.items.values_mut().find(|item| item.sku == sku) {
            item.available = item.available.map(|n| n - units);
        }
    }

    /// Replaces the cost bucket.
    pub fn bucket(&self, maximum: f64, restore_rate: f64, available: f64) {
        self.lock().bucket = Bucket {
            maximum,
            restore_rate,
            available,
            at: Instant::now(),
        };
    }

    /// The next calls meet `faults`, in order.
    pub fn fault(&self, faults: &[Fault]) {
        self.lock().faults.extend(faults.iter().copied());
    }

    /// Every departure from the documented API seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// Calls answered `THROTTLED`.
    pub fn throttled(&self) -> usize {
        self.lock().throttled
    }

    /// Every quantity applied to `sku`, in order.
    pub fn sets(&self, sku: &str) -> Vec<i64> {
        self.lock().sets.get(sku).cloned().unwrap_or_default()
    }

    /// Mutations answered from their idempotency key, without applying again.
    pub fn replays(&self) -> usize {
        self.lock().replays
    }

    /// Mutations and searches answered (not counting 5xx and throttled ones).
    pub fn calls(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.mutations, inner.searches)
    }
}

type Shared = (String, Arc<Mutex<Inner>>);

async fn graphql(
    State((token, inner)): State<Shared>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fault;
    let answer = {
        let mut inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
        if version != VERSION {
            inner.violations.push(format!("API version {version}"));
        }
        if headers
            .get("x-shopify-access-token")
            .and_then(|v| v.to_str().ok())
            != Some(token.as_str())
        {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})),
            )
                .into_response();
        }
        let json_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json_type {
            inner.violations.push("Content-Type is not JSON".to_owned());
        }
        fault = inner.faults.pop_front();
        if matches!(fault, Some(Fault::Unavailable)) {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        let Ok(request) = serde_json::from_slice::<Value>(&body) else {
            inner.violations.push("body is not JSON".to_owned());
            return StatusCode::BAD_REQUEST.into_response();
        };
        answer(&mut inner, &request)
    };
    if let Some(Fault::Late(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    Json(answer).into_response()
}

fn answer(inner: &mut Inner, request: &Value) -> Value {
    let query = request.get("query").and_then(Value::as_str).unwrap_or("");
    let variables = request.get("variables").cloned().unwrap_or(Value::Null);
    let mutation = query.contains("inventorySetQuantities");
    let cost = if mutation { MUTATION_COST } else { QUERY_COST };
    let now = Instant::now();
    if inner.throttled_until.is_some_and(|until| now < until) {
        inner
            .violations
            .push("sent again before the wait Shopify asked for".to_owned());
    }
    let available = inner.bucket.now();
    if available < cost {
        inner.throttled += 1;
        let wait = (cost - available) / inner.bucket.restore_rate;
        inner.throttled_until = Some(now + Duration::from_secs_f64(wait));
        return json!({
            "errors": [{
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
            }],
            "extensions": {"cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": null,
                "throttleStatus": inner.bucket.status(),
            }},
        });
    }
    inner.throttled_until = None;
    let data = if mutation {
        set_quantities(inner, query, &variables)
    } else if query.contains("inventoryItems(") {
        search(inner, &variables)
    } else {
        inner.violations.push(format!("unknown operation: {query}"));
        return json!({"errors": [{"message": "unknown operation"}]});
    };
    inner.bucket.available -= cost;
    let mut answer = data;
    answer["extensions"] = json!({"cost": {
        "requestedQueryCost": cost,
        "actualQueryCost": cost,
        "throttleStatus": inner.bucket.status(),
    }});
    answer
}

/// `inventoryItems(first:, query: "sku:\"A\" OR sku:\"B\"")`.
fn search(inner: &mut Inner, variables: &Value) -> Value {
    inner.searches += 1;
    let first = variables.get("first").and_then(Value::as_i64).unwrap_or(0);
    if !(1..=250).contains(&first) {
        inner
            .violations
            .push(format!("inventoryItems first={first}"));
    }
    if variables.get("location").and_then(Value::as_str) != Some(LOCATION) {
        inner
            .violations
            .push(format!("inventoryLevel location {}", variables["location"]));
    }
    let text = variables.get("query").and_then(Value::as_str).unwrap_or("");
    let Some(skus) = parse_search(text) else {
        inner.violations.push(format!("search syntax: {text}"));
        return json!({"data": {"inventoryItems": {"nodes": []}}});
    };
    let nodes: Vec<Value> = inner
        .items
        .iter()
        .filter(|(_, item)| skus.contains(&item.sku))
        .take(usize::try_from(first).unwrap_or(0))
        .map(|(id, item)| {
            json!({
                "id": id,
                "sku": item.sku,
                "inventoryLevel": item.available.map(|n| json!({
                    "quantities": [{"name": "available", "quantity": n}],
                })),
            })
        })
        .collect();
    json!({"data": {"inventoryItems": {"nodes": nodes}}})
}

/// The SKUs of `sku:"..." OR sku:"..."`, unescaped; `None` for anything else.
fn parse_search(text: &str) -> Option<Vec<String>> {
    let mut skus = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.strip_prefix("sku:\"")?;
        let mut sku = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => sku.push(chars.next()?.1),
                (at, '"') => break at,
                (_, c) => sku.push(c),
            }
        };
        skus.push(sku);
        rest = &rest[end + 1..];
        if rest.is_empty() {
            return Some(skus);
        }
        rest = rest.strip_prefix(" OR ")?;
    }
}

fn set_quantities(inner: &mut Inner, query: &str, variables: &Value) -> Value {
    if !query.contains("@idempotent(key:") {
        inner
            .violations
            .push("inventorySetQuantities without @idempotent".to_owned());
    }
    let key = variables.get("key").and_then(Value::as_str).unwrap_or("");
    if key.is_empty() || key.len() > 255 {
        inner.violations.push(format!("idempotency key {key:?}"));
    }
    let input = variables.get("input").cloned().unwrap_or(Value::Null);
    if let Some((first_input, first_answer)) = inner.keys.get(key) {
        if *first_input != input {
            inner
                .violations
                .push(format!("idempotency key {key} reused for another input"));
        }
        let answer = first_answer.clone();
        inner.replays += 1;
        return answer;
    }
    inner.mutations += 1;
    check_input(inner, &input);
    let quantities = input
        .get("quantities")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut errors = Vec::new();
    for (index, quantity) in quantities.iter().enumerate() {
        let item = quantity
            .get("inventoryItemId")
            .and_then(Value::as_str)
            .unwrap_or("");
        let field = |name: &str| json!(["input", "quantities", index.to_string(), name]);
        match inner.items.get(item) {
            None => errors.push(json!({
                "code": "INVALID_INVENTORY_ITEM",
                "field": field("inventoryItemId"),
                "message": "The specified inventory item could not be found.",
            })),
            Some(Item {
                available: None, ..
            }) => errors.push(json!({
                "code": "ITEM_NOT_STOCKED_AT_LOCATION",
                "field": field("locationId"),
                "message": "The specified inventory item is not stocked at the location.",
            })),
            Some(Item {
                available: Some(current),
                ..
            }) => {
                let from = quantity.get("changeFromQuantity");
                if from.is_some_and(|from| !from.is_null() && from.as_i64() != Some(*current)) {
                    errors.push(json!({
                        "code": "CHANGE_FROM_QUANTITY_STALE",
                        "field": field("changeFromQuantity"),
                        "message": "The specified compare quantity does not match the current quantity.",
                    }));
                }
            }
        }
    }
    let payload = if errors.is_empty() {
        for quantity in &quantities {
            let item = quantity["inventoryItemId"].as_str().unwrap_or("");
            let value = quantity["quantity"].as_i64().unwrap_or(0);
            if let Some(found) = inner.items.get_mut(item) {
                found.available = Some(value);
                let sku = found.sku.clone();
                inner.sets.entry(sku).or_default().push(value);
            }
        }
        json!({"inventoryAdjustmentGroup": {"id": format!("gid://shopify/InventoryAdjustmentGroup/{}", inner.mutations)}, "userErrors": []})
    } else {
        json!({"inventoryAdjustmentGroup": null, "userErrors": errors})
    };
    let answer = json!({"data": {"inventorySetQuantities": payload}});
    inner.keys.insert(key.to_owned(), (input, answer.clone()));
    answer
}

/// Records every way `input` departs from `InventorySetQuantitiesInput` (2026-04).
fn check_input(inner: &mut Inner, input: &Value) {
    let mut bad = Vec::new();
    let Some(fields) = input.as_object() else {
        inner.violations.push("input is not an object".to_owned());
        return;
    };
    for name in fields.keys() {
        if !["name", "reason", "referenceDocumentUri", "quantities"].contains(&name.as_str()) {
            bad.push(format!(
                "input field {name} (removed or unknown in {VERSION})"
            ));
        }
    }
    let name = input.get("name").and_then(Value::as_str);
    if name != Some("available") && name != Some("on_hand") {
        bad.push(format!("quantity name {name:?}"));
    }
    let reason = input.get("reason").and_then(Value::as_str).unwrap_or("");
    if !REASONS.contains(&reason) {
        bad.push(format!("reason {reason:?}"));
    }
    if let Some(uri) = input.get("referenceDocumentUri") {
        if !uri.as_str().is_some_and(|uri| uri.contains("://")) {
            bad.push(format!("referenceDocumentUri {uri}"));
        }
    }
    match input.get("quantities").and_then(Value::as_array) {
        None => bad.push("no quantities".to_owned()),
        Some(quantities) if quantities.is_empty() || quantities.len() > 250 => {
            bad.push(format!("{} quantities", quantities.len()));
        }
        Some(quantities) => {
            for quantity in quantities {
                let keys: Vec<&str> = quantity
                    .as_object()
                    .map(|q| q.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let mut sorted = keys.clone();
                sorted.sort_unstable();
                if sorted
                    != [
                        "changeFromQuantity",
                        "inventoryItemId",
                        "locationId",
                        "quantity",
                    ]
                {
                    bad.push(format!("quantity fields {keys:?}"));
                }
                let gid = |field: &str, kind: &str| {
                    quantity[field]
                        .as_str()
                        .and_then(|id| id.strip_prefix(&format!("gid://shopify/{kind}/")))
                        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                };
                if !gid("inventoryItemId", "InventoryItem") || !gid("locationId", "Location") {
                    bad.push(format!("ids in {quantity}"));
                }
                if quantity["locationId"] != LOCATION {
                    bad.push(format!("location {}", quantity["locationId"]));
                }
                let int32 =
                    |value: &Value| value.as_i64().is_some_and(|n| i32::try_from(n).is_ok());
                if !int32(&quantity["quantity"]) {
                    bad.push(format!("quantity {}", quantity["quantity"]));
                }
                let from = &quantity["changeFromQuantity"];
                if !from.is_null() && !int32(from) {
                    bad.push(format!("changeFromQuantity {from}"));
                }
            }
        }
    }
    inner.violations.extend(bad);
}

#[cfg(test)]
mod tests {
    use super::parse_search;

    #[test]
    fn searches_parse_with_escapes() {
        assert_eq!(
            parse_search(r#"sku:"A" OR sku:"b\"c\\d""#),
            Some(vec!["A".to_owned(), "b\"c\\d".to_owned()])
        );
        assert_eq!(parse_search("sku:A"), None);
        assert_eq!(parse_search(r#"sku:"A" AND sku:"B""#), None);
    }
}
