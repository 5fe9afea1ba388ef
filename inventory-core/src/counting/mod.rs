//! Cycle counting: ABC classes by revenue ([`abc`]), a level daily schedule
//! ([`schedule`]), what a count means ([`count`]), and the counts and investigations
//! the count commands store ([`record`]).

pub mod abc;
mod commands;
pub mod count;
pub mod list;
pub mod record;
pub mod schedule;
pub mod store;

pub use abc::{classify, AbcClass, AbcConfig};
pub use count::{discrepancy_basis_points, evaluate, shortage, CountAction, CountThresholds};
pub use list::{count_list, REVENUE_WINDOW_DAYS};
pub use record::{
    check_name, CountRecord, CountReport, Investigation, InvestigationId, COUNTER_NAME_MAX,
};
pub use schedule::{due_on, next_due, CountItem};
pub use store::CountStore;
