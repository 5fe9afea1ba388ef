//! [`DemandStore`]: units shipped per day, kept by every backend as a daily
//! aggregate written in the same transaction as the shipment, so a reorder run over
//! many SKUs reads one small row per SKU and day instead of the ledger.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::backend::Store;
use crate::decide::Changes;
use crate::error::StoreError;
use crate::id::Sku;
use crate::ledger::Movement;

use super::purchase::{PurchaseOrder, PurchaseOrderId, SupplierLink};
use super::rules::Supplier;

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

    /// Revenue per SKU from shipments from `first` to `last` (both included), for
    /// every SKU that earned any: what ranks SKUs into ABC classes.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn revenue(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<BTreeMap<Sku, Decimal>, StoreError>;
}

/// Optional capability: suppliers, SKU links and purchase orders. Purchase orders are
/// written by commands ([`Changes::purchase_orders`]); suppliers and links are
/// configuration, written directly.
#[async_trait]
pub trait PurchaseStore: Store {
    /// Creates or replaces a supplier.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails.
    async fn put_supplier(&self, supplier: &Supplier) -> Result<(), StoreError>;

    /// Every supplier, by id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn suppliers(&self) -> Result<Vec<Supplier>, StoreError>;

    /// Creates or replaces the link of a SKU to its supplier.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails.
    async fn put_link(&self, link: &SupplierLink) -> Result<(), StoreError>;

    /// Every SKU link, by SKU.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn links(&self) -> Result<Vec<SupplierLink>, StoreError>;

    /// The purchase order with this id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn purchase_order(
        &self,
        id: &PurchaseOrderId,
    ) -> Result<Option<PurchaseOrder>, StoreError>;

    /// Every purchase order, by id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn all_purchase_orders(&self) -> Result<Vec<PurchaseOrder>, StoreError>;
}

/// Units on draft or sent purchase orders (ordered, not yet shipped), per SKU.
pub fn on_order<'a>(orders: impl IntoIterator<Item = &'a PurchaseOrder>) -> BTreeMap<Sku, i64> {
    let mut units: BTreeMap<Sku, i64> = BTreeMap::new();
    for order in orders
        .into_iter()
        .filter(|order| order.status.is_on_order())
    {
        for line in &order.lines {
            *units.entry(line.sku.clone()).or_default() += line.ordered;
        }
    }
    units
}

/// What shipments add to one SKU's day: units, and revenue (units x the customer's
/// price, where the order line had one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaySales {
    /// Units shipped.
    pub units: i64,
    /// Their revenue, exactly.
    pub revenue: Decimal,
}

/// What `changes` add to each SKU and UTC day: what a backend adds to its daily
/// aggregate in the same transaction.
pub fn shipped_in(changes: &Changes) -> BTreeMap<(Sku, NaiveDate), DaySales> {
    let mut shipped: BTreeMap<(Sku, NaiveDate), DaySales> = BTreeMap::new();
    for entry in changes
        .ledger
        .iter()
        .filter(|entry| entry.movement == Movement::Shipped)
    {
        let day = shipped
            .entry((entry.key.sku.clone(), entry.at.date_naive()))
            .or_default();
        day.units += entry.quantity;
        day.revenue += entry.unit_price.unwrap_or_default() * Decimal::from(entry.quantity);
    }
    shipped
}
