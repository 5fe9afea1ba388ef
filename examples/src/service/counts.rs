//! Cycle counts: record a count, the day's count list, unfreeze a SKU.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use inventory_core::counting::{count_list, CountAction, CountItem};
use inventory_core::{LocationId, ReservationId, Sku};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::views::{location, sku};
use super::{is_frozen, optional_body, AppState, Body, Path, Query, ServiceStore};

/// Who a count or resolution is recorded under when the request names no one.
const ACTOR_DEFAULT: &str = "api";

/// `POST /v1/counts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountBody {
    sku: String,
    location: String,
    counted: i64,
    counted_by: Option<String>,
}

/// The outcome of a count.
#[derive(Debug, Serialize)]
pub struct CountView {
    sku: Sku,
    location: LocationId,
    expected: i64,
    counted: i64,
    discrepancy_percent: f64,
    action: CountAction,
    investigation: Option<String>,
    shortage: Option<i64>,
    short_reservations: Vec<ReservationId>,
}

/// `GET /v1/counts/due?date=YYYY-MM-DD`.
#[derive(Debug, Deserialize)]
pub struct DueQuery {
    date: Option<NaiveDate>,
}

/// `POST /v1/skus/{sku}/unfreeze`, all fields optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnfreezeBody {
    resolved_by: Option<String>,
    /// Recounted units per location, applied before the investigation closes.
    #[serde(default)]
    recounts: Vec<Recount>,
}

/// A recount of one location.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recount {
    location: String,
    counted: i64,
}

/// Records a count: on hand becomes the counted number; a large discrepancy opens an
/// investigation or freezes the SKU.
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
pub async fn unfreeze<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let sku = sku(&name)?;
    let body: UnfreezeBody = optional_body(&body)?;
    let by = body.resolved_by.as_deref().unwrap_or(ACTOR_DEFAULT);
    let mut recounts = std::collections::BTreeMap::new();
    for recount in &body.recounts {
        recounts.insert(location(&recount.location)?, recount.counted);
    }
    let resolved = app.inventory.unfreeze(sku.clone(), recounts, by).await?;
    let frozen = is_frozen(&app, &sku).await?;
    Ok(Json(serde_json::json!({
        "sku": sku,
        "frozen": frozen,
        "resolved": resolved,
    })))
}
