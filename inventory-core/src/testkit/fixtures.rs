//! Short constructors and the [`Harness`] every case runs in.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::DateTime;

use crate::backend::AuditStore;
use crate::error::{DomainError, Error};
use crate::id::{LocationId, OrderId, Sku};
use crate::ledger::LedgerEntry;
use crate::quantity::Quantity;
use crate::reservation::{OrderLine, Reservation, ReserveRequest};
use crate::stock::{StockKey, StockLevel};
use crate::{Inventory, ManualClock, RetryPolicy};

/// Where every harness clock starts: 2026-01-01T00:00:00Z.
pub const START: i64 = 1_767_225_600;

/// A SKU from a literal; panics on a malformed one.
pub fn sku(text: &str) -> Sku {
    Sku::new(text).expect("valid sku literal")
}

/// A location from a literal; panics on a malformed one.
pub fn loc(text: &str) -> LocationId {
    LocationId::new(text).expect("valid location literal")
}

/// A quantity from a literal; panics on zero or negative.
pub fn qty(units: i64) -> Quantity {
    Quantity::new(units).expect("positive quantity literal")
}

/// An order of `(sku, units)` lines, each left to the allocation strategy.
pub fn order(id: &str, lines: &[(&str, i64)]) -> ReserveRequest {
    let lines = lines
        .iter()
        .map(|(s, units)| OrderLine::new(sku(s), qty(*units)))
        .collect();
    ReserveRequest::new(OrderId::new(id).expect("valid order literal"), lines)
}

/// The domain error inside `error`; panics on a storage error.
pub fn domain_error(error: Error) -> DomainError {
    match error {
        Error::Domain(error) => error,
        Error::Store(error) => panic!("expected a domain error, got storage error {error:?}"),
    }
}

/// An inventory on a backend under test, with a manual clock.
pub struct Harness<S> {
    /// The inventory under test.
    pub inventory: Inventory<S>,
    /// Its clock.
    pub clock: ManualClock,
}

impl<S: AuditStore> Harness<S> {
    /// Wraps `store` with a manual clock at [`START`].
    pub fn new(store: S) -> Self {
        let start = DateTime::from_timestamp(START, 0).expect("start in range");
        let clock = ManualClock::new(start);
        let inventory = Inventory::new(store)
            .with_clock(clock.clone())
            .with_retry(RetryPolicy::default());
        Self { inventory, clock }
    }

    /// Moves the clock forward.
    pub fn advance(&self, step: Duration) {
        self.clock.advance(step);
    }

    /// Receives `units` of `s` at `l`; panics on failure.
    pub async fn stocked(&self, s: &str, l: &str, units: i64) -> StockLevel {
        self.inventory
            .receive(sku(s), loc(l), qty(units))
            .await
            .expect("receive succeeds")
    }

    /// Reserves `request`; panics on failure.
    pub async fn held(&self, request: ReserveRequest) -> Reservation {
        self.inventory
            .reserve(request)
            .await
            .expect("reserve succeeds")
            .reservation
    }

    /// The row of `s` at `l`; panics when it does not exist.
    pub async fn level(&self, s: &str, l: &str) -> StockLevel {
        let stock = self.inventory.stock(&sku(s)).await.expect("sku exists");
        stock
            .locations
            .into_iter()
            .find(|row| row.location == loc(l))
            .expect("location exists")
            .level
    }

    /// Everything the store holds, for before/after comparisons.
    pub async fn snapshot(&self) -> StoreState {
        StoreState::capture(self.inventory.store()).await
    }
}

/// Everything a store holds at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreState {
    /// Every stock row.
    pub stock: BTreeMap<StockKey, StockLevel>,
    /// Every reservation.
    pub reservations: Vec<Reservation>,
    /// The whole ledger.
    pub ledger: Vec<LedgerEntry>,
}

impl StoreState {
    /// Reads everything `store` holds; panics on a storage error.
    pub async fn capture<S: AuditStore>(store: &S) -> Self {
        Self {
            stock: store.all_stock().await.expect("read stock"),
            reservations: store.all_reservations().await.expect("read reservations"),
            ledger: store.ledger().await.expect("read ledger"),
        }
    }
}
