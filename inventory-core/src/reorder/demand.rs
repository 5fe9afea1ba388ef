//! Sales velocity from the ledger: units shipped per day over a window, days without
//! sales counted as zero, with the standard deviation of daily demand.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::id::Sku;
use crate::ledger::{LedgerEntry, Movement};

/// The default window: 28 days.
pub const DEMAND_WINDOW_DAYS: u32 = 28;

/// Daily demand of one SKU over a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DemandStats {
    /// Mean units shipped per day.
    pub mean_per_day: f64,
    /// Standard deviation of units shipped per day (over the window's days).
    pub std_dev_per_day: f64,
    /// Days in the window.
    pub days: u32,
}

impl DemandStats {
    /// No demand at all.
    pub const NONE: Self = Self {
        mean_per_day: 0.0,
        std_dev_per_day: 0.0,
        days: 0,
    };
}

/// Units of `sku` shipped per UTC day, from ledger entries (the backends may instead
/// sum per day in SQL and call [`demand`] directly).
pub fn daily_shipped<'a>(
    entries: impl IntoIterator<Item = &'a LedgerEntry>,
    sku: &Sku,
) -> BTreeMap<NaiveDate, i64> {
    let mut daily: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for entry in entries {
        if entry.movement == Movement::Shipped && entry.key.sku == *sku {
            *daily.entry(entry.at.date_naive()).or_default() += entry.quantity;
        }
    }
    daily
}

/// Demand over the `window_days` days ending with `last_day` (inclusive); days missing
/// from `daily` count as zero, days outside the window are ignored.
pub fn demand(
    daily: &BTreeMap<NaiveDate, i64>,
    last_day: NaiveDate,
    window_days: u32,
) -> DemandStats {
    if window_days == 0 {
        return DemandStats::NONE;
    }
    let first_day = last_day
        .checked_sub_days(Days::new(u64::from(window_days) - 1))
        .unwrap_or(NaiveDate::MIN);
    let sold: Vec<f64> = daily
        .range(first_day..=last_day)
        .map(|(_, units)| *units as f64)
        .collect();
    let days = f64::from(window_days);
    let mean = sold.iter().sum::<f64>() / days;
    let zero_days = days - sold.len() as f64;
    let squares =
        sold.iter().map(|units| (units - mean).powi(2)).sum::<f64>() + zero_days * mean * mean;
    DemandStats {
        mean_per_day: mean,
        std_dev_per_day: (squares / days).sqrt(),
        days: window_days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, n).unwrap()
    }

    #[test]
    fn days_without_sales_count_as_zero() {
        let daily = BTreeMap::from([(day(10), 4), (day(12), 2)]);
        let stats = demand(&daily, day(12), 4);
        assert_eq!(stats.mean_per_day, 1.5);
        // Days 9..=12: 0, 4, 0, 2 -> deviations -1.5, 2.5, -1.5, 0.5.
        let expected = ((2.25 + 6.25 + 2.25 + 0.25) / 4.0_f64).sqrt();
        assert!((stats.std_dev_per_day - expected).abs() < 1e-12);
    }

    #[test]
    fn the_window_excludes_older_and_later_days() {
        let daily = BTreeMap::from([(day(1), 100), (day(5), 7), (day(20), 100)]);
        let stats = demand(&daily, day(5), 2);
        assert_eq!((stats.mean_per_day, stats.days), (3.5, 2));
    }

    #[test]
    fn a_new_sku_has_no_demand() {
        let stats = demand(&BTreeMap::new(), day(5), DEMAND_WINDOW_DAYS);
        assert_eq!((stats.mean_per_day, stats.std_dev_per_day), (0.0, 0.0));
        assert_eq!(demand(&BTreeMap::new(), day(5), 0), DemandStats::NONE);
    }

    #[test]
    fn steady_sales_have_no_deviation() {
        let daily: BTreeMap<_, _> = (1..=28).map(|n| (day(n), 20)).collect();
        let stats = demand(&daily, day(28), 28);
        assert_eq!((stats.mean_per_day, stats.std_dev_per_day), (20.0, 0.0));
    }
}
