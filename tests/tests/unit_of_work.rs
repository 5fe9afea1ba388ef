//! The unit of work: transient conflicts are retried in one place, the whole unit each
//! time, and a conflict that never clears becomes a typed error with nothing applied.
//! Group commit: waiting commands share one transaction, each keeps its own outcome.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::backend::{AuditStore, Store, StoreTx};
use inventory_core::decide::{Changes, LoadPlan, Snapshot};
use inventory_core::testkit::{loc, qty, sku, Harness};
use inventory_core::MemoryTx;
use inventory_core::{
    Error, LedgerEntry, LocationStock, MemoryStore, Reservation, ReservationId, RetryPolicy, Sku,
    StockKey, StockLevel, StoreError,
};
use tokio::sync::Semaphore;

/// A MemoryStore whose next `failures` commits fail with a transient conflict (and
/// roll back, as a database would).
#[derive(Clone, Default)]
struct FlakyStore {
    inner: MemoryStore,
    failures: Arc<AtomicU32>,
    commits_tried: Arc<AtomicU32>,
    /// When set, every transaction waits here for a permit before it begins.
    gate: Option<Arc<Semaphore>>,
    /// When set, persisting a change to this SKU fails (not transiently).
    poison: Option<Sku>,
    /// The next `read_failures` stock reads fail as a dropped connection does.
    read_failures: Arc<AtomicU32>,
    reads_tried: Arc<AtomicU32>,
}

#[derive(Debug, thiserror::Error)]
#[error("connection reset (simulated)")]
struct Dropped;

#[derive(Debug, thiserror::Error)]
#[error("poisoned sku (simulated)")]
struct Poisoned;

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
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate open").forget();
        }
        Ok(FlakyTx {
            inner: self.inner.begin().await?,
            store: self.clone(),
        })
    }

    async fn stock(&self, sku: &Sku) -> Result<Vec<LocationStock>, StoreError> {
        self.reads_tried.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .read_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            });
        if failing.is_ok() {
            return Err(StoreError::Interrupted(Box::new(Dropped)));
        }
        self.inner.stock(sku).await
    }

    async fn reservation(&self, id: &ReservationId) -> Result<Option<Reservation>, StoreError> {
        self.inner.reservation(id).await
    }

    async fn transfer(
        &self,
        id: &inventory_core::TransferId,
    ) -> Result<Option<inventory_core::Transfer>, StoreError> {
        self.inner.transfer(id).await
    }

    async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_expiry().await
    }

    async fn catalog_version(&self) -> Result<u64, StoreError> {
        self.inner.catalog_version().await
    }

    async fn catalog(&self) -> Result<inventory_core::catalog::Catalog, StoreError> {
        self.inner.catalog().await
    }

    async fn put_sku_settings(
        &self,
        sku: &Sku,
        settings: &inventory_core::catalog::SkuSettings,
        expected: u64,
    ) -> Result<u64, StoreError> {
        self.inner.put_sku_settings(sku, settings, expected).await
    }
}

#[async_trait]
impl StoreTx for FlakyTx {
    async fn load(&mut self, plan: &LoadPlan, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
        self.inner.load(plan, now).await
    }

    async fn persist(&mut self, changes: &Changes) -> Result<(), StoreError> {
        if let Some(poison) = &self.store.poison {
            if changes.stock.keys().any(|key| key.sku == *poison) {
                return Err(StoreError::Backend(Box::new(Poisoned)));
            }
        }
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

    async fn ledger_page(
        &self,
        query: &inventory_core::LedgerQuery,
    ) -> Result<inventory_core::LedgerPage, StoreError> {
        self.inner.ledger_page(query).await
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
async fn a_read_after_a_dropped_connection_is_retried() {
    let store = FlakyStore::default();
    let h = Harness::new(store.clone());
    h.inventory
        .receive(sku("A"), loc("W"), qty(5))
        .await
        .unwrap();
    store.read_failures.store(3, Ordering::SeqCst);
    let stock = h.inventory.stock(&sku("A")).await.unwrap();
    assert_eq!(stock.total.on_hand, 5);
    assert_eq!(store.reads_tried.load(Ordering::SeqCst), 4);

    let inventory = h.inventory.clone().with_retry(RetryPolicy {
        attempts: 2,
        ..RetryPolicy::default()
    });
    store.read_failures.store(u32::MAX, Ordering::SeqCst);
    match inventory.stock(&sku("A")).await {
        Err(Error::Store(StoreError::Contention { attempts: 2, .. })) => {}
        other => panic!("expected contention after two reads, got {other:?}"),
    }
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
    // One unit, run once: it wrote nothing, and its transaction was ended (so its
    // locks go at once), never run again.
    assert_eq!(store.commits_tried.load(Ordering::SeqCst), 1);
    assert!(store.ledger().await.unwrap().is_empty());
}

/// Starts `count` receives of one unit of `sku` each, concurrently, behind a closed gate,
/// then opens it; returns their results.
async fn gated_receives(
    store: &FlakyStore,
    skus: Vec<&'static str>,
) -> Vec<Result<StockLevel, Error>> {
    let h = Harness::new(store.clone());
    let inventory = h.inventory.clone();
    let tasks: Vec<_> = skus
        .into_iter()
        .map(|name| {
            let inventory = inventory.clone();
            tokio::spawn(async move { inventory.receive(sku(name), loc("W"), qty(1)).await })
        })
        .collect();
    // Every task queues while the first batch waits at the gate.
    tokio::time::sleep(Duration::from_millis(200)).await;
    store.gate.as_ref().expect("gated store").add_permits(1_000);
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_commands_share_one_commit_and_keep_their_outcomes() {
    let store = FlakyStore {
        gate: Some(Arc::new(Semaphore::new(0))),
        ..FlakyStore::default()
    };
    let results = gated_receives(&store, vec!["A"; 200]).await;
    let mut seen: Vec<i64> = results.into_iter().map(|r| r.unwrap().on_hand).collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=200).collect::<Vec<_>>(),
        "each got its own row after"
    );
    let commits = store.commits_tried.load(Ordering::SeqCst);
    assert!(commits <= 3, "200 receives took {commits} commits");
    assert_eq!(store.ledger().await.unwrap().len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_fails_before_commit_reruns_its_commands_alone() {
    let store = FlakyStore {
        gate: Some(Arc::new(Semaphore::new(0))),
        poison: Some(sku("POISON")),
        ..FlakyStore::default()
    };
    let results = gated_receives(&store, vec!["A", "POISON", "B", "A"]).await;
    assert!(results[0].is_ok() && results[2].is_ok() && results[3].is_ok());
    match &results[1] {
        Err(Error::Store(StoreError::Backend(source))) => {
            assert_eq!(source.to_string(), "poisoned sku (simulated)");
        }
        other => panic!("expected the poisoned receive to fail alone, got {other:?}"),
    }
    let stock = store.all_stock().await.unwrap();
    let on_hand: Vec<(String, i64)> = stock
        .iter()
        .map(|(k, l)| (k.sku.to_string(), l.on_hand))
        .collect();
    assert_eq!(on_hand, [("A".to_owned(), 2), ("B".to_owned(), 1)]);
}

/// A command running alone in its caller's task, whose caller stops waiting (its future
/// is dropped, as a web framework does when the client hangs up), does not strand the
/// commands that queued behind it: they are still run and answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_stops_waiting_does_not_strand_the_queue() {
    let store = FlakyStore {
        gate: Some(Arc::new(Semaphore::new(0))),
        ..FlakyStore::default()
    };
    let inventory = Harness::new(store.clone()).inventory;
    let alone = {
        let inventory = inventory.clone();
        tokio::spawn(async move { inventory.receive(sku("A"), loc("W"), qty(1)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued: Vec<_> = (0..3)
        .map(|_| {
            let inventory = inventory.clone();
            tokio::spawn(async move { inventory.receive(sku("A"), loc("W"), qty(1)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    alone.abort();
    assert!(alone.await.unwrap_err().is_cancelled());
    store.gate.as_ref().expect("gated store").add_permits(1_000);
    for task in queued {
        let level = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the queue was drained")
            .expect("task")
            .expect("received");
        assert!(level.on_hand >= 1);
    }
    assert_eq!(store.ledger().await.unwrap().len(), 3);
    inventory.receive(sku("A"), loc("W"), qty(1)).await.unwrap();
    assert_eq!(
        store.ledger().await.unwrap().len(),
        4,
        "the lane is idle again"
    );
}
