//! Bad database files: each is refused with a typed error, and the file is never
//! modified or deleted. Good old files are upgraded and keep their data.

use std::path::{Path, PathBuf};
use std::process::Command;

use inventory_core::testkit::{loc, qty, sku};
use inventory_core::Inventory;
use inventory_sqlite::{OpenError, SqliteStore, SCHEMA_VERSION};

/// Undoes migrations 11 to 17 (stock states, returns, transfers, the catalog,
/// backorders, stock events, order lines) of a current file, before a test turns it
/// into an older version.
const UNDO_DAILY_FLOWS: &str = "
    DROP TABLE order_lines;
    DROP TABLE stock_events;
    ALTER TABLE stock DROP COLUMN backordered;
    ALTER TABLE ledger DROP COLUMN before_backordered;
    ALTER TABLE ledger DROP COLUMN after_backordered;
    DROP TABLE catalog;
    DROP TABLE catalog_version;
    DROP TABLE transfers;
    ALTER TABLE reservations DROP COLUMN returns;
    ALTER TABLE stock DROP COLUMN damaged;
    ALTER TABLE stock DROP COLUMN quality_control;
    ALTER TABLE stock DROP COLUMN safety_stock;
    ALTER TABLE ledger DROP COLUMN before_damaged;
    ALTER TABLE ledger DROP COLUMN before_quality_control;
    ALTER TABLE ledger DROP COLUMN before_safety_stock;
    ALTER TABLE ledger DROP COLUMN after_damaged;
    ALTER TABLE ledger DROP COLUMN after_quality_control;
    ALTER TABLE ledger DROP COLUMN after_safety_stock;";

fn folder() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// A database written by plain SQLite (rollback journal), with `pages` worth of rows.
fn foreign_database(path: &Path, user_version: u32, rows: usize) {
    let connection = rusqlite::Connection::open(path).expect("create");
    connection
        .execute_batch("CREATE TABLE filler (body TEXT NOT NULL)")
        .expect("table");
    for _ in 0..rows {
        connection
            .execute("INSERT INTO filler VALUES (?1)", [&"x".repeat(1_000)])
            .expect("row");
    }
    connection
        .pragma_update(None, "user_version", user_version)
        .expect("version");
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("file still exists")
}

/// Opens `path`, expects a refusal, and checks the file is byte for byte unchanged.
async fn refused(path: &PathBuf) -> OpenError {
    let before = bytes(path);
    let error = SqliteStore::open(path).await.expect_err("open must refuse");
    assert_eq!(bytes(path), before, "{} was modified", path.display());
    error
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused() {
    let folder = folder();
    let path = folder.path().join("notes.db");
    std::fs::write(
        &path,
        "these are my shop notes, not a database\n".repeat(200),
    )
    .unwrap();
    let error = refused(&path).await;
    assert!(matches!(error, OpenError::NotADatabase { .. }), "{error:?}");
    std::fs::write(&path, "tiny").unwrap();
    assert!(matches!(
        refused(&path).await,
        OpenError::NotADatabase { .. }
    ));
}

#[tokio::test]
async fn a_truncated_database_is_refused() {
    let folder = folder();
    let path = folder.path().join("cut.db");
    foreign_database(&path, 1, 50);
    let whole = bytes(&path).len() as u64;
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(whole / 2).unwrap();
    drop(file);
    match refused(&path).await {
        OpenError::Truncated {
            expected, found, ..
        } => {
            assert_eq!((expected, found), (whole, whole / 2));
        }
        other => panic!("expected truncated, got {other:?}"),
    }
}

#[tokio::test]
async fn a_database_from_a_newer_schema_is_refused() {
    let folder = folder();
    let path = folder.path().join("future.db");
    foreign_database(&path, SCHEMA_VERSION + 98, 1);
    match refused(&path).await {
        OpenError::SchemaTooNew {
            found, supported, ..
        } => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 98, SCHEMA_VERSION));
        }
        other => panic!("expected schema too new, got {other:?}"),
    }
}

/// Makes `path` unwritable: permission bits for ordinary users; for root, which
/// ignores them, the immutable attribute. Returns false when neither works here.
fn make_read_only(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    if std::fs::OpenOptions::new().write(true).open(path).is_err() {
        return true;
    }
    let immutable = Command::new("chattr").arg("+i").arg(path).status();
    immutable.is_ok_and(|status| status.success())
}

#[tokio::test]
async fn a_read_only_database_is_refused() {
    let folder = folder();
    let path = folder.path().join("locked.db");
    foreign_database(&path, 0, 3);
    if !make_read_only(&path) {
        inventory_tests::loud("SKIPPED a_read_only_database_is_refused: cannot make a file read-only here (root without chattr)");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the read-only case"
        );
        return;
    }
    let error = refused(&path).await;
    let _ = Command::new("chattr").arg("-i").arg(&path).status();
    assert!(matches!(error, OpenError::ReadOnly { .. }), "{error:?}");
}

#[tokio::test]
async fn a_missing_folder_is_a_typed_error() {
    let folder = folder();
    let path = folder.path().join("no/such/folder/shop.db");
    let error = SqliteStore::open(&path).await.expect_err("cannot create");
    assert!(matches!(error, OpenError::Sqlite { .. }), "{error:?}");
    assert!(!path.exists());
}

#[tokio::test]
async fn an_older_database_is_upgraded_and_data_survives_reopening() {
    let folder = folder();
    let empty = folder.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    SqliteStore::open(&empty)
        .await
        .expect("an empty file becomes a database");

    let old = folder.path().join("old.db");
    foreign_database(&old, 0, 2);
    let inventory = Inventory::new(
        SqliteStore::open(&old)
            .await
            .expect("version 0 is upgraded"),
    );
    inventory.receive(sku("A"), loc("W"), qty(9)).await.unwrap();
    drop(inventory);
    let inventory = Inventory::new(SqliteStore::open(&old).await.expect("reopen"));
    assert_eq!(inventory.stock(&sku("A")).await.unwrap().total.on_hand, 9);
    let version: u32 = rusqlite::Connection::open(&old)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

/// A version-2 file (before the daily shipped aggregate, purchasing, counting,
/// idempotency keys and the one holds table) is upgraded
/// through every later migration, and the aggregate is filled from its ledger.
#[tokio::test]
async fn upgrading_to_version_3_fills_the_shipped_aggregate_from_the_ledger() {
    use inventory_core::reorder::DemandStore;
    use inventory_core::testkit::order;

    let folder = folder();
    let path = folder.path().join("v2.db");
    let inventory = Inventory::new(SqliteStore::open(&path).await.unwrap());
    inventory
        .receive(sku("A"), loc("W"), qty(10))
        .await
        .unwrap();
    let held = inventory
        .reserve(order("o1", &[("A", 4)]))
        .await
        .unwrap()
        .reservation;
    inventory.commit(held.id).await.unwrap();
    inventory.ship(held.id).await.unwrap();
    let today = inventory.now().date_naive();
    drop(inventory);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let downgrade = rusqlite::Connection::open(&path).unwrap();
    downgrade.execute_batch(UNDO_DAILY_FLOWS).unwrap();
    downgrade
        .execute_batch(
            "DROP TABLE daily_shipped; DROP TABLE suppliers; DROP TABLE sku_suppliers;
             DROP TABLE purchase_orders; DROP TABLE count_records; DROP TABLE investigations;
             DROP TABLE last_counts; ALTER TABLE ledger DROP COLUMN unit_price;
             DROP TABLE holds;
             CREATE TABLE active_holds (reservation_id TEXT NOT NULL, sku TEXT NOT NULL,
                 expires_at INTEGER NOT NULL, PRIMARY KEY (reservation_id, sku)) WITHOUT ROWID;
             CREATE INDEX active_holds_by_sku ON active_holds (sku, expires_at);
             DROP INDEX ledger_by_idempotency_key; ALTER TABLE ledger DROP COLUMN idempotency_key;
             DROP TABLE inbox;
             PRAGMA user_version = 2;",
        )
        .unwrap();
    drop(downgrade);

    let store = SqliteStore::open(&path)
        .await
        .expect("upgrade from version 2");
    let shipped = store.shipped_per_day(today, today).await.unwrap();
    assert_eq!(shipped[&sku("A")][&today], 4);
}

/// A version-7 file with open reservations (active holds and open holds in two tables)
/// is upgraded to the one holds table: the same holds, expiry kept while active, and
/// the store keeps working on them.
#[tokio::test]
async fn upgrading_to_version_8_keeps_every_open_hold() {
    use inventory_core::testkit::invariants::assert_invariants;
    use inventory_core::testkit::order;

    let folder = folder();
    let path = folder.path().join("v7.db");
    let inventory = Inventory::new(SqliteStore::open(&path).await.unwrap());
    for name in ["A", "B"] {
        inventory
            .receive(sku(name), loc("W"), qty(10))
            .await
            .unwrap();
    }
    inventory
        .reserve(order("active", &[("A", 2), ("B", 1)]))
        .await
        .unwrap();
    let committed = inventory
        .reserve(order("committed", &[("A", 3)]))
        .await
        .unwrap()
        .reservation;
    inventory.commit(committed.id).await.unwrap();
    drop(inventory);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let holds = |connection: &rusqlite::Connection| -> Vec<(String, String, Option<i64>)> {
        let mut statement = connection
            .prepare("SELECT reservation_id, sku, expires_at FROM holds ORDER BY 1, 2")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let downgrade = rusqlite::Connection::open(&path).unwrap();
    let before = holds(&downgrade);
    assert_eq!(before.len(), 3, "two SKUs active, one committed");
    downgrade.execute_batch(UNDO_DAILY_FLOWS).unwrap();
    downgrade
        .execute_batch(
            "CREATE TABLE active_holds (reservation_id TEXT NOT NULL, sku TEXT NOT NULL,
                 expires_at INTEGER NOT NULL, PRIMARY KEY (reservation_id, sku)) WITHOUT ROWID;
             CREATE INDEX active_holds_by_sku ON active_holds (sku, expires_at);
             CREATE TABLE open_holds (reservation_id TEXT NOT NULL, sku TEXT NOT NULL,
                 PRIMARY KEY (reservation_id, sku)) WITHOUT ROWID;
             CREATE INDEX open_holds_by_sku ON open_holds (sku);
             INSERT INTO active_holds SELECT reservation_id, sku, expires_at FROM holds
                 WHERE expires_at IS NOT NULL;
             INSERT INTO open_holds SELECT reservation_id, sku FROM holds;
             DROP TABLE holds;
             DROP TABLE inbox;
             PRAGMA user_version = 7;",
        )
        .unwrap();
    drop(downgrade);

    let store = SqliteStore::open(&path)
        .await
        .expect("upgrade from version 7");
    let upgraded = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(holds(&upgraded), before);
    drop(upgraded);
    assert_invariants(&store).await;
    let inventory = Inventory::new(store);
    inventory.ship(committed.id).await.unwrap();
    let total = inventory.stock(&sku("A")).await.unwrap().total;
    assert_eq!((total.on_hand, total.reserved, total.committed), (7, 2, 0));
}

/// A stored value damaged behind the library's back (an order id with a control
/// character) is read as `StoreError::Corrupt`, naming the value and keeping the
/// rule's error as its source, and nothing else of the file is touched.
#[tokio::test]
async fn a_damaged_stored_value_is_corrupt_with_its_cause() {
    use inventory_core::{DomainError, Error, StoreError};
    let folder = folder();
    let path = folder.path().join("damaged.db");
    let inventory = Inventory::new(SqliteStore::open(&path).await.expect("open"));
    inventory.receive(sku("A"), loc("W"), qty(5)).await.unwrap();
    let held = inventory
        .reserve(inventory_core::testkit::order("damaged-1", &[("A", 1)]))
        .await
        .unwrap();
    drop(inventory);
    let connection = rusqlite::Connection::open(&path).expect("open with rusqlite");
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    let changed = connection
        .execute("UPDATE reservations SET order_id = order_id || char(7)", [])
        .expect("damage the order id");
    assert_eq!(changed, 1);
    drop(connection);
    let inventory = Inventory::new(SqliteStore::open(&path).await.expect("reopen"));
    let error = inventory
        .reservation(held.reservation.id)
        .await
        .expect_err("a damaged order id cannot be read back");
    let Error::Store(StoreError::Corrupt { what, source }) = &error else {
        panic!("expected StoreError::Corrupt, got {error:?}");
    };
    assert_eq!(what, "order id");
    assert!(
        matches!(
            source.downcast_ref::<DomainError>(),
            Some(DomainError::InvalidIdentifier { .. })
        ),
        "the source is the identifier rule's error: {source:?}"
    );
    // The message names the cause; the summary (what a service shows) does not.
    let message = error.to_string();
    assert!(
        message.starts_with("stored order id is corrupt: ") && message.contains("order id"),
        "{message}"
    );
    let Error::Store(store) = &error else {
        unreachable!()
    };
    assert_eq!(store.summary(), "stored order id is corrupt");
    assert_eq!(inventory.stock(&sku("A")).await.unwrap().total.on_hand, 5);
}

/// The SQL backends number their migrations alike (a schema version means the same
/// tables everywhere), and both builds' schema versions are the last of them.
#[test]
fn both_sql_backends_number_their_migrations_alike() {
    let numbers = |crate_folder: &str| -> Vec<u32> {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(crate_folder)
            .join("migrations");
        let mut numbers: Vec<u32> = std::fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                name.to_string_lossy().split('_').next()?.parse().ok()
            })
            .collect();
        numbers.sort_unstable();
        numbers
    };
    let sqlite = numbers("inventory-sqlite");
    assert_eq!(sqlite, numbers("inventory-sqlx"));
    assert_eq!(sqlite.last(), Some(&SCHEMA_VERSION));
    assert_eq!(
        inventory_sqlx::schema_version(),
        i64::from(SCHEMA_VERSION),
        "PostgreSQL's embedded migrations reach the same version"
    );
}
