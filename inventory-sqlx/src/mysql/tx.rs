//! [`MySqlTx`]: one unit of work on a pooled MySQL or MariaDB connection. A locking
//! unit sends `START TRANSACTION` and the locking reads (in key order) in one
//! multi-statement text, the writes (one multi-row statement per table) in another,
//! then `COMMIT`; an optimistic unit reads without locks in one text and writes,
//! guarded, with `START TRANSACTION` and `COMMIT` in another.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::backend::{assemble, by_key, owing_skus, skus_to_lock, ReadMode, StoreTx};
use inventory_core::counting::{Investigation, InvestigationId};
use inventory_core::decide::{Changes, LoadPlan, Snapshot};
use inventory_core::reorder::{shipped_in, PurchaseOrder, PurchaseOrderId};
use inventory_core::{
    LedgerEntry, Reservation, ReservationId, ReservationStatus, Sku, StockKey, Transfer, TransferId,
};
use sqlx::mysql::{MySqlArguments, MySqlConnection, MySqlPool, MySqlRow};
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, MySql};
use uuid::Uuid;

use super::rows::{self, level_columns, marks, reservation_columns, Result};
use crate::error::{corrupt, store_error, Phase};
use crate::store::before;

/// A unit of work on one pooled connection. A locking unit runs in a transaction at
/// the session's `READ COMMITTED` isolation: every row it decides on is read with
/// `SELECT ... FOR UPDATE` (reservations in id order, then stock rows in key order), so
/// nothing it read changes before its commit. An optimistic unit reads without locks
/// and its write checks, under the same locks, that nothing it read changed. Dropping
/// it before the commit writes nothing.
#[derive(Debug)]
pub struct MySqlTx {
    connection: PoolConnection<MySql>,
    /// Whether a transaction is open on the connection (begun by the unit's first
    /// statement text, `START TRANSACTION; ...`, so it costs no round trip of its own).
    open: bool,
    /// Version of each stock row the unit loaded (or wrote); rows absent are new.
    versions: HashMap<StockKey, i64>,
    /// Records the unit loaded (or wrote): these are updated, others inserted (so that
    /// two units creating the same record collide on its key instead of one
    /// overwriting the other).
    known: Known,
    /// Whether the unit reads without locks ([`ReadMode::Optimistic`]); it then writes
    /// once, guarded, in a text that ends with `COMMIT`.
    optimistic: bool,
    /// What an optimistic read found, for the guard of its write.
    guard: Option<Guard>,
    /// The guarded write an optimistic unit's `persist` built, run by its `commit`.
    pending: Option<Script>,
    /// Whether a read outside a transaction (an optimistic unit's) has not finished: a
    /// unit dropped then closes its connection, which may still owe answers.
    busy: bool,
    /// The store's servers, told when the unit loses its connection.
    nodes: Option<std::sync::Arc<crate::nodes::Nodes<MySql>>>,
    /// Whether each statement goes in a round trip of its own (Galera: see
    /// [`MySqlStore::one_statement_per_trip`](crate::MySqlStore::one_statement_per_trip)).
    one_per_trip: bool,
}

/// What an optimistic unit read, checked under lock by its write.
#[derive(Debug)]
struct Guard {
    /// Every SKU whose rows were read (all its rows, at any location).
    skus: Vec<Sku>,
    /// The stock rows read, with their versions.
    rows: Vec<(StockKey, i64)>,
    /// The reservations read, as they were.
    reservations: Vec<Reservation>,
}

#[derive(Debug, Default)]
struct Known {
    reservations: HashSet<ReservationId>,
    orders: HashSet<PurchaseOrderId>,
    transfers: HashSet<TransferId>,
    investigations: HashSet<InvestigationId>,
}

type MyQuery<'q> = Query<'q, MySql, MySqlArguments>;

/// A query on text built here from constant parts and `?` marks only.
fn query(sql: String) -> MyQuery<'static> {
    sqlx::query(AssertSqlSafe(sql))
}

fn body<T: serde::Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|error| corrupt(what, error))
}

impl MySqlTx {
    pub(crate) async fn open(
        pool: &MySqlPool,
        mode: ReadMode,
        nodes: Option<std::sync::Arc<crate::nodes::Nodes<sqlx::MySql>>>,
        one_per_trip: bool,
    ) -> Result<Self> {
        Ok(Self {
            nodes,
            one_per_trip,
            connection: pool.acquire().await.map_err(before)?,
            open: false,
            versions: HashMap::new(),
            known: Known::default(),
            optimistic: mode == ReadMode::Optimistic,
            guard: None,
            pending: None,
            busy: false,
        })
    }

    /// ` FOR UPDATE` in a locking unit; nothing in an optimistic read.
    fn locking(&self) -> &'static str {
        if self.optimistic {
            ""
        } else {
            " FOR UPDATE"
        }
    }

    /// `START TRANSACTION` when none is open yet: the prefix of the unit's first text.
    fn begin_prefix(&mut self) -> &'static str {
        if std::mem::replace(&mut self.open, true) {
            ""
        } else {
            "START TRANSACTION;\n"
        }
    }

    /// Opens the transaction on its own (the step-by-step load path).
    async fn begin(&mut self) -> Result<()> {
        let prefix = self.begin_prefix();
        if !prefix.is_empty() {
            sqlx::raw_sql(prefix)
                .execute(self.connection())
                .await
                .map_err(before)?;
        }
        Ok(())
    }

    /// Ends a unit that failed: its connection is closed instead of going back to the
    /// pool (the server rolls the transaction back). A statement text that failed part
    /// way may leave results the driver still waits for, so nothing more is sent on it
    /// (a `ROLLBACK` sent there could wait for ever).
    fn abandon(&mut self) {
        if self.open || self.busy {
            self.connection.close_on_drop();
        }
    }

    /// Runs several statements in one round trip (or one trip each, see
    /// [`MySqlTx::one_per_trip`]) and answers the rows of each.
    async fn read_all(&mut self, script: &Script) -> Result<Vec<Vec<MySqlRow>>> {
        if !self.one_per_trip {
            return self.read_text(script.text.clone()).await;
        }
        let mut results = Vec::new();
        for statement in script.statements() {
            let mut rows = self.read_text(statement.to_owned()).await?;
            results.push(rows.swap_remove(0));
        }
        Ok(results)
    }

    /// Runs a statement text in one round trip and answers the rows of each statement.
    async fn read_text(&mut self, text: String) -> Result<Vec<Vec<MySqlRow>>> {
        use futures_util::TryStreamExt;
        if text.is_empty() {
            // An optimistic read of a plan that names nothing.
            return Ok(Vec::new());
        }
        let mut results = vec![Vec::new()];
        self.busy = true;
        let mut stream = sqlx::raw_sql(AssertSqlSafe(text)).fetch_many(&mut *self.connection);
        while let Some(item) = stream.try_next().await.map_err(before)? {
            match item {
                sqlx::Either::Left(_) => results.push(Vec::new()),
                sqlx::Either::Right(row) => {
                    if let Some(last) = results.last_mut() {
                        last.push(row);
                    }
                }
            }
        }
        drop(stream);
        self.busy = false;
        Ok(results)
    }

    /// The server's id of this unit's connection (`CONNECTION_ID()`), for diagnostics
    /// and for fault tests that `KILL` it.
    ///
    /// # Errors
    ///
    /// [`StoreError`](inventory_core::StoreError) when the query fails.
    pub async fn connection_id(&mut self) -> Result<u64> {
        sqlx::query_scalar("SELECT CONNECTION_ID()")
            .fetch_one(self.connection())
            .await
            .map_err(before)
    }

    fn connection(&mut self) -> &mut MySqlConnection {
        &mut self.connection
    }

    /// Runs a locking read of reservation rows (`reservation_columns!` order).
    async fn reservations_of(&mut self, query: MyQuery<'_>) -> Result<Vec<Reservation>> {
        self.busy = true;
        let found = query.fetch_all(self.connection()).await.map_err(before)?;
        self.busy = false;
        let held = found
            .iter()
            .map(rows::reservation)
            .collect::<Result<Vec<_>>>()?;
        self.known.reservations.extend(held.iter().map(|r| r.id));
        Ok(held)
    }

    async fn lock_reservations(&mut self, ids: &[ReservationId]) -> Result<Vec<Reservation>> {
        let sql = format!(
            "SELECT {} FROM reservations r WHERE r.id IN ({}) ORDER BY r.id FOR UPDATE",
            reservation_columns!(),
            marks(ids.len())
        );
        let mut statement = query(sql);
        for id in ids {
            statement = statement.bind(id.as_uuid());
        }
        self.reservations_of(statement).await
    }

    async fn lock_overdue(&mut self, skus: &[Sku], now: DateTime<Utc>) -> Result<Vec<Reservation>> {
        let sql = format!(
            "SELECT {} FROM reservations r
             WHERE r.id IN (SELECT reservation_id FROM holds
                            WHERE sku IN ({}) AND expires_at <= ?)
             ORDER BY r.id FOR UPDATE",
            reservation_columns!(),
            marks(skus.len())
        );
        let mut statement = query(sql);
        for sku in skus {
            statement = statement.bind(sku.as_str());
        }
        self.reservations_of(statement.bind(now)).await
    }

    async fn lock_due(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Reservation>> {
        // Holds another sweeper has locked are skipped.
        let sql = format!(
            "SELECT {} FROM reservations r
             WHERE r.status = 'active' AND r.expires_at <= ?
             ORDER BY r.status, r.expires_at, r.id LIMIT ? FOR UPDATE SKIP LOCKED",
            reservation_columns!()
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.reservations_of(query(sql).bind(now).bind(limit)).await
    }

    async fn lock_holders(&mut self, skus: &[Sku]) -> Result<Vec<Reservation>> {
        let sql = format!(
            "SELECT {} FROM reservations r
             WHERE r.id IN (SELECT reservation_id FROM holds WHERE sku IN ({}))
             ORDER BY r.id{}",
            reservation_columns!(),
            marks(skus.len()),
            self.locking()
        );
        let mut statement = query(sql);
        for sku in skus {
            statement = statement.bind(sku.as_str());
        }
        self.reservations_of(statement).await
    }

    async fn lock_orders(
        &mut self,
        ids: &[PurchaseOrderId],
        drafts_of: &[inventory_core::SupplierId],
    ) -> Result<Vec<PurchaseOrder>> {
        let sql = format!(
            "{} WHERE id IN ({}) OR (status = 'draft' AND supplier IN ({}))
             ORDER BY id FOR UPDATE",
            rows::PURCHASE_ORDER_COLUMNS,
            marks(ids.len()),
            marks(drafts_of.len())
        );
        let mut statement = query(sql);
        // An empty list matches nothing: bind one value no row has.
        if ids.is_empty() {
            statement = statement.bind(Uuid::nil());
        }
        for id in ids {
            statement = statement.bind(id.as_uuid());
        }
        if drafts_of.is_empty() {
            statement = statement.bind("");
        }
        for supplier in drafts_of {
            statement = statement.bind(supplier.as_str());
        }
        let found = statement
            .fetch_all(self.connection())
            .await
            .map_err(before)?;
        let orders = found
            .iter()
            .map(rows::purchase_order)
            .collect::<Result<Vec<_>>>()?;
        self.known.orders.extend(orders.iter().map(|o| o.id));
        Ok(orders)
    }

    /// JSON bodies of a locking read.
    async fn bodies<T: serde::de::DeserializeOwned>(
        &mut self,
        statement: MyQuery<'_>,
        what: &'static str,
    ) -> Result<Vec<T>> {
        use sqlx::Row;
        let found = statement
            .fetch_all(self.connection())
            .await
            .map_err(before)?;
        found
            .iter()
            .map(|row| {
                let text: String = row.try_get(0).map_err(|e| corrupt(what, e))?;
                serde_json::from_str(&text).map_err(|e| corrupt(what, e))
            })
            .collect()
    }

    async fn lock_investigations(
        &mut self,
        ids: &[InvestigationId],
        open_of: &[Sku],
    ) -> Result<Vec<Investigation>> {
        let condition = if ids.is_empty() {
            format!("`open` AND sku IN ({})", marks(open_of.len()))
        } else {
            format!("id IN ({})", marks(ids.len()))
        };
        let sql =
            format!("SELECT body FROM investigations WHERE {condition} ORDER BY id FOR UPDATE");
        let mut statement = query(sql);
        for id in ids {
            statement = statement.bind(id.as_uuid());
        }
        if ids.is_empty() {
            for sku in open_of {
                statement = statement.bind(sku.as_str());
            }
        }
        let found: Vec<Investigation> = self.bodies(statement, "investigation").await?;
        self.known.investigations.extend(found.iter().map(|i| i.id));
        Ok(found)
    }

    async fn lock_transfers(&mut self, ids: &[TransferId]) -> Result<Vec<Transfer>> {
        let sql = format!(
            "SELECT body FROM transfers WHERE id IN ({}) ORDER BY id FOR UPDATE",
            marks(ids.len())
        );
        let mut statement = query(sql);
        for id in ids {
            statement = statement.bind(id.as_uuid());
        }
        let found: Vec<Transfer> = self.bodies(statement, "transfer").await?;
        self.known.transfers.extend(found.iter().map(|t| t.id));
        Ok(found)
    }

    async fn lock_stock(
        &mut self,
        skus: &[Sku],
    ) -> Result<Vec<(StockKey, inventory_core::StockLevel)>> {
        let sql = format!(
            "SELECT sku, location, {}, version FROM stock WHERE sku IN ({})
             ORDER BY sku, location FOR UPDATE",
            level_columns!(),
            marks(skus.len())
        );
        let mut statement = query(sql);
        for sku in skus {
            statement = statement.bind(sku.as_str());
        }
        let found = statement
            .fetch_all(self.connection())
            .await
            .map_err(before)?;
        let mut loaded = Vec::with_capacity(found.len());
        for row in &found {
            let (key, level, version) = rows::stock_row(row)?;
            self.versions.insert(key.clone(), version);
            loaded.push((key, level));
        }
        Ok(loaded)
    }

    async fn keyed(&mut self, keys: &[inventory_core::IdempotencyKey]) -> Result<Vec<LedgerEntry>> {
        let sql = format!(
            "{} WHERE idempotency_key IN ({})",
            rows::SELECT_LEDGER_COLUMNS,
            marks(keys.len())
        );
        let mut statement = query(sql);
        for key in keys {
            statement = statement.bind(key.as_str());
        }
        let found = statement
            .fetch_all(self.connection())
            .await
            .map_err(before)?;
        found.iter().map(rows::ledger_entry).collect()
    }
}

#[async_trait]
impl StoreTx for MySqlTx {
    async fn run_unit<T: Send + 'static>(
        mut self,
        plan: &LoadPlan,
        now: DateTime<Utc>,
        decide: inventory_core::backend::Decide<T>,
    ) -> std::result::Result<T, inventory_core::backend::UnitFailure> {
        let nodes = self.nodes.take();
        let done = inventory_core::backend::run_in_steps(self, plan, now, decide).await;
        crate::nodes::after_unit(nodes.as_ref(), &done);
        done
    }

    async fn load(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot> {
        let loaded = if Self::fits_one_text(plan) {
            self.load_at_once(plan, now).await
        } else {
            // A plan the write cannot guard is read as a locking unit reads it.
            self.optimistic = false;
            self.load_in_steps(plan, now).await
        };
        if loaded.is_err() {
            self.abandon();
        }
        loaded
    }

    async fn persist(&mut self, changes: &Changes) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        if !self.optimistic {
            return self.write(changes).await;
        }
        if self.pending.is_some() {
            return Err(inventory_core::StoreError::Backend(
                "an optimistic unit writes once: persist its changes together".into(),
            ));
        }
        self.pending = Some(self.guarded_write(changes)?);
        Ok(())
    }

    async fn commit(mut self) -> Result<()> {
        match self.pending.take() {
            Some(text) => self.run_guarded(text).await,
            None => self.finish().await,
        }
    }
}

impl MySqlTx {
    /// Whether `plan` is loaded by [`MySqlTx::load_at_once`]: it names reservations,
    /// SKUs and keys only (what reserves, lifecycle steps and stock movements name).
    fn fits_one_text(plan: &LoadPlan) -> bool {
        plan.purchase_orders.is_empty()
            && plan.open_drafts.is_empty()
            && plan.due_holds.is_none()
            && plan.holders_of.is_empty()
            && plan.investigations.is_empty()
            && plan.transfers.is_empty()
            && plan.resolving.is_empty()
    }

    /// Loads a plan of reservations, SKUs and keys in one round trip:
    /// `START TRANSACTION`, the named reservations and the overdue holds on its SKUs
    /// locked in id order, every stock row of its SKUs locked in key order, their open
    /// investigations, the keyed entries. SKUs the reservations hold beyond the plan's
    /// (a commit names only its reservation) are locked in a second round trip, and the
    /// holds of rows that owe backordered units in a third, when there are any. An
    /// optimistic unit reads the same without a transaction and without locks, and
    /// keeps what it read for the guard of its write.
    async fn load_at_once(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot> {
        let mut text = Script::default();
        let began = if self.optimistic {
            ""
        } else {
            self.begin_prefix()
        };
        let locking = self.locking();
        text.sql(began).mark();
        // Two statements, not one with `OR`: each keeps to its index (an `OR` of an id
        // list and a subquery may scan every reservation).
        let named = !plan.reservations.is_empty();
        if named {
            text.sql(concat!(
                "SELECT ",
                reservation_columns!(),
                " FROM reservations r WHERE r.id IN ("
            ));
            text.uuid_list(plan.reservations.iter().map(|id| id.as_uuid()));
            text.sql(") ORDER BY r.id").sql(locking).end();
        }
        let overdue = plan.overdue_holds && !plan.skus.is_empty();
        if overdue {
            text.sql(concat!(
                "SELECT ",
                reservation_columns!(),
                " FROM reservations r JOIN holds h ON h.reservation_id = r.id WHERE h.sku IN ("
            ));
            text.text_list(plan.skus.iter().map(Sku::as_str));
            text.sql(") AND h.expires_at <= ")
                .time(now)
                .sql(" ORDER BY r.id")
                .sql(locking)
                .end();
        }
        if !plan.skus.is_empty() {
            Self::lock_skus_text(&mut text, &plan.skus, locking);
        }
        if !plan.idempotency_keys.is_empty() {
            text.sql(rows::SELECT_LEDGER_COLUMNS)
                .sql(" WHERE idempotency_key IN (");
            text.text_list(plan.idempotency_keys.iter().map(|key| key.as_str()));
            text.sql(")").end();
        }
        let mut results = self.read_all(&text).await?.into_iter();
        // The first result is START TRANSACTION's, when this text began the unit.
        let mut next = || results.next().unwrap_or_default();
        if !began.is_empty() {
            next();
        }
        let mut held = Vec::new();
        for read in [named, overdue] {
            if read {
                for row in &next() {
                    held.push(rows::reservation(row)?);
                }
            }
        }
        // A reservation both named and overdue is read twice.
        held.sort_by_key(|r| r.id);
        held.dedup_by_key(|r| r.id);
        self.known.reservations.extend(held.iter().map(|r| r.id));
        let mut rows = Vec::new();
        let mut investigations = Vec::new();
        if !plan.skus.is_empty() {
            rows = self.stock_rows(&next())?;
            investigations = Self::investigation_rows(&next())?;
        }
        let keyed = if plan.idempotency_keys.is_empty() {
            Vec::new()
        } else {
            next()
                .iter()
                .map(rows::ledger_entry)
                .collect::<Result<Vec<_>>>()?
        };
        // Every SKU whose rows are read: the plan's and those its reservations hold.
        let read_skus = skus_to_lock(plan, &held, &[]);
        let more: Vec<Sku> = read_skus
            .iter()
            .filter(|sku| plan.skus.binary_search(sku).is_err())
            .cloned()
            .collect();
        if !more.is_empty() {
            let mut text = Script::default();
            Self::lock_skus_text(&mut text, &more, locking);
            let mut results = self.read_all(&text).await?.into_iter();
            rows.extend(self.stock_rows(&results.next().unwrap_or_default())?);
            investigations.extend(Self::investigation_rows(
                &results.next().unwrap_or_default(),
            )?);
            rows.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let owing = owing_skus(&rows);
        if !owing.is_empty() {
            let owed = self.lock_holders(&owing).await?;
            for reservation in owed {
                if !held.iter().any(|h| h.id == reservation.id) {
                    held.push(reservation);
                }
            }
        }
        if self.optimistic {
            self.guard = Some(Guard {
                skus: read_skus,
                rows: rows
                    .iter()
                    .map(|(key, _)| (key.clone(), self.versions.get(key).copied().unwrap_or(0)))
                    .collect(),
                reservations: held.clone(),
            });
        }
        let mut snapshot = assemble(held, rows, Vec::new());
        snapshot.investigations = investigations.into_iter().map(|i| (i.id, i)).collect();
        snapshot.keyed = by_key(keyed);
        Ok(snapshot)
    }

    /// The reads of `skus`' stock rows (key order) and open investigations, locking
    /// when `locking` is ` FOR UPDATE`.
    fn lock_skus_text(text: &mut Script, skus: &[Sku], locking: &str) {
        text.sql("SELECT sku, location, ")
            .sql(level_columns!())
            .sql(", version FROM stock WHERE sku IN (");
        text.text_list(skus.iter().map(Sku::as_str));
        text.sql(") ORDER BY sku, location").sql(locking).end();
        text.sql("SELECT body FROM investigations WHERE `open` AND sku IN (");
        text.text_list(skus.iter().map(Sku::as_str));
        text.sql(") ORDER BY id").sql(locking).end();
    }

    fn stock_rows(
        &mut self,
        found: &[MySqlRow],
    ) -> Result<Vec<(StockKey, inventory_core::StockLevel)>> {
        let mut loaded = Vec::with_capacity(found.len());
        for row in found {
            let (key, level, version) = rows::stock_row(row)?;
            self.versions.insert(key.clone(), version);
            loaded.push((key, level));
        }
        Ok(loaded)
    }

    fn investigation_rows(found: &[MySqlRow]) -> Result<Vec<Investigation>> {
        found
            .iter()
            .map(|row| {
                let text: String = rows::get(row, 0)?;
                serde_json::from_str(&text).map_err(|e| corrupt("investigation", e))
            })
            .collect()
    }

    async fn load_in_steps(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot> {
        self.begin().await?;
        let orders = if plan.purchase_orders.is_empty() && plan.open_drafts.is_empty() {
            Vec::new()
        } else {
            self.lock_orders(&plan.purchase_orders, &plan.open_drafts)
                .await?
        };
        let mut held = Vec::new();
        if !plan.reservations.is_empty() {
            held.extend(self.lock_reservations(&plan.reservations).await?);
        }
        if plan.overdue_holds && !plan.skus.is_empty() {
            held.extend(self.lock_overdue(&plan.skus, now).await?);
        }
        if let Some(limit) = plan.due_holds {
            held.extend(self.lock_due(now, limit).await?);
        }
        if !plan.holders_of.is_empty() {
            held.extend(self.lock_holders(&plan.holders_of).await?);
        }
        let named = if plan.investigations.is_empty() {
            Vec::new()
        } else {
            self.lock_investigations(&plan.investigations, &[]).await?
        };
        let transfers = if plan.transfers.is_empty() {
            Vec::new()
        } else {
            self.lock_transfers(&plan.transfers).await?
        };
        let mut skus = skus_to_lock(plan, &held, &orders);
        skus.extend(named.iter().map(|investigation| investigation.sku.clone()));
        skus.extend(transfers.iter().map(|transfer| transfer.sku.clone()));
        skus.sort();
        skus.dedup();
        let rows = if skus.is_empty() {
            Vec::new()
        } else {
            self.lock_stock(&skus).await?
        };
        let owing = owing_skus(&rows);
        if !owing.is_empty() {
            held.extend(self.lock_holders(&owing).await?);
        }
        let mut snapshot = assemble(held, rows, orders);
        let open = if skus.is_empty() {
            Vec::new()
        } else {
            self.lock_investigations(&[], &skus).await?
        };
        snapshot.investigations = named.into_iter().chain(open).map(|i| (i.id, i)).collect();
        snapshot.transfers = transfers.into_iter().map(|t| (t.id, t)).collect();
        if !plan.idempotency_keys.is_empty() {
            snapshot.keyed = by_key(self.keyed(&plan.idempotency_keys).await?);
        }
        Ok(snapshot)
    }

    /// Writes `changes` in the locking unit's transaction, in one text.
    async fn write(&mut self, changes: &Changes) -> Result<()> {
        let mut script = Script::default();
        script.sql(self.begin_prefix()).mark();
        self.write_changes(&mut script, changes)?;
        let written = self.execute(&script).await;
        if let Err(error) = written {
            self.abandon();
            return Err(before(error));
        }
        Ok(())
    }

    fn write_changes(&mut self, script: &mut Script, changes: &Changes) -> Result<()> {
        self.write_ledger(script, changes);
        self.write_reservations(script, changes)?;
        self.write_records(script, changes)?;
        Self::write_outboxes(script, changes)
    }

    /// An optimistic unit's write, one text: `START TRANSACTION`, the guard (a block
    /// that locks the reservations and the stock rows of every SKU read, in the order a
    /// locking unit locks them, and signals SQLSTATE `40001` unless every one is as it
    /// was read and no row of those SKUs appeared), the writes, `COMMIT`.
    fn guarded_write(&mut self, changes: &Changes) -> Result<Script> {
        let Some(guard) = self.guard.take() else {
            return Err(inventory_core::StoreError::Backend(
                "an optimistic unit persists only what it decided on a read".into(),
            ));
        };
        let mut script = Script::default();
        script.sql("START TRANSACTION;\n").mark();
        script.sql("BEGIN NOT ATOMIC\nDECLARE held, matched, found, current BIGINT DEFAULT 0;\n");
        let held = &guard.reservations;
        if !held.is_empty() {
            script.sql("SELECT COUNT(*), COALESCE(SUM((id, status, expires_at, updated_at) IN (");
            for (index, reservation) in held.iter().enumerate() {
                script
                    .sql(if index == 0 { "(" } else { ", (" })
                    .uuid(reservation.id.as_uuid())
                    .sql(", ")
                    .text(reservation.status.as_str())
                    .sql(", ")
                    .time(reservation.expires_at)
                    .sql(", ")
                    .time(reservation.updated_at)
                    .sql(")");
            }
            script.sql(")), 0) INTO held, matched FROM reservations WHERE id IN (");
            script.uuid_list(held.iter().map(|r| r.id.as_uuid()));
            script.sql(") FOR UPDATE;\n");
        }
        if !guard.skus.is_empty() {
            script.sql("SELECT COUNT(*), COALESCE(SUM(");
            if guard.rows.is_empty() {
                script.sql("FALSE");
            } else {
                script.sql("(sku, location, version) IN (");
                for (index, (key, version)) in guard.rows.iter().enumerate() {
                    script
                        .sql(if index == 0 { "(" } else { ", (" })
                        .text(key.sku.as_str())
                        .sql(", ")
                        .text(key.location.as_str())
                        .sql(", ")
                        .int(*version)
                        .sql(")");
                }
                script.sql(")");
            }
            script.sql("), 0) INTO found, current FROM stock WHERE sku IN (");
            script.text_list(guard.skus.iter().map(Sku::as_str));
            script.sql(") FOR UPDATE;\n");
        }
        let (reservations, rows) = (held.len(), guard.rows.len());
        script
            .sql("IF held <> ")
            .int(i64::try_from(reservations).unwrap_or(i64::MAX))
            .sql(" OR matched <> held OR found <> ")
            .int(i64::try_from(rows).unwrap_or(i64::MAX))
            .sql(" OR current <> found THEN\n")
            .sql(concat!(
                "SIGNAL SQLSTATE '40001' SET MESSAGE_TEXT = '",
                "inventory: a row this unit read was changed before its write';\n",
                "END IF;\nEND;\n"
            ))
            .mark();
        self.write_changes(&mut script, changes)?;
        script.sql("COMMIT");
        Ok(script)
    }

    /// Runs a guarded write. The server runs a text's statements in order and stops at
    /// the first that fails, so an error it answered means `COMMIT` did not run (or
    /// itself failed): nothing was written; a guard that failed answers
    /// [`StoreError::Conflict`](inventory_core::StoreError) and the core runs the unit
    /// again, locking. Only a connection lost while the text ran leaves the outcome
    /// unknown ([`StoreError::Unavailable`](inventory_core::StoreError)).
    async fn run_guarded(&mut self, script: Script) -> Result<()> {
        self.open = true;
        let written = self.execute(&script).await;
        match written {
            Ok(_) => {
                self.open = false;
                Ok(())
            }
            Err(error) => {
                // A transaction the text began may still be open: the connection is
                // closed, never reused.
                self.abandon();
                Err(store_error(error, Phase::Commit))
            }
        }
    }

    /// Runs a statement text: in one round trip, or one statement per trip (Galera).
    async fn execute(&mut self, script: &Script) -> std::result::Result<(), sqlx::Error> {
        if !self.one_per_trip {
            let text = script.text.clone();
            return sqlx::raw_sql(AssertSqlSafe(text))
                .execute(self.connection())
                .await
                .map(drop);
        }
        for statement in script.statements() {
            sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
                .execute(self.connection())
                .await?;
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<()> {
        if !self.open {
            return Ok(());
        }
        // Whatever happens now, the transaction is over: committed, rolled back by the
        // server, or unknown (the connection is then closed, never reused).
        self.open = false;
        match sqlx::raw_sql("COMMIT").execute(self.connection()).await {
            Ok(_) => Ok(()),
            Err(error) => {
                self.connection.close_on_drop();
                Err(store_error(error, Phase::Commit))
            }
        }
    }
}

impl Drop for MySqlTx {
    fn drop(&mut self) {
        // A unit dropped with its transaction open (a panic, a cancelled future, a
        // failed rollback) must not hand the pool a connection inside a transaction:
        // closing it makes the server roll back. Nor one in the middle of a read.
        if self.open || self.busy {
            self.connection.close_on_drop();
        }
    }
}

/// The columns of a stock row as written.
const STOCK_COLUMNS: &str = "sku, location, on_hand, reserved, `committed`, in_transit, \
     damaged, quality_control, safety_stock, backordered, version";

/// The statements of a unit's write, sent as one multi-statement text (one round
/// trip). Every value is written as a literal this code renders from typed values only:
/// integers as digits, texts as `_utf8mb4 X'<hex>'`, ids as `X'<hex>'`, times and dates
/// as quoted digits: no text from a caller is ever parsed as SQL.
#[derive(Debug, Default)]
struct Script {
    text: String,
    /// Where each top-level statement but the last ends in `text`.
    ends: Vec<usize>,
}

impl Script {
    /// Marks the end of a top-level statement (a statement text is split there when
    /// each statement goes in a round trip of its own).
    fn mark(&mut self) -> &mut Self {
        if self.ends.last() != Some(&self.text.len()) {
            self.ends.push(self.text.len());
        }
        self
    }

    /// The top-level statements, in order, without empty ones.
    fn statements(&self) -> Vec<&str> {
        let mut start = 0;
        let mut all = Vec::new();
        for &end in self.ends.iter().chain(std::iter::once(&self.text.len())) {
            let statement = self.text[start..end].trim();
            if !statement.is_empty() {
                all.push(statement);
            }
            start = end;
        }
        all
    }

    fn sql(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    fn int(&mut self, value: i64) -> &mut Self {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(self.text, "{value}");
        self
    }

    /// A text as `'<text>'` when it holds no quote, backslash or NUL (so it reads the
    /// same whether or not backslashes escape), else as `_utf8mb4 X'<hex>'`.
    fn text(&mut self, value: &str) -> &mut Self {
        if value.bytes().any(|byte| matches!(byte, b'\'' | b'\\' | 0)) {
            self.text.push_str("_utf8mb4 X'");
            self.hex(value.as_bytes());
        } else {
            self.text.push('\'');
            self.text.push_str(value);
        }
        self.text.push('\'');
        self
    }

    fn literal(&mut self, value: Literal<'_>) -> &mut Self {
        match value {
            Literal::Int(value) => self.int(value),
            Literal::Text(value) => self.opt_text(value),
            Literal::Owned(value) => self.opt_text(value.as_deref()),
            Literal::Id(value) => self.opt_uuid(value),
            Literal::Time(value) => self.time(value),
        }
    }

    /// `bytes` as upper-case hex digits.
    fn hex(&mut self, bytes: &[u8]) {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        self.text.reserve(bytes.len() * 2);
        for byte in bytes {
            self.text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            self.text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
    }

    fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => self.sql("NULL"),
        }
    }

    fn uuid(&mut self, value: Uuid) -> &mut Self {
        self.text.push_str("X'");
        self.hex(value.as_bytes());
        self.text.push('\'');
        self
    }

    fn opt_uuid(&mut self, value: Option<Uuid>) -> &mut Self {
        match value {
            Some(value) => self.uuid(value),
            None => self.sql("NULL"),
        }
    }

    fn time(&mut self, value: DateTime<Utc>) -> &mut Self {
        use chrono::{Datelike, Timelike};
        use std::fmt::Write;
        // Digits only: writing to a String cannot fail.
        let _ = write!(
            self.text,
            "'{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}'",
            value.year(),
            value.month(),
            value.day(),
            value.hour(),
            value.minute(),
            value.second(),
            value.timestamp_subsec_micros().min(999_999)
        );
        self
    }

    fn opt_time(&mut self, value: Option<DateTime<Utc>>) -> &mut Self {
        match value {
            Some(value) => self.time(value),
            None => self.sql("NULL"),
        }
    }

    /// `a, b, c` of texts, or `NULL` for none (`IN (NULL)` matches nothing).
    fn text_list<'a>(&mut self, values: impl Iterator<Item = &'a str>) -> &mut Self {
        let mut any = false;
        for value in values {
            if any {
                self.sql(", ");
            }
            self.text(value);
            any = true;
        }
        if !any {
            self.sql("NULL");
        }
        self
    }

    /// `a, b, c` of ids, or `NULL` for none.
    fn uuid_list(&mut self, values: impl Iterator<Item = Uuid>) -> &mut Self {
        let mut any = false;
        for value in values {
            if any {
                self.sql(", ");
            }
            self.uuid(value);
            any = true;
        }
        if !any {
            self.sql("NULL");
        }
        self
    }

    fn json<T: serde::Serialize>(&mut self, value: &T, what: &str) -> Result<&mut Self> {
        Ok(self.text(&body(value, what)?))
    }

    /// Starts `INSERT INTO table (columns) VALUES `; rows follow with [`Script::row`].
    fn insert(&mut self, table: &str, columns: &str) -> &mut Self {
        self.text
            .push_str(&format!("INSERT INTO {table} ({columns}) VALUES "));
        self
    }

    /// Opens a row of values, after a comma unless it is the first.
    fn row(&mut self, first: bool) -> &mut Self {
        self.sql(if first { "(" } else { ", (" })
    }

    /// Ends a statement.
    fn end(&mut self) -> &mut Self {
        self.sql(";\n").mark()
    }
}

/// Records of one table: those the unit loaded (`known`) updated in one multi-row
/// `INSERT ... ON DUPLICATE KEY UPDATE <update>`, new ones inserted in another (so two
/// units creating the same record collide on its key). `row` writes one record's
/// values.
fn write_upserts<T>(
    script: &mut Script,
    records: &[&T],
    known: impl Fn(&T) -> bool,
    table: &str,
    columns: &str,
    update: &str,
    mut row: impl FnMut(&mut Script, &T) -> Result<()>,
) -> Result<()> {
    for loaded in [true, false] {
        let mut first = true;
        for record in records.iter().filter(|record| known(record) == loaded) {
            if first {
                script.insert(table, columns);
            }
            script.row(first);
            row(script, record)?;
            script.sql(")");
            first = false;
        }
        if first {
            continue;
        }
        if loaded {
            script.sql(" ON DUPLICATE KEY UPDATE ").sql(update);
        }
        script.end();
    }
    Ok(())
}

/// A value of a written column.
enum Literal<'a> {
    Int(i64),
    Text(Option<&'a str>),
    Owned(Option<String>),
    Id(Option<Uuid>),
    Time(DateTime<Utc>),
}

impl Literal<'_> {
    /// Whether the column's default (0, or NULL) is this value.
    fn is_default(&self) -> bool {
        match self {
            Literal::Int(value) => *value == 0,
            Literal::Text(value) => value.is_none(),
            Literal::Owned(value) => value.is_none(),
            Literal::Id(value) => value.is_none(),
            Literal::Time(_) => false,
        }
    }
}

/// A ledger column (after `version`): its name, whether it may be left out when every
/// entry written has its default, and the entry's value.
type LedgerColumn = (&'static str, bool, fn(&LedgerEntry) -> Literal<'_>);

const LEDGER_COLUMNS: [LedgerColumn; 28] = [
    ("sku", false, |e| Literal::Text(Some(e.key.sku.as_str()))),
    ("location", false, |e| {
        Literal::Text(Some(e.key.location.as_str()))
    }),
    ("at", false, |e| Literal::Time(e.at)),
    ("movement", false, |e| {
        Literal::Text(Some(e.movement.as_str()))
    }),
    ("quantity", false, |e| Literal::Int(e.quantity)),
    ("before_on_hand", false, |e| Literal::Int(e.before.on_hand)),
    ("before_reserved", false, |e| {
        Literal::Int(e.before.reserved)
    }),
    ("before_committed", false, |e| {
        Literal::Int(e.before.committed)
    }),
    ("before_in_transit", false, |e| {
        Literal::Int(e.before.in_transit)
    }),
    ("before_damaged", true, |e| Literal::Int(e.before.damaged)),
    ("before_quality_control", true, |e| {
        Literal::Int(e.before.quality_control)
    }),
    ("before_safety_stock", true, |e| {
        Literal::Int(e.before.safety_stock)
    }),
    ("before_backordered", true, |e| {
        Literal::Int(e.before.backordered)
    }),
    ("after_on_hand", false, |e| Literal::Int(e.after.on_hand)),
    ("after_reserved", false, |e| Literal::Int(e.after.reserved)),
    ("after_committed", false, |e| {
        Literal::Int(e.after.committed)
    }),
    ("after_in_transit", false, |e| {
        Literal::Int(e.after.in_transit)
    }),
    ("after_damaged", true, |e| Literal::Int(e.after.damaged)),
    ("after_quality_control", true, |e| {
        Literal::Int(e.after.quality_control)
    }),
    ("after_safety_stock", true, |e| {
        Literal::Int(e.after.safety_stock)
    }),
    ("after_backordered", true, |e| {
        Literal::Int(e.after.backordered)
    }),
    ("reservation_id", true, |e| {
        Literal::Id(e.reservation_id.map(|id| id.as_uuid()))
    }),
    ("order_id", true, |e| {
        Literal::Text(e.order_id.as_ref().map(|id| id.as_str()))
    }),
    ("reason", true, |e| Literal::Text(e.reason.as_deref())),
    ("unit_price", true, |e| {
        Literal::Owned(e.unit_price.map(|price| price.to_string()))
    }),
    ("idempotency_key", true, |e| {
        Literal::Text(e.idempotency_key.as_ref().map(|key| key.as_str()))
    }),
    ("actor", true, |e| Literal::Text(e.actor.as_deref())),
    ("reference", true, |e| Literal::Text(e.reference.as_deref())),
];

impl MySqlTx {
    /// The stock rows and ledger entries: each entry at its row's next version; rows
    /// the unit loaded are updated (they are locked), new rows inserted (a row another
    /// unit created first fails on its key and the unit runs again).
    fn write_ledger(&mut self, script: &mut Script, changes: &Changes) {
        let mut next: BTreeMap<StockKey, i64> = BTreeMap::new();
        let mut entry_versions = Vec::with_capacity(changes.ledger.len());
        for entry in &changes.ledger {
            let version = next
                .entry(entry.key.clone())
                .or_insert_with(|| self.versions.get(&entry.key).copied().unwrap_or(0));
            *version += 1;
            entry_versions.push(*version);
        }
        let (mut loaded, mut created) = (Vec::new(), Vec::new());
        for (key, level) in &changes.stock {
            let old = self.versions.get(key).copied();
            let version = next.get(key).copied().or(old).unwrap_or(0);
            match old {
                Some(_) => loaded.push((key, level, version)),
                None => created.push((key, level, version)),
            }
        }
        for (rows, update) in [(&loaded, true), (&created, false)] {
            if rows.is_empty() {
                continue;
            }
            script.insert("stock", STOCK_COLUMNS);
            for (index, (key, level, version)) in rows.iter().enumerate() {
                script
                    .row(index == 0)
                    .text(key.sku.as_str())
                    .sql(", ")
                    .text(key.location.as_str());
                for number in [
                    level.on_hand,
                    level.reserved,
                    level.committed,
                    level.in_transit,
                    level.damaged,
                    level.quality_control,
                    level.safety_stock,
                    level.backordered,
                    *version,
                ] {
                    script.sql(", ").int(number);
                }
                script.sql(")");
            }
            if update {
                script.sql(
                    " ON DUPLICATE KEY UPDATE on_hand = VALUES(on_hand),
                      reserved = VALUES(reserved), `committed` = VALUES(`committed`),
                      in_transit = VALUES(in_transit), damaged = VALUES(damaged),
                      quality_control = VALUES(quality_control),
                      safety_stock = VALUES(safety_stock), backordered = VALUES(backordered),
                      version = VALUES(version)",
                );
            }
            script.end();
        }
        for (key, _, version) in loaded.into_iter().chain(created) {
            self.versions.insert(key.clone(), version);
        }
        if changes.ledger.is_empty() {
            return;
        }
        // A column every entry leaves at its default (zero, or NULL) is left out: the
        // server then parses a third fewer values for a reservation's entry.
        let columns: Vec<&LedgerColumn> = LEDGER_COLUMNS
            .iter()
            .filter(|(_, omissible, value)| {
                !omissible || changes.ledger.iter().any(|e| !value(e).is_default())
            })
            .collect();
        let names: Vec<&str> = columns.iter().map(|(name, _, _)| *name).collect();
        script.insert("ledger", &format!("version, {}", names.join(", ")));
        for (index, (entry, version)) in changes.ledger.iter().zip(entry_versions).enumerate() {
            script.row(index == 0).int(version);
            for (_, _, value) in &columns {
                script.sql(", ").literal(value(entry));
            }
            script.sql(")");
        }
        script.end();
    }

    /// Reservations, with `holds` kept in step: one row per SKU while a reservation is
    /// open, with its expiry while it is active; none once it is closed.
    fn write_reservations(&mut self, script: &mut Script, changes: &Changes) -> Result<()> {
        let rows: Vec<&Reservation> = changes.reservations.values().collect();
        write_upserts(
            script,
            &rows,
            |r| self.known.reservations.contains(&r.id),
            "reservations",
            "id, order_id, status, created_at, expires_at, updated_at, `lines`, request, \
             `returns`",
            "status = VALUES(status), expires_at = VALUES(expires_at), \
             updated_at = VALUES(updated_at), `lines` = VALUES(`lines`), \
             `returns` = VALUES(`returns`)",
            |script, reservation| {
                script
                    .uuid(reservation.id.as_uuid())
                    .sql(", ")
                    .text(reservation.order_id.as_str())
                    .sql(", ")
                    .text(reservation.status.as_str())
                    .sql(", ")
                    .time(reservation.created_at)
                    .sql(", ")
                    .time(reservation.expires_at)
                    .sql(", ")
                    .time(reservation.updated_at)
                    .sql(", ")
                    .json(&reservation.lines, "lines")?
                    .sql(", ")
                    .json(&reservation.request, "request")?
                    .sql(", ")
                    .json(&reservation.returns, "returns")?;
                Ok(())
            },
        )?;
        let mut open = Vec::new();
        let mut closed = Vec::new();
        for reservation in changes.reservations.values() {
            self.known.reservations.insert(reservation.id);
            let expires_at = match reservation.status {
                ReservationStatus::Active => Some(reservation.expires_at),
                ReservationStatus::Committed => None,
                _ => {
                    closed.push(reservation.id);
                    continue;
                }
            };
            for sku in reservation.skus() {
                open.push((reservation.id, sku, expires_at));
            }
        }
        if !open.is_empty() {
            script.insert("holds", "reservation_id, sku, expires_at");
            for (index, (id, sku, expires_at)) in open.iter().enumerate() {
                script
                    .row(index == 0)
                    .uuid(id.as_uuid())
                    .sql(", ")
                    .text(sku.as_str())
                    .sql(", ")
                    .opt_time(*expires_at)
                    .sql(")");
            }
            script
                .sql(" ON DUPLICATE KEY UPDATE expires_at = VALUES(expires_at)")
                .end();
        }
        if !closed.is_empty() {
            script.sql("DELETE FROM holds WHERE reservation_id IN (");
            for (index, id) in closed.iter().enumerate() {
                if index > 0 {
                    script.sql(", ");
                }
                script.uuid(id.as_uuid());
            }
            script.sql(")").end();
        }
        Ok(())
    }

    /// Purchase orders, transfers, investigations and counts.
    fn write_records(&mut self, script: &mut Script, changes: &Changes) -> Result<()> {
        let orders: Vec<&PurchaseOrder> = changes.purchase_orders.values().collect();
        write_upserts(
            script,
            &orders,
            |o| self.known.orders.contains(&o.id),
            "purchase_orders",
            "id, supplier, status, location, `lines`, created_at, updated_at",
            "status = VALUES(status), `lines` = VALUES(`lines`), updated_at = VALUES(updated_at)",
            |script, order| {
                script
                    .uuid(order.id.as_uuid())
                    .sql(", ")
                    .text(order.supplier.as_str())
                    .sql(", ")
                    .text(order.status.as_str())
                    .sql(", ")
                    .text(order.location.as_str())
                    .sql(", ")
                    .json(&order.lines, "lines")?
                    .sql(", ")
                    .time(order.created_at)
                    .sql(", ")
                    .time(order.updated_at);
                Ok(())
            },
        )?;
        self.known
            .orders
            .extend(changes.purchase_orders.keys().copied());

        let transfers: Vec<&Transfer> = changes.transfers.values().collect();
        write_upserts(
            script,
            &transfers,
            |t| self.known.transfers.contains(&t.id),
            "transfers",
            "id, sku, status, updated_at, body",
            "status = VALUES(status), updated_at = VALUES(updated_at), body = VALUES(body)",
            |script, transfer| {
                script
                    .uuid(transfer.id.as_uuid())
                    .sql(", ")
                    .text(transfer.sku.as_str())
                    .sql(", ")
                    .text(transfer.status.as_str())
                    .sql(", ")
                    .time(transfer.updated_at)
                    .sql(", ")
                    .json(transfer, "transfer")?;
                Ok(())
            },
        )?;
        self.known
            .transfers
            .extend(changes.transfers.keys().copied());

        let investigations: Vec<&Investigation> = changes.investigations.values().collect();
        write_upserts(
            script,
            &investigations,
            |i| self.known.investigations.contains(&i.id),
            "investigations",
            "id, sku, `open`, freezes, body",
            "`open` = VALUES(`open`), body = VALUES(body)",
            |script, investigation| {
                script
                    .uuid(investigation.id.as_uuid())
                    .sql(", ")
                    .text(investigation.sku.as_str())
                    .sql(", ")
                    .int(i64::from(investigation.is_open()))
                    .sql(", ")
                    .int(i64::from(investigation.freezes))
                    .sql(", ")
                    .json(investigation, "investigation")?;
                Ok(())
            },
        )?;
        self.known
            .investigations
            .extend(changes.investigations.keys().copied());

        let counts = &changes.counts;
        if !counts.is_empty() {
            script.insert("count_records", "sku, body");
            for (index, count) in counts.iter().enumerate() {
                script
                    .row(index == 0)
                    .text(count.sku.as_str())
                    .sql(", ")
                    .json(count, "count")?
                    .sql(")");
            }
            script.end();
            let mut last: BTreeMap<StockKey, i64> = BTreeMap::new();
            for count in counts {
                let key = StockKey::new(count.sku.clone(), count.location.clone());
                let at = last.entry(key).or_insert(i64::MIN);
                *at = (*at).max(count.at.timestamp_micros());
            }
            script.insert("last_counts", "sku, location, at");
            for (index, (key, at)) in last.iter().enumerate() {
                script
                    .row(index == 0)
                    .text(key.sku.as_str())
                    .sql(", ")
                    .text(key.location.as_str())
                    .sql(", ")
                    .int(*at)
                    .sql(")");
            }
            script
                .sql(" ON DUPLICATE KEY UPDATE at = GREATEST(at, VALUES(at))")
                .end();
        }
        Ok(())
    }

    /// Dirty marks for channel sync, shipments added to the daily sales and low-stock
    /// events, in SKU order (two units meet on these rows in one order).
    fn write_outboxes(script: &mut Script, changes: &Changes) -> Result<()> {
        if !changes.dirty.is_empty() {
            script.insert("sync_outbox", "sku, generation");
            for (index, sku) in changes.dirty.iter().enumerate() {
                script.row(index == 0).text(sku.as_str()).sql(", 1)");
            }
            script
                .sql(" ON DUPLICATE KEY UPDATE generation = generation + 1, retry_at = NULL")
                .end();
        }
        let shipped = shipped_in(changes);
        if !shipped.is_empty() {
            script.insert("daily_shipped", "sku, day, units, revenue");
            for (index, ((sku, day), sales)) in shipped.iter().enumerate() {
                // A date and a decimal render as digits, dashes and a point only.
                script
                    .row(index == 0)
                    .text(sku.as_str())
                    .sql(&format!(", '{}', ", day.format("%Y-%m-%d")))
                    .int(sales.units)
                    .sql(&format!(", {})", sales.revenue));
            }
            script
                .sql(
                    " ON DUPLICATE KEY UPDATE units = units + VALUES(units),
                      revenue = revenue + VALUES(revenue)",
                )
                .end();
        }
        if !changes.events.is_empty() {
            script.insert("stock_events", "sku, body");
            for (index, event) in changes.events.iter().enumerate() {
                script
                    .row(index == 0)
                    .text(event.sku.as_str())
                    .sql(", ")
                    .json(event, "stock event")?
                    .sql(")");
            }
            script.end();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_text_becomes_hex_literals_only() {
        let mut script = Script::default();
        script
            .text("x'); DROP TABLE stock; --")
            .sql(", ")
            .opt_text(None)
            .sql(", ")
            .uuid(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef))
            .sql(", ")
            .time(DateTime::from_timestamp_micros(1_796_263_938_123_456).unwrap())
            .sql(", ")
            .int(-7)
            .sql(", ")
            .text("sku-é 1")
            .sql(", ")
            .text("back\\slash")
            .sql(", ")
            .text("nul\0");
        assert_eq!(
            script.text,
            "_utf8mb4 X'7827293B2044524F50205441424C452073746F636B3B202D2D', NULL, \
             X'0123456789ABCDEF0123456789ABCDEF', '2026-12-03 02:12:18.123456', -7, \
             'sku-é 1', _utf8mb4 X'6261636B5C736C617368', _utf8mb4 X'6E756C00'"
        );
        let mut list = Script::default();
        list.text_list(std::iter::empty());
        assert_eq!(list.text, "NULL", "an empty IN list matches nothing");
    }

    #[test]
    fn a_text_splits_at_its_top_level_statements_only() {
        let mut script = Script::default();
        script.sql("START TRANSACTION;\n").mark();
        script
            .sql("BEGIN NOT ATOMIC\nSELECT 1;\nSELECT 2;\nEND;\n")
            .mark();
        // A text value holding a statement end is not split.
        script
            .sql("INSERT INTO t VALUES (")
            .text("a;\nb")
            .sql(")")
            .end();
        script.sql("COMMIT");
        assert_eq!(
            script.statements(),
            [
                "START TRANSACTION;",
                "BEGIN NOT ATOMIC\nSELECT 1;\nSELECT 2;\nEND;",
                "INSERT INTO t VALUES ('a;\nb');",
                "COMMIT"
            ]
        );
    }
}
