//! The reference HTTP service: the library behind a JSON API, Shopify-style webhooks
//! and HTTP channel adapters, on SQLite by default or PostgreSQL by URL.
//!
//! [`router`] builds the routes over any [`ServiceStore`]; [`start`] serves them on a
//! listener with the expiry sweep and the sync worker in the background; [`run`] opens
//! the database named by [`Settings`] and serves until a shutdown signal; [`main`] is
//! the program (`cargo run -p inventory-examples --example reference_service`).

mod catalog;
pub mod channel_amazon;
pub mod channel_http;
pub mod channel_shopify;
pub mod config;
mod counts;
pub mod error;
pub mod events_http;
mod ledger;
pub mod metrics;
pub mod openapi;
mod purchasing;
mod reservations;
mod returns;
mod run;
mod shopify;
mod stock;
mod transfers;
mod views;

use std::sync::Arc;

use axum::extract::Request;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, FromRequestParts, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{middleware, Json, Router};
use inventory_core::backend::Backend;
use inventory_core::sync::SyncWorker;
use inventory_core::{Inventory, Sku};
use subtle::ConstantTimeEq;
use tower_http::trace::TraceLayer;

pub use config::{ConfigError, ServiceConfig, Settings};
pub use error::{ApiError, ApiResult, ErrorCode};
pub use metrics::Metrics;
pub use run::{main, run, start, Service, StartError};
pub use shopify::sign;

/// Every storage capability the service uses: a full
/// [`Backend`], which the SQLite, PostgreSQL and memory
/// stores all are.
pub trait ServiceStore: Backend {}

impl<T: Backend> ServiceStore for T {}

/// What every handler shares.
pub struct AppState<S: ServiceStore> {
    /// The inventory.
    pub inventory: Inventory<S>,
    /// The sync worker, for channel status.
    pub worker: Arc<SyncWorker<S>>,
    /// The config file's settings.
    pub config: Arc<ServiceConfig>,
    /// The metrics.
    pub metrics: Arc<Metrics>,
}

/// The header naming who makes a stock change: written as the actor of its ledger
/// entries (`clerk:ana`, `erp`, `scanner-4`).
pub const ACTOR: &str = "x-actor";

/// The header naming the document behind a stock change (`asn:2026-0042`): written as
/// the reference of its ledger entries that name no document of their own.
pub const REFERENCE: &str = "x-reference";

impl<S: ServiceStore> AppState<S> {
    /// The inventory acting for the request's `X-Actor` and `X-Reference`, or the
    /// plain one without them.
    ///
    /// # Errors
    ///
    /// 422 `invalid_request` for a malformed actor or reference.
    pub fn acting(&self, headers: &axum::http::HeaderMap) -> ApiResult<Inventory<S>> {
        let text = |name: &str| -> ApiResult<Option<&str>> {
            headers
                .get(name)
                .map(|value| {
                    value
                        .to_str()
                        .map_err(|_| ApiError::invalid(format!("{name} is not visible ASCII")))
                })
                .transpose()
        };
        let mut inventory = self.inventory.clone();
        if let Some(actor) = text(ACTOR)? {
            inventory = inventory.acting_as(actor)?;
        }
        if let Some(reference) = text(REFERENCE)? {
            inventory = inventory.with_reference(reference)?;
        }
        Ok(inventory)
    }
}

impl<S: ServiceStore> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            inventory: self.inventory.clone(),
            worker: Arc::clone(&self.worker),
            config: Arc::clone(&self.config),
            metrics: Arc::clone(&self.metrics),
        }
    }
}

impl<S: ServiceStore> FromRef<AppState<S>> for Arc<Metrics> {
    fn from_ref(state: &AppState<S>) -> Self {
        Arc::clone(&state.metrics)
    }
}

/// A JSON body whose rejection is an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Body<T>(pub T);

/// Path parameters whose rejection is an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The raw request body, whose rejection (a body over the limit, a dropped upload) is an
/// [`ApiError`].
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(request, state)
            .await
            .map(Self)
            .map_err(|rejection| {
                let status = match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::BAD_REQUEST,
                };
                ApiError::new(status, ErrorCode::InvalidRequest, rejection.body_text())
            })
    }
}

/// Query parameters whose rejection is an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// All routes of the service over `state`.
pub fn router<S: ServiceStore>(state: AppState<S>) -> Router {
    let metrics = Arc::clone(&state.metrics);
    let api = Router::new()
        .route("/v1/receipts", post(stock::receive::<S>))
        .route("/v1/adjustments", post(stock::adjust::<S>))
        .route(
            "/v1/stock/set",
            post(stock::set::<S>).get(stock::show_set::<S>),
        )
        .route("/v1/stock/{sku}", get(stock::show::<S>))
        .route("/v1/stock/{sku}/states", post(stock::change_state::<S>))
        .route("/v1/ledger", get(ledger::list::<S>))
        .route("/v1/reservations", post(reservations::create::<S>))
        .route("/v1/returns", post(returns::record::<S>))
        .route("/v1/transfers", post(transfers::ship::<S>))
        .route("/v1/transfers/{id}", get(transfers::show::<S>))
        .route("/v1/transfers/{id}/receive", post(transfers::receive::<S>))
        .route("/v1/transfers/{id}/close", post(transfers::close::<S>))
        .route("/v1/reservations/{id}", get(reservations::show::<S>))
        .route(
            "/v1/reservations/{id}/commit",
            post(reservations::commit::<S>),
        )
        .route("/v1/reservations/{id}/ship", post(reservations::ship::<S>))
        .route(
            "/v1/reservations/{id}/release",
            post(reservations::release::<S>),
        )
        .route(
            "/v1/reservations/{id}/extend",
            post(reservations::extend::<S>),
        )
        .route("/v1/counts", post(counts::record::<S>))
        .route("/v1/counts/due", get(counts::due::<S>))
        .route("/v1/skus/{sku}/unfreeze", post(counts::unfreeze::<S>))
        .route(
            "/v1/skus/{sku}/bundle",
            put(catalog::put::<S>)
                .get(catalog::show::<S>)
                .delete(catalog::remove::<S>),
        )
        .route(
            "/v1/skus/{sku}/policy",
            put(catalog::put_policy::<S>).get(catalog::show_policy::<S>),
        )
        .route(
            "/v1/channels/{name}/stock/{sku}",
            get(purchasing::channel_stock::<S>),
        )
        .route("/v1/reorder/run", post(purchasing::reorder::<S>))
        .route("/v1/purchase-orders", get(purchasing::list::<S>))
        .route("/v1/purchase-orders/{id}/send", post(purchasing::send::<S>))
        .route("/v1/purchase-orders/{id}/ship", post(purchasing::ship::<S>))
        .route(
            "/v1/purchase-orders/{id}/receive",
            post(purchasing::receive::<S>),
        )
        .route(
            "/v1/purchase-orders/{id}/close",
            post(purchasing::close::<S>),
        )
        .route(
            "/v1/purchase-orders/{id}/cancel",
            post(purchasing::cancel::<S>),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_token::<S>,
        ));
    Router::new()
        .route("/healthz", get(health::<S>))
        .route("/metrics", get(metrics::handler))
        .route("/openapi.json", get(openapi::document))
        // Webhooks carry their own signature instead of the API token.
        .route("/v1/webhooks/shopify", post(shopify::webhook::<S>))
        .merge(api)
        .method_not_allowed_fallback(error::wrong_method)
        .route_layer(middleware::from_fn_with_state(metrics, metrics::track))
        .fallback(error::no_route)
        .layer(DefaultBodyLimit::max(config::BODY_BYTES_MAX))
        .layer(middleware::from_fn(deadline))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A request still running after [`config::REQUEST_TIMEOUT`] is dropped and answered
/// 503 `unavailable` with `Retry-After`, as the JSON error body.
async fn deadline(request: Request, next: Next) -> Response {
    match tokio::time::timeout(config::REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            format!(
                "the request took longer than {} s",
                config::REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    }
}

/// With an API token configured, every `/v1` call but webhooks needs
/// `Authorization: Bearer <token>` (compared in constant time); 401 otherwise.
async fn require_token<S: ServiceStore>(
    State(app): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = app.config.api_token.as_deref() {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            return ApiError::unauthorized("missing or wrong bearer token").into_response();
        }
    }
    next.run(request).await
}

/// The answer of `GET /healthz`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// `GET /healthz`: 200 when the database answers, 503 when it does not.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "operations",
    responses((status = 200, description = "The database answers.", body = Health)),
)]
async fn health<S: ServiceStore>(State(app): State<AppState<S>>) -> ApiResult<Json<Health>> {
    let probe = Sku::new("healthz").map_err(ApiError::from)?;
    app.inventory.store().stock(&probe).await.map_err(|error| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            format!("database unreachable: {error}"),
        )
    })?;
    Ok(Json(Health { status: "ok" }))
}

/// Whether an open investigation freezes `sku`.
///
/// # Errors
///
/// Storage errors.
pub async fn is_frozen<S: ServiceStore>(app: &AppState<S>, sku: &Sku) -> ApiResult<bool> {
    let frozen = app
        .inventory
        .read(|store| store.frozen(std::slice::from_ref(sku)))
        .await?;
    Ok(frozen.contains(sku))
}

/// A JSON body that may be absent: empty, or `null`, means `T::default()`.
///
/// # Errors
///
/// 400 `invalid_request` when the body is not JSON of the expected shape.
pub fn optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice::<Option<T>>(body)
        .map(Option::unwrap_or_default)
        .map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                error.to_string(),
            )
        })
}
