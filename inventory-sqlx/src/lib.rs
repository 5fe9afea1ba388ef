#![doc = include_str!("../README.md")]

mod connect;
mod counting;
mod error;
mod events;
#[cfg(feature = "mysql")]
mod mysql;
mod nodes;
mod notice;
mod purchase;
mod read;
mod rows;
mod statement;
mod store;
mod sync;
mod tx;
mod write;

pub use connect::{ConnectError, MigrationError, CONNECT_TIMEOUT};
pub use nodes::NODE_CHECK_TIMEOUT;
pub use store::{
    schema_version, PgStore, COMMIT_TIMEOUT, DEFAULT_SCHEMA, MIGRATOR, SESSION_SETTINGS,
};
pub use tx::PgTx;

#[cfg(feature = "mysql")]
pub use mysql::{
    MySqlStore, MySqlTx, DEFAULT_DATABASE as MYSQL_DEFAULT_DATABASE, MYSQL_MIGRATOR,
    MYSQL_SESSION_SETTINGS, RELEASE_CHECK,
};

/// The sqlx version this crate is built on, for callers that configure pools.
pub use sqlx;
