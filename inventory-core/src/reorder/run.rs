//! A reorder run, and the purchase-order commands on [`Inventory`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Days;

use crate::backend::Store;
use crate::decide::{purchase, LoadPlan};
use crate::error::{DomainError, Result};
use crate::id::{LocationId, Sku};
use crate::inventory::Inventory;
use crate::quantity::Quantity;
use crate::stock::StockLevel;
use crate::sync::SyncStore;

use super::demand::{demand, DEMAND_WINDOW_DAYS};
use super::plan::{plan_orders, position, summary, ReorderCandidate};
use super::purchase::{PurchaseOrder, PurchaseOrderId};
use super::rules::reorder_point;
use super::store::{on_order, DemandStore, PurchaseStore};

/// Told once per purchase order a run raises or extends.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// `summary` reads "Auto PO for N SKUs from `supplier`".
    async fn purchase_order_raised(&self, order: &PurchaseOrder, summary: &str);
}

/// A notifier that tells no one.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilentNotifier;

#[async_trait]
impl Notifier for SilentNotifier {
    async fn purchase_order_raised(&self, _order: &PurchaseOrder, _summary: &str) {}
}

/// Settings of a reorder run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReorderConfig {
    /// Days of sales that set the demand (default 28).
    pub window_days: u32,
    /// Where new purchase orders are delivered.
    pub location: LocationId,
}

impl ReorderConfig {
    /// The default window, delivering to `location`.
    pub fn new(location: LocationId) -> Self {
        Self {
            window_days: DEMAND_WINDOW_DAYS,
            location,
        }
    }
}

/// Runs a reorder: demand comes from the `window_days` whole days before today; every
/// linked SKU whose inventory position is at or below its reorder point is ordered, one
/// purchase order per supplier (added to its open draft if there is one), and `notifier`
/// is told once per order. Running it again with nothing new raises nothing. The points
/// computed are recorded for the SKUs whose low-stock threshold follows their reorder
/// point ([`Threshold::ReorderPoint`](crate::events::Threshold::ReorderPoint)).
///
/// # Errors
///
/// [`DomainError::UnknownSupplier`] when a SKU links to an unknown supplier,
/// [`DomainError::InvalidSetting`] for a supplier out of range; storage errors.
pub async fn run_reorder<S>(
    inventory: &Inventory<S>,
    config: &ReorderConfig,
    notifier: &dyn Notifier,
) -> Result<Vec<PurchaseOrder>>
where
    S: Store + SyncStore + DemandStore + PurchaseStore,
{
    let store = inventory.store();
    let suppliers: BTreeMap<_, _> = store
        .suppliers()
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let links = store.links().await?;
    let skus: Vec<Sku> = links.iter().map(|link| link.sku.clone()).collect();
    let stock = store.stock_of(&skus).await?;
    // The window is the last whole days: today's sales are not complete yet.
    let today = inventory.now().date_naive();
    let last_day = today.pred_opt().unwrap_or(today);
    let first = last_day
        .checked_sub_days(Days::new(u64::from(config.window_days.max(1)) - 1))
        .unwrap_or(last_day);
    let shipped = store.shipped_per_day(first, last_day).await?;
    let ordered = on_order(&store.all_purchase_orders().await?);
    let mut candidates = Vec::with_capacity(links.len());
    for link in links {
        let supplier = suppliers
            .get(&link.supplier)
            .cloned()
            .ok_or_else(|| DomainError::UnknownSupplier {
                sku: link.sku.clone(),
                supplier: link.supplier.clone(),
            })?
            // Suppliers have public fields: check them where the numbers are used.
            .checked()?;
        let rows = stock.get(&link.sku).map(Vec::as_slice).unwrap_or_default();
        let mut total = StockLevel::default();
        for row in rows {
            total.on_hand = total.on_hand.saturating_add(row.level.on_hand);
            total.reserved = total.reserved.saturating_add(row.level.reserved);
            total.committed = total.committed.saturating_add(row.level.committed);
            total.in_transit = total.in_transit.saturating_add(row.level.in_transit);
        }
        let sales = shipped.get(&link.sku).cloned().unwrap_or_default();
        candidates.push(ReorderCandidate {
            position: position(&total, ordered.get(&link.sku).copied().unwrap_or(0)),
            demand: demand(&sales, last_day, config.window_days),
            sku: link.sku,
            supplier,
            unit_cost: link.unit_cost,
            rule: link.rule,
        });
    }
    let points: Vec<(Sku, Option<i64>)> = candidates
        .iter()
        .map(|c| {
            let point = reorder_point(&c.rule, &c.demand, &c.supplier);
            (c.sku.clone(), point)
        })
        .collect();
    inventory.record_reorder_points(&points).await?;
    let orders = plan_orders(&candidates);
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let location = config.location.clone();
    let raised = inventory
        .run(LoadPlan::drafts(&orders), move |draft| {
            Ok(purchase::raise(draft, &orders, &location))
        })
        .await?;
    for order in &raised {
        let summary = summary(order.lines.len(), &order.supplier);
        notifier.purchase_order_raised(order, &summary).await;
    }
    Ok(raised)
}

impl<S: Store> Inventory<S> {
    /// Sends a draft purchase order to its supplier.
    ///
    /// # Errors
    ///
    /// [`DomainError::PurchaseOrderNotFound`], [`DomainError::InvalidPurchaseOrderState`];
    /// storage errors.
    pub async fn send_purchase_order(&self, id: PurchaseOrderId) -> Result<PurchaseOrder> {
        self.run(LoadPlan::purchase_order(id), move |draft| {
            purchase::send(draft, &id)
        })
        .await
    }

    /// Records the supplier's shipment: every line's units are in transit.
    ///
    /// # Errors
    ///
    /// As [`Inventory::send_purchase_order`], and [`DomainError::Overflow`].
    pub async fn ship_purchase_order(&self, id: PurchaseOrderId) -> Result<PurchaseOrder> {
        self.run(LoadPlan::purchase_order(id), move |draft| {
            purchase::ship(draft, &id)
        })
        .await
    }

    /// Records a receipt: units move from in transit to on hand.
    ///
    /// # Errors
    ///
    /// As [`Inventory::send_purchase_order`], and [`DomainError::ReceiptExceedsOrder`].
    pub async fn receive_purchase_order(
        &self,
        id: PurchaseOrderId,
        lines: Vec<(Sku, Quantity)>,
    ) -> Result<PurchaseOrder> {
        self.run(LoadPlan::purchase_order(id), move |draft| {
            purchase::receive(draft, &id, &lines)
        })
        .await
    }

    /// Receives every unit still expected on a shipped order, in one transaction (the
    /// order is read and received under the same lock).
    ///
    /// # Errors
    ///
    /// As [`Inventory::send_purchase_order`].
    pub async fn receive_outstanding(&self, id: PurchaseOrderId) -> Result<PurchaseOrder> {
        self.run(LoadPlan::purchase_order(id), move |draft| {
            purchase::receive_outstanding(draft, &id)
        })
        .await
    }

    /// Closes a received or partly received order, writing off what never arrived.
    ///
    /// # Errors
    ///
    /// As [`Inventory::send_purchase_order`].
    pub async fn close_purchase_order(&self, id: PurchaseOrderId) -> Result<PurchaseOrder> {
        self.run(LoadPlan::purchase_order(id), move |draft| {
            purchase::close(draft, &id)
        })
        .await
    }

    /// Withdraws a draft or sent order.
    ///
    /// # Errors
    ///
    /// As [`Inventory::send_purchase_order`].
    pub async fn cancel_purchase_order(&self, id: PurchaseOrderId) -> Result<PurchaseOrder> {
        self.run(LoadPlan::purchase_order(id), move |draft| {
            purchase::cancel(draft, &id)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;
    use crate::memory::MemoryStore;
    use crate::reorder::{ReorderRule, Supplier, SupplierLink};
    use crate::SupplierId;

    async fn run_with(supplier: Option<Supplier>) -> Result<Vec<PurchaseOrder>> {
        let inventory = Inventory::new(MemoryStore::new());
        let acme = SupplierId::new("acme").unwrap();
        if let Some(supplier) = supplier {
            inventory.store().put_supplier(&supplier).await.unwrap();
        }
        let link = SupplierLink {
            sku: Sku::new("TEE").unwrap(),
            supplier: acme,
            unit_cost: Decimal::from_str("1").unwrap(),
            rule: ReorderRule::Static {
                point: 10,
                quantity: None,
            },
        };
        inventory.store().put_link(&link).await.unwrap();
        run_reorder(
            &inventory,
            &ReorderConfig::new(LocationId::new("main").unwrap()),
            &SilentNotifier,
        )
        .await
    }

    #[tokio::test]
    async fn unknown_or_malformed_suppliers_are_refused() {
        let unknown = run_with(None).await.unwrap_err();
        assert!(matches!(
            unknown.as_domain(),
            Some(DomainError::UnknownSupplier { .. })
        ));
        let mut broken = Supplier::new(SupplierId::new("acme").unwrap(), 3.0).unwrap();
        broken.lead_time_days = -1.0;
        let malformed = run_with(Some(broken)).await.unwrap_err();
        assert!(matches!(
            malformed.as_domain(),
            Some(DomainError::InvalidSetting {
                setting: "lead time days",
                ..
            })
        ));
        let fine = Supplier::new(SupplierId::new("acme").unwrap(), 3.0).unwrap();
        assert_eq!(
            run_with(Some(fine)).await.unwrap().len(),
            1,
            "a static point of 10 with no stock"
        );
    }
}
