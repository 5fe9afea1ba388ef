//! The catalog (bundle definitions) on SQLite: one JSON row per SKU and one version row.

use inventory_core::catalog::{Catalog, SkuSettings};
use inventory_core::{Sku, StoreError};
use rusqlite::{params, Connection};

use crate::error::{corrupt, store_error};

type Result<T> = std::result::Result<T, StoreError>;

/// The catalog's version.
pub(crate) fn version(connection: &Connection) -> Result<u64> {
    let version: i64 = connection
        .prepare_cached("SELECT version FROM catalog_version WHERE id = 1")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map_err(store_error)?;
    u64::try_from(version).map_err(|error| corrupt("catalog version", error))
}

/// The whole catalog, read by one statement (one consistent snapshot).
pub(crate) fn read(connection: &Connection) -> Result<Catalog> {
    let mut statement = connection
        .prepare_cached(
            "SELECT v.version, c.sku, c.settings
             FROM catalog_version AS v LEFT JOIN catalog AS c ON 1 = 1
             WHERE v.id = 1",
        )
        .map_err(store_error)?;
    let rows = statement
        .query_map([], |row| {
            let version: i64 = row.get(0)?;
            let entry: Option<(String, String)> = match row.get::<_, Option<String>>(1)? {
                Some(sku) => Some((sku, row.get(2)?)),
                None => None,
            };
            Ok((version, entry))
        })
        .map_err(store_error)?;
    let mut version = 0;
    let mut entries = Vec::new();
    for row in rows {
        let (found, entry) = row.map_err(store_error)?;
        version = u64::try_from(found).map_err(|error| corrupt("catalog version", error))?;
        if let Some((sku, settings)) = entry {
            let sku = Sku::new(sku).map_err(|error| corrupt("catalog sku", error))?;
            let settings: SkuSettings = serde_json::from_str(&settings)
                .map_err(|error| corrupt("catalog settings", error))?;
            entries.push((sku, settings));
        }
    }
    Ok(Catalog::new(version, entries))
}

/// Writes `settings` of `sku` over version `expected` and marks it for channel sync,
/// in one transaction.
pub(crate) fn put(
    connection: &Connection,
    sku: &Sku,
    settings: &SkuSettings,
    expected: u64,
) -> Result<u64> {
    let tx = connection.unchecked_transaction().map_err(store_error)?;
    if version(&tx)? != expected {
        return Err(StoreError::Conflict("the catalog changed meanwhile".into()));
    }
    if settings.is_empty() {
        tx.execute("DELETE FROM catalog WHERE sku = ?1", params![sku.as_str()])
            .map_err(store_error)?;
    } else {
        let body =
            serde_json::to_string(settings).map_err(|error| corrupt("catalog settings", error))?;
        tx.execute(
            "INSERT INTO catalog (sku, settings) VALUES (?1, ?2)
             ON CONFLICT (sku) DO UPDATE SET settings = excluded.settings",
            params![sku.as_str(), body],
        )
        .map_err(store_error)?;
    }
    tx.execute(
        "UPDATE catalog_version SET version = version + 1 WHERE id = 1",
        [],
    )
    .map_err(store_error)?;
    // The SKU's number may change with its definition: channels hear of it.
    tx.execute(
        "INSERT INTO sync_outbox (sku, generation) VALUES (?1, 1)
         ON CONFLICT (sku) DO UPDATE SET generation = generation + 1, retry_at = NULL",
        params![sku.as_str()],
    )
    .map_err(store_error)?;
    tx.commit().map_err(store_error)?;
    Ok(expected + 1)
}
