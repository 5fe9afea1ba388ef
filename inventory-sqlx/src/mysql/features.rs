//! The feature traits on [`MySqlStore`]: audits, channel sync, low-stock events,
//! demand, purchasing, counting and the inbox. Claims lock the rows they hand out
//! (`FOR UPDATE SKIP LOCKED` for dirty marks, so workers on several app servers share
//! them; in order for events, so they go out in the order raised).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use inventory_core::backend::AuditStore;
use inventory_core::counting::{CountRecord, CountStore, Investigation, InvestigationId};
use inventory_core::events::{EventStore, QueuedEvent};
use inventory_core::inbox::{InboxStore, LineRef};
use inventory_core::reorder::{
    DemandStore, PurchaseOrder, PurchaseOrderId, PurchaseStore, ShippedPerDay, Supplier,
    SupplierLink,
};
use inventory_core::sync::{DirtyMark, Pushed, StockUpdate, SyncStore};
use inventory_core::{
    LedgerCursor, LedgerEntry, LedgerPage, LedgerQuery, LocationStock, OrderId, Reservation, Sku,
    StockKey, StockLevel,
};
use rust_decimal::Decimal;
use sqlx::mysql::MySqlRow;
use sqlx::AssertSqlSafe;

use super::rows::{self, level_columns, marks, reservation_columns, Result};
use super::MySqlStore;
use crate::error::{corrupt, corrupt_value};
use crate::rows::{location, sku};

fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn decode<T: serde::de::DeserializeOwned>(texts: &[String], what: &'static str) -> Result<Vec<T>> {
    crate::rows::decode_bodies(texts, what)
}

impl MySqlStore {
    /// The first column of every row of `sql`, as text (JSON bodies), with `texts`
    /// bound in order.
    async fn texts(&self, sql: &str, texts: &[&str]) -> Result<Vec<String>> {
        self.retrying(|| {
            let mut statement = sqlx::query_scalar(AssertSqlSafe(sql.to_owned()));
            for text in texts {
                statement = statement.bind(*text);
            }
            statement.fetch_all(self.pool())
        })
        .await
    }

    /// Every row of `sql` with `skus` bound in order (for `IN` lists).
    async fn rows_of(&self, sql: String, skus: &[Sku]) -> Result<Vec<MySqlRow>> {
        self.retrying(|| {
            let mut statement = sqlx::query(AssertSqlSafe(sql.clone()));
            for sku in skus {
                statement = statement.bind(sku.as_str());
            }
            statement.fetch_all(self.pool())
        })
        .await
    }
}

#[async_trait]
impl AuditStore for MySqlStore {
    async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>> {
        let sql = format!(
            "SELECT sku, location, {}, version FROM stock",
            level_columns!()
        );
        let found = self.rows_of(sql, &[]).await?;
        found
            .iter()
            .map(|row| rows::stock_row(row).map(|(key, level, _)| (key, level)))
            .collect()
    }

    async fn all_reservations(&self) -> Result<Vec<Reservation>> {
        let sql = format!(
            "SELECT {} FROM reservations r ORDER BY r.id",
            reservation_columns!()
        );
        let found = self.rows_of(sql, &[]).await?;
        let mut all = found
            .iter()
            .map(rows::reservation)
            .collect::<Result<Vec<_>>>()?;
        all.sort_by_key(|reservation| reservation.id);
        Ok(all)
    }

    async fn ledger(&self) -> Result<Vec<LedgerEntry>> {
        let sql = format!(
            "{} ORDER BY sku, location, version",
            rows::SELECT_LEDGER_COLUMNS
        );
        let found = self.rows_of(sql, &[]).await?;
        found.iter().map(rows::ledger_entry).collect()
    }

    async fn ledger_page(&self, query: &LedgerQuery) -> Result<LedgerPage> {
        // Only the filters given, so each uses its index; identifiers compare by code
        // point (binary collation), as the core's cursor orders them.
        enum Value {
            Text(String),
            Time(DateTime<Utc>),
            Seq(i64),
        }
        let mut conditions: Vec<&str> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(sku) = &query.sku {
            conditions.push("sku = ?");
            values.push(Value::Text(sku.to_string()));
        }
        if let Some(location) = &query.location {
            conditions.push("location = ?");
            values.push(Value::Text(location.to_string()));
        }
        if let Some(since) = query.since {
            conditions.push("at >= ?");
            values.push(Value::Time(since));
        }
        if let Some(until) = query.until {
            conditions.push("at < ?");
            values.push(Value::Time(until));
        }
        if let Some(reference) = &query.reference {
            conditions.push("reference = ?");
            values.push(Value::Text(reference.clone()));
        }
        if let Some(after) = &query.after {
            conditions.push("(at, sku, location, version) < (?, ?, ?, ?)");
            values.push(Value::Time(after.at));
            values.push(Value::Text(after.sku.to_string()));
            values.push(Value::Text(after.location.to_string()));
            values.push(Value::Seq(after.seq));
        }
        let condition = if conditions.is_empty() {
            "TRUE".to_owned()
        } else {
            conditions.join(" AND ")
        };
        let sql = format!(
            "{} WHERE {condition}
             ORDER BY at DESC, sku DESC, location DESC, version DESC LIMIT {}",
            rows::SELECT_LEDGER_COLUMNS,
            query.page_size() + 1
        );
        let found = self
            .retrying(|| {
                let mut statement = sqlx::query(AssertSqlSafe(sql.clone()));
                for value in &values {
                    statement = match value {
                        Value::Text(text) => statement.bind(text.as_str()),
                        Value::Time(at) => statement.bind(*at),
                        Value::Seq(seq) => statement.bind(*seq),
                    };
                }
                statement.fetch_all(self.pool())
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
            .collect::<Result<Vec<_>>>()?;
        Ok(LedgerPage::of(query, positioned))
    }
}

/// Most order lines one `INSERT` of [`InboxStore::record_lines`] carries.
const LINES_PER_STATEMENT: usize = 1_000;

#[async_trait]
impl InboxStore for MySqlStore {
    async fn handled(&self, source: &str, id: &str) -> Result<bool> {
        let found: i64 = self
            .retrying(|| {
                sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE source = ? AND id = ?")
                    .bind(source)
                    .bind(id)
                    .fetch_one(self.pool())
            })
            .await?;
        Ok(found > 0)
    }

    async fn record_handled(&self, source: &str, id: &str, at: DateTime<Utc>) -> Result<bool> {
        let done = self
            .retrying(|| {
                // A row already there is left as it is and inserts nothing; two
                // records at once collide on the key, and the retry inserts nothing.
                sqlx::query(
                    "INSERT INTO inbox (source, id, handled_at)
                     SELECT ?, ?, ? FROM DUAL
                     WHERE NOT EXISTS (SELECT 1 FROM inbox WHERE source = ? AND id = ?)",
                )
                .bind(source)
                .bind(id)
                .bind(at)
                .bind(source)
                .bind(id)
                .execute(self.pool())
            })
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn forget_handled_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = self
            .retrying(|| {
                sqlx::query("DELETE FROM inbox WHERE handled_at < ?")
                    .bind(before)
                    .execute(self.pool())
            })
            .await?;
        Ok(done.rows_affected())
    }

    async fn record_lines(&self, order: &OrderId, lines: &[LineRef]) -> Result<u64> {
        if lines.is_empty() {
            return Ok(0);
        }
        // One transaction: all lines or none, in statements of at most
        // `LINES_PER_STATEMENT` rows (MySQL takes 65,535 placeholders a statement).
        // IGNORE skips only the rows already there: every value is a valid id, which
        // fits its column.
        self.retrying(|| async {
            let mut tx = self.pool().begin().await?;
            let mut added = 0;
            for chunk in lines.chunks(LINES_PER_STATEMENT) {
                let statement = format!(
                    "INSERT IGNORE INTO order_lines (order_id, line_id, sku) VALUES {}",
                    vec!["(?, ?, ?)"; chunk.len()].join(", ")
                );
                // Only placeholders are formatted in.
                let mut query = sqlx::query(AssertSqlSafe(statement));
                for line in chunk {
                    query = query
                        .bind(order.as_str())
                        .bind(line.line.as_str())
                        .bind(line.sku.as_str());
                }
                added += query.execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(added)
        })
        .await
    }

    async fn lines_of(&self, order: &OrderId) -> Result<Vec<LineRef>> {
        let found: Vec<(String, String)> = self
            .retrying(|| {
                sqlx::query_as(
                    "SELECT line_id, sku FROM order_lines WHERE order_id = ? ORDER BY line_id",
                )
                .bind(order.as_str())
                .fetch_all(self.pool())
            })
            .await?;
        found
            .into_iter()
            .map(|(line, sku)| LineRef::read_back(line, sku))
            .collect()
    }
}

#[async_trait]
impl SyncStore for MySqlStore {
    async fn claim_dirty(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit_to: usize,
    ) -> Result<Vec<DirtyMark>> {
        let found: Vec<(String, i64)> = self
            .retrying(|| async {
                let mut tx = self.pool().begin().await?;
                let found: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT sku, generation FROM sync_outbox
                     WHERE (claimed_until IS NULL OR claimed_until <= ?)
                       AND (retry_at IS NULL OR retry_at <= ?)
                     ORDER BY sku LIMIT ? FOR UPDATE SKIP LOCKED",
                )
                .bind(now)
                .bind(now)
                .bind(limit(limit_to))
                .fetch_all(&mut *tx)
                .await?;
                if !found.is_empty() {
                    let sql = format!(
                        "UPDATE sync_outbox SET claimed_until = ? WHERE sku IN ({})",
                        marks(found.len())
                    );
                    let mut statement = sqlx::query(AssertSqlSafe(sql)).bind(claim_until);
                    for (sku, _) in &found {
                        statement = statement.bind(sku.as_str());
                    }
                    statement.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(found)
            })
            .await?;
        found
            .into_iter()
            .map(|(name, generation)| {
                Ok(DirtyMark {
                    sku: sku(name)?,
                    generation,
                })
            })
            .collect()
    }

    async fn release_dirty(
        &self,
        released: &[DirtyMark],
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        if released.is_empty() {
            return Ok(());
        }
        let mut sorted: Vec<&DirtyMark> = released.iter().collect();
        sorted.sort_by(|a, b| a.sku.cmp(&b.sku));
        self.retrying(|| async {
            let mut tx = self.pool().begin().await?;
            let sql = format!(
                "SELECT sku, generation FROM sync_outbox WHERE sku IN ({})
                 ORDER BY sku FOR UPDATE",
                marks(sorted.len())
            );
            let mut statement = sqlx::query_as(AssertSqlSafe(sql));
            for mark in &sorted {
                statement = statement.bind(mark.sku.as_str());
            }
            let stored: Vec<(String, i64)> = statement.fetch_all(&mut *tx).await?;
            let stored: BTreeMap<String, i64> = stored.into_iter().collect();
            // Marks whose generation is unchanged: nothing newer happened meanwhile.
            let stored_now = |mark: &&&DirtyMark| stored.get(mark.sku.as_str()).copied();
            let same: Vec<&str> = sorted
                .iter()
                .filter(|mark| stored_now(mark) == Some(mark.generation))
                .map(|mark| mark.sku.as_str())
                .collect();
            let newer: Vec<&str> = sorted
                .iter()
                .filter(|mark| stored_now(mark).is_some_and(|g| g != mark.generation))
                .map(|mark| mark.sku.as_str())
                .collect();
            let run = |sql: String, skus: &[&str], first: Option<DateTime<Utc>>| {
                let mut statement = sqlx::query(AssertSqlSafe(sql));
                if let Some(at) = first {
                    statement = statement.bind(at);
                }
                for name in skus {
                    statement = statement.bind(name.to_string());
                }
                statement
            };
            if !same.is_empty() {
                let sql = match retry_at {
                    None => format!(
                        "DELETE FROM sync_outbox WHERE sku IN ({})",
                        marks(same.len())
                    ),
                    Some(_) => format!(
                        "UPDATE sync_outbox SET claimed_until = NULL, retry_at = ?
                         WHERE sku IN ({})",
                        marks(same.len())
                    ),
                };
                run(sql, &same, retry_at).execute(&mut *tx).await?;
            }
            if !newer.is_empty() {
                let sql = format!(
                    "UPDATE sync_outbox SET claimed_until = NULL WHERE sku IN ({})",
                    marks(newer.len())
                );
                run(sql, &newer, None).execute(&mut *tx).await?;
            }
            tx.commit().await
        })
        .await?;
        Ok(())
    }

    async fn mark_dirty(&self, skus: &[Sku]) -> Result<()> {
        if skus.is_empty() {
            return Ok(());
        }
        let mut sorted = skus.to_vec();
        sorted.sort();
        sorted.dedup();
        let rows = vec!["(?, 1)"; sorted.len()].join(", ");
        let sql = format!(
            "INSERT INTO sync_outbox (sku, generation) VALUES {rows}
             ON DUPLICATE KEY UPDATE generation = generation + 1, retry_at = NULL"
        );
        self.rows_of(sql, &sorted).await?;
        Ok(())
    }

    async fn frozen(&self, skus: &[Sku]) -> Result<BTreeSet<Sku>> {
        if skus.is_empty() {
            return Ok(BTreeSet::new());
        }
        let sql = format!(
            "SELECT DISTINCT sku FROM investigations WHERE `open` AND freezes AND sku IN ({})",
            marks(skus.len())
        );
        let found = self.rows_of(sql, skus).await?;
        found.iter().map(|row| sku(rows::get(row, 0)?)).collect()
    }

    async fn is_dirty(&self, name: &Sku) -> Result<bool> {
        let found: i64 = self
            .retrying(|| {
                sqlx::query_scalar("SELECT COUNT(*) FROM sync_outbox WHERE sku = ?")
                    .bind(name.as_str())
                    .fetch_one(self.pool())
            })
            .await?;
        Ok(found > 0)
    }

    async fn skus_after(&self, after: Option<&Sku>, limit_to: usize) -> Result<Vec<Sku>> {
        let names: Vec<String> = self
            .retrying(|| {
                sqlx::query_scalar(
                    "SELECT DISTINCT sku FROM stock WHERE ? IS NULL OR sku > ?
                     ORDER BY sku LIMIT ?",
                )
                .bind(after.map(Sku::as_str))
                .bind(after.map(Sku::as_str))
                .bind(limit(limit_to))
                .fetch_all(self.pool())
            })
            .await?;
        names.into_iter().map(sku).collect()
    }

    async fn stock_of(&self, skus: &[Sku]) -> Result<BTreeMap<Sku, Vec<LocationStock>>> {
        let mut stock: BTreeMap<Sku, Vec<LocationStock>> =
            skus.iter().map(|name| (name.clone(), Vec::new())).collect();
        if skus.is_empty() {
            return Ok(stock);
        }
        // One statement: every SKU as of the same snapshot.
        let sql = format!(
            "SELECT sku, location, {} FROM stock WHERE sku IN ({}) ORDER BY sku, location",
            level_columns!(),
            marks(skus.len())
        );
        for row in &self.rows_of(sql, skus).await? {
            stock
                .entry(sku(rows::get(row, 0)?)?)
                .or_default()
                .push(LocationStock {
                    location: location(rows::get(row, 1)?)?,
                    level: rows::level(row, 2)?,
                });
        }
        Ok(stock)
    }

    async fn last_pushed(&self, channel: &str, skus: &[Sku]) -> Result<BTreeMap<Sku, Pushed>> {
        if skus.is_empty() {
            return Ok(BTreeMap::new());
        }
        let sql = format!(
            "SELECT sku, quantity, pushed_at FROM channel_state
             WHERE channel = ? AND sku IN ({})",
            marks(skus.len())
        );
        let found = self
            .retrying(|| {
                let mut statement = sqlx::query(AssertSqlSafe(sql.clone())).bind(channel);
                for name in skus {
                    statement = statement.bind(name.as_str());
                }
                statement.fetch_all(self.pool())
            })
            .await?;
        found
            .iter()
            .map(|row| {
                let told = Pushed {
                    quantity: rows::get(row, 1)?,
                    at: rows::get(row, 2)?,
                };
                Ok((sku(rows::get(row, 0)?)?, told))
            })
            .collect()
    }

    async fn record_pushed(
        &self,
        channel: &str,
        updates: &[StockUpdate],
        at: DateTime<Utc>,
    ) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let rows = vec!["(?, ?, ?, ?)"; updates.len()].join(", ");
        let sql = format!(
            "INSERT INTO channel_state (channel, sku, quantity, pushed_at) VALUES {rows}
             ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), pushed_at = VALUES(pushed_at)"
        );
        self.retrying(|| {
            let mut statement = sqlx::query(AssertSqlSafe(sql.clone()));
            for update in updates {
                statement = statement
                    .bind(channel)
                    .bind(update.sku.as_str())
                    .bind(update.quantity)
                    .bind(at);
            }
            statement.execute(self.pool())
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl EventStore for MySqlStore {
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit_to: usize,
    ) -> Result<Vec<QueuedEvent>> {
        type Found = (
            i64,
            i32,
            String,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        );
        let claimed: Vec<Found> = self
            .retrying(|| async {
                // Locking the oldest events makes one claimer at a time: a second one
                // waits, then sees them claimed and stops there (events go out in the
                // order raised).
                let mut tx = self.pool().begin().await?;
                let found: Vec<Found> = sqlx::query_as(
                    "SELECT seq, attempts, body, claimed_until, retry_at FROM stock_events
                     ORDER BY seq LIMIT ? FOR UPDATE",
                )
                .bind(limit(limit_to))
                .fetch_all(&mut *tx)
                .await?;
                let due: Vec<Found> = found
                    .into_iter()
                    .take_while(|(_, _, _, claimed, retry)| {
                        claimed.is_none_or(|until| until <= now) && retry.is_none_or(|at| at <= now)
                    })
                    .collect();
                if !due.is_empty() {
                    let sql = format!(
                        "UPDATE stock_events SET claimed_until = ? WHERE seq IN ({})",
                        marks(due.len())
                    );
                    let mut statement = sqlx::query(AssertSqlSafe(sql)).bind(claim_until);
                    for (seq, ..) in &due {
                        statement = statement.bind(*seq);
                    }
                    statement.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(due)
            })
            .await?;
        claimed
            .into_iter()
            .map(|(seq, attempts, body, _, _)| queued(seq, attempts, &body))
            .collect()
    }

    async fn finish_events(&self, seqs: &[i64], retry_at: Option<DateTime<Utc>>) -> Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        let sql = match retry_at {
            None => format!(
                "DELETE FROM stock_events WHERE seq IN ({})",
                marks(seqs.len())
            ),
            Some(_) => format!(
                "UPDATE stock_events
                 SET attempts = attempts + 1, claimed_until = NULL, retry_at = ?
                 WHERE seq IN ({})",
                marks(seqs.len())
            ),
        };
        self.retrying(|| {
            let mut statement = sqlx::query(AssertSqlSafe(sql.clone()));
            if let Some(at) = retry_at {
                statement = statement.bind(at);
            }
            for seq in seqs {
                statement = statement.bind(*seq);
            }
            statement.execute(self.pool())
        })
        .await?;
        Ok(())
    }

    async fn pending_events(&self) -> Result<Vec<QueuedEvent>> {
        let found: Vec<(i64, i32, String)> = self
            .retrying(|| {
                sqlx::query_as("SELECT seq, attempts, body FROM stock_events ORDER BY seq")
                    .fetch_all(self.pool())
            })
            .await?;
        found
            .into_iter()
            .map(|(seq, attempts, body)| queued(seq, attempts, &body))
            .collect()
    }
}

fn queued(seq: i64, attempts: i32, body: &str) -> Result<QueuedEvent> {
    Ok(QueuedEvent {
        seq,
        attempts: u32::try_from(attempts).map_err(|e| corrupt("attempts", e))?,
        event: serde_json::from_str(body).map_err(|e| corrupt("stock event", e))?,
    })
}

#[async_trait]
impl DemandStore for MySqlStore {
    async fn revenue(&self, first: NaiveDate, last: NaiveDate) -> Result<BTreeMap<Sku, Decimal>> {
        let found: Vec<(String, String)> = self
            .retrying(|| {
                sqlx::query_as(
                    "SELECT sku, CAST(SUM(revenue) AS CHAR) FROM daily_shipped
                     WHERE day BETWEEN ? AND ? GROUP BY sku HAVING SUM(revenue) <> 0",
                )
                .bind(first)
                .bind(last)
                .fetch_all(self.pool())
            })
            .await?;
        found
            .into_iter()
            .map(|(name, amount)| {
                let amount = amount
                    .parse::<Decimal>()
                    .map_err(|e| corrupt("revenue", e))?
                    .normalize();
                Ok((sku(name)?, amount))
            })
            .collect()
    }

    async fn shipped_per_day(&self, first: NaiveDate, last: NaiveDate) -> Result<ShippedPerDay> {
        let found: Vec<(String, NaiveDate, i64)> = self
            .retrying(|| {
                sqlx::query_as(
                    "SELECT sku, day, units FROM daily_shipped WHERE day BETWEEN ? AND ?",
                )
                .bind(first)
                .bind(last)
                .fetch_all(self.pool())
            })
            .await?;
        let mut shipped = ShippedPerDay::new();
        for (name, day, units) in found {
            shipped.entry(sku(name)?).or_default().insert(day, units);
        }
        Ok(shipped)
    }
}

#[async_trait]
impl PurchaseStore for MySqlStore {
    async fn put_supplier(&self, supplier: &Supplier) -> Result<()> {
        let body = serde_json::to_string(supplier).map_err(|e| corrupt("supplier", e))?;
        self.retrying(|| {
            sqlx::query(
                "INSERT INTO suppliers (id, body) VALUES (?, ?)
                 ON DUPLICATE KEY UPDATE body = VALUES(body)",
            )
            .bind(supplier.id.as_str())
            .bind(body.as_str())
            .execute(self.pool())
        })
        .await?;
        Ok(())
    }

    async fn suppliers(&self) -> Result<Vec<Supplier>> {
        let texts = self
            .texts("SELECT body FROM suppliers ORDER BY id", &[])
            .await?;
        decode(&texts, "supplier")
    }

    async fn put_link(&self, link: &SupplierLink) -> Result<()> {
        let body = serde_json::to_string(link).map_err(|e| corrupt("link", e))?;
        self.retrying(|| {
            sqlx::query(
                "INSERT INTO sku_suppliers (sku, supplier, body) VALUES (?, ?, ?)
                 ON DUPLICATE KEY UPDATE supplier = VALUES(supplier), body = VALUES(body)",
            )
            .bind(link.sku.as_str())
            .bind(link.supplier.as_str())
            .bind(body.as_str())
            .execute(self.pool())
        })
        .await?;
        Ok(())
    }

    async fn links(&self) -> Result<Vec<SupplierLink>> {
        let texts = self
            .texts("SELECT body FROM sku_suppliers ORDER BY sku", &[])
            .await?;
        decode(&texts, "link")
    }

    async fn purchase_order(&self, id: &PurchaseOrderId) -> Result<Option<PurchaseOrder>> {
        let sql = format!("{} WHERE id = ?", rows::PURCHASE_ORDER_COLUMNS);
        let found = self
            .retrying(|| {
                sqlx::query(AssertSqlSafe(sql.clone()))
                    .bind(id.as_uuid())
                    .fetch_optional(self.pool())
            })
            .await?;
        found.as_ref().map(rows::purchase_order).transpose()
    }

    async fn all_purchase_orders(&self) -> Result<Vec<PurchaseOrder>> {
        let sql = format!("{} ORDER BY id", rows::PURCHASE_ORDER_COLUMNS);
        let found = self.rows_of(sql, &[]).await?;
        let mut all = found
            .iter()
            .map(rows::purchase_order)
            .collect::<Result<Vec<_>>>()?;
        all.sort_by_key(|order| order.id);
        Ok(all)
    }
}

#[async_trait]
impl CountStore for MySqlStore {
    async fn counts_of(&self, name: &Sku) -> Result<Vec<CountRecord>> {
        let texts = self
            .texts(
                "SELECT body FROM count_records WHERE sku = ? ORDER BY id",
                &[name.as_str()],
            )
            .await?;
        decode(&texts, "count")
    }

    async fn investigation(&self, id: &InvestigationId) -> Result<Option<Investigation>> {
        let body: Option<String> = self
            .retrying(|| {
                sqlx::query_scalar("SELECT body FROM investigations WHERE id = ?")
                    .bind(id.as_uuid())
                    .fetch_optional(self.pool())
            })
            .await?;
        Ok(decode(&body.into_iter().collect::<Vec<_>>(), "investigation")?.pop())
    }

    async fn last_counted(&self) -> Result<BTreeMap<StockKey, DateTime<Utc>>> {
        let found: Vec<(String, String, i64)> = self
            .retrying(|| {
                sqlx::query_as("SELECT sku, location, at FROM last_counts").fetch_all(self.pool())
            })
            .await?;
        found
            .into_iter()
            .map(|(name, place, at)| {
                let key = StockKey::new(sku(name)?, location(place)?);
                let at = DateTime::from_timestamp_micros(at)
                    .ok_or_else(|| corrupt_value("count time", at))?;
                Ok((key, at))
            })
            .collect()
    }

    async fn open_investigations(&self) -> Result<Vec<Investigation>> {
        let texts = self
            .texts(
                "SELECT body FROM investigations WHERE `open` ORDER BY id",
                &[],
            )
            .await?;
        decode(&texts, "investigation")
    }
}
