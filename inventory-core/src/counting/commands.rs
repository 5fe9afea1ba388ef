//! The count commands on [`Inventory`].

use std::collections::BTreeMap;

use crate::backend::Store;
use crate::decide::{count, LoadPlan};
use crate::error::Result;
use crate::id::{LocationId, Sku};
use crate::inventory::Inventory;
use crate::stock::StockKey;

use super::count::CountThresholds;
use super::record::{CountReport, Investigation, InvestigationId};

impl<S: Store> Inventory<S> {
    /// Records a cycle count: `on_hand` at the row becomes `counted`; a discrepancy
    /// above the adjust limit opens an investigation, above the freeze limit it freezes
    /// the SKU (no reservations, channels told 0) until resolved. A count below what is
    /// promised is reported as a shortage.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidQuantity`](crate::DomainError::InvalidQuantity) for a
    /// negative count, [`DomainError::InvalidActor`](crate::DomainError::InvalidActor)
    /// for a bad name, [`DomainError::InvalidSetting`](crate::DomainError::InvalidSetting)
    /// for bad thresholds, unknown SKU or location; storage errors.
    pub async fn record_count(
        &self,
        sku: Sku,
        location: LocationId,
        counted: i64,
        counted_by: &str,
        thresholds: CountThresholds,
    ) -> Result<CountReport> {
        let key = StockKey::new(sku, location);
        let counted_by = counted_by.to_owned();
        self.run(LoadPlan::count(&key.sku), move |draft| {
            count::record(draft, &key, counted, &counted_by, &thresholds)
        })
        .await
    }

    /// Resolves an open investigation, after an optional recount of its row.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvestigationNotFound`](crate::DomainError::InvestigationNotFound),
    /// [`DomainError::InvestigationResolved`](crate::DomainError::InvestigationResolved),
    /// and the errors of a count; storage errors.
    pub async fn resolve_investigation(
        &self,
        id: InvestigationId,
        recount: Option<i64>,
        resolved_by: &str,
    ) -> Result<Investigation> {
        let resolved_by = resolved_by.to_owned();
        self.run(LoadPlan::investigation(id), move |draft| {
            count::resolve(draft, &id, recount, &resolved_by)
        })
        .await
    }

    /// Resolves every open investigation of `sku` in one transaction, each after the
    /// recount `recounts` names for its location (if any): the SKU sells again.
    ///
    /// # Errors
    ///
    /// [`DomainError::UnknownSku`](crate::DomainError::UnknownSku),
    /// [`DomainError::NoOpenInvestigation`](crate::DomainError::NoOpenInvestigation),
    /// [`DomainError::RecountWithoutInvestigation`](crate::DomainError::RecountWithoutInvestigation) for a recount
    /// at a location without an open investigation, and the errors of a count; storage
    /// errors. Nothing is resolved unless all of it is.
    pub async fn unfreeze(
        &self,
        sku: Sku,
        recounts: BTreeMap<LocationId, i64>,
        resolved_by: &str,
    ) -> Result<Vec<Investigation>> {
        let resolved_by = resolved_by.to_owned();
        self.run(LoadPlan::unfreeze(&sku), move |draft| {
            count::unfreeze(draft, &sku, &recounts, &resolved_by)
        })
        .await
    }
}
