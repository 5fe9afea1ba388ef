//! Cycle counts: record a count, the day's count list, unfreeze a SKU.

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use inventory_core::counting::{count_list, CountAction, CountItem, Investigation};
use inventory_core::{LocationId, ReservationId, Sku};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiResult, ErrorBody};
use super::views::{location, sku};
use super::{is_frozen, optional_body, AppState, Body, Path, Query, RawBody, ServiceStore};

/// Who a count or resolution is recorded under when the request names no one.
const ACTOR_DEFAULT: &str = "api";

/// `POST /v1/counts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountBody {
    /// The SKU counted.
    #[schema(value_type = Sku)]
    sku: String,
    /// Where.
    #[schema(value_type = LocationId)]
    location: String,
    /// Units found.
    #[schema(minimum = 0)]
    counted: i64,
    /// Who counted (default `api`).
    counted_by: Option<String>,
}

/// The outcome of a count.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountView {
    /// The SKU.
    sku: Sku,
    /// The location.
    location: LocationId,
    /// On hand before the count.
    expected: i64,
    /// Units found: on hand now.
    counted: i64,
    /// `|counted - expected| / expected`, in percent (two decimals).
    discrepancy_percent: f64,
    /// What the count led to.
    action: CountAction,
    /// The investigation it opened, if any.
    #[schema(format = Uuid)]
    investigation: Option<String>,
    /// Units held or being picked that the count no longer covers, if any.
    shortage: Option<i64>,
    /// The reservations holding those units, newest first.
    short_reservations: Vec<ReservationId>,
}

/// `GET /v1/counts/due?date=YYYY-MM-DD`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// The day (default today, UTC).
    date: Option<NaiveDate>,
}

/// `POST /v1/skus/{sku}/unfreeze`, all fields optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnfreezeBody {
    /// Who resolved the investigations (default `api`).
    resolved_by: Option<String>,
    /// Recounted units per location, applied before the investigation closes.
    #[serde(default)]
    recounts: Vec<Recount>,
}

/// A recount of one location.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recount {
    /// The location recounted.
    #[schema(value_type = LocationId)]
    location: String,
    /// Units found.
    #[schema(minimum = 0)]
    counted: i64,
}

/// What unfreezing a SKU did.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnfreezeView {
    /// The SKU.
    sku: Sku,
    /// Whether it is still frozen (false unless another investigation opened since).
    frozen: bool,
    /// The investigations resolved.
    resolved: Vec<Investigation>,
}

/// Records a count: on hand becomes the counted number; a large discrepancy opens an
/// investigation or freezes the SKU.
#[utoipa::path(
    post,
    path = "/v1/counts",
    operation_id = "recordCount",
    tag = "counts",
    request_body = CountBody,
    responses(
        (status = 200, description = "The count's outcome.", body = CountView),
        (status = 404, description = "`unknown_sku`: no stock row for the SKU and location.", body = ErrorBody),
    ),
)]
pub async fn record<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Body(body): Body<CountBody>,
) -> ApiResult<Json<CountView>> {
    let (sku, location) = (sku(&body.sku)?, location(&body.location)?);
    let by = body.counted_by.as_deref().unwrap_or(ACTOR_DEFAULT);
    let report = app
        .inventory
        .record_count(
            sku,
            location,
            body.counted,
            by,
            app.config.counting.thresholds,
        )
        .await?;
    let record = report.record;
    // Basis points to percent: exact for any count a warehouse holds.
    #[allow(clippy::cast_precision_loss)]
    let discrepancy_percent = record.discrepancy_basis_points as f64 / 100.0;
    Ok(Json(CountView {
        sku: record.sku,
        location: record.location,
        expected: record.expected,
        counted: record.counted,
        discrepancy_percent,
        action: record.action,
        investigation: record.investigation.map(|id| id.to_string()),
        shortage: report.shortage,
        short_reservations: report.short_reservations,
    }))
}

/// The rows due for counting on `date` (default today), the most urgent first.
#[utoipa::path(
    get,
    path = "/v1/counts/due",
    operation_id = "countsDue",
    tag = "counts",
    params(DueQuery),
    responses(
        (status = 200, description = "The rows due, most urgent first.", body = Vec<CountItem>),
    ),
)]
pub async fn due<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Query(query): Query<DueQuery>,
) -> ApiResult<Json<Vec<CountItem>>> {
    let date = query
        .date
        .unwrap_or_else(|| app.inventory.now().date_naive());
    let counting = &app.config.counting;
    let items = count_list(
        &app.inventory,
        date,
        counting.start,
        &counting.abc,
        counting.capacity,
    )
    .await?;
    Ok(Json(items))
}

/// Resolves every open investigation of a SKU (after optional recounts), so it takes
/// reservations and channels get its number again.
#[utoipa::path(
    post,
    path = "/v1/skus/{sku}/unfreeze",
    operation_id = "unfreezeSku",
    tag = "counts",
    params(("sku" = Sku, Path, description = "The SKU.")),
    request_body(content = Option<UnfreezeBody>, description = "Optional: an empty body resolves without recounts."),
    responses(
        (status = 200, description = "The investigations resolved.", body = UnfreezeView),
        (status = 404, description = "`unknown_sku`: a recount names a location with no stock row.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: the SKU has no open investigation.", body = ErrorBody),
    ),
)]
pub async fn unfreeze<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<UnfreezeView>> {
    let sku = sku(&name)?;
    let body: UnfreezeBody = optional_body(&body)?;
    let by = body.resolved_by.as_deref().unwrap_or(ACTOR_DEFAULT);
    let mut recounts = std::collections::BTreeMap::new();
    for recount in &body.recounts {
        recounts.insert(location(&recount.location)?, recount.counted);
    }
    let resolved = app.inventory.unfreeze(sku.clone(), recounts, by).await?;
    let frozen = is_frozen(&app, &sku).await?;
    Ok(Json(UnfreezeView {
        sku,
        frozen,
        resolved,
    }))
}
