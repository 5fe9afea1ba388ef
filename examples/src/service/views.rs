//! JSON shapes of the API's answers, and parsing of the ids in its paths.

use chrono::{DateTime, SecondsFormat, Utc};
use inventory_core::catalog::{BundleComponent, BundleStock};
use inventory_core::{
    Disposition, LocationId, Reservation, ReservationId, ReservationStatus, Sku, SkuStock,
    StockLevel,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;

/// Units of on hand set aside by state: never sold, never told to a channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unavailable {
    /// Broken or spoiled units.
    pub damaged: i64,
    /// Units held for inspection.
    pub quality_control: i64,
    /// Units kept back on purpose.
    pub safety_stock: i64,
}

/// The numbers of a stock row or total.
#[derive(Debug, Serialize, ToSchema)]
pub struct Levels {
    /// Physically in the warehouse, in every state.
    pub on_hand: i64,
    /// Held for orders not yet picked.
    pub reserved: i64,
    /// Being picked or packed.
    pub committed: i64,
    /// On its way from a supplier or another location.
    pub in_transit: i64,
    /// Sold beyond available under the SKU's backorder policy, owed to holds until
    /// arrivals cover them.
    pub backordered: i64,
    /// Set aside by state, part of on hand.
    pub unavailable: Unavailable,
    /// What can be sold: on hand less reserved, committed and unavailable.
    pub available: i64,
}

impl From<&StockLevel> for Levels {
    fn from(level: &StockLevel) -> Self {
        Self {
            on_hand: level.on_hand,
            reserved: level.reserved,
            committed: level.committed,
            in_transit: level.in_transit,
            backordered: level.backordered,
            unavailable: Unavailable {
                damaged: level.damaged,
                quality_control: level.quality_control,
                safety_stock: level.safety_stock,
            },
            available: level.available(),
        }
    }
}

/// One stock row: `{"sku","location",...levels}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowView {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// Its numbers.
    #[serde(flatten)]
    pub levels: Levels,
}

/// One location of a SKU's stock.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationView {
    /// The location.
    pub location: LocationId,
    /// Its numbers.
    #[serde(flatten)]
    pub levels: Levels,
}

/// A SKU's stock: totals, frozen flag and locations. For a bundle, which holds no
/// stock of its own, every number is zero but `available`, the bundle units its
/// components make (their scarcest, per location and in total), and `components`
/// says what it is made of.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockView {
    /// The SKU.
    pub sku: Sku,
    /// Totals over locations.
    #[serde(flatten)]
    pub levels: Levels,
    /// Whether an open investigation freezes it (for a bundle: one of its components).
    pub frozen: bool,
    /// Each location.
    pub locations: Vec<LocationView>,
    /// A bundle's components, ordered by SKU; absent for a SKU that is no bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<BundleComponent>>,
}

impl StockView {
    /// The view of `stock`.
    pub fn new(stock: &SkuStock, frozen: bool) -> Self {
        Self {
            sku: stock.sku.clone(),
            levels: Levels::from(&stock.total),
            frozen,
            locations: stock
                .locations
                .iter()
                .map(|row| LocationView {
                    location: row.location.clone(),
                    levels: Levels::from(&row.level),
                })
                .collect(),
            components: None,
        }
    }

    /// The view of a bundle's stock.
    pub fn bundle(stock: &BundleStock, frozen: bool) -> Self {
        let only_available = |available: i64| Levels {
            available,
            ..Levels::from(&StockLevel::default())
        };
        Self {
            sku: stock.sku.clone(),
            levels: only_available(stock.available),
            frozen,
            locations: stock
                .locations
                .iter()
                .map(|(location, available)| LocationView {
                    location: location.clone(),
                    levels: only_available(*available),
                })
                .collect(),
            components: Some(stock.components.clone()),
        }
    }
}

/// A reservation line.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    /// The SKU.
    pub sku: Sku,
    /// Where it is held.
    pub location: LocationId,
    /// Units.
    #[schema(minimum = 1)]
    pub quantity: i64,
    /// Units of `quantity` backordered and not yet covered: while any are, the
    /// reservation cannot be committed.
    #[schema(minimum = 0)]
    pub backordered: i64,
    /// Units of `quantity` shipped by partial fulfilments while the rest stays held.
    #[schema(minimum = 0)]
    pub shipped: i64,
    /// Units of `quantity` released by partial refunds or edits.
    #[schema(minimum = 0)]
    pub released: i64,
    /// The bundle the order line named, when this line holds one of its components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<BundleLineView>,
}

/// Which bundle a reservation line holds components for.
#[derive(Debug, Serialize, ToSchema)]
pub struct BundleLineView {
    /// The bundle SKU.
    pub sku: Sku,
    /// Units of the line's SKU per bundle unit.
    #[schema(minimum = 1)]
    pub per_bundle: i64,
}

/// A reservation as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationView {
    /// Its id.
    pub id: ReservationId,
    /// The order it holds stock for.
    pub order_id: String,
    /// `active`, `committed`, `shipped`, `released` or `expired`.
    pub status: ReservationStatus,
    /// When its hold ends (RFC 3339).
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// When it was made (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Its lines.
    pub lines: Vec<LineView>,
    /// The customer returns recorded against it, oldest first.
    pub returns: Vec<ReturnView>,
}

/// One line of a recorded return.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnLineView {
    /// The SKU.
    pub sku: Sku,
    /// Units returned.
    pub quantity: i64,
    /// What became of them.
    pub disposition: Disposition,
    /// Where they came back to.
    pub location: Option<LocationId>,
}

/// A recorded customer return.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnView {
    /// When it was recorded (RFC 3339).
    #[schema(format = DateTime)]
    pub at: String,
    /// The `Idempotency-Key` it was recorded under, if any.
    pub idempotency_key: Option<String>,
    /// Its lines.
    pub lines: Vec<ReturnLineView>,
}

/// RFC 3339 with seconds, in UTC.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl ReservationView {
    /// The view of `reservation` at `now`: an active hold past its time shows as
    /// expired even before the sweep writes it so.
    pub fn new(reservation: &Reservation, now: DateTime<Utc>) -> Self {
        let status = if reservation.is_expired_at(now) {
            ReservationStatus::Expired
        } else {
            reservation.status
        };
        Self {
            id: reservation.id,
            order_id: reservation.order_id.as_str().to_owned(),
            status,
            expires_at: rfc3339(reservation.expires_at),
            created_at: rfc3339(reservation.created_at),
            lines: reservation
                .lines
                .iter()
                .map(|line| LineView {
                    sku: line.sku.clone(),
                    location: line.location.clone(),
                    quantity: line.quantity.get(),
                    backordered: line.backordered,
                    shipped: line.shipped,
                    released: line.released,
                    bundle: line.bundle.as_ref().map(|bundle| BundleLineView {
                        sku: bundle.sku.clone(),
                        per_bundle: bundle.per_bundle.get(),
                    }),
                })
                .collect(),
            returns: reservation
                .returns
                .iter()
                .map(|record| ReturnView {
                    at: rfc3339(record.at),
                    idempotency_key: record.idempotency_key.as_ref().map(ToString::to_string),
                    lines: record
                        .lines
                        .iter()
                        .map(|line| ReturnLineView {
                            sku: line.sku.clone(),
                            quantity: line.quantity.get(),
                            disposition: line.disposition,
                            location: line.location.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A SKU from a path or body.
///
/// # Errors
///
/// 422 `invalid_request` for a malformed SKU.
pub fn sku(text: &str) -> Result<Sku, ApiError> {
    Ok(Sku::new(text)?)
}

/// A location from a body.
///
/// # Errors
///
/// 422 `invalid_request` for a malformed location.
pub fn location(text: &str) -> Result<LocationId, ApiError> {
    Ok(LocationId::new(text)?)
}

/// A reservation id from a path.
///
/// # Errors
///
/// 404 `not_found` for text that is no reservation id (no reservation can have it).
pub fn reservation_id(text: &str) -> Result<ReservationId, ApiError> {
    ReservationId::parse(text)
        .map_err(|_| ApiError::not_found(format!("reservation {text} not found")).with("id", text))
}
