//! The reference service under test: started in this process on a free port, over a
//! temp SQLite file, a fresh PostgreSQL schema or a fresh MySQL database, and called
//! over real HTTP.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use inventory_examples::service::{start, Service, ServiceConfig};
use inventory_sqlite::SqliteStore;
use inventory_sqlx::{MySqlStore, PgStore};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpListener;

/// Stamps each service case (an `async fn(Backend)` in the calling file) onto every
/// backend, in modules named after the backend so they can be filtered.
#[macro_export]
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::service::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::service::Backend::Postgres).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::service::Backend::MySql).await;
                }
            )*
        }
    };
}

/// The storage a service under test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    /// A temp SQLite file.
    Sqlite,
    /// A fresh schema of `DATABASE_URL` (skipped loudly when unset).
    Postgres,
    /// A fresh database on `MYSQL_URL` (skipped loudly when unset).
    MySql,
}

/// The database server a service under test runs on, dropped when it stops.
enum ServerStore {
    Postgres(PgStore),
    MySql(MySqlStore),
}

/// A running service and a client for it.
pub struct TestService {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    service: Service,
    server: Option<ServerStore>,
    _dir: Option<TempDir>,
}

/// A loopback listener on a free port.
///
/// # Panics
///
/// When no port can be bound.
pub async fn free_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port")
}

/// A one-line order body for `POST /v1/reservations`.
pub fn order(id: &str, sku: &str, quantity: i64) -> Value {
    json!({ "order_id": id, "lines": [{ "sku": sku, "quantity": quantity }] })
}

impl Backend {
    /// Starts the service with config text (TOML); `None` when this backend is skipped.
    ///
    /// # Panics
    ///
    /// When the text is not a valid config or the service cannot start.
    pub async fn start_with(self, config: &str) -> Option<TestService> {
        self.start(ServiceConfig::parse(config).expect("test config"))
            .await
    }

    /// Starts the service with `config`; `None` when this backend is skipped.
    ///
    /// # Panics
    ///
    /// When the service cannot start.
    pub async fn start(self, config: ServiceConfig) -> Option<TestService> {
        let listener = free_listener().await;
        let (service, server, dir) = match self {
            Self::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = SqliteStore::open(dir.path().join("inventory.db"))
                    .await
                    .expect("open SQLite");
                let service = start(store, config, listener).await.expect("start");
                (service, None, Some(dir))
            }
            Self::Postgres => {
                let store = crate::pg::fresh_store(16).await?;
                let service = start(store.clone(), config, listener).await.expect("start");
                (service, Some(ServerStore::Postgres(store)), None)
            }
            Self::MySql => {
                let store = crate::my::fresh_store(16).await?;
                let service = start(store.clone(), config, listener).await.expect("start");
                (service, Some(ServerStore::MySql(store)), None)
            }
        };
        Some(TestService {
            base: format!("http://{}", service.addr()),
            client: reqwest::Client::new(),
            service,
            server,
            _dir: dir,
        })
    }
}

impl TestService {
    /// `POST /v1/receipts` of `quantity` units.
    ///
    /// # Panics
    ///
    /// When the receipt is not taken.
    pub async fn receive(&self, sku: &str, location: &str, quantity: i64) {
        let receipt = json!({ "sku": sku, "location": location, "quantity": quantity });
        let (status, row) = self.post("/v1/receipts", receipt).await;
        assert_eq!(status, StatusCode::OK, "{row}");
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST path` with a JSON body: the status and the JSON answer.
    ///
    /// # Panics
    ///
    /// When the request fails at the HTTP level or the answer is not JSON.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        answer(response).await
    }

    /// `POST path` with a JSON body and extra headers (an `Idempotency-Key`): the status
    /// and the JSON answer.
    ///
    /// # Panics
    ///
    /// As [`TestService::post`].
    pub async fn post_with(
        &self,
        path: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self.client.post(self.url(path)).json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.send().await.expect("request")).await
    }

    /// `POST path` with no body.
    ///
    /// # Panics
    ///
    /// As [`TestService::post`].
    pub async fn post_empty(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .send()
            .await
            .expect("request");
        answer(response).await
    }

    /// `PUT path` with a JSON body: the status and the JSON answer.
    ///
    /// # Panics
    ///
    /// As [`TestService::post`].
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self.client.put(self.url(path)).json(&body);
        answer(request.send().await.expect("request")).await
    }

    /// `DELETE path`: the status and the JSON answer (`null` for none).
    ///
    /// # Panics
    ///
    /// As [`TestService::post`].
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let request = self.client.delete(self.url(path));
        answer(request.send().await.expect("request")).await
    }

    /// `GET path`: the status and the JSON answer.
    ///
    /// # Panics
    ///
    /// As [`TestService::post`].
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        answer(response).await
    }

    /// `GET /metrics` as text.
    ///
    /// # Panics
    ///
    /// When the request fails.
    pub async fn metrics(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await;
        response
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Stops the service and starts a new one with `config` on the same database, as a
    /// restarted process would.
    ///
    /// # Panics
    ///
    /// When the service fails to stop or start.
    pub async fn restart(self, config: ServiceConfig) -> TestService {
        self.service.stop().await.expect("service stops cleanly");
        let listener = free_listener().await;
        let service = match (&self.server, &self._dir) {
            (Some(ServerStore::Postgres(store)), _) => start(store.clone(), config, listener).await,
            (Some(ServerStore::MySql(store)), _) => start(store.clone(), config, listener).await,
            (None, Some(dir)) => {
                let store = SqliteStore::open(dir.path().join("inventory.db"))
                    .await
                    .expect("reopen SQLite");
                start(store, config, listener).await
            }
            (None, None) => unreachable!("a test service has a database"),
        }
        .expect("restart");
        TestService {
            base: format!("http://{}", service.addr()),
            client: self.client,
            service,
            server: self.server,
            _dir: self._dir,
        }
    }

    /// Stops the service and drops its PostgreSQL schema or MySQL database.
    ///
    /// # Panics
    ///
    /// When the service failed.
    pub async fn stop(self) {
        self.service.stop().await.expect("service stops cleanly");
        match self.server {
            Some(ServerStore::Postgres(store)) => crate::pg::drop_store(store).await,
            Some(ServerStore::MySql(store)) => crate::my::drop_store(store).await,
            None => {}
        }
    }
}

/// The status of `response` and its body as JSON (`null` for a 204's empty body).
///
/// # Panics
///
/// When the body is not JSON.
pub async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
    let text = response.text().await.expect("body");
    if status == StatusCode::NO_CONTENT && text.is_empty() {
        return (status, Value::Null);
    }
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{status} answer is not JSON ({error}): {text}"));
    (status, json)
}

/// What a channel receiver was told.
#[derive(Debug, Default)]
pub struct Received {
    /// The last number per SKU.
    pub last: Mutex<BTreeMap<String, i64>>,
    /// Pushes taken.
    pub pushes: AtomicUsize,
    /// Pushes still to refuse with a 503.
    pub refuse: AtomicUsize,
    /// Low-stock events delivered to it (`{"events":[...]}` bodies), in order.
    pub events: Mutex<Vec<Value>>,
}

impl Received {
    /// The last number told for `sku`.
    pub fn last(&self, sku: &str) -> Option<i64> {
        self.last.lock().expect("lock").get(sku).copied()
    }
}

async fn take(State(received): State<Arc<Received>>, Json(push): Json<Value>) -> StatusCode {
    let refuse = received
        .refuse
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        });
    if refuse.is_ok() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let events = push["events"].as_array().into_iter().flatten().cloned();
    received.events.lock().expect("lock").extend(events);
    let mut last = received.last.lock().expect("lock");
    for update in push["updates"].as_array().into_iter().flatten() {
        let (Some(sku), Some(quantity)) = (update["sku"].as_str(), update["quantity"].as_i64())
        else {
            return StatusCode::BAD_REQUEST;
        };
        last.insert(sku.to_owned(), quantity);
    }
    received.pushes.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

/// A local HTTP server standing in for a sales channel (or a low-stock webhook): its
/// URL and what it was told. It refuses its first `refuse` pushes with a 503.
///
/// # Panics
///
/// When no port can be bound.
pub async fn channel_receiver(refuse: usize) -> (String, Arc<Received>) {
    let received = Arc::new(Received::default());
    received.refuse.store(refuse, Ordering::SeqCst);
    let app = Router::new()
        .route("/stock", post(take))
        .with_state(Arc::clone(&received));
    let listener = free_listener().await;
    let url = format!("http://{}/stock", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// Polls `check` every 20 ms until it holds or `limit` passes; whether it held.
pub async fn eventually(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The soft limit on open files of this process, when `/proc` tells it.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
