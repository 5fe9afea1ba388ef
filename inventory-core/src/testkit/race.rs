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
    let outcomes =
        stocked_then_spawned(&handles, tasks, units, move |inventory, task| async move {
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
        })
        .await;
    let (mut reserved, mut refused) = (0, 0);
    for (r, f) in outcomes {
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

/// What a transfer race ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferRaceReport {
    /// Units held by one-unit orders.
    pub reserved: i64,
    /// Units shipped by two-unit transfers.
    pub transferred: i64,
    /// Orders and transfers refused with insufficient stock.
    pub refused: usize,
}

/// Stocks `units` of one SKU at `main`, then lets `tasks` tasks, spread over
/// `handles`, place `attempts` requests at once: even ones reserve one unit, odd ones
/// ship a two-unit transfer from `main` to `annex`, together asking for more than
/// exists. Checks that no unit is taken twice: what was held plus what was shipped
/// never passes what was stocked, the source's numbers say exactly that, the
/// destination's transit holds what was shipped, every refusal is insufficient stock,
/// and every invariant holds.
///
/// # Panics
///
/// When more is taken than was stocked, a request fails otherwise, an invariant
/// breaks, or the race takes longer than [`RACE_TIMEOUT`].
pub async fn transfer_race<S: AuditStore + Clone>(
    handles: Vec<Inventory<S>>,
    tasks: usize,
    attempts: usize,
    units: i64,
) -> TransferRaceReport {
    let outcomes =
        stocked_then_spawned(&handles, tasks, units, move |inventory, task| async move {
            let (mut reserved, mut transferred, mut refused) = (0, 0, 0);
            for number in (task..attempts).step_by(tasks) {
                let result = if number % 2 == 0 {
                    let id = OrderId::new(format!("race-{number}")).expect("valid order id");
                    let request = ReserveRequest::new(id, vec![OrderLine::new(sku("HOT"), qty(1))]);
                    inventory.reserve(request).await.map(|_| (1, 0))
                } else {
                    let request = crate::TransferRequest {
                        sku: sku("HOT"),
                        from: loc("main"),
                        to: loc("annex"),
                        quantity: qty(2),
                        idempotency_key: None,
                    };
                    inventory.ship_transfer(request).await.map(|_| (0, 2))
                };
                match result {
                    Ok((held, shipped)) => {
                        reserved += held;
                        transferred += shipped;
                    }
                    Err(error) => match domain_error(error) {
                        DomainError::InsufficientStock { .. } => refused += 1,
                        other => panic!("request {number} failed with {other:?}"),
                    },
                }
            }
            (reserved, transferred, refused)
        })
        .await;
    let mut report = TransferRaceReport {
        reserved: 0,
        transferred: 0,
        refused: 0,
    };
    for (held, shipped, refused) in outcomes {
        report.reserved += held;
        report.transferred += shipped;
        report.refused += refused;
    }
    let taken = report.reserved + report.transferred;
    assert!(taken <= units, "{taken} units taken of {units}: {report:?}");
    assert!(
        units - taken <= 1,
        "a request was refused while units were left: {report:?}"
    );
    let stock = handles[0].stock(&sku("HOT")).await.expect("read stock");
    let row = |name: &str| {
        stock
            .locations
            .iter()
            .find(|row| row.location.as_str() == name)
            .map(|row| row.level)
            .unwrap_or_default()
    };
    let (main, annex) = (row("main"), row("annex"));
    assert_eq!(
        (main.on_hand, main.reserved, annex.in_transit),
        (
            units - report.transferred,
            report.reserved,
            report.transferred
        ),
        "{report:?}"
    );
    assert_invariants(handles[0].store()).await;
    report
}

/// What a bundle race ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleRaceReport {
    /// Kits held (each `2 x HOT + 1 x LID`).
    pub kits: i64,
    /// `HOT` units held by orders of `HOT` alone.
    pub singles: i64,
    /// Orders refused with insufficient stock.
    pub refused: usize,
}

/// Defines the bundle `KIT = 2 x HOT + 1 x LID`, stocks `units` of `HOT` and
/// `units / 4` of `LID` at `main`, then lets `tasks` tasks, spread over `handles`,
/// place `attempts` orders at once: every third a kit, the others one `HOT` alone.
/// Checks that exactly what the components allow is sold: the rows hold what the
/// accepted orders took (`HOT`: two per kit plus the singles, `LID`: one per kit),
/// never more than stocked; a refused single means no `HOT` is left, a refused kit
/// that fewer than two `HOT` or no `LID` are left; every refusal is insufficient stock
/// and every invariant holds.
///
/// # Panics
///
/// When more is sold than stocked, a refusal leaves what it asked for, a request fails
/// otherwise, an invariant breaks, or the race takes longer than [`RACE_TIMEOUT`].
pub async fn bundle_race<S: AuditStore + Clone>(
    handles: Vec<Inventory<S>>,
    tasks: usize,
    attempts: usize,
    units: i64,
) -> BundleRaceReport {
    let kit = vec![
        crate::catalog::BundleComponent::new(sku("HOT"), qty(2)),
        crate::catalog::BundleComponent::new(sku("LID"), qty(1)),
    ];
    handles[0]
        .define_bundle(sku("KIT"), kit)
        .await
        .expect("define the kit");
    let lids = (units / 4).max(1);
    handles[0]
        .receive(sku("LID"), loc("main"), qty(lids))
        .await
        .expect("stock the lids");
    let outcomes =
        stocked_then_spawned(&handles, tasks, units, move |inventory, task| async move {
            let (mut kits, mut singles) = (0, 0);
            let (mut kit_refused, mut single_refused) = (false, false);
            for number in (task..attempts).step_by(tasks) {
                let id = OrderId::new(format!("race-{number}")).expect("valid order id");
                let is_kit = number % 3 == 0;
                let wanted = if is_kit { "KIT" } else { "HOT" };
                let request = ReserveRequest::new(id, vec![OrderLine::new(sku(wanted), qty(1))]);
                match inventory.reserve(request).await {
                    Ok(_) if is_kit => kits += 1,
                    Ok(_) => singles += 1,
                    Err(error) => match domain_error(error) {
                        DomainError::InsufficientStock { .. } if is_kit => kit_refused = true,
                        DomainError::InsufficientStock { .. } => single_refused = true,
                        other => panic!("order {number} failed with {other:?}"),
                    },
                }
            }
            (kits, singles, kit_refused, single_refused)
        })
        .await;
    let mut report = BundleRaceReport {
        kits: 0,
        singles: 0,
        refused: 0,
    };
    let (mut kit_refused, mut single_refused) = (false, false);
    for (kits, singles, kit, single) in outcomes {
        report.kits += kits;
        report.singles += singles;
        kit_refused |= kit;
        single_refused |= single;
    }
    let accepted = usize::try_from(report.kits + report.singles).expect("counts fit");
    report.refused = attempts - accepted;
    let hot = handles[0].stock(&sku("HOT")).await.expect("read HOT").total;
    let lid = handles[0].stock(&sku("LID")).await.expect("read LID").total;
    assert_eq!(hot.reserved, 2 * report.kits + report.singles, "{report:?}");
    assert_eq!(lid.reserved, report.kits, "{report:?}");
    assert!(hot.available() >= 0 && lid.available() >= 0, "{report:?}");
    if single_refused {
        assert_eq!(
            hot.available(),
            0,
            "a single was refused with HOT left: {report:?}"
        );
    }
    if kit_refused {
        assert!(
            hot.available() < 2 || lid.available() < 1,
            "a kit was refused while its components were left: {report:?}"
        );
    }
    assert_invariants(handles[0].store()).await;
    report
}

/// Stocks `units` of `HOT` at `main`, then runs `work(inventory, task)` for `tasks`
/// tasks at once, spread round-robin over `handles`: each task's result, in task order.
///
/// # Panics
///
/// When the stocking or a task fails, or the tasks take longer than [`RACE_TIMEOUT`].
async fn stocked_then_spawned<S, T, F, Fut>(
    handles: &[Inventory<S>],
    tasks: usize,
    units: i64,
    work: F,
) -> Vec<T>
where
    S: AuditStore + Clone,
    T: Send + 'static,
    F: Fn(Inventory<S>, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    assert!(!handles.is_empty() && tasks > 0);
    let run = async {
        handles[0]
            .receive(sku("HOT"), loc("main"), qty(units))
            .await
            .expect("stock the hot sku");
        let joins: Vec<_> = (0..tasks)
            .map(|task| tokio::spawn(work(handles[task % handles.len()].clone(), task)))
            .collect();
        let mut outcomes = Vec::with_capacity(tasks);
        for join in joins {
            outcomes.push(join.await.expect("race task"));
        }
        outcomes
    };
    tokio::time::timeout(RACE_TIMEOUT, run)
        .await
        .expect("the race finished in time")
}
