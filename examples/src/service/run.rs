//! Starting and stopping the service: the database, the background tasks, the
//! listener, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use inventory_core::events::{EventConfig, EventWorker};
use inventory_core::expiry::{ExpiryConfig, ExpiryWorker};
use inventory_core::reorder::{Notifier, PurchaseOrder};
use inventory_core::sync::{SyncConfig, SyncWorker};
use inventory_core::{DomainError, Inventory, StoreError};
use inventory_sqlite::{OpenError, SqliteStore};
use inventory_sqlx::{MySqlStore, PgStore};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::channel_amazon::{AmazonChannel, AmazonConfigError};
use super::channel_http::HttpChannel;
use super::channel_shopify::{ShopifyChannel, ShopifyConfigError};
use super::config::{ConfigError, ServiceConfig, Settings};
use super::events_http::HttpNotifier;
use super::metrics::Metrics;
use super::{router, AppState, ServiceStore};

/// The service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The SQLite file could not be opened.
    #[error("cannot open the SQLite database: {0}")]
    Sqlite(#[from] OpenError),
    /// PostgreSQL could not be reached or migrated.
    #[error("cannot open the PostgreSQL database: {0}")]
    Postgres(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// MySQL or MariaDB could not be reached or migrated.
    #[error("cannot open the MySQL database: {0}")]
    MySql(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A configured value breaks a rule.
    #[error("invalid configuration: {0}")]
    Domain(#[from] DomainError),
    /// Writing the configured suppliers failed.
    #[error("storage failed at startup: {0}")]
    Store(#[from] StoreError),
    /// The address could not be bound, or serving failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// The HTTP client of a channel could not be built.
    #[error("channel client: {0}")]
    Client(#[from] reqwest::Error),
    /// A Shopify channel's section cannot be used (no token, no shop, a bad location).
    #[error("Shopify channel: {0}")]
    Shopify(#[from] ShopifyConfigError),
    /// An Amazon channel's section cannot be used (no secret, no refresh token).
    #[error(transparent)]
    Amazon(#[from] AmazonConfigError),
}

/// Defines the configured bundles and policies whose stored definition differs.
async fn define_bundles<S: ServiceStore>(
    inventory: &Inventory<S>,
    config: &ServiceConfig,
) -> Result<(), StartError> {
    let failed = |error: inventory_core::Error| match error {
        inventory_core::Error::Domain(error) => StartError::Domain(error),
        inventory_core::Error::Store(error) => StartError::Store(error),
    };
    for bundle in &config.bundles {
        let (sku, components) = bundle.definition()?;
        let catalog = inventory.catalog().await.map_err(failed)?;
        if catalog.bundle(&sku) != Some(components.as_slice()) {
            inventory
                .define_bundle(sku, components)
                .await
                .map_err(failed)?;
        }
    }
    for policy in &config.policies {
        let (sku, limit, low_stock) = policy.policy()?;
        let catalog = inventory.catalog().await.map_err(failed)?;
        let stored = catalog
            .settings(&sku)
            .and_then(|settings| settings.low_stock);
        if catalog.backorder(&sku) != limit || stored != low_stock {
            inventory
                .set_policy(sku, limit, low_stock)
                .await
                .map_err(failed)?;
        }
    }
    Ok(())
}

/// Tells the log about every purchase order a reorder run raises.
pub(super) struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn purchase_order_raised(&self, order: &PurchaseOrder, summary: &str) {
        tracing::info!(id = %order.id, total = %order.total_cost(), "{summary}");
    }
}

/// How long a background worker may take to finish at shutdown.
const BACKGROUND_STOP: std::time::Duration = std::time::Duration::from_secs(5);

/// A running service.
pub struct Service {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Service {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops taking connections, lets requests in flight finish, stops the background
    /// tasks, and waits for all of it.
    ///
    /// # Errors
    ///
    /// The server's I/O error, if it failed.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.wait().await
    }

    /// Waits until the service stops.
    ///
    /// # Errors
    ///
    /// The server's I/O error, if it failed.
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(error) => Err(std::io::Error::other(error)),
        }
    }
}

/// Serves `store` on `listener` with `config`: writes the configured suppliers, starts
/// the expiry sweep and the sync worker, and answers requests until [`Service::stop`].
///
/// ```
/// use inventory_core::MemoryStore;
/// use inventory_examples::service::{start, ServiceConfig};
/// use serde_json::{json, Value};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let service = start(MemoryStore::new(), ServiceConfig::default(), listener).await?;
/// let base = format!("http://{}", service.addr());
/// let client = reqwest::Client::new();
///
/// let receipt = json!({ "sku": "TEE", "location": "main", "quantity": 5 });
/// client.post(format!("{base}/v1/receipts")).json(&receipt).send().await?;
/// let order = json!({ "order_id": "#1001", "lines": [{ "sku": "TEE", "quantity": 2 }] });
/// let held = client.post(format!("{base}/v1/reservations")).json(&order).send().await?;
/// assert_eq!(held.status(), 201);
///
/// let stock: Value = client.get(format!("{base}/v1/stock/TEE")).send().await?.json().await?;
/// assert_eq!(stock["available"], 3);
/// service.stop().await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
///
/// # Errors
///
/// [`StartError`] for a bad configured value, a storage failure while writing the
/// suppliers, or a channel client that cannot be built.
pub async fn start<S: ServiceStore>(
    store: S,
    config: ServiceConfig,
    listener: TcpListener,
) -> Result<Service, StartError> {
    let addr = listener.local_addr()?;
    for supplier in &config.suppliers {
        store.put_supplier(&supplier.supplier()?).await?;
        for link in supplier.links()? {
            store.put_link(&link).await?;
        }
    }
    let inventory = Inventory::new(store).with_default_ttl(config.default_ttl()?)?;
    define_bundles(&inventory, &config).await?;
    let metrics = Arc::new(Metrics::default());
    let mut builder = SyncWorker::builder(inventory.clone());
    for channel in &config.channels {
        let policy = channel.policy()?;
        builder = match (&channel.webhook, &channel.shopify, &channel.amazon) {
            (_, Some(shopify), _) => {
                let adapter = ShopifyChannel::new(&channel.name, shopify, Arc::clone(&metrics))?;
                builder.channel(&channel.name, policy, adapter)?
            }
            (_, None, Some(amazon)) => {
                let adapter = AmazonChannel::new(&channel.name, amazon, Arc::clone(&metrics))?;
                builder.channel(&channel.name, policy, adapter)?
            }
            (Some(url), None, None) => {
                let adapter = HttpChannel::new(&channel.name, url, Arc::clone(&metrics))?;
                builder.channel(&channel.name, policy, adapter)?
            }
            (None, None, None) => {
                unreachable!("ChannelConfig::policy refuses a channel without a target")
            }
        };
    }
    if let Some(tick) = config.sync_tick_ms {
        builder = builder.config(SyncConfig {
            tick: std::time::Duration::from_millis(tick.max(10)),
            ..SyncConfig::default()
        });
    }
    let worker = Arc::new(builder.spawn());
    let events = match &config.low_stock_webhook {
        Some(url) => {
            let mut settings = EventConfig::default();
            if let Some(tick) = config.sync_tick_ms {
                settings.tick = std::time::Duration::from_millis(tick.max(10));
            }
            let notifier = HttpNotifier::new(url)?;
            Some(
                EventWorker::new(inventory.clone(), notifier)
                    .with_config(settings)
                    .spawn(),
            )
        }
        None => None,
    };
    let (shutdown, stopping) = watch::channel(false);
    let expirer = ExpiryWorker::spawn(
        inventory.clone(),
        ExpiryConfig {
            interval: config.sweep_interval(),
            ..ExpiryConfig::default()
        },
    );
    let background = [
        tokio::spawn({
            let worker = Arc::clone(&worker);
            every(config.reconcile_interval(), stopping.clone(), move || {
                reconcile(Arc::clone(&worker))
            })
        }),
        tokio::spawn({
            let inventory = inventory.clone();
            let retention = config.webhook_retention();
            every(INBOX_PURGE_INTERVAL, stopping.clone(), move || {
                forget_old_webhooks(inventory.clone(), retention)
            })
        }),
    ];
    let sync = Arc::clone(&worker);
    let state = AppState {
        inventory,
        worker,
        config: Arc::new(config),
        metrics,
    };
    let app = router(state);
    let mut stopped = stopping;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
        for task in background {
            let _ = task.await;
        }
        let _ = expirer.stop(BACKGROUND_STOP).await;
        // The router and the tasks above held the other handles of the sync worker:
        // its push in flight finishes, its claims are released.
        if let Ok(sync) = Arc::try_unwrap(sync) {
            let _ = sync.stop(BACKGROUND_STOP).await;
        }
        drop(events);
        tracing::info!("stopped");
        served
    });
    Ok(Service {
        addr,
        shutdown,
        task,
    })
}

/// Runs `work` at once and then every `interval` until told to stop; a stop also cuts
/// a run short (its transaction, if any, rolls back).
async fn every<F, Fut>(
    interval: std::time::Duration,
    mut stopping: watch::Receiver<bool>,
    mut work: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
        tokio::select! {
            () = work() => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

/// How often handled webhook ids past their retention are forgotten.
const INBOX_PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3_600);

/// Forgets handled webhook ids older than `retention`.
async fn forget_old_webhooks<S: ServiceStore>(
    inventory: Inventory<S>,
    retention: std::time::Duration,
) {
    let cutoff = chrono::TimeDelta::from_std(retention)
        .ok()
        .and_then(|age| inventory.now().checked_sub_signed(age));
    let Some(cutoff) = cutoff else { return };
    match inventory
        .read(|store| store.forget_handled_before(cutoff))
        .await
    {
        Ok(0) => {}
        Ok(forgotten) => tracing::info!(forgotten, "old webhook ids forgotten"),
        Err(error) => tracing::warn!(%error, "forgetting old webhook ids failed; next run retries"),
    }
}

/// Pushes every SKU's number to every channel: for a new channel, or numbers lost in
/// an outage.
async fn reconcile<S: ServiceStore>(worker: Arc<SyncWorker<S>>) {
    match worker.reconcile(None).await {
        Ok(pushed) => tracing::info!(pushed, "channels reconciled"),
        Err(error) => tracing::warn!(%error, "reconciliation failed; next tick retries"),
    }
}

/// The database a `mysql://` URL names (of its first host, when it names several).
fn mysql_database(url: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| path.split(['?', '#']).next().unwrap_or_default())
        .unwrap_or_default();
    if path.is_empty() {
        return Err("the MySQL URL names no database (mysql://user@host:port/database)".into());
    }
    Ok(path.to_owned())
}

/// Opens the database `settings` name and serves on its address until `shutdown`
/// completes, then stops gracefully. Prints `listening on http://<addr>` to standard
/// output once it accepts connections.
///
/// # Errors
///
/// [`StartError`] when the database, the config or the address fails.
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let listener = TcpListener::bind(settings.addr).await?;
    let service = if settings.is_postgres() {
        let postgres = |error| StartError::Postgres(Box::new(error));
        let schema = settings.config.postgres_schema.as_deref();
        let options = match schema {
            Some(schema) => PgStore::pool_options_in(schema).map_err(postgres)?,
            None => PgStore::pool_options(),
        };
        let options = options
            .max_connections(settings.config.postgres_connections())
            .acquire_timeout(std::time::Duration::from_secs(5));
        // The URL may name a primary and its standbys: the store moves to a promoted
        // standby by itself.
        let store = PgStore::connect_with(&settings.db, options, schema)
            .await
            .map_err(|error| StartError::Postgres(Box::new(error)))?;
        store
            .migrate()
            .await
            .map_err(|error| StartError::Postgres(Box::new(error)))?;
        tracing::info!("database: PostgreSQL");
        start(store, settings.config, listener).await?
    } else if settings.is_mysql() {
        let options = MySqlStore::pool_options()
            .max_connections(settings.config.postgres_connections())
            .acquire_timeout(std::time::Duration::from_secs(5));
        // The URL may name several Galera nodes; the tables stay in the URL's
        // database.
        let database = mysql_database(&settings.db).map_err(StartError::MySql)?;
        let store = MySqlStore::connect_with(&settings.db, options, &database)
            .await
            .map_err(|error| StartError::MySql(Box::new(error)))?;
        store
            .migrate()
            .await
            .map_err(|error| StartError::MySql(Box::new(error)))?;
        tracing::info!("database: MySQL");
        start(store, settings.config, listener).await?
    } else {
        let store = SqliteStore::open(&settings.db).await?;
        tracing::info!(path = %settings.db, "database: SQLite");
        start(store, settings.config, listener).await?
    };
    tracing::info!(addr = %service.addr(), "listening");
    println!("listening on http://{}", service.addr());
    shutdown.await;
    tracing::info!("shutting down: finishing requests in flight");
    Ok(service.stop().await?)
}

/// Resolves on SIGINT or SIGTERM.
async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// The program: settings from the command line and environment, logs to standard error
/// (`RUST_LOG` filters, default `info`), serves until SIGINT or SIGTERM.
pub async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let settings =
        match Settings::from_args(std::env::args().skip(1), |name| std::env::var(name).ok()) {
            Ok(settings) => settings,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(2);
            }
        };
    match run(settings, signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "service failed");
            ExitCode::FAILURE
        }
    }
}
