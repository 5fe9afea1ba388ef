//! The Amazon channel adapter: sets each SKU's fulfilment quantity for a seller's
//! merchant-fulfilled offers through the Selling Partner API's Listings Items API
//! (version [`LISTINGS_VERSION`]).
//!
//! - **Call**: `patchListingsItem` (`PATCH /listings/2021-08-01/items/{sellerId}/{sku}
//!   ?marketplaceIds=...`) with one `merge` patch of `/attributes/fulfillment_availability`
//!   to `[{"fulfillment_channel_code": "DEFAULT", "quantity": N}]`: only the quantity
//!   changes (a `merge` keeps the offer's handling time and restock date). The number is
//!   absolute, so a repeat is harmless.
//! - **Token**: Login with Amazon's refresh-token exchange (`POST` the token URL with
//!   `grant_type=refresh_token`, the refresh token, client id and secret), kept until a
//!   minute before it expires and fetched again on a `403` that says it expired. The
//!   secret and tokens are [`Secret`]s: they never print, and no message names them.
//! - **Rate limits**: calls are paced to the operation's rate (5 a second by default,
//!   `requests_per_second`); a `429` is retried after its `Retry-After`, or after one
//!   interval of the rate Amazon names in `x-amzn-RateLimit-Limit`.
//! - **Refusals**: a SKU Amazon does not list (`404`), or whose submission is `INVALID`,
//!   is skipped with a warning (the rest of the push goes on); a refused token, a 5xx
//!   that persists or a timeout fails the push, and the sync worker retries it with
//!   backoff.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use inventory_core::sync::{Channel, ChannelError, StockUpdate};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex as AsyncMutex;

use super::channel_shopify::{resend_pause, Secret};
use super::metrics::{ChannelLabels, Metrics};

/// The Listings Items API version the adapter speaks.
pub const LISTINGS_VERSION: &str = "2021-08-01";
/// The North America endpoint, the default.
pub const ENDPOINT_DEFAULT: &str = "https://sellingpartnerapi-na.amazon.com";
/// Login with Amazon's token URL, the default.
pub const TOKEN_URL_DEFAULT: &str = "https://api.amazon.com/auth/o2/token";
/// `patchListingsItem`'s documented rate: 5 requests a second.
pub const RATE_DEFAULT: f64 = 5.0;
/// SKUs per push: one call each, so a push stays short.
pub const BATCH_MAX: usize = 50;
/// How long one call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait a `429` may ask for; a longer one fails the push.
pub const RETRY_WAIT_MAX: Duration = Duration::from_secs(30);

/// Sends of one call (the first and its repeats after a 5xx, a timeout or a 429).
const SENDS_MAX: usize = 6;
/// How long before its expiry an access token is replaced.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// The `[channels.amazon]` section of a channel that is an Amazon seller account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmazonConfig {
    /// The selling partner's id (merchant token).
    pub seller_id: String,
    /// The marketplaces the offers are in (`ATVPDKIKX0DER` is amazon.com).
    pub marketplace_ids: Vec<String>,
    /// The regional SP-API endpoint (default [`ENDPOINT_DEFAULT`]).
    pub endpoint: Option<String>,
    /// The Login with Amazon token URL (default [`TOKEN_URL_DEFAULT`]).
    pub token_url: Option<String>,
    /// The app's LWA client id.
    pub client_id: String,
    /// The app's LWA client secret (or `AMAZON_CLIENT_SECRET`).
    pub client_secret: Option<Secret>,
    /// The seller's refresh token from authorising the app (or
    /// `AMAZON_REFRESH_TOKEN`).
    pub refresh_token: Option<Secret>,
    /// The fulfilment channel code of the offers (default `DEFAULT`, merchant
    /// fulfilled).
    pub fulfillment_channel_code: Option<String>,
    /// Calls a second (default [`RATE_DEFAULT`]).
    pub requests_per_second: Option<f64>,
    /// How long one call may take, in seconds (default [`CALL_TIMEOUT`]).
    pub timeout_seconds: Option<f64>,
}

/// An Amazon channel's section cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AmazonConfigError {
    /// A required value is missing or empty.
    #[error("Amazon channel: {0} is missing (in the file or the environment)")]
    Missing(&'static str),
    /// A URL is not http(s).
    #[error("Amazon channel: {0} {1:?} is not an http(s) URL")]
    Url(&'static str, String),
    /// A number is out of range.
    #[error("Amazon channel: {0} {1} is out of range")]
    Range(&'static str, f64),
    /// The HTTP client could not be built.
    #[error("Amazon HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl AmazonConfig {
    /// Fills the secret and the refresh token from `AMAZON_CLIENT_SECRET` and
    /// `AMAZON_REFRESH_TOKEN` when the file names none.
    pub fn secrets_from(&mut self, env: impl Fn(&str) -> Option<String>) {
        let read = |name: &str| env(name).filter(|value| !value.is_empty()).map(Secret::new);
        if self.client_secret.is_none() {
            self.client_secret = read("AMAZON_CLIENT_SECRET");
        }
        if self.refresh_token.is_none() {
            self.refresh_token = read("AMAZON_REFRESH_TOKEN");
        }
    }

    /// Checks every value a channel needs.
    ///
    /// # Errors
    ///
    /// [`AmazonConfigError`] for the first value missing or out of range.
    pub fn check(&self) -> Result<(), AmazonConfigError> {
        let plain = |value: &str| {
            !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
        };
        if !plain(&self.seller_id) {
            return Err(AmazonConfigError::Missing("seller_id"));
        }
        if self.marketplace_ids.is_empty() || !self.marketplace_ids.iter().all(|id| plain(id)) {
            return Err(AmazonConfigError::Missing("marketplace_ids"));
        }
        if self.client_id.is_empty() {
            return Err(AmazonConfigError::Missing("client_id"));
        }
        for (name, url) in [("endpoint", &self.endpoint), ("token_url", &self.token_url)] {
            if let Some(url) = url {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(AmazonConfigError::Url(name, url.clone()));
                }
            }
        }
        if let Some(rate) = self.requests_per_second {
            if !(0.01..=1_000.0).contains(&rate) {
                return Err(AmazonConfigError::Range("requests_per_second", rate));
            }
        }
        if let Some(seconds) = self.timeout_seconds {
            if !(0.001..=600.0).contains(&seconds) {
                return Err(AmazonConfigError::Range("timeout_seconds", seconds));
            }
        }
        Ok(())
    }
}

/// An access token and when it stops working.
struct Token {
    value: Secret,
    expires: Instant,
}

/// The pacing of calls and the current token; one push at a time holds it.
struct Session {
    token: Option<Token>,
    /// When the next call may go.
    next_call: Instant,
    /// Time between calls: the configured rate's, or the slower rate a `429` named.
    interval: Duration,
}

/// A channel that is an Amazon seller account's merchant-fulfilled offers.
pub struct AmazonChannel {
    name: String,
    config: AmazonConfig,
    client_secret: Secret,
    refresh_token: Secret,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    session: AsyncMutex<Session>,
}

impl fmt::Debug for AmazonChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmazonChannel")
            .field("name", &self.name)
            .field("seller_id", &self.config.seller_id)
            .field("marketplace_ids", &self.config.marketplace_ids)
            .finish_non_exhaustive()
    }
}

/// How one SKU's call ended.
enum Sent {
    /// Amazon accepted the number.
    Accepted,
    /// Amazon does not list the SKU, or refused its number: skipped.
    Skipped(String),
}

impl AmazonChannel {
    /// A channel called `name` on the seller account `config` names.
    ///
    /// # Errors
    ///
    /// [`AmazonConfigError`] for a missing secret or a bad value.
    pub fn new(
        name: &str,
        config: &AmazonConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, AmazonConfigError> {
        config.check()?;
        let client_secret = config
            .client_secret
            .clone()
            .ok_or(AmazonConfigError::Missing("client_secret"))?;
        let refresh_token = config
            .refresh_token
            .clone()
            .ok_or(AmazonConfigError::Missing("refresh_token"))?;
        let timeout = config
            .timeout_seconds
            .map_or(CALL_TIMEOUT, Duration::from_secs_f64);
        let rate = config.requests_per_second.unwrap_or(RATE_DEFAULT);
        Ok(Self {
            name: name.to_owned(),
            config: config.clone(),
            client_secret,
            refresh_token,
            client: reqwest::Client::builder().timeout(timeout).build()?,
            metrics,
            session: AsyncMutex::new(Session {
                token: None,
                next_call: Instant::now(),
                interval: Duration::from_secs_f64(1.0 / rate),
            }),
        })
    }

    fn labels(&self) -> ChannelLabels {
        ChannelLabels {
            channel: self.name.clone(),
        }
    }

    /// A current access token, fetched by the refresh-token exchange when there is
    /// none or it is about to expire.
    async fn token(&self, session: &mut Session) -> Result<Secret, ChannelError> {
        if let Some(token) = &session.token {
            if token.expires > Instant::now() + TOKEN_MARGIN {
                return Ok(token.value.clone());
            }
        }
        let url = self
            .config
            .token_url
            .as_deref()
            .unwrap_or(TOKEN_URL_DEFAULT);
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", self.refresh_token.expose()),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        let response = self
            .client
            .post(url)
            .form(&form)
            .send()
            .await
            .map_err(|error| {
                ChannelError::new(format!(
                    "Amazon token exchange failed: {}",
                    error.without_url()
                ))
            })?;
        let status = response.status();
        if !status.is_success() {
            // The answer names the problem (`invalid_grant`, `invalid_client`), never
            // the secrets sent.
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let code = body.get("error").and_then(Value::as_str).unwrap_or("");
            return Err(ChannelError::new(format!(
                "Amazon refused the refresh-token exchange ({status} {code}): check \
                 client_id, client_secret and refresh_token"
            )));
        }
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: u64,
        }
        let granted: Granted = response.json().await.map_err(|error| {
            ChannelError::new(format!(
                "Amazon token answer unreadable: {}",
                error.without_url()
            ))
        })?;
        let value = Secret::new(granted.access_token);
        session.token = Some(Token {
            value: value.clone(),
            expires: Instant::now() + Duration::from_secs(granted.expires_in),
        });
        tracing::debug!(channel = %self.name, expires_in = granted.expires_in, "Amazon token fetched");
        Ok(value)
    }

    /// Waits for the call's turn at the configured rate.
    async fn paced(&self, session: &mut Session) {
        let now = Instant::now();
        if session.next_call > now {
            tokio::time::sleep(session.next_call - now).await;
        }
        session.next_call = Instant::now() + session.interval;
    }

    /// Sets one SKU's quantity.
    async fn send(
        &self,
        session: &mut Session,
        update: &StockUpdate,
        code: &str,
    ) -> Result<Sent, ChannelError> {
        let endpoint = self.config.endpoint.as_deref().unwrap_or(ENDPOINT_DEFAULT);
        let mut url = reqwest::Url::parse(endpoint)
            .map_err(|error| ChannelError::new(format!("Amazon endpoint: {error}")))?;
        url.path_segments_mut()
            .map_err(|()| ChannelError::new("Amazon endpoint cannot take a path"))?
            .pop_if_empty()
            .extend([
                "listings",
                LISTINGS_VERSION,
                "items",
                self.config.seller_id.as_str(),
                update.sku.as_str(),
            ]);
        url.query_pairs_mut()
            .append_pair("marketplaceIds", &self.config.marketplace_ids.join(","));
        let body = json!({
            "productType": "PRODUCT",
            "patches": [{
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{
                    "fulfillment_channel_code": code,
                    "quantity": update.quantity.max(0),
                }],
            }],
        });
        let mut last = String::new();
        let mut refreshed = false;
        for attempt in 0..SENDS_MAX {
            let token = self.token(session).await?;
            self.paced(session).await;
            let sent = self
                .client
                .patch(url.clone())
                .header("x-amz-access-token", token.expose())
                .json(&body)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    last = format!("Amazon call failed: {}", error.without_url());
                    resend_pause(attempt).await;
                    continue;
                }
            };
            let status = response.status();
            match status.as_u16() {
                200..=299 => {
                    let answer: Value = response.json().await.unwrap_or(Value::Null);
                    return Ok(match answer.get("status").and_then(Value::as_str) {
                        Some("ACCEPTED") => Sent::Accepted,
                        other => Sent::Skipped(format!(
                            "submission {}: {}",
                            other.unwrap_or("without status"),
                            answer.get("issues").unwrap_or(&Value::Null)
                        )),
                    });
                }
                404 => return Ok(Sent::Skipped("not listed".to_owned())),
                400 => {
                    let answer: Value = response.json().await.unwrap_or(Value::Null);
                    return Ok(Sent::Skipped(format!(
                        "refused: {}",
                        answer.get("errors").unwrap_or(&Value::Null)
                    )));
                }
                401 | 403 if !refreshed => {
                    // An expired token: fetch another once, then give up.
                    session.token = None;
                    refreshed = true;
                    last = format!("Amazon answered {status}");
                }
                401 | 403 => {
                    return Err(ChannelError::new(format!(
                        "Amazon refused the access token ({status}): check the app's \
                         authorisation and its Product Listing role"
                    )));
                }
                429 => {
                    if let Some(interval) = named_interval(response.headers()) {
                        // Amazon's rate for this seller is slower than configured.
                        session.interval = session.interval.max(interval);
                    }
                    let wait = retry_wait(response.headers(), session.interval);
                    if wait > RETRY_WAIT_MAX {
                        return Err(ChannelError::new(format!(
                            "Amazon asks to wait {} s",
                            wait.as_secs()
                        )));
                    }
                    self.metrics
                        .channel_throttled
                        .get_or_create(&self.labels())
                        .inc();
                    tracing::debug!(channel = %self.name, wait_ms = wait.as_millis(), "Amazon throttled");
                    session.next_call = session.next_call.max(Instant::now() + wait);
                    last = "Amazon answered 429".to_owned();
                }
                500..=599 => {
                    last = format!("Amazon answered {status}");
                    resend_pause(attempt).await;
                }
                _ => return Err(ChannelError::new(format!("Amazon answered {status}"))),
            }
        }
        Err(ChannelError::new(last))
    }
}

/// A header's non-negative number.
fn header_number(headers: &reqwest::header::HeaderMap, name: &str) -> Option<f64> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n >= 0.0)
}

/// One interval of the rate a `429` names in `x-amzn-RateLimit-Limit` (calls a second).
fn named_interval(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    header_number(headers, "x-amzn-ratelimit-limit")
        .filter(|rate| *rate > 0.0)
        .map(|rate| Duration::from_secs_f64((1.0 / rate).min(3_600.0)))
}

/// How long a `429` asks to wait: its `Retry-After` (seconds), else one interval of
/// the rate it names, else `interval`.
fn retry_wait(headers: &reqwest::header::HeaderMap, interval: Duration) -> Duration {
    if let Some(seconds) = header_number(headers, "retry-after") {
        return Duration::from_secs_f64(seconds.min(3_600.0));
    }
    named_interval(headers).map_or(interval, |named| named.max(interval))
}

#[async_trait]
impl Channel for AmazonChannel {
    async fn push(&self, updates: &[StockUpdate]) -> Result<(), ChannelError> {
        let code = self
            .config
            .fulfillment_channel_code
            .clone()
            .unwrap_or_else(|| "DEFAULT".to_owned());
        let mut session = self.session.lock().await;
        let mut result = Ok(());
        for update in updates {
            match self.send(&mut session, update, &code).await {
                Ok(Sent::Accepted) => {}
                Ok(Sent::Skipped(why)) => {
                    tracing::warn!(channel = %self.name, sku = %update.sku, %why,
                        "Amazon did not take the SKU's number; skipped");
                }
                Err(error) => {
                    result = Err(error);
                    break;
                }
            }
        }
        drop(session);
        match &result {
            Ok(()) => {
                self.metrics.sync_pushes.get_or_create(&self.labels()).inc();
            }
            Err(error) => {
                self.metrics
                    .sync_failures
                    .get_or_create(&self.labels())
                    .inc();
                tracing::warn!(channel = %self.name, %error, "Amazon push failed; will retry");
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

    fn config() -> AmazonConfig {
        AmazonConfig {
            seller_id: "A2SELLER".into(),
            marketplace_ids: vec!["ATVPDKIKX0DER".into()],
            endpoint: None,
            token_url: None,
            client_id: "amzn1.application-oa2-client.x".into(),
            client_secret: Some(Secret::new("very-secret-client")),
            refresh_token: Some(Secret::new("Atzr|very-secret-refresh")),
            fulfillment_channel_code: None,
            requests_per_second: None,
            timeout_seconds: None,
        }
    }

    #[test]
    fn secrets_never_print() {
        let config = config();
        let channel = AmazonChannel::new("amazon", &config, Arc::default()).unwrap();
        for text in [format!("{config:?}"), format!("{channel:?}")] {
            assert!(!text.contains("very-secret"), "{text}");
        }
    }

    #[test]
    fn bad_values_are_typed_errors() {
        let mut missing = config();
        missing.refresh_token = None;
        assert!(matches!(
            AmazonChannel::new("a", &missing, Arc::default()),
            Err(AmazonConfigError::Missing("refresh_token"))
        ));
        missing.secrets_from(|name| (name == "AMAZON_REFRESH_TOKEN").then(|| "Atzr|x".into()));
        assert!(AmazonChannel::new("a", &missing, Arc::default()).is_ok());
        let mut bad = config();
        bad.seller_id = "A/../B".into();
        assert!(matches!(
            bad.check(),
            Err(AmazonConfigError::Missing("seller_id"))
        ));
        let mut bad = config();
        bad.requests_per_second = Some(0.0);
        assert!(matches!(bad.check(), Err(AmazonConfigError::Range(..))));
        let mut bad = config();
        bad.endpoint = Some("ftp://x".into());
        assert!(matches!(bad.check(), Err(AmazonConfigError::Url(..))));
    }

    #[test]
    fn a_429_waits_what_it_names() {
        let interval = Duration::from_millis(200);
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_wait(&headers, interval), interval);
        headers.insert("x-amzn-RateLimit-Limit", "0.5".parse().unwrap());
        assert_eq!(retry_wait(&headers, interval), Duration::from_secs(2));
        headers.insert("Retry-After", "3".parse().unwrap());
        assert_eq!(retry_wait(&headers, interval), Duration::from_secs(3));
    }
}
