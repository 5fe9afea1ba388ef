//! The library shares a MySQL/MariaDB server with the app that embeds it: its tables
//! and its migration history live in a database of their own (`inventory` by default),
//! so an app with its own `reservations` table and its own sqlx migrations numbered
//! from 1 keeps working, and so does the library.

use inventory_core::testkit::{loc, order, qty, sku};
use inventory_core::Inventory;
use inventory_sqlx::sqlx::{self, Executor};
use inventory_sqlx::{MySqlStore, MYSQL_DEFAULT_DATABASE};
use inventory_tests::{my, scratch};

/// The app's own migrations, run on its own pool.
async fn app_migrations(url: &str) -> Result<(), sqlx::migrate::MigrateError> {
    let (_folder, migrator) = inventory_tests::app_migrator().await;
    let pool = sqlx::MySqlPool::connect(url).await.expect("app pool");
    let done = migrator.run(&pool).await;
    pool.close().await;
    done
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(base, query)| (base, Some(query)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_and_an_app_share_one_server() {
    let Some(url) = my::mysql_url() else {
        return;
    };
    assert_eq!(MYSQL_DEFAULT_DATABASE, "inventory");
    let app_database = scratch::new_name();
    let ours = format!("{app_database}_inventory");
    let admin = sqlx::MySqlPool::connect(&url).await.expect("admin pool");
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{app_database}`"
        )))
        .await
        .expect("the app's database");
    let app_url = with_database(&url, &app_database);
    app_migrations(&app_url).await.expect("the app migrates");
    let app = sqlx::MySqlPool::connect(&app_url).await.expect("app pool");
    app.execute("INSERT INTO reservations (id, table_for) VALUES (1, 4)")
        .await
        .expect("the app books a table");

    let store = MySqlStore::connect_in(&app_url, &ours)
        .await
        .expect("connect");
    store
        .migrate()
        .await
        .expect("the library migrates beside the app");
    store.migrate().await.expect("and again");
    let inventory = Inventory::new(store);
    inventory
        .receive(sku("TEE"), loc("main"), qty(5))
        .await
        .unwrap();
    inventory
        .reserve(order("o-1", &[("TEE", 2)]))
        .await
        .unwrap();

    let booked: Vec<(i64, i32)> = sqlx::query_as("SELECT id, table_for FROM reservations")
        .fetch_all(&app)
        .await
        .unwrap();
    assert_eq!(booked, vec![(1, 4)]);
    let app_history: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(&app)
        .await
        .unwrap();
    assert_eq!(app_history, vec![1]);
    app_migrations(&app_url)
        .await
        .expect("the app migrates again");
    let held: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM `{ours}`.reservations"
    )))
    .fetch_one(&app)
    .await
    .unwrap();
    assert_eq!(held, 1);

    for bad in ["", "inventory; DROP TABLE x", "a`b", "d-1", &"s".repeat(65)] {
        let error = MySqlStore::connect_in(&app_url, bad).await.expect_err(bad);
        assert!(
            matches!(error.source, Some(sqlx::Error::Configuration(_))),
            "{bad}: {error}"
        );
    }
    app.close().await;
    for database in [&app_database, &ours] {
        let drop = format!("DROP DATABASE IF EXISTS `{database}`");
        admin
            .execute(sqlx::AssertSqlSafe(drop))
            .await
            .expect("drop");
    }
    admin.close().await;
}
