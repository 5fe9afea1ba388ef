//! [`Snapshot`]: the locked rows a decision reads; [`Changes`]: what it writes;
//! `Draft`: a snapshot with pending changes, the working state of one decision.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::counting::{CountRecord, Investigation, InvestigationId};
use crate::error::DomainError;
use crate::id::{IdempotencyKey, LocationId, ReservationId, Sku};
use crate::ledger::{order_reference, purchase_order_reference, LedgerEntry, Movement};
use crate::reorder::purchase::{PurchaseOrder, PurchaseOrderId};
use crate::reservation::Reservation;
use crate::stock::{StockKey, StockLevel};
use crate::transfer::{transfer_reference, Transfer, TransferId};

/// The rows one command (or one batch) reads, as loaded and locked by a backend.
///
/// It holds every stock row of each SKU the command names (so allocation sees all
/// locations), the reservation the command names, and the holds it may reclaim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Stock rows by key.
    pub stock: BTreeMap<StockKey, StockLevel>,
    /// Reservations by id.
    pub reservations: BTreeMap<ReservationId, Reservation>,
    /// Purchase orders by id.
    pub purchase_orders: BTreeMap<PurchaseOrderId, PurchaseOrder>,
    /// Investigations by id: the named ones and every open one of the SKUs loaded.
    pub investigations: BTreeMap<InvestigationId, Investigation>,
    /// The ledger entries written under the idempotency keys the command names.
    #[serde(default)]
    pub keyed: BTreeMap<IdempotencyKey, LedgerEntry>,
    /// Transfers by id: the ones the command names.
    #[serde(default)]
    pub transfers: BTreeMap<TransferId, Transfer>,
}

impl Snapshot {
    /// Applies a decision's changes, so that the next command of a batch sees them.
    pub fn apply(&mut self, changes: &Changes) {
        for (key, level) in &changes.stock {
            self.stock.insert(key.clone(), *level);
        }
        for (id, reservation) in &changes.reservations {
            self.reservations.insert(*id, reservation.clone());
        }
        for (id, order) in &changes.purchase_orders {
            self.purchase_orders.insert(*id, order.clone());
        }
        for (id, investigation) in &changes.investigations {
            self.investigations.insert(*id, investigation.clone());
        }
        for entry in &changes.ledger {
            if let Some(key) = &entry.idempotency_key {
                self.keyed.insert(key.clone(), entry.clone());
            }
        }
        for (id, transfer) in &changes.transfers {
            self.transfers.insert(*id, transfer.clone());
        }
    }
}

/// What a decision writes: the new value of each changed row and reservation, and the
/// ledger entries explaining each stock change, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Stock rows to insert or update, with their new values.
    pub stock: BTreeMap<StockKey, StockLevel>,
    /// Reservations to insert or update, with their new values.
    pub reservations: BTreeMap<ReservationId, Reservation>,
    /// Ledger entries to append, in order.
    pub ledger: Vec<LedgerEntry>,
    /// SKUs whose available changed: the transactional outbox marks them dirty in the
    /// same transaction, for channel sync.
    pub dirty: BTreeSet<Sku>,
    /// Purchase orders to insert or update, with their new values.
    pub purchase_orders: BTreeMap<PurchaseOrderId, PurchaseOrder>,
    /// Counts to append.
    pub counts: Vec<CountRecord>,
    /// Investigations to insert or update, with their new values.
    pub investigations: BTreeMap<InvestigationId, Investigation>,
    /// Transfers to insert or update, with their new values.
    #[serde(default)]
    pub transfers: BTreeMap<TransferId, Transfer>,
    /// Low-stock events to append to the outbox, in order.
    #[serde(default)]
    pub events: Vec<crate::events::StockEvent>,
}

impl Changes {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.stock.is_empty()
            && self.reservations.is_empty()
            && self.ledger.is_empty()
            && self.purchase_orders.is_empty()
            && self.counts.is_empty()
            && self.investigations.is_empty()
            && self.transfers.is_empty()
            && self.events.is_empty()
    }

    /// Adds the changes of a later decision: its row values win, its entries follow.
    pub fn merge(&mut self, later: Changes) {
        self.stock.extend(later.stock);
        self.reservations.extend(later.reservations);
        self.ledger.extend(later.ledger);
        self.dirty.extend(later.dirty);
        self.purchase_orders.extend(later.purchase_orders);
        self.counts.extend(later.counts);
        self.investigations.extend(later.investigations);
        self.transfers.extend(later.transfers);
        self.events.extend(later.events);
    }
}

/// A snapshot with the changes decided so far.
#[derive(Debug, Clone)]
pub(crate) struct Draft<'a> {
    base: &'a Snapshot,
    pub(crate) now: DateTime<Utc>,
    pub(crate) changes: Changes,
    /// The catalog the decision reads (bundle definitions); empty unless the
    /// inventory hands its copy in.
    pub(crate) catalog: Arc<Catalog>,
}

static EMPTY_CATALOG: LazyLock<Arc<Catalog>> = LazyLock::new(Arc::default);

impl<'a> Draft<'a> {
    pub(crate) fn new(base: &'a Snapshot, now: DateTime<Utc>) -> Self {
        Self {
            base,
            now,
            changes: Changes::default(),
            catalog: Arc::clone(&EMPTY_CATALOG),
        }
    }

    /// The entry written under `key`, by this decision or before it.
    pub(crate) fn keyed(&self, key: &IdempotencyKey) -> Option<&LedgerEntry> {
        self.changes
            .ledger
            .iter()
            .rev()
            .find(|entry| entry.idempotency_key.as_ref() == Some(key))
            .or_else(|| self.base.keyed.get(key))
    }

    /// Marks for channel sync every SKU with a row whose available this decision
    /// changed, comparing the rows before and after the whole decision: units that pass
    /// through sellable on their way between two unavailable states change nothing.
    /// A SKU with a backorder limit whose room for backorders changed is marked too
    /// (channels may be told it), and so is every bundle using a marked SKU (marked
    /// here or by the decision itself, as a freeze or an unfreeze is).
    pub(crate) fn mark_changed_available(&mut self) {
        for (key, after) in &self.changes.stock {
            let before = self.base.stock.get(key).copied().unwrap_or_default();
            // Channels that sell backorders are told the room left too.
            let room_changed = self.catalog.backorder(&key.sku).is_some()
                && (before.backordered, before.in_transit) != (after.backordered, after.in_transit);
            if before.available() != after.available() || room_changed {
                self.changes.dirty.insert(key.sku.clone());
            }
        }
        // A bundle's number follows its components' (and their freezes).
        let bundles: Vec<Sku> = self
            .changes
            .dirty
            .iter()
            .flat_map(|sku| self.catalog.bundles_containing(sku).cloned())
            .collect();
        self.changes.dirty.extend(bundles);
    }

    /// The totals of `sku` over its rows in view, before this decision and after it.
    pub(crate) fn totals_before_and_after(&self, sku: &Sku) -> (StockLevel, StockLevel) {
        let sum = |rows: &mut dyn Iterator<Item = &StockLevel>| {
            rows.fold(StockLevel::default(), |total, level| StockLevel {
                on_hand: total.on_hand.saturating_add(level.on_hand),
                reserved: total.reserved.saturating_add(level.reserved),
                committed: total.committed.saturating_add(level.committed),
                in_transit: total.in_transit.saturating_add(level.in_transit),
                damaged: total.damaged.saturating_add(level.damaged),
                quality_control: total.quality_control.saturating_add(level.quality_control),
                safety_stock: total.safety_stock.saturating_add(level.safety_stock),
                backordered: total.backordered.saturating_add(level.backordered),
            })
        };
        let mut before = self
            .base
            .stock
            .iter()
            .filter(|(key, _)| key.sku == *sku)
            .map(|(_, level)| level);
        let after = self.locations_of(sku);
        (sum(&mut before), sum(&mut after.values()))
    }

    pub(crate) fn level(&self, key: &StockKey) -> Option<StockLevel> {
        self.changes
            .stock
            .get(key)
            .or_else(|| self.base.stock.get(key))
            .copied()
    }

    /// Every row of `sku`, ordered by location.
    pub(crate) fn locations_of(&self, sku: &Sku) -> BTreeMap<LocationId, StockLevel> {
        let base = self.base.stock.iter();
        base.chain(self.changes.stock.iter())
            .filter(|(key, _)| key.sku == *sku)
            .map(|(key, level)| (key.location.clone(), *level))
            .collect()
    }

    /// The row at `key`, or the error saying which part of it is unknown.
    pub(crate) fn require(&self, key: &StockKey) -> Result<StockLevel, DomainError> {
        if let Some(level) = self.level(key) {
            return Ok(level);
        }
        if self.locations_of(&key.sku).is_empty() {
            return Err(DomainError::UnknownSku {
                sku: key.sku.clone(),
            });
        }
        Err(DomainError::UnknownLocation {
            sku: key.sku.clone(),
            location: key.location.clone(),
        })
    }

    pub(crate) fn reservation(&self, id: &ReservationId) -> Option<&Reservation> {
        self.changes
            .reservations
            .get(id)
            .or_else(|| self.base.reservations.get(id))
    }

    /// Every reservation in view, with pending changes applied, ordered by id.
    pub(crate) fn reservations(&self) -> Vec<&Reservation> {
        let base = self.base.reservations.keys();
        let mut ids: Vec<&ReservationId> = base.chain(self.changes.reservations.keys()).collect();
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| self.reservation(id))
            .collect()
    }

    pub(crate) fn purchase_order(&self, id: &PurchaseOrderId) -> Option<&PurchaseOrder> {
        self.changes
            .purchase_orders
            .get(id)
            .or_else(|| self.base.purchase_orders.get(id))
    }

    /// Every purchase order in view, with pending changes applied, ordered by id.
    pub(crate) fn purchase_orders(&self) -> Vec<&PurchaseOrder> {
        let base = self.base.purchase_orders.keys();
        let mut ids: Vec<&PurchaseOrderId> =
            base.chain(self.changes.purchase_orders.keys()).collect();
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| self.purchase_order(id))
            .collect()
    }

    pub(crate) fn investigation(&self, id: &InvestigationId) -> Option<&Investigation> {
        self.changes
            .investigations
            .get(id)
            .or_else(|| self.base.investigations.get(id))
    }

    /// Every investigation in view, as this decision leaves it, by id.
    pub(crate) fn investigations(&self) -> impl Iterator<Item = &Investigation> {
        let ids: BTreeSet<&InvestigationId> = self
            .base
            .investigations
            .keys()
            .chain(self.changes.investigations.keys())
            .collect();
        ids.into_iter().filter_map(|id| self.investigation(id))
    }

    /// Whether an open investigation in view freezes `sku`.
    pub(crate) fn is_frozen(&self, sku: &Sku) -> bool {
        let base = self.base.investigations.keys();
        base.chain(self.changes.investigations.keys())
            .filter_map(|id| self.investigation(id))
            .any(|investigation| investigation.sku == *sku && investigation.freezes_now())
    }

    pub(crate) fn transfer(&self, id: &TransferId) -> Option<&Transfer> {
        self.changes
            .transfers
            .get(id)
            .or_else(|| self.base.transfers.get(id))
    }

    pub(crate) fn put_transfer(&mut self, transfer: Transfer) {
        self.changes.transfers.insert(transfer.id, transfer);
    }

    pub(crate) fn put_investigation(&mut self, investigation: Investigation) {
        self.changes
            .investigations
            .insert(investigation.id, investigation);
    }

    pub(crate) fn put_purchase_order(&mut self, order: PurchaseOrder) {
        self.changes.purchase_orders.insert(order.id, order);
    }

    pub(crate) fn put_reservation(&mut self, reservation: Reservation) {
        self.changes
            .reservations
            .insert(reservation.id, reservation);
    }

    /// Moves units in the row at `key` (creating it if absent) and records the entry.
    pub(crate) fn move_units(
        &mut self,
        key: &StockKey,
        movement: Movement,
        quantity: i64,
        cause: Cause<'_>,
    ) -> Result<StockLevel, DomainError> {
        if self.catalog.bundle(&key.sku).is_some() {
            return Err(DomainError::BundleHoldsNoStock {
                sku: key.sku.clone(),
            });
        }
        let before = self.level(key).unwrap_or_default();
        let after = before.apply(key, movement.delta(quantity))?;
        self.changes.stock.insert(key.clone(), after);
        let (mut reservation_id, mut order_id, mut reason) = (None, None, None);
        let (mut actor, mut reference) = (None, None);
        match cause {
            Cause::Stock => {}
            Cause::Reservation(reservation) => {
                reservation_id = Some(reservation.id);
                reference = Some(order_reference(&reservation.order_id));
                order_id = Some(reservation.order_id.clone());
            }
            Cause::Return {
                reservation,
                reason: why,
            }
            | Cause::Part {
                reservation,
                reason: why,
            } => {
                reservation_id = Some(reservation.id);
                reference = Some(order_reference(&reservation.order_id));
                order_id = Some(reservation.order_id.clone());
                reason = Some(why.to_owned());
            }
            Cause::Reason(why) => reason = Some(why.to_owned()),
            Cause::Count { by } => {
                reason = Some(format!("cycle count by {by}"));
                actor = Some(by.to_owned());
            }
            Cause::Purchase(id) => {
                reason = Some(format!("purchase order {id}"));
                reference = Some(purchase_order_reference(&id));
            }
            Cause::Transfer { id, reason: why } => {
                reason = Some(why.to_owned());
                reference = Some(transfer_reference(&id));
            }
            Cause::Document {
                reason: why,
                reference: document,
                actor: who,
            } => {
                reason = Some(why.to_owned());
                reference = document.map(str::to_owned);
                actor = who.map(str::to_owned);
            }
        }
        self.changes.ledger.push(LedgerEntry {
            at: self.now,
            key: key.clone(),
            movement,
            quantity,
            before,
            after,
            reservation_id,
            order_id,
            reason,
            unit_price: None,
            idempotency_key: None,
            actor,
            reference,
        });
        Ok(after)
    }
}

/// What a ledger entry names as its cause.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cause<'r> {
    /// A plain stock movement.
    Stock,
    /// A reservation's transition.
    Reservation(&'r Reservation),
    /// A customer return of a reservation's order, with its reason.
    Return {
        /// The shipped reservation.
        reservation: &'r Reservation,
        /// Why (`return <key>`).
        reason: &'r str,
    },
    /// A partial shipment or release of a reservation's order, with its reason.
    Part {
        /// The reservation.
        reservation: &'r Reservation,
        /// Why (`shipment <key>`, `release <key>`).
        reason: &'r str,
    },
    /// An adjustment with its reason.
    Reason(&'r str),
    /// A cycle count, by whom.
    Count {
        /// Who counted.
        by: &'r str,
    },
    /// A purchase order's shipment or receipt.
    Purchase(PurchaseOrderId),
    /// A leg of a transfer, with its reason.
    Transfer {
        /// The transfer.
        id: TransferId,
        /// Why (`transfer to main`).
        reason: &'r str,
    },
    /// A command that names its reason, document and actor (a bulk set).
    Document {
        /// Why.
        reason: &'r str,
        /// The document behind it.
        reference: Option<&'r str>,
        /// Who did it.
        actor: Option<&'r str>,
    },
}
