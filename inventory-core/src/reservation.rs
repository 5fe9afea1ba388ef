//! Reservations: holds on stock for an order, with their lifecycle and expiry.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::id::{LocationId, OrderId, ReservationId, Sku};
use crate::quantity::Quantity;
use crate::stock::StockKey;

/// Most lines one order may reserve.
pub const ORDER_LINES_MAX: usize = 256;
/// Most locations an [`AllocationStrategy::Priority`] list may name.
pub const PRIORITY_LOCATIONS_MAX: usize = 64;
/// Hold time used when a request names none: 30 minutes.
pub const HOLD_TTL_DEFAULT: Duration = Duration::from_secs(30 * 60);
/// Shortest hold a request may ask for.
pub const HOLD_TTL_MIN: Duration = Duration::from_secs(1);
/// Longest hold a request may ask for: 30 days.
pub const HOLD_TTL_MAX: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Where a reservation is in its lifecycle.
///
/// `Active --commit--> Committed --ship--> Shipped`; `Active --release--> Released`;
/// `Active --(expires_at passed)--> Expired`; `Committed --release--> Released`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Holding units in `reserved` until it expires.
    Active,
    /// Being picked or packed: units are in `committed`; no longer expires.
    Committed,
    /// Left the warehouse: units are gone from `on_hand`. Final.
    Shipped,
    /// Cancelled by the caller. Final.
    Released,
    /// Its hold time ran out before it was committed. Final.
    Expired,
}

impl ReservationStatus {
    /// The lowercase name used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Committed => "committed",
            Self::Shipped => "shipped",
            Self::Released => "released",
            Self::Expired => "expired",
        }
    }

    /// Whether a reservation in this status holds stock (its units are in `reserved`
    /// or `committed`): active and committed ones do; shipped, released and expired ones
    /// hold nothing. Every backend asks this one predicate.
    pub fn holds_stock(self) -> bool {
        matches!(self, Self::Active | Self::Committed)
    }
}

impl std::str::FromStr for ReservationStatus {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [
            Self::Active,
            Self::Committed,
            Self::Shipped,
            Self::Released,
            Self::Expired,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
        .ok_or_else(|| UnknownName(name.to_owned()))
    }
}

/// A stored name that matches no variant: damaged or foreign data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

impl fmt::Display for ReservationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of a reservation's state that a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationTransition {
    /// Move an active hold to picking.
    Commit,
    /// Ship a committed reservation.
    Ship,
    /// Cancel an active or committed reservation.
    Release,
    /// Lengthen an active hold.
    Extend,
    /// Commit and ship at once.
    Fulfil,
    /// Record a customer return of a shipped order.
    Return,
    /// Add lines to an active or committed reservation (an order edit).
    Amend,
}

impl fmt::Display for ReservationTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Commit => "commit",
            Self::Ship => "ship",
            Self::Release => "release",
            Self::Extend => "extend",
            Self::Fulfil => "fulfil",
            Self::Return => "return",
            Self::Amend => "amend",
        })
    }
}

/// How a line without a location picks one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "locations")]
pub enum AllocationStrategy {
    /// The location with the most available units (ties: the smallest location id).
    #[default]
    MostAvailable,
    /// The first location in this list that can fill the line; locations not listed
    /// are never used.
    Priority(Vec<LocationId>),
}

/// One line of an order: a SKU, a quantity and optionally the location to take it from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderLine {
    /// The SKU ordered.
    pub sku: Sku,
    /// Units ordered.
    pub quantity: Quantity,
    /// The location to reserve at; `None` lets the request's strategy choose.
    pub location: Option<LocationId>,
    /// The price per unit the customer pays, if known: recorded with the shipment,
    /// it is the revenue that ranks SKUs for cycle counting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Decimal>,
}

impl OrderLine {
    /// A line that lets the allocation strategy choose the location.
    pub fn new(sku: Sku, quantity: Quantity) -> Self {
        Self {
            sku,
            quantity,
            location: None,
            unit_price: None,
        }
    }

    /// The same line with the customer's price per unit.
    pub fn priced(mut self, unit_price: Decimal) -> Self {
        self.unit_price = Some(unit_price);
        self
    }

    /// A line pinned to `location`.
    pub fn at(sku: Sku, quantity: Quantity, location: LocationId) -> Self {
        Self {
            sku,
            quantity,
            location: Some(location),
            unit_price: None,
        }
    }
}

/// A request to hold stock for an order: all lines or none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReserveRequest {
    /// The caller's order id; the same request again returns the same reservation.
    pub order_id: OrderId,
    /// The lines to hold, at most [`ORDER_LINES_MAX`].
    pub lines: Vec<OrderLine>,
    /// How long to hold; `None` means the inventory's default (30 minutes unless set).
    pub ttl: Option<Duration>,
    /// How lines without a location choose one.
    pub allocation: AllocationStrategy,
    /// Whether a line that no single location can fill may be split over several.
    pub allow_split: bool,
}

impl ReserveRequest {
    /// A request with the default strategy, no split and the default hold time.
    pub fn new(order_id: OrderId, lines: Vec<OrderLine>) -> Self {
        Self {
            order_id,
            lines,
            ttl: None,
            allocation: AllocationStrategy::default(),
            allow_split: false,
        }
    }

    /// Sets the hold time.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets the allocation strategy.
    pub fn with_allocation(mut self, allocation: AllocationStrategy) -> Self {
        self.allocation = allocation;
        self
    }

    /// Allows a line to be split over several locations.
    pub fn with_split(mut self, allow_split: bool) -> Self {
        self.allow_split = allow_split;
        self
    }

    /// Whether `other` asks for the same thing (the hold time aside): a repeated
    /// delivery of the same order.
    pub fn is_same_order(&self, other: &Self) -> bool {
        self.order_id == other.order_id
            && self.lines == other.lines
            && self.allocation == other.allocation
            && self.allow_split == other.allow_split
    }
}

/// Checks a hold time against [`HOLD_TTL_MIN`] and [`HOLD_TTL_MAX`].
///
/// # Errors
///
/// [`DomainError::InvalidTtl`] when it is outside those limits.
pub fn check_ttl(ttl: Duration) -> Result<chrono::TimeDelta, DomainError> {
    if !(HOLD_TTL_MIN..=HOLD_TTL_MAX).contains(&ttl) {
        return Err(DomainError::InvalidTtl { ttl });
    }
    chrono::TimeDelta::from_std(ttl).map_err(|_| DomainError::InvalidTtl { ttl })
}

/// Units of one SKU held at one location by a reservation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReservationLine {
    /// The SKU held.
    pub sku: Sku,
    /// Where the units are held.
    pub location: LocationId,
    /// Units held.
    pub quantity: Quantity,
    /// The customer's price per unit, from the order line (none on a bundle's
    /// component lines: the price is the bundle's, kept on the order's request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Decimal>,
    /// The bundle this line is a component of, when the order line named a bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<BundleLine>,
    /// Units of `quantity` taken beyond available under the SKU's backorder policy and
    /// not yet covered by an arrival (zero for a line held in full). They count in the
    /// row's `backordered`, not its `reserved`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub backordered: i64,
    /// Units of `quantity` shipped by partial shipments
    /// ([`Inventory::ship_part`](crate::Inventory::ship_part)) while the rest stays held
    /// (zero until the first; a whole shipment leaves it as it was).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shipped: i64,
    /// Units of `quantity` cancelled by partial releases
    /// ([`Inventory::release_part`](crate::Inventory::release_part)).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub released: i64,
}

fn is_zero(units: &i64) -> bool {
    *units == 0
}

/// Which bundle a reservation line holds components for, and how many of them one
/// bundle unit takes (as the bundle was defined when it was reserved).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BundleLine {
    /// The bundle SKU the order named.
    pub sku: Sku,
    /// Units of this line's SKU per bundle unit.
    pub per_bundle: Quantity,
}

impl ReservationLine {
    /// Units held on the shelf now: `quantity` less what is still backordered, what
    /// partial shipments took and what partial releases gave back.
    pub fn held(&self) -> i64 {
        self.open() - self.backordered
    }

    /// Units the line still claims, held or backordered: `quantity` less what partial
    /// shipments took and partial releases gave back.
    pub fn open(&self) -> i64 {
        self.quantity.get() - self.shipped - self.released
    }

    /// The stock row this line holds units at.
    pub fn key(&self) -> StockKey {
        StockKey::new(self.sku.clone(), self.location.clone())
    }
}

/// A hold on stock for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Derived from the order id.
    pub id: ReservationId,
    /// The caller's order id.
    pub order_id: OrderId,
    /// Where it is in its lifecycle.
    pub status: ReservationStatus,
    /// What is held where, after allocation.
    pub lines: Vec<ReservationLine>,
    /// The request that created it, kept to recognise repeated deliveries.
    pub request: ReserveRequest,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When an active hold stops blocking sales.
    pub expires_at: DateTime<Utc>,
    /// When its status, expiry or returns last changed.
    pub updated_at: DateTime<Utc>,
    /// The customer returns recorded against it once shipped, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<crate::returns::ReturnRecord>,
}

impl Reservation {
    /// Whether it is active but its hold time has run out at `now`.
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.status == ReservationStatus::Active && self.expires_at <= now
    }

    /// Units of `line` (one of its lines) that left the warehouse: all but the released
    /// ones once the reservation is shipped, else what partial shipments took.
    pub fn shipped_units(&self, line: &ReservationLine) -> i64 {
        if self.status == ReservationStatus::Shipped {
            line.quantity.get() - line.released
        } else {
            line.shipped
        }
    }

    /// The components it holds for `bundle` (a bundle its order named) with their units
    /// per bundle, as defined when it was reserved; sorted, without repeats; empty when
    /// the order named no such bundle.
    pub(crate) fn bundle_parts(&self, bundle: &Sku) -> Vec<(&Sku, Quantity)> {
        let mut parts: Vec<(&Sku, Quantity)> = self
            .lines
            .iter()
            .filter_map(|held| {
                let line = held.bundle.as_ref().filter(|line| line.sku == *bundle)?;
                Some((&held.sku, line.per_bundle))
            })
            .collect();
        parts.sort();
        parts.dedup();
        parts
    }

    /// The SKUs it holds, sorted, without repeats.
    pub fn skus(&self) -> Vec<Sku> {
        let mut skus: Vec<Sku> = self.lines.iter().map(|line| line.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        skus
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for status in [
            ReservationStatus::Active,
            ReservationStatus::Committed,
            ReservationStatus::Shipped,
            ReservationStatus::Released,
            ReservationStatus::Expired,
        ] {
            assert_eq!(status.as_str().parse::<ReservationStatus>(), Ok(status));
        }
        assert!("Active".parse::<ReservationStatus>().is_err());
    }

    #[test]
    fn ttl_limits() {
        assert!(check_ttl(Duration::from_secs(0)).is_err());
        assert!(check_ttl(HOLD_TTL_MAX + Duration::from_secs(1)).is_err());
        assert_eq!(
            check_ttl(HOLD_TTL_DEFAULT).unwrap(),
            chrono::TimeDelta::minutes(30)
        );
    }

    #[test]
    fn same_order_ignores_ttl_only() {
        let line = OrderLine::new(Sku::new("A").unwrap(), Quantity::new(1).unwrap());
        let request = ReserveRequest::new(OrderId::new("o").unwrap(), vec![line.clone()]);
        let later = request.clone().with_ttl(Duration::from_secs(60));
        assert!(request.is_same_order(&later));
        let more = ReserveRequest::new(OrderId::new("o").unwrap(), vec![line.clone(), line]);
        assert!(!request.is_same_order(&more));
        assert!(!request.is_same_order(&request.clone().with_split(true)));
    }
}
