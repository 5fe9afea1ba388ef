//! [`DemandStore`]: units shipped per day, kept by every backend as a daily
//! aggregate written in the same transaction as the shipment, so a reorder run over
//! many SKUs reads one small row per SKU and day instead of the ledger.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::decide::Changes;
use crate::error::StoreError;
use crate::id::Sku;
use crate::ledger::Movement;
use crate::store::Store;

/// Units shipped per SKU and UTC day.
pub type ShippedPerDay = BTreeMap<Sku, BTreeMap<NaiveDate, i64>>;

/// Optional capability: the daily shipped aggregate.
#[async_trait]
pub trait DemandStore: Store {
    /// Units shipped per UTC day from `first` to `last` (both included), for every SKU
    /// that shipped anything then. Days without shipments are absent.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn shipped_per_day(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<ShippedPerDay, StoreError>;
}

/// The shipped units `changes` add to each SKU and UTC day: what a backend adds to its
/// daily aggregate in the same transaction.
pub fn shipped_in(changes: &Changes) -> BTreeMap<(Sku, NaiveDate), i64> {
    let mut shipped: BTreeMap<(Sku, NaiveDate), i64> = BTreeMap::new();
    for entry in changes
        .ledger
        .iter()
        .filter(|entry| entry.movement == Movement::Shipped)
    {
        *shipped
            .entry((entry.key.sku.clone(), entry.at.date_naive()))
            .or_default() += entry.quantity;
    }
    shipped
}
