//! [`SyncStore`] and [`DemandStore`] for [`PgStore`]: the outbox, channel state and
//! the daily shipped aggregate. Claims use
//! `FOR UPDATE SKIP LOCKED`, so workers on several app servers share the dirty SKUs
//! and never hold the same one.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use inventory_core::reorder::{DemandStore, ShippedPerDay};
use inventory_core::sync::{DirtyMark, Pushed, StockUpdate, SyncStore};
use inventory_core::{LocationStock, Sku, StoreError};
use rust_decimal::Decimal;
use sqlx::Row;

use crate::error::corrupt;
use crate::rows;
use crate::store::{before, strings, PgStore};

type Result<T> = std::result::Result<T, StoreError>;

#[async_trait]
impl SyncStore for PgStore {
    async fn claim_dirty(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DirtyMark>> {
        let found = self
            .retrying(|| {
                sqlx::query(
                    "UPDATE sync_outbox SET claimed_until = $2
             WHERE sku IN (
                SELECT sku FROM sync_outbox
                WHERE (claimed_until IS NULL OR claimed_until <= $1)
                  AND (retry_at IS NULL OR retry_at <= $1)
                ORDER BY sku
                LIMIT $3
                FOR UPDATE SKIP LOCKED)
             RETURNING sku, generation",
                )
                .bind(now)
                .bind(claim_until)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(self.pool())
            })
            .await?;
        found
            .iter()
            .map(|row| {
                Ok(DirtyMark {
                    sku: rows::sku(row.try_get(0).map_err(before)?)?,
                    generation: row.try_get(1).map_err(before)?,
                })
            })
            .collect()
    }

    async fn release_dirty(
        &self,
        marks: &[DirtyMark],
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        if marks.is_empty() {
            return Ok(());
        }
        let skus: Vec<String> = marks.iter().map(|mark| mark.sku.to_string()).collect();
        let generations: Vec<i64> = marks.iter().map(|mark| mark.generation).collect();
        let statement = match retry_at {
            None => {
                "WITH marks AS (SELECT * FROM UNNEST($1::text[], $2::int8[]) AS m(sku, generation)),
                 locked AS (
                    SELECT sku FROM sync_outbox WHERE sku = ANY($1::text[])
                    ORDER BY sku FOR UPDATE),
                 done AS (
                    DELETE FROM sync_outbox o USING marks m
                    WHERE o.sku = m.sku AND o.generation = m.generation
                      AND o.sku IN (SELECT sku FROM locked)
                    RETURNING o.sku)
                 UPDATE sync_outbox o SET claimed_until = NULL
                 FROM marks m WHERE o.sku = m.sku AND o.sku NOT IN (SELECT sku FROM done)"
            }
            Some(_) => {
                "WITH locked AS (
                    SELECT sku FROM sync_outbox WHERE sku = ANY($1::text[])
                    ORDER BY sku FOR UPDATE)
                 UPDATE sync_outbox o SET claimed_until = NULL,
                    retry_at = CASE WHEN o.generation = m.generation THEN $3 ELSE o.retry_at END
                 FROM UNNEST($1::text[], $2::int8[]) AS m(sku, generation)
                 WHERE o.sku = m.sku AND o.sku IN (SELECT sku FROM locked)"
            }
        };
        self.retrying(|| {
            sqlx::query(statement)
                .bind(&skus)
                .bind(&generations)
                .bind(retry_at)
                .execute(self.pool())
        })
        .await?;
        Ok(())
    }

    async fn mark_dirty(&self, skus: &[Sku]) -> Result<()> {
        self.retrying(|| sqlx::query(
            "INSERT INTO sync_outbox (sku, generation) SELECT unnest($1::text[]), 1
             ON CONFLICT (sku) DO UPDATE SET generation = sync_outbox.generation + 1, retry_at = NULL",
        )
        .bind(strings(skus))
        .execute(self.pool())).await?;
        Ok(())
    }

    async fn frozen(&self, skus: &[Sku]) -> Result<BTreeSet<Sku>> {
        let names: Vec<String> = self.retrying(|| sqlx::query_scalar(
            "SELECT DISTINCT sku FROM investigations WHERE open AND freezes AND sku = ANY($1::text[])",
        )
        .bind(strings(skus))
        .fetch_all(self.pool())).await?;
        names.into_iter().map(rows::sku).collect()
    }

    async fn is_dirty(&self, sku: &Sku) -> Result<bool> {
        self.retrying(|| {
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sync_outbox WHERE sku = $1)")
                .bind(sku.as_str())
                .fetch_one(self.pool())
        })
        .await
    }

    async fn skus_after(&self, after: Option<&Sku>, limit: usize) -> Result<Vec<Sku>> {
        // Byte order (COLLATE "C"), the order of the core's `Sku`.
        let names: Vec<String> = self
            .retrying(|| {
                sqlx::query_scalar(
                    "SELECT DISTINCT sku COLLATE \"C\" AS sku FROM stock
             WHERE $1::text IS NULL OR sku COLLATE \"C\" > $1
             ORDER BY 1 LIMIT $2",
                )
                .bind(after.map(Sku::as_str))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(self.pool())
            })
            .await?;
        names.into_iter().map(rows::sku).collect()
    }

    async fn stock_of(&self, skus: &[Sku]) -> Result<BTreeMap<Sku, Vec<LocationStock>>> {
        // One statement: every SKU as of the same snapshot.
        let found = self
            .retrying(|| {
                sqlx::query(concat!(
                    "SELECT sku, location, ",
                    rows::level_columns!(),
                    " FROM stock WHERE sku = ANY($1::text[])"
                ))
                .bind(strings(skus))
                .fetch_all(self.pool())
            })
            .await?;
        let mut stock: BTreeMap<Sku, Vec<LocationStock>> =
            skus.iter().map(|sku| (sku.clone(), Vec::new())).collect();
        for row in &found {
            let sku = rows::sku(row.try_get(0).map_err(before)?)?;
            let location = rows::location(row.try_get(1).map_err(before)?)?;
            stock.entry(sku).or_default().push(LocationStock {
                location,
                level: rows::level(row, 2)?,
            });
        }
        Ok(stock)
    }

    async fn last_pushed(&self, channel: &str, skus: &[Sku]) -> Result<BTreeMap<Sku, Pushed>> {
        let found = self.retrying(|| sqlx::query("SELECT sku, quantity, pushed_at FROM channel_state WHERE channel = $1 AND sku = ANY($2::text[])")
            .bind(channel)
            .bind(strings(skus))
            .fetch_all(self.pool())).await?;
        found
            .iter()
            .map(|row| {
                let sku = rows::sku(row.try_get(0).map_err(before)?)?;
                let told = Pushed {
                    quantity: row.try_get(1).map_err(before)?,
                    at: row.try_get(2).map_err(before)?,
                };
                Ok((sku, told))
            })
            .collect()
    }

    async fn record_pushed(
        &self,
        channel: &str,
        updates: &[StockUpdate],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let skus: Vec<String> = updates
            .iter()
            .map(|update| update.sku.to_string())
            .collect();
        let quantities: Vec<i64> = updates.iter().map(|update| update.quantity).collect();
        self.retrying(|| sqlx::query(
            "INSERT INTO channel_state (channel, sku, quantity, pushed_at)
             SELECT $1, sku, quantity, $4 FROM UNNEST($2::text[], $3::int8[]) AS u(sku, quantity)
             ON CONFLICT (channel, sku) DO UPDATE SET quantity = excluded.quantity, pushed_at = excluded.pushed_at",
        )
        .bind(channel)
        .bind(&skus)
        .bind(&quantities)
        .bind(at)
        .execute(self.pool())).await?;
        Ok(())
    }
}

#[async_trait]
impl DemandStore for PgStore {
    async fn revenue(&self, first: NaiveDate, last: NaiveDate) -> Result<BTreeMap<Sku, Decimal>> {
        let found = self
            .retrying(|| {
                sqlx::query(
                    "SELECT sku, SUM(revenue)::text FROM daily_shipped WHERE day BETWEEN $1 AND $2
             GROUP BY sku HAVING SUM(revenue) <> 0",
                )
                .bind(first)
                .bind(last)
                .fetch_all(self.pool())
            })
            .await?;
        found
            .iter()
            .map(|row| {
                let sku = rows::sku(row.try_get(0).map_err(before)?)?;
                let amount: String = row.try_get(1).map_err(before)?;
                Ok((
                    sku,
                    amount
                        .parse::<Decimal>()
                        .map_err(|e| corrupt("revenue", e))?,
                ))
            })
            .collect()
    }

    async fn shipped_per_day(&self, first: NaiveDate, last: NaiveDate) -> Result<ShippedPerDay> {
        let found = self
            .retrying(|| {
                sqlx::query("SELECT sku, day, units FROM daily_shipped WHERE day BETWEEN $1 AND $2")
                    .bind(first)
                    .bind(last)
                    .fetch_all(self.pool())
            })
            .await?;
        let mut shipped = ShippedPerDay::new();
        for row in &found {
            let sku = rows::sku(row.try_get(0).map_err(before)?)?;
            let day: NaiveDate = row.try_get(1).map_err(before)?;
            shipped
                .entry(sku)
                .or_default()
                .insert(day, row.try_get(2).map_err(before)?);
        }
        Ok(shipped)
    }
}
