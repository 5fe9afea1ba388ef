//! Reordering: demand from the ledger, reorder points from demand and supplier lead
//! time, order quantities, and a run's plan of one purchase order per supplier. All
//! pure: the backends only fetch shipped units per day.

pub(crate) mod demand;
pub(crate) mod plan;
pub(crate) mod purchase;
pub(crate) mod rules;
pub(crate) mod run;
pub(crate) mod store;

pub use demand::{daily_shipped, demand, DemandStats, DEMAND_WINDOW_DAYS};
pub use plan::{plan_orders, position, summary, PlannedLine, PlannedOrder, ReorderCandidate};
pub use purchase::{
    PurchaseOrder, PurchaseOrderId, PurchaseOrderLine, PurchaseOrderStatus, PurchaseTransition,
    SupplierLink,
};
pub use rules::{
    order_quantity, reorder_point, safety_stock, ReorderRule, ServiceLevel, Supplier,
    LEAD_TIME_DAYS_MAX,
};
pub use run::{run_reorder, Notifier, ReorderConfig, SilentNotifier};
pub use store::{on_order, shipped_in, DaySales, DemandStore, PurchaseStore, ShippedPerDay};
