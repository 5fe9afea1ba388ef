//! A day's count list, from the store: classes by revenue, last counts, the schedule.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use crate::backend::AuditStore;
use crate::error::Result;
use crate::inventory::Inventory;
use crate::reorder::DemandStore;

use super::abc::{classify, AbcConfig};
use super::schedule::{due_on, CountItem};
use super::store::CountStore;

/// Days of revenue that rank SKUs by default: 90.
pub const REVENUE_WINDOW_DAYS: u64 = 90;

/// The counts due on `date`, the most urgent first (at most `capacity`): every stock row,
/// its SKU classed by revenue over the [`REVENUE_WINDOW_DAYS`] days before `date`, due
/// by its class's interval since its last count (or, never counted, on a day spread
/// over its interval from `start`).
///
/// # Errors
///
/// Storage errors.
pub async fn count_list<S>(
    inventory: &Inventory<S>,
    date: NaiveDate,
    start: NaiveDate,
    config: &AbcConfig,
    capacity: Option<usize>,
) -> Result<Vec<CountItem>>
where
    S: AuditStore + DemandStore + CountStore,
{
    let rows = inventory.read(|store| store.all_stock()).await?;
    let last_day = date.pred_opt().unwrap_or(date);
    let first_day = last_day
        .checked_sub_days(Days::new(REVENUE_WINDOW_DAYS - 1))
        .unwrap_or(last_day);
    let earned = inventory
        .read(|store| store.revenue(first_day, last_day))
        .await?;
    let revenue: BTreeMap<_, Decimal> = rows
        .keys()
        .map(|key| {
            (
                key.sku.clone(),
                earned.get(&key.sku).copied().unwrap_or_default(),
            )
        })
        .collect();
    let classes = classify(&revenue, config);
    let last = inventory.read(|store| store.last_counted()).await?;
    let items: Vec<CountItem> = rows
        .keys()
        .map(|key| CountItem {
            sku: key.sku.clone(),
            location: key.location.clone(),
            class: classes[&key.sku],
            last_counted: last.get(key).map(|at| at.date_naive()),
        })
        .collect();
    Ok(due_on(&items, date, start, config, capacity)
        .into_iter()
        .cloned()
        .collect())
}
