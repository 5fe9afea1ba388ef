//! The five-number stock model: [`StockLevel`] per SKU and location, [`SkuStock`] totals.

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

/// The stock numbers of one SKU at one location.
///
/// `available` is derived, never stored: `on_hand - reserved - committed`. Every stored
/// number is at least zero; only a physical count that finds fewer units than are
/// promised may leave `available` below zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StockLevel {
    /// Units physically in the location.
    pub on_hand: i64,
    /// Units held by active reservations, not yet being picked.
    pub reserved: i64,
    /// Units being picked or packed for committed reservations.
    pub committed: i64,
    /// Units on their way from a supplier; not sellable.
    pub in_transit: i64,
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
}

impl StockLevel {
    /// What can be sold: `on_hand - reserved - committed`, in 128 bits so that it never
    /// overflows; it fits in an `i64` whenever the stored numbers are valid.
    pub fn available(&self) -> i64 {
        let available =
            i128::from(self.on_hand) - i128::from(self.reserved) - i128::from(self.committed);
        i64::try_from(available).unwrap_or(if available < 0 { i64::MIN } else { i64::MAX })
    }

    /// Whether every stored number is at least zero.
    pub fn is_valid(&self) -> bool {
        self.on_hand >= 0 && self.reserved >= 0 && self.committed >= 0 && self.in_transit >= 0
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
            let delta = StockDelta {
                on_hand: row.level.on_hand,
                reserved: row.level.reserved,
                committed: row.level.committed,
                in_transit: row.level.in_transit,
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
    fn available_is_on_hand_minus_reserved_minus_committed() {
        let level = StockLevel {
            on_hand: 10,
            reserved: 3,
            committed: 2,
            in_transit: 50,
        };
        assert_eq!(level.available(), 5);
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
