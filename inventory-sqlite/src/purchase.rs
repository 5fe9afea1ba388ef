//! Purchase orders, suppliers and SKU links on SQLite.

use async_trait::async_trait;
use inventory_core::reorder::{
    PurchaseOrder, PurchaseOrderId, PurchaseStore, Supplier, SupplierLink,
};
use inventory_core::{LocationId, StoreError, SupplierId};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{corrupt, corrupt_value, store_error};
use crate::rows::{decode, micros, texts};
use crate::store::SqliteStore;

type Result<T> = std::result::Result<T, StoreError>;

const COLUMNS: &str = "id, supplier, status, location, lines, created_at, updated_at";

struct RawOrder {
    id: String,
    supplier: String,
    status: String,
    location: String,
    lines: String,
    created_at: i64,
    updated_at: i64,
}

impl RawOrder {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            supplier: row.get(1)?,
            status: row.get(2)?,
            location: row.get(3)?,
            lines: row.get(4)?,
            created_at: row.get(5)?,
            updated_at: row.get(6)?,
        })
    }

    fn into_order(self) -> Result<PurchaseOrder> {
        let time = |micros: i64| {
            chrono::DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| corrupt_value("timestamp", micros))
        };
        Ok(PurchaseOrder {
            id: PurchaseOrderId::parse(&self.id).map_err(|e| corrupt("purchase order id", e))?,
            supplier: SupplierId::new(self.supplier).map_err(|e| corrupt("supplier", e))?,
            status: self.status.parse().map_err(|e| corrupt("status", e))?,
            location: LocationId::new(self.location).map_err(|e| corrupt("location", e))?,
            lines: serde_json::from_str(&self.lines).map_err(|e| corrupt("lines", e))?,
            created_at: time(self.created_at)?,
            updated_at: time(self.updated_at)?,
        })
    }
}

fn orders_where(
    connection: &Connection,
    condition: &str,
    bind: impl rusqlite::Params,
) -> Result<Vec<PurchaseOrder>> {
    let sql = format!("SELECT {COLUMNS} FROM purchase_orders WHERE {condition}");
    let mut statement = connection.prepare_cached(&sql).map_err(store_error)?;
    let raw = statement
        .query_map(bind, RawOrder::read)
        .map_err(store_error)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(store_error)?;
    raw.into_iter().map(RawOrder::into_order).collect()
}

/// The orders with these ids and the open drafts of these suppliers.
pub(crate) fn locked_orders(
    connection: &Connection,
    ids: &[PurchaseOrderId],
    drafts_of: &[SupplierId],
) -> Result<Vec<PurchaseOrder>> {
    let mut found = Vec::new();
    for id in ids {
        found.extend(orders_where(connection, "id = ?1", [id.to_string()])?);
    }
    for supplier in drafts_of {
        for order in orders_where(
            connection,
            "supplier = ?1 AND status = 'draft'",
            [supplier.as_str()],
        )? {
            if !found.iter().any(|seen: &PurchaseOrder| seen.id == order.id) {
                found.push(order);
            }
        }
    }
    Ok(found)
}

/// Inserts or updates purchase orders.
pub(crate) fn persist_orders<'a>(
    connection: &Connection,
    orders: impl IntoIterator<Item = &'a PurchaseOrder>,
) -> Result<()> {
    let mut upsert = connection
        .prepare_cached(
            "INSERT INTO purchase_orders (id, supplier, status, location, lines, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, lines = excluded.lines,
                updated_at = excluded.updated_at",
        )
        .map_err(store_error)?;
    for order in orders {
        let lines = serde_json::to_string(&order.lines).map_err(|e| corrupt("lines", e))?;
        upsert
            .execute(params![
                order.id.to_string(),
                order.supplier.as_str(),
                order.status.as_str(),
                order.location.as_str(),
                lines,
                micros(order.created_at),
                micros(order.updated_at),
            ])
            .map_err(store_error)?;
    }
    Ok(())
}

fn bodies<T: serde::de::DeserializeOwned>(
    connection: &Connection,
    sql: &'static str,
    what: &'static str,
) -> Result<Vec<T>> {
    decode(texts(connection, sql, [])?, what)
}

#[async_trait]
impl PurchaseStore for SqliteStore {
    async fn put_supplier(&self, supplier: &Supplier) -> Result<()> {
        let (id, body) = (
            supplier.id.to_string(),
            serde_json::to_string(supplier).map_err(|e| corrupt("supplier", e))?,
        );
        self.write(move |connection| {
            connection
                .execute(
                    "INSERT INTO suppliers (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                    params![id, body],
                )
                .map(drop)
                .map_err(store_error)
        })
        .await
    }

    async fn suppliers(&self) -> Result<Vec<Supplier>> {
        self.read(|connection| {
            bodies(
                connection,
                "SELECT body FROM suppliers ORDER BY id",
                "supplier",
            )
        })
        .await
    }

    async fn put_link(&self, link: &SupplierLink) -> Result<()> {
        let (sku, supplier) = (link.sku.to_string(), link.supplier.to_string());
        let body = serde_json::to_string(link).map_err(|e| corrupt("link", e))?;
        self.write(move |connection| {
            connection
                .execute(
                    "INSERT INTO sku_suppliers (sku, supplier, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (sku) DO UPDATE SET supplier = excluded.supplier, body = excluded.body",
                    params![sku, supplier, body],
                )
                .map(drop)
                .map_err(store_error)
        })
        .await
    }

    async fn links(&self) -> Result<Vec<SupplierLink>> {
        self.read(|connection| {
            bodies(
                connection,
                "SELECT body FROM sku_suppliers ORDER BY sku",
                "link",
            )
        })
        .await
    }

    async fn purchase_order(&self, id: &PurchaseOrderId) -> Result<Option<PurchaseOrder>> {
        let id = id.to_string();
        self.read(move |connection| {
            let sql = format!("SELECT {COLUMNS} FROM purchase_orders WHERE id = ?1");
            let raw = connection
                .query_row(&sql, [id], RawOrder::read)
                .optional()
                .map_err(store_error)?;
            raw.map(RawOrder::into_order).transpose()
        })
        .await
    }

    async fn all_purchase_orders(&self) -> Result<Vec<PurchaseOrder>> {
        self.read(|connection| {
            let mut all = orders_where(connection, "1 = 1", [])?;
            all.sort_by_key(|order| order.id);
            Ok(all)
        })
        .await
    }
}
