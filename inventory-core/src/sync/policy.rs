//! What each channel is told: [`ChannelPolicy`] and the pure [`published`] formula.
//!
//! `published = floor(max(0, available over the channel's locations - safety_units) x
//! buffer)`, clamped to the cap; a frozen SKU publishes 0. Integer arithmetic only: the
//! buffer is a whole number of basis points, so 0.90 x 10 is exactly 9.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::{BackorderLimit, BundleComponent};
use crate::error::DomainError;
use crate::id::{LocationId, Sku};
use crate::stock::LocationStock;

/// Basis points in a whole (100%).
const WHOLE: u32 = 10_000;

/// The share of available stock a channel is told, in basis points (1/10,000), at most
/// 100%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Buffer(u32);

impl Buffer {
    /// All of it.
    pub const FULL: Self = Self(WHOLE);

    /// A share in basis points: 9,000 is 90%.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] above 10,000.
    pub fn basis_points(points: u32) -> Result<Self, DomainError> {
        if points > WHOLE {
            return Err(DomainError::InvalidSetting {
                setting: "buffer basis points",
                value: points.to_string(),
                problem: "must be at most 10000 (100%)",
            });
        }
        Ok(Self(points))
    }

    /// A share written as a decimal fraction, read exactly: `"0.9"`, `"0.85"`, `"1"`.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] for anything else, more than four decimals, or
    /// more than 1.
    pub fn decimal(text: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::InvalidSetting {
            setting: "buffer",
            value: format!("{text:?}"),
            problem: "must be a decimal from 0 to 1 with at most 4 places",
        };
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 1
            || fraction.len() > 4
            || !digits(whole)
            || !digits(fraction)
        {
            return Err(bad());
        }
        let padded = format!("{fraction:0<4}");
        let points = whole.parse::<u32>().map_err(|_| bad())? * WHOLE
            + padded.parse::<u32>().map_err(|_| bad())?;
        Self::basis_points(points).map_err(|_| bad())
    }

    /// The share in basis points.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Buffer {
    type Error = DomainError;

    fn try_from(points: u32) -> Result<Self, Self::Error> {
        Self::basis_points(points)
    }
}

impl From<Buffer> for u32 {
    fn from(buffer: Buffer) -> Self {
        buffer.0
    }
}

impl fmt::Display for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:04}", self.0 / WHOLE, self.0 % WHOLE)
    }
}

/// The numbers of a policy that a SKU may override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// The share of what remains after the safety units.
    pub buffer: Buffer,
    /// Units held back before the buffer applies; never negative.
    pub safety_units: i64,
    /// The most the channel is ever told.
    pub cap: Option<i64>,
}

impl Terms {
    /// A buffer alone: no safety units, no cap.
    pub fn buffer(buffer: Buffer) -> Self {
        Self {
            buffer,
            safety_units: 0,
            cap: None,
        }
    }
}

/// How one channel's numbers are computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPolicy {
    /// Terms for every SKU without an override.
    pub terms: Terms,
    /// The locations the channel sells from; `None` means all.
    pub locations: Option<BTreeSet<LocationId>>,
    /// Terms for particular SKUs.
    pub overrides: BTreeMap<Sku, Terms>,
    /// Whether the channel is told, beside available units, the room left for
    /// backorders of SKUs with a backorder limit (off by default: a marketplace that
    /// must never sell units that do not exist is told only what is on the shelf).
    #[serde(default)]
    pub backorders: bool,
}

impl ChannelPolicy {
    /// A policy telling `buffer` of everything available everywhere.
    pub fn buffered(buffer: Buffer) -> Self {
        Self {
            terms: Terms::buffer(buffer),
            locations: None,
            overrides: BTreeMap::new(),
            backorders: false,
        }
    }

    /// Also tells the room left for backorders (see [`ChannelPolicy::backorders`]).
    pub fn with_backorders(mut self, backorders: bool) -> Self {
        self.backorders = backorders;
        self
    }

    /// Holds back `units` before the buffer applies.
    pub fn with_safety_units(mut self, units: i64) -> Self {
        self.terms.safety_units = units.max(0);
        self
    }

    /// Never tells more than `cap`.
    pub fn with_cap(mut self, cap: i64) -> Self {
        self.terms.cap = Some(cap.max(0));
        self
    }

    /// Sells only from `locations`.
    pub fn with_locations(mut self, locations: impl IntoIterator<Item = LocationId>) -> Self {
        self.locations = Some(locations.into_iter().collect());
        self
    }

    /// Uses `terms` for `sku`.
    pub fn with_override(mut self, sku: Sku, terms: Terms) -> Self {
        self.overrides.insert(sku, terms);
        self
    }
}

/// The number `policy` tells its channel for `sku`, given the SKU's stock rows.
///
/// ```
/// use inventory_core::sync::{published, Buffer, ChannelPolicy};
/// use inventory_core::{LocationId, LocationStock, Sku, StockLevel};
///
/// let rows = [LocationStock {
///     location: LocationId::new("main")?,
///     level: StockLevel { on_hand: 143, ..StockLevel::default() },
/// }];
/// let sku = Sku::new("TEE")?;
/// let shopify = ChannelPolicy::buffered(Buffer::decimal("0.90")?);
/// let amazon = ChannelPolicy::buffered(Buffer::decimal("0.85")?);
/// let wholesale = ChannelPolicy::buffered(Buffer::decimal("0.70")?);
/// assert_eq!(published(&shopify, &sku, &rows, false), 128);
/// assert_eq!(published(&amazon, &sku, &rows, false), 121);
/// assert_eq!(published(&wholesale, &sku, &rows, false), 100);
/// assert_eq!(published(&shopify, &sku, &rows, true), 0, "frozen");
/// # Ok::<(), inventory_core::DomainError>(())
/// ```
pub fn published(policy: &ChannelPolicy, sku: &Sku, rows: &[LocationStock], frozen: bool) -> i64 {
    published_with_backorders(policy, sku, rows, frozen, None)
}

/// [`published`] for a SKU with backorder limit `limit`: a channel whose policy takes
/// backorders ([`ChannelPolicy::with_backorders`]) is told, beside the available
/// units, the room left for backorders at each location it sells from, by the same
/// terms; any other channel only what is available.
///
/// ```
/// use inventory_core::catalog::BackorderLimit;
/// use inventory_core::sync::{published_with_backorders, Buffer, ChannelPolicy};
/// use inventory_core::{LocationId, LocationStock, Sku, StockLevel};
///
/// let rows = [LocationStock {
///     location: LocationId::new("main")?,
///     level: StockLevel { on_hand: 10, in_transit: 40, backordered: 5, ..StockLevel::default() },
/// }];
/// let sku = Sku::new("TEE")?;
/// let limit = Some(BackorderLimit::InTransit);
/// let amazon = ChannelPolicy::buffered(Buffer::FULL);
/// let shop = ChannelPolicy::buffered(Buffer::FULL).with_backorders(true);
/// assert_eq!(published_with_backorders(&amazon, &sku, &rows, false, limit), 10);
/// assert_eq!(published_with_backorders(&shop, &sku, &rows, false, limit), 45, "10 + 40 - 5");
/// # Ok::<(), inventory_core::DomainError>(())
/// ```
pub fn published_with_backorders(
    policy: &ChannelPolicy,
    sku: &Sku,
    rows: &[LocationStock],
    frozen: bool,
    limit: Option<BackorderLimit>,
) -> i64 {
    if frozen {
        return 0;
    }
    let mut sellable = sold_from(policy, rows);
    if let Some(limit) = limit.filter(|_| policy.backorders) {
        sellable = sellable.max(0)
            + rows
                .iter()
                .filter(|row| sells_from(policy, row))
                .map(|row| i128::from(limit.room(&row.level)))
                .sum::<i128>();
    }
    told(policy, sku, sellable)
}

/// Whether `policy`'s channel sells from `row`'s location.
fn sells_from(policy: &ChannelPolicy, row: &LocationStock) -> bool {
    policy
        .locations
        .as_ref()
        .is_none_or(|locations| locations.contains(&row.location))
}

/// The number `policy` tells its channel for bundle `sku`: the bundle's available over
/// the channel's locations (the scarcest component's available there, summed over
/// those locations, in whole bundle units), by the same terms as any SKU. `rows` holds
/// each component's rows; a bundle with a frozen component is told 0.
///
/// ```
/// use std::collections::BTreeMap;
/// use inventory_core::catalog::BundleComponent;
/// use inventory_core::sync::{published_bundle, Buffer, ChannelPolicy};
/// use inventory_core::{LocationId, LocationStock, Quantity, Sku, StockLevel};
///
/// let row = |on_hand| vec![LocationStock {
///     location: LocationId::new("main").unwrap(),
///     level: StockLevel { on_hand, ..StockLevel::default() },
/// }];
/// let (mug, tea) = (Sku::new("MUG")?, Sku::new("TEA")?);
/// let components = [
///     BundleComponent::new(mug.clone(), Quantity::new(1)?),
///     BundleComponent::new(tea.clone(), Quantity::new(2)?),
/// ];
/// let rows = BTreeMap::from([(mug, row(30)), (tea, row(41))]);
/// let shop = ChannelPolicy::buffered(Buffer::decimal("0.90")?);
/// // 20 gift sets (41 tea make 20 pairs), 90% of them: 18.
/// assert_eq!(published_bundle(&shop, &Sku::new("GIFT")?, &components, &rows, false), 18);
/// # Ok::<(), inventory_core::DomainError>(())
/// ```
pub fn published_bundle(
    policy: &ChannelPolicy,
    sku: &Sku,
    components: &[BundleComponent],
    rows: &BTreeMap<Sku, Vec<LocationStock>>,
    frozen: bool,
) -> i64 {
    if frozen {
        return 0;
    }
    let bundles = components
        .iter()
        .map(|component| {
            let rows = rows
                .get(&component.sku)
                .map(Vec::as_slice)
                .unwrap_or_default();
            sold_from(policy, rows).max(0) / i128::from(component.quantity.get())
        })
        .min()
        .unwrap_or(0);
    told(policy, sku, bundles)
}

/// Available over the locations `policy` sells from.
fn sold_from(policy: &ChannelPolicy, rows: &[LocationStock]) -> i128 {
    rows.iter()
        .filter(|row| sells_from(policy, row))
        .map(|row| i128::from(row.level.available()))
        .sum()
}

/// What the terms for `sku` make of `available` units: less safety units, buffered,
/// capped.
fn told(policy: &ChannelPolicy, sku: &Sku, available: i128) -> i64 {
    let terms = policy.overrides.get(sku).unwrap_or(&policy.terms);
    let sellable = (available - i128::from(terms.safety_units.max(0))).max(0);
    let told = sellable * i128::from(terms.buffer.get()) / i128::from(WHOLE);
    let capped = terms
        .cap
        .map_or(told, |cap| told.min(i128::from(cap.max(0))));
    i64::try_from(capped).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stock::StockLevel;

    fn row(location: &str, on_hand: i64, reserved: i64) -> LocationStock {
        LocationStock {
            location: LocationId::new(location).unwrap(),
            level: StockLevel {
                on_hand,
                reserved,
                ..StockLevel::default()
            },
        }
    }

    fn buffer(text: &str) -> Buffer {
        Buffer::decimal(text).unwrap()
    }

    fn sku() -> Sku {
        Sku::new("TEE").unwrap()
    }

    #[test]
    fn the_worked_example() {
        let rows = [row("main", 150, 7)];
        let told = |text| published(&ChannelPolicy::buffered(buffer(text)), &sku(), &rows, false);
        assert_eq!((told("0.90"), told("0.85"), told("0.70")), (128, 121, 100));
    }

    #[test]
    fn channels_are_never_told_unavailable_or_in_transit_units() {
        let mut level = row("main", 150, 7);
        level.level.damaged = 10;
        level.level.quality_control = 3;
        level.level.safety_stock = 30;
        level.level.in_transit = 500;
        let full = ChannelPolicy::buffered(Buffer::FULL);
        assert_eq!(published(&full, &sku(), &[level], false), 100);
    }

    #[test]
    fn decimals_are_exact() {
        let rows = [row("main", 10, 0)];
        assert_eq!(
            published(
                &ChannelPolicy::buffered(buffer("0.9")),
                &sku(),
                &rows,
                false
            ),
            9
        );
        assert_eq!(
            published(
                &ChannelPolicy::buffered(buffer("0.3")),
                &sku(),
                &rows,
                false
            ),
            3
        );
        assert_eq!(buffer("0.07").get(), 700);
        assert_eq!(buffer("1").get(), 10_000);
        assert_eq!(buffer("0.1234").to_string(), "0.1234");
        for bad in ["", "1.5", "0.12345", "-0.5", ".5", "0,9", "2"] {
            assert!(Buffer::decimal(bad).is_err(), "{bad:?}");
        }
        assert!(Buffer::basis_points(10_001).is_err());
    }

    #[test]
    fn safety_units_come_first_and_never_go_negative() {
        let rows = [row("main", 20, 0)];
        let policy = ChannelPolicy::buffered(buffer("0.5")).with_safety_units(5);
        assert_eq!(
            published(&policy, &sku(), &rows, false),
            7,
            "floor(15 * 0.5)"
        );
        let policy = ChannelPolicy::buffered(Buffer::FULL).with_safety_units(30);
        assert_eq!(published(&policy, &sku(), &rows, false), 0);
        let short = [row("main", 5, 9)];
        assert_eq!(
            published(
                &ChannelPolicy::buffered(Buffer::FULL),
                &sku(),
                &short,
                false
            ),
            0
        );
    }

    #[test]
    fn caps_locations_overrides_and_frozen() {
        let rows = [
            row("berlin", 100, 0),
            row("paris", 50, 10),
            row("depot", 1_000, 0),
        ];
        let capped = ChannelPolicy::buffered(Buffer::FULL).with_cap(60);
        assert_eq!(published(&capped, &sku(), &rows, false), 60);
        let stores = ChannelPolicy::buffered(Buffer::FULL).with_locations([
            LocationId::new("berlin").unwrap(),
            LocationId::new("paris").unwrap(),
        ]);
        assert_eq!(published(&stores, &sku(), &rows, false), 140);
        let special = Terms {
            buffer: buffer("0.5"),
            safety_units: 40,
            cap: Some(10),
        };
        let overridden = stores.clone().with_override(sku(), special);
        assert_eq!(
            published(&overridden, &sku(), &rows, false),
            10,
            "min(floor(100 * 0.5), 10)"
        );
        let other = Sku::new("MUG").unwrap();
        assert_eq!(published(&overridden, &other, &rows, false), 140);
        assert_eq!(published(&stores, &sku(), &rows, true), 0);
        assert_eq!(published(&stores, &sku(), &[], false), 0);
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        let rows = [row("a", i64::MAX, 0), row("b", i64::MAX, 0)];
        assert_eq!(
            published(&ChannelPolicy::buffered(Buffer::FULL), &sku(), &rows, false),
            i64::MAX
        );
    }
}
