//! Purchase orders, suppliers and SKU links on PostgreSQL.

use async_trait::async_trait;
use inventory_core::reorder::{
    PurchaseOrder, PurchaseOrderId, PurchaseStore, Supplier, SupplierLink,
};
use inventory_core::StoreError;

use crate::error::corrupt;
use crate::rows;
use crate::store::PgStore;

type Result<T> = std::result::Result<T, StoreError>;

async fn bodies<T: serde::de::DeserializeOwned>(
    store: &PgStore,
    sql: &'static str,
    what: &'static str,
) -> Result<Vec<T>> {
    let texts: Vec<String> = store
        .retrying(|| sqlx::query_scalar(sql).fetch_all(store.pool()))
        .await?;
    rows::decode_bodies(&texts, what)
}

#[async_trait]
impl PurchaseStore for PgStore {
    async fn put_supplier(&self, supplier: &Supplier) -> Result<()> {
        let body = serde_json::to_string(supplier).map_err(|e| corrupt("supplier", e))?;
        self.retrying(|| sqlx::query("INSERT INTO suppliers (id, body) VALUES ($1, $2::jsonb) ON CONFLICT (id) DO UPDATE SET body = excluded.body")
            .bind(supplier.id.as_str())
            .bind(body.as_str())
            .execute(self.pool())).await?;
        Ok(())
    }

    async fn suppliers(&self) -> Result<Vec<Supplier>> {
        bodies(
            self,
            "SELECT body::text FROM suppliers ORDER BY id COLLATE \"C\"",
            "supplier",
        )
        .await
    }

    async fn put_link(&self, link: &SupplierLink) -> Result<()> {
        let body = serde_json::to_string(link).map_err(|e| corrupt("link", e))?;
        self.retrying(|| {
            sqlx::query(
                "INSERT INTO sku_suppliers (sku, supplier, body) VALUES ($1, $2, $3::jsonb)
             ON CONFLICT (sku) DO UPDATE SET supplier = excluded.supplier, body = excluded.body",
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
        bodies(
            self,
            "SELECT body::text FROM sku_suppliers ORDER BY sku COLLATE \"C\"",
            "link",
        )
        .await
    }

    async fn purchase_order(&self, id: &PurchaseOrderId) -> Result<Option<PurchaseOrder>> {
        let found = self
            .retrying(|| {
                sqlx::query(rows::SELECT_PURCHASE_ORDER)
                    .bind(id.as_uuid())
                    .fetch_optional(self.pool())
            })
            .await?;
        found.as_ref().map(rows::purchase_order).transpose()
    }

    async fn all_purchase_orders(&self) -> Result<Vec<PurchaseOrder>> {
        let found = self
            .retrying(|| sqlx::query(rows::SELECT_PURCHASE_ORDERS).fetch_all(self.pool()))
            .await?;
        let mut all = found
            .iter()
            .map(rows::purchase_order)
            .collect::<Result<Vec<_>>>()?;
        all.sort_by_key(|order| order.id);
        Ok(all)
    }
}
