//! Classification of sqlx errors into the core's [`StoreError`] kinds, by error kind and
//! SQLSTATE, never by message text.

use inventory_core::StoreError;

/// Where in a unit an error happened: a broken connection before the commit was sent
/// leaves nothing applied; during the commit it may or may not have been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    BeforeCommit,
    Commit,
}

/// SQLSTATEs after which running the unit again may succeed.
fn is_conflict(code: &str) -> bool {
    matches!(
        code,
        // serialization_failure, deadlock_detected, lock_not_available
        "40001" | "40P01" | "55P03"
        // unique_violation: another unit inserted the same key first
        | "23505"
    )
}

/// SQLSTATEs of a connection that broke or that the server dropped (not 08P01, a
/// protocol violation: retrying the same message cannot help).
fn is_disconnect(code: &str) -> bool {
    matches!(
        code,
        "08000" | "08001" | "08003" | "08004" | "08006" | "57P01" | "57P02" | "57P03"
    )
}

pub(crate) fn store_error(error: sqlx::Error, phase: Phase) -> StoreError {
    let broken = |error: sqlx::Error| match phase {
        Phase::BeforeCommit => StoreError::Interrupted(Box::new(error)),
        Phase::Commit => StoreError::Unavailable(Box::new(error)),
    };
    match &error {
        sqlx::Error::Database(database) => match database.code() {
            Some(code) if is_conflict(&code) => StoreError::Conflict(Box::new(error)),
            Some(code) if is_disconnect(&code) => broken(error),
            _ => StoreError::Backend(Box::new(error)),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => broken(error),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::corrupt("column", error),
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

    #[test]
    fn sqlstates_are_classified() {
        for code in ["40001", "40P01", "55P03", "23505"] {
            assert!(is_conflict(code), "{code}");
        }
        for code in ["08006", "57P01"] {
            assert!(is_disconnect(code), "{code}");
        }
        assert!(!is_conflict("23514") && !is_disconnect("23514"));
        assert!(
            !is_disconnect("08P01"),
            "a protocol violation is not retried"
        );
    }

    #[test]
    fn a_broken_connection_is_retried_only_before_commit() {
        let before = store_error(sqlx::Error::PoolTimedOut, Phase::BeforeCommit);
        assert!(before.is_transient());
        let during = store_error(sqlx::Error::PoolTimedOut, Phase::Commit);
        assert!(matches!(during, StoreError::Unavailable(_)));
    }
}
