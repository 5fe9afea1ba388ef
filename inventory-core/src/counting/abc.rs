//! ABC classes by revenue: the top share of SKUs is A, the next B, the rest C.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::id::Sku;

/// A SKU's count class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AbcClass {
    /// The top earners: counted most often.
    A,
    /// The middle.
    B,
    /// The rest, and every SKU without revenue.
    C,
}

/// How SKUs are split into classes and how often each class is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbcConfig {
    /// Percent of SKUs in class A (by rank), default 20.
    pub a_percent: u32,
    /// Percent of SKUs in class B, default 30.
    pub b_percent: u32,
    /// Days between counts of an A SKU, default 7.
    pub a_interval_days: u32,
    /// Days between counts of a B SKU, default 30.
    pub b_interval_days: u32,
    /// Days between counts of a C SKU, default 90.
    pub c_interval_days: u32,
}

impl Default for AbcConfig {
    fn default() -> Self {
        Self {
            a_percent: 20,
            b_percent: 30,
            a_interval_days: 7,
            b_interval_days: 30,
            c_interval_days: 90,
        }
    }
}

impl AbcConfig {
    /// The same settings, checked.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] when the shares pass 100% or an interval is 0 or
    /// above 366 days.
    pub fn checked(self) -> Result<Self, DomainError> {
        let intervals = [
            self.a_interval_days,
            self.b_interval_days,
            self.c_interval_days,
        ];
        let shares = u64::from(self.a_percent) + u64::from(self.b_percent);
        if shares > 100 {
            return Err(DomainError::InvalidSetting {
                setting: "class A + B percent",
                value: shares.to_string(),
                problem: "must be at most 100",
            });
        }
        if let Some(days) = intervals.iter().find(|days| !(1..=366).contains(*days)) {
            return Err(DomainError::InvalidSetting {
                setting: "count interval days",
                value: days.to_string(),
                problem: "must be from 1 to 366",
            });
        }
        Ok(self)
    }

    /// Days between counts of `class`.
    pub fn interval_days(&self, class: AbcClass) -> u32 {
        match class {
            AbcClass::A => self.a_interval_days,
            AbcClass::B => self.b_interval_days,
            AbcClass::C => self.c_interval_days,
        }
    }
}

/// Classes by revenue. SKUs are ranked by revenue, highest first, ties by SKU id; the
/// first `ceil(n x a%)` are A, up to `ceil(n x (a% + b%))` B, the rest C. A SKU without
/// positive revenue is C whatever its rank.
pub fn classify(revenue: &BTreeMap<Sku, Decimal>, config: &AbcConfig) -> BTreeMap<Sku, AbcClass> {
    let mut ranked: Vec<(&Sku, &Decimal)> = revenue.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let count = ranked.len();
    let cut = |percent: u32| (count * percent as usize).div_ceil(100);
    let a_end = cut(config.a_percent);
    let b_end = cut(config.a_percent + config.b_percent);
    ranked
        .into_iter()
        .enumerate()
        .map(|(rank, (sku, earned))| {
            let class = if *earned <= Decimal::ZERO {
                AbcClass::C
            } else if rank < a_end {
                AbcClass::A
            } else if rank < b_end {
                AbcClass::B
            } else {
                AbcClass::C
            };
            (sku.clone(), class)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revenue(figures: &[(&str, i64)]) -> BTreeMap<Sku, Decimal> {
        figures
            .iter()
            .map(|(sku, amount)| (Sku::new(*sku).unwrap(), Decimal::from(*amount)))
            .collect()
    }

    fn counts(classes: &BTreeMap<Sku, AbcClass>) -> (usize, usize, usize) {
        let of = |class| classes.values().filter(|c| **c == class).count();
        (of(AbcClass::A), of(AbcClass::B), of(AbcClass::C))
    }

    fn n_skus(n: i64) -> BTreeMap<Sku, Decimal> {
        (1..=n)
            .map(|i| {
                (
                    Sku::new(format!("S{i:02}")).unwrap(),
                    Decimal::from(1_000 - i),
                )
            })
            .collect()
    }

    #[test]
    fn boundaries() {
        let config = AbcConfig::default();
        assert_eq!(counts(&classify(&n_skus(1), &config)), (1, 0, 0));
        assert_eq!(counts(&classify(&n_skus(4), &config)), (1, 1, 2));
        assert_eq!(counts(&classify(&n_skus(5), &config)), (1, 2, 2));
        assert_eq!(counts(&classify(&n_skus(10), &config)), (2, 3, 5));
        assert_eq!(counts(&classify(&n_skus(11), &config)), (3, 3, 5));
        assert!(classify(&BTreeMap::new(), &config).is_empty());
    }

    #[test]
    fn the_biggest_earners_are_a() {
        let classes = classify(&n_skus(10), &AbcConfig::default());
        assert_eq!(classes[&Sku::new("S01").unwrap()], AbcClass::A);
        assert_eq!(classes[&Sku::new("S03").unwrap()], AbcClass::B);
        assert_eq!(classes[&Sku::new("S10").unwrap()], AbcClass::C);
    }

    #[test]
    fn ties_are_broken_by_sku_and_zero_revenue_is_c() {
        let tied = revenue(&[("B", 50), ("A", 50), ("C", 50), ("D", 50), ("E", 50)]);
        let classes = classify(&tied, &AbcConfig::default());
        assert_eq!(
            classes[&Sku::new("A").unwrap()],
            AbcClass::A,
            "the smallest id wins a tie"
        );
        assert_eq!(classes[&Sku::new("B").unwrap()], AbcClass::B);
        let zero = revenue(&[("A", 0), ("B", 0), ("C", 0)]);
        assert_eq!(counts(&classify(&zero, &AbcConfig::default())), (0, 0, 3));
    }

    #[test]
    fn config_limits() {
        assert!(AbcConfig {
            a_percent: 60,
            b_percent: 50,
            ..AbcConfig::default()
        }
        .checked()
        .is_err());
        assert!(AbcConfig {
            c_interval_days: 0,
            ..AbcConfig::default()
        }
        .checked()
        .is_err());
        assert!(AbcConfig::default().checked().is_ok());
    }
}
