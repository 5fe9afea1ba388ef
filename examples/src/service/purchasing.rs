//! Channel status, reorder runs and purchase orders.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use inventory_core::reorder::{run_reorder, PurchaseOrder, PurchaseOrderId, ReorderConfig};
use inventory_core::{Quantity, Sku};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::run::LogNotifier;
use super::views::sku;
use super::{optional_body, AppState, Path, ServiceStore};

/// What a channel was last told about a SKU.
#[derive(Debug, Serialize)]
pub struct ChannelStockView {
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
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    #[serde(default)]
    lines: Vec<ReceivedLine>,
}

/// Units of one SKU received.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLine {
    sku: String,
    quantity: i64,
}

/// The last number pushed to a channel for a SKU.
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

/// `send`, `ship`, `receive`, `close` or `cancel` a purchase order.
pub async fn transition<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<PurchaseOrder>> {
    let id = PurchaseOrderId::parse(&id).map_err(|_| {
        ApiError::not_found(format!("purchase order {id} not found")).with("id", id)
    })?;
    let inventory = &app.inventory;
    let order = match action.as_str() {
        "send" => inventory.send_purchase_order(id).await?,
        "ship" => inventory.ship_purchase_order(id).await?,
        "close" => inventory.close_purchase_order(id).await?,
        "cancel" => inventory.cancel_purchase_order(id).await?,
        "receive" => {
            let body: ReceiveBody = optional_body(&body)?;
            if body.lines.is_empty() {
                inventory.receive_outstanding(id).await?
            } else {
                let lines = body
                    .lines
                    .iter()
                    .map(|line| Ok((sku(&line.sku)?, Quantity::new(line.quantity)?)))
                    .collect::<Result<Vec<_>, ApiError>>()?;
                inventory.receive_purchase_order(id, lines).await?
            }
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no purchase order action {other:?}"
            )))
        }
    };
    Ok(Json(order))
}
