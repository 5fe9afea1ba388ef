//! Settings of the service: the command line and environment ([`Settings`]) and the
//! optional TOML file ([`ServiceConfig`]) with channels, suppliers and schedules.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use inventory_core::DomainError;
use serde::Deserialize;

mod sections;

pub use sections::{
    BundleConfig, ChannelConfig, ComponentConfig, CountingSettings, LimitConfig, PolicyConfig,
    ReorderSettings, SkuSupply, SupplierConfig,
};

/// Database used when none is named: a SQLite file in the working directory.
pub const DB_DEFAULT: &str = "./inventory.db";
/// Address used when none is named.
pub const ADDR_DEFAULT: &str = "127.0.0.1:8080";
/// Largest request body the service reads: 1 MiB.
pub const BODY_BYTES_MAX: usize = 1 << 20;
/// Shortest API token accepted.
pub const API_TOKEN_LENGTH_MIN: usize = 16;
/// Longest a request may take before it is answered 503 (its transaction, if it was
/// still waiting, is dropped and rolled back).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A setting is missing, malformed or out of range.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A command-line flag is unknown or lacks its value.
    #[error("{0}\nusage: reference_service [--db <sqlite path | postgres:// URL | mysql:// URL>] [--addr <ip:port>] [--config <file.toml>]")]
    Usage(String),
    /// The listen address does not parse.
    #[error("invalid listen address {0:?}")]
    Addr(String),
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected shape.
    #[error("invalid config file: {0}")]
    Toml(#[from] toml::de::Error),
    /// A value in the config file breaks a rule of the library.
    #[error("invalid config value: {0}")]
    Value(#[from] DomainError),
}

/// Where the service stores its data, where it listens, and its config file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A SQLite file path, a `postgres://` / `postgresql://` URL or a `mysql://` URL.
    pub db: String,
    /// The address to listen on.
    pub addr: SocketAddr,
    /// The parsed config file (defaults when none was given).
    pub config: ServiceConfig,
}

impl Settings {
    /// Settings from command-line arguments (without the program name), falling back to
    /// `INVENTORY_DB`, `INVENTORY_ADDR`, `INVENTORY_CONFIG` and then the defaults; the
    /// Shopify secret from `SHOPIFY_WEBHOOK_SECRET` and the API token from
    /// `INVENTORY_API_TOKEN` when the file names none.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an unknown flag, a bad address or a bad config file.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let (mut db, mut addr, mut config) = (None, None, None);
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let slot = match flag.as_str() {
                "--db" => &mut db,
                "--addr" => &mut addr,
                "--config" => &mut config,
                other => return Err(ConfigError::Usage(format!("unknown argument {other:?}"))),
            };
            let value = args
                .next()
                .ok_or_else(|| ConfigError::Usage(format!("{flag} needs a value")))?;
            *slot = Some(value);
        }
        let db = db
            .or_else(|| env("INVENTORY_DB"))
            .unwrap_or_else(|| DB_DEFAULT.to_owned());
        // `sqlite:` / `sqlite://` URLs name a file too.
        let db = match db
            .strip_prefix("sqlite://")
            .or_else(|| db.strip_prefix("sqlite:"))
        {
            Some(path) => path.to_owned(),
            None => db,
        };
        let addr_text = addr
            .or_else(|| env("INVENTORY_ADDR"))
            .unwrap_or_else(|| ADDR_DEFAULT.to_owned());
        let addr = addr_text
            .parse()
            .map_err(|_| ConfigError::Addr(addr_text.clone()))?;
        let mut config = match config.or_else(|| env("INVENTORY_CONFIG")) {
            Some(path) => ServiceConfig::load(Path::new(&path))?,
            None => ServiceConfig::default(),
        };
        if config.shopify_webhook_secret.is_none() {
            config.shopify_webhook_secret = env("SHOPIFY_WEBHOOK_SECRET").filter(|s| !s.is_empty());
        }
        for channel in &mut config.channels {
            if let Some(shopify) = &mut channel.shopify {
                shopify.token_from(&env);
            }
            if let Some(amazon) = &mut channel.amazon {
                amazon.secrets_from(&env);
            }
        }
        if config.api_token.is_none() {
            config.api_token = env("INVENTORY_API_TOKEN").filter(|s| !s.is_empty());
            config.check_api_token()?;
        }
        Ok(Self { db, addr, config })
    }

    /// `true` when [`Settings::db`] names a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.db.starts_with("postgres://") || self.db.starts_with("postgresql://")
    }

    /// `true` when [`Settings::db`] names a MySQL or MariaDB database (a `mysql://`
    /// URL).
    pub fn is_mysql(&self) -> bool {
        self.db.starts_with("mysql://")
    }
}

/// The config file.
///
/// ```toml
/// shopify_webhook_secret = "hush"
///
/// [[channels]]
/// name = "shopify"
/// buffer = 0.90
/// webhook = "http://127.0.0.1:9001/stock"
/// safety_units = 2
///
/// [[policies]]
/// sku = "TEE-BLACK-M"
/// backorder_limit = 50
///
/// [[bundles]]
/// sku = "GIFT-SET"
/// components = [{ sku = "MUG", quantity = 1 }, { sku = "TEA", quantity = 2 }]
///
/// [[suppliers]]
/// id = "acme"
/// lead_time_days = 14
/// [[suppliers.skus]]
/// sku = "TEE-BLACK-M"
/// unit_cost = "4.10"
/// service_level = 0.95
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The shared secret of Shopify's webhooks; without one every webhook is refused.
    pub shopify_webhook_secret: Option<String>,
    /// A bearer token every `/v1` call (webhooks aside) must carry; none means the API
    /// is open (bind it to a private address then).
    pub api_token: Option<String>,
    /// Hold time of reservations made through the API when a request names none
    /// (default 1,800 s).
    pub default_ttl_seconds: Option<u64>,
    /// Hold time of reservations made by Shopify's `orders/create` (default 7 days: the
    /// order is placed and paid, it waits for fulfilment).
    pub shopify_hold_seconds: Option<u64>,
    /// Longest sleep of the expiry sweeper, in seconds (default 5); it also wakes when
    /// the next hold runs out.
    pub sweep_interval_seconds: Option<u64>,
    /// Seconds between full reconciliations of every channel (default 3,600; one also
    /// runs at start).
    pub reconcile_interval_seconds: Option<u64>,
    /// Hours a handled webhook id is remembered (default 48: Shopify retries a delivery
    /// for 48 hours).
    pub webhook_retention_hours: Option<u64>,
    /// Connections in the database server's pool, PostgreSQL or MySQL (default 16).
    pub postgres_connections: Option<u32>,
    /// The PostgreSQL schema of the inventory's tables and migration history (created
    /// when missing), apart from an app's own in the same database; without it, the
    /// URL's `search_path` decides (`public` by default).
    pub postgres_schema: Option<String>,
    /// Milliseconds between the sync worker's safety passes (default 2,000).
    pub sync_tick_ms: Option<u64>,
    /// Sales channels told their share of available.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// Where low-stock events are POSTed (`{"events":[...]}`); none: they wait in the
    /// store's outbox.
    pub low_stock_webhook: Option<String>,
    /// Suppliers and the SKUs they deliver.
    #[serde(default)]
    pub suppliers: Vec<SupplierConfig>,
    /// Bundles (kits) defined at start (also `PUT /v1/skus/{sku}/bundle`).
    #[serde(default)]
    pub bundles: Vec<BundleConfig>,
    /// Selling policies set at start (also `PUT /v1/skus/{sku}/policy`).
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
    /// Reorder runs.
    #[serde(default)]
    pub reorder: ReorderSettings,
    /// Cycle counting.
    #[serde(default)]
    pub counting: CountingSettings,
}

impl ServiceConfig {
    /// Reads and checks a config file.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when it cannot be read or has a bad value.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks config text.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for bad TOML or a bad value.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text)?;
        for channel in &config.channels {
            channel.policy()?;
        }
        for supplier in &config.suppliers {
            supplier.supplier()?;
            supplier.links()?;
        }
        for bundle in &config.bundles {
            bundle.definition()?;
        }
        for policy in &config.policies {
            policy.policy()?;
        }
        config.reorder.location()?;
        config.counting.abc.checked()?;
        config.counting.thresholds.checked()?;
        config.default_ttl()?;
        config.shopify_hold()?;
        if config
            .api_token
            .as_deref()
            .is_some_and(|token| token.len() < 16)
        {
            return Err(DomainError::invalid_setting(
                "api_token",
                "(hidden)",
                "must be at least 16 characters",
            )
            .into());
        }
        Ok(config)
    }

    /// Refuses an API token short enough to guess.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] for a token under [`API_TOKEN_LENGTH_MIN`] bytes.
    pub fn check_api_token(&self) -> Result<(), DomainError> {
        match &self.api_token {
            Some(token) if token.len() < API_TOKEN_LENGTH_MIN => Err(DomainError::invalid_setting(
                "api_token",
                "(hidden)",
                "must be at least 16 characters",
            )),
            _ => Ok(()),
        }
    }

    /// The API's default hold time.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidTtl`] outside 1 s to 30 days.
    pub fn default_ttl(&self) -> Result<Duration, DomainError> {
        ttl(self.default_ttl_seconds.unwrap_or(30 * 60))
    }

    /// The hold time of Shopify orders.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidTtl`] outside 1 s to 30 days.
    pub fn shopify_hold(&self) -> Result<Duration, DomainError> {
        ttl(self.shopify_hold_seconds.unwrap_or(7 * 24 * 60 * 60))
    }

    /// Connections in the database server's pool (PostgreSQL or MySQL).
    pub fn postgres_connections(&self) -> u32 {
        self.postgres_connections.unwrap_or(16).max(1)
    }

    /// Time between full channel reconciliations.
    pub fn reconcile_interval(&self) -> Duration {
        Duration::from_secs(self.reconcile_interval_seconds.unwrap_or(3_600).max(1))
    }

    /// How long a handled webhook id is remembered.
    pub fn webhook_retention(&self) -> Duration {
        Duration::from_secs(self.webhook_retention_hours.unwrap_or(48).max(1) * 3_600)
    }

    /// Longest time between expiry sweeps.
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_seconds.unwrap_or(5).max(1))
    }
}

/// A hold time in seconds, checked against the library's range.
///
/// # Errors
///
/// [`DomainError::InvalidTtl`] outside 1 s to 30 days.
pub fn ttl(seconds: u64) -> Result<Duration, DomainError> {
    let ttl = Duration::from_secs(seconds);
    inventory_core::check_ttl(ttl)?;
    Ok(ttl)
}

#[cfg(test)]
mod tests;
