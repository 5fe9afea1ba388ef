//! Proptest strategies for command sequences over a small universe (3 SKUs and a
//! bundle of them, 3 locations, 12 order ids), and a runner that applies one step to
//! any backend.
//!
//! The universe is small on purpose: collisions (the same SKU, the same order id, the
//! last unit) are where the bugs are.

use std::time::Duration;

use proptest::prelude::*;

use crate::backend::AuditStore;
use crate::bulk::{BulkSet, SetRow};
use crate::counting::{CountStore, CountThresholds};
use crate::decide::{Command, Outcome, StockMovement};
use crate::error::{DomainError, Error};
use crate::id::{IdempotencyKey, OrderId, ReservationId, SupplierId};
use crate::quantity::Quantity;
use crate::reorder::{PlannedLine, PlannedOrder, PurchaseStore};
use crate::reservation::{AllocationStrategy, OrderLine, ReserveRequest};
use crate::returns::{Disposition, ReturnLine, ReturnRequest};
use crate::shipment::{AddRequest, PartLine, PartRequest};
use crate::stock::{StockKey, StockState};
use crate::transfer::{TransferId, TransferRequest};

use super::fixtures::{loc, sku, Harness};

/// The SKUs sequences use.
pub const SKUS: [&str; 3] = ["A", "B", "C"];
/// The bundle SKUs sequences use: indices `SKUS.len()` and on wherever a SKU index is
/// taken. Every sequence starts by defining `KIT = 1 x A + 2 x B` and
/// `PAIR = 2 x A + 1 x C` (`A` is in both and sold alone too); steps redefine or remove
/// them, and receipts of `KIT` test that a bundle holds no stock (or, once removed,
/// that it is an ordinary SKU again).
pub const BUNDLES: [&str; 2] = ["KIT", "PAIR"];

/// The first of [`BUNDLES`].
pub const BUNDLE: &str = BUNDLES[0];

/// The name of SKU index `index`: one of [`SKUS`], or of [`BUNDLES`] past them.
pub fn sku_name(index: usize) -> &'static str {
    SKUS.iter()
        .chain(&BUNDLES)
        .nth(index)
        .copied()
        .unwrap_or(BUNDLE)
}

/// The locations sequences use.
pub const LOCATIONS: [&str; 3] = ["east", "north", "west"];
/// How many distinct order ids sequences use.
pub const ORDERS: u8 = 12;

/// One line of a generated order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSpec {
    /// Index into [`SKUS`].
    pub sku: usize,
    /// Index into [`LOCATIONS`], or `None` for the strategy to choose.
    pub location: Option<usize>,
    /// Units; zero or negative ones test refusal.
    pub units: i64,
}

/// A stock row of the universe and a number of units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOp {
    /// Index into [`SKUS`].
    pub sku: usize,
    /// Index into [`LOCATIONS`].
    pub location: usize,
    /// Units, or the signed delta of an adjustment; zero or negative ones test refusal.
    pub units: i64,
}

/// A generated order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveOp {
    /// Order number below [`ORDERS`].
    pub order: u8,
    /// Its lines.
    pub lines: Vec<LineSpec>,
    /// Hold time in seconds.
    pub ttl_seconds: u64,
    /// Use the priority list `west, east` instead of most-available.
    pub priority: bool,
    /// Allow splitting lines.
    pub split: bool,
}

/// One generated step. Order numbers are below [`ORDERS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Receive units.
    Receive(RowOp),
    /// Add units in transit.
    AddInTransit(RowOp),
    /// Receive units in transit.
    ReceiveInTransit(RowOp),
    /// Adjust on hand by a signed delta.
    Adjust(RowOp),
    /// Reserve an order.
    Reserve(ReserveOp),
    /// Extend an order's hold by this many seconds from now.
    Extend(u8, u64),
    /// Commit an order's reservation.
    Commit(u8),
    /// Ship an order's reservation.
    Ship(u8),
    /// Release an order's reservation.
    Release(u8),
    /// Move the clock by this many seconds.
    Advance(u64),
    /// Run the expiry sweep with this limit.
    ExpireDue(usize),
    /// Raise (or add to) a draft purchase order for supplier `0` or `1`, delivered to
    /// `east`, with `(sku index, units)` lines.
    RaisePurchase(u8, Vec<(usize, i64)>),
    /// A transition of the purchase order at this index (modulo the count) of all
    /// orders sorted by id.
    Purchase(u8, PurchaseStep),
    /// A cycle count finding `units` (default thresholds).
    Count(RowOp),
    /// Resolve the open investigation at this index (modulo the count), with an
    /// optional recount.
    Resolve(u8, Option<i64>),
    /// A receipt (`true`) or an adjustment under idempotency key number `u8` (below
    /// [`KEYS`]): repeats and reuses collide often.
    Keyed(u8, bool, RowOp),
    /// Move `units` of a row from one state to another (indices into
    /// [`StockState::ALL`]).
    ChangeState(RowOp, usize, usize),
    /// A bulk set of rows (`units` is the on hand set), each with an optional expected
    /// on hand, under an optional key number.
    Set(Vec<(RowOp, Option<i64>)>, Option<u8>),
    /// Ship transfer number `u8` (below [`TRANSFERS`], its key derived from the
    /// number) of `units` of a SKU from one location to another.
    ShipTransfer(u8, RowOp, usize),
    /// Receive units of transfer number `u8` (all outstanding when `None`), under an
    /// optional key number.
    ReceiveTransfer(u8, Option<i64>, Option<u8>),
    /// Close transfer number `u8`.
    CloseTransfer(u8),
    /// Return lines `(sku index, units, disposition index)` of an order, under an
    /// optional key number.
    Return(u8, Vec<(usize, i64, usize)>, Option<u8>),
    /// Ship part of an order: `(sku index, units)` lines (a bundle index names a
    /// bundle), under key number `u8` (below [`KEYS`]: reuses across orders collide).
    ShipPart(u8, Vec<(usize, i64)>, u8),
    /// Release part of an order, as [`Op::ShipPart`].
    ReleasePart(u8, Vec<(usize, i64)>, u8),
    /// Add `(sku index, units)` lines to an order (a bundle index names a bundle), under
    /// key number `u8` (below [`KEYS`]).
    AddLines(u8, Vec<(usize, i64)>, u8),
    /// Define bundle `usize` (index into [`BUNDLES`]) as `(sku index, units)`
    /// components (a zero or negative quantity, a repeated component: refused).
    DefineBundle(usize, Vec<(usize, i64)>),
    /// End the definition of bundle `usize` (index into [`BUNDLES`]).
    RemoveBundle(usize),
    /// Set (or, with `None`, stop) the backorder limit of a SKU (index into [`SKUS`]):
    /// `Some(0)` is the limit of what is in transit, `Some(n)` for `n > 0` a limit of
    /// `n` units, a negative `n` is refused.
    SetBackorder(usize, Option<i64>),
    /// Set (or, with `None`, remove) the low-stock threshold of a SKU (index into
    /// [`SKUS`]): `(units, on position)`, where no units follows the reorder point; a
    /// negative threshold is refused.
    SetLowStock(usize, Option<(Option<i64>, bool)>),
    /// A reorder run computes the reorder point of a SKU (index into [`SKUS`]), or none.
    ReorderPoint(usize, Option<i64>),
}

/// How many distinct transfers sequences use.
pub const TRANSFERS: u8 = 4;

/// The dispositions sequences pick from.
pub const DISPOSITIONS: [Disposition; 4] = [
    Disposition::Restock,
    Disposition::Damaged,
    Disposition::QualityControl,
    Disposition::WriteOff,
];

/// How many distinct idempotency keys sequences use.
pub const KEYS: u8 = 4;

/// What to do with a purchase order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurchaseStep {
    /// Draft to sent.
    Send,
    /// Sent to shipped.
    Ship,
    /// Receive units of a SKU (index into [`SKUS`]).
    Receive(usize, i64),
    /// Close.
    Close,
    /// Cancel.
    Cancel,
}

/// Units a line orders: mostly valid, sometimes zero or negative.
fn units() -> impl Strategy<Value = i64> {
    prop_oneof![24 => 1..=4i64, 1 => -1..=0i64]
}

/// Units a receipt brings: enough that many orders can succeed.
fn receipt() -> impl Strategy<Value = i64> {
    prop_oneof![24 => 1..=25i64, 1 => -1..=0i64]
}

fn line() -> impl Strategy<Value = LineSpec> {
    (
        0..SKUS.len() + BUNDLES.len(),
        proptest::option::weighted(0.3, 0..LOCATIONS.len()),
        units(),
    )
        .prop_map(|(sku, location, units)| LineSpec {
            sku,
            location,
            units,
        })
}

fn row(
    sku: std::ops::Range<usize>,
    location: std::ops::Range<usize>,
    units: impl Strategy<Value = i64>,
) -> impl Strategy<Value = RowOp> {
    (sku, location, units).prop_map(|(sku, location, units)| RowOp {
        sku,
        location,
        units,
    })
}

fn purchase_step() -> impl Strategy<Value = PurchaseStep> {
    prop_oneof![
        2 => Just(PurchaseStep::Send),
        2 => Just(PurchaseStep::Ship),
        3 => (0..SKUS.len(), -1..=12i64).prop_map(|(sku, units)| PurchaseStep::Receive(sku, units)),
        1 => Just(PurchaseStep::Close),
        1 => Just(PurchaseStep::Cancel),
    ]
}

/// One step, weighted towards reservations and their lifecycle.
pub fn op() -> impl Strategy<Value = Op> {
    let sku = 0..SKUS.len();
    let location = 0..LOCATIONS.len();
    let order = 0..ORDERS;
    prop_oneof![
        4 => row(0..SKUS.len() + 1, location.clone(), receipt()).prop_map(Op::Receive),
        1 => row(sku.clone(), location.clone(), units()).prop_map(Op::AddInTransit),
        1 => row(sku.clone(), location.clone(), units()).prop_map(Op::ReceiveInTransit),
        1 => row(sku, location, -6..=6i64).prop_map(Op::Adjust),
        8 => (order.clone(), proptest::collection::vec(line(), 1..=2), 30..=900u64, any::<bool>(), any::<bool>())
            .prop_map(|(order, lines, ttl_seconds, priority, split)| Op::Reserve(ReserveOp {
                order, lines, ttl_seconds, priority, split
            })),
        1 => (order.clone(), 0..=900u64).prop_map(|(order, ttl)| Op::Extend(order, ttl)),
        3 => order.clone().prop_map(Op::Commit),
        2 => order.clone().prop_map(Op::Ship),
        2 => order.prop_map(Op::Release),
        3 => (1..=600u64).prop_map(Op::Advance),
        2 => (1..=2usize).prop_map(Op::ExpireDue),
        1 => (0..2u8, proptest::collection::vec((0..SKUS.len(), 1..=20i64), 1..=2))
            .prop_map(|(supplier, lines)| Op::RaisePurchase(supplier, lines)),
        3 => (any::<u8>(), purchase_step()).prop_map(|(index, step)| Op::Purchase(index, step)),
        2 => row(0..SKUS.len(), 0..LOCATIONS.len(), -1..=30i64).prop_map(Op::Count),
        1 => (any::<u8>(), proptest::option::of(0..=30i64)).prop_map(|(index, recount)| Op::Resolve(index, recount)),
        2 => (0..KEYS, any::<bool>(), row(0..SKUS.len(), 0..LOCATIONS.len(), -3..=8i64))
            .prop_map(|(key, receipt, row)| Op::Keyed(key, receipt, row)),
        2 => (row(0..SKUS.len(), 0..LOCATIONS.len(), 0..=5i64), 0..4usize, 0..4usize)
            .prop_map(|(row, from, to)| Op::ChangeState(row, from, to)),
        1 => (
            proptest::collection::vec(
                (row(0..SKUS.len(), 0..LOCATIONS.len(), -1..=20i64), proptest::option::weighted(0.5, 0..=25i64)),
                1..=3,
            ),
            proptest::option::of(0..KEYS),
        )
            .prop_map(|(rows, key)| Op::Set(rows, key)),
        2 => (0..TRANSFERS, row(0..SKUS.len(), 0..LOCATIONS.len(), units()), 0..LOCATIONS.len())
            .prop_map(|(number, row, to)| Op::ShipTransfer(number, row, to)),
        2 => (0..TRANSFERS, proptest::option::weighted(0.5, -1..=4i64), proptest::option::of(0..KEYS))
            .prop_map(|(number, units, key)| Op::ReceiveTransfer(number, units, key)),
        1 => (0..TRANSFERS).prop_map(Op::CloseTransfer),
        2 => (
            0..ORDERS,
            proptest::collection::vec((0..SKUS.len() + BUNDLES.len(), units(), 0..DISPOSITIONS.len()), 1..=2),
            proptest::option::of(0..KEYS),
        )
            .prop_map(|(order, lines, key)| Op::Return(order, lines, key)),
        2 => (0..ORDERS, proptest::collection::vec((0..SKUS.len() + BUNDLES.len(), units()), 1..=2), 0..KEYS)
            .prop_map(|(order, lines, key)| Op::ShipPart(order, lines, key)),
        2 => (0..ORDERS, proptest::collection::vec((0..SKUS.len() + BUNDLES.len(), units()), 1..=2), 0..KEYS)
            .prop_map(|(order, lines, key)| Op::ReleasePart(order, lines, key)),
        2 => (0..ORDERS, proptest::collection::vec((0..SKUS.len() + BUNDLES.len(), units()), 1..=2), 0..KEYS)
            .prop_map(|(order, lines, key)| Op::AddLines(order, lines, key)),
        1 => (0..BUNDLES.len(), proptest::collection::vec((0..SKUS.len(), prop_oneof![12 => 1..=3i64, 1 => Just(0i64)]), 1..=2))
            .prop_map(|(bundle, parts)| Op::DefineBundle(bundle, parts)),
        1 => (0..BUNDLES.len()).prop_map(Op::RemoveBundle),
        1 => (0..SKUS.len(), proptest::option::of(prop_oneof![6 => 0..=6i64, 1 => Just(-1i64)]))
            .prop_map(|(sku, limit)| Op::SetBackorder(sku, limit)),
        1 => (0..SKUS.len(), proptest::option::weighted(0.8, (proptest::option::weighted(0.7, -1..=12i64), any::<bool>())))
            .prop_map(|(sku, low)| Op::SetLowStock(sku, low)),
        1 => (0..SKUS.len(), proptest::option::weighted(0.9, 0..=14i64))
            .prop_map(|(sku, point)| Op::ReorderPoint(sku, point)),
    ]
}

/// A sequence: a few receipts to start from, then up to `length_max` steps.
pub fn ops(length_max: usize) -> impl Strategy<Value = Vec<Op>> {
    let opening = row(0..SKUS.len(), 0..LOCATIONS.len(), 1..=25i64).prop_map(Op::Receive);
    (
        proptest::collection::vec(opening, 2..=6),
        proptest::collection::vec(op(), 1..=length_max),
    )
        .prop_map(|(receipts, steps)| {
            let mut opening = vec![
                Op::DefineBundle(0, vec![(0, 1), (1, 2)]),
                Op::DefineBundle(1, vec![(0, 2), (2, 1)]),
                Op::SetBackorder(0, Some(4)),
                Op::SetLowStock(1, Some((Some(5), false))),
            ];
            opening.extend(receipts);
            opening.extend(steps);
            opening
        })
}

/// The order id of order number `order`.
pub fn order_id(order: u8) -> OrderId {
    OrderId::new(format!("order-{order}")).expect("valid order id")
}

fn idempotency_key(kind: &str, number: u8) -> IdempotencyKey {
    IdempotencyKey::new(format!("{kind}-{number}")).expect("valid key")
}

/// The id of transfer number `number`.
pub fn transfer_id(number: u8) -> TransferId {
    TransferId::for_key(&idempotency_key("transfer", number))
}

fn reservation_id(order: u8) -> ReservationId {
    ReservationId::for_order(&order_id(order))
}

fn key(row: &RowOp) -> StockKey {
    StockKey::new(sku(sku_name(row.sku)), loc(LOCATIONS[row.location]))
}

fn receipt_of(row: &RowOp) -> Result<StockMovement, DomainError> {
    Ok(StockMovement::Receive {
        key: key(row),
        quantity: Quantity::new(row.units)?,
    })
}

fn adjustment_of(row: &RowOp) -> StockMovement {
    StockMovement::Adjust {
        key: key(row),
        delta: row.units,
        reason: "generated".to_owned(),
    }
}

/// The command `op` stands for, or the error building its values gives.
///
/// # Errors
///
/// [`DomainError::InvalidQuantity`] for a generated zero or negative quantity.
pub fn command(op: &Op) -> Result<Option<Command>, DomainError> {
    Ok(Some(match op {
        Op::Receive(row) => Command::Move(receipt_of(row)?),
        Op::AddInTransit(row) => Command::Move(StockMovement::AddInTransit {
            key: key(row),
            quantity: Quantity::new(row.units)?,
        }),
        Op::ReceiveInTransit(row) => Command::Move(StockMovement::ReceiveInTransit {
            key: key(row),
            quantity: Quantity::new(row.units)?,
        }),
        Op::Adjust(row) => Command::Move(adjustment_of(row)),
        Op::Reserve(ReserveOp {
            order,
            lines,
            ttl_seconds,
            priority,
            split,
        }) => {
            let lines = lines
                .iter()
                .map(|line| {
                    Ok(OrderLine {
                        sku: sku(sku_name(line.sku)),
                        quantity: Quantity::new(line.units)?,
                        location: line.location.map(|index| loc(LOCATIONS[index])),
                        // SKU A sells at 1.50, B at 3.00, C at no known price.
                        unit_price: (line.sku < 2)
                            .then(|| rust_decimal::Decimal::new(150 * (line.sku as i64 + 1), 2)),
                    })
                })
                .collect::<Result<Vec<_>, DomainError>>()?;
            let allocation = if *priority {
                AllocationStrategy::Priority(vec![loc("west"), loc("east")])
            } else {
                AllocationStrategy::MostAvailable
            };
            let request = ReserveRequest::new(order_id(*order), lines)
                .with_ttl(Duration::from_secs(*ttl_seconds))
                .with_allocation(allocation)
                .with_split(*split);
            Command::Reserve { request }
        }
        Op::Extend(order, ttl_seconds) => Command::Extend {
            id: reservation_id(*order),
            ttl: Duration::from_secs(*ttl_seconds),
        },
        Op::Commit(order) => Command::Commit {
            id: reservation_id(*order),
        },
        Op::Ship(order) => Command::Ship {
            id: reservation_id(*order),
        },
        Op::Release(order) => Command::Release {
            id: reservation_id(*order),
        },
        Op::ExpireDue(limit) => Command::ExpireDue { limit: *limit },
        Op::RaisePurchase(supplier, lines) => {
            let lines = lines
                .iter()
                .map(|(index, units)| PlannedLine {
                    sku: sku(SKUS[*index]),
                    quantity: *units,
                    unit_cost: rust_decimal::Decimal::new(125, 2),
                    reorder_point: 0,
                    position: 0,
                })
                .collect();
            let supplier = SupplierId::new(format!("supplier-{supplier}")).expect("valid supplier");
            let orders = vec![PlannedOrder { supplier, lines }];
            Command::RaisePurchaseOrders {
                orders,
                location: loc("east"),
            }
        }
        Op::Count(row) => Command::RecordCount {
            key: key(row),
            counted: row.units,
            counted_by: "counter".to_owned(),
            thresholds: CountThresholds::default(),
        },
        Op::Keyed(number, is_receipt, row) => Command::Once {
            idempotency_key: IdempotencyKey::new(format!("key-{number}")).expect("valid key"),
            movement: if *is_receipt {
                receipt_of(row)?
            } else {
                adjustment_of(row)
            },
        },
        Op::ChangeState(row, from, to) => Command::Move(StockMovement::ChangeState {
            key: key(row),
            from: StockState::ALL[*from],
            to: StockState::ALL[*to],
            quantity: Quantity::new(row.units)?,
        }),
        Op::Set(rows, number) => Command::Set {
            set: BulkSet {
                reason: "generated stocktake".to_owned(),
                reference: Some("stocktake:generated".to_owned()),
                actor: None,
                rows: rows
                    .iter()
                    .map(|(row, expected)| SetRow {
                        key: key(row),
                        on_hand: row.units,
                        expected_on_hand: *expected,
                    })
                    .collect(),
            },
            idempotency_key: number.map(|number| idempotency_key("set", number)),
        },
        Op::ShipTransfer(number, row, to) => {
            let key = idempotency_key("transfer", *number);
            Command::ShipTransfer {
                id: TransferId::for_key(&key),
                request: TransferRequest {
                    sku: sku(SKUS[row.sku]),
                    from: loc(LOCATIONS[row.location]),
                    to: loc(LOCATIONS[*to]),
                    quantity: Quantity::new(row.units)?,
                    idempotency_key: Some(key),
                },
            }
        }
        Op::ReceiveTransfer(number, units, receipt) => Command::ReceiveTransfer {
            id: transfer_id(*number),
            quantity: units.map(Quantity::new).transpose()?,
            idempotency_key: receipt.map(|number| idempotency_key("receipt", number)),
        },
        Op::CloseTransfer(number) => Command::CloseTransfer {
            id: transfer_id(*number),
        },
        Op::Return(order, lines, number) => {
            let lines = lines
                .iter()
                .map(|(sku_index, units, disposition)| {
                    Ok(ReturnLine {
                        sku: sku(sku_name(*sku_index)),
                        quantity: Quantity::new(*units)?,
                        disposition: DISPOSITIONS[*disposition],
                        location: None,
                    })
                })
                .collect::<Result<Vec<_>, DomainError>>()?;
            let mut request = ReturnRequest::new(order_id(*order), lines);
            request.idempotency_key = number.map(|number| idempotency_key("rma", number));
            Command::Return { request }
        }
        Op::AddLines(order, lines, number) => {
            let lines = lines
                .iter()
                .map(|(sku_index, units)| {
                    Ok(OrderLine::new(
                        sku(sku_name(*sku_index)),
                        Quantity::new(*units)?,
                    ))
                })
                .collect::<Result<Vec<_>, DomainError>>()?;
            let key = idempotency_key("edit", *number);
            Command::AddLines {
                request: AddRequest::new(order_id(*order), lines, key),
            }
        }
        Op::ShipPart(order, lines, number) | Op::ReleasePart(order, lines, number) => {
            let lines = lines
                .iter()
                .map(|(sku_index, units)| {
                    Ok(PartLine::new(
                        sku(sku_name(*sku_index)),
                        Quantity::new(*units)?,
                    ))
                })
                .collect::<Result<Vec<_>, DomainError>>()?;
            let ship = matches!(op, Op::ShipPart(..));
            let key = idempotency_key(if ship { "shipment" } else { "release" }, *number);
            let request = PartRequest::new(order_id(*order), lines, key);
            if ship {
                Command::ShipPart { request }
            } else {
                Command::ReleasePart { request }
            }
        }
        Op::Advance(_)
        | Op::Purchase(..)
        | Op::Resolve(..)
        | Op::DefineBundle(..)
        | Op::RemoveBundle(_)
        | Op::SetBackorder(..)
        | Op::SetLowStock(..)
        | Op::ReorderPoint(..) => return Ok(None),
    }))
}

/// Applies one step: moves the clock, or executes the command. `Ok(None)` for a clock
/// move.
///
/// # Errors
///
/// The [`DomainError`] that refused the step.
///
/// # Panics
///
/// On a storage error: a backend under test must not fail that way.
pub async fn apply<S: AuditStore + PurchaseStore + CountStore>(
    h: &Harness<S>,
    op: &Op,
) -> Result<Option<Outcome>, DomainError> {
    if let Op::Advance(seconds) = op {
        h.advance(Duration::from_secs(*seconds));
        return Ok(None);
    }
    if let Op::RaisePurchase(..) = op {
        // A new purchase order's id derives from its supplier and the time it is raised:
        // two raised for one supplier in the same microsecond (only a stopped clock
        // makes that) would be one id. A real clock always moves this far.
        h.advance(Duration::from_millis(1));
    }
    let catalog_change = match op {
        Op::DefineBundle(bundle, components) => {
            let components = components
                .iter()
                .map(|(index, units)| {
                    let quantity = Quantity::new(*units)?;
                    Ok(crate::catalog::BundleComponent::new(
                        sku(SKUS[*index]),
                        quantity,
                    ))
                })
                .collect::<Result<Vec<_>, DomainError>>()?;
            let defined = h.inventory.define_bundle(sku(BUNDLES[*bundle]), components);
            Some(defined.await.map(drop))
        }
        Op::RemoveBundle(bundle) => {
            let name = sku(BUNDLES[*bundle]);
            Some(h.inventory.remove_bundle(&name).await.map(drop))
        }
        Op::SetBackorder(index, limit) => {
            let limit = limit.map(|units| match units {
                0 => crate::catalog::BackorderLimit::InTransit,
                units => crate::catalog::BackorderLimit::Units(units),
            });
            let set = h.inventory.set_backorder_limit(sku(SKUS[*index]), limit);
            Some(set.await.map(drop))
        }
        Op::SetLowStock(index, low) => {
            let low = low.map(|(units, position)| {
                let measure = if position {
                    crate::events::StockMeasure::Position
                } else {
                    crate::events::StockMeasure::Available
                };
                match units {
                    Some(units) => crate::events::LowStock::units(units, measure),
                    None => crate::events::LowStock::reorder_point(measure),
                }
            });
            Some(
                h.inventory
                    .set_low_stock(sku(SKUS[*index]), low)
                    .await
                    .map(drop),
            )
        }
        Op::ReorderPoint(index, point) => Some(
            h.inventory
                .record_reorder_points(&[(sku(SKUS[*index]), *point)])
                .await,
        ),
        _ => None,
    };
    match catalog_change {
        Some(Ok(())) => return Ok(None),
        Some(Err(Error::Domain(error))) => return Err(error),
        Some(Err(Error::Store(error))) => panic!("storage failed on {op:?}: {error:?}"),
        None => {}
    }
    let command = match op {
        Op::Purchase(index, step) => {
            let orders = h
                .inventory
                .store()
                .all_purchase_orders()
                .await
                .expect("read purchase orders");
            let Some(order) = orders.get(usize::from(*index) % orders.len().max(1)) else {
                return Ok(None);
            };
            let id = order.id;
            match step {
                PurchaseStep::Send => Command::SendPurchaseOrder { id },
                PurchaseStep::Ship => Command::ShipPurchaseOrder { id },
                PurchaseStep::Receive(sku_index, units) => Command::ReceivePurchaseOrder {
                    id,
                    lines: vec![(sku(SKUS[*sku_index]), Quantity::new(*units)?)],
                },
                PurchaseStep::Close => Command::ClosePurchaseOrder { id },
                PurchaseStep::Cancel => Command::CancelPurchaseOrder { id },
            }
        }
        Op::Resolve(index, recount) => {
            let open = h
                .inventory
                .store()
                .open_investigations()
                .await
                .expect("read investigations");
            let Some(investigation) = open.get(usize::from(*index) % open.len().max(1)) else {
                return Ok(None);
            };
            Command::ResolveInvestigation {
                id: investigation.id,
                recount: *recount,
                resolved_by: "lead".to_owned(),
            }
        }
        _ => match command(op)? {
            Some(command) => command,
            None => return Ok(None),
        },
    };
    match h.inventory.execute(command).await {
        Ok(outcome) => Ok(Some(outcome)),
        Err(Error::Domain(error)) => Err(error),
        Err(Error::Store(error)) => panic!("storage failed on {op:?}: {error:?}"),
    }
}
