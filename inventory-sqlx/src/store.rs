//! [`PgStore`]: the core's storage traits on PostgreSQL (and PostgreSQL-compatible
//! distributed SQL).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::backend::{AuditStore, ReadMode, Store};
use inventory_core::catalog::{Catalog, SkuSettings};
use inventory_core::inbox::{InboxStore, LineRef};
use inventory_core::{
    LedgerCursor, LedgerEntry, LedgerPage, LedgerQuery, LocationStock, OrderId, Reservation,
    ReservationId, Sku, StockKey, StockLevel, StoreError,
};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, Postgres};

use crate::connect::{probe, ConnectError, MigrationError, CONNECT_TIMEOUT};
use crate::error::{store_error, Phase};
use crate::nodes::{connect_pool, first_taking_writes, servers_of, Answer, Moved, Nodes};
use crate::rows;
use crate::tx::PgTx;

/// The embedded migrations (`migrations/`), numbered as in `inventory-sqlite`.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// What [`PgStore::pool_options`] sets on each new connection: one plan per statement
/// and connection, kept on the indexes.
pub const SESSION_SETTINGS: &str =
    "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off";

/// `schema` when it is an identifier PostgreSQL takes as it is: 1 to 63 ASCII letters,
/// digits and underscores, not starting with a digit.
fn checked_schema(schema: &str) -> Result<&str, sqlx::Error> {
    let mut chars = schema.chars();
    let valid = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && schema.len() <= SCHEMA_LENGTH_MAX;
    if valid {
        Ok(schema)
    } else {
        Err(sqlx::Error::Configuration(
            format!(
                "schema name {schema:?}: 1 to {SCHEMA_LENGTH_MAX} ASCII letters, digits and \
                 underscores, not starting with a digit"
            )
            .into(),
        ))
    }
}

/// The schema version this build's migrations reach: the last embedded migration's.
pub fn schema_version() -> i64 {
    MIGRATOR
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0)
}

pub(crate) fn before(error: sqlx::Error) -> StoreError {
    store_error(error, Phase::BeforeCommit)
}

pub(crate) fn strings(skus: &[Sku]) -> Vec<String> {
    skus.iter().map(ToString::to_string).collect()
}

/// An inventory store in a PostgreSQL database, over a connection pool. Clones share
/// the pool; several processes may share the database.
///
/// A unit first runs optimistically (one read, then one write that locks what was read,
/// checks it is unchanged and writes: two round trips, no `BEGIN`); if something changed
/// in between it runs again locking each row as it reads it (`SELECT ... FOR UPDATE`:
/// reservations in id order, then stock rows in key order). Commands waiting in one
/// process share a unit (group commit, one lane by default), so a hot SKU costs one
/// commit per batch, not per reservation. Connect with [`PgStore::connect`], or build
/// the pool from [`PgStore::pool_options`].
///
/// ```no_run
/// use inventory_core::Inventory;
/// use inventory_sqlx::PgStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PgStore::connect("postgres://postgres@127.0.0.1:5432/shop").await?;
/// store.migrate().await?;
/// let inventory = Inventory::new(store);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The schema the store's connections work in, when the store chose it.
    schema: Option<Arc<str>>,
    /// The servers of a URL that names several, and the one in use.
    nodes: Option<Arc<Nodes<Postgres>>>,
    /// How long a unit's commit may take before its outcome is reported unknown.
    commit_timeout: Option<Duration>,
}

/// How long a unit's commit may take by default before the store stops waiting and
/// reports its outcome unknown ([`PgStore::with_commit_timeout`]).
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a server takes writes: a primary, not in recovery, not read-only (what
/// libpq's `target_session_attrs=read-write` asks).
fn pg_takes_writes(connection: &mut PgConnection) -> Answer<'_> {
    Box::pin(async move {
        sqlx::query_scalar(
            "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'",
        )
        .fetch_one(connection)
        .await
    })
}

/// A server's name for messages: `postgres://host:port/database`, no password.
fn pg_server_name(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

/// The schema of the library's tables (and of its migration history) when connecting
/// with [`PgStore::connect`]: apart from an app's own tables in `public`.
pub const DEFAULT_SCHEMA: &str = "inventory";

/// Longest schema name PostgreSQL keeps whole.
const SCHEMA_LENGTH_MAX: usize = 63;

impl PgStore {
    /// A store on an existing pool, whose tables are wherever the pool's `search_path`
    /// puts them (`public` by default). Call [`PgStore::migrate`] once before use. To
    /// keep them in a schema of their own, build the pool from
    /// [`PgStore::pool_options_in`] and use [`PgStore::in_schema`].
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            schema: None,
            nodes: None,
            commit_timeout: Some(COMMIT_TIMEOUT),
        }
    }

    /// A store on a pool built from [`PgStore::pool_options_in`]`(schema)`:
    /// [`PgStore::migrate`] creates the schema when it is missing.
    ///
    /// # Errors
    ///
    /// [`sqlx::Error::Configuration`] for a schema name that is not 1 to 63 ASCII
    /// letters, digits and underscores, starting with a letter or underscore.
    pub fn in_schema(pool: PgPool, schema: &str) -> Result<Self, sqlx::Error> {
        Ok(Self {
            pool,
            schema: Some(checked_schema(schema)?.into()),
            nodes: None,
            commit_timeout: Some(COMMIT_TIMEOUT),
        })
    }

    /// Connects a pool whose tables live in the schema [`DEFAULT_SCHEMA`]
    /// (`inventory`), with its own migration history, so the library shares a
    /// database with an app's own tables and sqlx migrations.
    ///
    /// # Errors
    ///
    /// [`ConnectError`] (which server, and why) when the URL is malformed or the
    /// server cannot be reached within [`CONNECT_TIMEOUT`].
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_in(url, DEFAULT_SCHEMA).await
    }

    /// Connects a pool whose tables live in `schema` (created by
    /// [`PgStore::migrate`] when missing).
    ///
    /// ```no_run
    /// use inventory_sqlx::PgStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PgStore::connect_in("postgres://postgres@127.0.0.1:5432/shop", "stock").await?;
    /// store.migrate().await?; // creates schema "stock" and its tables
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConnectError`]: a schema name that is not an identifier (see
    /// [`PgStore::in_schema`]; its source is [`sqlx::Error::Configuration`]), a
    /// malformed URL, or a server that cannot be reached within [`CONNECT_TIMEOUT`].
    pub async fn connect_in(url: &str, schema: &str) -> Result<Self, ConnectError> {
        let options = Self::pool_options_in(schema)
            .map_err(|error| ConnectError::new("postgres://(schema)".to_owned(), error))?
            .acquire_timeout(CONNECT_TIMEOUT);
        Self::connect_with(url, options, Some(schema)).await
    }

    /// Connects a pool built from `pool_options` ([`PgStore::pool_options_in`]`(schema)`
    /// with your own size and timeouts, or [`PgStore::pool_options`] with `schema`
    /// `None`), after a first connection that fails fast and says why.
    ///
    /// The URL may name several servers, a primary and its standbys in preference
    /// order: `postgres://app@db1:5432,db2:5432/shop`. The store then uses the first
    /// that takes writes (not in recovery, not read-only: libpq's
    /// `target_session_attrs=read-write`). When a unit loses its connection, the store
    /// checks its server again in the background and, if it no longer takes writes,
    /// moves to the first that does (a promoted standby); units interrupted meanwhile
    /// are run again by the core, and pooled connections to the old server are dropped.
    /// Once moved, the store stays: it never moves back on its own, so a failed
    /// primary restarted as a primary beside the promoted standby must be fenced off
    /// (or left out of the URL) before it takes connections. This replaces the pool's
    /// `before_acquire` callback.
    ///
    /// ```no_run
    /// use inventory_sqlx::PgStore;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = PgStore::pool_options_in("inventory")?.max_connections(32);
    /// let url = "postgres://app@10.0.0.1:5432,10.0.0.2:5432/shop";
    /// let store = PgStore::connect_with(url, options, Some("inventory")).await?;
    /// store.migrate().await?;
    /// println!("writing to {}", store.server());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConnectError`]: a schema name that is not an identifier, a malformed URL, a
    /// server that cannot be reached within [`CONNECT_TIMEOUT`], or, for several
    /// servers, none that takes writes (each named with its answer).
    pub async fn connect_with(
        url: &str,
        pool_options: PgPoolOptions,
        schema: Option<&str>,
    ) -> Result<Self, ConnectError> {
        let (servers, all) = servers_of::<Postgres>(url, "postgres", pg_server_name)?;
        let fail = |error| ConnectError::new(all.clone(), error);
        let schema = schema.map(checked_schema).transpose().map_err(fail)?;
        let (first, moved) = if let [server] = servers.as_slice() {
            probe(all.clone(), async {
                PgConnection::connect_with(&server.options)
                    .await?
                    .close()
                    .await
            })
            .await?;
            (0, None)
        } else {
            let first = first_taking_writes(&servers, pg_takes_writes).await?;
            (first, Some(Moved::new()))
        };
        let pool = connect_pool(pool_options, moved.as_ref(), &servers[first])
            .await
            .map_err(fail)?;
        let nodes =
            moved.map(|moved| Nodes::new(servers, first, moved, pg_takes_writes, pool.clone()));
        Ok(Self {
            pool,
            schema: schema.map(Into::into),
            nodes,
            commit_timeout: Some(COMMIT_TIMEOUT),
        })
    }

    /// How long a unit's commit may take before the store stops waiting and reports
    /// its outcome unknown ([`StoreError::Unavailable`]; the caller resends under the
    /// same key, which applies it once); `None` waits for ever. [`COMMIT_TIMEOUT`]
    /// (30 s) by default.
    ///
    /// It bounds what nothing on the server bounds: with `synchronous_commit` at `on`
    /// or above and its synchronous standby gone, PostgreSQL waits for ever for the
    /// standby, and `statement_timeout` does not end that wait. The connection of a
    /// commit given up on is closed; on the server the transaction goes on waiting
    /// (holding its row locks, so writers of those rows wait too) until a standby
    /// returns or `synchronous_standby_names` is changed.
    #[must_use]
    pub fn with_commit_timeout(mut self, limit: Option<Duration>) -> Self {
        self.commit_timeout = limit;
        self
    }

    /// The server the store writes to now (`postgres://host:port/database`): with a
    /// URL naming several, the one it chose or moved to.
    pub fn server(&self) -> String {
        match &self.nodes {
            Some(nodes) => nodes.current().to_owned(),
            None => pg_server_name(&self.pool.connect_options()),
        }
    }

    /// The schema the store chose for its tables ([`PgStore::connect`],
    /// [`PgStore::in_schema`]); `None` for a pool of [`PgStore::new`].
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// [`PgStore::pool_options`], with every new connection working in `schema`
    /// (`SET search_path`): the store's tables and migration history live there.
    ///
    /// # Errors
    ///
    /// [`sqlx::Error::Configuration`] for a schema name that is not an identifier (see
    /// [`PgStore::in_schema`]).
    pub fn pool_options_in(schema: &str) -> Result<PgPoolOptions, sqlx::Error> {
        let set = format!(
            "{SESSION_SETTINGS}; SET search_path TO \"{}\"",
            checked_schema(schema)?
        );
        Ok(PgPoolOptions::new()
            .test_before_acquire(false)
            .after_connect(move |connection, _| {
                let set = set.clone();
                Box::pin(async move {
                    connection.execute(sqlx::AssertSqlSafe(set)).await?;
                    Ok(())
                })
            }))
    }

    /// The pool settings this store is measured with, to start a pool of your own from:
    ///
    /// - no liveness query before each checkout (sqlx's default sends one, a round trip
    ///   per command). A connection the server dropped fails its first statement
    ///   instead, and the core runs the unit again on a fresh connection;
    /// - each new connection plans a statement once ([`SESSION_SETTINGS`]):
    ///   PostgreSQL otherwise plans every execution of a statement whose custom plan
    ///   looks cheaper than its generic one (about half a millisecond for the write),
    ///   and a generic plan it does keep is costed on the table sizes of that moment.
    ///   With sequential scans priced out, the one plan stays on the indexes whatever
    ///   the statistics say, at any table size. Whole-table reads (audits) still scan.
    ///
    /// ```
    /// use inventory_sqlx::PgStore;
    ///
    /// let options = PgStore::pool_options().max_connections(16);
    /// assert!(!options.get_test_before_acquire());
    /// ```
    pub fn pool_options() -> PgPoolOptions {
        PgPoolOptions::new()
            .test_before_acquire(false)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    connection.execute(SESSION_SETTINGS).await?;
                    Ok(())
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
        if let Some(schema) = &self.schema {
            // The name was checked: an identifier, quoted.
            let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            self.pool
                .execute(sqlx::AssertSqlSafe(create))
                .await
                .map_err(MigrateError::Execute)?;
        }
        MIGRATOR.run(&self.pool).await?;
        tracing::info!(
            schema = self.schema(),
            version = schema_version(),
            "PostgreSQL schema migrated"
        );
        Ok(())
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs a statement outside a unit (a plain read, an idempotent upsert or release),
    /// again while it fails transiently: on another connection when its connection
    /// turns out broken (with no liveness query before checkout, a connection the
    /// server dropped while idle fails its first statement, and the pool discards it),
    /// or at once after a deadlock or serialization failure (the statement was undone
    /// whole). Bounded by the pool size; any other error is returned at once.
    pub(crate) async fn retrying<T, F, Fut>(&self, statement: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>> + Send,
        T: Send,
    {
        let connections = self.pool.options().get_max_connections();
        retrying(connections, statement, &|error| self.after(error)).await
    }

    /// After a failure: with several servers, looks for one that takes writes when the
    /// connection broke.
    pub(crate) fn after(&self, error: &StoreError) {
        if let Some(nodes) = &self.nodes {
            nodes.after(error);
        }
    }
}

/// Runs `statement` again while it fails transiently, at most once per pooled
/// connection and once more (every connection may have been dropped by the server);
/// `failed` sees each failure.
pub(crate) async fn retrying<T, F, Fut>(
    connections: u32,
    statement: F,
    failed: &(dyn Fn(&StoreError) + Sync),
) -> Result<T, StoreError>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>> + Send,
    T: Send,
{
    let tries = connections.saturating_add(1);
    let mut tried = 1;
    loop {
        let done = statement().await.map_err(before);
        if let Err(error) = &done {
            failed(error);
        }
        match done {
            Err(error @ (StoreError::Interrupted(_) | StoreError::Conflict(_)))
                if tried < tries =>
            {
                tracing::debug!(tried, %error, "statement failed transiently; running it again");
                tried += 1;
            }
            done => return done,
        }
    }
}

#[async_trait]
impl Store for PgStore {
    type Tx = PgTx;

    async fn begin(&self) -> Result<PgTx, StoreError> {
        self.begin_with(ReadMode::Locking).await
    }

    async fn begin_with(&self, mode: ReadMode) -> Result<PgTx, StoreError> {
        let opened = PgTx::open(&self.pool, mode, self.nodes.clone(), self.commit_timeout).await;
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
                    rows::level_columns!(),
                    " FROM stock WHERE sku = $1"
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
                sqlx::query_scalar(rows::SELECT_TRANSFER)
                    .bind(id.as_uuid())
                    .fetch_optional(&self.pool)
            })
            .await?;
        let found: Vec<String> = found.into_iter().collect();
        Ok(rows::decode_bodies(&found, "transfer")?.into_iter().next())
    }

    async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError> {
        let found = self
            .retrying(|| {
                sqlx::query(rows::SELECT_RESERVATION)
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
        u64::try_from(version).map_err(|error| crate::error::corrupt("catalog version", error))
    }

    async fn catalog(&self) -> Result<Catalog, StoreError> {
        let rows: Vec<(i64, Option<String>, Option<String>)> = self
            .retrying(|| {
                sqlx::query_as(
                    "SELECT v.version, c.sku, c.settings::text
                     FROM catalog_version AS v LEFT JOIN catalog AS c ON true
                     WHERE v.id = 1",
                )
                .fetch_all(&self.pool)
            })
            .await?;
        rows::catalog(rows)
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
            Some(sqlx::types::Json(settings))
        };
        let expected = i64::try_from(expected)
            .map_err(|_| StoreError::Conflict("the catalog changed meanwhile".into()))?;
        let version: Option<i64> = self
            .retrying(|| {
                sqlx::query_scalar(rows::PUT_SKU_SETTINGS)
                    .bind(sku.as_str())
                    .bind(body)
                    .bind(expected)
                    .fetch_optional(&self.pool)
            })
            .await?;
        let version =
            version.ok_or_else(|| StoreError::Conflict("the catalog changed meanwhile".into()))?;
        u64::try_from(version).map_err(|error| crate::error::corrupt("catalog version", error))
    }
}

#[async_trait]
impl InboxStore for PgStore {
    async fn handled(&self, source: &str, id: &str) -> Result<bool, StoreError> {
        self.retrying(|| {
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM inbox WHERE source = $1 AND id = $2)")
                .bind(source)
                .bind(id)
                .fetch_one(&self.pool)
        })
        .await
    }

    async fn record_handled(
        &self,
        source: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = self
            .retrying(|| {
                sqlx::query(
                    "INSERT INTO inbox (source, id, handled_at) VALUES ($1, $2, $3)
                     ON CONFLICT (source, id) DO NOTHING",
                )
                .bind(source)
                .bind(id)
                .bind(at)
                .execute(&self.pool)
            })
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn forget_handled_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = self
            .retrying(|| {
                sqlx::query("DELETE FROM inbox WHERE handled_at < $1")
                    .bind(before)
                    .execute(&self.pool)
            })
            .await?;
        Ok(done.rows_affected())
    }

    async fn record_lines(&self, order: &OrderId, lines: &[LineRef]) -> Result<u64, StoreError> {
        if lines.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = lines.iter().map(|line| line.line.as_str()).collect();
        let skus: Vec<&str> = lines.iter().map(|line| line.sku.as_str()).collect();
        // One statement: all lines or none.
        let done = self
            .retrying(|| {
                sqlx::query(
                    "INSERT INTO order_lines (order_id, line_id, sku)
                     SELECT $1, line_id, sku FROM UNNEST($2::text[], $3::text[]) AS l (line_id, sku)
                     ON CONFLICT (order_id, line_id) DO NOTHING",
                )
                .bind(order.as_str())
                .bind(&ids)
                .bind(&skus)
                .execute(&self.pool)
            })
            .await?;
        Ok(done.rows_affected())
    }

    async fn lines_of(&self, order: &OrderId) -> Result<Vec<LineRef>, StoreError> {
        let found: Vec<(String, String)> = self
            .retrying(|| {
                sqlx::query_as(
                    "SELECT line_id, sku FROM order_lines WHERE order_id = $1
                     ORDER BY line_id COLLATE \"C\"",
                )
                .bind(order.as_str())
                .fetch_all(&self.pool)
            })
            .await?;
        found
            .into_iter()
            .map(|(line, sku)| LineRef::read_back(line, sku))
            .collect()
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>, StoreError> {
        let found = self
            .retrying(|| {
                sqlx::query(concat!(
                    "SELECT sku, location, ",
                    rows::level_columns!(),
                    ", version FROM stock"
                ))
                .fetch_all(&self.pool)
            })
            .await?;
        found
            .iter()
            .map(|row| rows::stock_row(row).map(|(key, level, _)| (key, level)))
            .collect()
    }

    async fn all_reservations(&self) -> Result<Vec<Reservation>, StoreError> {
        let found = self
            .retrying(|| sqlx::query(rows::SELECT_ALL_RESERVATIONS).fetch_all(&self.pool))
            .await?;
        let mut all = found
            .iter()
            .map(rows::reservation)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by_key(|reservation| reservation.id);
        Ok(all)
    }

    async fn ledger(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        let found = self
            .retrying(|| sqlx::query(rows::SELECT_LEDGER).fetch_all(&self.pool))
            .await?;
        let mut entries = found
            .iter()
            .map(rows::ledger_entry)
            .collect::<Result<Vec<_>, _>>()?;
        // Per row in version order (as selected); rows in the core's key order.
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }

    async fn ledger_page(&self, query: &LedgerQuery) -> Result<LedgerPage, StoreError> {
        // Only the filters given, so each uses its index (the row's key, `ledger_by_time`,
        // `ledger_by_reference`); SKUs and locations compare byte-wise ("C"), as the
        // core's cursor orders them.
        let mut conditions: Vec<String> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut times: Vec<DateTime<Utc>> = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let mut order: Vec<char> = Vec::new();
        if let Some(sku) = &query.sku {
            conditions.push(format!("sku = {}", next()));
            texts.push(sku.to_string());
            order.push('t');
        }
        if let Some(location) = &query.location {
            conditions.push(format!("location = {}", next()));
            texts.push(location.to_string());
            order.push('t');
        }
        if let Some(since) = query.since {
            conditions.push(format!("at >= {}", next()));
            times.push(since);
            order.push('a');
        }
        if let Some(until) = query.until {
            conditions.push(format!("at < {}", next()));
            times.push(until);
            order.push('a');
        }
        if let Some(reference) = &query.reference {
            conditions.push(format!("reference = {}", next()));
            texts.push(reference.clone());
            order.push('t');
        }
        let mut after_seq = None;
        if let Some(after) = &query.after {
            let (at, sku, location, seq) = (next(), next(), next(), next());
            conditions.push(format!(
                "ROW(at, sku COLLATE \"C\", location COLLATE \"C\", version) \
                 < ROW({at}::timestamptz, {sku}::text, {location}::text, {seq}::int8)"
            ));
            times.push(after.at);
            texts.push(after.sku.to_string());
            texts.push(after.location.to_string());
            order.extend(['a', 't', 't', 's']);
            after_seq = Some(after.seq);
        }
        let condition = if conditions.is_empty() {
            "TRUE".to_owned()
        } else {
            conditions.join(" AND ")
        };
        let sql = format!(
            "{}WHERE {condition} \
             ORDER BY at DESC, sku COLLATE \"C\" DESC, location COLLATE \"C\" DESC, version DESC \
             LIMIT {}",
            rows::SELECT_LEDGER_COLUMNS,
            query.page_size() + 1
        );
        let found = self
            .retrying(|| {
                let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                let (mut texts, mut times) = (texts.iter(), times.iter());
                for kind in &order {
                    statement = match kind {
                        't' => statement.bind(texts.next().cloned()),
                        'a' => statement.bind(times.next().copied()),
                        _ => statement.bind(after_seq),
                    };
                }
                statement.fetch_all(&self.pool)
            })
            .await?;
        let positioned = found
            .iter()
            .map(|row| {
                let entry = rows::ledger_entry(row)?;
                let position = LedgerCursor {
                    at: entry.at,
                    sku: entry.key.sku.clone(),
                    location: entry.key.location.clone(),
                    seq: rows::ledger_version(row)?,
                };
                Ok((position, entry))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(LedgerPage::of(query, positioned))
    }
}
