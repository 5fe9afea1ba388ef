//! A local stand-in for Amazon's Selling Partner API as the Amazon channel adapter
//! uses it: Login with Amazon's refresh-token exchange and `patchListingsItem`
//! (Listings Items API 2021-08-01) on `fulfillment_availability`.
//!
//! It checks every request against the documented shapes (a form-encoded
//! `grant_type=refresh_token` exchange with the right client and refresh token; the
//! `x-amz-access-token` header with a token it issued and that has not expired; the
//! seller id in the path, `marketplaceIds` in the query; a JSON body with `productType`
//! and one patch of `/attributes/fulfillment_availability` holding a non-negative
//! quantity) and records each departure; it answers as Amazon does: `403` for an
//! expired token, `429 QuotaExceeded` with `x-amzn-RateLimit-Limit` past its rate
//! (optionally with `Retry-After`), `404` for a SKU it does not list, `5xx` on demand.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// The seller the stand-in serves.
pub const SELLER: &str = "A2STANDINSELLER";
/// The marketplace its offers are in.
pub const MARKETPLACE: &str = "ATVPDKIKX0DER";
/// The app's client id.
pub const CLIENT_ID: &str = "amzn1.application-oa2-client.standin";
/// The app's client secret.
pub const CLIENT_SECRET: &str = "standin-client-secret";
/// The seller's refresh token.
pub const REFRESH_TOKEN: &str = "Atzr|standin-refresh";

#[derive(Debug)]
struct Inner {
    /// Offers by SKU: their fulfilment quantity.
    offers: BTreeMap<String, i64>,
    /// Tokens issued, with their expiry.
    tokens: HashMap<String, Instant>,
    token_lifetime: Duration,
    exchanges: usize,
    /// Calls a second, and the burst, of `patchListingsItem`.
    rate: f64,
    burst: f64,
    bucket: f64,
    at: Instant,
    /// `Retry-After` sent with a 429, if any; and until when a caller must wait.
    retry_after: Option<Duration>,
    wait_until: Option<Instant>,
    throttled: usize,
    faults: VecDeque<StatusCode>,
    violations: Vec<String>,
    /// Every quantity set, by SKU, in order.
    sets: BTreeMap<String, Vec<i64>>,
}

/// The stand-in, serving on a local port until dropped.
#[derive(Clone)]
pub struct AmazonStandIn {
    base: String,
    inner: Arc<Mutex<Inner>>,
    server: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for AmazonStandIn {
    fn drop(&mut self) {
        if Arc::strong_count(&self.server) == 1 {
            self.server.abort();
        }
    }
}

impl AmazonStandIn {
    /// Serves on a free local port; tokens last an hour, 5 calls a second with a burst
    /// of 5, as `patchListingsItem` is documented.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            offers: BTreeMap::new(),
            tokens: HashMap::new(),
            token_lifetime: Duration::from_secs(3_600),
            exchanges: 0,
            rate: 5.0,
            burst: 5.0,
            bucket: 5.0,
            at: Instant::now(),
            retry_after: None,
            wait_until: None,
            throttled: 0,
            faults: VecDeque::new(),
            violations: Vec::new(),
            sets: BTreeMap::new(),
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = Router::new()
            .route("/auth/o2/token", post(exchange))
            .route(
                "/listings/2021-08-01/items/{seller}/{sku}",
                patch(patch_item),
            )
            .with_state(Arc::clone(&inner));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://{addr}"),
            inner,
            server: Arc::new(server),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The SP-API endpoint.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    /// The token URL.
    pub fn token_url(&self) -> String {
        format!("{}/auth/o2/token", self.base)
    }

    /// Lists `sku` with `quantity` units.
    pub fn list(&self, sku: &str, quantity: i64) {
        self.lock().offers.insert(sku.to_owned(), quantity);
    }

    /// The offer's quantity.
    pub fn quantity(&self, sku: &str) -> Option<i64> {
        self.lock().offers.get(sku).copied()
    }

    /// Every quantity set for `sku`, in order.
    pub fn sets(&self, sku: &str) -> Vec<i64> {
        self.lock().sets.get(sku).cloned().unwrap_or_default()
    }

    /// Tokens issued from now on last `lifetime`.
    pub fn token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    /// Every issued token expires now.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for expiry in self.lock().tokens.values_mut() {
            *expiry = now;
        }
    }

    /// The rate and burst of `patchListingsItem`, and the `Retry-After` of a 429.
    pub fn rate(&self, rate: f64, burst: f64, retry_after: Option<Duration>) {
        let mut inner = self.lock();
        inner.rate = rate;
        inner.burst = burst;
        inner.bucket = burst;
        inner.at = Instant::now();
        inner.retry_after = retry_after;
    }

    /// The next calls answer these statuses, in order.
    pub fn fault(&self, statuses: &[StatusCode]) {
        self.lock().faults.extend(statuses.iter().copied());
    }

    /// Departures from the documented API.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// Calls answered 429.
    pub fn throttled(&self) -> usize {
        self.lock().throttled
    }

    /// Refresh-token exchanges answered.
    pub fn exchanges(&self) -> usize {
        self.lock().exchanges
    }
}

type Shared = Arc<Mutex<Inner>>;

async fn exchange(State(inner): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let mut inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
    let form_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        inner
            .violations
            .push("token exchange is not form-encoded".to_owned());
    }
    let form: HashMap<String, String> = url_decode(&body);
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("grant_type") != Some("refresh_token") {
        inner
            .violations
            .push(format!("grant_type {:?}", field("grant_type")));
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    if field("client_id") != Some(CLIENT_ID) || field("client_secret") != Some(CLIENT_SECRET) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "error_description": "Client authentication failed"})),
        )
            .into_response();
    }
    if field("refresh_token") != Some(REFRESH_TOKEN) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"})),
        )
            .into_response();
    }
    inner.exchanges += 1;
    let token = format!("Atza|standin-{}", inner.exchanges);
    let lifetime = inner.token_lifetime;
    inner
        .tokens
        .insert(token.clone(), Instant::now() + lifetime);
    Json(json!({
        "access_token": token,
        "refresh_token": REFRESH_TOKEN,
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
    }))
    .into_response()
}

/// `a=b&c=d`, percent- and plus-decoded.
fn url_decode(body: &str) -> HashMap<String, String> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(byte) => {
                            out.push(byte);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                byte => out.push(byte),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (decode(name), decode(value)))
        .collect()
}

async fn patch_item(
    State(inner): State<Shared>,
    Path((seller, sku)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
    let now = Instant::now();
    if inner.wait_until.is_some_and(|until| now < until) {
        inner
            .violations
            .push("called again before the Retry-After".to_owned());
    }
    if let Some(status) = inner.faults.pop_front() {
        return (
            status,
            Json(json!({"errors": [{"code": "InternalFailure", "message": "We encountered an internal error. Please try again."}]})),
        )
            .into_response();
    }
    let token = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match inner.tokens.get(token) {
        Some(expiry) if *expiry > now => {}
        Some(_) => {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": "The access token you provided has expired."}]})),
            )
                .into_response();
        }
        None => {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]})),
            )
                .into_response();
        }
    }
    // The rate limit: a token bucket of `burst`, refilled at `rate` a second.
    let elapsed = inner.at.elapsed().as_secs_f64();
    inner.bucket = (inner.bucket + elapsed * inner.rate).min(inner.burst);
    inner.at = now;
    if inner.bucket < 1.0 {
        inner.throttled += 1;
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})),
        )
            .into_response();
        let limit = inner.rate.to_string();
        response
            .headers_mut()
            .insert("x-amzn-RateLimit-Limit", limit.parse().expect("header"));
        if let Some(wait) = inner.retry_after {
            inner.wait_until = Some(now + wait);
            response.headers_mut().insert(
                "Retry-After",
                wait.as_secs().to_string().parse().expect("header"),
            );
        }
        return response;
    }
    inner.bucket -= 1.0;
    inner.wait_until = None;
    if seller != SELLER {
        inner.violations.push(format!("seller {seller}"));
    }
    if query.get("marketplaceIds").map(String::as_str) != Some(MARKETPLACE) {
        inner
            .violations
            .push(format!("marketplaceIds {:?}", query.get("marketplaceIds")));
    }
    let json_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        inner.violations.push("body is not JSON".to_owned());
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        inner.violations.push("body does not parse".to_owned());
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(quantity) = check_patch(&mut inner.violations, &body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{"code": "InvalidInput", "message": "Request has missing or invalid parameters and cannot be parsed."}]})),
        )
            .into_response();
    };
    if !inner.offers.contains_key(&sku) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"errors": [{"code": "NOT_FOUND", "message": format!("SKU '{sku}' not found in marketplace {MARKETPLACE}")}]})),
        )
            .into_response();
    }
    inner.offers.insert(sku.clone(), quantity);
    inner.sets.entry(sku.clone()).or_default().push(quantity);
    Json(json!({
        "sku": sku,
        "status": "ACCEPTED",
        "submissionId": format!("sub-{}", inner.sets.values().map(Vec::len).sum::<usize>()),
        "issues": [],
    }))
    .into_response()
}

/// The quantity a patch body sets, recording each departure from the documented shape.
fn check_patch(violations: &mut Vec<String>, body: &Value) -> Option<i64> {
    if body
        .get("productType")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        violations.push("no productType".to_owned());
    }
    let patches = body.get("patches").and_then(Value::as_array)?;
    let [patch] = patches.as_slice() else {
        violations.push(format!("{} patches", patches.len()));
        return None;
    };
    let op = patch.get("op").and_then(Value::as_str).unwrap_or("");
    if !["add", "replace", "merge"].contains(&op) {
        violations.push(format!("op {op}"));
    }
    if patch.get("path").and_then(Value::as_str) != Some("/attributes/fulfillment_availability") {
        violations.push(format!("path {}", patch["path"]));
    }
    let value = patch.get("value").and_then(Value::as_array)?;
    let [availability] = value.as_slice() else {
        violations.push(format!("{} availabilities", value.len()));
        return None;
    };
    if availability
        .get("fulfillment_channel_code")
        .and_then(Value::as_str)
        != Some("DEFAULT")
    {
        violations.push(format!(
            "channel code {}",
            availability["fulfillment_channel_code"]
        ));
    }
    let quantity = availability.get("quantity").and_then(Value::as_i64);
    if quantity.is_none_or(|q| q < 0) {
        violations.push(format!("quantity {}", availability["quantity"]));
    }
    quantity
}
