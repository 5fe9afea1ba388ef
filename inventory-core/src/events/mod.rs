//! Low-stock events: a SKU with a low-stock threshold ([`LowStock`]: a number of units,
//! or its reorder point) raises
//! [`StockEventKind::Low`] when a command takes its measure (available, or available
//! plus in transit) from above the threshold to at or below it, and
//! [`StockEventKind::Recovered`] when one takes it back above: edge-triggered, once per
//! crossing, decided in the command and written to an outbox in its transaction
//! ([`EventStore`]), so a crash loses none. A change of the threshold itself (by hand,
//! or a reorder run moving the point) that makes the SKU low, or no longer low, raises
//! the event too, in a unit of its own right after the change. An [`EventWorker`]
//! delivers them to a [`Notifier`] in order, retrying with backoff until it takes them.

mod worker;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::Store;
use crate::catalog::SkuSettings;
use crate::decide::Draft;
use crate::error::{BoxError, DomainError, StoreError};
use crate::id::Sku;
use crate::stock::StockLevel;

pub use worker::{EventConfig, EventWorker};

/// What a low-stock threshold watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StockMeasure {
    /// Units available over every location.
    Available,
    /// Units available plus units in transit, over every location (purchase orders not
    /// yet shipped by their supplier are not counted).
    Position,
}

impl StockMeasure {
    /// The measure of a SKU whose rows sum to `total`.
    pub fn of(self, total: &StockLevel) -> i64 {
        match self {
            Self::Available => total.available(),
            Self::Position => total.available().saturating_add(total.in_transit),
        }
    }
}

/// Where a SKU's low-stock threshold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "ThresholdRepr", into = "ThresholdRepr")]
pub enum Threshold {
    /// A fixed number of units (zero or more); written as a number.
    Units(i64),
    /// The SKU's reorder point, as the last reorder run
    /// ([`run_reorder`](crate::reorder::run_reorder)) computed it from its supplier link
    /// (a static point, or velocity x lead time + safety stock); written as
    /// `"reorder_point"`. It watches nothing until a run has computed a point, and each
    /// run that moves the point may raise an event (the SKU is then low, or no longer).
    ReorderPoint,
}

/// How a [`Threshold`] is written: a number, or the word `"reorder_point"`.
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
enum ThresholdRepr {
    Units(i64),
    Word(ThresholdWord),
}

#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
enum ThresholdWord {
    ReorderPoint,
}

impl From<ThresholdRepr> for Threshold {
    fn from(repr: ThresholdRepr) -> Self {
        match repr {
            ThresholdRepr::Units(units) => Self::Units(units),
            ThresholdRepr::Word(ThresholdWord::ReorderPoint) => Self::ReorderPoint,
        }
    }
}

impl From<Threshold> for ThresholdRepr {
    fn from(threshold: Threshold) -> Self {
        match threshold {
            Threshold::Units(units) => Self::Units(units),
            Threshold::ReorderPoint => Self::Word(ThresholdWord::ReorderPoint),
        }
    }
}

/// A SKU's low-stock setting: it is low while its measure is at or below the
/// threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LowStock {
    /// Units at or below which the SKU is low, or its reorder point.
    #[cfg_attr(feature = "openapi", schema(value_type = ThresholdRepr))]
    pub threshold: Threshold,
    /// What is compared with it.
    pub measure: StockMeasure,
}

impl LowStock {
    /// Low at or below `units` of `measure`.
    pub fn units(units: i64, measure: StockMeasure) -> Self {
        Self {
            threshold: Threshold::Units(units),
            measure,
        }
    }

    /// Low at or below the SKU's reorder point, as each reorder run computes it.
    pub fn reorder_point(measure: StockMeasure) -> Self {
        Self {
            threshold: Threshold::ReorderPoint,
            measure,
        }
    }

    /// Checks the threshold.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] for a negative number of units.
    pub fn checked(self) -> Result<Self, DomainError> {
        if let Threshold::Units(units @ ..0) = self.threshold {
            return Err(DomainError::invalid_setting(
                "low_stock_threshold",
                units,
                "must be zero or more units",
            ));
        }
        Ok(self)
    }

    /// What this setting watches when the SKU's reorder point is `reorder_point`: none
    /// for a reorder-point threshold before any point is known.
    pub fn watch(self, reorder_point: Option<i64>) -> Option<LowStockWatch> {
        let threshold = match self.threshold {
            Threshold::Units(units) => units,
            Threshold::ReorderPoint => reorder_point?,
        };
        Some(LowStockWatch {
            measure: self.measure,
            threshold,
        })
    }
}

/// A low-stock setting with its threshold in units: what a command compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LowStockWatch {
    /// What is compared.
    pub measure: StockMeasure,
    /// Units at or below which the SKU is low.
    pub threshold: i64,
}

impl LowStockWatch {
    /// Whether a SKU whose rows sum to `total` is low, and its measure.
    pub fn low(self, total: &StockLevel) -> (bool, i64) {
        let value = self.measure.of(total);
        (value <= self.threshold, value)
    }
}

/// Which way a SKU crossed its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StockEventKind {
    /// Its measure fell to or below the threshold.
    Low,
    /// Its measure rose back above the threshold.
    Recovered,
}

impl StockEventKind {
    /// The lowercase name used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Recovered => "recovered",
        }
    }
}

impl std::str::FromStr for StockEventKind {
    type Err = crate::reservation::UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [Self::Low, Self::Recovered]
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| crate::reservation::UnknownName(name.to_owned()))
    }
}

/// A crossing of a SKU's low-stock threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockEvent {
    /// The SKU.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sku: Sku,
    /// Which way it crossed.
    pub kind: StockEventKind,
    /// What was compared.
    pub measure: StockMeasure,
    /// The threshold crossed.
    pub threshold: i64,
    /// The measure after the command.
    pub value: i64,
    /// When the command was decided.
    pub at: DateTime<Utc>,
}

/// An event waiting in the outbox: its place in the order events were raised, and how
/// many deliveries failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEvent {
    /// Its place: raised later, greater.
    pub seq: i64,
    /// Deliveries that failed so far.
    pub attempts: u32,
    /// The event.
    pub event: StockEvent,
}

/// The outbox of stock events. Commands write events in their own transaction (from
/// [`Changes::events`](crate::decide::Changes::events)); these calls serve the
/// [`EventWorker`]. The protocol, checked by the conformance case
/// `low_stock_events_are_raised_once_per_crossing_and_delivered`:
///
/// 1. [`claim_events`](Self::claim_events) hands out, in `seq` order, up to `limit`
///    of the oldest events, stopping at the first one still claimed or waiting for its
///    retry time (events go out in the order raised: a failing delivery holds back the
///    later ones), and claims them until `claim_until` (a worker that dies lets its
///    claim run out).
/// 2. [`finish_events`](Self::finish_events) without a retry time removes them
///    (delivered); with one, ends the claim, counts a failed attempt and hides them
///    until then.
#[async_trait]
pub trait EventStore: Store {
    /// Claims up to `limit` undelivered events, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the claim fails.
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>, StoreError>;

    /// Ends the claim of the events numbered `seqs`: removes them when `retry_at` is
    /// `None` (delivered), else hides them until then.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails.
    async fn finish_events(
        &self,
        seqs: &[i64],
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Every undelivered event, oldest first (for audits and tests).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn pending_events(&self) -> Result<Vec<QueuedEvent>, StoreError>;
}

/// Where an [`EventWorker`] delivers events: a webhook, a queue, an email.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Delivers `events`, oldest first; an error makes the worker retry them all later.
    ///
    /// # Errors
    ///
    /// Whatever kept them from being delivered.
    async fn notify(&self, events: &[StockEvent]) -> Result<(), BoxError>;
}

/// Raises the events of every SKU whose rows this decision changed and whose measure
/// crossed its threshold (the rows of a SKU are all in view when any is).
pub(crate) fn raise(draft: &mut Draft<'_>) {
    let mut skus: Vec<Sku> = draft
        .changes
        .stock
        .keys()
        .map(|key| key.sku.clone())
        .collect();
    skus.dedup();
    for sku in skus {
        let Some(watch) = draft
            .catalog
            .settings(&sku)
            .and_then(SkuSettings::low_stock_watch)
        else {
            continue;
        };
        let (before, after) = draft.totals_before_and_after(&sku);
        let (was, _) = watch.low(&before);
        crossed(draft, sku, was, watch, &after);
    }
}

/// Raises the event of a change of `sku`'s threshold from `old` to `new` with its
/// stock as it is (nothing when the change makes it neither low nor no longer low).
/// A SKU that was not watched was not low; one no longer watched raises nothing.
pub(crate) fn rewatch(
    draft: &mut Draft<'_>,
    sku: &Sku,
    old: Option<LowStockWatch>,
    new: Option<LowStockWatch>,
) {
    let Some(new) = new else {
        return;
    };
    let (_, total) = draft.totals_before_and_after(sku);
    let was = old.is_some_and(|old| old.low(&total).0);
    crossed(draft, sku.clone(), was, new, &total);
}

/// Raises `sku`'s event if it was low (`was`) and is not under `watch` with its rows
/// summing to `total`, or the other way round.
fn crossed(draft: &mut Draft<'_>, sku: Sku, was: bool, watch: LowStockWatch, total: &StockLevel) {
    let (is, value) = watch.low(total);
    let kind = match (was, is) {
        (false, true) => StockEventKind::Low,
        (true, false) => StockEventKind::Recovered,
        _ => return,
    };
    let event = StockEvent {
        sku,
        kind,
        measure: watch.measure,
        threshold: watch.threshold,
        value,
        at: draft.now,
    };
    draft.changes.events.push(event);
}
