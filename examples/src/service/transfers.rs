//! Transfers between locations: ship, look up, receive, close.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use inventory_core::{Quantity, Transfer, TransferId, TransferRequest, TransferStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiResult, ErrorBody};
use super::stock::{idempotency_key, IdempotencyHeader};
use super::views::{location, rfc3339, sku};
use super::{optional_body, AppState, Body, Path, RawBody, ServiceStore};

/// `POST /v1/transfers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// The SKU.
    #[schema(value_type = inventory_core::Sku)]
    sku: String,
    /// The source: its sellable units leave now.
    #[schema(value_type = inventory_core::LocationId)]
    from: String,
    /// The destination: the units are in transit there until received.
    #[schema(value_type = inventory_core::LocationId)]
    to: String,
    /// Units shipped.
    #[schema(minimum = 1)]
    quantity: i64,
}

/// `POST /v1/transfers/{id}/receive`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferReceiptBody {
    /// Units received; without it, everything outstanding.
    #[schema(minimum = 1)]
    quantity: Option<i64>,
}

/// A transfer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferView {
    /// Its id.
    pub id: TransferId,
    /// `in_transit`, `received` or `closed`.
    pub status: TransferStatus,
    /// The SKU.
    pub sku: inventory_core::Sku,
    /// The source.
    pub from: inventory_core::LocationId,
    /// The destination.
    pub to: inventory_core::LocationId,
    /// Units shipped.
    pub quantity: i64,
    /// Units received so far.
    pub received: i64,
    /// Units written off when it was closed early.
    pub written_off: i64,
    /// Units still on their way.
    pub outstanding: i64,
    /// When it was shipped (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it last changed (RFC 3339).
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Transfer> for TransferView {
    fn from(transfer: &Transfer) -> Self {
        Self {
            id: transfer.id,
            status: transfer.status,
            sku: transfer.sku.clone(),
            from: transfer.from.clone(),
            to: transfer.to.clone(),
            quantity: transfer.quantity,
            received: transfer.received,
            written_off: transfer.written_off,
            outstanding: transfer.outstanding(),
            created_at: rfc3339(transfer.created_at),
            updated_at: rfc3339(transfer.updated_at),
        }
    }
}

fn transfer_id(text: &str) -> ApiResult<TransferId> {
    Ok(TransferId::parse(text)?)
}

/// Ships a transfer: 201 with the transfer (200 for the same request again under its
/// `Idempotency-Key`).
#[utoipa::path(
    post,
    path = "/v1/transfers",
    operation_id = "shipTransfer",
    tag = "transfers",
    params(IdempotencyHeader),
    request_body = TransferBody,
    responses(
        (status = 201, description = "Shipped: the units left the source and are in transit to the destination.", body = TransferView),
        (status = 200, description = "The same transfer again under its key: nothing more shipped.", body = TransferView),
        (status = 404, description = "`unknown_sku`: the SKU is not stocked at the source.", body = ErrorBody),
        (status = 409, description = "`insufficient_stock`: fewer units are available at the source; `idempotency_conflict`.", body = ErrorBody),
        (status = 423, description = "`sku_frozen`: an open investigation freezes the SKU.", body = ErrorBody),
    ),
)]
pub async fn ship<S: ServiceStore>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    Body(body): Body<TransferBody>,
) -> ApiResult<(StatusCode, Json<TransferView>)> {
    let request = TransferRequest {
        sku: sku(&body.sku)?,
        from: location(&body.from)?,
        to: location(&body.to)?,
        quantity: Quantity::new(body.quantity)?,
        idempotency_key: idempotency_key(&headers)?,
    };
    let now = app.inventory.now();
    let transfer = app.acting(&headers)?.ship_transfer(request).await?;
    let status = if transfer.created_at >= now {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(TransferView::from(&transfer))))
}

/// One transfer.
#[utoipa::path(
    get,
    path = "/v1/transfers/{id}",
    operation_id = "getTransfer",
    tag = "transfers",
    params(("id" = TransferId, Path, description = "The transfer's id.")),
    responses(
        (status = 200, description = "The transfer.", body = TransferView),
        (status = 404, description = "`not_found`: no such transfer.", body = ErrorBody),
    ),
)]
pub async fn show<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> ApiResult<Json<TransferView>> {
    let transfer = app.inventory.transfer(transfer_id(&id)?).await?;
    Ok(Json(TransferView::from(&transfer)))
}

/// Receives units of a transfer at its destination.
#[utoipa::path(
    post,
    path = "/v1/transfers/{id}/receive",
    operation_id = "receiveTransfer",
    tag = "transfers",
    params(("id" = TransferId, Path, description = "The transfer's id."), IdempotencyHeader),
    request_body(content = Option<TransferReceiptBody>, description = "Units received; without a body or a quantity, everything outstanding."),
    responses(
        (status = 200, description = "The transfer after the receipt.", body = TransferView),
        (status = 404, description = "`not_found`: no such transfer.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: it is received or closed, or fewer units are outstanding; `idempotency_conflict`.", body = ErrorBody),
    ),
)]
pub async fn receive<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<TransferView>> {
    let id = transfer_id(&id)?;
    let body: TransferReceiptBody = optional_body(&body)?;
    let quantity = body.quantity.map(Quantity::new).transpose()?;
    let key = idempotency_key(&headers)?;
    let transfer = app
        .acting(&headers)?
        .receive_transfer(id, quantity, key)
        .await?;
    Ok(Json(TransferView::from(&transfer)))
}

/// Closes a transfer in transit: what never arrived is written off.
#[utoipa::path(
    post,
    path = "/v1/transfers/{id}/close",
    operation_id = "closeTransfer",
    tag = "transfers",
    params(("id" = TransferId, Path, description = "The transfer's id.")),
    responses(
        (status = 200, description = "The closed transfer (closing again answers it unchanged).", body = TransferView),
        (status = 404, description = "`not_found`: no such transfer.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: every unit was received.", body = ErrorBody),
    ),
)]
pub async fn close<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<TransferView>> {
    let transfer = app
        .acting(&headers)?
        .close_transfer(transfer_id(&id)?)
        .await?;
    Ok(Json(TransferView::from(&transfer)))
}
