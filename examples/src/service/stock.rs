//! Receipts, adjustments and stock levels.
//!
//! Receipts and adjustments are deltas: a client that retries after a timeout would
//! count them twice. With an `Idempotency-Key` header (a receipt number, a UUID) the
//! movement is applied at most once per key: a retry gets the first answer, the key
//! sent with a different movement gets 409 `idempotency_conflict`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use inventory_core::decide::StockMovement;
use inventory_core::{
    BulkSet, IdempotencyKey, LocationId, Quantity, SetRow, Sku, StockKey, StockLevel, StockState,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::views::{location, sku, Levels, RowView, StockView};
use super::{is_frozen, AppState, Body, Path, ServiceStore};

/// The header that makes a receipt or adjustment idempotent.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// `POST /v1/receipts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// The SKU (created by its first receipt).
    #[schema(value_type = Sku)]
    sku: String,
    /// Where the units arrive (created by its first receipt).
    #[schema(value_type = LocationId)]
    location: String,
    /// Units received.
    #[schema(minimum = 1)]
    quantity: i64,
}

/// `POST /v1/adjustments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    /// The SKU.
    #[schema(value_type = Sku)]
    sku: String,
    /// The location.
    #[schema(value_type = LocationId)]
    location: String,
    /// Units added (positive) or taken away (negative) from on hand; not zero.
    delta: i64,
    /// Why, for the ledger.
    reason: String,
}

/// `POST /v1/stock/{sku}/states`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateChangeBody {
    /// The location.
    #[schema(value_type = LocationId)]
    location: String,
    /// The state the units leave: `available` (sellable) or an unavailable state.
    from: StockState,
    /// The state they enter.
    to: StockState,
    /// Units moved.
    #[schema(minimum = 1)]
    quantity: i64,
}

/// One row of `POST /v1/stock/set`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRowBody {
    /// The SKU (created when new).
    #[schema(value_type = Sku)]
    sku: String,
    /// The location (created when new).
    #[schema(value_type = LocationId)]
    location: String,
    /// The on hand it gets: every unit on the shelf, whatever its state.
    #[schema(minimum = 0)]
    on_hand: i64,
    /// The on hand the caller read and expects to replace; the whole set is refused
    /// with 409 `stale` when the row holds another number by now.
    #[schema(minimum = 0)]
    expected_on_hand: Option<i64>,
}

/// `POST /v1/stock/set`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBody {
    /// Why, on every ledger entry.
    reason: String,
    /// The document behind it (`<kind>:<id>`), on every ledger entry.
    reference: Option<String>,
    /// Who set it, on every ledger entry.
    actor: Option<String>,
    /// 1 to 1000 rows, each row at most once.
    rows: Vec<SetRowBody>,
}

/// One row after a bulk set.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetRowView {
    /// The row.
    #[serde(flatten)]
    pub row: RowView,
    /// Units promised beyond the sellable units now on hand, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortage: Option<i64>,
}

/// The answer of `POST /v1/stock/set`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetView {
    /// Every row after the set, in the order sent.
    pub rows: Vec<SetRowView>,
}

/// The `Idempotency-Key` header of receipts and adjustments.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Documents the header; `idempotency_key` reads it.
pub struct IdempotencyHeader {
    /// A receipt number, a UUID: the movement is applied at most once per key; a
    /// retry gets the first answer.
    #[param(rename = "Idempotency-Key", value_type = Option<IdempotencyKey>)]
    idempotency_key: Option<String>,
    /// Who makes the change (`clerk:ana`, `erp`): written as the actor of its ledger
    /// entries.
    #[param(rename = "X-Actor", value_type = Option<String>)]
    actor: Option<String>,
    /// The document behind the change (`asn:2026-0042`): written as the reference of
    /// its ledger entries that name no document of their own.
    #[param(rename = "X-Reference", value_type = Option<String>)]
    reference: Option<String>,
}

/// The request's idempotency key, if it sent one.
pub(super) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<IdempotencyKey>> {
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
    movement: impl FnOnce(StockKey) -> StockMovement,
) -> ApiResult<Json<RowView>> {
    let movement = movement(StockKey::new(sku.clone(), location.clone()));
    let inventory = app.acting(headers)?;
    let level: StockLevel = match idempotency_key(headers)? {
        Some(key) => inventory.once(key, movement).await?,
        None => inventory.apply(movement).await?,
    };
    Ok(Json(RowView {
        sku,
        location,
        levels: Levels::from(&level),
    }))
}

/// Units arrive: the stock row after the receipt.
#[utoipa::path(
    post,
    path = "/v1/receipts",
    operation_id = "receiveStock",
    tag = "stock",
    params(IdempotencyHeader),
    request_body = ReceiptBody,
    responses(
        (status = 200, description = "The stock row after the receipt.", body = RowView),
        (status = 409, description = "`idempotency_conflict`: the key was sent with another movement.", body = ErrorBody),
    ),
)]
pub async fn receive<S: ServiceStore>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    Body(body): Body<ReceiptBody>,
) -> ApiResult<Json<RowView>> {
    let row = (sku(&body.sku)?, location(&body.location)?);
    let quantity = Quantity::new(body.quantity)?;
    apply(&app, &headers, row, |key| StockMovement::Receive {
        key,
        quantity,
    })
    .await
}

/// On hand corrected by a signed delta with a reason: the stock row after it.
#[utoipa::path(
    post,
    path = "/v1/adjustments",
    operation_id = "adjustStock",
    tag = "stock",
    params(IdempotencyHeader),
    request_body = AdjustmentBody,
    responses(
        (status = 200, description = "The stock row after the adjustment.", body = RowView),
        (status = 404, description = "`unknown_sku`: no such SKU or location.", body = ErrorBody),
        (status = 409, description = "`insufficient_stock`: on hand would fall below reserved plus committed; `idempotency_conflict`.", body = ErrorBody),
    ),
)]
pub async fn adjust<S: ServiceStore>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    Body(body): Body<AdjustmentBody>,
) -> ApiResult<Json<RowView>> {
    let row = (sku(&body.sku)?, location(&body.location)?);
    let (delta, reason) = (body.delta, body.reason);
    apply(&app, &headers, row, |key| StockMovement::Adjust {
        key,
        delta,
        reason,
    })
    .await
}

/// Units on the shelf change state (a damaged carton, a quality hold, safety stock kept
/// back, or units coming back to sale): the stock row after it. On hand is unchanged.
#[utoipa::path(
    post,
    path = "/v1/stock/{sku}/states",
    operation_id = "changeStockState",
    tag = "stock",
    params(("sku" = Sku, Path, description = "The SKU."), IdempotencyHeader),
    request_body = StateChangeBody,
    responses(
        (status = 200, description = "The stock row after the change.", body = RowView),
        (status = 404, description = "`unknown_sku`: no such SKU or location.", body = ErrorBody),
        (status = 409, description = "`insufficient_stock`: fewer units are available, or in the state left, than are moved; `idempotency_conflict`.", body = ErrorBody),
    ),
)]
pub async fn change_state<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Body(body): Body<StateChangeBody>,
) -> ApiResult<Json<RowView>> {
    let row = (sku(&name)?, location(&body.location)?);
    let quantity = Quantity::new(body.quantity)?;
    let (from, to) = (body.from, body.to);
    apply(&app, &headers, row, |key| StockMovement::ChangeState {
        key,
        from,
        to,
        quantity,
    })
    .await
}

/// Absolute on-hand numbers for many rows at once (a stocktake import, an ERP sync):
/// every row or none. Reserved, committed, in-transit and unavailable units never move.
#[utoipa::path(
    post,
    path = "/v1/stock/set",
    operation_id = "setStock",
    tag = "stock",
    params(IdempotencyHeader),
    request_body = SetBody,
    responses(
        (status = 200, description = "Every row after the set, in the order sent.", body = SetView),
        (status = 409, description = "`stale`: some rows no longer hold the on hand they expected (`rows` names each with its current number), nothing was set; `idempotency_conflict`.", body = ErrorBody),
    ),
)]
pub async fn set<S: ServiceStore>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    Body(body): Body<SetBody>,
) -> ApiResult<Json<SetView>> {
    let rows = body
        .rows
        .into_iter()
        .map(|row| {
            Ok(SetRow {
                key: StockKey::new(sku(&row.sku)?, location(&row.location)?),
                on_hand: row.on_hand,
                expected_on_hand: row.expected_on_hand,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let set = BulkSet {
        reason: body.reason,
        reference: body.reference,
        actor: body.actor,
        rows,
    };
    let results = app
        .acting(&headers)?
        .set(set, idempotency_key(&headers)?)
        .await?;
    let rows = results
        .into_iter()
        .map(|result| SetRowView {
            row: RowView {
                sku: result.key.sku,
                location: result.key.location,
                levels: Levels::from(&result.level),
            },
            shortage: result.shortage,
        })
        .collect();
    Ok(Json(SetView { rows }))
}

/// The stock of the SKU named `set`, whose path the bulk set's route shares: as
/// `GET /v1/stock/{sku}`.
#[utoipa::path(
    get,
    path = "/v1/stock/set",
    operation_id = "getStockOfSkuSet",
    tag = "stock",
    responses(
        (status = 200, description = "As `GET /v1/stock/{sku}` for the SKU `set`.", body = StockView),
        (status = 404, description = "`unknown_sku`: no SKU is named `set`.", body = ErrorBody),
    ),
)]
pub async fn show_set<S: ServiceStore>(
    State(app): State<AppState<S>>,
) -> ApiResult<Json<StockView>> {
    show(State(app), Path("set".to_owned())).await
}

/// A SKU's totals, frozen flag and locations.
#[utoipa::path(
    get,
    path = "/v1/stock/{sku}",
    operation_id = "getStock",
    tag = "stock",
    params(("sku" = Sku, Path, description = "The SKU.")),
    responses(
        (status = 200, description = "Totals over locations, the frozen flag and each location; for a bundle, the units its components make.", body = StockView),
        (status = 404, description = "`unknown_sku`: the SKU was never received.", body = ErrorBody),
    ),
)]
pub async fn show<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
) -> ApiResult<Json<StockView>> {
    let sku = sku(&name)?;
    if let Some(bundle) = app.inventory.bundle_stock(&sku).await? {
        let mut frozen = false;
        for component in &bundle.components {
            frozen |= is_frozen(&app, &component.sku).await?;
        }
        return Ok(Json(StockView::bundle(&bundle, frozen)));
    }
    let stock = app.inventory.stock(&sku).await?;
    let frozen = is_frozen(&app, &sku).await?;
    Ok(Json(StockView::new(&stock, frozen)))
}
