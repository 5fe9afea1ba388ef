#![doc = include_str!("../README.md")]

pub mod backend;
pub mod clock;
pub mod counting;
pub mod decide;
pub mod error;
pub mod group;
pub mod id;
pub mod inbox;
pub mod inventory;
pub mod ledger;
pub mod memory;
pub mod quantity;
pub mod reorder;
pub mod reservation;
pub mod retry;
pub mod stock;
pub mod sync;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{DomainError, Error, Result, StoreError, UnreadableValue};
pub use group::GroupCommit;
pub use id::{IdempotencyKey, LocationId, OrderId, ReservationId, Sku, SupplierId};
pub use inventory::{Inventory, ReserveResult};
pub use ledger::{replay, LedgerEntry, Movement};
pub use memory::MemoryStore;
pub use quantity::Quantity;
pub use reservation::{
    AllocationStrategy, OrderLine, Reservation, ReservationLine, ReservationStatus,
    ReservationTransition, ReserveRequest,
};
pub use retry::RetryPolicy;
pub use stock::{LocationStock, SkuStock, StockKey, StockLevel};
