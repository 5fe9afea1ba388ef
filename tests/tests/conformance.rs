//! The conformance suite, stamped onto every backend.

use inventory_core::MemoryStore;
use inventory_sqlite::{SqliteOptions, SqliteStore};

inventory_core::conformance_suite!(memory, async { Some(MemoryStore::new()) });

inventory_core::conformance_suite!(sqlite, async {
    Some(
        SqliteStore::temporary(SqliteOptions::default())
            .await
            .expect("open a temporary SQLite database"),
    )
});

inventory_core::conformance_suite!(postgres, inventory_tests::pg::fresh_store(4));

inventory_core::conformance_suite!(mysql, inventory_tests::my::fresh_store(4));
// The path a Galera node takes: each statement of a unit in a round trip of its own.
inventory_core::conformance_suite!(mysql_one_statement_per_trip, async {
    inventory_tests::my::fresh_store(4)
        .await
        .map(|store| store.one_statement_per_trip(true))
});
