//! Cycle counting, the pure part: ABC classes by revenue ([`abc`]), a level daily
//! schedule ([`schedule`]), and what a count means ([`count`]).
//!
//! Recording counts against stock, freezing SKUs and persisting count history are not
//! built yet; these functions are what that step will call.

pub mod abc;
pub mod count;
pub mod schedule;

pub use abc::{classify, AbcClass, AbcConfig};
pub use count::{discrepancy_basis_points, evaluate, shortage, CountAction, CountThresholds};
pub use schedule::{due_on, next_due, CountItem};
