//! PostgreSQL under concurrency and faults: the server suite (pools racing for a hot
//! SKU, opposite-order multi-line orders, connections terminated in the middle of
//! transactions and under load, two app servers at once), and TLS.

use inventory_sqlx::{sqlx, PgStore};
use inventory_tests::pg;

inventory_tests::server_suite!(inventory_tests::server::Postgres);

/// With the default `tls-rustls` feature, `sslmode=require` reaches the server over TLS
/// (a managed PostgreSQL that requires TLS is reachable), and the library works on that
/// connection. Skipped loudly when the server has TLS off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_connects_over_tls() {
    let Some(url) = pg::database_url() else {
        return;
    };
    let plain = PgStore::connect(&url).await.expect("connect");
    let offered: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(plain.pool())
        .await
        .expect("SHOW ssl");
    plain.pool().close().await;
    if offered != "on" {
        inventory_tests::loud(
            "SKIPPED sslmode_require_connects_over_tls: the server has ssl = off",
        );
        return;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let store = PgStore::connect(&format!("{url}{separator}sslmode=require"))
        .await
        .expect("connect with sslmode=require (built without TLS?)");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .expect("pg_stat_ssl");
    assert!(encrypted, "sslmode=require connected without TLS");
    store.pool().close().await;
}
