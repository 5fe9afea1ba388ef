//! The Shopify channel adapter: sets each SKU's `available` quantity at one Shopify
//! location through the Admin GraphQL API, as Shopify documents it for API version
//! [`API_VERSION`].
//!
//! - **Mutation**: `inventorySetQuantities` on the `available` quantity name, up to
//!   [`BATCH_MAX`] inventory items per call, each with the `changeFromQuantity`
//!   compare-and-set Shopify makes mandatory from 2026-04 (the quantity Shopify was last
//!   seen to hold), and an `@idempotent` key: a call sent again after a timeout or a
//!   5xx carries the same key, so Shopify applies it at most once.
//! - **Stale compare-and-set**: Shopify's number moves on its own (an order placed on
//!   the storefront takes units). On `CHANGE_FROM_QUANTITY_STALE` the adapter reads
//!   Shopify's current numbers and sends the same targets again from them; the number
//!   set is always the one the sync worker computed, never Shopify's number plus a
//!   difference, so a stale read can never raise what is offered.
//! - **Mapping**: a SKU's inventory item is found once (`inventoryItems` searched by
//!   SKU, matched exactly) and cached with Shopify's current quantity; a SKU Shopify
//!   does not know, or knows twice, or does not stock at the location, is skipped (the
//!   rest of the push goes on) and looked up again after [`UNMAPPED_RECHECK`].
//! - **Throttling**: Shopify's cost-based limits are honoured: each answer's
//!   `extensions.cost.throttleStatus` is kept and a call waits until the bucket holds
//!   its cost; a `THROTTLED` answer (or HTTP 429 with `Retry-After`) is retried after
//!   the wait it asks for.
//! - **Token**: `X-Shopify-Access-Token`, from the config file or the environment; it
//!   is held in a [`Secret`] that never prints, and no message names it.
//!
//! Any other failure (5xx twice, a timeout twice, a refused token, an unexpected
//! answer) fails the push: the sync worker rests the channel and retries with backoff,
//! and the failure shows in `/metrics` and `GET /v1/channels/{name}/stock/{sku}`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use inventory_core::sync::{Channel, ChannelError, StockUpdate};
use inventory_core::Sku;
use serde::Deserialize;
use serde_json::{json, Value};

use super::metrics::{ChannelLabels, Metrics};

/// The Admin API version the adapter speaks.
pub const API_VERSION: &str = "2026-04";
/// Most inventory items one `inventorySetQuantities` call sets.
pub const BATCH_MAX: usize = 250;
/// SKUs looked up per `inventoryItems` search (its cost grows with the page).
pub const RESOLVE_CHUNK: usize = 50;
/// How long a SKU Shopify did not know is skipped before it is looked up again.
pub const UNMAPPED_RECHECK: Duration = Duration::from_secs(600);
/// How long one call to Shopify may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for Shopify's throttle; a longer one fails the push (the worker backs
/// off instead of holding its pass).
pub const THROTTLE_WAIT_MAX: Duration = Duration::from_secs(30);
/// The environment variable the token is read from when the file names none.
pub const TOKEN_ENV_DEFAULT: &str = "SHOPIFY_ACCESS_TOKEN";

/// Sends of one call (the first and its repeats after a 5xx, a timeout or a throttle).
const SENDS_MAX: usize = 6;
/// The pause before a call is sent again after a 5xx or a failed send, times the
/// sends so far.
pub const RESEND_PAUSE: Duration = Duration::from_millis(100);

/// Waits before sending a call again after a 5xx or a failed send: longer each time.
pub(super) async fn resend_pause(attempt: usize) {
    let sends = u32::try_from(attempt + 1).unwrap_or(u32::MAX);
    tokio::time::sleep(RESEND_PAUSE.saturating_mul(sends)).await;
}
/// Rounds of a push: reads after a stale compare-and-set, drops of refused items.
const ROUNDS_MAX: usize = 4;

const SET_MUTATION: &str =
    "mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}";

const ITEMS_QUERY: &str = "query ItemsBySku($query: String!, $first: Int!, $location: ID!) {
  inventoryItems(first: $first, query: $query) {
    nodes {
      id
      sku
      inventoryLevel(locationId: $location) {
        quantities(names: [\"available\"]) { name quantity }
      }
    }
  }
}";

/// A value that never prints: an access token.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The `[channels.shopify]` section of a channel that is a Shopify store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopifyConfig {
    /// The shop's domain, `my-store.myshopify.com`.
    pub shop: Option<String>,
    /// The full GraphQL URL instead of the one `shop` gives (a proxy, a stand-in).
    pub api_url: Option<String>,
    /// The Shopify location the numbers are set at: `gid://shopify/Location/123` or
    /// `123`.
    pub location_id: String,
    /// The access token (scopes `read_inventory`, `write_inventory`, `read_products`);
    /// better left out of the file and given in the environment.
    pub access_token: Option<Secret>,
    /// The environment variable holding the token when `access_token` is absent
    /// (default [`TOKEN_ENV_DEFAULT`]).
    pub access_token_env: Option<String>,
    /// How long one call may take, in seconds (default [`CALL_TIMEOUT`]); a call
    /// that runs out is sent again with the same idempotency key.
    pub timeout_seconds: Option<f64>,
}

impl ShopifyConfig {
    /// Fills `access_token` from the environment when the file names none.
    pub fn token_from(&mut self, env: impl Fn(&str) -> Option<String>) {
        if self.access_token.is_none() {
            let name = self
                .access_token_env
                .as_deref()
                .unwrap_or(TOKEN_ENV_DEFAULT);
            self.access_token = env(name).filter(|token| !token.is_empty()).map(Secret);
        }
    }

    /// The GraphQL endpoint.
    ///
    /// # Errors
    ///
    /// [`ShopifyConfigError`] without `shop` or `api_url`, or with a shop that is not a
    /// bare domain.
    pub fn endpoint(&self) -> Result<String, ShopifyConfigError> {
        if let Some(url) = &self.api_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ShopifyConfigError::Url(url.clone()));
            }
            return Ok(url.clone());
        }
        let shop = self.shop.as_deref().ok_or(ShopifyConfigError::NoShop)?;
        let bare = !shop.is_empty()
            && shop
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !bare {
            return Err(ShopifyConfigError::Shop(shop.to_owned()));
        }
        Ok(format!(
            "https://{shop}/admin/api/{API_VERSION}/graphql.json"
        ))
    }

    /// How long one call may take.
    ///
    /// # Errors
    ///
    /// [`ShopifyConfigError::Timeout`] unless it is from 0.001 to 600 seconds.
    pub fn timeout(&self) -> Result<Duration, ShopifyConfigError> {
        match self.timeout_seconds {
            None => Ok(CALL_TIMEOUT),
            Some(seconds) if (0.001..=600.0).contains(&seconds) => {
                Ok(Duration::from_secs_f64(seconds))
            }
            Some(seconds) => Err(ShopifyConfigError::Timeout(seconds)),
        }
    }

    /// The location as a global id.
    ///
    /// # Errors
    ///
    /// [`ShopifyConfigError::Location`] unless it is a number or a location gid.
    pub fn location_gid(&self) -> Result<String, ShopifyConfigError> {
        let id = &self.location_id;
        let number = id.strip_prefix("gid://shopify/Location/").unwrap_or(id);
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            return Err(ShopifyConfigError::Location(id.clone()));
        }
        Ok(format!("gid://shopify/Location/{number}"))
    }
}

/// A Shopify channel's section cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ShopifyConfigError {
    /// Neither `shop` nor `api_url` is given.
    #[error("a Shopify channel needs `shop` (my-store.myshopify.com) or `api_url`")]
    NoShop,
    /// `shop` is not a bare domain.
    #[error("Shopify shop {0:?} is not a domain such as my-store.myshopify.com")]
    Shop(String),
    /// `api_url` is not an http(s) URL.
    #[error("Shopify api_url {0:?} is not an http(s) URL")]
    Url(String),
    /// `location_id` is not a location id.
    #[error("Shopify location_id {0:?} is neither a number nor gid://shopify/Location/<n>")]
    Location(String),
    /// `timeout_seconds` is out of range.
    #[error("Shopify timeout_seconds {0} is not from 0.001 to 600")]
    Timeout(f64),
    /// No token in the file or the environment.
    #[error("no Shopify access token: set access_token or the variable {0}")]
    NoToken(String),
    /// The HTTP client could not be built.
    #[error("Shopify HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// What the adapter knows of a SKU on Shopify.
#[derive(Debug, Clone)]
enum Mapping {
    /// Its inventory item, and the quantity Shopify was last seen to hold (`None`:
    /// read it before the next set).
    Item { id: String, quantity: Option<i64> },
    /// Not found (or ambiguous, or not stocked at the location) at this instant.
    Skipped { at: Instant },
}

/// Shopify's cost bucket, as its last answer described it.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    available: f64,
    maximum: f64,
    restore_rate: f64,
    at: Instant,
}

impl Bucket {
    /// How long until the bucket holds `cost`.
    fn wait_for(&self, cost: f64) -> Duration {
        let elapsed = self.at.elapsed().as_secs_f64();
        let now = (self.available + elapsed * self.restore_rate).min(self.maximum);
        if now >= cost || self.restore_rate <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64((cost - now) / self.restore_rate)
    }
}

#[derive(Debug, Default)]
struct State {
    items: HashMap<Sku, Mapping>,
    bucket: Option<Bucket>,
    /// Cost of the last call of each kind, the estimate for the next one.
    costs: HashMap<&'static str, f64>,
}

/// A channel that is a Shopify store's location.
pub struct ShopifyChannel {
    name: String,
    endpoint: String,
    location: String,
    token: Secret,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
}

impl fmt::Debug for ShopifyChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopifyChannel")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// One SKU of a push: its item, the number to set and what Shopify holds.
#[derive(Debug, Clone)]
struct Target {
    sku: Sku,
    item: String,
    quantity: i64,
    from: i64,
}

impl ShopifyChannel {
    /// A channel called `name` on the store `config` names.
    ///
    /// # Errors
    ///
    /// [`ShopifyConfigError`] for a missing token, shop or bad location.
    pub fn new(
        name: &str,
        config: &ShopifyConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ShopifyConfigError> {
        let token = config.access_token.clone().ok_or_else(|| {
            ShopifyConfigError::NoToken(
                config
                    .access_token_env
                    .clone()
                    .unwrap_or_else(|| TOKEN_ENV_DEFAULT.to_owned()),
            )
        })?;
        Ok(Self {
            name: name.to_owned(),
            endpoint: config.endpoint()?,
            location: config.location_gid()?,
            token,
            client: reqwest::Client::builder()
                .timeout(config.timeout()?)
                .build()?,
            metrics,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends one GraphQL document, waiting for the throttle first, and sends it again
    /// (same body, so the same idempotency key) after a 5xx, a timeout or a throttle.
    async fn call(&self, kind: &'static str, body: &Value) -> Result<Value, ChannelError> {
        let mut last = String::new();
        for attempt in 0..SENDS_MAX {
            let wait = {
                let state = self.state();
                let cost = state.costs.get(kind).copied().unwrap_or(10.0);
                state.bucket.map_or(Duration::ZERO, |b| b.wait_for(cost))
            };
            self.pause(wait).await?;
            let response = self
                .client
                .post(&self.endpoint)
                .header("X-Shopify-Access-Token", self.token.expose())
                .json(body)
                .send()
                .await;
            let response = match response {
                Ok(response) => response,
                Err(error) => {
                    last = format!("Shopify {kind} call failed: {error}");
                    tracing::debug!(channel = %self.name, %last, "sending again");
                    resend_pause(attempt).await;
                    continue;
                }
            };
            let status = response.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let seconds = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse::<f64>().ok())
                    .unwrap_or(1.0);
                self.throttled(Duration::from_secs_f64(seconds.max(0.0)))
                    .await?;
                last = format!("Shopify {kind} call answered 429");
                continue;
            }
            if status.is_server_error() {
                last = format!("Shopify {kind} call answered {status}");
                tracing::debug!(channel = %self.name, %last, "sending again");
                resend_pause(attempt).await;
                continue;
            }
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                return Err(ChannelError::new(format!(
                    "Shopify refused the access token ({status}): check it and its scopes \
                     (read_inventory, write_inventory, read_products)"
                )));
            }
            if !status.is_success() {
                return Err(ChannelError::new(format!(
                    "Shopify {kind} call answered {status}"
                )));
            }
            let answer: Value = response.json().await.map_err(|error| {
                ChannelError::new(format!("Shopify {kind} answer is not JSON: {error}"))
            })?;
            let requested = self.note_cost(kind, &answer);
            if let Some(errors) = answer.get("errors") {
                let throttled = errors.as_array().is_some_and(|errors| {
                    errors.iter().any(|error| {
                        error.pointer("/extensions/code").and_then(Value::as_str)
                            == Some("THROTTLED")
                    })
                });
                if throttled {
                    let wait = {
                        let state = self.state();
                        state
                            .bucket
                            .map_or(Duration::from_secs(1), |b| b.wait_for(requested))
                    };
                    self.throttled(wait).await?;
                    last = format!("Shopify {kind} call throttled");
                    continue;
                }
                return Err(ChannelError::new(format!(
                    "Shopify {kind} call refused: {errors}"
                )));
            }
            return Ok(answer);
        }
        Err(ChannelError::new(last))
    }

    /// Keeps the answer's throttle status and cost; answers the cost it asked for.
    fn note_cost(&self, kind: &'static str, answer: &Value) -> f64 {
        let cost = answer.pointer("/extensions/cost");
        let requested = cost
            .and_then(|cost| cost.get("requestedQueryCost"))
            .and_then(Value::as_f64)
            .unwrap_or(10.0);
        let mut state = self.state();
        state.costs.insert(kind, requested);
        if let Some(status) = cost.and_then(|cost| cost.get("throttleStatus")) {
            let number = |name: &str| status.get(name).and_then(Value::as_f64);
            if let (Some(available), Some(maximum), Some(restore_rate)) = (
                number("currentlyAvailable"),
                number("maximumAvailable"),
                number("restoreRate"),
            ) {
                state.bucket = Some(Bucket {
                    available,
                    maximum,
                    restore_rate,
                    at: Instant::now(),
                });
            }
        }
        requested
    }

    async fn throttled(&self, wait: Duration) -> Result<(), ChannelError> {
        let labels = ChannelLabels {
            channel: self.name.clone(),
        };
        self.metrics.channel_throttled.get_or_create(&labels).inc();
        tracing::debug!(channel = %self.name, wait_ms = wait.as_millis(), "Shopify throttled");
        self.pause(wait).await
    }

    async fn pause(&self, wait: Duration) -> Result<(), ChannelError> {
        if wait > THROTTLE_WAIT_MAX {
            return Err(ChannelError::new(format!(
                "Shopify asks to wait {} s, longer than {} s",
                wait.as_secs(),
                THROTTLE_WAIT_MAX.as_secs()
            )));
        }
        if !wait.is_zero() {
            // A millisecond more than asked: the bucket refills continuously.
            tokio::time::sleep(wait + Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// Looks up the inventory items (and current quantities) of `skus`.
    async fn resolve(&self, skus: &[Sku]) -> Result<(), ChannelError> {
        for chunk in skus.chunks(RESOLVE_CHUNK) {
            let search = chunk
                .iter()
                .map(|sku| format!("sku:{}", search_quote(sku.as_str())))
                .collect::<Vec<_>>()
                .join(" OR ");
            let body = json!({
                "query": ITEMS_QUERY,
                // Room for a SKU on two items (refused as ambiguous), and a page whose
                // cost stays far below Shopify's per-query limit.
                "variables": {"query": search, "first": chunk.len() * 2, "location": self.location},
            });
            let answer = self.call("inventoryItems", &body).await?;
            let nodes = answer
                .pointer("/data/inventoryItems/nodes")
                .and_then(Value::as_array)
                .ok_or_else(|| ChannelError::new("Shopify inventoryItems answer has no nodes"))?;
            let mut found: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
            for node in nodes {
                if let Some(sku) = node.get("sku").and_then(Value::as_str) {
                    found.entry(sku).or_default().push(node);
                }
            }
            let mut state = self.state();
            for sku in chunk {
                let mapping = match found.get(sku.as_str()).map(Vec::as_slice) {
                    Some([node]) => item_mapping(node),
                    Some(nodes) => {
                        tracing::warn!(channel = %self.name, %sku, items = nodes.len(),
                            "SKU is on several Shopify inventory items; skipped");
                        None
                    }
                    None => {
                        tracing::warn!(channel = %self.name, %sku,
                            "SKU not found on Shopify (or not stocked at the location); skipped");
                        None
                    }
                };
                state.items.insert(
                    sku.clone(),
                    mapping.unwrap_or(Mapping::Skipped { at: Instant::now() }),
                );
            }
        }
        Ok(())
    }

    /// The SKUs of `updates` to look up: never seen, skipped long enough ago, or whose
    /// Shopify quantity is unknown.
    fn unresolved(&self, updates: &[StockUpdate]) -> Vec<Sku> {
        let state = self.state();
        updates
            .iter()
            .filter(|update| match state.items.get(&update.sku) {
                None | Some(Mapping::Item { quantity: None, .. }) => true,
                Some(Mapping::Item { .. }) => false,
                Some(Mapping::Skipped { at }) => at.elapsed() >= UNMAPPED_RECHECK,
            })
            .map(|update| update.sku.clone())
            .collect()
    }

    /// What to set: every mapped SKU (capped at GraphQL's 32-bit `Int`; no shop offers
    /// more). A SKU whose number Shopify already shows is set all the same: the number
    /// kept here may be stale (a storefront sale), and a reconciliation must correct
    /// exactly that; the compare-and-set finds out.
    fn targets(&self, updates: &[StockUpdate]) -> Vec<Target> {
        let state = self.state();
        updates
            .iter()
            .filter_map(|update| match state.items.get(&update.sku) {
                Some(Mapping::Item {
                    id,
                    quantity: Some(from),
                }) => Some(Target {
                    sku: update.sku.clone(),
                    item: id.clone(),
                    quantity: update.quantity.clamp(0, i64::from(i32::MAX)),
                    from: *from,
                }),
                _ => None,
            })
            .collect()
    }

    /// Sets `targets` in one call; answers the user errors Shopify gave.
    async fn set(&self, targets: &[Target]) -> Result<Vec<UserError>, ChannelError> {
        let quantities: Vec<Value> = targets
            .iter()
            .map(|target| {
                json!({
                    "inventoryItemId": target.item,
                    "locationId": self.location,
                    "quantity": target.quantity,
                    "changeFromQuantity": target.from,
                })
            })
            .collect();
        let key = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "query": SET_MUTATION,
            "variables": {
                "input": {
                    "name": "available",
                    "reason": "correction",
                    "referenceDocumentUri": format!("inventory-sync://{}/{key}", self.name),
                    "quantities": quantities,
                },
                "key": key,
            },
        });
        let answer = self.call("inventorySetQuantities", &body).await?;
        let payload = answer
            .pointer("/data/inventorySetQuantities")
            .filter(|payload| !payload.is_null())
            .ok_or_else(|| {
                ChannelError::new("Shopify inventorySetQuantities answer has no payload")
            })?;
        let errors = payload
            .get("userErrors")
            .and_then(Value::as_array)
            .map(|errors| errors.iter().map(UserError::from_value).collect())
            .unwrap_or_default();
        Ok(errors)
    }

    async fn push_all(&self, updates: &[StockUpdate]) -> Result<(), ChannelError> {
        for _ in 0..ROUNDS_MAX {
            let unresolved = self.unresolved(updates);
            if !unresolved.is_empty() {
                self.resolve(&unresolved).await?;
            }
            let targets = self.targets(updates);
            if targets.is_empty() {
                return Ok(());
            }
            let errors = self.set(&targets).await?;
            let mut state = self.state();
            if errors.is_empty() {
                for target in &targets {
                    if let Some(Mapping::Item { quantity, .. }) = state.items.get_mut(&target.sku) {
                        *quantity = Some(target.quantity);
                    }
                }
                tracing::debug!(channel = %self.name, set = targets.len(), "Shopify set");
                return Ok(());
            }
            // Shopify applies all of a call or none of it: read what went stale, drop
            // what it refused, and try the rest again.
            let mut refused = Vec::new();
            for error in &errors {
                let target = error.index.and_then(|index| targets.get(index));
                match (error.code.as_deref(), target) {
                    (Some("CHANGE_FROM_QUANTITY_STALE"), Some(target)) => {
                        if let Some(Mapping::Item { quantity, .. }) =
                            state.items.get_mut(&target.sku)
                        {
                            *quantity = None;
                        }
                    }
                    (Some("CHANGE_FROM_QUANTITY_STALE"), None) => {
                        for target in &targets {
                            if let Some(Mapping::Item { quantity, .. }) =
                                state.items.get_mut(&target.sku)
                            {
                                *quantity = None;
                            }
                        }
                    }
                    (_, Some(target)) => {
                        tracing::warn!(channel = %self.name, sku = %target.sku,
                            code = error.code.as_deref(), message = %error.message,
                            "Shopify refused the SKU's number; skipped");
                        state
                            .items
                            .insert(target.sku.clone(), Mapping::Skipped { at: Instant::now() });
                    }
                    (_, None) => refused.push(error.message.clone()),
                }
            }
            if !refused.is_empty() {
                return Err(ChannelError::new(format!(
                    "Shopify refused the call: {}",
                    refused.join("; ")
                )));
            }
        }
        Err(ChannelError::new(format!(
            "Shopify's numbers kept changing during {ROUNDS_MAX} rounds; retried later"
        )))
    }
}

/// A user error of `inventorySetQuantities`.
#[derive(Debug)]
struct UserError {
    code: Option<String>,
    /// The quantity it names (`field` = `["input", "quantities", "<i>", ...]`).
    index: Option<usize>,
    message: String,
}

impl UserError {
    fn from_value(value: &Value) -> Self {
        let field: Vec<&str> = value
            .get("field")
            .and_then(Value::as_array)
            .map(|field| field.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let index = match field.as_slice() {
            ["input", "quantities", index, ..] => index.parse().ok(),
            _ => None,
        };
        Self {
            code: value.get("code").and_then(Value::as_str).map(str::to_owned),
            index,
            message: value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
                .to_owned(),
        }
    }
}

/// An item node's mapping, if it is stocked at the location.
fn item_mapping(node: &Value) -> Option<Mapping> {
    let id = node.get("id").and_then(Value::as_str)?.to_owned();
    let quantities = node
        .pointer("/inventoryLevel/quantities")
        .and_then(Value::as_array)?;
    let quantity = quantities
        .iter()
        .find(|q| q.get("name").and_then(Value::as_str) == Some("available"))
        .and_then(|q| q.get("quantity"))
        .and_then(Value::as_i64)?;
    Some(Mapping::Item {
        id,
        quantity: Some(quantity),
    })
}

/// A value of Shopify's search syntax: quoted, with `\` and `"` escaped.
fn search_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[async_trait]
impl Channel for ShopifyChannel {
    async fn push(&self, updates: &[StockUpdate]) -> Result<(), ChannelError> {
        let labels = ChannelLabels {
            channel: self.name.clone(),
        };
        let result = self.push_all(updates).await;
        match &result {
            Ok(()) => {
                self.metrics.sync_pushes.get_or_create(&labels).inc();
            }
            Err(error) => {
                self.metrics.sync_failures.get_or_create(&labels).inc();
                tracing::warn!(channel = %self.name, %error, "Shopify push failed; will retry");
            }
        }
        result
    }

    fn batch_max(&self) -> usize {
        BATCH_MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_values_are_quoted_and_escaped() {
        assert_eq!(search_quote("TEE-M"), "\"TEE-M\"");
        assert_eq!(search_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn the_token_never_prints() {
        let config = ShopifyConfig {
            shop: Some("shop.myshopify.com".into()),
            api_url: None,
            location_id: "7".into(),
            access_token: Some(Secret::new("shpat_very_secret")),
            access_token_env: None,
            timeout_seconds: None,
        };
        assert!(!format!("{config:?}").contains("very_secret"));
        let channel = ShopifyChannel::new("shopify", &config, Arc::default()).unwrap();
        assert!(!format!("{channel:?}").contains("very_secret"));
    }

    #[test]
    fn config_errors_are_typed() {
        let mut config = ShopifyConfig {
            shop: Some("shop.myshopify.com".into()),
            api_url: None,
            location_id: "gid://shopify/Location/12".into(),
            access_token: None,
            access_token_env: Some("MY_TOKEN".into()),
            timeout_seconds: Some(0.5),
        };
        assert!(matches!(
            ShopifyChannel::new("s", &config, Arc::default()),
            Err(ShopifyConfigError::NoToken(name)) if name == "MY_TOKEN"
        ));
        config.token_from(|name| (name == "MY_TOKEN").then(|| "t".to_owned()));
        assert_eq!(config.location_gid().unwrap(), "gid://shopify/Location/12");
        assert_eq!(
            config.endpoint().unwrap(),
            format!("https://shop.myshopify.com/admin/api/{API_VERSION}/graphql.json")
        );
        config.location_id = "gid://shopify/Product/1".into();
        assert!(matches!(
            config.location_gid(),
            Err(ShopifyConfigError::Location(_))
        ));
        config.shop = Some("evil.com/path?".into());
        assert!(matches!(
            config.endpoint(),
            Err(ShopifyConfigError::Shop(_))
        ));
    }

    #[test]
    fn the_bucket_waits_for_what_is_missing() {
        let bucket = Bucket {
            available: 10.0,
            maximum: 100.0,
            restore_rate: 50.0,
            at: Instant::now(),
        };
        assert_eq!(bucket.wait_for(5.0), Duration::ZERO);
        let wait = bucket.wait_for(60.0);
        assert!(wait <= Duration::from_millis(1_000) && wait >= Duration::from_millis(990));
    }

    #[test]
    fn user_errors_name_their_quantity() {
        let error = UserError::from_value(&json!({
            "code": "CHANGE_FROM_QUANTITY_STALE",
            "field": ["input", "quantities", "3", "changeFromQuantity"],
            "message": "stale",
        }));
        assert_eq!(error.index, Some(3));
        assert_eq!(error.code.as_deref(), Some("CHANGE_FROM_QUANTITY_STALE"));
    }
}
