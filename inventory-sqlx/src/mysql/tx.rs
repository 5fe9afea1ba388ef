//! [`MySqlTx`]: one unit of work on a pooled MySQL or MariaDB connection: `BEGIN`,
//! locking reads in key order, one multi-row statement per table written, `COMMIT`.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::backend::{assemble, by_key, owing_skus, skus_to_lock, StoreTx};
use inventory_core::counting::{Investigation, InvestigationId};
use inventory_core::decide::{Changes, LoadPlan, Snapshot};
use inventory_core::reorder::{shipped_in, PurchaseOrder, PurchaseOrderId};
use inventory_core::{
    LedgerEntry, Reservation, ReservationId, ReservationStatus, Sku, StockKey, Transfer, TransferId,
};
use sqlx::mysql::{MySqlArguments, MySqlConnection, MySqlPool};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, MySql, Transaction};
use uuid::Uuid;

use super::rows::{self, level_columns, marks, reservation_columns, Result};
use crate::error::{corrupt, store_error, Phase};
use crate::store::before;

/// A unit of work on one pooled connection, in a transaction at the session's
/// `READ COMMITTED` isolation: every row it decides on is read with
/// `SELECT ... FOR UPDATE` (reservations in id order, then stock rows in key order), so
/// nothing it read changes before its commit. Dropping it before the commit writes
/// nothing.
#[derive(Debug)]
pub struct MySqlTx {
    tx: Transaction<'static, MySql>,
    /// Version of each stock row the unit loaded (or wrote); rows absent are new.
    versions: HashMap<StockKey, i64>,
    /// Records the unit loaded (or wrote): these are updated, others inserted (so that
    /// two units creating the same record collide on its key instead of one
    /// overwriting the other).
    known: Known,
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
    pub(crate) async fn open(pool: &MySqlPool) -> Result<Self> {
        Ok(Self {
            tx: pool.begin().await.map_err(before)?,
            versions: HashMap::new(),
            known: Known::default(),
        })
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
        &mut self.tx
    }

    /// Runs a locking read of reservation rows (`reservation_columns!` order).
    async fn reservations_of(&mut self, query: MyQuery<'_>) -> Result<Vec<Reservation>> {
        let found = query.fetch_all(self.connection()).await.map_err(before)?;
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
             ORDER BY r.id FOR UPDATE",
            reservation_columns!(),
            marks(skus.len())
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

    async fn execute(&mut self, statement: MyQuery<'_>) -> Result<()> {
        statement.execute(self.connection()).await.map_err(before)?;
        Ok(())
    }
}

#[async_trait]
impl StoreTx for MySqlTx {
    async fn load(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot> {
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

    async fn persist(&mut self, changes: &Changes) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.write_ledger(changes).await?;
        self.write_reservations(changes).await?;
        self.write_records(changes).await?;
        self.write_outboxes(changes).await?;
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        self.tx
            .commit()
            .await
            .map_err(|error| store_error(error, Phase::Commit))
    }
}

/// The columns of a stock row as written.
const STOCK_COLUMNS: &str = "sku, location, on_hand, reserved, `committed`, in_transit, \
     damaged, quality_control, safety_stock, backordered, version";

/// `INSERT INTO table (columns) VALUES (?, ...), ...` for `rows` rows of `width` values.
fn insert(table: &str, columns: &str, width: usize, rows: usize) -> String {
    let row = format!("({})", marks(width));
    format!(
        "INSERT INTO {table} ({columns}) VALUES {}",
        vec![row; rows].join(", ")
    )
}

impl MySqlTx {
    /// Writes the stock rows and appends the ledger entries, each at its row's next
    /// version: rows the unit loaded are updated (they are locked), new rows inserted
    /// (a row another unit created first fails on its key and the unit runs again).
    async fn write_ledger(&mut self, changes: &Changes) -> Result<()> {
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
            let mut sql = insert("stock", STOCK_COLUMNS, 11, rows.len());
            if update {
                sql.push_str(
                    " ON DUPLICATE KEY UPDATE on_hand = VALUES(on_hand),
                      reserved = VALUES(reserved), `committed` = VALUES(`committed`),
                      in_transit = VALUES(in_transit), damaged = VALUES(damaged),
                      quality_control = VALUES(quality_control),
                      safety_stock = VALUES(safety_stock), backordered = VALUES(backordered),
                      version = VALUES(version)",
                );
            }
            let mut statement = query(sql);
            for (key, level, version) in rows {
                statement = statement
                    .bind(key.sku.as_str())
                    .bind(key.location.as_str())
                    .bind(level.on_hand)
                    .bind(level.reserved)
                    .bind(level.committed)
                    .bind(level.in_transit)
                    .bind(level.damaged)
                    .bind(level.quality_control)
                    .bind(level.safety_stock)
                    .bind(level.backordered)
                    .bind(*version);
            }
            self.execute(statement).await?;
        }
        for (key, _, version) in loaded.into_iter().chain(created) {
            self.versions.insert(key.clone(), version);
        }
        if changes.ledger.is_empty() {
            return Ok(());
        }
        let sql = insert(
            "ledger",
            "sku, location, version, at, movement, quantity,
             before_on_hand, before_reserved, before_committed, before_in_transit,
             before_damaged, before_quality_control, before_safety_stock, before_backordered,
             after_on_hand, after_reserved, after_committed, after_in_transit,
             after_damaged, after_quality_control, after_safety_stock, after_backordered,
             reservation_id, order_id, reason, unit_price, idempotency_key, actor, reference",
            29,
            changes.ledger.len(),
        );
        let mut statement = query(sql);
        for (entry, version) in changes.ledger.iter().zip(entry_versions) {
            let (b, a) = (entry.before, entry.after);
            statement = statement
                .bind(entry.key.sku.as_str())
                .bind(entry.key.location.as_str())
                .bind(version)
                .bind(entry.at)
                .bind(entry.movement.as_str())
                .bind(entry.quantity)
                .bind(b.on_hand)
                .bind(b.reserved)
                .bind(b.committed)
                .bind(b.in_transit)
                .bind(b.damaged)
                .bind(b.quality_control)
                .bind(b.safety_stock)
                .bind(b.backordered)
                .bind(a.on_hand)
                .bind(a.reserved)
                .bind(a.committed)
                .bind(a.in_transit)
                .bind(a.damaged)
                .bind(a.quality_control)
                .bind(a.safety_stock)
                .bind(a.backordered)
                .bind(entry.reservation_id.map(|id| id.as_uuid()))
                .bind(entry.order_id.as_ref().map(ToString::to_string))
                .bind(entry.reason.clone())
                .bind(entry.unit_price.map(|price| price.to_string()))
                .bind(entry.idempotency_key.as_ref().map(ToString::to_string))
                .bind(entry.actor.clone())
                .bind(entry.reference.clone());
        }
        self.execute(statement).await
    }

    /// Writes reservations and keeps `holds` in step: one row per SKU while a
    /// reservation is open, with its expiry while it is active; none once it is closed.
    async fn write_reservations(&mut self, changes: &Changes) -> Result<()> {
        let (mut loaded, mut created) = (Vec::new(), Vec::new());
        for reservation in changes.reservations.values() {
            if self.known.reservations.contains(&reservation.id) {
                loaded.push(reservation);
            } else {
                created.push(reservation);
            }
        }
        for (rows, update) in [(&loaded, true), (&created, false)] {
            if rows.is_empty() {
                continue;
            }
            let mut sql = insert(
                "reservations",
                "id, order_id, status, created_at, expires_at, updated_at, `lines`, request, \
                 `returns`",
                9,
                rows.len(),
            );
            if update {
                sql.push_str(
                    " ON DUPLICATE KEY UPDATE status = VALUES(status),
                      expires_at = VALUES(expires_at), updated_at = VALUES(updated_at),
                      `lines` = VALUES(`lines`), `returns` = VALUES(`returns`)",
                );
            }
            let mut statement = query(sql);
            for reservation in rows.iter() {
                statement = statement
                    .bind(reservation.id.as_uuid())
                    .bind(reservation.order_id.as_str())
                    .bind(reservation.status.as_str())
                    .bind(reservation.created_at)
                    .bind(reservation.expires_at)
                    .bind(reservation.updated_at)
                    .bind(body(&reservation.lines, "lines")?)
                    .bind(body(&reservation.request, "request")?)
                    .bind(body(&reservation.returns, "returns")?);
            }
            self.execute(statement).await?;
        }
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
            let mut sql = insert("holds", "reservation_id, sku, expires_at", 3, open.len());
            sql.push_str(" ON DUPLICATE KEY UPDATE expires_at = VALUES(expires_at)");
            let mut statement = query(sql);
            for (id, sku, expires_at) in &open {
                statement = statement
                    .bind(id.as_uuid())
                    .bind(sku.as_str())
                    .bind(*expires_at);
            }
            self.execute(statement).await?;
        }
        if !closed.is_empty() {
            let sql = format!(
                "DELETE FROM holds WHERE reservation_id IN ({})",
                marks(closed.len())
            );
            let mut statement = query(sql);
            for id in &closed {
                statement = statement.bind(id.as_uuid());
            }
            self.execute(statement).await?;
        }
        Ok(())
    }

    /// Writes purchase orders, transfers, investigations and counts.
    async fn write_records(&mut self, changes: &Changes) -> Result<()> {
        let orders: Vec<&PurchaseOrder> = changes.purchase_orders.values().collect();
        for update in [true, false] {
            let rows: Vec<_> = orders
                .iter()
                .filter(|o| self.known.orders.contains(&o.id) == update)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let mut sql = insert(
                "purchase_orders",
                "id, supplier, status, location, `lines`, created_at, updated_at",
                7,
                rows.len(),
            );
            if update {
                sql.push_str(
                    " ON DUPLICATE KEY UPDATE status = VALUES(status), `lines` = VALUES(`lines`),
                      updated_at = VALUES(updated_at)",
                );
            }
            let mut statement = query(sql);
            for order in rows {
                statement = statement
                    .bind(order.id.as_uuid())
                    .bind(order.supplier.as_str())
                    .bind(order.status.as_str())
                    .bind(order.location.as_str())
                    .bind(body(&order.lines, "lines")?)
                    .bind(order.created_at)
                    .bind(order.updated_at);
            }
            self.execute(statement).await?;
        }
        self.known.orders.extend(orders.iter().map(|o| o.id));

        let transfers: Vec<&Transfer> = changes.transfers.values().collect();
        for update in [true, false] {
            let rows: Vec<_> = transfers
                .iter()
                .filter(|t| self.known.transfers.contains(&t.id) == update)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let mut sql = insert(
                "transfers",
                "id, sku, status, updated_at, body",
                5,
                rows.len(),
            );
            if update {
                sql.push_str(
                    " ON DUPLICATE KEY UPDATE status = VALUES(status),
                      updated_at = VALUES(updated_at), body = VALUES(body)",
                );
            }
            let mut statement = query(sql);
            for transfer in rows {
                statement = statement
                    .bind(transfer.id.as_uuid())
                    .bind(transfer.sku.as_str())
                    .bind(transfer.status.as_str())
                    .bind(transfer.updated_at)
                    .bind(body(transfer, "transfer")?);
            }
            self.execute(statement).await?;
        }
        self.known.transfers.extend(transfers.iter().map(|t| t.id));

        let investigations: Vec<&Investigation> = changes.investigations.values().collect();
        for update in [true, false] {
            let rows: Vec<_> = investigations
                .iter()
                .filter(|i| self.known.investigations.contains(&i.id) == update)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let mut sql = insert(
                "investigations",
                "id, sku, `open`, freezes, body",
                5,
                rows.len(),
            );
            if update {
                sql.push_str(
                    " ON DUPLICATE KEY UPDATE `open` = VALUES(`open`), body = VALUES(body)",
                );
            }
            let mut statement = query(sql);
            for investigation in rows {
                statement = statement
                    .bind(investigation.id.as_uuid())
                    .bind(investigation.sku.as_str())
                    .bind(investigation.is_open())
                    .bind(investigation.freezes)
                    .bind(body(investigation, "investigation")?);
            }
            self.execute(statement).await?;
        }
        self.known
            .investigations
            .extend(investigations.iter().map(|i| i.id));

        let counts = &changes.counts;
        if !counts.is_empty() {
            let mut statement = query(insert("count_records", "sku, body", 2, counts.len()));
            for count in counts {
                statement = statement
                    .bind(count.sku.as_str())
                    .bind(body(count, "count")?);
            }
            self.execute(statement).await?;
            let mut last: BTreeMap<StockKey, i64> = BTreeMap::new();
            for count in counts {
                let key = StockKey::new(count.sku.clone(), count.location.clone());
                let at = last.entry(key).or_insert(i64::MIN);
                *at = (*at).max(count.at.timestamp_micros());
            }
            let mut sql = insert("last_counts", "sku, location, at", 3, last.len());
            sql.push_str(" ON DUPLICATE KEY UPDATE at = GREATEST(at, VALUES(at))");
            let mut statement = query(sql);
            for (key, at) in &last {
                statement = statement
                    .bind(key.sku.as_str())
                    .bind(key.location.as_str())
                    .bind(*at);
            }
            self.execute(statement).await?;
        }
        Ok(())
    }

    /// Marks dirty SKUs for channel sync, adds shipments to the daily sales and appends
    /// low-stock events, in SKU order (two units meet on these rows in one order).
    async fn write_outboxes(&mut self, changes: &Changes) -> Result<()> {
        if !changes.dirty.is_empty() {
            let mut sql = insert("sync_outbox", "sku, generation", 2, changes.dirty.len());
            sql.push_str(" ON DUPLICATE KEY UPDATE generation = generation + 1, retry_at = NULL");
            let mut statement = query(sql);
            for sku in &changes.dirty {
                statement = statement.bind(sku.as_str()).bind(1_i64);
            }
            self.execute(statement).await?;
        }
        let shipped = shipped_in(changes);
        if !shipped.is_empty() {
            let mut sql = insert(
                "daily_shipped",
                "sku, day, units, revenue",
                4,
                shipped.len(),
            );
            sql.push_str(
                " ON DUPLICATE KEY UPDATE units = units + VALUES(units),
                  revenue = revenue + VALUES(revenue)",
            );
            let mut statement = query(sql);
            for ((sku, day), sales) in &shipped {
                statement = statement
                    .bind(sku.as_str())
                    .bind(*day)
                    .bind(sales.units)
                    .bind(sales.revenue.to_string());
            }
            self.execute(statement).await?;
        }
        if !changes.events.is_empty() {
            let mut statement = query(insert("stock_events", "sku, body", 2, changes.events.len()));
            for event in &changes.events {
                statement = statement
                    .bind(event.sku.as_str())
                    .bind(body(event, "stock event")?);
            }
            self.execute(statement).await?;
        }
        Ok(())
    }
}
