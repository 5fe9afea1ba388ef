//! Opening a store: connecting (with a first connection that fails fast and says why)
//! and migrating, each with an error of its own that keeps its cause and converts into
//! the core's [`inventory_core::Error`].

use std::future::Future;
use std::time::Duration;

use inventory_core::StoreError;
use sqlx::migrate::MigrateError;

/// How long the first connection of [`PgStore::connect`](crate::PgStore::connect) (and
/// its MySQL twin) may take before the store gives up: a closed port answers at once,
/// a black-holed host within this.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A store could not connect: which server, and the driver's reason (refused, name
/// not found, authentication, TLS) or the time it waited.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {server}: {reason}")]
pub struct ConnectError {
    /// The server as `kind://host:port/database` (no password).
    pub server: String,
    /// Why, in words.
    reason: String,
    /// The driver's error; `None` when the store stopped waiting after
    /// [`CONNECT_TIMEOUT`], or when none of several servers takes writes (the reason
    /// names each server and what it answered).
    #[source]
    pub source: Option<sqlx::Error>,
    timed_out: bool,
}

impl ConnectError {
    pub(crate) fn new(server: String, source: sqlx::Error) -> Self {
        Self {
            server,
            reason: source.to_string(),
            source: Some(source),
            timed_out: false,
        }
    }

    /// None of a URL's several servers answered as one that takes writes.
    pub(crate) fn none_taking_writes(servers: String, reasons: String) -> Self {
        Self {
            server: servers,
            reason: format!("no server takes writes ({reasons})"),
            source: None,
            timed_out: false,
        }
    }

    /// Whether it gave up waiting (no answer within [`CONNECT_TIMEOUT`]).
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }
}

/// The store's migrations failed: the driver's or sqlx's error says which migration
/// and why (a newer schema than this build knows, a failed statement).
#[derive(Debug, thiserror::Error)]
#[error("migrating the inventory tables failed: {source}")]
pub struct MigrationError {
    /// sqlx's error.
    #[source]
    pub source: MigrateError,
}

impl From<MigrateError> for MigrationError {
    fn from(source: MigrateError) -> Self {
        Self { source }
    }
}

/// A server that cannot be reached is unavailable storage; its cause is kept.
impl From<ConnectError> for inventory_core::Error {
    fn from(error: ConnectError) -> Self {
        Self::Store(StoreError::Unavailable(Box::new(error)))
    }
}

/// A failed migration is a storage failure; its cause is kept.
impl From<MigrationError> for inventory_core::Error {
    fn from(error: MigrationError) -> Self {
        Self::Store(StoreError::Backend(Box::new(error)))
    }
}

/// Runs `first` (a first connection, closed again) within [`CONNECT_TIMEOUT`]: the
/// pool that follows would otherwise retry for its whole acquire timeout and report
/// only that it timed out.
pub(crate) async fn probe<F>(server: String, first: F) -> Result<(), ConnectError>
where
    F: Future<Output = Result<(), sqlx::Error>>,
{
    match tokio::time::timeout(CONNECT_TIMEOUT, first).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(ConnectError::new(server, error)),
        Err(_) => Err(ConnectError {
            server,
            reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            source: None,
            timed_out: true,
        }),
    }
}
