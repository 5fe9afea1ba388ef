//! Counts and investigations on SQLite.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use async_trait::async_trait;
use inventory_core::counting::{CountRecord, CountStore, Investigation, InvestigationId};
use inventory_core::{LocationId, Sku, StockKey, StoreError};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{corrupt, corrupt_value, store_error};
use crate::rows::{decode, texts};
use crate::store::SqliteStore;

type Result<T> = std::result::Result<T, StoreError>;

/// The investigations with these ids and the open ones of these SKUs.
pub(crate) fn locked_investigations(
    connection: &Connection,
    ids: &[InvestigationId],
    open_of: &[Sku],
) -> Result<Vec<Investigation>> {
    let mut found: Vec<Investigation> = Vec::new();
    for id in ids {
        found.extend(decode::<Investigation>(
            texts(
                connection,
                "SELECT body FROM investigations WHERE id = ?1",
                [id.to_string()],
            )?,
            "investigation",
        )?);
    }
    for sku in open_of {
        let open = decode::<Investigation>(
            texts(
                connection,
                "SELECT body FROM investigations WHERE sku = ?1 AND open = 1",
                [sku.as_str()],
            )?,
            "investigation",
        )?;
        found.extend(open.into_iter().filter(|i| !ids.contains(&i.id)));
    }
    Ok(found)
}

/// Appends counts and writes investigations.
pub(crate) fn persist_counting(
    connection: &Connection,
    changes: &inventory_core::decide::Changes,
) -> Result<()> {
    let mut count = connection
        .prepare_cached("INSERT INTO count_records (sku, body) VALUES (?1, ?2)")
        .map_err(store_error)?;
    for record in &changes.counts {
        let body = serde_json::to_string(record).map_err(|e| corrupt("count", e))?;
        count
            .execute(params![record.sku.as_str(), body])
            .map_err(store_error)?;
    }
    let mut last = connection
        .prepare_cached(
            "INSERT INTO last_counts (sku, location, at) VALUES (?1, ?2, ?3)
             ON CONFLICT (sku, location) DO UPDATE SET at = max(at, excluded.at)",
        )
        .map_err(store_error)?;
    for record in &changes.counts {
        last.execute(params![
            record.sku.as_str(),
            record.location.as_str(),
            record.at.timestamp_micros()
        ])
        .map_err(store_error)?;
    }
    let mut investigation = connection
        .prepare_cached(
            "INSERT INTO investigations (id, sku, open, freezes, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET open = excluded.open, body = excluded.body",
        )
        .map_err(store_error)?;
    for item in changes.investigations.values() {
        let body = serde_json::to_string(item).map_err(|e| corrupt("investigation", e))?;
        investigation
            .execute(params![
                item.id.to_string(),
                item.sku.as_str(),
                item.is_open(),
                item.freezes,
                body
            ])
            .map_err(store_error)?;
    }
    Ok(())
}

/// Which of `skus` an open investigation freezes.
pub(crate) fn frozen(connection: &Connection, skus: &[Sku]) -> Result<BTreeSet<Sku>> {
    let mut statement = connection
        .prepare_cached(
            "SELECT 1 FROM investigations WHERE sku = ?1 AND open = 1 AND freezes = 1 LIMIT 1",
        )
        .map_err(store_error)?;
    let mut frozen = BTreeSet::new();
    for sku in skus {
        if statement
            .query_row([sku.as_str()], |_| Ok(()))
            .optional()
            .map_err(store_error)?
            .is_some()
        {
            frozen.insert(sku.clone());
        }
    }
    Ok(frozen)
}

#[async_trait]
impl CountStore for SqliteStore {
    async fn counts_of(&self, sku: &Sku) -> Result<Vec<CountRecord>> {
        let sku = sku.as_str().to_owned();
        let found = self
            .read(move |connection| {
                texts(
                    connection,
                    "SELECT body FROM count_records WHERE sku = ?1 ORDER BY seq",
                    [sku],
                )
            })
            .await?;
        decode(found, "count")
    }

    async fn investigation(&self, id: &InvestigationId) -> Result<Option<Investigation>> {
        let id = id.to_string();
        let found = self
            .read(move |connection| {
                texts(
                    connection,
                    "SELECT body FROM investigations WHERE id = ?1",
                    [id],
                )
            })
            .await?;
        Ok(decode(found, "investigation")?.into_iter().next())
    }

    async fn last_counted(&self) -> Result<BTreeMap<StockKey, DateTime<Utc>>> {
        let found = self
            .read(|connection| {
                let mut statement = connection
                    .prepare_cached("SELECT sku, location, at FROM last_counts")
                    .map_err(store_error)?;
                let rows = statement
                    .query_map([], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(store_error)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(store_error)
            })
            .await?;
        found
            .into_iter()
            .map(|(sku, location, at)| {
                let key = StockKey::new(
                    Sku::new(sku).map_err(|e| corrupt("sku", e))?,
                    LocationId::new(location).map_err(|e| corrupt("location", e))?,
                );
                Ok((
                    key,
                    DateTime::from_timestamp_micros(at)
                        .ok_or_else(|| corrupt_value("count time", at))?,
                ))
            })
            .collect()
    }

    async fn open_investigations(&self) -> Result<Vec<Investigation>> {
        let found = self
            .read(|connection| {
                texts(
                    connection,
                    "SELECT body FROM investigations WHERE open = 1 ORDER BY id",
                    [],
                )
            })
            .await?;
        let mut open: Vec<Investigation> = decode(found, "investigation")?;
        open.sort_by_key(|investigation| investigation.id);
        Ok(open)
    }
}
