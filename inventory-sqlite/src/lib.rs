#![doc = include_str!("../README.md")]

mod catalog;
mod counting;
mod error;
mod events;
pub mod migrate;
mod open;
mod purchase;
mod rows;
mod store;
mod sync;
mod worker;

pub use error::OpenError;
pub use migrate::SCHEMA_VERSION;
pub use open::{SqliteOptions, Synchronous};
pub use store::{SqliteStore, SqliteTx};
