//! Customer returns of shipped orders, line by line with a disposition.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use inventory_core::{Disposition, OrderId, Quantity, ReturnLine, ReturnRequest};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiResult, ErrorBody};
use super::stock::{idempotency_key, IdempotencyHeader};
use super::views::{location, sku, ReservationView};
use super::{AppState, Body, ServiceStore};

/// One line of `POST /v1/returns`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineBody {
    /// The SKU coming back; the order must have shipped it.
    #[schema(value_type = inventory_core::Sku)]
    sku: String,
    /// Units coming back.
    #[schema(minimum = 1)]
    quantity: i64,
    /// `restock` (sellable again), `damaged` or `quality_control` (on hand, set aside),
    /// `write_off` (recorded, no stock).
    disposition: Disposition,
    /// Where the units come back; by default where the order shipped them from.
    #[schema(value_type = Option<inventory_core::LocationId>)]
    location: Option<String>,
}

/// `POST /v1/returns`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// The order, as reserved.
    #[schema(value_type = inventory_core::OrderId)]
    order_id: String,
    /// 1 to 256 lines.
    lines: Vec<ReturnLineBody>,
}

/// Records a customer return of a shipped order: the reservation with every return so
/// far. With an `Idempotency-Key` (an RMA number) the same return is recorded once.
#[utoipa::path(
    post,
    path = "/v1/returns",
    operation_id = "recordReturn",
    tag = "reservations",
    params(IdempotencyHeader),
    request_body = ReturnBody,
    responses(
        (status = 200, description = "The order's reservation with its returns.", body = ReservationView),
        (status = 404, description = "`not_found`: no reservation for the order.", body = ErrorBody),
        (status = 409, description = "`over_return`: more than the order shipped; `invalid_state`: the order was not shipped; `idempotency_conflict`.", body = ErrorBody),
    ),
)]
pub async fn record<S: ServiceStore>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    Body(body): Body<ReturnBody>,
) -> ApiResult<Json<ReservationView>> {
    let lines = body
        .lines
        .into_iter()
        .map(|line| {
            Ok(ReturnLine {
                sku: sku(&line.sku)?,
                quantity: Quantity::new(line.quantity)?,
                disposition: line.disposition,
                location: line.location.as_deref().map(location).transpose()?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let mut request = ReturnRequest::new(OrderId::new(body.order_id)?, lines);
    request.idempotency_key = idempotency_key(&headers)?;
    let reservation = app.acting(&headers)?.record_return(request).await?;
    Ok(Json(ReservationView::new(
        &reservation,
        app.inventory.now(),
    )))
}
