//! PostgreSQL for tests: a fresh schema per test in the database named by
//! `DATABASE_URL`, so tests run in parallel without seeing each other.
//!
//! Without `DATABASE_URL` the PostgreSQL tests print one loud skip line and pass; with
//! `INVENTORY_REQUIRE_DATABASE=1` a missing or unreachable database fails them.

use std::str::FromStr;
use std::sync::Once;

use inventory_sqlx::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use inventory_sqlx::sqlx::{self, Executor};
use inventory_sqlx::PgStore;

static SKIP_NOTICE: Once = Once::new();
static SWEEP: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// The database URL, or `None` (after one loud line) when PostgreSQL tests are skipped.
///
/// # Panics
///
/// When `INVENTORY_REQUIRE_DATABASE=1` and `DATABASE_URL` is not set.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !crate::scratch::required(),
                "INVENTORY_REQUIRE_DATABASE=1 but DATABASE_URL is not set"
            );
            SKIP_NOTICE.call_once(|| {
                crate::loud(
                    "SKIPPING PostgreSQL tests: DATABASE_URL is not set \
                     (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)",
                );
            });
            None
        }
    }
}

/// Drops test schemas left by runs more than six hours old.
async fn sweep_stale(url: &str) {
    let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(url).await else {
        return;
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'inv\\_test\\_%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_default();
    for name in names {
        if crate::scratch::is_stale(&name) {
            let drop = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
            let _ = pool.execute(sqlx::AssertSqlSafe(drop)).await;
        }
    }
}

/// A migrated store in a new schema of its own, over a pool of `connections`; `None`
/// when PostgreSQL tests are skipped.
///
/// # Panics
///
/// When the database is configured but cannot be used.
pub async fn fresh_store(connections: u32) -> Option<PgStore> {
    let url = database_url()?;
    SWEEP.get_or_init(|| sweep_stale(&url)).await;
    let schema = crate::scratch::new_name();
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to DATABASE_URL: {error}"));
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .await
        .expect("create the test schema");
    admin.close().await;
    let options = PgConnectOptions::from_str(&url)
        .expect("a valid DATABASE_URL")
        .options([("search_path", schema.as_str())])
        .application_name(&schema);
    let pool = PgStore::pool_options()
        .max_connections(connections)
        .connect_with(options)
        .await
        .expect("connect to the test schema");
    let store = PgStore::new(pool);
    store.migrate().await.expect("migrate the test schema");
    Some(store)
}

/// The test schema of `store` (also its connections' application name).
fn schema_of(store: &PgStore) -> String {
    store
        .pool()
        .connect_options()
        .get_application_name()
        .unwrap_or_default()
        .to_owned()
}

/// A URL of `DATABASE_URL` that puts a new connection in `store`'s test schema (for a
/// process started with `--db <url>`), under the application name
/// [`process_name`]`(store)`.
///
/// # Panics
///
/// When called without a database.
pub fn url_of(store: &PgStore) -> String {
    let url = database_url().expect("only called with a database");
    let schema = schema_of(store);
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}options=-c%20search_path%3D{schema}&application_name={}",
        process_name(store)
    )
}

/// The application name of the connections a process opens through [`url_of`].
pub fn process_name(store: &PgStore) -> String {
    format!("{}-process", schema_of(store))
}

/// Waits until the server has no connection left of a killed process of `store`'s
/// schema ([`url_of`]): a transaction whose COMMIT was sent just before the kill
/// finishes first, so what is read next is a settled state.
///
/// # Panics
///
/// When connections linger for 30 seconds.
pub async fn wait_for_process_gone(store: &PgStore) {
    let name = process_name(store);
    for _ in 0..1_500 {
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(&name)
                .fetch_one(store.pool())
                .await
                .expect("read pg_stat_activity");
        if left == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("connections of {name} outlived their process");
}

/// Closes `store`'s pool and drops its test schema.
pub async fn drop_store(store: PgStore) {
    let Some(url) = database_url() else { return };
    let Some(schema) = store
        .pool()
        .connect_options()
        .get_application_name()
        .map(str::to_owned)
    else {
        return;
    };
    store.pool().close().await;
    if let Ok(admin) = PgPoolOptions::new().max_connections(1).connect(&url).await {
        let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        let _ = admin.execute(sqlx::AssertSqlSafe(drop)).await;
        admin.close().await;
    }
}

/// Another pool on `store`'s schema: a second app server on the same database.
///
/// # Panics
///
/// When the database cannot be reached.
pub async fn second_pool(store: &PgStore, connections: u32) -> PgStore {
    let options = store.pool().connect_options().as_ref().clone();
    let pool = PgStore::pool_options()
        .max_connections(connections)
        .connect_with(options)
        .await
        .expect("connect a second pool");
    PgStore::new(pool)
}

/// Terminates every server connection of `store`'s test schema (its pools), from a
/// connection of its own; returns how many were terminated.
///
/// # Panics
///
/// When the database cannot be reached.
pub async fn terminate_connections(store: &PgStore) -> i64 {
    let url = database_url().expect("only called with a database");
    let schema = schema_of(store);
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("admin connection");
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = $1 AND pid <> pg_backend_pid()) AS terminated",
    )
    .bind(schema)
    .fetch_one(&admin)
    .await
    .expect("terminate");
    admin.close().await;
    killed
}

/// A new database of its own on the server of `DATABASE_URL` (for a test that needs
/// `public` to itself), as a URL, dropped with the guard; `None` when PostgreSQL tests
/// are skipped. Databases left by runs more than six hours old are dropped first.
///
/// # Panics
///
/// When the database is configured but cannot be used.
pub async fn fresh_database() -> Option<FreshDatabase> {
    let url = database_url()?;
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to DATABASE_URL: {error}"));
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'inv\\_test\\_%'",
    )
    .fetch_all(&admin)
    .await
    .unwrap_or_default();
    for name in stale
        .into_iter()
        .filter(|name| crate::scratch::is_stale(name))
    {
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let _ = admin.execute(sqlx::AssertSqlSafe(drop)).await;
    }
    let name = crate::scratch::new_name();
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .expect("create the test database");
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), None), |(base, query)| (base, Some(query)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    let url = match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    };
    Some(FreshDatabase { url, name, admin })
}

/// A database of a test's own; dropped (with its connections) by [`FreshDatabase::drop_now`].
pub struct FreshDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    admin: sqlx::PgPool,
}

impl FreshDatabase {
    /// Drops the database, closing what is still connected to it.
    pub async fn drop_now(self) {
        let drop = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let _ = self.admin.execute(sqlx::AssertSqlSafe(drop)).await;
        self.admin.close().await;
    }
}
