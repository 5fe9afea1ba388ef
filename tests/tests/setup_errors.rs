//! Setting a store up from an app: every backend's setup error converts into the core's
//! `inventory_core::Error` with `?`, keeps its cause, and says what failed; a server
//! that is not listening answers at once, naming the server and the refusal.

use std::time::{Duration, Instant};

use inventory_core::{Error, Inventory, StoreError};
use inventory_sqlite::SqliteStore;
use inventory_sqlx::{MySqlStore, PgStore, CONNECT_TIMEOUT};

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// An app's setup: open or connect, migrate, use. Only `?`.
async fn setup_postgres(url: &str) -> Result<(), Error> {
    let store = PgStore::connect(url).await?;
    store.migrate().await?;
    Inventory::new(store).stock(&"MUG".parse()?).await?;
    Ok(())
}

async fn setup_mysql(url: &str) -> Result<(), Error> {
    let store = MySqlStore::connect(url).await?;
    store.migrate().await?;
    Inventory::new(store).stock(&"MUG".parse()?).await?;
    Ok(())
}

async fn setup_sqlite(path: &std::path::Path) -> Result<(), Error> {
    let store = SqliteStore::open(path).await?;
    Inventory::new(store).stock(&"MUG".parse()?).await?;
    Ok(())
}

#[tokio::test]
async fn a_closed_port_answers_at_once_with_the_server_and_the_refusal() {
    for (kind, url) in [
        (
            "postgres",
            format!("postgres://postgres@127.0.0.1:{}/shop", closed_port()),
        ),
        (
            "mysql",
            format!("mysql://root@127.0.0.1:{}/shop", closed_port()),
        ),
    ] {
        let started = Instant::now();
        let error = match kind {
            "postgres" => setup_postgres(&url).await,
            _ => setup_mysql(&url).await,
        }
        .expect_err("nothing listens");
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(5), "{kind}: {waited:?}");
        assert!(
            matches!(error, Error::Store(StoreError::Unavailable(_))),
            "{error:?}"
        );
        let message = error.to_string();
        let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
        assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
        assert!(message.to_lowercase().contains("refused"), "{message}");
        assert!(
            std::error::Error::source(&error).is_some(),
            "{kind}: the cause is kept"
        );
    }
    assert!(CONNECT_TIMEOUT <= Duration::from_secs(5));
}

#[tokio::test]
async fn a_file_that_is_not_a_database_converts_with_its_path() {
    let folder = tempfile::tempdir().expect("folder");
    let path = folder.path().join("shop.db");
    std::fs::write(&path, vec![b'x'; 8_192]).expect("file");
    let error = setup_sqlite(&path).await.expect_err("not a database");
    assert!(
        matches!(error, Error::Store(StoreError::Corrupt { ref what, .. }) if what == "database file"),
        "{error:?}"
    );
    assert!(error.to_string().contains("shop.db"), "{error}");
}

/// A URL naming several servers, none of them listening: one error names each server
/// and what it answered.
#[tokio::test]
async fn a_url_of_servers_all_down_names_each() {
    for kind in ["postgres", "mysql"] {
        let (a, b) = (closed_port(), closed_port());
        let url = format!("{kind}://u@127.0.0.1:{a},127.0.0.1:{b}/shop");
        let started = Instant::now();
        let error = match kind {
            "postgres" => setup_postgres(&url).await,
            _ => setup_mysql(&url).await,
        }
        .expect_err("nothing listens");
        assert!(started.elapsed() < Duration::from_secs(5), "{kind}");
        assert!(
            matches!(error, Error::Store(StoreError::Unavailable(_))),
            "{error:?}"
        );
        let message = error.to_string();
        for port in [a, b] {
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
        }
        assert!(message.contains("no server takes writes"), "{message}");
    }
}

/// A URL that asks for a server that need not take writes is refused before anything
/// is sent: the store writes.
#[tokio::test]
async fn a_url_asking_for_any_server_is_refused() {
    let url = format!(
        "postgres://u@127.0.0.1:{},127.0.0.1:{}/shop?target_session_attrs=any",
        closed_port(),
        closed_port()
    );
    let error = PgStore::connect(&url).await.expect_err("refused");
    assert!(
        error.to_string().contains("target_session_attrs=any"),
        "{error}"
    );
}
