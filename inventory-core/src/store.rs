//! The storage traits every backend implements, and the shared loader.
//!
//! A backend only runs SQL (or touches memory) and maps rows to core types: it locks and
//! loads what a [`LoadPlan`] names, persists [`Changes`], and commits. Every decision is
//! made by [`decide`](crate::decide::decide) in between.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::decide::{Changes, LoadPlan, Snapshot};
use crate::error::StoreError;
use crate::id::{ReservationId, Sku};
use crate::ledger::LedgerEntry;
use crate::reservation::Reservation;
use crate::stock::{LocationStock, StockKey, StockLevel};

/// A storage backend: opens transactions and answers plain reads.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// One open transaction.
    type Tx: StoreTx;

    /// Opens a transaction. Dropping it without [`StoreTx::commit`] rolls it back.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot start one.
    async fn begin(&self) -> Result<Self::Tx, StoreError>;

    /// Every stock row of `sku` (any order; empty when the SKU is unknown).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError>;

    /// The reservation with this id, if any.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError>;
}

/// An open transaction. Every `lock_*` call locks what it returns until commit or drop,
/// so no other transaction can change it in between.
#[async_trait]
pub trait StoreTx: Send {
    /// Locks and returns the reservations with these ids that exist.
    ///
    /// # Errors
    ///
    /// [`StoreError`]; [`StoreError::Conflict`] when the lock cannot be had now.
    async fn lock_reservations(
        &mut self,
        ids: &[ReservationId],
    ) -> Result<Vec<Reservation>, StoreError>;

    /// Locks and returns active holds with `expires_at <= now` that hold any of `skus`.
    ///
    /// # Errors
    ///
    /// [`StoreError`]; [`StoreError::Conflict`] when the lock cannot be had now.
    async fn lock_overdue_holds(
        &mut self,
        skus: &[Sku],
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError>;

    /// Locks and returns up to `limit` active holds with `expires_at <= now`, any SKU,
    /// the longest overdue first.
    ///
    /// # Errors
    ///
    /// [`StoreError`]; [`StoreError::Conflict`] when the lock cannot be had now.
    async fn lock_due_holds(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Reservation>, StoreError>;

    /// Locks and returns every stock row of `skus`, which come sorted and unique, in
    /// key order (so two transactions never wait on each other in a cycle).
    ///
    /// # Errors
    ///
    /// [`StoreError`]; [`StoreError::Conflict`] when the lock cannot be had now.
    async fn lock_stock(&mut self, skus: &[Sku])
        -> Result<Vec<(StockKey, StockLevel)>, StoreError>;

    /// Writes decided changes: upserts rows and reservations, appends ledger entries.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when a write fails; the transaction must then be dropped.
    async fn persist(&mut self, changes: &Changes) -> Result<(), StoreError>;

    /// Makes everything persisted in this transaction durable and visible at once.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the commit fails; see its variants for whether it took effect.
    async fn commit(self) -> Result<(), StoreError>;
}

/// Optional capability: whole-store reads, for audits, replay checks and tests.
#[async_trait]
pub trait AuditStore: Store {
    /// Every stock row.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>, StoreError>;

    /// Every reservation, ordered by id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn all_reservations(&self) -> Result<Vec<Reservation>, StoreError>;

    /// The whole ledger, in the order it was written.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn ledger(&self) -> Result<Vec<LedgerEntry>, StoreError>;
}

/// Locks and loads what `plan` names: reservations first, then every stock row of every
/// SKU involved in one sorted call.
///
/// # Errors
///
/// The first [`StoreError`] of the transaction.
pub async fn load<T: StoreTx + ?Sized>(
    tx: &mut T,
    plan: &LoadPlan,
    now: DateTime<Utc>,
) -> Result<Snapshot, StoreError> {
    let mut held = Vec::new();
    if !plan.reservations.is_empty() {
        held.extend(tx.lock_reservations(&plan.reservations).await?);
    }
    if plan.overdue_holds && !plan.skus.is_empty() {
        held.extend(tx.lock_overdue_holds(&plan.skus, now).await?);
    }
    if let Some(limit) = plan.due_holds {
        held.extend(tx.lock_due_holds(now, limit).await?);
    }
    let mut skus = plan.skus.clone();
    skus.extend(held.iter().flat_map(Reservation::skus));
    skus.sort();
    skus.dedup();
    let mut snapshot = Snapshot::default();
    if !skus.is_empty() {
        snapshot.stock = tx.lock_stock(&skus).await?.into_iter().collect();
    }
    // A hold can be named and overdue at once; the map keeps one copy.
    snapshot.reservations = held.into_iter().map(|r| (r.id, r)).collect();
    Ok(snapshot)
}
