//! Receipts, adjustments and stock levels.
//!
//! Receipts and adjustments are deltas: a client that retries after a timeout would
//! count them twice. With an `Idempotency-Key` header (a receipt number, a UUID) the
//! movement is applied at most once per key: a retry gets the first answer, the key
//! sent with a different movement gets 409 `idempotency_conflict`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use inventory_core::decide::Command;
use inventory_core::{IdempotencyKey, LocationId, Quantity, Sku, StockKey, StockLevel};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::views::{location, sku, Levels, RowView, StockView};
use super::{is_frozen, AppState, Body, Path, ServiceStore};

/// The header that makes a receipt or adjustment idempotent.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

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

/// The request's idempotency key, if it sent one.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<IdempotencyKey>> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key is not visible ASCII"))?;
    Ok(Some(IdempotencyKey::new(text)?))
}

/// Runs `movement` on the row `(sku, location)`, once per key when one was sent.
async fn apply<S: ServiceStore>(
    app: &AppState<S>,
    headers: &HeaderMap,
    (sku, location): (Sku, LocationId),
    movement: impl FnOnce(StockKey) -> Command,
) -> ApiResult<Json<RowView>> {
    let command = movement(StockKey::new(sku.clone(), location.clone()));
    let level: StockLevel = match idempotency_key(headers)? {
        Some(key) => app.inventory.once(key, command).await?,
        None => match app.inventory.execute(command).await? {
            inventory_core::decide::Outcome::Stock(level) => level,
            other => unreachable!("a stock movement decided {other:?}"),
        },
    };
    Ok(Json(RowView {
        sku,
        location,
        levels: Levels::from(&level),
    }))
}

/// Units arrive: the stock row after the receipt.
pub async fn receive<S: ServiceStore>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    Body(body): Body<ReceiptBody>,
) -> ApiResult<Json<RowView>> {
    let row = (sku(&body.sku)?, location(&body.location)?);
    let quantity = Quantity::new(body.quantity)?;
    apply(&app, &headers, row, |key| Command::Receive {
        key,
        quantity,
    })
    .await
}

/// On hand corrected by a signed delta with a reason: the stock row after it.
pub async fn adjust<S: ServiceStore>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    Body(body): Body<AdjustmentBody>,
) -> ApiResult<Json<RowView>> {
    let row = (sku(&body.sku)?, location(&body.location)?);
    let (delta, reason) = (body.delta, body.reason);
    apply(&app, &headers, row, |key| Command::Adjust {
        key,
        delta,
        reason,
    })
    .await
}

/// A SKU's totals, frozen flag and locations.
pub async fn show<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
) -> ApiResult<Json<StockView>> {
    let sku = sku(&name)?;
    let stock = app.inventory.stock(&sku).await?;
    let frozen = is_frozen(&app, &sku).await?;
    Ok(Json(StockView::new(&stock, frozen)))
}
