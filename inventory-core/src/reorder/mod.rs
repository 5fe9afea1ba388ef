//! Reordering: demand from the ledger, reorder points from demand and supplier lead
//! time, order quantities, and a run's plan of one purchase order per supplier. All
//! pure: the backends only fetch shipped units per day.

pub mod demand;
pub mod plan;
pub mod rules;
pub mod store;

pub use demand::{daily_shipped, demand, DemandStats, DEMAND_WINDOW_DAYS};
pub use plan::{plan_orders, position, PlannedLine, PlannedOrder, ReorderCandidate};
pub use rules::{order_quantity, reorder_point, safety_stock, ReorderRule, ServiceLevel, Supplier};
pub use store::{shipped_in, DemandStore, ShippedPerDay};
