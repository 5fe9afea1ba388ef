//! What a count means: its discrepancy against on hand, and whether it adjusts, opens
//! an investigation, or freezes the SKU. Exact integer arithmetic.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::stock::StockLevel;

/// Discrepancy limits, in basis points of the expected count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountThresholds {
    /// Up to this, the count only adjusts on hand (default 500: 5%).
    pub adjust_up_to: u32,
    /// Above this, the SKU is frozen until the investigation is resolved (default
    /// 1,000: 10%). Between the two, an investigation opens.
    pub freeze_above: u32,
}

impl Default for CountThresholds {
    fn default() -> Self {
        Self {
            adjust_up_to: 500,
            freeze_above: 1_000,
        }
    }
}

impl CountThresholds {
    /// The same limits, checked.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] when the adjust limit passes the freeze limit.
    pub fn checked(self) -> Result<Self, DomainError> {
        if self.adjust_up_to > self.freeze_above {
            return Err(DomainError::InvalidSetting {
                setting: "count adjust limit (basis points)",
                value: self.adjust_up_to.to_string(),
                problem: "must not pass the freeze limit",
            });
        }
        Ok(self)
    }
}

/// What a count leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CountAction {
    /// Within tolerance: on hand is corrected.
    Adjusted,
    /// On hand is corrected and an investigation opens.
    Investigate,
    /// On hand is corrected, an investigation opens and the SKU is frozen.
    Frozen,
}

/// The discrepancy of `counted` against `expected`, in basis points, rounded down:
/// `|counted - expected| / expected`; nothing expected and something found is 100%.
pub fn discrepancy_basis_points(expected: i64, counted: i64) -> u64 {
    let difference = (i128::from(counted) - i128::from(expected)).unsigned_abs();
    if expected <= 0 {
        return if difference == 0 { 0 } else { 10_000 };
    }
    u64::try_from(difference * 10_000 / expected.unsigned_abs() as u128).unwrap_or(u64::MAX)
}

/// The action for a count, compared exactly (no rounding at the limits): up to the
/// adjust limit adjusts, above the freeze limit freezes, anything between investigates.
pub fn evaluate(expected: i64, counted: i64, thresholds: &CountThresholds) -> CountAction {
    let difference = (i128::from(counted) - i128::from(expected)).unsigned_abs();
    let base = if expected <= 0 {
        u128::from(difference > 0)
    } else {
        expected.unsigned_abs() as u128
    };
    // difference / base > limit / 10,000  <=>  difference x 10,000 > limit x base
    let above =
        |limit: u32| difference * 10_000 > u128::from(limit) * base.max(1) && difference > 0;
    if above(thresholds.freeze_above) {
        CountAction::Frozen
    } else if above(thresholds.adjust_up_to) {
        CountAction::Investigate
    } else {
        CountAction::Adjusted
    }
}

/// Units promised beyond the sellable units on hand after a count (`reserved +
/// committed + unavailable - on_hand`: damaged or held-back units cannot fill an order),
/// if any: the shortage to report instead of hiding.
pub fn shortage(level: &StockLevel) -> Option<i64> {
    let promised = i128::from(level.reserved) + i128::from(level.committed);
    let set_aside = i128::from(level.unavailable());
    let short = promised + set_aside - i128::from(level.on_hand);
    (short > 0).then(|| i64::try_from(short).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_theft_case_freezes() {
        let thresholds = CountThresholds::default();
        assert_eq!(evaluate(50, 38, &thresholds), CountAction::Frozen);
        assert_eq!(discrepancy_basis_points(50, 38), 2_400);
    }

    #[test]
    fn limits_are_exact() {
        let thresholds = CountThresholds::default();
        assert_eq!(
            evaluate(100, 95, &thresholds),
            CountAction::Adjusted,
            "exactly 5%"
        );
        assert_eq!(
            evaluate(1_000, 949, &thresholds),
            CountAction::Investigate,
            "5.1%"
        );
        assert_eq!(
            evaluate(100, 90, &thresholds),
            CountAction::Investigate,
            "exactly 10%"
        );
        assert_eq!(
            evaluate(1_000, 899, &thresholds),
            CountAction::Frozen,
            "10.1%"
        );
        assert_eq!(
            evaluate(100, 110, &thresholds),
            CountAction::Investigate,
            "surplus counts too"
        );
        assert_eq!(evaluate(100, 100, &thresholds), CountAction::Adjusted);
    }

    #[test]
    fn nothing_expected() {
        let thresholds = CountThresholds::default();
        assert_eq!(evaluate(0, 0, &thresholds), CountAction::Adjusted);
        assert_eq!(evaluate(0, 3, &thresholds), CountAction::Frozen, "100%");
        assert_eq!(discrepancy_basis_points(0, 3), 10_000);
        assert_eq!(discrepancy_basis_points(0, 0), 0);
    }

    #[test]
    fn shortages_are_reported() {
        let level = StockLevel {
            on_hand: 8,
            reserved: 6,
            committed: 5,
            ..StockLevel::default()
        };
        assert_eq!(shortage(&level), Some(3));
        let damaged = StockLevel {
            on_hand: 12,
            damaged: 2,
            ..level
        };
        assert_eq!(
            shortage(&damaged),
            Some(1),
            "damaged units cannot fill an order"
        );
        assert_eq!(
            shortage(&StockLevel {
                on_hand: 11,
                ..level
            }),
            None
        );
        assert!(CountThresholds {
            adjust_up_to: 2_000,
            freeze_above: 1_000
        }
        .checked()
        .is_err());
    }
}
