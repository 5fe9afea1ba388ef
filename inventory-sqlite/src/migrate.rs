//! Versioned schema migrations, embedded in the crate. The version lives in SQLite's
//! `user_version`; numbering is shared with the other SQL backends.

use rusqlite::{Connection, TransactionBehavior};

/// Each migration: its version and its SQL, applied in order.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_sync.sql")),
    (3, include_str!("../migrations/0003_demand.sql")),
    (4, include_str!("../migrations/0004_purchasing.sql")),
    (5, include_str!("../migrations/0005_counting.sql")),
    (
        6,
        include_str!("../migrations/0006_one_draft_per_supplier.sql"),
    ),
    (7, include_str!("../migrations/0007_idempotency_keys.sql")),
    (8, include_str!("../migrations/0008_command_cost.sql")),
    (9, include_str!("../migrations/0009_inbox.sql")),
    (10, include_str!("../migrations/0010_audit.sql")),
    (11, include_str!("../migrations/0011_stock_states.sql")),
    (12, include_str!("../migrations/0012_returns.sql")),
    (13, include_str!("../migrations/0013_transfers.sql")),
    (14, include_str!("../migrations/0014_catalog.sql")),
    (15, include_str!("../migrations/0015_backorders.sql")),
    (16, include_str!("../migrations/0016_stock_events.sql")),
    (17, include_str!("../migrations/0017_order_lines.sql")),
];

/// The schema version this build creates and understands: the last migration's.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The schema version stored in the file (0 for a new, empty database).
///
/// # Errors
///
/// The driver's error, for instance when the file is not a database.
pub fn schema_version(connection: &Connection) -> rusqlite::Result<u32> {
    connection.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies every migration newer than the stored version, each in its own immediate
/// transaction that re-reads the version first (another process may be migrating the
/// same file). Returns the version reached.
///
/// # Errors
///
/// The driver's error; a failed migration is rolled back whole.
pub fn migrate(connection: &mut Connection) -> rusqlite::Result<u32> {
    for (version, sql) in MIGRATIONS {
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if schema_version(&tx)? < *version {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tracing::info!(version, "migration applied");
        }
        tx.commit()?;
    }
    schema_version(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut connection = Connection::open_in_memory().unwrap();
        assert_eq!(schema_version(&connection).unwrap(), 0);
        assert_eq!(migrate(&mut connection).unwrap(), SCHEMA_VERSION);
        assert_eq!(migrate(&mut connection).unwrap(), SCHEMA_VERSION);
        let tables: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(
            tables, 19,
            "two holds tables became one (8), the inbox came (9), transfers (13), the catalog and its version (14), stock events (16), order lines (17)"
        );
    }

    #[test]
    fn versions_are_increasing_and_end_at_the_schema_version() {
        let versions: Vec<u32> = MIGRATIONS.iter().map(|(version, _)| *version).collect();
        assert!(versions.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(versions.last(), Some(&SCHEMA_VERSION));
    }

    /// Every file in `migrations/` is embedded under the number its name starts with,
    /// and nothing else is: a new file that is not listed fails here.
    #[test]
    fn every_migration_file_is_embedded_under_its_number() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut numbered: Vec<u32> = std::fs::read_dir(folder)
            .expect("migrations folder")
            .map(|entry| {
                let name = entry.expect("entry").file_name();
                let name = name.to_string_lossy();
                name.split('_')
                    .next()
                    .and_then(|number| number.parse().ok())
                    .unwrap_or_else(|| panic!("{name} does not start with its number"))
            })
            .collect();
        numbered.sort_unstable();
        let embedded: Vec<u32> = MIGRATIONS.iter().map(|(version, _)| *version).collect();
        assert_eq!(numbered, embedded);
    }
}
