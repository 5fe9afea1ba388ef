//! Which counts are due on a date: each class on its interval, first counts spread over
//! the interval so the daily load is level, an optional daily capacity.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::id::{LocationId, Sku};

use super::abc::{AbcClass, AbcConfig};

/// A stock row to count, with its class and last count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountItem {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// Its class.
    pub class: AbcClass,
    /// The day it was last counted, if ever.
    pub last_counted: Option<NaiveDate>,
}

/// A stable 64-bit FNV-1a hash: the same on every platform and Rust version, so a
/// SKU's first count day never moves.
fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The day an item is next due: its last count plus its interval, or, never counted,
/// a day spread by its SKU and location over the first interval after `start`.
pub fn next_due(item: &CountItem, start: NaiveDate, config: &AbcConfig) -> NaiveDate {
    let interval = u64::from(config.interval_days(item.class));
    match item.last_counted {
        Some(last) => last + chrono::Days::new(interval),
        None => {
            let key = format!("{}\u{0}{}", item.sku, item.location);
            start + chrono::Days::new(stable_hash(key.as_bytes()) % interval)
        }
    }
}

/// The counts due on `date` (overdue ones included), the most urgent first: most days
/// overdue, then class A before B before C, then SKU and location. With a `capacity`,
/// only that many; the rest wait for the next day.
pub fn due_on<'a>(
    items: &'a [CountItem],
    date: NaiveDate,
    start: NaiveDate,
    config: &AbcConfig,
    capacity: Option<usize>,
) -> Vec<&'a CountItem> {
    let mut due: Vec<(NaiveDate, &CountItem)> = items
        .iter()
        .map(|item| (next_due(item, start, config), item))
        .filter(|(day, _)| *day <= date)
        .collect();
    due.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.class.cmp(&b.1.class))
            .then_with(|| (&a.1.sku, &a.1.location).cmp(&(&b.1.sku, &b.1.location)))
    });
    due.truncate(capacity.unwrap_or(usize::MAX));
    due.into_iter().map(|(_, item)| item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(n)
    }

    fn item(index: usize, class: AbcClass) -> CountItem {
        CountItem {
            sku: Sku::new(format!("SKU-{index:05}")).unwrap(),
            location: LocationId::new("main").unwrap(),
            class,
            last_counted: None,
        }
    }

    #[test]
    fn intervals_follow_the_last_count() {
        let config = AbcConfig::default();
        let mut tee = item(1, AbcClass::A);
        tee.last_counted = Some(day(10));
        assert_eq!(next_due(&tee, day(0), &config), day(17));
        assert!(due_on(std::slice::from_ref(&tee), day(16), day(0), &config, None).is_empty());
        assert_eq!(
            due_on(std::slice::from_ref(&tee), day(20), day(0), &config, None).len(),
            1,
            "overdue stays due"
        );
        let first = next_due(&item(2, AbcClass::C), day(0), &config);
        assert!(first >= day(0) && first < day(90));
    }

    #[test]
    fn capacity_keeps_the_most_urgent() {
        let config = AbcConfig::default();
        let mut items: Vec<CountItem> = (0..3).map(|i| item(i, AbcClass::C)).collect();
        items[0].last_counted = Some(day(0));
        items[1].last_counted = Some(day(5));
        items[2].last_counted = Some(day(5));
        items[2].class = AbcClass::A;
        let today = day(200);
        let due = due_on(&items, today, day(0), &config, Some(2));
        let names: Vec<&str> = due.iter().map(|item| item.sku.as_str()).collect();
        // Most overdue first: item 2 (A, due day 12), item 0 (C, due day 90); item 1 waits.
        assert_eq!(names, ["SKU-00002", "SKU-00000"]);
    }

    /// 10,000 SKUs (20% A, 30% B, 50% C), never counted, each counted on the day it
    /// falls due: over a quarter the busiest day is at most 1.5x the average.
    #[test]
    fn a_quarter_of_counts_is_level() {
        let config = AbcConfig::default();
        let mut items: Vec<CountItem> = (0..10_000)
            .map(|i| {
                item(
                    i,
                    if i < 2_000 {
                        AbcClass::A
                    } else if i < 5_000 {
                        AbcClass::B
                    } else {
                        AbcClass::C
                    },
                )
            })
            .collect();
        let mut loads = Vec::new();
        for n in 0..90 {
            let today = day(n);
            let due: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, item)| next_due(item, day(0), &config) <= today)
                .map(|(index, _)| index)
                .collect();
            loads.push(due.len());
            for index in due {
                items[index].last_counted = Some(today);
            }
        }
        let average = loads.iter().sum::<usize>() as f64 / loads.len() as f64;
        let busiest = *loads.iter().max().unwrap() as f64;
        assert!(
            busiest <= 1.5 * average,
            "busiest {busiest}, average {average:.1}"
        );
    }
}
