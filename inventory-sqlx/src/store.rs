//! [`PgStore`]: the core's storage traits on PostgreSQL (and PostgreSQL-compatible
//! distributed SQL).

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::decide::{Changes, LoadPlan, Snapshot};
use inventory_core::{
    assemble, by_key, skus_to_lock, AuditStore, LedgerEntry, LocationStock, ReadMode, Reservation,
    ReservationId, Sku, StockKey, StockLevel, Store, StoreError, StoreTx,
};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, Postgres, Transaction};
use uuid::Uuid;

use crate::error::{store_error, Phase};
use crate::read;
use crate::rows;
use crate::write::{self, Guard};

/// The embedded migrations (`migrations/`), numbered as in `inventory-sqlite`.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// What [`PgStore::pool_options`] sets on each new connection: one plan per statement
/// and connection, kept on the indexes.
pub const SESSION_SETTINGS: &str =
    "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off";

/// The schema version this build's migrations reach.
pub const SCHEMA_VERSION: i64 = 8;

pub(crate) fn before(error: sqlx::Error) -> StoreError {
    store_error(error, Phase::BeforeCommit)
}

pub(crate) fn strings(skus: &[Sku]) -> Vec<String> {
    skus.iter().map(ToString::to_string).collect()
}

/// An inventory store in a PostgreSQL database, over a connection pool. Clones share
/// the pool; several processes may share the database.
///
/// Each unit locks exactly the rows it reads (`SELECT ... FOR UPDATE`: reservations in
/// id order, then stock rows in key order) and writes everything in one statement.
/// Commands waiting in one process share a transaction (group commit, one lane by
/// default), so a hot SKU costs one commit per batch, not per reservation. Measured on
/// a 2-core machine, fewer and larger transactions beat many small parallel ones even
/// across 10,000 SKUs; a bigger server may profit from more lanes
/// (`Inventory::with_group_commit`).
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
}

impl PgStore {
    /// A store on an existing pool. Call [`PgStore::migrate`] once before use.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Connects a pool with [`PgStore::pool_options`].
    ///
    /// # Errors
    ///
    /// The driver's error when the URL is malformed or the database cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        Ok(Self::new(Self::pool_options().connect(url).await?))
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
    /// [`MigrateError`] when a migration fails, or when the database holds a migration
    /// this build does not know (a newer schema).
    pub async fn migrate(&self) -> Result<(), MigrateError> {
        MIGRATOR.run(&self.pool).await
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs a statement outside a unit (a plain read, an idempotent upsert), again on
    /// another connection while its connection turns out broken: with no liveness query
    /// before checkout, a connection the server dropped while idle fails its first
    /// statement, and the pool discards it. Bounded by the pool size (each try uses up
    /// one dead connection); any other error is returned at once.
    pub(crate) async fn retrying<T, F, Fut>(&self, statement: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>> + Send,
        T: Send,
    {
        let tries = self.pool.options().get_max_connections().saturating_add(1);
        let mut tried = 1;
        loop {
            match statement().await.map_err(before) {
                Err(StoreError::Interrupted(_)) if tried < tries => tried += 1,
                done => return done,
            }
        }
    }
}

/// A unit of work on one pooled connection. Dropping it before the commit writes
/// nothing.
///
/// A locking unit ([`ReadMode::Locking`], what [`Store::begin`] opens) is a
/// transaction: `BEGIN`, locking reads, one write statement, `COMMIT`. An optimistic
/// unit ([`ReadMode::Optimistic`]) needs no transaction around it: one read statement,
/// then at commit one write statement that locks what was read, checks it is unchanged
/// and writes, atomically (it fails with a serialization failure, and writes nothing,
/// when something changed).
#[derive(Debug)]
pub struct PgTx {
    connection: Connection,
    /// Version of each stock row the unit loaded (or wrote); rows absent are new.
    versions: HashMap<StockKey, i64>,
    /// Reservations the unit loaded (or wrote); others are new.
    known: HashSet<ReservationId>,
}

#[derive(Debug)]
enum Connection {
    Locking(Transaction<'static, Postgres>),
    /// An optimistic unit before its read.
    Unopened(PgPool),
    Optimistic {
        connection: PoolConnection<Postgres>,
        /// What the read found, checked by the write.
        guard: Box<Guard>,
        /// The write, sent at commit.
        pending: Option<Box<(String, PgArguments)>>,
    },
}

impl Connection {
    /// The connection of an opened unit.
    fn get(&mut self) -> Result<&mut PgConnection, StoreError> {
        match self {
            Self::Locking(tx) => Ok(tx),
            Self::Optimistic { connection, .. } => Ok(connection),
            Self::Unopened(_) => Err(StoreError::Backend(
                "an optimistic unit has no connection before its read".into(),
            )),
        }
    }
}

impl PgTx {
    /// The server process id of this unit's connection, for diagnostics (and for
    /// fault tests that terminate it).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the query fails.
    pub async fn backend_pid(&mut self) -> Result<i32, StoreError> {
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(self.connection.get()?)
            .await
            .map_err(before)
    }

    async fn lock_investigations(
        &mut self,
        ids: &[inventory_core::counting::InvestigationId],
        open_of: &[Sku],
    ) -> Result<Vec<inventory_core::counting::Investigation>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let bodies: Vec<String> = sqlx::query_scalar(rows::LOCK_INVESTIGATIONS)
            .bind(ids)
            .bind(strings(open_of))
            .fetch_all(self.connection.get()?)
            .await
            .map_err(before)?;
        rows::decode_bodies(&bodies, "investigation")
    }

    async fn lock_reservations(
        &mut self,
        plan: &LoadPlan,
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError> {
        let ids: Vec<Uuid> = plan.reservations.iter().map(|id| id.as_uuid()).collect();
        let overdue_skus = if plan.overdue_holds {
            strings(&plan.skus)
        } else {
            Vec::new()
        };
        let mut held = Vec::new();
        if !ids.is_empty() || !overdue_skus.is_empty() {
            let found = sqlx::query(rows::LOCK_RESERVATIONS)
                .bind(ids)
                .bind(overdue_skus)
                .bind(now)
                .fetch_all(self.connection.get()?)
                .await
                .map_err(before)?;
            for row in &found {
                held.push(rows::reservation(row)?);
            }
        }
        if !plan.holders_of.is_empty() {
            let found = sqlx::query(rows::LOCK_HOLDERS)
                .bind(strings(&plan.holders_of))
                .fetch_all(self.connection.get()?)
                .await
                .map_err(before)?;
            for row in &found {
                held.push(rows::reservation(row)?);
            }
        }
        if let Some(limit) = plan.due_holds {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let found = sqlx::query(rows::LOCK_DUE_HOLDS)
                .bind(now)
                .bind(limit)
                .fetch_all(self.connection.get()?)
                .await
                .map_err(before)?;
            for row in &found {
                held.push(rows::reservation(row)?);
            }
        }
        Ok(held)
    }
}

#[async_trait]
impl Store for PgStore {
    type Tx = PgTx;

    async fn begin(&self) -> Result<PgTx, StoreError> {
        self.begin_with(ReadMode::Locking).await
    }

    async fn begin_with(&self, mode: ReadMode) -> Result<PgTx, StoreError> {
        let connection = match mode {
            ReadMode::Locking => Connection::Locking(self.pool.begin().await.map_err(before)?),
            ReadMode::Optimistic => Connection::Unopened(self.pool.clone()),
        };
        Ok(PgTx {
            connection,
            versions: HashMap::new(),
            known: HashSet::new(),
        })
    }

    async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError> {
        let found = self
            .retrying(|| {
                sqlx::query(
            "SELECT location, on_hand, reserved, committed, in_transit FROM stock WHERE sku = $1",
        )
        .bind(sku.as_str())
        .fetch_all(&self.pool)
            })
            .await?;
        found.iter().map(rows::location_stock).collect()
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
}

#[async_trait]
impl StoreTx for PgTx {
    async fn load(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
        if let Connection::Unopened(pool) = &self.connection {
            if plan.reads_are_guarded() {
                let mut connection = pool.acquire().await.map_err(before)?;
                let found = read::read(&mut connection, plan, now).await?;
                self.known
                    .extend(found.snapshot.reservations.keys().copied());
                self.versions = found.versions;
                self.connection = Connection::Optimistic {
                    connection,
                    guard: Box::new(found.guard),
                    pending: None,
                };
                return Ok(found.snapshot);
            }
            // A plan the write cannot guard is read as a locking unit reads it.
            self.connection = Connection::Locking(pool.begin().await.map_err(before)?);
        }
        let mut orders = Vec::new();
        if !plan.purchase_orders.is_empty() || !plan.open_drafts.is_empty() {
            let ids: Vec<Uuid> = plan.purchase_orders.iter().map(|id| id.as_uuid()).collect();
            let suppliers: Vec<String> = plan.open_drafts.iter().map(ToString::to_string).collect();
            let found = sqlx::query(rows::LOCK_PURCHASE_ORDERS)
                .bind(ids)
                .bind(suppliers)
                .fetch_all(self.connection.get()?)
                .await
                .map_err(before)?;
            for row in &found {
                orders.push(rows::purchase_order(row)?);
            }
        }
        let held = self.lock_reservations(plan, now).await?;
        let named = if plan.investigations.is_empty() {
            Vec::new()
        } else {
            self.lock_investigations(&plan.investigations, &[]).await?
        };
        let mut skus = skus_to_lock(plan, &held, &orders);
        skus.extend(named.iter().map(|investigation| investigation.sku.clone()));
        skus.sort();
        skus.dedup();
        let mut stock = Vec::new();
        if !skus.is_empty() {
            let found = sqlx::query(rows::LOCK_STOCK)
                .bind(strings(&skus))
                .fetch_all(self.connection.get()?)
                .await
                .map_err(before)?;
            for row in &found {
                let (key, level, version) = rows::stock_row(row)?;
                self.versions.insert(key.clone(), version);
                stock.push((key, level));
            }
        }
        self.known
            .extend(held.iter().map(|reservation| reservation.id));
        let open = if skus.is_empty() {
            Vec::new()
        } else {
            self.lock_investigations(&[], &skus).await?
        };
        let mut snapshot = assemble(held, stock, orders);
        snapshot.investigations = named.into_iter().chain(open).map(|i| (i.id, i)).collect();
        if !plan.idempotency_keys.is_empty() {
            // Read after the stock rows are locked: a unit that used the key on the
            // same row has committed by now.
            let keys: Vec<String> = plan
                .idempotency_keys
                .iter()
                .map(ToString::to_string)
                .collect();
            let found = sqlx::query(rows::SELECT_KEYED)
                .bind(keys)
                .fetch_all(self.connection.get()?)
                .await
                .map_err(before)?;
            let entries = found
                .iter()
                .map(rows::ledger_entry)
                .collect::<Result<Vec<_>, StoreError>>()?;
            snapshot.keyed = by_key(entries);
        }
        Ok(snapshot)
    }

    async fn persist(&mut self, changes: &Changes) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        match &mut self.connection {
            Connection::Locking(tx) => {
                let (text, arguments) =
                    write::statement(changes, &mut self.versions, &mut self.known, None)?;
                sqlx::query_with(AssertSqlSafe(text), arguments)
                    .execute(&mut **tx)
                    .await
                    .map_err(before)?;
            }
            Connection::Optimistic { guard, pending, .. } => {
                if pending.is_some() {
                    return Err(StoreError::Backend(
                        "an optimistic unit writes once: persist its changes together".into(),
                    ));
                }
                *pending = Some(Box::new(write::statement(
                    changes,
                    &mut self.versions,
                    &mut self.known,
                    Some(guard),
                )?));
            }
            Connection::Unopened(_) => {
                return Err(StoreError::Backend(
                    "an optimistic unit persists only what it decided on a read".into(),
                ))
            }
        }
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        match self.connection {
            Connection::Locking(tx) => tx
                .commit()
                .await
                .map_err(|error| store_error(error, Phase::Commit)),
            Connection::Optimistic {
                mut connection,
                pending: Some(pending),
                ..
            } => {
                let (text, arguments) = *pending;
                // One statement commits on its own: a broken connection leaves it
                // unknown whether it did.
                sqlx::query_with(AssertSqlSafe(text), arguments)
                    .execute(&mut *connection)
                    .await
                    .map_err(|error| store_error(error, Phase::Commit))?;
                Ok(())
            }
            Connection::Optimistic { pending: None, .. } | Connection::Unopened(_) => Ok(()),
        }
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>, StoreError> {
        let found = self
            .retrying(|| {
                sqlx::query(
            "SELECT sku, location, on_hand, reserved, committed, in_transit, version FROM stock",
        )
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
}
