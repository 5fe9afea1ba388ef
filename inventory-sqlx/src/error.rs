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
/// protocol violation: retrying the same message cannot help), and of a server that
/// no longer takes writes (25006, read-only: a standby, or a demoted primary), after
/// which a store given several servers looks for another.
fn is_disconnect(code: &str) -> bool {
    matches!(
        code,
        "08000" | "08001" | "08003" | "08004" | "08006" | "57P01" | "57P02" | "57P03" | "25006"
    )
}

/// What a MySQL or MariaDB error number means for the unit that got it.
#[cfg(feature = "mysql")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Undone whole: running the unit again may succeed.
    Conflict,
    /// The connection broke or the server is not serving.
    Broken,
    Other,
}

/// Classifies a MySQL or MariaDB error by its number (the SQLSTATEs are too coarse:
/// `23000` is both a duplicate key and a NULL in a NOT NULL column, `HY000` anything).
#[cfg(feature = "mysql")]
fn mysql_kind(number: u16) -> Kind {
    match number {
        // ER_LOCK_DEADLOCK (SQLSTATE 40001; also a Galera certification failure, at any
        // statement or at COMMIT), ER_LOCK_WAIT_TIMEOUT, ER_DUP_ENTRY (another unit
        // inserted the same key first), ER_CHECKREAD (the record changed since it was
        // read), ER_LOCK_ABORTED.
        1213 | 1205 | 1062 | 1020 | 1689 => Kind::Conflict,
        // ER_UNKNOWN_COM_ERROR (a Galera node not ready: "WSREP has not yet prepared
        // node for application use"), ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED,
        // ER_QUERY_INTERRUPTED, ER_NET_READ_ERROR, ER_NET_READ_INTERRUPTED,
        // ER_NET_ERROR_ON_WRITE, ER_NET_WRITE_INTERRUPTED, CR_SERVER_GONE_ERROR,
        // CR_SERVER_LOST, ER_CLIENT_INTERACTION_TIMEOUT; and a server that no longer
        // takes writes: ER_OPTION_PREVENTS_STATEMENT (--read-only),
        // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION.
        1047 | 1053 | 1927 | 1317 | 1158 | 1159 | 1160 | 1161 | 2006 | 2013 | 4031 | 1290
        | 1792 => Kind::Broken,
        _ => Kind::Other,
    }
}

pub(crate) fn store_error(error: sqlx::Error, phase: Phase) -> StoreError {
    let broken = |error: sqlx::Error| match phase {
        Phase::BeforeCommit => StoreError::Interrupted(Box::new(error)),
        Phase::Commit => StoreError::Unavailable(Box::new(error)),
    };
    #[cfg(feature = "mysql")]
    if let sqlx::Error::Database(database) = &error {
        if let Some(mysql) = database.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
            // SQLSTATE 40001 is also what an optimistic write's guard signals when a row
            // it read has changed (error 1644, a user SIGNAL).
            let kind = if mysql.code() == Some("40001") {
                Kind::Conflict
            } else {
                mysql_kind(mysql.number())
            };
            return match kind {
                Kind::Conflict => StoreError::Conflict(Box::new(error)),
                Kind::Broken => broken(error),
                Kind::Other => StoreError::Backend(Box::new(error)),
            };
        }
    }
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
        for code in ["08006", "57P01", "25006"] {
            assert!(is_disconnect(code), "{code}");
        }
        assert!(!is_conflict("23514") && !is_disconnect("23514"));
        assert!(
            !is_disconnect("08P01"),
            "a protocol violation is not retried"
        );
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_error_numbers_are_classified() {
        for number in [1213, 1205, 1062, 1020] {
            assert_eq!(mysql_kind(number), Kind::Conflict, "{number}");
        }
        for number in [1047, 1927, 2013, 1290] {
            assert_eq!(mysql_kind(number), Kind::Broken, "{number}");
        }
        // A NULL in a NOT NULL column, a value out of range, data too long: not retried.
        for number in [1048, 1264, 1406] {
            assert_eq!(mysql_kind(number), Kind::Other, "{number}");
        }
    }

    #[test]
    fn a_broken_connection_is_retried_only_before_commit() {
        let before = store_error(sqlx::Error::PoolTimedOut, Phase::BeforeCommit);
        assert!(before.is_transient());
        let during = store_error(sqlx::Error::PoolTimedOut, Phase::Commit);
        assert!(matches!(during, StoreError::Unavailable(_)));
    }
}
