//! Embedded SQLite storage backend for `inventory-core`.
//!
//! Not implemented yet: the `SqliteStore` (rusqlite, WAL, `BEGIN IMMEDIATE`, group
//! commit) arrives with its own issue. Until then use
//! [`inventory_core::MemoryStore`].

/// The schema version this crate's migrations will produce; shared numbering with the
/// other SQL backends.
pub const SCHEMA_VERSION: u32 = 0;

pub use inventory_core as core;
