//! Differential property tests: the same random command sequence applied to MemoryStore
//! (the oracle) and to each SQL backend gives identical outcomes after every step, and
//! identical rows, reservations and per-row ledgers.

use std::collections::BTreeMap;

use inventory_core::backend::AuditStore;
use inventory_core::counting::CountStore;
use inventory_core::events::EventStore;
use inventory_core::reorder::PurchaseStore;
use inventory_core::testkit::strategy::{apply, ops, Op};
use inventory_core::testkit::{Harness, StoreState};
use inventory_core::{LedgerEntry, MemoryStore, StockKey};
use inventory_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use inventory_tests::{my, pg, proptest_cases, runtime};
use proptest::prelude::*;

/// Each row's ledger entries in order (the order across rows is not part of the
/// contract).
fn by_row(ledger: Vec<LedgerEntry>) -> BTreeMap<StockKey, Vec<LedgerEntry>> {
    let mut rows: BTreeMap<StockKey, Vec<LedgerEntry>> = BTreeMap::new();
    for entry in ledger {
        rows.entry(entry.key.clone()).or_default().push(entry);
    }
    rows
}

async fn compare<S: AuditStore + PurchaseStore + CountStore + EventStore + Clone>(
    backend: S,
    sequence: Vec<Op>,
) -> Result<(), TestCaseError> {
    let backend = Harness::new(backend);
    let oracle = Harness::new(MemoryStore::new());
    for (step, op) in sequence.iter().enumerate() {
        let expected = apply(&oracle, op).await;
        let found = apply(&backend, op).await;
        prop_assert_eq!(&found, &expected, "step {} {:?}", step, op);
    }
    let expected = StoreState::capture(oracle.inventory.store()).await;
    let found = StoreState::capture(backend.inventory.store()).await;
    prop_assert_eq!(found.stock, expected.stock);
    prop_assert_eq!(found.reservations, expected.reservations);
    prop_assert_eq!(by_row(found.ledger), by_row(expected.ledger));
    let expected_orders = oracle
        .inventory
        .store()
        .all_purchase_orders()
        .await
        .expect("orders");
    let found_orders = backend
        .inventory
        .store()
        .all_purchase_orders()
        .await
        .expect("orders");
    prop_assert_eq!(found_orders, expected_orders);
    let events = |queued: Vec<inventory_core::events::QueuedEvent>| -> Vec<_> {
        queued.into_iter().map(|queued| queued.event).collect()
    };
    let expected_events = oracle
        .inventory
        .store()
        .pending_events()
        .await
        .expect("events");
    let found_events = backend
        .inventory
        .store()
        .pending_events()
        .await
        .expect("events");
    prop_assert_eq!(events(found_events), events(expected_events));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(256),
        max_shrink_iters: 500,
        ..ProptestConfig::default()
    })]

    /// SQLite decides and stores exactly what the in-memory oracle does.
    #[test]
    fn sqlite_matches_memory(sequence in ops(40)) {
        runtime().block_on(async {
            let options = SqliteOptions { synchronous: Synchronous::Normal, ..SqliteOptions::default() };
            let store = SqliteStore::temporary(options).await.expect("temporary database");
            compare(store, sequence).await
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(128),
        max_shrink_iters: 300,
        ..ProptestConfig::default()
    })]

    /// PostgreSQL decides and stores exactly what the in-memory oracle does.
    #[test]
    fn postgres_matches_memory(sequence in ops(40)) {
        runtime().block_on(async {
            let Some(store) = pg::fresh_store(2).await else { return Ok(()) };
            let result = compare(store.clone(), sequence).await;
            pg::drop_store(store).await;
            result
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(128),
        max_shrink_iters: 300,
        ..ProptestConfig::default()
    })]

    /// MySQL or MariaDB decides and stores exactly what the in-memory oracle does.
    #[test]
    fn mysql_matches_memory(sequence in ops(40)) {
        runtime().block_on(async {
            let Some(store) = my::fresh_store(2).await else { return Ok(()) };
            let result = compare(store.clone(), sequence).await;
            my::drop_store(store).await;
            result
        })?;
    }
}
