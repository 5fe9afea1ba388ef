#![doc = include_str!("../README.md")]

pub mod backend;
mod background;
mod bulk;
pub mod catalog;
mod clock;
pub mod counting;
pub mod decide;
mod error;
pub mod events;
pub mod expiry;
mod group;
mod id;
pub mod inbox;
mod inventory;
mod ledger;
mod memory;
mod quantity;
pub mod reorder;
mod reservation;
mod retry;
mod returns;
mod shipment;
mod stock;
pub mod sync;
#[cfg(feature = "testkit")]
pub mod testkit;
mod transfer;

/// Re-exported: implementing [`sync::Channel`] (or a storage trait) takes
/// `#[async_trait]` on the `impl`, and this is the version the traits are declared with.
pub use async_trait::async_trait;
pub use background::Stopped;
pub use bulk::{BulkSet, SetResult, SetRow, StaleRow, BULK_SET_ROWS_MAX};
/// Re-exported: the time types of the public signatures ([`chrono::DateTime`],
/// [`chrono::Utc`], [`chrono::TimeDelta`], ...).
pub use chrono;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{BoxError, DomainError, Error, Result, StoreError, UnreadableValue};
pub use group::{GroupCommit, BATCH_MAX, LANES_MAX};
#[cfg(feature = "openapi")]
pub use id::IDENTIFIER_PATTERN;
pub use id::{
    IdempotencyKey, IdentifierKind, LineId, LocationId, OrderId, ReservationId, Sku, SupplierId,
    IDENTIFIER_LENGTH_MAX,
};
pub use inventory::{Inventory, ReserveResult};
pub use ledger::{
    order_reference, purchase_order_reference, replay, LedgerCursor, LedgerEntry, LedgerPage,
    LedgerQuery, Movement, ReplayError, LEDGER_PAGE_MAX, REASON_LENGTH_MAX,
};
pub use memory::{MemoryStore, MemoryTx};
pub use quantity::{Quantity, QUANTITY_MAX};
pub use reservation::{
    check_ttl, AllocationStrategy, BundleLine, OrderLine, Reservation, ReservationLine,
    ReservationStatus, ReservationTransition, ReserveRequest, UnknownName, HOLD_TTL_DEFAULT,
    HOLD_TTL_MAX, HOLD_TTL_MIN, ORDER_LINES_MAX, PRIORITY_LOCATIONS_MAX,
};
pub use retry::RetryPolicy;
pub use returns::{Disposition, ReturnLine, ReturnRecord, ReturnRequest, RETURN_LINES_MAX};
/// Re-exported: the decimal type of prices, revenue and buffers.
pub use rust_decimal::Decimal;
pub use shipment::{AddRequest, PartLine, PartRequest};
pub use stock::{LocationStock, SkuStock, StockDelta, StockKey, StockLevel, StockState};
pub use transfer::{
    transfer_reference, Transfer, TransferId, TransferLeg, TransferRequest, TransferStatus,
};
