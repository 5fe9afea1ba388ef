//! [`CountStore`]: count history and investigations, as a capability of a store.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::backend::Store;
use crate::error::StoreError;
use crate::id::Sku;
use crate::stock::StockKey;

use super::record::{CountRecord, Investigation, InvestigationId};

/// Optional capability: counts and investigations (written by the count commands).
#[async_trait]
pub trait CountStore: Store {
    /// Every count of `sku`, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn counts_of(&self, sku: &Sku) -> Result<Vec<CountRecord>, StoreError>;

    /// The investigation with this id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn investigation(
        &self,
        id: &InvestigationId,
    ) -> Result<Option<Investigation>, StoreError>;

    /// When each counted stock row was last counted.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn last_counted(&self) -> Result<BTreeMap<StockKey, DateTime<Utc>>, StoreError>;

    /// Every investigation not yet resolved, by id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn open_investigations(&self) -> Result<Vec<Investigation>, StoreError>;
}
