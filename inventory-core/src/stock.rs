//! The stock model: [`StockLevel`] per SKU and location (on hand, reserved, committed,
//! in transit, and on hand's unavailable units by [`StockState`]), [`SkuStock`] totals.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::id::{LocationId, Sku};

/// The key of one stock row: a SKU at a location. Rows are locked in this key's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StockKey {
    /// The SKU.
    pub sku: Sku,
    /// The location holding it.
    pub location: LocationId,
}

impl StockKey {
    /// The key of `sku` at `location`.
    pub fn new(sku: Sku, location: LocationId) -> Self {
        Self { sku, location }
    }
}

/// Where a unit on the shelf stands: sellable (`available`) or set aside in one of the
/// unavailable states (Shopify's names). Unavailable units are part of `on_hand` and of
/// every count, but never sold and never told to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StockState {
    /// Sellable: what is left of on hand after holds, picking and the states below.
    Available,
    /// Broken or spoiled units awaiting disposal or repair.
    Damaged,
    /// Units held for inspection (a return, a suspect batch).
    QualityControl,
    /// Units the shop keeps back on purpose and never sells online.
    SafetyStock,
}

impl StockState {
    /// Every state, sellable first.
    pub const ALL: [Self; 4] = [
        Self::Available,
        Self::Damaged,
        Self::QualityControl,
        Self::SafetyStock,
    ];

    /// The lowercase name used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Damaged => "damaged",
            Self::QualityControl => "quality_control",
            Self::SafetyStock => "safety_stock",
        }
    }
}

impl std::fmt::Display for StockState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for StockState {
    type Err = crate::reservation::UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
            .ok_or_else(|| crate::reservation::UnknownName(name.to_owned()))
    }
}

/// The stock numbers of one SKU at one location.
///
/// `available` is derived, never stored: `on_hand - reserved - committed - unavailable`,
/// where `unavailable` is the sum of the units set aside by state (`damaged`,
/// `quality_control`, `safety_stock`). Every stored number is at least zero; only a
/// physical count that finds fewer units than are promised or set aside may leave
/// `available` below zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StockLevel {
    /// Units physically in the location, in every state.
    pub on_hand: i64,
    /// Units held by active reservations, not yet being picked.
    pub reserved: i64,
    /// Units being picked or packed for committed reservations.
    pub committed: i64,
    /// Units on their way from a supplier or another location; not sellable.
    pub in_transit: i64,
    /// Units of on hand that are damaged; not sellable.
    #[serde(default)]
    pub damaged: i64,
    /// Units of on hand held for quality control; not sellable.
    #[serde(default)]
    pub quality_control: i64,
    /// Units of on hand kept back as safety stock; not sellable.
    #[serde(default)]
    pub safety_stock: i64,
    /// Units sold beyond available under the SKU's backorder policy and not yet
    /// covered by an arrival: held by no one, owed to the reservations that took them.
    /// Not part of `reserved`; while any are owed, arrivals cover them first.
    #[serde(default)]
    pub backordered: i64,
}

/// A signed change to each stored number of a [`StockLevel`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StockDelta {
    /// Change to `on_hand`.
    pub on_hand: i64,
    /// Change to `reserved`.
    pub reserved: i64,
    /// Change to `committed`.
    pub committed: i64,
    /// Change to `in_transit`.
    pub in_transit: i64,
    /// Change to `damaged`.
    #[serde(default)]
    pub damaged: i64,
    /// Change to `quality_control`.
    #[serde(default)]
    pub quality_control: i64,
    /// Change to `safety_stock`.
    #[serde(default)]
    pub safety_stock: i64,
    /// Change to `backordered`.
    #[serde(default)]
    pub backordered: i64,
}

impl StockDelta {
    /// A change of `quantity` units to the stored number of `state` (nothing for
    /// [`StockState::Available`], which is derived).
    pub fn of_state(state: StockState, quantity: i64) -> Self {
        let zero = Self::default();
        match state {
            StockState::Available => zero,
            StockState::Damaged => Self {
                damaged: quantity,
                ..zero
            },
            StockState::QualityControl => Self {
                quality_control: quantity,
                ..zero
            },
            StockState::SafetyStock => Self {
                safety_stock: quantity,
                ..zero
            },
        }
    }
}

impl StockLevel {
    /// What can be sold: `on_hand - reserved - committed - unavailable`, in 128 bits
    /// so that it never overflows; it fits in an `i64` whenever the stored numbers are
    /// valid.
    pub fn available(&self) -> i64 {
        let available = i128::from(self.on_hand)
            - i128::from(self.reserved)
            - i128::from(self.committed)
            - self.unavailable_wide();
        i64::try_from(available).unwrap_or(if available < 0 { i64::MIN } else { i64::MAX })
    }

    /// Units on hand that are set aside in an unavailable state, summed (saturating at
    /// `i64::MAX`, which valid rows never reach).
    pub fn unavailable(&self) -> i64 {
        i64::try_from(self.unavailable_wide()).unwrap_or(i64::MAX)
    }

    fn unavailable_wide(&self) -> i128 {
        i128::from(self.damaged) + i128::from(self.quality_control) + i128::from(self.safety_stock)
    }

    /// Units in `state`: [`available`](Self::available) for the sellable state, the
    /// stored number for the others.
    pub fn in_state(&self, state: StockState) -> i64 {
        match state {
            StockState::Available => self.available(),
            StockState::Damaged => self.damaged,
            StockState::QualityControl => self.quality_control,
            StockState::SafetyStock => self.safety_stock,
        }
    }

    /// Whether every stored number is at least zero.
    pub fn is_valid(&self) -> bool {
        self.on_hand >= 0
            && self.reserved >= 0
            && self.committed >= 0
            && self.in_transit >= 0
            && self.damaged >= 0
            && self.quality_control >= 0
            && self.safety_stock >= 0
            && self.backordered >= 0
    }

    /// This level with `delta` applied.
    ///
    /// # Errors
    ///
    /// [`DomainError::Overflow`] when a number would pass `i64::MAX`;
    /// [`DomainError::InconsistentState`] when a number would fall below zero, which the
    /// rules never ask for unless the stored rows were already inconsistent.
    pub fn apply(&self, key: &StockKey, delta: StockDelta) -> Result<Self, DomainError> {
        let add = |value: i64, change: i64| {
            value
                .checked_add(change)
                .ok_or_else(|| DomainError::Overflow {
                    sku: key.sku.clone(),
                    location: Some(key.location.clone()),
                })
        };
        let next = Self {
            on_hand: add(self.on_hand, delta.on_hand)?,
            reserved: add(self.reserved, delta.reserved)?,
            committed: add(self.committed, delta.committed)?,
            in_transit: add(self.in_transit, delta.in_transit)?,
            damaged: add(self.damaged, delta.damaged)?,
            quality_control: add(self.quality_control, delta.quality_control)?,
            safety_stock: add(self.safety_stock, delta.safety_stock)?,
            backordered: add(self.backordered, delta.backordered)?,
        };
        if !next.is_valid() {
            return Err(DomainError::InconsistentState {
                detail: format!("{} at {} would become {next:?}", key.sku, key.location),
            });
        }
        Ok(next)
    }
}

/// One location's numbers inside a [`SkuStock`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationStock {
    /// The location.
    pub location: LocationId,
    /// Its stock numbers.
    pub level: StockLevel,
}

/// A SKU's stock at every location, with totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuStock {
    /// The SKU.
    pub sku: Sku,
    /// Sums over all locations.
    pub total: StockLevel,
    /// One entry per location, ordered by location id.
    pub locations: Vec<LocationStock>,
}

impl SkuStock {
    /// Builds the totals from the SKU's rows.
    ///
    /// # Errors
    ///
    /// [`DomainError::Overflow`] when a total passes `i64::MAX`.
    pub fn from_rows(sku: Sku, mut locations: Vec<LocationStock>) -> Result<Self, DomainError> {
        locations.sort_by(|a, b| a.location.cmp(&b.location));
        let mut total = StockLevel::default();
        for row in &locations {
            let key = StockKey::new(sku.clone(), row.location.clone());
            let level = row.level;
            let delta = StockDelta {
                on_hand: level.on_hand,
                reserved: level.reserved,
                committed: level.committed,
                in_transit: level.in_transit,
                damaged: level.damaged,
                quality_control: level.quality_control,
                safety_stock: level.safety_stock,
                backordered: level.backordered,
            };
            total = total
                .apply(&key, delta)
                .map_err(|_| DomainError::Overflow {
                    sku: sku.clone(),
                    location: None,
                })?;
        }
        Ok(Self {
            sku,
            total,
            locations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StockKey {
        StockKey::new(Sku::new("A").unwrap(), LocationId::new("W1").unwrap())
    }

    #[test]
    fn available_is_on_hand_minus_reserved_committed_and_unavailable() {
        let level = StockLevel {
            on_hand: 10,
            reserved: 3,
            committed: 2,
            in_transit: 50,
            damaged: 1,
            quality_control: 1,
            safety_stock: 1,
            backordered: 4,
        };
        assert_eq!(level.available(), 2);
        assert_eq!(level.unavailable(), 3);
        assert_eq!(level.in_state(StockState::Damaged), 1);
    }

    #[test]
    fn apply_checks_overflow_and_sign() {
        let full = StockLevel {
            on_hand: i64::MAX,
            ..StockLevel::default()
        };
        let more = StockDelta {
            on_hand: 1,
            ..StockDelta::default()
        };
        assert!(matches!(
            full.apply(&key(), more),
            Err(DomainError::Overflow { .. })
        ));
        let less = StockDelta {
            reserved: -1,
            ..StockDelta::default()
        };
        assert!(matches!(
            StockLevel::default().apply(&key(), less),
            Err(DomainError::InconsistentState { .. })
        ));
    }

    #[test]
    fn totals_sum_locations_and_refuse_overflow() {
        let sku = Sku::new("A").unwrap();
        let row = |location: &str, on_hand| LocationStock {
            location: LocationId::new(location).unwrap(),
            level: StockLevel {
                on_hand,
                ..StockLevel::default()
            },
        };
        let stock = SkuStock::from_rows(sku.clone(), vec![row("W2", 4), row("W1", 6)]).unwrap();
        assert_eq!(stock.total.on_hand, 10);
        assert_eq!(stock.locations[0].location.as_str(), "W1");
        let overflow = SkuStock::from_rows(sku, vec![row("W1", i64::MAX), row("W2", 1)]);
        assert!(matches!(
            overflow,
            Err(DomainError::Overflow { location: None, .. })
        ));
    }
}
