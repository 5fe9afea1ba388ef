//! The library shares a PostgreSQL database with the app that embeds it: its tables and
//! its migration history live in a schema of their own (`inventory` by default), so an
//! app with its own `reservations` table and its own sqlx migrations numbered from 1
//! keeps working, and so does the library.

use inventory_core::testkit::{loc, order, qty, sku};
use inventory_core::Inventory;
use inventory_sqlx::sqlx::{self, Executor};
use inventory_sqlx::{PgStore, DEFAULT_SCHEMA};
use inventory_tests::pg;

/// The app's own migrations, run on its own pool.
async fn app_migrations(url: &str) -> Result<(), sqlx::migrate::MigrateError> {
    let (_folder, migrator) = inventory_tests::app_migrator().await;
    let pool = sqlx::PgPool::connect(url).await.expect("app pool");
    let done = migrator.run(&pool).await;
    pool.close().await;
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_and_an_app_share_one_database() {
    let Some(database) = pg::fresh_database().await else {
        return;
    };
    let url = database.url.clone();
    app_migrations(&url).await.expect("the app migrates");
    let app = sqlx::PgPool::connect(&url).await.expect("app pool");
    app.execute("INSERT INTO reservations (id, table_for) VALUES (1, 4)")
        .await
        .expect("the app books a table");

    let store = PgStore::connect(&url).await.expect("connect");
    assert_eq!(store.schema(), Some(DEFAULT_SCHEMA));
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

    // The app's table and history are untouched, and its migrations still run.
    let booked: Vec<(i64, i32)> = sqlx::query_as("SELECT id, table_for FROM public.reservations")
        .fetch_all(&app)
        .await
        .unwrap();
    assert_eq!(booked, vec![(1, 4)]);
    let app_history: Vec<i64> = sqlx::query_scalar("SELECT version FROM public._sqlx_migrations")
        .fetch_all(&app)
        .await
        .unwrap();
    assert_eq!(app_history, vec![1]);
    app_migrations(&url).await.expect("the app migrates again");
    // The library's own are in its schema.
    let ours: i64 = sqlx::query_scalar("SELECT count(*) FROM inventory.reservations")
        .fetch_one(&app)
        .await
        .unwrap();
    assert_eq!(ours, 1);
    let history: i64 = sqlx::query_scalar("SELECT max(version) FROM inventory._sqlx_migrations")
        .fetch_one(&app)
        .await
        .unwrap();
    assert_eq!(history, inventory_sqlx::schema_version());

    // Another schema is another inventory; a name that is not an identifier is refused
    // before anything is sent.
    let other = PgStore::connect_in(&url, "stock_2").await.expect("connect");
    other.migrate().await.expect("migrate");
    Inventory::new(other)
        .receive(sku("MUG"), loc("main"), qty(3))
        .await
        .unwrap();
    let apart: Vec<String> = sqlx::query_scalar("SELECT sku FROM stock_2.stock")
        .fetch_all(&app)
        .await
        .unwrap();
    assert_eq!(apart, vec!["MUG".to_owned()]);
    for bad in [
        "",
        "1st",
        "inventory; DROP TABLE x",
        "a\"b",
        &"s".repeat(64),
    ] {
        let error = PgStore::connect_in(&url, bad).await.expect_err(bad);
        assert!(
            matches!(error.source, Some(sqlx::Error::Configuration(_))),
            "{bad}: {error}"
        );
    }
    app.close().await;
    database.drop_now().await;
}
