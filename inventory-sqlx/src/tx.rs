//! [`PgTx`]: one unit of work on a pooled connection, optimistic or locking.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::backend::{
    assemble, by_key, owing_skus, run_in_steps, skus_to_lock, Decide, ReadMode, StoreTx,
    UnitFailure,
};
use inventory_core::decide::{Changes, LoadPlan, Snapshot};
use inventory_core::{Reservation, ReservationId, Sku, StockKey, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnection, PgPool};
use sqlx::{AssertSqlSafe, Postgres};
use uuid::Uuid;

use crate::error::{store_error, Phase};
use crate::nodes::{after_unit, Nodes};
use crate::notice;
use crate::read;
use crate::rows;
use crate::store::{before, strings};
use crate::write::{self, Guard};

/// A unit of work on one pooled connection. Dropping it before the commit writes
/// nothing.
///
/// A locking unit ([`ReadMode::Locking`], what
/// [`Store::begin`](inventory_core::backend::Store::begin) opens) is a transaction: `BEGIN`,
/// locking reads, one write statement, `COMMIT`. An optimistic unit
/// ([`ReadMode::Optimistic`]) needs no transaction around it: one read statement, then
/// at commit one write statement that locks what was read, checks it is unchanged and
/// writes, atomically (it fails with a serialization failure, and writes nothing, when
/// something changed).
#[derive(Debug)]
pub struct PgTx {
    connection: Connection,
    /// Version of each stock row the unit loaded (or wrote); rows absent are new.
    versions: HashMap<StockKey, i64>,
    /// Reservations the unit loaded (or wrote); others are new.
    known: HashSet<ReservationId>,
    /// The store's servers, told when the unit loses its connection.
    nodes: Option<Arc<Nodes<Postgres>>>,
    /// How long the commit may take before its outcome is reported unknown.
    commit_timeout: Option<Duration>,
}

/// A locking unit's transaction on a pooled connection: `BEGIN` sent. Dropped before
/// its `COMMIT` was answered (a failed unit, a commit given up on), the connection is
/// closed, so the server rolls back and nothing waits on it again; once `COMMIT` is
/// answered, committed or not, the transaction is over and the connection goes back.
#[derive(Debug)]
struct Locked {
    connection: PoolConnection<Postgres>,
    ended: bool,
}

impl Locked {
    async fn begin(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let mut locked = Self {
            connection: pool.acquire().await?,
            ended: false,
        };
        sqlx::raw_sql("BEGIN")
            .execute(&mut *locked.connection)
            .await?;
        Ok(locked)
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        if !self.ended {
            self.connection.close_on_drop();
        }
    }
}

#[derive(Debug)]
enum Connection {
    Locking(Locked),
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
            Self::Locking(locked) => Ok(&mut locked.connection),
            Self::Optimistic { connection, .. } => Ok(connection),
            Self::Unopened(_) => Err(StoreError::Backend(
                "an optimistic unit has no connection before its read".into(),
            )),
        }
    }
}

impl PgTx {
    /// A unit on `pool`: a locking one begins its transaction now, an optimistic one
    /// takes a connection for its read.
    pub(crate) async fn open(
        pool: &PgPool,
        mode: ReadMode,
        nodes: Option<Arc<Nodes<Postgres>>>,
        commit_timeout: Option<Duration>,
    ) -> Result<Self, StoreError> {
        let connection = match mode {
            ReadMode::Locking => Connection::Locking(Locked::begin(pool).await.map_err(before)?),
            ReadMode::Optimistic => Connection::Unopened(pool.clone()),
        };
        Ok(Self {
            connection,
            versions: HashMap::new(),
            known: HashSet::new(),
            nodes,
            commit_timeout,
        })
    }

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

    /// Runs a locking read of reservation rows (`reservation_columns!` order).
    async fn reservations_of(
        &mut self,
        query: sqlx::query::Query<'_, Postgres, PgArguments>,
    ) -> Result<Vec<Reservation>, StoreError> {
        let found = query
            .fetch_all(self.connection.get()?)
            .await
            .map_err(before)?;
        found.iter().map(rows::reservation).collect()
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
            let query = sqlx::query(rows::LOCK_RESERVATIONS)
                .bind(ids)
                .bind(overdue_skus)
                .bind(now);
            held.extend(self.reservations_of(query).await?);
        }
        if !plan.holders_of.is_empty() {
            let query = sqlx::query(rows::LOCK_HOLDERS).bind(strings(&plan.holders_of));
            held.extend(self.reservations_of(query).await?);
        }
        if let Some(limit) = plan.due_holds {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let query = sqlx::query(rows::LOCK_DUE_HOLDS).bind(now).bind(limit);
            held.extend(self.reservations_of(query).await?);
        }
        Ok(held)
    }
}

#[async_trait]
impl StoreTx for PgTx {
    async fn run_unit<T: Send + 'static>(
        mut self,
        plan: &LoadPlan,
        now: DateTime<Utc>,
        decide: Decide<T>,
    ) -> Result<T, UnitFailure> {
        let nodes = self.nodes.take();
        let done = run_in_steps(self, plan, now, decide).await;
        after_unit(nodes.as_ref(), &done);
        done
    }

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
            self.connection = Connection::Locking(Locked::begin(pool).await.map_err(before)?);
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
        let transfers: Vec<inventory_core::Transfer> = if plan.transfers.is_empty() {
            Vec::new()
        } else {
            let ids: Vec<Uuid> = plan.transfers.iter().map(|id| id.as_uuid()).collect();
            let bodies: Vec<String> = sqlx::query_scalar(rows::LOCK_TRANSFERS)
                .bind(ids)
                .fetch_all(self.connection.get()?)
                .await
                .map_err(before)?;
            rows::decode_bodies(&bodies, "transfer")?
        };
        let mut skus = skus_to_lock(plan, &held, &orders);
        skus.extend(named.iter().map(|investigation| investigation.sku.clone()));
        skus.extend(transfers.iter().map(|transfer| transfer.sku.clone()));
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
        let mut held = held;
        let owing = owing_skus(&stock);
        if !owing.is_empty() {
            // Locked after the rows: an arrival covers what these holds are owed.
            let query = sqlx::query(rows::LOCK_HOLDERS).bind(strings(&owing));
            held.extend(self.reservations_of(query).await?);
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
        snapshot.transfers = transfers.into_iter().map(|t| (t.id, t)).collect();
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
            Connection::Locking(locked) => {
                let (text, arguments) =
                    write::statement(changes, &mut self.versions, &mut self.known, None)?;
                sqlx::query_with(AssertSqlSafe(text), arguments)
                    .execute(&mut *locked.connection)
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
        let limit = self.commit_timeout;
        match self.connection {
            Connection::Locking(mut locked) => {
                let commit = sqlx::raw_sql("COMMIT").execute(&mut *locked.connection);
                let (done, answered) = committed(commit, limit).await;
                locked.ended = answered;
                done
            }
            Connection::Optimistic {
                mut connection,
                pending: Some(pending),
                ..
            } => {
                let (text, arguments) = *pending;
                // One statement commits on its own: a broken connection leaves it
                // unknown whether it did.
                let write =
                    sqlx::query_with(AssertSqlSafe(text), arguments).execute(&mut *connection);
                let (done, answered) = committed(write, limit).await;
                if !answered {
                    // The server may still answer: the connection is not reused.
                    connection.close_on_drop();
                }
                done
            }
            Connection::Optimistic { pending: None, .. } | Connection::Unopened(_) => Ok(()),
        }
    }
}

/// Awaits a commit within `limit`, watching for PostgreSQL's warnings: a commit that
/// answered neither in time nor without a WARNING (a wait for a synchronous standby
/// cancelled) has an unknown outcome ([`StoreError::Unavailable`]). Also answers
/// whether the server answered (its connection is then fit for reuse).
async fn committed<T>(
    commit: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    limit: Option<Duration>,
) -> (Result<(), StoreError>, bool) {
    let watched = notice::watched(commit);
    let (done, warned) = match limit {
        Some(limit) => match tokio::time::timeout(limit, watched).await {
            Ok(done) => done,
            Err(_) => {
                tracing::warn!(
                    limit_ms = limit.as_millis(),
                    "a commit did not answer in time (waiting for a synchronous standby?): \
                     reported as unknown"
                );
                let unknown = StoreError::Unavailable(Box::new(notice::CommitTimedOut(limit)));
                return (Err(unknown), false);
            }
        },
        None => watched.await,
    };
    let done = match done {
        Err(error) => Err(store_error(error, Phase::Commit)),
        Ok(_) if warned => {
            tracing::warn!(
                "a commit drew a WARNING (cancelled wait for synchronous replication?): \
                 reported as unknown"
            );
            Err(StoreError::Unavailable(Box::new(notice::WarnedCommit)))
        }
        Ok(_) => Ok(()),
    };
    (done, true)
}
