//! Receipts, adjustments and stock levels.

use axum::extract::State;
use axum::Json;
use inventory_core::Quantity;
use serde::Deserialize;

use super::error::ApiResult;
use super::views::{location, sku, Levels, RowView, StockView};
use super::{AppState, Body, Path, ServiceStore};

/// `POST /v1/receipts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    sku: String,
    location: String,
    quantity: i64,
}

/// `POST /v1/adjustments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    sku: String,
    location: String,
    delta: i64,
    reason: String,
}

/// Units arrive: the stock row after the receipt.
pub async fn receive<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Body(body): Body<ReceiptBody>,
) -> ApiResult<Json<RowView>> {
    let (sku, location) = (sku(&body.sku)?, location(&body.location)?);
    let quantity = Quantity::new(body.quantity)?;
    let level = app
        .inventory
        .receive(sku.clone(), location.clone(), quantity)
        .await?;
    Ok(Json(RowView {
        sku,
        location,
        levels: Levels::from(&level),
    }))
}

/// On hand corrected by a signed delta with a reason: the stock row after it.
pub async fn adjust<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Body(body): Body<AdjustmentBody>,
) -> ApiResult<Json<RowView>> {
    let (sku, location) = (sku(&body.sku)?, location(&body.location)?);
    let level = app
        .inventory
        .adjust(sku.clone(), location.clone(), body.delta, body.reason)
        .await?;
    Ok(Json(RowView {
        sku,
        location,
        levels: Levels::from(&level),
    }))
}

/// A SKU's totals, frozen flag and locations.
pub async fn show<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
) -> ApiResult<Json<StockView>> {
    let sku = sku(&name)?;
    let stock = app.inventory.stock(&sku).await?;
    let frozen = app
        .inventory
        .store()
        .frozen(std::slice::from_ref(&sku))
        .await?
        .contains(&sku);
    Ok(Json(StockView::new(&stock, frozen)))
}
