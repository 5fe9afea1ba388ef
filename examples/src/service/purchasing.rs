//! Channel status, reorder runs and purchase orders.

use axum::extract::State;
use axum::Json;
use inventory_core::reorder::{run_reorder, PurchaseOrder, PurchaseOrderId, ReorderConfig};
use inventory_core::{Quantity, Sku};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::run::LogNotifier;
use super::views::sku;
use super::{optional_body, AppState, Path, RawBody, ServiceStore};

/// What a channel was last told about a SKU.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelStockView {
    /// The SKU.
    sku: Sku,
    /// The last number the channel took, if any yet.
    quantity: Option<i64>,
    /// Whether a newer number waits to be pushed.
    pending: bool,
    /// The channel's last error while it is failing.
    failing: Option<String>,
}

/// `POST /v1/purchase-orders/{id}/receive`: the lines received; none means every
/// outstanding unit.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// The units received per SKU; none means every outstanding unit.
    #[serde(default)]
    lines: Vec<ReceivedLine>,
}

/// Units of one SKU received.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLine {
    /// The SKU.
    #[schema(value_type = Sku)]
    sku: String,
    /// Units received.
    #[schema(minimum = 1)]
    quantity: i64,
}

/// The last number pushed to a channel for a SKU.
#[utoipa::path(
    get,
    path = "/v1/channels/{name}/stock/{sku}",
    operation_id = "getChannelStock",
    tag = "channels",
    params(
        ("name" = String, Path, description = "The channel's name in the config file."),
        ("sku" = Sku, Path, description = "The SKU."),
    ),
    responses(
        (status = 200, description = "What the channel was last told.", body = ChannelStockView),
        (status = 404, description = "`not_found`: no such channel.", body = ErrorBody),
    ),
)]
pub async fn channel_stock<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path((name, sku_name)): Path<(String, String)>,
) -> ApiResult<Json<ChannelStockView>> {
    if !app
        .config
        .channels
        .iter()
        .any(|channel| channel.name == name)
    {
        return Err(ApiError::not_found(format!("channel {name} not found")).with("channel", name));
    }
    let sku = sku(&sku_name)?;
    let status = app.worker.status(&name, &sku).await?;
    Ok(Json(ChannelStockView {
        sku,
        quantity: status.last.map(|pushed| pushed.quantity),
        pending: status.pending,
        failing: status.failing,
    }))
}

/// Runs a reorder now: the purchase orders it raised or added to.
#[utoipa::path(
    post,
    path = "/v1/reorder/run",
    operation_id = "runReorder",
    tag = "purchasing",
    responses(
        (status = 200, description = "The purchase orders raised or added to, one per supplier.", body = Vec<PurchaseOrder>),
    ),
)]
pub async fn reorder<S: ServiceStore>(
    State(app): State<AppState<S>>,
) -> ApiResult<Json<Vec<PurchaseOrder>>> {
    let settings = &app.config.reorder;
    let config = ReorderConfig {
        window_days: settings.window_days,
        location: settings.location()?,
    };
    let raised = run_reorder(&app.inventory, &config, &LogNotifier).await?;
    Ok(Json(raised))
}

/// Every purchase order, newest first.
#[utoipa::path(
    get,
    path = "/v1/purchase-orders",
    operation_id = "listPurchaseOrders",
    tag = "purchasing",
    responses(
        (status = 200, description = "Every purchase order, newest first.", body = Vec<PurchaseOrder>),
    ),
)]
pub async fn list<S: ServiceStore>(
    State(app): State<AppState<S>>,
) -> ApiResult<Json<Vec<PurchaseOrder>>> {
    let mut orders = app
        .inventory
        .read(|store| store.all_purchase_orders())
        .await?;
    orders.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    Ok(Json(orders))
}

/// A purchase order id from a path.
fn order_id(text: &str) -> ApiResult<PurchaseOrderId> {
    PurchaseOrderId::parse(text).map_err(|_| {
        ApiError::not_found(format!("purchase order {text} not found")).with("id", text)
    })
}

/// Documents one purchase-order transition without a body.
macro_rules! transition {
    ($(#[$doc:meta])* $name:ident, $path:literal, $id:literal, $method:ident, $from:literal) => {
        $(#[$doc])*
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $id,
            tag = "purchasing",
            params(("id" = PurchaseOrderId, Path, description = "The purchase order's id.")),
            responses(
                (status = 200, description = "The purchase order after it.", body = PurchaseOrder),
                (status = 404, description = "`not_found`: no such purchase order.", body = ErrorBody),
                (status = 409, description = $from, body = ErrorBody),
            ),
        )]
        pub async fn $name<S: ServiceStore>(
            State(app): State<AppState<S>>,
            Path(id): Path<String>,
        ) -> ApiResult<Json<PurchaseOrder>> {
            Ok(Json(app.inventory.$method(order_id(&id)?).await?))
        }
    };
}

transition!(
    /// Draft to sent: the supplier has it.
    send,
    "/v1/purchase-orders/{id}/send",
    "sendPurchaseOrder",
    send_purchase_order,
    "`invalid_state`: not a draft."
);
transition!(
    /// Sent to shipped: its units are in transit at the destination.
    ship,
    "/v1/purchase-orders/{id}/ship",
    "shipPurchaseOrder",
    ship_purchase_order,
    "`invalid_state`: not sent."
);
transition!(
    /// Closes an order, writing off what never arrived.
    close,
    "/v1/purchase-orders/{id}/close",
    "closePurchaseOrder",
    close_purchase_order,
    "`invalid_state`: not shipped or received."
);
transition!(
    /// Cancels an order that has not shipped.
    cancel,
    "/v1/purchase-orders/{id}/cancel",
    "cancelPurchaseOrder",
    cancel_purchase_order,
    "`invalid_state`: already shipped, received, closed or cancelled."
);

/// Units arrive against a shipped order: the lines given, or every outstanding unit.
#[utoipa::path(
    post,
    path = "/v1/purchase-orders/{id}/receive",
    operation_id = "receivePurchaseOrder",
    tag = "purchasing",
    params(("id" = PurchaseOrderId, Path, description = "The purchase order's id.")),
    request_body(content = Option<ReceiveBody>, description = "Optional: no body, or no lines, receives every outstanding unit."),
    responses(
        (status = 200, description = "The purchase order after the receipt.", body = PurchaseOrder),
        (status = 404, description = "`not_found`: no such purchase order.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: not shipped (more units than outstanding is 422 `invalid_request`).", body = ErrorBody),
    ),
)]
pub async fn receive<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<PurchaseOrder>> {
    let id = order_id(&id)?;
    let body: ReceiveBody = optional_body(&body)?;
    let inventory = &app.inventory;
    let order = if body.lines.is_empty() {
        inventory.receive_outstanding(id).await?
    } else {
        let lines = body
            .lines
            .iter()
            .map(|line| Ok((sku(&line.sku)?, Quantity::new(line.quantity)?)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        inventory.receive_purchase_order(id, lines).await?
    };
    Ok(Json(order))
}
