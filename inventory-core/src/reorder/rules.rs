//! Suppliers, service levels, reorder points and order quantities: pure formulas.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::id::SupplierId;

use super::demand::DemandStats;

/// Longest lead time accepted: two years.
pub const LEAD_TIME_DAYS_MAX: f64 = 730.0;

/// Who a SKU is bought from, and on what terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    /// The supplier.
    pub id: SupplierId,
    /// Mean days from order to arrival.
    pub lead_time_days: f64,
    /// Standard deviation of the lead time in days, when known.
    pub lead_time_std_dev_days: Option<f64>,
    /// Fewest units per order line.
    pub minimum_order_quantity: i64,
    /// Units per case: order lines are whole cases.
    pub case_pack: i64,
}

impl Supplier {
    /// A supplier with a lead time and no minimum, in single units.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] for a lead time that is not above 0 and at most
    /// [`LEAD_TIME_DAYS_MAX`].
    pub fn new(id: SupplierId, lead_time_days: f64) -> Result<Self, DomainError> {
        Self {
            id,
            lead_time_days,
            lead_time_std_dev_days: None,
            minimum_order_quantity: 0,
            case_pack: 1,
        }
        .checked()
    }

    /// The same supplier after checking every field.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] naming the first field out of range.
    pub fn checked(self) -> Result<Self, DomainError> {
        if !(self.lead_time_days > 0.0 && self.lead_time_days <= LEAD_TIME_DAYS_MAX) {
            return Err(DomainError::invalid_setting(
                "lead time days",
                self.lead_time_days,
                "must be above 0 and at most 730",
            ));
        }
        if let Some(spread) = self.lead_time_std_dev_days {
            if !(spread.is_finite() && (0.0..=LEAD_TIME_DAYS_MAX).contains(&spread)) {
                return Err(DomainError::invalid_setting(
                    "lead time deviation days",
                    spread,
                    "must be from 0 to 730",
                ));
            }
        }
        if self.minimum_order_quantity < 0 {
            return Err(DomainError::invalid_setting(
                "minimum order quantity",
                self.minimum_order_quantity,
                "must be at least 0",
            ));
        }
        if self.case_pack < 1 {
            return Err(DomainError::invalid_setting(
                "case pack",
                self.case_pack,
                "must be at least 1",
            ));
        }
        Ok(self)
    }
}

/// The chance of not running out during a lead time, from 50% to 99.99%.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ServiceLevel(f64);

impl ServiceLevel {
    /// The level a dynamic rule uses when none is given: 95%.
    pub const DEFAULT: Self = Self(0.95);

    /// A service level such as 0.95.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] outside 0.5 to 0.9999.
    pub fn new(level: f64) -> Result<Self, DomainError> {
        if !(0.5..=0.9999).contains(&level) {
            return Err(DomainError::invalid_setting(
                "service level",
                level,
                "must be from 0.5 to 0.9999",
            ));
        }
        Ok(Self(level))
    }

    /// The level.
    pub fn get(self) -> f64 {
        self.0
    }

    /// Its z-score: the standard normal quantile (Acklam's rational approximation,
    /// relative error below 1.2e-9).
    pub fn z(self) -> f64 {
        inverse_normal(self.0)
    }
}

fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let low = 0.02425;
    if p < low {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

/// How a SKU's reorder point and quantity are set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ReorderRule {
    /// A set point; order `quantity` (in multiples, as needed) or, without one, enough
    /// to cover the lead time and review period at current demand.
    Static {
        /// Reorder when the position is at or below this.
        point: i64,
        /// Units per order, if fixed.
        quantity: Option<i64>,
    },
    /// velocity x lead time + safety stock, safety stock = z x sqrt(lead time x
    /// sigma_daily^2 + velocity^2 x sigma_lead_time^2).
    Dynamic {
        /// The wanted chance of not running out.
        service_level: ServiceLevel,
        /// Days until the next reorder run looks again (added to the cover).
        review_days: u32,
        /// Units per order, if fixed.
        quantity: Option<i64>,
    },
}

impl ReorderRule {
    /// Days a dynamic rule's run looks ahead when none is given.
    pub const REVIEW_DAYS_DEFAULT: u32 = 7;

    /// The rule, checked: a static point and any fixed quantity in range.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] for a negative point or a quantity below 1.
    pub fn checked(self) -> Result<Self, DomainError> {
        let (Self::Static { quantity, .. } | Self::Dynamic { quantity, .. }) = &self;
        if let Some(quantity) = quantity.filter(|quantity| *quantity < 1) {
            return Err(DomainError::invalid_setting(
                "order quantity",
                quantity,
                "must be at least 1",
            ));
        }
        if let Self::Static { point, .. } = self {
            if point < 0 {
                return Err(DomainError::invalid_setting(
                    "reorder point",
                    point,
                    "must be at least 0",
                ));
            }
        }
        Ok(self)
    }
}

/// Units held against demand and lead-time variability.
pub fn safety_stock(demand: &DemandStats, supplier: &Supplier, service_level: ServiceLevel) -> f64 {
    let lead_time = supplier.lead_time_days;
    let spread = supplier.lead_time_std_dev_days.unwrap_or(0.0);
    let variance =
        lead_time * demand.std_dev_per_day.powi(2) + demand.mean_per_day.powi(2) * spread.powi(2);
    (service_level.z() * variance.sqrt()).max(0.0)
}

fn whole_units(units: f64) -> i64 {
    if units.is_nan() {
        return 0;
    }
    // Saturating: f64 -> i64 `as` clamps, and no real demand comes near the limits.
    units.ceil() as i64
}

/// The reorder point, or `None` when a dynamic rule sees no demand at all (a SKU that
/// does not sell is not reordered automatically; give it a static rule).
pub fn reorder_point(rule: &ReorderRule, demand: &DemandStats, supplier: &Supplier) -> Option<i64> {
    match rule {
        ReorderRule::Static { point, .. } => Some(*point),
        ReorderRule::Dynamic { service_level, .. } => {
            if demand.mean_per_day <= 0.0 {
                return None;
            }
            let cover = demand.mean_per_day * supplier.lead_time_days;
            Some(whole_units(
                cover + safety_stock(demand, supplier, *service_level),
            ))
        }
    }
}

/// Units to order for a SKU at `position`, at or below `point`: enough to cover the
/// lead time plus review period (and always to lift the position above the point), at
/// least the minimum order quantity, in whole cases; a fixed quantity is ordered in as
/// many multiples as that takes.
pub fn order_quantity(
    rule: &ReorderRule,
    demand: &DemandStats,
    supplier: &Supplier,
    point: i64,
    position: i64,
) -> i64 {
    let (review_days, fixed, safety) = match rule {
        ReorderRule::Static { quantity, .. } => (0, *quantity, 0.0),
        ReorderRule::Dynamic {
            service_level,
            review_days,
            quantity,
        } => (
            *review_days,
            *quantity,
            safety_stock(demand, supplier, *service_level),
        ),
    };
    let cover_days = supplier.lead_time_days + f64::from(review_days);
    let target =
        whole_units(demand.mean_per_day * cover_days + safety).max(point.saturating_add(1));
    let need = target.saturating_sub(position).max(1);
    let base = match fixed.filter(|quantity| *quantity > 0) {
        Some(quantity) => round_up(need, quantity),
        None => need,
    };
    let at_least = base.max(supplier.minimum_order_quantity);
    round_up(at_least, supplier.case_pack)
}

/// The smallest multiple of `step` (at least 1) that is at least `units` (at least 1).
fn round_up(units: i64, step: i64) -> i64 {
    let step = step.max(1);
    let units = units.max(1);
    let wholes = units / step + i64::from(units % step != 0);
    wholes.saturating_mul(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supplier(lead_time: f64) -> Supplier {
        Supplier::new(SupplierId::new("acme").unwrap(), lead_time).unwrap()
    }

    #[test]
    fn rules_and_links_are_checked_in_one_place() {
        let fixed = |quantity| ReorderRule::Static {
            point: 5,
            quantity: Some(quantity),
        };
        assert!(fixed(1).checked().is_ok());
        assert!(fixed(0).checked().is_err());
        let below = ReorderRule::Static {
            point: -1,
            quantity: None,
        };
        assert!(below.checked().is_err());
        let dynamic = ReorderRule::Dynamic {
            service_level: ServiceLevel::DEFAULT,
            review_days: ReorderRule::REVIEW_DAYS_DEFAULT,
            quantity: Some(-3),
        };
        assert!(dynamic.checked().is_err());
        let link = |cost: &str| crate::reorder::SupplierLink {
            sku: crate::id::Sku::new("TEE").unwrap(),
            supplier: SupplierId::new("acme").unwrap(),
            unit_cost: cost.parse().unwrap(),
            rule: fixed(2),
        };
        assert!(link("0").checked().is_ok());
        assert!(link("-0.01").checked().is_err());
    }

    fn dynamic(review_days: u32) -> ReorderRule {
        ReorderRule::Dynamic {
            service_level: ServiceLevel::new(0.95).unwrap(),
            review_days,
            quantity: None,
        }
    }

    fn demand(mean: f64, std_dev: f64) -> DemandStats {
        DemandStats {
            mean_per_day: mean,
            std_dev_per_day: std_dev,
            days: 28,
        }
    }

    #[test]
    fn z_scores() {
        let z = |level| ServiceLevel::new(level).unwrap().z();
        assert!(z(0.5).abs() < 1e-9);
        assert!((z(0.95) - 1.644_853_6).abs() < 1e-6);
        assert!((z(0.975) - 1.959_964).abs() < 1e-6);
        assert!((z(0.99) - 2.326_348).abs() < 1e-6);
        assert!((z(0.9999) - 3.719_016).abs() < 1e-5);
        assert!(ServiceLevel::new(0.3).is_err() && ServiceLevel::new(1.0).is_err());
    }

    #[test]
    fn fast_and_slow_sellers_get_very_different_points() {
        // 20/day: 420 + 1.6449 x 4 x sqrt(21) = 420 + 30.15 -> 451.
        assert_eq!(
            reorder_point(&dynamic(0), &demand(20.0, 4.0), &supplier(21.0)),
            Some(451)
        );
        // 2/day: 42 + 1.6449 x 1 x sqrt(21) = 42 + 7.54 -> 50.
        assert_eq!(
            reorder_point(&dynamic(0), &demand(2.0, 1.0), &supplier(21.0)),
            Some(50)
        );
    }

    #[test]
    fn lead_time_variability_raises_the_point() {
        let mut varying = supplier(21.0);
        varying.lead_time_std_dev_days = Some(3.0);
        // sqrt(21 x 16 + 400 x 9) = sqrt(3936) = 62.74; x 1.6449 = 103.2 -> 524.
        assert_eq!(
            reorder_point(&dynamic(0), &demand(20.0, 4.0), &varying),
            Some(524)
        );
    }

    #[test]
    fn zero_velocity_and_new_skus_are_not_reordered_dynamically() {
        assert_eq!(
            reorder_point(&dynamic(7), &DemandStats::NONE, &supplier(5.0)),
            None
        );
        let fixed = ReorderRule::Static {
            point: 10,
            quantity: None,
        };
        assert_eq!(
            reorder_point(&fixed, &DemandStats::NONE, &supplier(5.0)),
            Some(10)
        );
        // Static point, no demand: lift the position just above the point.
        assert_eq!(
            order_quantity(&fixed, &DemandStats::NONE, &supplier(5.0), 10, 4),
            7
        );
    }

    #[test]
    fn very_long_lead_times() {
        let point = reorder_point(&dynamic(0), &demand(1.0, 0.0), &supplier(365.0));
        assert_eq!(point, Some(365));
        assert!(Supplier::new(SupplierId::new("far").unwrap(), 731.0).is_err());
        assert!(Supplier::new(SupplierId::new("now").unwrap(), 0.0).is_err());
    }

    #[test]
    fn quantities_cover_lead_time_and_review_then_moq_and_case_pack() {
        let mut acme = supplier(21.0);
        acme.minimum_order_quantity = 100;
        acme.case_pack = 24;
        let stats = demand(20.0, 4.0);
        // target ceil(20 x 28 + 30.15) = 591; need 191 -> 8 cases = 192.
        assert_eq!(order_quantity(&dynamic(7), &stats, &acme, 451, 400), 192);
        // Need 1 (a slow seller at its point) -> MOQ 100 -> 5 cases = 120.
        let slow = demand(1.0, 0.0);
        assert_eq!(order_quantity(&dynamic(0), &slow, &acme, 21, 21), 120);
        // A fixed quantity, in as many multiples as it takes to clear the point.
        let fixed = ReorderRule::Static {
            point: 50,
            quantity: Some(40),
        };
        let mut plain = supplier(3.0);
        plain.case_pack = 1;
        assert_eq!(
            order_quantity(&fixed, &DemandStats::NONE, &plain, 50, -25),
            80
        );
    }
}
