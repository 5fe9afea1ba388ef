//! The conformance suite: one `async fn` per behaviour, generic over the backend.
//!
//! Every case panics on a mismatch and ends by checking every invariant
//! ([`assert_invariants`](super::invariants::assert_invariants)).

mod allocation;
mod backorders;
mod bundles;
mod counting;
mod demand;
mod events;
mod expiry;
mod flows;
mod idempotency;
mod inbox;
mod lifecycle;
mod movements;
mod parts;
mod purchase;
mod reserve;
mod sync;

pub use allocation::*;
pub use backorders::*;
pub use bundles::*;
pub use counting::*;
pub use demand::*;
pub use events::*;
pub use expiry::*;
pub use flows::*;
pub use idempotency::*;
pub use inbox::*;
pub use lifecycle::*;
pub use movements::*;
pub use parts::*;
pub use purchase::*;
pub use reserve::*;
pub use sync::*;
