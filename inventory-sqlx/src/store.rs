//! [`PgStore`]: the core's storage traits on PostgreSQL (and PostgreSQL-compatible
//! distributed SQL).

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::decide::{Changes, LoadPlan, Snapshot};
use inventory_core::{
    assemble, by_key, skus_to_lock, AuditStore, LedgerEntry, LocationStock, Reservation,
    ReservationId, Sku, StockKey, StockLevel, Store, StoreError, StoreTx,
};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use crate::error::{store_error, Phase};
use crate::rows;
use crate::write;

/// The embedded migrations (`migrations/`), numbered as in `inventory-sqlite`.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// The schema version this build's migrations reach.
pub const SCHEMA_VERSION: i64 = 7;

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

    /// Connects a pool with default settings.
    ///
    /// # Errors
    ///
    /// The driver's error when the database cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        Ok(Self::new(PgPool::connect(url).await?))
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
}

/// A transaction on one pooled connection. Dropping it rolls back.
#[derive(Debug)]
pub struct PgTx {
    tx: Transaction<'static, Postgres>,
    /// Version of each stock row the unit loaded (or wrote); rows absent are new.
    versions: HashMap<StockKey, i64>,
    /// Reservations the unit loaded (or wrote); others are new.
    known: HashSet<ReservationId>,
}

impl PgTx {
    /// The server process id of this transaction's connection, for diagnostics (and for
    /// fault tests that terminate it).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the query fails.
    pub async fn backend_pid(&mut self) -> Result<i32, StoreError> {
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *self.tx)
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
            .fetch_all(&mut *self.tx)
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
                .fetch_all(&mut *self.tx)
                .await
                .map_err(before)?;
            for row in &found {
                held.push(rows::reservation(row)?);
            }
        }
        if !plan.holders_of.is_empty() {
            let found = sqlx::query(rows::LOCK_HOLDERS)
                .bind(strings(&plan.holders_of))
                .fetch_all(&mut *self.tx)
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
                .fetch_all(&mut *self.tx)
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
        Ok(PgTx {
            tx: self.pool.begin().await.map_err(before)?,
            versions: HashMap::new(),
            known: HashSet::new(),
        })
    }

    async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError> {
        let found = sqlx::query(
            "SELECT location, on_hand, reserved, committed, in_transit FROM stock WHERE sku = $1",
        )
        .bind(sku.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(before)?;
        found.iter().map(rows::location_stock).collect()
    }

    async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError> {
        let found = sqlx::query(rows::SELECT_RESERVATION)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(before)?;
        found.as_ref().map(rows::reservation).transpose()
    }
}

#[async_trait]
impl StoreTx for PgTx {
    async fn load(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
        let mut orders = Vec::new();
        if !plan.purchase_orders.is_empty() || !plan.open_drafts.is_empty() {
            let ids: Vec<Uuid> = plan.purchase_orders.iter().map(|id| id.as_uuid()).collect();
            let suppliers: Vec<String> = plan.open_drafts.iter().map(ToString::to_string).collect();
            let found = sqlx::query(rows::LOCK_PURCHASE_ORDERS)
                .bind(ids)
                .bind(suppliers)
                .fetch_all(&mut *self.tx)
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
                .fetch_all(&mut *self.tx)
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
                .fetch_all(&mut *self.tx)
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
        let (query, expected) = write::bind(
            sqlx::query(rows::WRITE),
            changes,
            &mut self.versions,
            &mut self.known,
        )?;
        let row = query.fetch_one(&mut *self.tx).await.map_err(before)?;
        let count = |index: usize| row.try_get::<i64, _>(index).map_err(before);
        let inserted = (count(0)?, count(1)?, count(2)?);
        if inserted != (expected.stock, expected.reservations, expected.ledger) {
            return Err(StoreError::Conflict(
                "another unit created a stock row or reservation this unit had not seen".into(),
            ));
        }
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.tx
            .commit()
            .await
            .map_err(|error| store_error(error, Phase::Commit))
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>, StoreError> {
        let found = sqlx::query(
            "SELECT sku, location, on_hand, reserved, committed, in_transit, version FROM stock",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(before)?;
        found
            .iter()
            .map(|row| rows::stock_row(row).map(|(key, level, _)| (key, level)))
            .collect()
    }

    async fn all_reservations(&self) -> Result<Vec<Reservation>, StoreError> {
        let found = sqlx::query(rows::SELECT_ALL_RESERVATIONS)
            .fetch_all(&self.pool)
            .await
            .map_err(before)?;
        let mut all = found
            .iter()
            .map(rows::reservation)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by_key(|reservation| reservation.id);
        Ok(all)
    }

    async fn ledger(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        let found = sqlx::query(rows::SELECT_LEDGER)
            .fetch_all(&self.pool)
            .await
            .map_err(before)?;
        let mut entries = found
            .iter()
            .map(rows::ledger_entry)
            .collect::<Result<Vec<_>, _>>()?;
        // Per row in version order (as selected); rows in the core's key order.
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }
}
