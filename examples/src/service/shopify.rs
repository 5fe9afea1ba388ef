//! Shopify-style order webhooks: `orders/create` reserves, `orders/cancelled`
//! releases, `orders/fulfilled` commits and ships in one transaction; fulfillments
//! ship exactly their lines (partial fulfilments leave the rest held), refunds
//! return `return` lines to the shelf and release `cancel` lines, and order edits
//! release the units they remove and hold the units they add.
//!
//! An edit names its lines by Shopify's line item id alone, so every order's lines are
//! recorded (line item id to SKU, for good) from `orders/create` and from
//! `orders/updated`, which also names the lines an edit adds; `orders/updated` changes
//! nothing held by itself (Shopify sends it beside every `orders/edited`, fulfillment
//! and refund, which make the change once). An edit naming a line not recorded yet is
//! answered 409 `out_of_order`, so Shopify delivers it again later.
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
use inventory_core::inbox::LineRef;
use inventory_core::ReservationTransition;
use inventory_core::{
    AddRequest, Disposition, DomainError, Error, IdempotencyKey, LineId, OrderId, OrderLine,
    PartLine, PartRequest, Quantity, Reservation, ReservationId, ReservationStatus, ReserveRequest,
    ReturnLine, ReturnRequest, Sku,
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

/// The parts of Shopify's fulfillment JSON the service reads.
#[derive(Debug, Deserialize)]
struct ShopifyFulfillment {
    id: i64,
    order_id: i64,
    /// `success` (shipped), or `pending`, `open`, `cancelled`, `error`, `failure`.
    status: Option<String>,
    #[serde(default)]
    line_items: Vec<ShopifyLine>,
}

/// The parts of Shopify's refund JSON the service reads.
#[derive(Debug, Deserialize)]
struct ShopifyRefund {
    id: i64,
    order_id: i64,
    #[serde(default)]
    refund_line_items: Vec<RefundLine>,
}

#[derive(Debug, Deserialize)]
struct RefundLine {
    quantity: i64,
    /// `return`, `cancel`, `no_restock` (or the older `legacy_restock`).
    restock_type: Option<String>,
    line_item: ShopifyLine,
}

/// The parts of Shopify's `orders/edited` JSON the service reads.
#[derive(Debug, Deserialize)]
struct ShopifyEditDelivery {
    order_edit: ShopifyEdit,
}

#[derive(Debug, Deserialize)]
struct ShopifyEdit {
    id: i64,
    order_id: i64,
    #[serde(default)]
    line_items: EditedLines,
}

#[derive(Debug, Default, Deserialize)]
struct EditedLines {
    #[serde(default)]
    additions: Vec<EditedLine>,
    #[serde(default)]
    removals: Vec<EditedLine>,
}

/// Units added to, or removed from, one line item (by its id).
#[derive(Debug, Deserialize)]
struct EditedLine {
    id: i64,
    delta: i64,
}

#[derive(Debug, Deserialize)]
struct ShopifyLine {
    /// Shopify's line item id (what later edits name).
    id: Option<i64>,
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
        ("X-Shopify-Topic" = String, Header, description = "`orders/create` reserves, `orders/cancelled` releases, `orders/fulfilled` commits and ships the rest; `fulfillments/create` and `fulfillments/update` (a fulfillment JSON: `id`, `order_id`, `status`, `line_items`) ship exactly a `success` fulfillment's lines, once per fulfillment id; `refunds/create` (a refund JSON: `id`, `order_id`, `refund_line_items` with `quantity`, `restock_type`, `line_item.sku`) returns `return` lines to the shelf and releases `cancel` lines, once per refund id; `orders/edited` (`order_edit`: `id`, `order_id`, `line_items.additions` and `.removals` of `{id, delta}`) releases removed units and holds added ones, once per edit id; `orders/updated` records the order's line item ids and changes nothing held; other topics are acknowledged and ignored."),
        ("X-Shopify-Hmac-Sha256" = String, Header, description = "Base64 HMAC-SHA256 of the raw body under the shared secret."),
        ("X-Shopify-Webhook-Id" = String, Header, description = "The delivery's id (1 to 256 bytes): a redelivery is acknowledged as `duplicate`."),
        ("X-Shopify-Shop-Domain" = Option<String>, Header, description = "The shop, for the log."),
    ),
    request_body = OrderPayload,
    responses(
        (status = 200, description = "Handled, or refused by a rule: Shopify should not redeliver it.", body = WebhookAnswer),
        (status = 401, description = "`unauthorized`: no secret configured, or the signature is missing or wrong; nothing changed.", body = ErrorBody),
        (status = 409, description = "`out_of_order`: a fulfillment, refund or edit of an order not created yet, an edit naming a line item not recorded yet, a fulfillment or release of more units than the order has left (before the edit adding them), or a return of units not shipped yet; nothing changed, and Shopify delivers it again later.", body = ErrorBody),
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
    let answer = match topic.as_str() {
        "orders/create" => created(app, &parse::<ShopifyOrder>(body, "order")?)
            .await
            .map_err(ApiError::from),
        "orders/cancelled" => settled(
            app,
            &parse::<ShopifyOrder>(body, "order")?,
            ReservationTransition::Release,
        )
        .await
        .map_err(ApiError::from),
        "orders/fulfilled" => settled(
            app,
            &parse::<ShopifyOrder>(body, "order")?,
            ReservationTransition::Ship,
        )
        .await
        .map_err(ApiError::from),
        "fulfillments/create" | "fulfillments/update" => {
            fulfilled_part(app, &parse::<ShopifyFulfillment>(body, "fulfillment")?).await
        }
        "refunds/create" => refunded(app, &parse::<ShopifyRefund>(body, "refund")?).await,
        "orders/edited" => edited(app, &parse::<ShopifyEditDelivery>(body, "order edit")?).await,
        "orders/updated" => updated(app, &parse::<ShopifyOrder>(body, "order")?).await,
        other => {
            // Checked all the same, as the document says: an id outside Shopify's is
            // refused whatever the topic.
            parse::<ShopifyOrder>(body, "order")?;
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
        // Storage trouble, or an order not seen yet: not applied (and not recorded as
        // handled), so Shopify's retry may apply it.
        Err(error) => Err(error),
    }
}

/// The body as `T`; a body that does not parse, or names a negative id, is 400.
fn parse<T: serde::de::DeserializeOwned + Ids>(body: &[u8], what: &str) -> ApiResult<T> {
    let parsed: T = serde_json::from_slice(body).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("{what} JSON: {error}"),
        )
    })?;
    if let Some(id) = parsed.ids().into_iter().find(|id| *id < 0) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("{what} JSON: id {id} is negative"),
        ));
    }
    Ok(parsed)
}

/// The ids a payload names (Shopify's are never negative).
trait Ids {
    fn ids(&self) -> Vec<i64>;
}

impl Ids for ShopifyOrder {
    fn ids(&self) -> Vec<i64> {
        let lines = self.line_items.iter().filter_map(|line| line.id);
        std::iter::once(self.id).chain(lines).collect()
    }
}

impl Ids for ShopifyEditDelivery {
    fn ids(&self) -> Vec<i64> {
        let edit = &self.order_edit;
        let lines = edit.line_items.additions.iter();
        let lines = lines.chain(&edit.line_items.removals).map(|line| line.id);
        [edit.id, edit.order_id].into_iter().chain(lines).collect()
    }
}

impl Ids for ShopifyFulfillment {
    fn ids(&self) -> Vec<i64> {
        vec![self.id, self.order_id]
    }
}

impl Ids for ShopifyRefund {
    fn ids(&self) -> Vec<i64> {
        vec![self.id, self.order_id]
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
        Error::Domain(rule) => Ok(refused_rule(&rule, order.id)),
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
    record_lines(app, order).await?;
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
        Ok(reservation) => Ok(applied(app, Some(&reservation))),
        Err(error) => refused(error, order),
    }
}

/// The units per SKU of `lines` (lines without a SKU skipped, with a warning), or the
/// rule a SKU or quantity breaks.
fn units_per_sku<'a>(
    lines: impl IntoIterator<Item = (&'a ShopifyLine, i64)>,
    order: i64,
) -> Result<Vec<PartLine>, DomainError> {
    let mut units: BTreeMap<Sku, i64> = BTreeMap::new();
    for (line, quantity) in lines {
        let Some(name) = line.sku.as_deref().filter(|name| !name.trim().is_empty()) else {
            tracing::warn!(order, quantity, "line item without SKU skipped");
            continue;
        };
        let total = units.entry(Sku::new(name)?).or_default();
        *total = total.saturating_add(quantity);
    }
    units
        .into_iter()
        .map(|(sku, quantity)| Ok(PartLine::new(sku, Quantity::new(quantity)?)))
        .collect()
}

/// The answer to a delivery that was applied, with the reservation it left (the last
/// step's).
fn applied<S: ServiceStore>(app: &AppState<S>, reservation: Option<&Reservation>) -> WebhookAnswer {
    match reservation {
        Some(reservation) => WebhookAnswer::with_reservation(
            Delivery::Applied,
            ReservationView::new(reservation, app.inventory.now()),
        ),
        None => WebhookAnswer::new(Delivery::Applied),
    }
}

/// A refusal by a rule as the answer to a delivery about `order` (acknowledged).
fn refused_rule(rule: &DomainError, order: i64) -> WebhookAnswer {
    tracing::warn!(order, error = %rule, "Shopify delivery refused");
    let api = ApiError::from(rule.clone());
    WebhookAnswer::refused(api.code().as_str(), rule.to_string())
}

/// 409 `out_of_order`: Shopify delivers it again later, when what it needs is here.
fn out_of_order(what: &str, order: i64) -> ApiError {
    tracing::info!(order, "{what}; Shopify will deliver it again");
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::OutOfOrder,
        format!("{what} (order {order}); deliver it again later"),
    )
}

/// `fulfillments/create` and `fulfillments/update`: a `success` fulfillment ships
/// exactly its lines (the rest of the order stays held), once per fulfillment id
/// whatever the topic or the number of deliveries; any other status ships nothing.
async fn fulfilled_part<S: ServiceStore>(
    app: &AppState<S>,
    fulfillment: &ShopifyFulfillment,
) -> ApiResult<WebhookAnswer> {
    match fulfillment.status.as_deref() {
        None | Some("success") => {}
        Some(status) => {
            return Ok(WebhookAnswer::ignored(format!(
                "fulfillment status {status}: nothing shipped"
            )))
        }
    }
    let order = fulfillment.order_id;
    let lines = match units_per_sku(
        fulfillment
            .line_items
            .iter()
            .map(|line| (line, line.quantity)),
        order,
    ) {
        Ok(lines) if lines.is_empty() => {
            return Ok(WebhookAnswer::ignored("no line item has a SKU"))
        }
        Ok(lines) => lines,
        Err(rule) => return Ok(refused_rule(&rule, order)),
    };
    let key = key(&format!("shopify-fulfillment:{}", fulfillment.id))?;
    let request = PartRequest::new(order_id_of(order)?, lines, key);
    match app.inventory.ship_part(request).await {
        Ok(reservation) => Ok(applied(app, Some(&reservation))),
        Err(error) => part_refused(error, "fulfillment", order),
    }
}

/// `refunds/create`: lines restocked as `return` come back to the shelf (a return,
/// restocked, once per refund id); lines restocked as `cancel` release their unshipped
/// units (once per refund id); `no_restock` lines change nothing.
async fn refunded<S: ServiceStore>(
    app: &AppState<S>,
    refund: &ShopifyRefund,
) -> ApiResult<WebhookAnswer> {
    let order = refund.order_id;
    let of_type = |wanted: &'static str| {
        refund
            .refund_line_items
            .iter()
            .filter(move |line| line.restock_type.as_deref() == Some(wanted))
            .map(|line| (&line.line_item, line.quantity))
    };
    let (returned, cancelled) = match (
        units_per_sku(of_type("return"), order),
        units_per_sku(of_type("cancel"), order),
    ) {
        (Ok(returned), Ok(cancelled)) => (returned, cancelled),
        (Err(rule), _) | (_, Err(rule)) => return Ok(refused_rule(&rule, order)),
    };
    if returned.is_empty() && cancelled.is_empty() {
        return Ok(WebhookAnswer::ignored("the refund restocks nothing"));
    }
    let order_id = order_id_of(order)?;
    let mut reservation = None;
    if !returned.is_empty() {
        let lines = returned
            .into_iter()
            .map(|line| ReturnLine {
                sku: line.sku,
                quantity: line.quantity,
                disposition: Disposition::Restock,
                location: None,
            })
            .collect();
        let request = ReturnRequest::new(order_id.clone(), lines)
            .with_key(key(&format!("shopify-refund:{}", refund.id))?);
        match app.inventory.record_return(request).await {
            Ok(done) => reservation = Some(done),
            // The shipment it returns may not have arrived yet.
            Err(Error::Domain(
                DomainError::ReservationNotFound { .. }
                | DomainError::InvalidState { .. }
                | DomainError::OverReturn { .. },
            )) => return Err(out_of_order("return of units not shipped yet", order)),
            Err(Error::Domain(rule)) => return Ok(refused_rule(&rule, order)),
            Err(error) => return Err(error.into()),
        }
    }
    if !cancelled.is_empty() {
        let key = key(&format!("shopify-refund:{}:cancel", refund.id))?;
        match app
            .inventory
            .release_part(PartRequest::new(order_id, cancelled, key))
            .await
        {
            Ok(done) => reservation = Some(done),
            Err(error) => return part_refused(error, "refund", order),
        }
    }
    Ok(applied(app, reservation.as_ref()))
}

fn order_id_of(order: i64) -> Result<OrderId, ApiError> {
    OrderId::new(format!("shopify:{order}")).map_err(ApiError::from)
}

fn key(text: &str) -> Result<IdempotencyKey, ApiError> {
    IdempotencyKey::new(text).map_err(ApiError::from)
}

/// Records which SKU each of `order`'s line items sells (lines without an id or a
/// valid SKU are left out); returns how many were new.
async fn record_lines<S: ServiceStore>(
    app: &AppState<S>,
    order: &ShopifyOrder,
) -> Result<u64, Error> {
    let lines: Vec<LineRef> = order
        .line_items
        .iter()
        .filter_map(|line| {
            let id = LineId::new(line.id?.to_string()).ok()?;
            let sku = Sku::new(line.sku.as_deref()?).ok()?;
            Some(LineRef::new(id, sku))
        })
        .collect();
    if lines.is_empty() {
        return Ok(0);
    }
    let order_id = order_id(order)?;
    Ok(app
        .inventory
        .store()
        .record_lines(&order_id, &lines)
        .await?)
}

/// `orders/updated`: records the order's lines (an edit's added lines are named here
/// first) and changes nothing held: Shopify sends it beside every edit, fulfillment and
/// refund, whose own topics make each change once.
async fn updated<S: ServiceStore>(
    app: &AppState<S>,
    order: &ShopifyOrder,
) -> ApiResult<WebhookAnswer> {
    let recorded = record_lines(app, order).await?;
    tracing::debug!(order = order.id, recorded, "order lines recorded");
    Ok(WebhookAnswer::ignored(
        "nothing held changes: edits, fulfillments and refunds change it by their own topics",
    ))
}

/// `orders/edited`: the units an edit removes are released and the units it adds are
/// held (allocated as the order's own lines), each once per edit id. Lines are named by
/// line item id; one not recorded yet is 409 `out_of_order`.
async fn edited<S: ServiceStore>(
    app: &AppState<S>,
    delivery: &ShopifyEditDelivery,
) -> ApiResult<WebhookAnswer> {
    let edit = &delivery.order_edit;
    let order = edit.order_id;
    let order_id = order_id_of(order)?;
    if cancelled_before(app, &order_id).await? {
        return Ok(WebhookAnswer::ignored("the order was cancelled"));
    }
    let known: BTreeMap<String, Sku> = app
        .inventory
        .store()
        .lines_of(&order_id)
        .await
        .map_err(Error::from)?
        .into_iter()
        .map(|line| (line.line.as_str().to_owned(), line.sku))
        .collect();
    let units = |lines: &[EditedLine]| -> ApiResult<Result<BTreeMap<Sku, Quantity>, DomainError>> {
        let mut units: BTreeMap<Sku, i64> = BTreeMap::new();
        for line in lines {
            let Some(sku) = known.get(&line.id.to_string()) else {
                return Err(out_of_order(
                    &format!("edit {} names line item {} not seen yet", edit.id, line.id),
                    order,
                ));
            };
            let total = units.entry(sku.clone()).or_default();
            *total = total.saturating_add(line.delta);
        }
        Ok(units
            .into_iter()
            .map(|(sku, delta)| Ok((sku, Quantity::new(delta)?)))
            .collect())
    };
    let (removed, added) = match (
        units(&edit.line_items.removals)?,
        units(&edit.line_items.additions)?,
    ) {
        (Ok(removed), Ok(added)) => (removed, added),
        (Err(rule), _) | (_, Err(rule)) => return Ok(refused_rule(&rule, order)),
    };
    if removed.is_empty() && added.is_empty() {
        return Ok(WebhookAnswer::ignored("the edit changes no line item"));
    }
    let mut reservation = None;
    // Removals first: the units they give back may serve the additions.
    if !removed.is_empty() {
        let lines = removed
            .into_iter()
            .map(|(sku, quantity)| PartLine::new(sku, quantity))
            .collect();
        let key = key(&format!("shopify-edit:{}:removals", edit.id))?;
        let request = PartRequest::new(order_id.clone(), lines, key);
        match app.inventory.release_part(request).await {
            Ok(done) => reservation = Some(done),
            Err(error) => return part_refused(error, "edit", order),
        }
    }
    if !added.is_empty() {
        let lines = added
            .into_iter()
            .map(|(sku, quantity)| OrderLine::new(sku, quantity))
            .collect();
        let key = key(&format!("shopify-edit:{}:additions", edit.id))?;
        match app
            .inventory
            .add_lines(AddRequest::new(order_id, lines, key))
            .await
        {
            Ok(done) => reservation = Some(done),
            Err(error) => return part_refused(error, "edit", order),
        }
    }
    Ok(applied(app, reservation.as_ref()))
}

/// A step on part of an order that failed: an order not created yet, or more units
/// than it has left (an edit adding them may not have arrived), is 409 `out_of_order`;
/// another rule is acknowledged; storage trouble is retried.
fn part_refused(error: Error, what: &str, order: i64) -> ApiResult<WebhookAnswer> {
    match error {
        Error::Domain(DomainError::ReservationNotFound { .. }) => Err(out_of_order(
            &format!("{what} of an order not created yet"),
            order,
        )),
        Error::Domain(DomainError::ExceedsOrder { .. }) => Err(out_of_order(
            &format!("{what} of more units than the order has left, before the edit adding them"),
            order,
        )),
        Error::Domain(rule) => Ok(refused_rule(&rule, order)),
        error => Err(error.into()),
    }
}
