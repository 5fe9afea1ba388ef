//! MySQL and MariaDB under concurrency and faults: the server suite (pools racing for a
//! hot SKU, opposite-order multi-line orders, connections killed with `KILL` in the
//! middle of transactions and under load, two app servers at once).

inventory_tests::server_suite!(inventory_tests::server::MySql);

/// `KILL <id>` of exactly the unit's connection between its locking read and its
/// write: the write fails with a retryable error, nothing is applied, and the store
/// serves the next command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_units_own_connection_applies_nothing() {
    use inventory_core::backend::{Store, StoreTx};
    use inventory_core::decide::{decide, Command};
    use inventory_core::testkit::{loc, order, qty, sku, Harness, StoreState};
    use inventory_sqlx::sqlx;

    let Some(store) = inventory_tests::my::fresh_store(4).await else {
        return;
    };
    let inventory = Harness::new(store.clone()).inventory;
    inventory
        .receive(sku("A"), loc("main"), qty(10))
        .await
        .unwrap();
    let before = StoreState::capture(&store).await;
    let command = Command::Reserve {
        request: order("doomed", &[("A", 3)]),
    };
    let now = inventory.now();
    let mut tx = store.begin().await.unwrap();
    let snapshot = tx.load(&command.plan(), now).await.unwrap();
    let decision = decide(&command, &snapshot, now).unwrap();
    let id = tx.connection_id().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
        .execute(store.pool())
        .await
        .expect("KILL the unit's connection");
    let error = tx.persist_and_commit(&decision.changes).await.unwrap_err();
    assert!(error.is_transient(), "retryable: {error:?}");
    assert_eq!(StoreState::capture(&store).await, before);
    let held = inventory
        .reserve(order("after", &[("A", 3)]))
        .await
        .expect("the pool recovered");
    assert!(held.created);
    inventory_tests::my::drop_store(store).await;
}
