//! [`SqliteStore`]: the core's storage traits on one SQLite file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::backend::{
    load_rows, run_in_steps, AuditStore, Decide, Store, StoreTx, UnitFailure,
};
use inventory_core::catalog::{Catalog, SkuSettings};
use inventory_core::decide::{Changes, LoadPlan, Snapshot};
use inventory_core::inbox::{InboxStore, LineRef};
use inventory_core::{
    LedgerEntry, LedgerPage, LedgerQuery, LocationStock, OrderId, Reservation, ReservationId, Sku,
    StockKey, StockLevel, StoreError, Transfer, TransferId,
};
use rusqlite::Connection;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::error::{store_error, OpenError};
use crate::open::{open_connections, owned, SqliteOptions};
use crate::worker::Worker;
use crate::{catalog, rows};

/// An inventory store in one SQLite file (WAL mode). Clones share the connections.
///
/// Writes go through one connection on its own thread, one transaction at a time
/// (`BEGIN IMMEDIATE`, so the write lock is taken up front); reads use a second,
/// read-only connection on another thread and never wait for writers. Several
/// handles, in one process or several, may open the same file: SQLite's lock orders
/// them, and a writer that waits longer than the busy timeout is retried by the core.
///
/// ```
/// use inventory_core::{Inventory, LocationId, Quantity, Sku};
/// use inventory_sqlite::SqliteStore;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let folder = tempfile::tempdir()?;
/// let store = SqliteStore::open(folder.path().join("shop.db")).await?;
/// let inventory = Inventory::new(store);
/// let level = inventory.receive(Sku::new("MUG")?, LocationId::new("main")?, Quantity::new(4)?).await?;
/// assert_eq!(level.available(), 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    writer: Worker,
    reader: Worker,
    /// One open transaction per writer connection at a time.
    turn: Arc<Mutex<()>>,
    /// The folder of a temporary database, removed with the last handle.
    _temporary: Option<tempfile::TempDir>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with the default options:
    /// `synchronous=FULL`, a 5-second busy timeout.
    ///
    /// # Errors
    ///
    /// [`OpenError`] when the file is not a database, is truncated, was written by a
    /// newer schema, cannot be written, or SQLite refuses it. The file is not changed.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens a new database in a fresh temporary folder, removed when the last handle
    /// is dropped: for tests, examples and throwaway runs.
    ///
    /// # Errors
    ///
    /// [`OpenError::Io`] when no temporary folder can be made; otherwise as
    /// [`SqliteStore::open`].
    pub async fn temporary(options: SqliteOptions) -> Result<Self, OpenError> {
        let folder = tempfile::tempdir().map_err(|source| OpenError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let mut store = Self::open_with(folder.path().join("inventory.db"), options).await?;
        Arc::get_mut(&mut store.shared)
            .expect("a new store has one handle")
            ._temporary = Some(folder);
        Ok(store)
    }

    /// Opens the database at `path` with `options`.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<Self, OpenError> {
        let path = path.as_ref().to_owned();
        let opening = path.clone();
        let (writer, reader) =
            tokio::task::spawn_blocking(move || open_connections(&opening, &options))
                .await
                .map_err(|join| OpenError::Io {
                    path: owned(&path),
                    source: std::io::Error::other(join),
                })??;
        let spawn = |name: &str, connection| {
            Worker::spawn(name, connection).map_err(|source| OpenError::Io {
                path: owned(&path),
                source,
            })
        };
        let writer = spawn("inventory-sqlite-writer", writer)?;
        let reader = spawn("inventory-sqlite-reader", reader)?;
        Ok(Self {
            shared: Arc::new(Shared {
                path,
                writer,
                reader,
                turn: Arc::new(Mutex::new(())),
                _temporary: None,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Runs `work` on the writer connection between units (it takes the writer's turn).
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _turn = self.shared.turn.lock().await;
        self.shared
            .writer
            .run(move |connection| work(connection))
            .await
    }

    /// Runs `work` on the read-only connection.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.shared
            .reader
            .run(move |connection| work(connection))
            .await
    }
}

/// A write transaction on the writer connection. A unit of work runs whole in one job
/// on the writer thread ([`StoreTx::run_unit`]: begin, load, decide, persist, commit);
/// step by step, `BEGIN IMMEDIATE` goes with the first statement. Dropping it
/// unfinished rolls back.
#[derive(Debug)]
pub struct SqliteTx {
    writer: Worker,
    begun: bool,
    finished: bool,
    _turn: OwnedMutexGuard<()>,
}

impl SqliteTx {
    /// Runs `work` on the writer thread inside this transaction, opening it first if this
    /// is its first statement.
    async fn call<T, F>(&mut self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let begin = !std::mem::replace(&mut self.begun, true);
        self.writer
            .run(move |connection| {
                if begin {
                    connection
                        .execute_batch("BEGIN IMMEDIATE")
                        .map_err(store_error)?;
                }
                work(connection)
            })
            .await
    }
}

/// Commits, or rolls back whatever `persisted` left open.
fn finish(connection: &Connection, persisted: Result<(), StoreError>) -> Result<(), StoreError> {
    let committed =
        persisted.and_then(|()| connection.execute_batch("COMMIT").map_err(store_error));
    if committed.is_err() && !connection.is_autocommit() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    committed
}

#[async_trait]
impl Store for SqliteStore {
    type Tx = SqliteTx;

    async fn begin(&self) -> Result<SqliteTx, StoreError> {
        let turn = Arc::clone(&self.shared.turn).lock_owned().await;
        Ok(SqliteTx {
            writer: self.shared.writer.clone(),
            begun: false,
            finished: false,
            _turn: turn,
        })
    }

    async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError> {
        let sku = sku.clone();
        self.shared
            .reader
            .run(move |connection| rows::stock_of(connection, &sku))
            .await
    }

    async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError> {
        let id = *id;
        self.shared
            .reader
            .run(move |connection| rows::reservation(connection, id))
            .await
    }

    async fn transfer(&self, id: &TransferId) -> Result<Option<Transfer>, StoreError> {
        let id = *id;
        self.shared
            .reader
            .run(move |connection| rows::transfer(connection, id))
            .await
    }

    async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.shared
            .reader
            .run(|connection| rows::next_expiry(connection))
            .await
    }

    async fn catalog_version(&self) -> Result<u64, StoreError> {
        self.read(catalog::version).await
    }

    async fn catalog(&self) -> Result<Catalog, StoreError> {
        self.read(catalog::read).await
    }

    async fn put_sku_settings(
        &self,
        sku: &Sku,
        settings: &SkuSettings,
        expected: u64,
    ) -> Result<u64, StoreError> {
        let (sku, settings) = (sku.clone(), settings.clone());
        self.write(move |connection| catalog::put(connection, &sku, &settings, expected))
            .await
    }
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn load(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
        let plan = plan.clone();
        self.call(move |connection| load_rows(&mut rows::Rows(connection), &plan, now))
            .await
    }

    async fn persist(&mut self, changes: &Changes) -> Result<(), StoreError> {
        let changes = changes.clone();
        self.call(move |connection| rows::persist(connection, &changes))
            .await
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        self.finished = true;
        if !self.begun {
            return Ok(());
        }
        self.writer
            .run(|connection| finish(connection, Ok(())))
            .await
    }

    async fn persist_and_commit(mut self, changes: &Changes) -> Result<(), StoreError> {
        self.finished = true;
        let changes = changes.clone();
        self.call(move |connection| finish(connection, rows::persist(connection, &changes)))
            .await
    }

    /// The whole unit in one job on the writer thread: `BEGIN IMMEDIATE`, load, decide,
    /// persist, `COMMIT` (or roll back), with no trip back to the caller's task in
    /// between.
    async fn run_unit<T: Send + 'static>(
        mut self,
        plan: &LoadPlan,
        now: DateTime<Utc>,
        decide: Decide<T>,
    ) -> Result<T, UnitFailure> {
        if self.begun {
            // Part of this transaction already ran step by step: finish it that way.
            return run_in_steps(self, plan, now, decide).await;
        }
        self.finished = true;
        let plan = plan.clone();
        let ran = self
            .writer
            .run(move |connection| Ok(whole_unit(connection, &plan, now, decide)))
            .await;
        match ran {
            Ok(Ok(done)) => done,
            // The decision panicked: the caller sees the panic, as on every backend.
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(error) => Err(UnitFailure::Load(error)),
        }
    }
}

/// What a panic carries.
type Panic = Box<dyn std::any::Any + Send>;

/// Runs a unit on the writer connection; whatever does not commit is rolled back. A
/// panic in `decide` is caught here and handed back, so the writer thread outlives it.
fn whole_unit<T>(
    connection: &mut Connection,
    plan: &LoadPlan,
    now: DateTime<Utc>,
    decide: Decide<T>,
) -> Result<Result<T, UnitFailure>, Panic> {
    let roll_back = |connection: &Connection| {
        if !connection.is_autocommit() {
            let _ = connection.execute_batch("ROLLBACK");
        }
    };
    if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
        return Ok(Err(UnitFailure::Load(store_error(error))));
    }
    let snapshot = match load_rows(&mut rows::Rows(connection), plan, now) {
        Ok(snapshot) => snapshot,
        Err(error) => {
            roll_back(connection);
            return Ok(Err(UnitFailure::Load(error)));
        }
    };
    let (changes, value) =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decide(snapshot))) {
            Ok(decided) => decided,
            Err(panic) => {
                roll_back(connection);
                return Err(panic);
            }
        };
    if changes.is_empty() {
        roll_back(connection);
        return Ok(Ok(value));
    }
    Ok(finish(connection, rows::persist(connection, &changes))
        .map(|()| value)
        .map_err(UnitFailure::Commit))
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.begun && !self.finished {
            self.writer.post(|connection| {
                if !connection.is_autocommit() {
                    let _ = connection.execute_batch("ROLLBACK");
                }
            });
        }
    }
}

#[async_trait]
impl InboxStore for SqliteStore {
    async fn handled(&self, source: &str, id: &str) -> Result<bool, StoreError> {
        let (source, id) = (source.to_owned(), id.to_owned());
        self.read(move |connection| {
            connection
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM inbox WHERE source = ?1 AND id = ?2)")
                .and_then(|mut statement| statement.query_row([&source, &id], |row| row.get(0)))
                .map_err(store_error)
        })
        .await
    }

    async fn record_handled(
        &self,
        source: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (source, id) = (source.to_owned(), id.to_owned());
        self.write(move |connection| {
            connection
                .prepare_cached(
                    "INSERT INTO inbox (source, id, handled_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (source, id) DO NOTHING",
                )
                .and_then(|mut statement| {
                    statement.execute(rusqlite::params![source, id, at.timestamp_micros()])
                })
                .map(|inserted| inserted == 1)
                .map_err(store_error)
        })
        .await
    }

    async fn forget_handled_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.write(move |connection| {
            connection
                .prepare_cached("DELETE FROM inbox WHERE handled_at < ?1")
                .and_then(|mut statement| statement.execute([before.timestamp_micros()]))
                .map(|deleted| u64::try_from(deleted).unwrap_or(u64::MAX))
                .map_err(store_error)
        })
        .await
    }

    async fn record_lines(&self, order: &OrderId, lines: &[LineRef]) -> Result<u64, StoreError> {
        let order = order.clone();
        let lines = lines.to_vec();
        self.write(move |connection| {
            let tx = connection.unchecked_transaction().map_err(store_error)?;
            let mut added = 0;
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO order_lines (order_id, line_id, sku) VALUES (?1, ?2, ?3)
                         ON CONFLICT (order_id, line_id) DO NOTHING",
                    )
                    .map_err(store_error)?;
                for line in &lines {
                    added += insert
                        .execute([order.as_str(), line.line.as_str(), line.sku.as_str()])
                        .map_err(store_error)?;
                }
            }
            tx.commit().map_err(store_error)?;
            Ok(u64::try_from(added).unwrap_or(u64::MAX))
        })
        .await
    }

    async fn lines_of(&self, order: &OrderId) -> Result<Vec<LineRef>, StoreError> {
        let order = order.clone();
        self.read(move |connection| {
            let mut select = connection
                .prepare_cached(
                    "SELECT line_id, sku FROM order_lines WHERE order_id = ?1 ORDER BY line_id",
                )
                .map_err(store_error)?;
            let rows = select
                .query_map([order.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(store_error)?;
            rows.map(|row| {
                let (line, sku) = row.map_err(store_error)?;
                LineRef::read_back(line, sku)
            })
            .collect()
        })
        .await
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>, StoreError> {
        self.shared
            .reader
            .run(|connection| rows::all_stock(connection))
            .await
    }

    async fn all_reservations(&self) -> Result<Vec<Reservation>, StoreError> {
        self.shared
            .reader
            .run(|connection| rows::all_reservations(connection))
            .await
    }

    async fn ledger(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        self.shared
            .reader
            .run(|connection| rows::ledger(connection))
            .await
    }

    async fn ledger_page(&self, query: &LedgerQuery) -> Result<LedgerPage, StoreError> {
        let query = query.clone();
        self.shared
            .reader
            .run(move |connection| rows::ledger_page(connection, &query))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inventory_core::decide::Changes;
    use inventory_core::{Inventory, LocationId, Quantity};

    /// A decision that panics inside the writer's job reaches the caller as a panic,
    /// rolls its transaction back, and leaves the writer thread serving later units.
    #[tokio::test]
    async fn a_panicking_decision_leaves_the_writer_working() {
        let store = SqliteStore::temporary(SqliteOptions::default())
            .await
            .unwrap();
        let sku = Sku::new("MUG").unwrap();
        let plan = LoadPlan {
            skus: vec![sku.clone()],
            ..LoadPlan::default()
        };
        let tx = store.begin().await.unwrap();
        let decide: Decide<()> = Box::new(|_snapshot| panic!("a bug in a decision"));
        let unit = tokio::spawn(async move { tx.run_unit(&plan, Utc::now(), decide).await });
        assert!(unit.await.unwrap_err().is_panic());

        let tx = store.begin().await.unwrap();
        let plan = LoadPlan {
            skus: vec![sku.clone()],
            ..LoadPlan::default()
        };
        let empty: Decide<u8> = Box::new(|_snapshot| (Changes::default(), 7));
        assert_eq!(tx.run_unit(&plan, Utc::now(), empty).await.unwrap(), 7);

        let inventory = Inventory::new(store);
        let level = inventory
            .receive(
                sku,
                LocationId::new("main").unwrap(),
                Quantity::new(3).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(level.available(), 3);
    }
}
