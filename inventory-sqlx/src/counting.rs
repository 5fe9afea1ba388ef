//! Counts and investigations on PostgreSQL.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::counting::{CountRecord, CountStore, Investigation, InvestigationId};
use inventory_core::{Sku, StockKey, StoreError};
use sqlx::Row;

use crate::error::corrupt_value;
use crate::rows::{self, decode_bodies};
use crate::store::{before, PgStore};

type Result<T> = std::result::Result<T, StoreError>;

#[async_trait]
impl CountStore for PgStore {
    async fn counts_of(&self, sku: &Sku) -> Result<Vec<CountRecord>> {
        let bodies: Vec<String> = self
            .retrying(|| {
                sqlx::query_scalar(
                    "SELECT body::text FROM count_records WHERE sku = $1 ORDER BY id",
                )
                .bind(sku.as_str())
                .fetch_all(self.pool())
            })
            .await?;
        decode_bodies(&bodies, "count")
    }

    async fn investigation(&self, id: &InvestigationId) -> Result<Option<Investigation>> {
        let body: Option<String> = self
            .retrying(|| {
                sqlx::query_scalar("SELECT body::text FROM investigations WHERE id = $1")
                    .bind(id.as_uuid())
                    .fetch_optional(self.pool())
            })
            .await?;
        Ok(decode_bodies(&body.into_iter().collect::<Vec<_>>(), "investigation")?.pop())
    }

    async fn last_counted(&self) -> Result<BTreeMap<StockKey, DateTime<Utc>>> {
        let found = self
            .retrying(|| {
                sqlx::query("SELECT sku, location, at FROM last_counts").fetch_all(self.pool())
            })
            .await?;
        found
            .iter()
            .map(|row| {
                let key = StockKey::new(
                    rows::sku(row.try_get(0).map_err(before)?)?,
                    rows::location(row.try_get(1).map_err(before)?)?,
                );
                let at: i64 = row.try_get(2).map_err(before)?;
                let at = DateTime::from_timestamp_micros(at)
                    .ok_or_else(|| corrupt_value("count time", at))?;
                Ok((key, at))
            })
            .collect()
    }

    async fn open_investigations(&self) -> Result<Vec<Investigation>> {
        let bodies: Vec<String> = self
            .retrying(|| {
                sqlx::query_scalar("SELECT body::text FROM investigations WHERE open ORDER BY id")
                    .fetch_all(self.pool())
            })
            .await?;
        decode_bodies(&bodies, "investigation")
    }
}
