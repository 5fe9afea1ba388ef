//! The config file's sections: channels, suppliers, bundles, reorder runs, cycle
//! counting.

use chrono::NaiveDate;
use inventory_core::catalog::{BackorderLimit, BundleComponent};
use inventory_core::counting::{AbcConfig, CountThresholds};
use inventory_core::events::{LowStock, StockMeasure};
use inventory_core::reorder::{ReorderRule, ServiceLevel, Supplier, SupplierLink};
use inventory_core::sync::{Buffer, ChannelPolicy};
use inventory_core::{DomainError, LocationId, Quantity, Sku, SupplierId};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::service::channel_amazon::AmazonConfig;
use crate::service::channel_shopify::ShopifyConfig;

/// One sales channel: its share of available and where its numbers go: a `webhook` URL,
/// a Shopify store (`[channels.shopify]`) or an Amazon seller account
/// (`[channels.amazon]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// Its name, as in `/v1/channels/{name}/...`.
    pub name: String,
    /// Share of available, 0 to 1 (at most four decimals).
    pub buffer: f64,
    /// URL that takes `{"channel","updates":[{"sku","quantity"}]}`.
    pub webhook: Option<String>,
    /// A Shopify store's location, set through the Admin GraphQL API.
    pub shopify: Option<ShopifyConfig>,
    /// An Amazon seller account's offers, set through the Listings Items API.
    pub amazon: Option<AmazonConfig>,
    /// Units held back before the share is taken.
    #[serde(default)]
    pub safety_units: i64,
    /// Most units ever told.
    pub cap: Option<i64>,
    /// Locations it sells from (all when absent).
    pub locations: Option<Vec<String>>,
    /// Whether it is told, beside available units, the room left for backorders of SKUs
    /// with a backorder limit (default false: only units that exist).
    #[serde(default)]
    pub backorders: bool,
}

impl ChannelConfig {
    /// The channel's policy.
    ///
    /// # Errors
    ///
    /// [`DomainError`] for a buffer outside 0..=1, negative units or a bad location.
    pub fn policy(&self) -> Result<ChannelPolicy, DomainError> {
        let target = match (&self.webhook, &self.shopify, &self.amazon) {
            (Some(_), None, None) => Ok(()),
            (None, Some(shopify), None) => shopify
                .endpoint()
                .and_then(|_| shopify.location_gid())
                .and_then(|_| shopify.timeout())
                .map(|_| ())
                .map_err(|error| error.to_string()),
            (None, None, Some(amazon)) => amazon.check().map_err(|error| error.to_string()),
            _ => Err(
                "needs exactly one of `webhook`, `[channels.shopify]` and `[channels.amazon]`"
                    .to_owned(),
            ),
        };
        if let Err(problem) = target {
            return Err(DomainError::InvalidSetting {
                setting: "channel",
                value: format!("{:?}: {problem}", self.name),
                problem: "must say where its numbers go",
            });
        }
        // The shortest text that reads back as the same number is the decimal the file
        // holds (0.9 for `0.90`); the core's exact parser takes it from there.
        let buffer = Buffer::decimal(&self.buffer.to_string()).map_err(|_| {
            DomainError::invalid_setting(
                "channel buffer",
                format!("{} (channel {})", self.buffer, self.name),
                "must be a share from 0 to 1 with at most four decimals",
            )
        })?;
        if self.safety_units < 0 {
            return Err(DomainError::invalid_setting(
                "channel safety_units",
                format!("{} (channel {})", self.safety_units, self.name),
                "must be at least 0",
            ));
        }
        if let Some(cap) = self.cap.filter(|cap| *cap < 0) {
            return Err(DomainError::invalid_setting(
                "channel cap",
                format!("{cap} (channel {})", self.name),
                "must be at least 0",
            ));
        }
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
        Ok(policy.with_backorders(self.backorders))
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
                    DomainError::invalid_setting(
                        "unit_cost",
                        format!("{:?}", supply.unit_cost),
                        "must be a decimal",
                    )
                })?;
                let rule = match supply.reorder_point {
                    Some(point) => ReorderRule::Static {
                        point,
                        quantity: supply.order_quantity,
                    },
                    None => ReorderRule::Dynamic {
                        service_level: supply
                            .service_level
                            .map_or(Ok(ServiceLevel::DEFAULT), ServiceLevel::new)?,
                        review_days: supply
                            .review_days
                            .unwrap_or(ReorderRule::REVIEW_DAYS_DEFAULT),
                        quantity: supply.order_quantity,
                    },
                };
                SupplierLink {
                    sku: Sku::new(&supply.sku)?,
                    supplier: supplier.clone(),
                    unit_cost,
                    rule,
                }
                .checked()
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

/// One component of a configured bundle.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    /// The component SKU.
    pub sku: String,
    /// Units of it per bundle unit.
    pub quantity: i64,
}

/// A bundle (kit) defined at start: `[[bundles]] sku = "GIFT-SET"` with
/// `components = [{ sku = "MUG", quantity = 1 }, { sku = "TEA", quantity = 2 }]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleConfig {
    /// The bundle SKU.
    pub sku: String,
    /// Its components.
    pub components: Vec<ComponentConfig>,
}

impl BundleConfig {
    /// The bundle SKU and its components, ordered by SKU.
    ///
    /// # Errors
    ///
    /// [`DomainError`] for a bad SKU or quantity (the rules of bundles are checked
    /// against the catalog at start).
    pub fn definition(&self) -> Result<(Sku, Vec<BundleComponent>), DomainError> {
        let mut components = self
            .components
            .iter()
            .map(|component| {
                let sku = Sku::new(component.sku.as_str())?;
                Ok(BundleComponent::new(
                    sku,
                    Quantity::new(component.quantity)?,
                ))
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        components.sort();
        Ok((Sku::new(self.sku.as_str())?, components))
    }
}

/// A SKU's selling policy set at start: `[[policies]] sku = "TEE"` with
/// `backorder_limit = 50` (units per location) or `backorder_limit = "in_transit"`,
/// and `low_stock_threshold = 10` or `low_stock_threshold = "reorder_point"` (with
/// `low_stock_measure = "position"` to count units in transit).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The SKU.
    pub sku: String,
    /// How far it may be sold beyond available; absent: not at all.
    pub backorder_limit: Option<LimitConfig>,
    /// Units at or below which it is low (crossings raise low-stock events), or
    /// `"reorder_point"` (the point each reorder run computes); absent: no events.
    pub low_stock_threshold: Option<LimitConfig>,
    /// What the threshold watches: `available` (the default) or `position`.
    pub low_stock_measure: Option<StockMeasure>,
}

/// A backorder limit or low-stock threshold in the config file: units, or a word
/// (`"in_transit"` for a limit, `"reorder_point"` for a threshold).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LimitConfig {
    /// Units per location.
    Units(i64),
    /// The word `in_transit`.
    Word(String),
}

impl PolicyConfig {
    /// The SKU, its backorder limit and its low-stock threshold.
    ///
    /// # Errors
    ///
    /// [`DomainError`] for a bad SKU, a limit under one unit, a negative threshold or
    /// an unknown word.
    pub fn policy(&self) -> Result<(Sku, Option<BackorderLimit>, Option<LowStock>), DomainError> {
        let sku = Sku::new(self.sku.as_str())?;
        let limit = match &self.backorder_limit {
            None => None,
            Some(LimitConfig::Units(units)) => Some(BackorderLimit::Units(*units).checked(&sku)?),
            Some(LimitConfig::Word(word)) if word == "in_transit" => {
                Some(BackorderLimit::InTransit)
            }
            Some(LimitConfig::Word(word)) => {
                return Err(DomainError::invalid_setting(
                    "backorder_limit",
                    word,
                    "must be a number of units or \"in_transit\"",
                ))
            }
        };
        let measure = self.low_stock_measure.unwrap_or(StockMeasure::Available);
        let low_stock = match &self.low_stock_threshold {
            None => None,
            Some(LimitConfig::Units(units)) => Some(LowStock::units(*units, measure).checked()?),
            Some(LimitConfig::Word(word)) if word == "reorder_point" => {
                Some(LowStock::reorder_point(measure))
            }
            Some(LimitConfig::Word(word)) => {
                return Err(DomainError::invalid_setting(
                    "low_stock_threshold",
                    word,
                    "must be a number of units or \"reorder_point\"",
                ))
            }
        };
        Ok((sku, limit, low_stock))
    }
}
