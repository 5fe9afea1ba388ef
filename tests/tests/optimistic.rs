//! Optimistic units on PostgreSQL and on MySQL/MariaDB: a unit read without locks
//! writes only if nothing it read changed in between. Each case reads, lets another unit (another app server) change
//! what was read, then writes: the write fails with a retryable conflict and changes
//! nothing, and the command run again through the inventory sees the new state.

use inventory_core::backend::{Backend, ReadMode, StoreTx};
use inventory_core::counting::CountThresholds;
use inventory_core::decide::{decide, Command};
use inventory_core::testkit::invariants::assert_invariants;
use inventory_core::testkit::{loc, order, qty, sku, Harness, StoreState};
use inventory_core::{DomainError, Error, Inventory, ReservationId, StoreError};
use inventory_tests::server::TestServer;

type Two<S> = (
    <S as TestServer>::Store,
    Inventory<<S as TestServer>::Store>,
    Inventory<<S as TestServer>::Store>,
);

/// A fresh store, this server's inventory on it, and another app server's (its own
/// pool); `None` when this server's tests are skipped.
async fn two_servers<S: TestServer>() -> Option<Two<S>> {
    let store = S::fresh(4).await?;
    let other = Harness::new(S::second_pool(&store, 2).await).inventory;
    Some((store.clone(), Harness::new(store).inventory, other))
}

/// Reads and decides `command` optimistically, runs `meanwhile`, then writes; returns
/// the write's error.
async fn stale_write<B: Backend, F: std::future::Future<Output = ()>>(
    store: &B,
    inventory: &Inventory<B>,
    command: Command,
    meanwhile: F,
) -> StoreError {
    let now = inventory.now();
    let mut tx = store.begin_with(ReadMode::Optimistic).await.unwrap();
    let snapshot = tx.load(&command.plan(), now).await.unwrap();
    let decision = decide(&command, &snapshot, now).expect("accepted on the read");
    meanwhile.await;
    let before = StoreState::capture(store).await;
    let error = tx
        .persist_and_commit(&decision.changes)
        .await
        .expect_err("the write finds its read stale");
    assert_eq!(
        StoreState::capture(store).await,
        before,
        "a stale write changes nothing"
    );
    assert!(error.is_transient(), "{error:?}");
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    error
}

async fn a_row_changed_after_the_read_fails_the_write<S: TestServer>() {
    let Some((store, inventory, other)) = two_servers::<S>().await else {
        return;
    };
    inventory
        .receive(sku("A"), loc("main"), qty(4))
        .await
        .unwrap();
    let command = Command::Reserve {
        request: order("first", &[("A", 3)]),
    };
    stale_write(&store, &inventory, command, async {
        other.reserve(order("second", &[("A", 3)])).await.unwrap();
    })
    .await;
    let error = inventory
        .reserve(order("first", &[("A", 3)]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Domain(DomainError::InsufficientStock { available: 1, .. })
        ),
        "{error:?}"
    );
    assert_invariants(&store).await;
}

async fn a_freeze_after_the_read_fails_the_write<S: TestServer>() {
    let Some((store, inventory, other)) = two_servers::<S>().await else {
        return;
    };
    inventory
        .receive(sku("A"), loc("main"), qty(100))
        .await
        .unwrap();
    inventory
        .receive(sku("A"), loc("east"), qty(5))
        .await
        .unwrap();
    // The reservation takes units at `east`; the freezing count is at `main`.
    let mut request = order("first", &[("A", 5)]);
    request.lines[0].location = Some(loc("east"));
    let command = Command::Reserve {
        request: request.clone(),
    };
    stale_write(&store, &inventory, command, async {
        let report = other
            .record_count(sku("A"), loc("main"), 50, "ann", CountThresholds::default())
            .await
            .unwrap();
        assert!(report.investigation.is_some_and(|i| i.freezes));
    })
    .await;
    let error = inventory.reserve(request).await.unwrap_err();
    assert!(
        matches!(error, Error::Domain(DomainError::SkuFrozen { .. })),
        "{error:?}"
    );
}

async fn a_row_created_after_the_read_fails_the_write<S: TestServer>() {
    let Some((store, inventory, other)) = two_servers::<S>().await else {
        return;
    };
    inventory
        .receive(sku("A"), loc("main"), qty(5))
        .await
        .unwrap();
    let command = Command::Reserve {
        request: order("first", &[("A", 2)]),
    };
    stale_write(&store, &inventory, command, async {
        other.receive(sku("A"), loc("east"), qty(9)).await.unwrap();
    })
    .await;
    let held = inventory
        .reserve(order("first", &[("A", 2)]))
        .await
        .unwrap();
    assert!(held.created);
    assert_invariants(&store).await;
}

async fn a_reservation_changed_after_the_read_fails_the_write<S: TestServer>() {
    let Some((store, inventory, other)) = two_servers::<S>().await else {
        return;
    };
    inventory
        .receive(sku("A"), loc("main"), qty(5))
        .await
        .unwrap();
    let id: ReservationId = inventory
        .reserve(order("first", &[("A", 2)]))
        .await
        .unwrap()
        .reservation
        .id;
    stale_write(&store, &inventory, Command::Commit { id }, async {
        other.release(id).await.unwrap();
    })
    .await;
    let error = inventory.commit(id).await.unwrap_err();
    assert!(
        matches!(error, Error::Domain(DomainError::InvalidState { .. })),
        "{error:?}"
    );
    assert_invariants(&store).await;
}

async fn a_reservation_created_after_the_read_fails_the_write<S: TestServer>() {
    let Some((store, inventory, other)) = two_servers::<S>().await else {
        return;
    };
    inventory
        .receive(sku("A"), loc("main"), qty(9))
        .await
        .unwrap();
    let command = Command::Reserve {
        request: order("same", &[("A", 2)]),
    };
    stale_write(&store, &inventory, command, async {
        other.reserve(order("same", &[("A", 2)])).await.unwrap();
    })
    .await;
    let again = inventory.reserve(order("same", &[("A", 2)])).await.unwrap();
    assert!(!again.created, "the first server's reservation stands");
    assert_eq!(inventory.stock(&sku("A")).await.unwrap().total.reserved, 2);
}

macro_rules! optimistic_suite {
    ($($server:ident),*) => {$(
        #[allow(non_snake_case)]
        mod $server {
            optimistic_suite!(@cases $server; a_row_changed_after_the_read_fails_the_write, a_freeze_after_the_read_fails_the_write, a_row_created_after_the_read_fails_the_write, a_reservation_changed_after_the_read_fails_the_write, a_reservation_created_after_the_read_fails_the_write);
        }
    )*};
    (@cases $server:ident; $($case:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            super::$case::<inventory_tests::server::$server>().await;
        }
    )*};
}

optimistic_suite!(Postgres, MySql);
