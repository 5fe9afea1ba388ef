//! [`MySqlStore`]: the core's storage traits on MySQL 8 and MariaDB 10.6+ (InnoDB), with
//! the `mysql` feature.

mod features;
mod rows;
mod tx;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::backend::{ReadMode, Store};
use inventory_core::catalog::{Catalog, SkuSettings};
use inventory_core::{LocationStock, Reservation, ReservationId, Sku, StoreError};
use std::sync::Arc;

use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::{Connection, Executor, MySql};

use crate::connect::{probe, ConnectError, MigrationError, CONNECT_TIMEOUT};
use crate::error::corrupt;
use crate::nodes::{connect_pool, first_taking_writes, servers_of, Answer, Moved, Nodes, Server};

pub use tx::MySqlTx;

use rows::{level_columns, reservation_columns};

/// The database of the library's tables when connecting with
/// [`MySqlStore::connect`]: apart from an app's own tables in the URL's database.
pub const DEFAULT_DATABASE: &str = "inventory";

/// Longest database name MySQL takes.
const DATABASE_LENGTH_MAX: usize = 64;

/// `database` when it is a name MySQL takes as it is: 1 to 64 ASCII letters, digits and
/// underscores.
fn checked_database(database: &str) -> Result<&str, sqlx::Error> {
    let valid = !database.is_empty()
        && database.len() <= DATABASE_LENGTH_MAX
        && database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(database)
    } else {
        Err(sqlx::Error::Configuration(
            format!(
                "database name {database:?}: 1 to {DATABASE_LENGTH_MAX} ASCII letters, digits \
                 and underscores"
            )
            .into(),
        ))
    }
}

/// The embedded MySQL migrations (`migrations-mysql/`), numbered as in the other
/// backends.
pub static MYSQL_MIGRATOR: Migrator = sqlx::migrate!("./migrations-mysql");

/// What [`MySqlStore::pool_options`] sets on each new connection: `READ COMMITTED`
/// (locking reads see the latest committed row, and no gap locks are taken, so units on
/// different SKUs never wait on each other), and strict SQL mode (a value out of range
/// is an error, never silently clipped).
pub const MYSQL_SESSION_SETTINGS: &str = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; \
     SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION')";

/// How long a connection handed back to the pool may take to answer a ping before it
/// is dropped ([`MySqlStore::pool_options`]).
pub const RELEASE_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// An inventory store in a MySQL or MariaDB database, over a connection pool. Clones
/// share the pool; several processes may share the database.
///
/// A reserve, a lifecycle step or a stock movement runs optimistically, in two round
/// trips: one multi-statement text reads what it decides on without locks; a second
/// runs `START TRANSACTION`, a guard (a block that locks the reservations read in id
/// order and every stock row of the SKUs read in key order, and signals SQLSTATE
/// `40001` unless each is as it was read and no row of those SKUs appeared), the
/// writes (one multi-row statement per table) and `COMMIT`. A unit whose guard fails
/// is run again by the core, locking: a transaction at `READ COMMITTED` whose reads
/// are `SELECT ... FOR UPDATE` (purchase orders, then reservations in id order, then
/// every stock row of every SKU involved in key order), its writes, then `COMMIT`;
/// other commands (purchasing, counting, transfers, sweeps) always run so. Deadlocks
/// (1213), lock wait timeouts (1205), duplicate keys from a concurrent insert (1062), a
/// Galera certification failure and a node that is not ready (1047) are retried whole
/// by the core; a connection lost during `COMMIT`, or during an optimistic unit's
/// write (which ends with its `COMMIT`), is reported as unknown
/// ([`StoreError::Unavailable`]), never retried blindly.
///
/// Identifiers are compared exactly (utf8mb4, binary collation: `sku-a` and `SKU-A`
/// are two SKUs), times are UTC with microseconds, prices exact decimals.
///
/// ```no_run
/// use inventory_core::Inventory;
/// use inventory_sqlx::MySqlStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MySqlStore::connect("mysql://root@127.0.0.1:3306/shop").await?;
/// store.migrate().await?;
/// let inventory = Inventory::new(store);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    /// The servers of a URL that names several, and the one in use.
    nodes: Option<Arc<Nodes<MySql>>>,
    /// Whether a unit sends each statement in a round trip of its own (Galera).
    one_per_trip: bool,
}

/// Whether a server takes writes: not read-only and, on a Galera node, ready (synced
/// with a primary component).
fn mysql_takes_writes(connection: &mut MySqlConnection) -> Answer<'_> {
    Box::pin(async move {
        let ready: Option<(String, String)> =
            sqlx::query_as("SHOW GLOBAL STATUS LIKE 'wsrep_ready'")
                .fetch_optional(&mut *connection)
                .await?;
        if ready.is_some_and(|(_, value)| !value.eq_ignore_ascii_case("ON")) {
            return Ok(false);
        }
        let read_only: i64 = sqlx::query_scalar("SELECT @@global.read_only + 0")
            .fetch_one(&mut *connection)
            .await?;
        Ok(read_only == 0)
    })
}

/// A server's name for messages: `mysql://host:port/database`, no password.
fn mysql_server_name(options: &MySqlConnectOptions, database: &str) -> String {
    format!(
        "mysql://{}:{}/{database}",
        options.get_host(),
        options.get_port()
    )
}

impl MySqlStore {
    /// A store on an existing pool, whose connections must run
    /// [`MYSQL_SESSION_SETTINGS`] (as [`MySqlStore::pool_options`] does). Call
    /// [`MySqlStore::migrate`] once before use.
    pub fn new(pool: MySqlPool) -> Self {
        Self {
            pool,
            nodes: None,
            one_per_trip: false,
        }
    }

    /// Whether a unit sends each statement in a round trip of its own instead of a
    /// unit's statements in one or two texts. [`MySqlStore::connect`] and its kin turn
    /// it on by themselves when the server is a Galera node (`wsrep_on`); turn it on
    /// for a pool of your own on Galera.
    ///
    /// Why: when another node's commit aborts a unit's transaction (Galera's
    /// brute-force abort of a local transaction holding a row a replicated write
    /// needs) while the server runs a statement of a multi-statement text, MariaDB
    /// 10.11 rolls the transaction back without failing the text, and runs the
    /// statements after it one by one in autocommit mode: part of a unit is
    /// committed, and a text ending in `COMMIT` may even answer success for a unit
    /// that was rolled back. With one statement per round trip the aborted statement
    /// (or the next) fails with 1213 and the core runs the unit again. It costs a
    /// round trip per statement (a reservation's unit is then about eight), on Galera
    /// only. See `tests/tests/galera_drill.rs`, which oversold without it.
    pub fn one_statement_per_trip(mut self, on: bool) -> Self {
        self.one_per_trip = on;
        self
    }

    /// Whether units send one statement per round trip
    /// ([`MySqlStore::one_statement_per_trip`]).
    pub fn sends_one_statement_per_trip(&self) -> bool {
        self.one_per_trip
    }

    /// Connects a pool with [`MySqlStore::pool_options`] to the database
    /// [`DEFAULT_DATABASE`] (`inventory`) on the URL's server, created when missing:
    /// the library's tables and migration history stay apart from the app's own in
    /// the URL's database (MySQL's databases are its schemas).
    ///
    /// # Errors
    ///
    /// As [`MySqlStore::connect_in`].
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_in(url, DEFAULT_DATABASE).await
    }

    /// Connects a pool to the database `database` on the URL's server, after a first
    /// connection that fails fast and says why; creates the database (`utf8mb4_bin`)
    /// when missing, which needs the `CREATE` privilege (create it beforehand
    /// otherwise).
    ///
    /// ```no_run
    /// use inventory_sqlx::MySqlStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// // The app's tables are in `shop`; the inventory's in `shop_inventory`.
    /// let store = MySqlStore::connect_in("mysql://app@127.0.0.1:3306/shop", "shop_inventory").await?;
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConnectError`] (which server, and why): a database name that is not 1 to 64
    /// ASCII letters, digits and underscores (its source is
    /// [`sqlx::Error::Configuration`]), a malformed URL, a server that cannot be
    /// reached within [`CONNECT_TIMEOUT`], or a database that cannot be created.
    pub async fn connect_in(url: &str, database: &str) -> Result<Self, ConnectError> {
        let options = Self::pool_options().acquire_timeout(CONNECT_TIMEOUT);
        Self::connect_with(url, options, database).await
    }

    /// Connects a pool built from `pool_options` ([`MySqlStore::pool_options`] with
    /// your own size and timeouts) to the database `database`, as
    /// [`MySqlStore::connect_in`] does.
    ///
    /// The URL may name several servers in preference order, the nodes of a Galera
    /// cluster: `mysql://app@db1:3306,db2:3306,db3:3306/shop`. The store then writes
    /// through the first that takes writes (not read-only, and `wsrep_ready` where the
    /// server is a Galera node). When a unit loses its connection (a node killed, a
    /// node that left the primary component answering 1047), the store checks its node
    /// again in the background and, if it no longer takes writes, moves to the first
    /// that does; units interrupted meanwhile are run again by the core, and pooled
    /// connections to the old node are dropped. It stays there until that node fails
    /// in turn. Give every app server the same order, so that one node takes the
    /// writes: row locks are node-local, and writers of one SKU on several nodes
    /// abort each other at commit (retried, but slowly). This replaces the pool's
    /// `before_acquire` callback.
    ///
    /// ```no_run
    /// use inventory_sqlx::MySqlStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = MySqlStore::pool_options().max_connections(32);
    /// let url = "mysql://app@10.0.0.1:3306,10.0.0.2:3306,10.0.0.3:3306/shop";
    /// let store = MySqlStore::connect_with(url, options, "shop_inventory").await?;
    /// store.migrate().await?;
    /// println!("writing to {}", store.server());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`MySqlStore::connect_in`]; for several servers, also when none takes
    /// writes (each named with its answer).
    pub async fn connect_with(
        url: &str,
        pool_options: MySqlPoolOptions,
        database: &str,
    ) -> Result<Self, ConnectError> {
        let (servers, all) =
            servers_of::<MySql>(url, "mysql", |options| mysql_server_name(options, database))?;
        let fail = |error| ConnectError::new(all.clone(), error);
        let database = checked_database(database).map_err(fail)?;
        let (first, moved) = if servers.len() == 1 {
            (0, None)
        } else {
            let first = first_taking_writes(&servers, mysql_takes_writes).await?;
            (first, Some(Moved::new()))
        };
        let create = format!(
            "CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        );
        let mut galera = false;
        probe(servers[first].name.clone(), async {
            let mut connection = MySqlConnection::connect_with(&servers[first].options).await?;
            // The name was checked: an identifier, quoted.
            connection.execute(sqlx::AssertSqlSafe(create)).await?;
            let wsrep: Option<(String, String)> =
                sqlx::query_as("SHOW GLOBAL VARIABLES LIKE 'wsrep_on'")
                    .fetch_optional(&mut connection)
                    .await?;
            galera = wsrep.is_some_and(|(_, on)| on.eq_ignore_ascii_case("ON"));
            connection.close().await
        })
        .await?;
        let servers: Vec<Server<MySql>> = servers
            .into_iter()
            .map(|server| Server {
                name: server.name,
                options: server.options.database(database),
            })
            .collect();
        let pool = connect_pool(pool_options, moved.as_ref(), &servers[first])
            .await
            .map_err(fail)?;
        let nodes =
            moved.map(|moved| Nodes::new(servers, first, moved, mysql_takes_writes, pool.clone()));
        if galera {
            tracing::info!(
                target: "inventory_sqlx::nodes",
                "Galera node: one statement per round trip"
            );
        }
        Ok(Self {
            pool,
            nodes,
            one_per_trip: galera,
        })
    }

    /// The server the store writes to now (`mysql://host:port/database`): with a URL
    /// naming several, the one it chose or moved to.
    pub fn server(&self) -> String {
        match &self.nodes {
            Some(nodes) => nodes.current().to_owned(),
            None => {
                let options = self.pool.connect_options();
                let database = options.get_database().unwrap_or_default().to_owned();
                mysql_server_name(&options, &database)
            }
        }
    }

    /// The pool settings this store is built for: no liveness query before each
    /// checkout (a connection the server dropped fails its first statement, and the
    /// core runs the unit again on a fresh one), [`MYSQL_SESSION_SETTINGS`] on each new
    /// connection, and a bounded check of each connection handed back.
    ///
    /// That check: a statement whose future is dropped part way (a caller that stops
    /// waiting, a service shutting down) can leave the driver waiting for an answer
    /// that never comes, and the driver's own test of a released connection (a ping
    /// with no time limit) then waits for ever: the connection never returns to the
    /// pool, and closing the pool hangs. A connection that does not answer a ping
    /// within [`RELEASE_CHECK`] is dropped instead.
    ///
    /// ```
    /// use inventory_sqlx::MySqlStore;
    ///
    /// let options = MySqlStore::pool_options().max_connections(16);
    /// assert!(!options.get_test_before_acquire());
    /// ```
    pub fn pool_options() -> MySqlPoolOptions {
        MySqlPoolOptions::new()
            .test_before_acquire(false)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    connection.execute(MYSQL_SESSION_SETTINGS).await?;
                    Ok(())
                })
            })
            .after_release(|connection, _| {
                Box::pin(async move {
                    match tokio::time::timeout(RELEASE_CHECK, connection.ping()).await {
                        Ok(answered) => answered.map(|()| true),
                        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "a released connection did not answer a ping",
                        ))),
                    }
                })
            })
    }

    /// Creates or upgrades the schema with the embedded migrations.
    ///
    /// # Errors
    ///
    /// [`MigrationError`] when a migration fails, or when the database holds a
    /// migration this build does not know (a newer schema).
    pub async fn migrate(&self) -> Result<(), MigrationError> {
        MYSQL_MIGRATOR.run(&self.pool).await?;
        tracing::info!("MySQL schema migrated");
        Ok(())
    }

    /// The pool.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// Runs a statement outside a unit, again while it fails transiently (a broken
    /// connection, a deadlock: the statement was undone whole). Bounded by the pool
    /// size; any other error is returned at once.
    pub(crate) async fn retrying<T, F, Fut>(&self, statement: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>> + Send,
        T: Send,
    {
        let connections = self.pool.options().get_max_connections();
        crate::store::retrying(connections, statement, &|error| self.after(error)).await
    }

    /// After a failure: with several servers, looks for one that takes writes when the
    /// connection broke.
    pub(crate) fn after(&self, error: &StoreError) {
        if let Some(nodes) = &self.nodes {
            nodes.after(error);
        }
    }
}

#[async_trait]
impl Store for MySqlStore {
    type Tx = MySqlTx;

    async fn begin(&self) -> Result<MySqlTx, StoreError> {
        self.begin_with(ReadMode::Locking).await
    }

    async fn begin_with(&self, mode: ReadMode) -> Result<MySqlTx, StoreError> {
        let opened = MySqlTx::open(&self.pool, mode, self.nodes.clone(), self.one_per_trip).await;
        if let Err(error) = &opened {
            self.after(error);
        }
        opened
    }

    async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError> {
        let found = self
            .retrying(|| {
                sqlx::query(concat!(
                    "SELECT location, ",
                    level_columns!(),
                    " FROM stock WHERE sku = ? ORDER BY location"
                ))
                .bind(sku.as_str())
                .fetch_all(&self.pool)
            })
            .await?;
        found.iter().map(rows::location_stock).collect()
    }

    async fn transfer(
        &self,
        id: &inventory_core::TransferId,
    ) -> Result<Option<inventory_core::Transfer>, StoreError> {
        let found: Option<String> = self
            .retrying(|| {
                sqlx::query_scalar("SELECT body FROM transfers WHERE id = ?")
                    .bind(id.as_uuid())
                    .fetch_optional(&self.pool)
            })
            .await?;
        found
            .map(|text| serde_json::from_str(&text).map_err(|e| corrupt("transfer", e)))
            .transpose()
    }

    async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError> {
        let found = self
            .retrying(|| {
                sqlx::query(concat!(
                    "SELECT ",
                    reservation_columns!(),
                    " FROM reservations r WHERE r.id = ?"
                ))
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
            })
            .await?;
        found.as_ref().map(rows::reservation).transpose()
    }

    async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.retrying(|| {
            sqlx::query_scalar("SELECT MIN(expires_at) FROM reservations WHERE status = 'active'")
                .fetch_one(&self.pool)
        })
        .await
    }

    async fn catalog_version(&self) -> Result<u64, StoreError> {
        let version: i64 = self
            .retrying(|| {
                sqlx::query_scalar("SELECT version FROM catalog_version WHERE id = 1")
                    .fetch_one(&self.pool)
            })
            .await?;
        u64::try_from(version).map_err(|error| corrupt("catalog version", error))
    }

    async fn catalog(&self) -> Result<Catalog, StoreError> {
        let rows: Vec<(i64, Option<String>, Option<String>)> = self
            .retrying(|| {
                sqlx::query_as(
                    "SELECT v.version, c.sku, c.settings
                     FROM catalog_version AS v LEFT JOIN catalog AS c ON TRUE
                     WHERE v.id = 1",
                )
                .fetch_all(&self.pool)
            })
            .await?;
        crate::rows::catalog(rows)
    }

    async fn put_sku_settings(
        &self,
        sku: &Sku,
        settings: &SkuSettings,
        expected: u64,
    ) -> Result<u64, StoreError> {
        let body = if settings.is_empty() {
            None
        } else {
            Some(serde_json::to_string(settings).map_err(|e| corrupt("catalog settings", e))?)
        };
        let stale = || StoreError::Conflict("the catalog changed meanwhile".into());
        let expected = i64::try_from(expected).map_err(|_| stale())?;
        let version = self
            .retrying(|| async {
                // The version row is the lock: bumped only from the version decided on.
                let mut tx = self.pool.begin().await?;
                let bumped = sqlx::query(
                    "UPDATE catalog_version SET version = version + 1
                     WHERE id = 1 AND version = ?",
                )
                .bind(expected)
                .execute(&mut *tx)
                .await?;
                if bumped.rows_affected() != 1 {
                    return Ok(None);
                }
                match &body {
                    Some(body) => {
                        sqlx::query(
                            "INSERT INTO catalog (sku, settings) VALUES (?, ?)
                             ON DUPLICATE KEY UPDATE settings = VALUES(settings)",
                        )
                        .bind(sku.as_str())
                        .bind(body)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM catalog WHERE sku = ?")
                            .bind(sku.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                sqlx::query(
                    "INSERT INTO sync_outbox (sku, generation) VALUES (?, 1)
                     ON DUPLICATE KEY UPDATE generation = generation + 1, retry_at = NULL",
                )
                .bind(sku.as_str())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(expected + 1))
            })
            .await?;
        let version = version.ok_or_else(stale)?;
        u64::try_from(version).map_err(|error| corrupt("catalog version", error))
    }
}
