//! The catalog: what the shop says about a SKU beyond its stock. A bundle (kit) is a
//! SKU made of components ([`BundleComponent`]): it holds no stock of its own, its
//! available is derived from its components' ([`bundle_available`]), and reserving it
//! reserves its components as one all-or-nothing unit.
//!
//! The catalog is versioned: every change bumps [`Catalog::version`], and a change is
//! written only over the version it was decided on, so two concurrent definitions can
//! never build a bundle of bundles between them. An [`Inventory`](crate::Inventory)
//! keeps the catalog in memory and checks the stored version at most once per
//! [`CATALOG_RECHECK_DEFAULT`] (a change made through the same inventory is seen at
//! once).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::Store;
use crate::error::{DomainError, StoreError};
use crate::id::{LocationId, Sku};
use crate::quantity::Quantity;
use crate::stock::LocationStock;

/// Most components one bundle may have.
pub const BUNDLE_COMPONENTS_MAX: usize = 16;

/// How long an [`Inventory`](crate::Inventory) uses its copy of the catalog before it
/// asks the store whether the catalog changed (another app server may have changed it).
pub const CATALOG_RECHECK_DEFAULT: Duration = Duration::from_secs(1);

/// One component of a bundle: `quantity` units of `sku` per bundle unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleComponent {
    /// The component SKU.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sku: Sku,
    /// Units of it in one unit of the bundle.
    #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = 1))]
    pub quantity: Quantity,
}

impl BundleComponent {
    /// `quantity` units of `sku`.
    pub fn new(sku: Sku, quantity: Quantity) -> Self {
        Self { sku, quantity }
    }
}

/// Why a bundle definition is refused ([`DomainError::InvalidBundle`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "problem", content = "sku")]
pub enum BundleProblem {
    /// No components.
    NoComponents,
    /// More than [`BUNDLE_COMPONENTS_MAX`] components.
    TooManyComponents,
    /// The same component named twice (give it once, with the total quantity).
    RepeatedComponent(Sku),
    /// The bundle names itself as a component.
    ContainsItself,
    /// A component is itself a bundle: bundles of bundles are refused.
    ComponentIsBundle(Sku),
    /// The SKU is a component of this other bundle, so it cannot be a bundle.
    UsedInBundle(Sku),
    /// The SKU has stock rows: a bundle holds no stock of its own.
    HasStock,
    /// A bundle and a backorder policy on one SKU: a bundle's components carry the
    /// policy.
    BackorderPolicy,
    /// A bundle and a low-stock threshold on one SKU: a bundle holds no stock to watch;
    /// its components carry the thresholds.
    LowStockThreshold,
}

impl std::fmt::Display for BundleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoComponents => f.write_str("it names no component"),
            Self::TooManyComponents => {
                write!(f, "it names more than {BUNDLE_COMPONENTS_MAX} components")
            }
            Self::RepeatedComponent(sku) => write!(f, "it names {sku} twice"),
            Self::ContainsItself => f.write_str("it names itself as a component"),
            Self::ComponentIsBundle(sku) => {
                write!(
                    f,
                    "component {sku} is a bundle (bundles of bundles are refused)"
                )
            }
            Self::UsedInBundle(sku) => write!(f, "it is a component of bundle {sku}"),
            Self::HasStock => f.write_str("it has stock of its own (a bundle holds none)"),
            Self::BackorderPolicy => {
                f.write_str("a bundle takes no backorder policy (its components do)")
            }
            Self::LowStockThreshold => {
                f.write_str("a bundle takes no low-stock threshold (its components do)")
            }
        }
    }
}

/// How far a SKU may be sold beyond available at each location: the most units that
/// may be backordered there at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BackorderLimit {
    /// Up to this many units (at least 1) per location.
    Units(i64),
    /// Up to the units in transit to the location: never more than is on its way.
    InTransit,
}

impl BackorderLimit {
    /// Units that may still be backordered at a row holding `level`.
    pub fn room(self, level: &crate::StockLevel) -> i64 {
        let limit = match self {
            Self::Units(units) => units,
            Self::InTransit => level.in_transit,
        };
        limit.saturating_sub(level.backordered).max(0)
    }

    /// Checks the limit of `sku`.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidBackorderLimit`] for fewer than one unit.
    pub fn checked(self, sku: &Sku) -> Result<Self, DomainError> {
        match self {
            Self::Units(units) if units < 1 => Err(DomainError::InvalidBackorderLimit {
                sku: sku.clone(),
                units,
            }),
            limit => Ok(limit),
        }
    }
}

/// What the catalog says about one SKU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuSettings {
    /// The SKU's components, ordered by SKU, when it is a bundle; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bundle: Vec<BundleComponent>,
    /// How far it may be sold beyond available; none (the default) sells only what is
    /// available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backorder: Option<BackorderLimit>,
    /// The threshold whose crossings raise low-stock events; none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_stock: Option<crate::events::LowStock>,
    /// The reorder point the last reorder run computed, kept while `low_stock`
    /// follows it ([`Threshold::ReorderPoint`](crate::events::Threshold::ReorderPoint)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_point: Option<i64>,
}

impl SkuSettings {
    /// Whether the settings say nothing (the SKU is then left out of the catalog).
    pub fn is_empty(&self) -> bool {
        self.bundle.is_empty()
            && self.backorder.is_none()
            && self.low_stock.is_none()
            && self.reorder_point.is_none()
    }

    /// What the low-stock setting watches now, with its threshold in units.
    pub fn low_stock_watch(&self) -> Option<crate::events::LowStockWatch> {
        self.low_stock?.watch(self.reorder_point)
    }
}

/// Every SKU's [`SkuSettings`], at one version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    version: u64,
    settings: BTreeMap<Sku, SkuSettings>,
    /// For each component, the bundles that use it.
    containing: BTreeMap<Sku, BTreeSet<Sku>>,
}

impl Catalog {
    /// The catalog at `version` holding `entries` (empty settings are left out).
    pub fn new(version: u64, entries: impl IntoIterator<Item = (Sku, SkuSettings)>) -> Self {
        let settings: BTreeMap<Sku, SkuSettings> = entries
            .into_iter()
            .filter(|(_, settings)| !settings.is_empty())
            .collect();
        let mut containing: BTreeMap<Sku, BTreeSet<Sku>> = BTreeMap::new();
        for (bundle, entry) in &settings {
            for component in &entry.bundle {
                let users = containing.entry(component.sku.clone()).or_default();
                users.insert(bundle.clone());
            }
        }
        Self {
            version,
            settings,
            containing,
        }
    }

    /// This catalog with `settings` for `sku`, at `version`.
    pub(crate) fn with(&self, sku: &Sku, settings: SkuSettings, version: u64) -> Self {
        let mut entries = self.settings.clone();
        entries.insert(sku.clone(), settings);
        Self::new(version, entries)
    }

    /// The version: bumped by every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether no SKU has settings.
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }

    /// Every SKU with settings, ordered by SKU.
    pub fn entries(&self) -> impl Iterator<Item = (&Sku, &SkuSettings)> {
        self.settings.iter()
    }

    /// The settings of `sku`, if it has any.
    pub fn settings(&self, sku: &Sku) -> Option<&SkuSettings> {
        self.settings.get(sku)
    }

    /// The components of `sku` when it is a bundle.
    pub fn bundle(&self, sku: &Sku) -> Option<&[BundleComponent]> {
        self.settings
            .get(sku)
            .map(|settings| settings.bundle.as_slice())
            .filter(|components| !components.is_empty())
    }

    /// The backorder limit of `sku`, if it may be sold beyond available.
    pub fn backorder(&self, sku: &Sku) -> Option<BackorderLimit> {
        self.settings
            .get(sku)
            .and_then(|settings| settings.backorder)
    }

    /// The bundles that use `component`, ordered by SKU.
    pub fn bundles_containing(&self, component: &Sku) -> impl Iterator<Item = &Sku> {
        self.containing.get(component).into_iter().flatten()
    }

    /// `skus` with the components of every bundle among them, sorted, without repeats:
    /// the SKUs a command naming `skus` locks.
    pub fn with_components(&self, skus: &[Sku]) -> Vec<Sku> {
        let mut all = skus.to_vec();
        for sku in skus {
            let components = self.bundle(sku).unwrap_or_default();
            all.extend(components.iter().map(|component| component.sku.clone()));
        }
        all.sort();
        all.dedup();
        all
    }

    /// Checks a definition of `bundle` made of `components` against this catalog and
    /// returns the components ordered by SKU, as stored.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidBundle`] with the [`BundleProblem`].
    pub fn check_bundle(
        &self,
        bundle: &Sku,
        mut components: Vec<BundleComponent>,
    ) -> Result<Vec<BundleComponent>, DomainError> {
        let refuse = |problem| DomainError::InvalidBundle {
            sku: bundle.clone(),
            problem,
        };
        if components.is_empty() {
            return Err(refuse(BundleProblem::NoComponents));
        }
        if components.len() > BUNDLE_COMPONENTS_MAX {
            return Err(refuse(BundleProblem::TooManyComponents));
        }
        components.sort();
        if let Some(pair) = components
            .windows(2)
            .find(|pair| pair[0].sku == pair[1].sku)
        {
            return Err(refuse(BundleProblem::RepeatedComponent(
                pair[0].sku.clone(),
            )));
        }
        if components.iter().any(|component| component.sku == *bundle) {
            return Err(refuse(BundleProblem::ContainsItself));
        }
        if let Some(nested) = components.iter().find(|c| self.bundle(&c.sku).is_some()) {
            return Err(refuse(BundleProblem::ComponentIsBundle(nested.sku.clone())));
        }
        if let Some(user) = self.bundles_containing(bundle).next() {
            return Err(refuse(BundleProblem::UsedInBundle(user.clone())));
        }
        Ok(components)
    }
}

/// A bundle's available units: the minimum over its components of
/// `floor(component available / quantity)`, at each location and in total (where each
/// component's available is summed over its locations first). Components with no row
/// count as zero; a component short at a location makes the bundle zero there, never
/// negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleStock {
    /// The bundle SKU.
    pub sku: Sku,
    /// Its components, ordered by SKU.
    pub components: Vec<BundleComponent>,
    /// Bundle units available over all locations.
    pub available: i64,
    /// Bundle units available at each location where any component has a row, ordered
    /// by location.
    pub locations: BTreeMap<LocationId, i64>,
}

/// The [`BundleStock`] of `sku`, made of `components`, from each component's rows.
pub fn bundle_available(
    sku: &Sku,
    components: &[BundleComponent],
    rows: &BTreeMap<Sku, Vec<LocationStock>>,
) -> BundleStock {
    let rows_of = |component: &BundleComponent| rows.get(&component.sku).map(Vec::as_slice);
    let units = |available: i128, component: &BundleComponent| {
        available.max(0) / i128::from(component.quantity.get())
    };
    let narrow = |units: i128| i64::try_from(units).unwrap_or(i64::MAX);
    let total = components
        .iter()
        .map(|component| {
            let rows = rows_of(component).unwrap_or_default();
            let available: i128 = rows
                .iter()
                .map(|row| i128::from(row.level.available()))
                .sum();
            units(available, component)
        })
        .min()
        .unwrap_or(0);
    let places: BTreeSet<&LocationId> = components
        .iter()
        .flat_map(|component| rows_of(component).unwrap_or_default())
        .map(|row| &row.location)
        .collect();
    let locations = places
        .into_iter()
        .map(|location| {
            let at = components
                .iter()
                .map(|component| {
                    let rows = rows_of(component).unwrap_or_default();
                    let row = rows.iter().find(|row| row.location == *location);
                    let available = row.map_or(0, |row| i128::from(row.level.available()));
                    units(available, component)
                })
                .min()
                .unwrap_or(0);
            (location.clone(), narrow(at))
        })
        .collect();
    BundleStock {
        sku: sku.clone(),
        components: components.to_vec(),
        available: narrow(total),
        locations,
    }
}

/// An inventory's copy of the catalog, checked against the store's version at most
/// once per `recheck`.
///
/// Most shops' catalogs are empty, and every command asks for the copy: while an empty
/// copy is fresh, the answer reads one atomic flag, and a timer task clears the flag
/// every `recheck` so that the next command checks the store's version again. Only one
/// caller at a time reads the store; the others wait for its copy (when every waiting
/// command read the catalog at once, at start and each second after, hot-SKU
/// throughput on PostgreSQL fell to a third at 64 callers).
#[derive(Debug)]
pub(crate) struct CatalogCache {
    recheck: Duration,
    kept: std::sync::RwLock<Option<(Arc<Catalog>, Instant)>>,
    /// Whether the copy is empty and younger than `recheck`.
    empty_and_fresh: AtomicBool,
    /// Whether the timer clearing `empty_and_fresh` runs.
    ticking: AtomicBool,
    /// Held by the one caller reading the store; the others wait for its copy.
    loading: tokio::sync::Mutex<()>,
}

static EMPTY: LazyLock<Arc<Catalog>> = LazyLock::new(Arc::default);

impl CatalogCache {
    pub(crate) fn new(recheck: Duration) -> Self {
        Self {
            recheck,
            kept: std::sync::RwLock::new(None),
            empty_and_fresh: AtomicBool::new(false),
            ticking: AtomicBool::new(false),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The copy, while it is younger than `recheck`: what most commands take, without
    /// awaiting anything.
    pub(crate) fn fresh(self: &Arc<Self>) -> Option<Arc<Catalog>> {
        if self.empty_and_fresh.load(Ordering::Acquire) {
            return Some(Arc::clone(&EMPTY));
        }
        let kept = self
            .kept
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        let (catalog, checked) = kept.as_ref()?;
        (checked.elapsed() < self.recheck).then(|| Arc::clone(catalog))
    }

    /// Starts the timer that ends an empty copy's freshness every `recheck` (once; it
    /// stops when the cache is dropped). Without a tokio runtime there is no timer and
    /// the flag is never set: every command then checks the copy's age.
    fn tick(self: &Arc<Self>) -> bool {
        if self.ticking.load(Ordering::Acquire) {
            return true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if self.ticking.swap(true, Ordering::AcqRel) {
            return true;
        }
        let cache = Arc::downgrade(self);
        let recheck = self.recheck;
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(recheck).await;
                match cache.upgrade() {
                    Some(cache) => cache.empty_and_fresh.store(false, Ordering::Release),
                    None => return,
                }
            }
        });
        true
    }

    /// The catalog, read again from `store` when the copy is older than `recheck` and
    /// the stored version moved.
    pub(crate) async fn current<S: Store + ?Sized>(
        self: &Arc<Self>,
        store: &S,
    ) -> Result<Arc<Catalog>, StoreError> {
        if let Some(catalog) = self.fresh() {
            return Ok(catalog);
        }
        // One caller reads the store; the others take what it read.
        let _loading = self.loading.lock().await;
        if let Some(catalog) = self.fresh() {
            return Ok(catalog);
        }
        let kept = self
            .kept
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone();
        let checked = Instant::now();
        let fresh = match kept {
            Some((catalog, _)) if store.catalog_version().await? == catalog.version() => catalog,
            _ => Arc::new(store.catalog().await?),
        };
        self.keep(Arc::clone(&fresh), checked);
        Ok(fresh)
    }

    /// Keeps `catalog` (read at `checked`) unless a newer one is kept.
    pub(crate) fn keep(self: &Arc<Self>, catalog: Arc<Catalog>, checked: Instant) {
        let mut kept = self
            .kept
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        let newer = kept
            .as_ref()
            .is_some_and(|(known, _)| known.version() > catalog.version());
        if !newer {
            let empty = catalog.is_empty() && self.tick();
            self.empty_and_fresh.store(empty, Ordering::Release);
            *kept = Some((catalog, checked));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stock::StockLevel;

    fn sku(name: &str) -> Sku {
        Sku::new(name).unwrap()
    }

    fn part(name: &str, quantity: i64) -> BundleComponent {
        BundleComponent::new(sku(name), Quantity::new(quantity).unwrap())
    }

    fn gift_set() -> Catalog {
        let settings = SkuSettings {
            bundle: vec![part("MUG", 1), part("TEA", 2)],
            ..SkuSettings::default()
        };
        Catalog::new(1, [(sku("GIFT"), settings)])
    }

    #[test]
    fn definitions_are_checked_against_the_catalog() {
        let catalog = gift_set();
        let problem = |bundle: &str, parts: Vec<BundleComponent>| match catalog
            .check_bundle(&sku(bundle), parts)
        {
            Err(DomainError::InvalidBundle { problem, .. }) => Some(problem),
            _ => None,
        };
        assert_eq!(problem("BOX", vec![]), Some(BundleProblem::NoComponents));
        let many = (0..=BUNDLE_COMPONENTS_MAX)
            .map(|index| part(&format!("P{index}"), 1))
            .collect();
        assert_eq!(problem("BOX", many), Some(BundleProblem::TooManyComponents));
        assert_eq!(
            problem("BOX", vec![part("A", 1), part("A", 2)]),
            Some(BundleProblem::RepeatedComponent(sku("A")))
        );
        assert_eq!(
            problem("BOX", vec![part("BOX", 1)]),
            Some(BundleProblem::ContainsItself)
        );
        assert_eq!(
            problem("BOX", vec![part("GIFT", 1)]),
            Some(BundleProblem::ComponentIsBundle(sku("GIFT")))
        );
        assert_eq!(
            problem("MUG", vec![part("SPOON", 1)]),
            Some(BundleProblem::UsedInBundle(sku("GIFT")))
        );
        let sorted = catalog
            .check_bundle(&sku("BOX"), vec![part("TEA", 1), part("MUG", 3)])
            .unwrap();
        assert_eq!(sorted, vec![part("MUG", 3), part("TEA", 1)]);
        assert_eq!(
            catalog.with_components(&[sku("GIFT"), sku("ZED")]),
            vec![sku("GIFT"), sku("MUG"), sku("TEA"), sku("ZED")]
        );
        assert_eq!(
            catalog.bundles_containing(&sku("TEA")).collect::<Vec<_>>(),
            vec![&sku("GIFT")]
        );
    }

    #[test]
    fn bundle_available_is_the_scarcest_component_per_location_and_in_total() {
        let row = |location: &str, on_hand: i64, reserved: i64| LocationStock {
            location: LocationId::new(location).unwrap(),
            level: StockLevel {
                on_hand,
                reserved,
                ..StockLevel::default()
            },
        };
        let rows = BTreeMap::from([
            (sku("MUG"), vec![row("A", 5, 0), row("B", 1, 0)]),
            // Tea: 3 sellable at A (one pair), 4 at B (two pairs), minus a short row.
            (
                sku("TEA"),
                vec![row("A", 4, 1), row("B", 4, 0), row("C", 0, 2)],
            ),
        ]);
        let stock = bundle_available(
            &sku("GIFT"),
            &gift_set().settings[&sku("GIFT")].bundle,
            &rows,
        );
        let at = |location: &str| stock.locations[&LocationId::new(location).unwrap()];
        assert_eq!((at("A"), at("B"), at("C")), (1, 1, 0));
        // Totals: 6 mugs, 7 - 2 = 5 tea = 2 pairs.
        assert_eq!(stock.available, 2);
        let none = bundle_available(&sku("GIFT"), &[part("MUG", 1)], &BTreeMap::new());
        assert_eq!((none.available, none.locations.len()), (0, 0));
    }
}
