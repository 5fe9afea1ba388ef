//! Differential property test: the same random command sequence applied to MemoryStore
//! (the oracle) and to each SQL backend gives identical outcomes after every step, and
//! identical rows, reservations and ledgers.

use inventory_core::testkit::strategy::{apply, ops, Op};
use inventory_core::testkit::{Harness, Snapshot};
use inventory_core::MemoryStore;
use inventory_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use inventory_tests::proptest_cases;
use proptest::prelude::*;

async fn compare_with_sqlite(sequence: Vec<Op>) -> Result<(), TestCaseError> {
    let options = SqliteOptions {
        synchronous: Synchronous::Normal,
        ..SqliteOptions::default()
    };
    let sqlite = Harness::new(
        SqliteStore::temporary(options)
            .await
            .expect("temporary database"),
    );
    let oracle = Harness::new(MemoryStore::new());
    for (step, op) in sequence.iter().enumerate() {
        let expected = apply(&oracle, op).await;
        let found = apply(&sqlite, op).await;
        prop_assert_eq!(&found, &expected, "step {} {:?}", step, op);
    }
    let expected = Snapshot::capture(oracle.inventory.store()).await;
    let found = Snapshot::capture(sqlite.inventory.store()).await;
    prop_assert_eq!(found.stock, expected.stock);
    prop_assert_eq!(found.reservations, expected.reservations);
    prop_assert_eq!(found.ledger, expected.ledger);
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(compare_with_sqlite(sequence))?;
    }
}
