//! Shopify-style order webhooks: `orders/create` reserves, `orders/cancelled`
//! releases, `orders/fulfilled` commits and ships in one transaction.
//!
//! Each delivery is checked against `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the
//! raw body with the shared secret, compared in constant time) before anything else.
//! Deliveries are idempotent twice over: a webhook id seen before is acknowledged and
//! skipped, and every topic is idempotent by state (the reservation id derives from
//! the order id), so a redelivery after a restart, or on another app server, changes
//! nothing either.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use inventory_core::ReservationTransition;
use inventory_core::{
    DomainError, Error, OrderId, OrderLine, Quantity, ReservationId, ReservationStatus,
    ReserveRequest, Sku,
};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::reservations::reserve;
use super::views::ReservationView;
use super::{AppState, RawBody, ServiceStore};

/// Longest webhook id accepted.
pub const WEBHOOK_ID_LENGTH_MAX: usize = 256;
/// The inbox source of Shopify deliveries.
pub const INBOX_SOURCE: &str = "shopify";

/// The base64 HMAC-SHA256 of `body` under `secret`, as Shopify sends it.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any size");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is the HMAC of `body` under `secret` (constant time).
fn verified(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The parts of Shopify's order JSON the service reads.
#[derive(Debug, Deserialize)]
struct ShopifyOrder {
    /// Shopify's ids are positive 64-bit signed integers; anything else is refused.
    id: i64,
    #[serde(default)]
    line_items: Vec<ShopifyLine>,
}

#[derive(Debug, Deserialize)]
struct ShopifyLine {
    sku: Option<String>,
    quantity: i64,
    price: Option<String>,
}

/// How a delivery was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// The order was reserved, released, or committed and shipped.
    Applied,
    /// Seen before (by webhook id or by the order's state): nothing changed.
    Duplicate,
    /// A rule refused it (`error`, `message`); acknowledged so Shopify stops
    /// redelivering.
    Refused,
    /// A topic the service does not handle, or an order without SKUs (`reason`).
    Ignored,
    /// A cancellation before its creation: the late create will hold nothing.
    Tombstoned,
}

/// The answer to a webhook delivery Shopify should not redeliver.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAnswer {
    /// How it was handled.
    pub status: Delivery,
    /// The delivery's `X-Shopify-Webhook-Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
    /// The reservation it made or moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation: Option<ReservationView>,
    /// The state a duplicate found the reservation in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_status: Option<ReservationStatus>,
    /// The order a tombstone was left for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Why it was refused: an error code, or `cancelled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The refusal, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why it was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl WebhookAnswer {
    fn new(status: Delivery) -> Self {
        Self {
            status,
            webhook_id: None,
            reservation: None,
            reservation_status: None,
            order_id: None,
            error: None,
            message: None,
            reason: None,
        }
    }

    fn ignored(reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            ..Self::new(Delivery::Ignored)
        }
    }

    fn refused(error: &str, message: String) -> Self {
        Self {
            error: Some(error.to_owned()),
            message: Some(message),
            ..Self::new(Delivery::Refused)
        }
    }

    fn with_reservation(status: Delivery, reservation: ReservationView) -> Self {
        Self {
            reservation: Some(reservation),
            ..Self::new(status)
        }
    }
}

/// The Shopify order JSON, as far as the service reads it (everything else is ignored).
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the body; `ShopifyOrder` reads it.
pub struct OrderPayload {
    /// Shopify's order id (a 64-bit signed integer, never negative): the
    /// reservation's order id is `shopify:<id>`.
    #[schema(minimum = 0)]
    id: i64,
    /// The order's lines (none when absent); a line without a SKU is skipped.
    #[schema(required = false)]
    line_items: Vec<LineItemPayload>,
}

/// One line item of a Shopify order.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the body.
pub struct LineItemPayload {
    /// The variant's SKU.
    sku: Option<String>,
    /// Units ordered.
    quantity: i64,
    /// Price per unit as decimal text.
    price: Option<String>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `POST /v1/webhooks/shopify`: applies the delivery and counts it by topic and result.
#[utoipa::path(
    post,
    path = "/v1/webhooks/shopify",
    operation_id = "shopifyWebhook",
    tag = "webhooks",
    params(
        ("X-Shopify-Topic" = String, Header, description = "`orders/create` reserves, `orders/cancelled` releases, `orders/fulfilled` commits and ships; other topics are acknowledged and ignored."),
        ("X-Shopify-Hmac-Sha256" = String, Header, description = "Base64 HMAC-SHA256 of the raw body under the shared secret."),
        ("X-Shopify-Webhook-Id" = String, Header, description = "The delivery's id (1 to 256 bytes): a redelivery is acknowledged as `duplicate`."),
        ("X-Shopify-Shop-Domain" = Option<String>, Header, description = "The shop, for the log."),
    ),
    request_body = OrderPayload,
    responses(
        (status = 200, description = "Handled, or refused by a rule: Shopify should not redeliver it.", body = WebhookAnswer),
        (status = 401, description = "`unauthorized`: no secret configured, or the signature is missing or wrong; nothing changed.", body = ErrorBody),
    ),
)]
pub async fn webhook<S: ServiceStore>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<WebhookAnswer>> {
    let answer = deliver(&app, &headers, &body).await;
    let status = match &answer {
        Ok(answer) => match answer.status {
            Delivery::Applied => "applied",
            Delivery::Duplicate => "duplicate",
            Delivery::Refused => "refused",
            Delivery::Ignored | Delivery::Tombstoned => "ignored",
        },
        Err(error) if error.status() == StatusCode::UNAUTHORIZED => "unauthorized",
        Err(error) if error.status().is_client_error() => "invalid",
        Err(_) => "failed",
    };
    let topic = header(&headers, "x-shopify-topic").unwrap_or_default();
    app.metrics.webhook(topic, status);
    answer.map(Json)
}

async fn deliver<S: ServiceStore>(
    app: &AppState<S>,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<WebhookAnswer> {
    let Some(secret) = app.config.shopify_webhook_secret.as_deref() else {
        return Err(ApiError::unauthorized(
            "no Shopify webhook secret is configured",
        ));
    };
    let signature = header(headers, "x-shopify-hmac-sha256").unwrap_or_default();
    if !verified(secret.as_bytes(), body, signature) {
        tracing::warn!(
            shop = header(headers, "x-shopify-shop-domain"),
            "webhook signature refused"
        );
        return Err(ApiError::unauthorized(
            "missing or wrong X-Shopify-Hmac-Sha256",
        ));
    }
    let topic = header(headers, "x-shopify-topic")
        .ok_or_else(|| ApiError::invalid("missing X-Shopify-Topic"))?
        .to_owned();
    let webhook_id = header(headers, "x-shopify-webhook-id")
        .filter(|id| !id.is_empty() && id.len() <= WEBHOOK_ID_LENGTH_MAX)
        .ok_or_else(|| ApiError::invalid("missing or over-long X-Shopify-Webhook-Id"))?
        .to_owned();
    let seen = app
        .inventory
        .read(|store| store.handled(INBOX_SOURCE, &webhook_id))
        .await
        .map_err(ApiError::from)?;
    if seen {
        tracing::info!(%webhook_id, %topic, "webhook seen before; acknowledged");
        return Ok(WebhookAnswer {
            webhook_id: Some(webhook_id),
            ..WebhookAnswer::new(Delivery::Duplicate)
        });
    }
    let order: ShopifyOrder = serde_json::from_slice(body).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("order JSON: {error}"),
        )
    })?;
    if order.id < 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("order JSON: id {} is negative", order.id),
        ));
    }
    let answer = match topic.as_str() {
        "orders/create" => created(app, &order).await,
        "orders/cancelled" => settled(app, &order, ReservationTransition::Release).await,
        "orders/fulfilled" => settled(app, &order, ReservationTransition::Ship).await,
        other => {
            tracing::info!(topic = other, "webhook topic not handled; acknowledged");
            Ok(WebhookAnswer::ignored(format!(
                "topic {other} is not handled"
            )))
        }
    };
    match answer {
        Ok(mut answer) => {
            let now = app.inventory.now();
            if let Err(error) = app
                .inventory
                .store()
                .record_handled(INBOX_SOURCE, &webhook_id, now)
                .await
            {
                // Applied all the same; a redelivery is still caught by the order's state.
                tracing::warn!(%error, %webhook_id, "could not record the webhook as handled");
            }
            answer.webhook_id = Some(webhook_id);
            Ok(answer)
        }
        // Storage trouble: not applied, so Shopify's retry may apply it.
        Err(error) => Err(error.into()),
    }
}

/// The inbox source of orders cancelled before they were created (tombstones).
const CANCELLED_SOURCE: &str = "shopify-cancelled";

/// Whether a cancellation of `order_id` arrived before its creation.
async fn cancelled_before<S: ServiceStore>(
    app: &AppState<S>,
    order_id: &OrderId,
) -> Result<bool, Error> {
    Ok(app
        .inventory
        .read(|store| store.handled(CANCELLED_SOURCE, order_id.as_str()))
        .await?)
}

/// Releases the reservation `id` if it exists and is still open.
async fn release_if_open<S: ServiceStore>(
    app: &AppState<S>,
    id: ReservationId,
) -> Result<(), Error> {
    match app.inventory.release(id).await {
        Ok(_)
        | Err(Error::Domain(
            DomainError::ReservationNotFound { .. } | DomainError::InvalidState { .. },
        )) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The answer to a creation whose cancellation came first.
fn cancelled_first(order: &ShopifyOrder) -> WebhookAnswer {
    tracing::info!(
        order = order.id,
        "order created after its cancellation; nothing held"
    );
    WebhookAnswer::refused(
        "cancelled",
        "the order was cancelled before it was created".to_owned(),
    )
}

fn order_id(order: &ShopifyOrder) -> Result<OrderId, Error> {
    Ok(OrderId::new(format!("shopify:{}", order.id))?)
}

/// A refusal by a rule is the answer to the delivery (acknowledged, logged); a storage
/// failure is an error, so the delivery is retried.
fn refused(error: Error, order: &ShopifyOrder) -> Result<WebhookAnswer, Error> {
    match error {
        Error::Domain(rule) => {
            tracing::warn!(order = order.id, error = %rule, "Shopify order refused");
            let api = ApiError::from(rule.clone());
            Ok(WebhookAnswer::refused(
                api.code().as_str(),
                rule.to_string(),
            ))
        }
        other => Err(other),
    }
}

async fn created<S: ServiceStore>(
    app: &AppState<S>,
    order: &ShopifyOrder,
) -> Result<WebhookAnswer, Error> {
    let mut units: BTreeMap<Sku, (i64, Option<String>)> = BTreeMap::new();
    for line in &order.line_items {
        let Some(name) = line.sku.as_deref().filter(|name| !name.trim().is_empty()) else {
            tracing::warn!(
                order = order.id,
                quantity = line.quantity,
                "line item without SKU skipped"
            );
            continue;
        };
        let sku = match Sku::new(name) {
            Ok(sku) => sku,
            Err(error) => return refused(error.into(), order),
        };
        let entry = units.entry(sku).or_insert((0, line.price.clone()));
        entry.0 = entry.0.saturating_add(line.quantity);
    }
    if units.is_empty() {
        return Ok(WebhookAnswer::ignored("no line item has a SKU"));
    }
    let mut lines = Vec::with_capacity(units.len());
    for (sku, (quantity, price)) in units {
        let quantity = match Quantity::new(quantity) {
            Ok(quantity) => quantity,
            Err(error) => return refused(error.into(), order),
        };
        let line = OrderLine::new(sku, quantity);
        lines.push(match price.and_then(|price| price.parse().ok()) {
            Some(price) => line.priced(price),
            None => line,
        });
    }
    let order_id = order_id(order)?;
    if cancelled_before(app, &order_id).await? {
        return Ok(cancelled_first(order));
    }
    let request = ReserveRequest::new(order_id.clone(), lines).with_ttl(app.config.shopify_hold()?);
    let reserved = reserve(app, request, "shopify").await;
    // A cancellation handled meanwhile (on another server) left its tombstone before
    // looking for the reservation: one of the two sees the other.
    if reserved.as_ref().is_ok_and(|reserved| reserved.created)
        && cancelled_before(app, &order_id).await?
    {
        release_if_open(app, ReservationId::for_order(&order_id)).await?;
        return Ok(cancelled_first(order));
    }
    match reserved {
        Ok(reserved) => Ok(WebhookAnswer::with_reservation(
            if reserved.created {
                Delivery::Applied
            } else {
                Delivery::Duplicate
            },
            ReservationView::new(&reserved.reservation, app.inventory.now()),
        )),
        Err(error) => refused(error, order),
    }
}

/// `orders/cancelled` (`ReservationTransition::Release`) or `orders/fulfilled`
/// (`ReservationTransition::Ship`: committed and shipped in one transaction by
/// [`Inventory::fulfil`](inventory_core::Inventory::fulfil)); an order already there is
/// a duplicate delivery.
async fn settled<S: ServiceStore>(
    app: &AppState<S>,
    order: &ShopifyOrder,
    wanted: ReservationTransition,
) -> Result<WebhookAnswer, Error> {
    use ReservationStatus::{Active, Committed, Shipped};
    let order_id = order_id(order)?;
    let id = ReservationId::for_order(&order_id);
    let current = match app.inventory.reservation(id).await {
        Ok(reservation) => reservation.status,
        Err(Error::Domain(DomainError::ReservationNotFound { .. }))
            if wanted == ReservationTransition::Release =>
        {
            // Cancelled before it was created (Shopify does not promise the order of
            // deliveries): a tombstone keeps the late create from holding stock.
            app.inventory
                .store()
                .record_handled(CANCELLED_SOURCE, order_id.as_str(), app.inventory.now())
                .await?;
            release_if_open(app, id).await?;
            return Ok(WebhookAnswer {
                order_id: Some(order_id.as_str().to_owned()),
                ..WebhookAnswer::new(Delivery::Tombstoned)
            });
        }
        Err(error) => return refused(error, order),
    };
    let step = match (wanted, current) {
        (ReservationTransition::Release, Active | Committed) => app.inventory.release(id).await,
        (ReservationTransition::Release, _) | (ReservationTransition::Ship, Shipped) => {
            return Ok(WebhookAnswer {
                reservation_status: Some(current),
                ..WebhookAnswer::new(Delivery::Duplicate)
            });
        }
        (_, Active | Committed) => app.inventory.fulfil(id).await,
        (_, current) => Err(DomainError::InvalidState {
            id,
            current,
            wanted,
        }
        .into()),
    };
    match step {
        Ok(reservation) => Ok(WebhookAnswer::with_reservation(
            Delivery::Applied,
            ReservationView::new(&reservation, app.inventory.now()),
        )),
        Err(error) => refused(error, order),
    }
}
