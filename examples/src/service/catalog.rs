//! The catalog: bundle (kit) definitions (`PUT`, `GET` and `DELETE
//! /v1/skus/{sku}/bundle`) and selling policies (`PUT` and `GET
//! /v1/skus/{sku}/policy`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use inventory_core::catalog::{BackorderLimit, BundleComponent, SkuSettings};
use inventory_core::events::{LowStock, StockMeasure, Threshold};
use inventory_core::{Quantity, Sku};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::views::sku;
use super::{AppState, Body, Path, ServiceStore};

/// One component of a bundle definition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentBody {
    /// The component SKU: not itself a bundle.
    #[schema(value_type = Sku)]
    sku: String,
    /// Units of it in one unit of the bundle.
    #[schema(minimum = 1)]
    quantity: i64,
}

/// `PUT /v1/skus/{sku}/bundle`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleBody {
    /// 1 to 16 components, each SKU once.
    components: Vec<ComponentBody>,
}

/// A bundle definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct BundleView {
    /// The bundle SKU.
    pub sku: Sku,
    /// Its components, ordered by SKU.
    pub components: Vec<BundleComponent>,
}

/// Defines the SKU as a bundle of components, or redefines it. A bundle holds no stock
/// of its own: its available is its scarcest component's, and an order line naming it
/// reserves its components, all or none.
#[utoipa::path(
    put,
    path = "/v1/skus/{sku}/bundle",
    operation_id = "putBundle",
    tag = "catalog",
    params(("sku" = Sku, Path, description = "The bundle SKU.")),
    request_body = BundleBody,
    responses(
        (status = 200, description = "The definition as stored.", body = BundleView),
    ),
)]
pub async fn put<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
    Body(body): Body<BundleBody>,
) -> ApiResult<Json<BundleView>> {
    let bundle = sku(&name)?;
    let components = body
        .components
        .into_iter()
        .map(|component| {
            let quantity = Quantity::new(component.quantity)?;
            Ok(BundleComponent::new(sku(&component.sku)?, quantity))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let components = app
        .inventory
        .define_bundle(bundle.clone(), components)
        .await?;
    Ok(Json(BundleView {
        sku: bundle,
        components,
    }))
}

/// The SKU's bundle definition.
#[utoipa::path(
    get,
    path = "/v1/skus/{sku}/bundle",
    operation_id = "getBundle",
    tag = "catalog",
    params(("sku" = Sku, Path, description = "The bundle SKU.")),
    responses(
        (status = 200, description = "Its components.", body = BundleView),
        (status = 404, description = "`not_found`: the SKU is not a bundle.", body = ErrorBody),
    ),
)]
pub async fn show<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
) -> ApiResult<Json<BundleView>> {
    let bundle = sku(&name)?;
    let catalog = app.inventory.catalog().await?;
    let components = catalog
        .bundle(&bundle)
        .ok_or_else(|| not_a_bundle(&bundle))?
        .to_vec();
    Ok(Json(BundleView {
        sku: bundle,
        components,
    }))
}

/// Ends the SKU's definition as a bundle; reservations made of it keep their
/// component lines.
#[utoipa::path(
    delete,
    path = "/v1/skus/{sku}/bundle",
    operation_id = "deleteBundle",
    tag = "catalog",
    params(("sku" = Sku, Path, description = "The bundle SKU.")),
    responses(
        (status = 204, description = "It is no longer a bundle."),
        (status = 404, description = "`not_found`: the SKU is not a bundle.", body = ErrorBody),
    ),
)]
pub async fn remove<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let bundle = sku(&name)?;
    if app.inventory.remove_bundle(&bundle).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_a_bundle(&bundle))
    }
}

fn not_a_bundle(bundle: &Sku) -> ApiError {
    ApiError::not_found(format!("{bundle} is not a bundle")).with("sku", bundle.as_str())
}

/// A backorder limit as the API takes and answers it: a number of units (at least 1)
/// per location, or `"in_transit"` (up to the units on their way to the location).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LimitBody {
    /// Up to this many units backordered at each location.
    Units(i64),
    /// Up to what is in transit to each location.
    InTransit(InTransitWord),
}

/// The word `in_transit`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
pub enum InTransitWord {
    /// Up to what is in transit.
    #[serde(rename = "in_transit")]
    InTransit,
}

impl From<LimitBody> for BackorderLimit {
    fn from(body: LimitBody) -> Self {
        match body {
            LimitBody::Units(units) => Self::Units(units),
            LimitBody::InTransit(_) => Self::InTransit,
        }
    }
}

impl From<BackorderLimit> for LimitBody {
    fn from(limit: BackorderLimit) -> Self {
        match limit {
            BackorderLimit::Units(units) => Self::Units(units),
            BackorderLimit::InTransit => Self::InTransit(InTransitWord::InTransit),
        }
    }
}

/// A low-stock threshold as the API takes and answers it: a number of units (0 or
/// more), or `"reorder_point"`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ThresholdBody {
    /// Low at or below this many units (0 or more).
    Units(i64),
    /// Low at or below the reorder point.
    ReorderPoint(ReorderPointWord),
}

/// The word `reorder_point`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
pub enum ReorderPointWord {
    /// The reorder point each reorder run computes.
    #[serde(rename = "reorder_point")]
    ReorderPoint,
}

impl From<ThresholdBody> for Threshold {
    fn from(body: ThresholdBody) -> Self {
        match body {
            ThresholdBody::Units(units) => Self::Units(units),
            ThresholdBody::ReorderPoint(_) => Self::ReorderPoint,
        }
    }
}

impl From<Threshold> for ThresholdBody {
    fn from(threshold: Threshold) -> Self {
        match threshold {
            Threshold::Units(units) => Self::Units(units),
            Threshold::ReorderPoint => Self::ReorderPoint(ReorderPointWord::ReorderPoint),
        }
    }
}

/// `PUT /v1/skus/{sku}/policy`: the whole policy (what is left out is off).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// How far the SKU may be sold beyond available; absent or null: not at all.
    backorder_limit: Option<LimitBody>,
    /// Units (0 or more) at or below which the SKU is low, or `"reorder_point"` (the
    /// point each reorder run computes): crossing it raises a low-stock event (POSTed
    /// to the configured `low_stock_webhook`); absent or null: no events.
    low_stock_threshold: Option<ThresholdBody>,
    /// What the threshold watches: `available` (the default) or `position` (available
    /// plus in transit).
    low_stock_measure: Option<StockMeasure>,
}

/// A SKU's selling policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    /// The SKU.
    pub sku: Sku,
    /// How far it may be sold beyond available; null: not at all.
    pub backorder_limit: Option<LimitBody>,
    /// Units at or below which it is low, or `"reorder_point"`; null: no low-stock
    /// events.
    pub low_stock_threshold: Option<ThresholdBody>,
    /// What the threshold watches; null without a threshold.
    pub low_stock_measure: Option<StockMeasure>,
    /// The reorder point the last reorder run computed, while the threshold follows
    /// it; null otherwise, or before a run has computed one (nothing is watched then).
    pub reorder_point: Option<i64>,
}

impl PolicyView {
    fn new(sku: Sku, backorder: Option<BackorderLimit>, settings: &SkuSettings) -> Self {
        let low_stock = settings.low_stock;
        Self {
            sku,
            backorder_limit: backorder.map(LimitBody::from),
            low_stock_threshold: low_stock.map(|low| ThresholdBody::from(low.threshold)),
            low_stock_measure: low_stock.map(|low| low.measure),
            reorder_point: settings.reorder_point,
        }
    }
}

/// Sets the SKU's selling policy in one change: whether, and how far, it may be sold
/// beyond what is available (backorders, covered first come first served by
/// arrivals), and the low-stock threshold whose crossings raise events.
#[utoipa::path(
    put,
    path = "/v1/skus/{sku}/policy",
    operation_id = "putPolicy",
    tag = "catalog",
    params(("sku" = Sku, Path, description = "The SKU.")),
    request_body = PolicyBody,
    responses(
        (status = 200, description = "The policy as stored.", body = PolicyView),
    ),
)]
pub async fn put_policy<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
    Body(body): Body<PolicyBody>,
) -> ApiResult<Json<PolicyView>> {
    let sku = sku(&name)?;
    let limit = body.backorder_limit.map(BackorderLimit::from);
    let low_stock = body.low_stock_threshold.map(|threshold| LowStock {
        threshold: threshold.into(),
        measure: body.low_stock_measure.unwrap_or(StockMeasure::Available),
    });
    let (limit, _) = app
        .inventory
        .set_policy(sku.clone(), limit, low_stock)
        .await?;
    let catalog = app.inventory.catalog().await?;
    let settings = catalog.settings(&sku).cloned().unwrap_or_default();
    Ok(Json(PolicyView::new(sku, limit, &settings)))
}

/// The SKU's selling policy (every SKU has one: by default it sells only what is
/// available).
#[utoipa::path(
    get,
    path = "/v1/skus/{sku}/policy",
    operation_id = "getPolicy",
    tag = "catalog",
    params(("sku" = Sku, Path, description = "The SKU.")),
    responses(
        (status = 200, description = "Its policy.", body = PolicyView),
    ),
)]
pub async fn show_policy<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(name): Path<String>,
) -> ApiResult<Json<PolicyView>> {
    let sku = sku(&name)?;
    let catalog = app.inventory.catalog().await?;
    let settings = catalog.settings(&sku).cloned().unwrap_or_default();
    let limit = catalog.backorder(&sku);
    Ok(Json(PolicyView::new(sku, limit, &settings)))
}
