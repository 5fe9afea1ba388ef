//! A reorder run's plan: every SKU at or below its point, grouped into one purchase
//! order per supplier.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id::{Sku, SupplierId};
use crate::stock::StockLevel;

use super::demand::DemandStats;
use super::rules::{order_quantity, reorder_point, ReorderRule, Supplier};

/// Inventory position: available + in transit + ordered but not yet shipped. Reordering
/// looks at this, never at available alone (which would reorder again on every run
/// while a purchase order is on its way).
pub fn position(total: &StockLevel, on_order: i64) -> i64 {
    let sum = i128::from(total.available()) + i128::from(total.in_transit) + i128::from(on_order);
    i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX })
}

/// "Auto PO for N SKUs from `supplier`": what a notifier says of an order.
pub fn summary(skus: usize, supplier: &SupplierId) -> String {
    let noun = if skus == 1 { "SKU" } else { "SKUs" };
    format!("Auto PO for {skus} {noun} from {supplier}")
}

/// Everything a run knows about one SKU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReorderCandidate {
    /// The SKU.
    pub sku: Sku,
    /// Who it is bought from.
    pub supplier: Supplier,
    /// What one unit costs from that supplier.
    pub unit_cost: Decimal,
    /// How its point and quantity are set.
    pub rule: ReorderRule,
    /// Its recent demand.
    pub demand: DemandStats,
    /// Its inventory position.
    pub position: i64,
}

/// One line of a planned purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedLine {
    /// The SKU.
    pub sku: Sku,
    /// Units to order.
    pub quantity: i64,
    /// Price per unit.
    pub unit_cost: Decimal,
    /// The point it fell to.
    pub reorder_point: i64,
    /// Its position when planned.
    pub position: i64,
}

/// One purchase order per supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedOrder {
    /// The supplier.
    pub supplier: SupplierId,
    /// Lines in SKU order.
    pub lines: Vec<PlannedLine>,
}

impl PlannedOrder {
    /// The order's value: quantity x unit cost summed, exactly.
    pub fn total_cost(&self) -> Decimal {
        self.lines
            .iter()
            .map(|line| Decimal::from(line.quantity) * line.unit_cost)
            .sum()
    }

    /// The notifier's line for it: "Auto PO for N SKUs from `supplier`".
    pub fn summary(&self) -> String {
        summary(self.lines.len(), &self.supplier)
    }
}

/// The purchase orders a run should raise: a line for every candidate whose position is
/// at or below its reorder point, grouped by supplier. Candidates above their point, and
/// dynamic-rule SKUs with no demand, are left out.
pub fn plan_orders(candidates: &[ReorderCandidate]) -> Vec<PlannedOrder> {
    let mut orders: BTreeMap<SupplierId, Vec<PlannedLine>> = BTreeMap::new();
    for candidate in candidates {
        let Some(point) = reorder_point(&candidate.rule, &candidate.demand, &candidate.supplier)
        else {
            continue;
        };
        if candidate.position > point {
            continue;
        }
        let quantity = order_quantity(
            &candidate.rule,
            &candidate.demand,
            &candidate.supplier,
            point,
            candidate.position,
        );
        orders
            .entry(candidate.supplier.id.clone())
            .or_default()
            .push(PlannedLine {
                sku: candidate.sku.clone(),
                quantity,
                unit_cost: candidate.unit_cost,
                reorder_point: point,
                position: candidate.position,
            });
    }
    orders
        .into_iter()
        .map(|(supplier, mut lines)| {
            lines.sort_by(|a, b| a.sku.cmp(&b.sku));
            PlannedOrder { supplier, lines }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;
    use crate::reorder::rules::ServiceLevel;

    fn candidate(sku: &str, supplier: &str, mean: f64, position: i64) -> ReorderCandidate {
        ReorderCandidate {
            sku: Sku::new(sku).unwrap(),
            supplier: Supplier::new(SupplierId::new(supplier).unwrap(), 7.0).unwrap(),
            unit_cost: Decimal::from_str("2.35").unwrap(),
            rule: ReorderRule::Dynamic {
                service_level: ServiceLevel::new(0.95).unwrap(),
                review_days: 7,
                quantity: None,
            },
            demand: DemandStats {
                mean_per_day: mean,
                std_dev_per_day: mean / 4.0,
                days: 28,
            },
            position,
        }
    }

    #[test]
    fn one_order_per_supplier_with_only_skus_at_their_point() {
        let plan = plan_orders(&[
            candidate("B", "acme", 10.0, 5),
            candidate("A", "acme", 10.0, 0),
            candidate("C", "acme", 10.0, 10_000),
            candidate("D", "globex", 1.0, 0),
            candidate("E", "globex", 0.0, -5),
        ]);
        assert_eq!(plan.len(), 2);
        let skus: Vec<&str> = plan[0].lines.iter().map(|line| line.sku.as_str()).collect();
        assert_eq!((plan[0].supplier.as_str(), skus), ("acme", vec!["A", "B"]));
        assert_eq!(plan[1].lines.len(), 1, "E has no demand");
        assert_eq!(plan[0].summary(), "Auto PO for 2 SKUs from acme");
        assert_eq!(plan[1].summary(), "Auto PO for 1 SKU from globex");
        let expected: Decimal = plan[0]
            .lines
            .iter()
            .map(|l| Decimal::from(l.quantity) * Decimal::from_str("2.35").unwrap())
            .sum();
        assert_eq!(plan[0].total_cost(), expected);
    }

    #[test]
    fn position_counts_transit_and_orders() {
        let total = StockLevel {
            on_hand: 10,
            reserved: 3,
            committed: 2,
            in_transit: 7,
            damaged: 1,
            ..StockLevel::default()
        };
        assert_eq!(
            position(&total, 20),
            31,
            "damaged units are not in the position"
        );
    }

    fn candidates() -> impl Strategy<Value = Vec<ReorderCandidate>> {
        let one = (
            Just(()),
            0..3usize,
            0.0..50.0f64,
            0.0..20.0f64,
            -50..2_000i64,
            1.0..60.0f64,
            0..200i64,
            1..48i64,
            0..14u32,
            proptest::option::of(1..100i64),
        );
        proptest::collection::vec(one, 1..30).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(
                    |(
                        sku,
                        ((), supplier, mean, std_dev, position, lead, moq, pack, review, quantity),
                    )| ReorderCandidate {
                        sku: Sku::new(format!("S{sku}")).unwrap(),
                        supplier: Supplier {
                            id: SupplierId::new(format!("V{supplier}")).unwrap(),
                            lead_time_days: lead,
                            lead_time_std_dev_days: None,
                            minimum_order_quantity: moq,
                            case_pack: pack,
                        },
                        unit_cost: Decimal::new(199, 2),
                        rule: ReorderRule::Dynamic {
                            service_level: ServiceLevel::new(0.95).unwrap(),
                            review_days: review,
                            quantity,
                        },
                        demand: DemandStats {
                            mean_per_day: mean,
                            std_dev_per_day: std_dev,
                            days: 28,
                        },
                        position,
                    },
                )
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Nothing above its point is ordered; what is ordered respects MOQ and case pack
        /// and lifts the position above the point, so a second run with the order
        /// counted orders nothing.
        #[test]
        fn orders_are_needed_sufficient_and_final(candidates in candidates()) {
            let plan = plan_orders(&candidates);
            let mut after = candidates.clone();
            for order in &plan {
                for line in &order.lines {
                    let source = candidates.iter().find(|c| c.sku == line.sku).unwrap();
                    prop_assert!(source.position <= line.reorder_point);
                    prop_assert!(line.quantity >= source.supplier.minimum_order_quantity);
                    prop_assert_eq!(line.quantity % source.supplier.case_pack, 0);
                    prop_assert!(line.position + line.quantity > line.reorder_point);
                }
            }
            for candidate in &mut after {
                let ordered: i64 = plan
                    .iter()
                    .filter(|order| order.supplier == candidate.supplier.id)
                    .flat_map(|order| &order.lines)
                    .filter(|line| line.sku == candidate.sku)
                    .map(|line| line.quantity)
                    .sum();
                candidate.position += ordered;
            }
            prop_assert!(plan_orders(&after).is_empty(), "a second run ordered again");
        }
    }
}
