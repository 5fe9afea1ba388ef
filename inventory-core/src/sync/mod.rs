//! Channel sync: every sales channel told a buffered share of available, within
//! moments of each change.
//!
//! - What each channel is told: [`ChannelPolicy`], [`Buffer`], the pure [`published`].
//! - [`Channel`]: the adapter trait (absolute numbers, in batches).
//! - [`SyncStore`]: the transactional outbox and the record of what each channel was
//!   told, implemented by every backend.
//! - [`SyncWorker`]: claims dirty SKUs, pushes only what changed, retries failing
//!   channels with backoff, reconciles on demand.

mod channel;
pub(crate) mod policy;
mod store;
mod worker;

pub use crate::background::Stopped;
pub use channel::{Channel, ChannelError, StockUpdate, CHANNEL_BATCH_DEFAULT};
pub use policy::{
    published, published_bundle, published_with_backorders, Buffer, ChannelPolicy, Terms,
};
pub use store::{DirtyMark, Pushed, SyncStore, CHANNEL_NAME_MAX};
pub use worker::{PassReport, SyncConfig, SyncStatus, SyncWorker, SyncWorkerBuilder};
