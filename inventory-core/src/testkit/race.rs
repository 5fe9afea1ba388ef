//! The hot-SKU race: many tasks, maybe over several store handles, try to reserve more
//! units than exist. Exactly the stocked units may be sold.

use crate::backend::AuditStore;
use crate::error::DomainError;
use crate::id::OrderId;
use crate::inventory::Inventory;
use crate::reservation::{OrderLine, ReserveRequest};

use super::fixtures::{domain_error, loc, qty, sku};
use super::invariants::assert_invariants;

/// What a race ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaceReport {
    /// Orders that got a hold.
    pub reserved: usize,
    /// Orders refused with insufficient stock.
    pub refused: usize,
    /// Units the SKU's row says are reserved afterwards.
    pub units_reserved: i64,
}

/// How long a race may take before it counts as hung.
pub const RACE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Stocks `units` of one SKU, then lets `tasks` tasks place `orders` one-unit orders,
/// spread round-robin over `handles` (separate handles or pools on the same data), and
/// checks the result: exactly `min(units, orders)` held, the rest refused with
/// insufficient stock, the row's reserved equal to the units held, every invariant.
///
/// # Panics
///
/// When any order fails other than with insufficient stock, when more or fewer than
/// `units` orders are held, when an invariant breaks, or when the race takes longer
/// than [`RACE_TIMEOUT`].
pub async fn hot_sku_race<S: AuditStore + Clone>(
    handles: Vec<Inventory<S>>,
    tasks: usize,
    orders: usize,
    units: i64,
) -> RaceReport {
    tokio::time::timeout(RACE_TIMEOUT, race(handles, tasks, orders, units))
        .await
        .expect("the race finished in time")
}

async fn race<S: AuditStore + Clone>(
    handles: Vec<Inventory<S>>,
    tasks: usize,
    orders: usize,
    units: i64,
) -> RaceReport {
    assert!(!handles.is_empty() && tasks > 0);
    handles[0]
        .receive(sku("HOT"), loc("main"), qty(units))
        .await
        .expect("stock the hot sku");
    let mut joins = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let inventory = handles[task % handles.len()].clone();
        joins.push(tokio::spawn(async move {
            let (mut reserved, mut refused) = (0, 0);
            for number in (task..orders).step_by(tasks) {
                let id = OrderId::new(format!("race-{number}")).expect("valid order id");
                let request = ReserveRequest::new(id, vec![OrderLine::new(sku("HOT"), qty(1))]);
                match inventory.reserve(request).await {
                    Ok(held) => {
                        assert!(held.created);
                        reserved += 1;
                    }
                    Err(error) => match domain_error(error) {
                        DomainError::InsufficientStock { .. } => refused += 1,
                        other => panic!("order {number} failed with {other:?}"),
                    },
                }
            }
            (reserved, refused)
        }));
    }
    let (mut reserved, mut refused) = (0, 0);
    for join in joins {
        let (r, f) = join.await.expect("race task");
        reserved += r;
        refused += f;
    }
    let store = handles[0].store();
    let stock = handles[0].stock(&sku("HOT")).await.expect("read stock");
    let report = RaceReport {
        reserved,
        refused,
        units_reserved: stock.total.reserved,
    };
    let expected = usize::try_from(units).expect("units fit usize").min(orders);
    assert_eq!(report.reserved, expected, "{report:?}");
    assert_eq!(report.refused, orders - expected, "{report:?}");
    assert_eq!(
        report.units_reserved,
        units.min(orders as i64),
        "{report:?}"
    );
    assert_invariants(store).await;
    report
}
