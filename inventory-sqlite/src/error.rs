//! Errors of the SQLite backend: [`OpenError`] when a file cannot be used, and the
//! classification of driver errors into the core's [`StoreError`] kinds.

use std::path::PathBuf;

use inventory_core::StoreError;
use rusqlite::ErrorCode;

/// Why a database file could not be opened. The file is left exactly as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file exists but is not a SQLite database.
    #[error("{path} is not a SQLite database")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is shorter than its own header says: it was cut off.
    #[error("{path} is truncated: its header promises {expected} bytes, the file has {found}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The file was written by a newer version of this crate.
    #[error("{path} has schema version {found}; this build understands up to {supported}")]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// The file or its folder cannot be written.
    #[error("{path} cannot be written")]
    ReadOnly {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused the file or a setting.
    #[error("SQLite refused {path}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
}

/// A file that cannot be opened is a storage failure (a damaged file a corrupt one);
/// the [`OpenError`] is kept as the cause, so `?` carries it into the core's error.
impl From<OpenError> for inventory_core::Error {
    fn from(error: OpenError) -> Self {
        Self::Store(match error {
            OpenError::NotADatabase { .. } | OpenError::Truncated { .. } => {
                StoreError::corrupt("database file", error)
            }
            OpenError::ReadOnly { .. } | OpenError::Io { .. } => {
                StoreError::Unavailable(Box::new(error))
            }
            other => StoreError::Backend(Box::new(other)),
        })
    }
}

/// Classifies a driver error by its SQLite result code.
pub(crate) fn store_error(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Conflict(Box::new(error))
        }
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            StoreError::corrupt("database file", error)
        }
        Some(
            ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::PermissionDenied,
        ) => StoreError::Unavailable(Box::new(error)),
        _ => StoreError::Backend(Box::new(error)),
    }
}

/// A stored value this build cannot read back, and the parser's error that says why.
pub(crate) fn corrupt(what: &str, source: impl Into<inventory_core::BoxError>) -> StoreError {
    StoreError::corrupt(what, source)
}

/// A stored value this build cannot read back, when no parser error says why.
pub(crate) fn corrupt_value(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt_value(what, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: ErrorCode) -> rusqlite::Error {
        let raw = match code {
            ErrorCode::DatabaseBusy => 5,
            ErrorCode::DatabaseCorrupt => 11,
            ErrorCode::ReadOnly => 8,
            _ => 1,
        };
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(raw), None)
    }

    #[test]
    fn classifies_by_result_code() {
        assert!(store_error(sqlite(ErrorCode::DatabaseBusy)).is_transient());
        assert!(matches!(
            store_error(sqlite(ErrorCode::DatabaseCorrupt)),
            StoreError::Corrupt { .. }
        ));
        assert!(matches!(
            store_error(sqlite(ErrorCode::ReadOnly)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            store_error(sqlite(ErrorCode::Unknown)),
            StoreError::Backend(_)
        ));
    }
}
