//! PostgreSQL storage backend for `inventory-core`, on sqlx.
//!
//! Not implemented yet: the `PgStore` (row locks in key order, group commit, embedded
//! migrations) arrives with its own issue. Until then use
//! [`inventory_core::MemoryStore`].

/// The schema version this crate's migrations will produce; shared numbering with the
/// other SQL backends.
pub const SCHEMA_VERSION: u32 = 0;

pub use inventory_core as core;
