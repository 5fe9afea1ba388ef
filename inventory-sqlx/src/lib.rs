#![doc = include_str!("../README.md")]

mod counting;
mod error;
mod purchase;
mod rows;
mod store;
mod sync;
mod write;

pub use store::{PgStore, PgTx, MIGRATOR, SCHEMA_VERSION};

/// The sqlx version this crate is built on, for callers that configure pools.
pub use sqlx;
