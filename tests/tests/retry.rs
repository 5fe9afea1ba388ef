//! Transient conflicts are retried in one place, the whole unit each time, and a
//! conflict that never clears becomes a typed error with nothing applied.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::decide::Changes;
use inventory_core::memory::MemoryTx;
use inventory_core::testkit::{loc, qty, sku, Harness};
use inventory_core::{
    AuditStore, Error, LedgerEntry, LocationStock, MemoryStore, Reservation, ReservationId,
    RetryPolicy, Sku, StockKey, StockLevel, Store, StoreError, StoreTx,
};

/// A MemoryStore whose next `failures` commits fail with a transient conflict (and
/// roll back, as a database would).
#[derive(Clone, Default)]
struct FlakyStore {
    inner: MemoryStore,
    failures: Arc<AtomicU32>,
    commits_tried: Arc<AtomicU32>,
}

struct FlakyTx {
    inner: MemoryTx,
    store: FlakyStore,
}

#[derive(Debug, thiserror::Error)]
#[error("deadlock detected (simulated)")]
struct Deadlock;

#[async_trait]
impl Store for FlakyStore {
    type Tx = FlakyTx;

    async fn begin(&self) -> Result<FlakyTx, StoreError> {
        Ok(FlakyTx {
            inner: self.inner.begin().await?,
            store: self.clone(),
        })
    }

    async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError> {
        self.inner.stock(sku).await
    }

    async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError> {
        self.inner.reservation(id).await
    }
}

#[async_trait]
impl StoreTx for FlakyTx {
    async fn lock_reservations(
        &mut self,
        ids: &[ReservationId],
    ) -> Result<Vec<Reservation>, StoreError> {
        self.inner.lock_reservations(ids).await
    }

    async fn lock_overdue_holds(
        &mut self,
        skus: &[Sku],
        now: DateTime<Utc>,
    ) -> Result<Vec<Reservation>, StoreError> {
        self.inner.lock_overdue_holds(skus, now).await
    }

    async fn lock_due_holds(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Reservation>, StoreError> {
        self.inner.lock_due_holds(now, limit).await
    }

    async fn lock_stock(
        &mut self,
        skus: &[Sku],
    ) -> Result<Vec<(StockKey, StockLevel)>, StoreError> {
        self.inner.lock_stock(skus).await
    }

    async fn persist(&mut self, changes: &Changes) -> Result<(), StoreError> {
        self.inner.persist(changes).await
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.store.commits_tried.fetch_add(1, Ordering::SeqCst);
        let failing =
            self.store
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                });
        if failing.is_ok() {
            return Err(StoreError::Conflict(Box::new(Deadlock)));
        }
        self.inner.commit().await
    }
}

#[async_trait]
impl AuditStore for FlakyStore {
    async fn all_stock(&self) -> Result<BTreeMap<StockKey, StockLevel>, StoreError> {
        self.inner.all_stock().await
    }

    async fn all_reservations(&self) -> Result<Vec<Reservation>, StoreError> {
        self.inner.all_reservations().await
    }

    async fn ledger(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        self.inner.ledger().await
    }
}

#[tokio::test]
async fn a_transient_conflict_is_retried_and_applied_once() {
    let store = FlakyStore::default();
    let h = Harness::new(store.clone());
    store.failures.store(3, Ordering::SeqCst);
    let level = h
        .inventory
        .receive(sku("A"), loc("W"), qty(5))
        .await
        .unwrap();
    assert_eq!(level.on_hand, 5);
    assert_eq!(store.commits_tried.load(Ordering::SeqCst), 4);
    let ledger = store.ledger().await.unwrap();
    assert_eq!(ledger.len(), 1, "each failed attempt rolled back");
    assert_eq!(h.level("A", "W").await.on_hand, 5);
}

#[tokio::test]
async fn a_conflict_that_never_clears_is_a_typed_error_and_applies_nothing() {
    let store = FlakyStore::default();
    let policy = RetryPolicy {
        attempts: 4,
        ..RetryPolicy::default()
    };
    let h = Harness::new(store.clone());
    let inventory = h.inventory.with_retry(policy);
    store.failures.store(u32::MAX, Ordering::SeqCst);
    let error = inventory
        .receive(sku("A"), loc("W"), qty(5))
        .await
        .unwrap_err();
    match error {
        Error::Store(StoreError::Contention { attempts, source }) => {
            assert_eq!(attempts, 4);
            assert_eq!(source.to_string(), "deadlock detected (simulated)");
        }
        other => panic!("expected contention, got {other:?}"),
    }
    assert_eq!(store.commits_tried.load(Ordering::SeqCst), 4);
    assert!(store.all_stock().await.unwrap().is_empty());
    assert!(store.ledger().await.unwrap().is_empty());
}

#[tokio::test]
async fn domain_errors_are_not_retried() {
    let store = FlakyStore::default();
    let h = Harness::new(store.clone());
    let error = h
        .inventory
        .receive_in_transit(sku("A"), loc("W"), qty(1))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Domain(_)));
    assert_eq!(store.commits_tried.load(Ordering::SeqCst), 0);
}
