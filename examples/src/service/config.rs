//! Settings of the service: the command line and environment ([`Settings`]) and the
//! optional TOML file ([`ServiceConfig`]) with channels, suppliers and schedules.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use inventory_core::counting::{AbcConfig, CountThresholds};
use inventory_core::reorder::{ReorderRule, ServiceLevel, Supplier, SupplierLink};
use inventory_core::sync::{Buffer, ChannelPolicy};
use inventory_core::{DomainError, LocationId, Sku, SupplierId};
use rust_decimal::Decimal;
use serde::Deserialize;

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
    #[error("{0}\nusage: reference_service [--db <sqlite path | postgres:// URL>] [--addr <ip:port>] [--config <file.toml>]")]
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
    /// A SQLite file path, or a `postgres://` / `postgresql://` URL.
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
    /// Seconds between expiry sweeps (default 5).
    pub sweep_interval_seconds: Option<u64>,
    /// Seconds between full reconciliations of every channel (default 3,600; one also
    /// runs at start).
    pub reconcile_interval_seconds: Option<u64>,
    /// Milliseconds between the sync worker's safety passes (default 2,000).
    pub sync_tick_ms: Option<u64>,
    /// Sales channels told their share of available.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// Suppliers and the SKUs they deliver.
    #[serde(default)]
    pub suppliers: Vec<SupplierConfig>,
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
            return Err(invalid("api_token must be at least 16 characters".to_owned()).into());
        }
        Ok(config)
    }

    /// Refuses an API token short enough to guess.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidRequest`] for a token under [`API_TOKEN_LENGTH_MIN`] bytes.
    pub fn check_api_token(&self) -> Result<(), DomainError> {
        match &self.api_token {
            Some(token) if token.len() < API_TOKEN_LENGTH_MIN => Err(invalid(format!(
                "api_token must be at least {API_TOKEN_LENGTH_MIN} characters"
            ))),
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

    /// Time between full channel reconciliations.
    pub fn reconcile_interval(&self) -> Duration {
        Duration::from_secs(self.reconcile_interval_seconds.unwrap_or(3_600).max(1))
    }

    /// Time between expiry sweeps.
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
    inventory_core::reservation::check_ttl(ttl)?;
    Ok(ttl)
}

fn invalid(reason: String) -> DomainError {
    DomainError::InvalidRequest { reason }
}

/// One sales channel: its share of available and where numbers are POSTed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// Its name, as in `/v1/channels/{name}/...`.
    pub name: String,
    /// Share of available, 0 to 1 (at most four decimals).
    pub buffer: f64,
    /// URL that takes `{"channel","updates":[{"sku","quantity"}]}`.
    pub webhook: String,
    /// Units held back before the share is taken.
    #[serde(default)]
    pub safety_units: i64,
    /// Most units ever told.
    pub cap: Option<i64>,
    /// Locations it sells from (all when absent).
    pub locations: Option<Vec<String>>,
}

impl ChannelConfig {
    /// The channel's policy.
    ///
    /// # Errors
    ///
    /// [`DomainError`] for a buffer outside 0..=1, negative units or a bad location.
    pub fn policy(&self) -> Result<ChannelPolicy, DomainError> {
        let points = self.buffer * 10_000.0;
        if !(0.0..=10_000.0).contains(&points) || (points - points.round()).abs() > 1e-6 {
            return Err(invalid(format!(
                "channel {}: buffer {} is not a share from 0 to 1 with at most four decimals",
                self.name, self.buffer
            )));
        }
        if self.safety_units < 0 || self.cap.is_some_and(|cap| cap < 0) {
            return Err(invalid(format!(
                "channel {}: safety_units and cap must be >= 0",
                self.name
            )));
        }
        // Checked just above: the share is a whole number of basis points in range.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let buffer = Buffer::basis_points(points.round() as u32)?;
        let mut policy = ChannelPolicy::buffered(buffer).with_safety_units(self.safety_units);
        if let Some(cap) = self.cap {
            policy = policy.with_cap(cap);
        }
        if let Some(locations) = &self.locations {
            let locations = locations
                .iter()
                .map(LocationId::new)
                .collect::<Result<Vec<_>, _>>()?;
            policy = policy.with_locations(locations);
        }
        Ok(policy)
    }
}

/// A supplier and the SKUs it delivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierConfig {
    /// Its id.
    pub id: String,
    /// Mean days from order to arrival.
    pub lead_time_days: f64,
    /// Standard deviation of the lead time, if known.
    pub lead_time_std_dev_days: Option<f64>,
    /// Fewest units per order line.
    #[serde(default)]
    pub minimum_order_quantity: i64,
    /// Units per case.
    pub case_pack: Option<i64>,
    /// The SKUs it delivers and their reorder rules.
    #[serde(default)]
    pub skus: Vec<SkuSupply>,
}

/// One SKU a supplier delivers. A `reorder_point` makes the rule static; otherwise it
/// is dynamic with `service_level` (default 0.95).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuSupply {
    /// The SKU.
    pub sku: String,
    /// Price per unit, as decimal text ("4.10").
    pub unit_cost: String,
    /// A static reorder point.
    pub reorder_point: Option<i64>,
    /// A fixed order quantity.
    pub order_quantity: Option<i64>,
    /// The dynamic rule's service level.
    pub service_level: Option<f64>,
    /// The dynamic rule's review period in days (default 7).
    pub review_days: Option<u32>,
}

impl SupplierConfig {
    /// The supplier.
    ///
    /// # Errors
    ///
    /// [`DomainError`] for a bad id or a value out of range.
    pub fn supplier(&self) -> Result<Supplier, DomainError> {
        Supplier {
            id: SupplierId::new(&self.id)?,
            lead_time_days: self.lead_time_days,
            lead_time_std_dev_days: self.lead_time_std_dev_days,
            minimum_order_quantity: self.minimum_order_quantity,
            case_pack: self.case_pack.unwrap_or(1),
        }
        .checked()
    }

    /// Its SKU links.
    ///
    /// # Errors
    ///
    /// [`DomainError`] for a bad SKU, price or rule.
    pub fn links(&self) -> Result<Vec<SupplierLink>, DomainError> {
        let supplier = SupplierId::new(&self.id)?;
        self.skus
            .iter()
            .map(|supply| {
                let unit_cost: Decimal = supply.unit_cost.parse().map_err(|_| {
                    invalid(format!("unit cost {:?} is not a decimal", supply.unit_cost))
                })?;
                if unit_cost.is_sign_negative() {
                    return Err(invalid(format!("unit cost {unit_cost} is negative")));
                }
                if supply.order_quantity.is_some_and(|quantity| quantity < 1) {
                    return Err(invalid("order_quantity must be >= 1".to_owned()));
                }
                let rule = match supply.reorder_point {
                    Some(point) if point >= 0 => ReorderRule::Static {
                        point,
                        quantity: supply.order_quantity,
                    },
                    Some(point) => return Err(invalid(format!("reorder point {point} < 0"))),
                    None => ReorderRule::Dynamic {
                        service_level: ServiceLevel::new(supply.service_level.unwrap_or(0.95))?,
                        review_days: supply.review_days.unwrap_or(7),
                        quantity: supply.order_quantity,
                    },
                };
                Ok(SupplierLink {
                    sku: Sku::new(&supply.sku)?,
                    supplier: supplier.clone(),
                    unit_cost,
                    rule,
                })
            })
            .collect()
    }
}

/// Reorder runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReorderSettings {
    /// Where purchase orders are delivered (default "main").
    pub location: String,
    /// Days of sales behind the demand (default 28).
    pub window_days: u32,
}

impl Default for ReorderSettings {
    fn default() -> Self {
        Self {
            location: "main".to_owned(),
            window_days: inventory_core::reorder::DEMAND_WINDOW_DAYS,
        }
    }
}

impl ReorderSettings {
    /// The delivery location.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidIdentifier`] for a bad name.
    pub fn location(&self) -> Result<LocationId, DomainError> {
        LocationId::new(&self.location)
    }
}

/// Cycle counting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountingSettings {
    /// The day never-counted rows are spread from (default 2026-01-01).
    pub start: NaiveDate,
    /// Most counts a day (no limit when absent).
    pub capacity: Option<usize>,
    /// Classes and intervals.
    #[serde(default)]
    pub abc: AbcConfig,
    /// Discrepancy thresholds in basis points.
    #[serde(default)]
    pub thresholds: CountThresholds,
}

impl Default for CountingSettings {
    fn default() -> Self {
        Self {
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            capacity: None,
            abc: AbcConfig::default(),
            thresholds: CountThresholds::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_defaults() {
        let none = |_: &str| None;
        let defaults = Settings::from_args(args(&[]), none).unwrap();
        assert_eq!(defaults.db, DB_DEFAULT);
        assert_eq!(defaults.addr.to_string(), ADDR_DEFAULT);
        assert!(defaults.config.shopify_webhook_secret.is_none());

        let env = |name: &str| match name {
            "INVENTORY_DB" => Some("postgres://db/shop".to_owned()),
            "INVENTORY_ADDR" => Some("0.0.0.0:9000".to_owned()),
            "SHOPIFY_WEBHOOK_SECRET" => Some("from-env".to_owned()),
            _ => None,
        };
        let from_env = Settings::from_args(args(&[]), env).unwrap();
        assert!(from_env.is_postgres());
        assert_eq!(from_env.addr.to_string(), "0.0.0.0:9000");
        assert_eq!(
            from_env.config.shopify_webhook_secret.as_deref(),
            Some("from-env")
        );

        let flags =
            Settings::from_args(args(&["--db", "shop.db", "--addr", "127.0.0.1:1"]), env).unwrap();
        assert_eq!((flags.db.as_str(), flags.is_postgres()), ("shop.db", false));
        let url = Settings::from_args(args(&["--db", "sqlite://data/shop.db"]), none).unwrap();
        assert_eq!(url.db, "data/shop.db");
        assert_eq!(flags.addr.port(), 1);
    }

    #[test]
    fn bad_flags_and_addresses_are_refused() {
        let none = |_: &str| None;
        for bad in [&["--port", "1"][..], &["--db"], &["--addr", "localhost"]] {
            assert!(Settings::from_args(args(bad), none).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_file_secret_wins_over_the_environment() {
        let path = std::env::temp_dir().join(format!("service-{}.toml", std::process::id()));
        std::fs::write(&path, "shopify_webhook_secret = \"file\"\n").unwrap();
        let env = |name: &str| (name == "SHOPIFY_WEBHOOK_SECRET").then(|| "env".to_owned());
        let flags = args(&["--config", path.to_str().unwrap()]);
        let settings = Settings::from_args(flags, env);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            settings.unwrap().config.shopify_webhook_secret.as_deref(),
            Some("file")
        );
        let missing = args(&["--config", "/nonexistent/service.toml"]);
        assert!(matches!(
            Settings::from_args(missing, |_: &str| None),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn the_example_file_is_valid() {
        let config = ServiceConfig::parse(include_str!("../../service.toml")).unwrap();
        assert_eq!(config.channels.len(), 2);
        assert_eq!(config.suppliers[0].links().unwrap().len(), 2);
        assert_eq!(config.counting.capacity, Some(40));
    }

    #[test]
    fn channels_become_policies() {
        let config = ServiceConfig::parse(
            "[[channels]]\nname = \"shopify\"\nbuffer = 0.90\nwebhook = \"http://x/stock\"\n\
             safety_units = 2\ncap = 100\nlocations = [\"main\"]\n",
        )
        .unwrap();
        let policy = config.channels[0].policy().unwrap();
        assert_eq!(policy.terms.buffer.get(), 9_000);
        assert_eq!(
            (policy.terms.safety_units, policy.terms.cap),
            (2, Some(100))
        );
        assert_eq!(policy.locations.map(|set| set.len()), Some(1));
    }

    #[test]
    fn bad_values_are_refused_with_their_reason() {
        let cases = [
            "[[channels]]\nname = \"a\"\nbuffer = 1.5\nwebhook = \"http://x\"",
            "[[channels]]\nname = \"a\"\nbuffer = 0.12345\nwebhook = \"http://x\"",
            "[[channels]]\nname = \"a\"\nbuffer = 0.5\nwebhook = \"http://x\"\nsafety_units = -1",
            "[[suppliers]]\nid = \"acme\"\nlead_time_days = 0",
            "[[suppliers]]\nid = \"acme\"\nlead_time_days = 3\n[[suppliers.skus]]\nsku = \"A\"\nunit_cost = \"cheap\"",
            "[[suppliers]]\nid = \"acme\"\nlead_time_days = 3\n[[suppliers.skus]]\nsku = \"A\"\nunit_cost = \"1\"\nservice_level = 1.5",
            "default_ttl_seconds = 0",
            "unknown_setting = 1",
            "[counting]\nstart = \"not a date\"",
        ];
        for text in cases {
            assert!(ServiceConfig::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn suppliers_become_links_with_rules() {
        let config = ServiceConfig::parse(
            "[[suppliers]]\nid = \"acme\"\nlead_time_days = 14\ncase_pack = 12\n\
             [[suppliers.skus]]\nsku = \"TEE\"\nunit_cost = \"4.10\"\nreorder_point = 20\n\
             [[suppliers.skus]]\nsku = \"MUG\"\nunit_cost = \"2.35\"\n",
        )
        .unwrap();
        let supplier = &config.suppliers[0];
        assert_eq!(supplier.supplier().unwrap().case_pack, 12);
        let links = supplier.links().unwrap();
        assert!(matches!(
            links[0].rule,
            ReorderRule::Static {
                point: 20,
                quantity: None
            }
        ));
        assert!(matches!(
            links[1].rule,
            ReorderRule::Dynamic { review_days: 7, .. }
        ));
        assert_eq!(links[1].unit_cost.to_string(), "2.35");
    }
}
