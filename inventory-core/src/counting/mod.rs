//! Cycle counting: ABC classes by revenue ([`classify`], [`AbcConfig`]), a level daily
//! schedule ([`due_on`], [`count_list`]), what a count means ([`evaluate`],
//! [`CountThresholds`]), and the counts and investigations the count commands store
//! ([`CountRecord`], [`Investigation`]).

pub(crate) mod abc;
mod commands;
pub(crate) mod count;
pub(crate) mod list;
pub(crate) mod record;
pub(crate) mod schedule;
pub(crate) mod store;

pub use abc::{classify, AbcClass, AbcConfig};
pub use count::{discrepancy_basis_points, evaluate, shortage, CountAction, CountThresholds};
pub use list::{count_list, REVENUE_WINDOW_DAYS};
pub use record::{
    check_name, CountRecord, CountReport, Investigation, InvestigationId, COUNTER_NAME_MAX,
};
pub use schedule::{due_on, next_due, CountItem};
pub use store::CountStore;
