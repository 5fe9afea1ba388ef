//! [`SyncStore`] and [`DemandStore`] for [`SqliteStore`]: the outbox, channel state and
//! the daily shipped aggregate. Writes take the writer connection's turn (never inside
//! a unit's transaction); reads use the reader.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use inventory_core::reorder::{DemandStore, ShippedPerDay};
use inventory_core::sync::{DirtyMark, Pushed, StockUpdate, SyncStore};
use inventory_core::{LocationStock, Sku, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;

use crate::error::{corrupt, corrupt_value, store_error};
use crate::rows::{self, micros};
use crate::store::SqliteStore;

type Result<T> = std::result::Result<T, StoreError>;

/// Past this many SKUs, one scan of the stock table beats one lookup per SKU.
const WHOLE_SCAN_FROM: usize = 2_000;

/// Runs `work` in one immediate transaction.
fn transaction<T>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    connection
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(store_error)?;
    let result = work(connection).and_then(|value| {
        connection.execute_batch("COMMIT").map_err(store_error)?;
        Ok(value)
    });
    if result.is_err() && !connection.is_autocommit() {
        let _ = connection.execute_batch("ROLLBACK");
    }
    result
}

fn mark(connection: &Connection, skus: &[Sku]) -> Result<()> {
    let mut statement = connection
        .prepare_cached(
            "INSERT INTO sync_outbox (sku, generation) VALUES (?1, 1)
             ON CONFLICT (sku) DO UPDATE SET generation = generation + 1, retry_at = NULL",
        )
        .map_err(store_error)?;
    for sku in skus {
        statement.execute([sku.as_str()]).map_err(store_error)?;
    }
    Ok(())
}

#[async_trait]
impl SyncStore for SqliteStore {
    async fn claim_dirty(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DirtyMark>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let claimed = self
            .write(move |connection| {
                let mut statement = connection
                    .prepare_cached(
                        "UPDATE sync_outbox SET claimed_until = ?2
                         WHERE sku IN (
                            SELECT sku FROM sync_outbox
                            WHERE (claimed_until IS NULL OR claimed_until <= ?1)
                              AND (retry_at IS NULL OR retry_at <= ?1)
                            ORDER BY sku LIMIT ?3)
                         RETURNING sku, generation",
                    )
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![micros(now), micros(claim_until), limit], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                    })
                    .map_err(store_error)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(store_error)
            })
            .await?;
        claimed
            .into_iter()
            .map(|(sku, generation)| {
                Ok(DirtyMark {
                    sku: Sku::new(sku).map_err(|e| corrupt("sku", e))?,
                    generation,
                })
            })
            .collect()
    }

    async fn release_dirty(
        &self,
        marks: &[DirtyMark],
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let marks = marks.to_vec();
        self.write(move |connection| {
            transaction(connection, |connection| {
                for mark in &marks {
                    let (sku, generation) = (mark.sku.as_str(), mark.generation);
                    match retry_at {
                        None => {
                            connection
                                .prepare_cached("DELETE FROM sync_outbox WHERE sku = ?1 AND generation = ?2")
                                .and_then(|mut s| s.execute(params![sku, generation]))
                                .map_err(store_error)?;
                            connection
                                .prepare_cached("UPDATE sync_outbox SET claimed_until = NULL WHERE sku = ?1")
                                .and_then(|mut s| s.execute([sku]))
                                .map_err(store_error)?;
                        }
                        Some(at) => {
                            connection
                                .prepare_cached(
                                    "UPDATE sync_outbox SET claimed_until = NULL,
                                        retry_at = CASE WHEN generation = ?2 THEN ?3 ELSE retry_at END
                                     WHERE sku = ?1",
                                )
                                .and_then(|mut s| s.execute(params![sku, generation, micros(at)]))
                                .map_err(store_error)?;
                        }
                    }
                }
                Ok(())
            })
        })
        .await
    }

    async fn mark_dirty(&self, skus: &[Sku]) -> Result<()> {
        let skus = skus.to_vec();
        self.write(move |connection| transaction(connection, |connection| mark(connection, &skus)))
            .await
    }

    async fn frozen(&self, skus: &[Sku]) -> Result<BTreeSet<Sku>> {
        let skus = skus.to_vec();
        self.read(move |connection| crate::counting::frozen(connection, &skus))
            .await
    }

    async fn is_dirty(&self, sku: &Sku) -> Result<bool> {
        let sku = sku.clone();
        self.read(move |connection| {
            connection
                .query_row(
                    "SELECT 1 FROM sync_outbox WHERE sku = ?1",
                    [sku.as_str()],
                    |_| Ok(()),
                )
                .optional()
                .map(|found| found.is_some())
                .map_err(store_error)
        })
        .await
    }

    async fn skus_after(&self, after: Option<&Sku>, limit: usize) -> Result<Vec<Sku>> {
        let after = after.map(|sku| sku.as_str().to_owned()).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let names = self
            .read(move |connection| {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT DISTINCT sku FROM stock WHERE sku > ?1 ORDER BY sku LIMIT ?2",
                    )
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![after, limit], |row| row.get::<_, String>(0))
                    .map_err(store_error)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(store_error)
            })
            .await?;
        names
            .into_iter()
            .map(|name| Sku::new(name).map_err(|e| corrupt("sku", e)))
            .collect()
    }

    async fn stock_of(&self, skus: &[Sku]) -> Result<BTreeMap<Sku, Vec<LocationStock>>> {
        if skus.len() > WHOLE_SCAN_FROM {
            return self.read(rows::all_stock).await.map(|all| {
                let mut stock: BTreeMap<Sku, Vec<LocationStock>> =
                    skus.iter().map(|sku| (sku.clone(), Vec::new())).collect();
                for (key, level) in all {
                    if let Some(rows) = stock.get_mut(&key.sku) {
                        rows.push(LocationStock {
                            location: key.location,
                            level,
                        });
                    }
                }
                stock
            });
        }
        let skus = skus.to_vec();
        self.read(move |connection| {
            // One read transaction: every SKU as of the same commit.
            connection.execute_batch("BEGIN").map_err(store_error)?;
            let found: Result<BTreeMap<Sku, Vec<LocationStock>>> = skus
                .iter()
                .map(|sku| Ok((sku.clone(), rows::stock_of(connection, sku)?)))
                .collect();
            let _ = connection.execute_batch("COMMIT");
            found
        })
        .await
    }

    async fn last_pushed(&self, channel: &str, skus: &[Sku]) -> Result<BTreeMap<Sku, Pushed>> {
        let (channel, skus) = (channel.to_owned(), skus.to_vec());
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT quantity, pushed_at FROM channel_state WHERE channel = ?1 AND sku = ?2",
                )
                .map_err(store_error)?;
            let mut told = BTreeMap::new();
            for sku in skus {
                let row = statement
                    .query_row(params![channel, sku.as_str()], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
                    })
                    .optional()
                    .map_err(store_error)?;
                if let Some((quantity, at)) = row {
                    let at = DateTime::from_timestamp_micros(at)
                        .ok_or_else(|| corrupt_value("pushed_at", at))?;
                    told.insert(sku, Pushed { quantity, at });
                }
            }
            Ok(told)
        })
        .await
    }

    async fn record_pushed(
        &self,
        channel: &str,
        updates: &[StockUpdate],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let (channel, updates) = (channel.to_owned(), updates.to_vec());
        self.write(move |connection| {
            transaction(connection, |connection| {
                let mut statement = connection
                    .prepare_cached(
                        "INSERT INTO channel_state (channel, sku, quantity, pushed_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (channel, sku) DO UPDATE SET quantity = excluded.quantity, pushed_at = excluded.pushed_at",
                    )
                    .map_err(store_error)?;
                for update in &updates {
                    statement
                        .execute(params![channel, update.sku.as_str(), update.quantity, micros(at)])
                        .map_err(store_error)?;
                }
                Ok(())
            })
        })
        .await
    }
}

#[async_trait]
impl DemandStore for SqliteStore {
    async fn revenue(&self, first: NaiveDate, last: NaiveDate) -> Result<BTreeMap<Sku, Decimal>> {
        let (first, last) = (rows::epoch_day(first), rows::epoch_day(last));
        let found = self
            .read(move |connection| {
                let mut statement = connection
                    .prepare_cached("SELECT sku, revenue FROM daily_shipped WHERE day BETWEEN ?1 AND ?2 AND revenue != '0'")
                    .map_err(store_error)?;
                let rows = statement
                    .query_map(params![first, last], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                    .map_err(store_error)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(store_error)
            })
            .await?;
        let mut revenue: BTreeMap<Sku, Decimal> = BTreeMap::new();
        for (sku, amount) in found {
            let amount: Decimal = amount.parse().map_err(|e| corrupt("revenue", e))?;
            *revenue
                .entry(Sku::new(sku).map_err(|e| corrupt("sku", e))?)
                .or_default() += amount;
        }
        revenue.retain(|_, amount| !amount.is_zero());
        Ok(revenue)
    }

    async fn shipped_per_day(&self, first: NaiveDate, last: NaiveDate) -> Result<ShippedPerDay> {
        let (first, last) = (rows::epoch_day(first), rows::epoch_day(last));
        self.read(move |connection| {
            // A scan in key order (SKU, day): each SKU is validated once.
            let mut statement = connection
                .prepare_cached("SELECT sku, day, units FROM daily_shipped WHERE day BETWEEN ?1 AND ?2 ORDER BY sku, day")
                .map_err(store_error)?;
            let mut found = statement.query(params![first, last]).map_err(store_error)?;
            let mut shipped = ShippedPerDay::new();
            let mut current: Option<(String, BTreeMap<NaiveDate, i64>)> = None;
            while let Some(row) = found.next().map_err(store_error)? {
                let sku: String = row.get(0).map_err(store_error)?;
                let day = NaiveDate::default() + chrono::Days::new(u64::try_from(row.get::<_, i64>(1).map_err(store_error)?).unwrap_or(0));
                let units: i64 = row.get(2).map_err(store_error)?;
                if current.as_ref().is_none_or(|(name, _)| *name != sku) {
                    if let Some((name, days)) = current.take() {
                        shipped.insert(Sku::new(name).map_err(|e| corrupt("sku", e))?, days);
                    }
                    current = Some((sku, BTreeMap::new()));
                }
                if let Some((_, days)) = current.as_mut() {
                    days.insert(day, units);
                }
            }
            if let Some((name, days)) = current {
                shipped.insert(Sku::new(name).map_err(|e| corrupt("sku", e))?, days);
            }
            Ok(shipped)
        })
        .await
    }
}
