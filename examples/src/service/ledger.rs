//! The audit trail: ledger entries, newest first, filtered and paged.

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use inventory_core::{
    LedgerCursor, LedgerEntry, LedgerQuery, LocationId, Movement, ReservationId, Sku,
    LEDGER_PAGE_MAX,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult};
use super::views::{location, rfc3339, sku, Levels};
use super::{AppState, Query, ServiceStore};

/// `GET /v1/ledger?sku=&location=&since=&until=&reference=&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerParams {
    /// Only this SKU.
    #[param(value_type = Option<Sku>)]
    sku: Option<String>,
    /// Only this location.
    #[param(value_type = Option<LocationId>)]
    location: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Only entries before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
    /// Only entries with this reference (`order:<order id>`, `purchase-order:<id>`).
    reference: Option<String>,
    /// Entries per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// One ledger entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// When it was written (RFC 3339).
    #[schema(format = DateTime)]
    at: String,
    /// The SKU.
    sku: Sku,
    /// The location.
    location: LocationId,
    /// What moved.
    movement: Movement,
    /// Units moved (negative for a downward adjustment or count).
    quantity: i64,
    /// The row before.
    before: Levels,
    /// The row after.
    after: Levels,
    /// The reservation behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    reservation_id: Option<ReservationId>,
    /// The order behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    order_id: Option<String>,
    /// Why (adjustments, counts, purchase orders).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Who did it.
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    /// The document behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
}

impl From<LedgerEntry> for EntryView {
    fn from(entry: LedgerEntry) -> Self {
        Self {
            at: rfc3339(entry.at),
            sku: entry.key.sku,
            location: entry.key.location,
            movement: entry.movement,
            quantity: entry.quantity,
            before: Levels::from(&entry.before),
            after: Levels::from(&entry.after),
            reservation_id: entry.reservation_id,
            order_id: entry.order_id.map(|id| id.as_str().to_owned()),
            reason: entry.reason,
            actor: entry.actor,
            reference: entry.reference,
        }
    }
}

/// A page of ledger entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPageView {
    /// The entries.
    entries: Vec<EntryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Entries per page when the request names no limit.
const PAGE_DEFAULT: u32 = 100;

fn encode(cursor: &LedgerCursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode(text: &str) -> ApiResult<LedgerCursor> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::invalid("cursor is not one this service gave out"))
}

/// Ledger entries newest first, by SKU, location, time range and reference.
#[utoipa::path(
    get,
    path = "/v1/ledger",
    operation_id = "listLedger",
    tag = "stock",
    params(LedgerParams),
    responses(
        (status = 200, description = "A page of entries, newest first.", body = LedgerPageView),
    ),
)]
pub async fn list<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Query(params): Query<LedgerParams>,
) -> ApiResult<Json<LedgerPageView>> {
    let limit = params.limit.unwrap_or(PAGE_DEFAULT);
    if limit == 0 || limit as usize > LEDGER_PAGE_MAX {
        return Err(ApiError::invalid(format!(
            "limit {limit} is outside 1 to {LEDGER_PAGE_MAX}"
        )));
    }
    let query = LedgerQuery {
        sku: params.sku.as_deref().map(sku).transpose()?,
        location: params.location.as_deref().map(location).transpose()?,
        since: params.since,
        until: params.until,
        reference: params.reference,
        limit: limit as usize,
        after: params.cursor.as_deref().map(decode).transpose()?,
    };
    let page = app
        .inventory
        .read(|store| store.ledger_page(&query))
        .await?;
    Ok(Json(LedgerPageView {
        entries: page.entries.into_iter().map(EntryView::from).collect(),
        next_cursor: page.next.as_ref().map(encode),
    }))
}
