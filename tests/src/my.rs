//! MySQL and MariaDB for tests: a fresh database per test on the server named by
//! `MYSQL_URL` (for example `mysql://root@127.0.0.1:3306/test`), so tests run in
//! parallel without seeing each other.
//!
//! Without `MYSQL_URL` the MySQL tests print one loud skip line and pass; with
//! `INVENTORY_REQUIRE_DATABASE=1` a missing or unreachable server fails them.

use std::str::FromStr;
use std::sync::Once;

use inventory_sqlx::sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use inventory_sqlx::sqlx::{self, Executor};
use inventory_sqlx::MySqlStore;

static SKIP_NOTICE: Once = Once::new();
static SWEEP: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// The server URL, or `None` (after one loud line) when MySQL tests are skipped.
///
/// # Panics
///
/// When `INVENTORY_REQUIRE_DATABASE=1` and `MYSQL_URL` is not set.
pub fn mysql_url() -> Option<String> {
    match std::env::var("MYSQL_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !crate::scratch::required(),
                "INVENTORY_REQUIRE_DATABASE=1 but MYSQL_URL is not set"
            );
            SKIP_NOTICE.call_once(|| {
                crate::loud(
                    "SKIPPING MySQL/MariaDB tests: MYSQL_URL is not set \
                     (e.g. MYSQL_URL=mysql://root@127.0.0.1:3306/test)",
                );
            });
            None
        }
    }
}

/// Drops test databases left by runs more than six hours old.
async fn sweep_stale(url: &str) {
    let Ok(pool) = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
    else {
        return;
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata
         WHERE schema_name LIKE 'inv\\_test\\_%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_default();
    for name in names {
        if crate::scratch::is_stale(&name) {
            let drop = format!("DROP DATABASE IF EXISTS `{name}`");
            let _ = pool.execute(sqlx::AssertSqlSafe(drop)).await;
        }
    }
}

/// A migrated store in a new database of its own, over a pool of `connections`;
/// `None` when MySQL tests are skipped.
///
/// # Panics
///
/// When the server is configured but cannot be used.
pub async fn fresh_store(connections: u32) -> Option<MySqlStore> {
    let url = mysql_url()?;
    SWEEP.get_or_init(|| sweep_stale(&url)).await;
    let database = crate::scratch::new_name();
    let admin = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to MYSQL_URL: {error}"));
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )))
        .await
        .expect("create the test database");
    admin.close().await;
    let options = MySqlConnectOptions::from_str(&url)
        .expect("a valid MYSQL_URL")
        .database(&database);
    let pool = MySqlStore::pool_options()
        .max_connections(connections)
        .connect_with(options)
        .await
        .expect("connect to the test database");
    let store = MySqlStore::new(pool);
    store.migrate().await.expect("migrate the test database");
    Some(store)
}

/// The test database of `store`.
fn database_of(store: &MySqlStore) -> String {
    store
        .pool()
        .connect_options()
        .get_database()
        .unwrap_or_default()
        .to_owned()
}

/// Another pool on `store`'s database: a second app server on the same database.
///
/// # Panics
///
/// When the server cannot be reached.
pub async fn second_pool(store: &MySqlStore, connections: u32) -> MySqlStore {
    let options = store.pool().connect_options().as_ref().clone();
    let pool = MySqlStore::pool_options()
        .max_connections(connections)
        .connect_with(options)
        .await
        .expect("connect a second pool");
    MySqlStore::new(pool)
}

/// Kills every server connection on `store`'s test database (its pools), from a
/// connection of its own (`KILL <id>`); returns how many were killed.
///
/// # Panics
///
/// When the server cannot be reached.
pub async fn kill_connections(store: &MySqlStore) -> usize {
    let url = mysql_url().expect("only called with a server");
    let admin = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("admin connection");
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()",
    )
    .bind(database_of(store))
    .fetch_all(&admin)
    .await
    .expect("list connections");
    let mut killed = 0;
    for id in ids {
        // A connection that ended meanwhile is not an error.
        if sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
            .execute(&admin)
            .await
            .is_ok()
        {
            killed += 1;
        }
    }
    admin.close().await;
    killed
}

/// Closes `store`'s pool and drops its test database.
pub async fn drop_store(store: MySqlStore) {
    let Some(url) = mysql_url() else { return };
    let database = database_of(&store);
    store.pool().close().await;
    if let Ok(admin) = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
    {
        let drop = format!("DROP DATABASE IF EXISTS `{database}`");
        let _ = admin.execute(sqlx::AssertSqlSafe(drop)).await;
        admin.close().await;
    }
}
