//! Decisions on purchase orders: raise (create or merge drafts), send, ship, receive,
//! close, cancel.

use crate::error::DomainError;
use crate::id::{LocationId, Sku};
use crate::ledger::Movement;
use crate::quantity::Quantity;
use crate::reorder::plan::PlannedOrder;
use crate::reorder::purchase::{
    PurchaseOrder, PurchaseOrderId, PurchaseOrderLine, PurchaseOrderStatus as Status,
    PurchaseTransition as Wanted,
};
use crate::stock::StockKey;

use super::snapshot::{Cause, Draft};

fn find(
    draft: &Draft<'_>,
    id: &PurchaseOrderId,
    wanted: Wanted,
    allowed: &[Status],
) -> Result<PurchaseOrder, DomainError> {
    let order = draft
        .purchase_order(id)
        .cloned()
        .ok_or(DomainError::PurchaseOrderNotFound { id: *id })?;
    if !allowed.contains(&order.status) {
        return Err(DomainError::InvalidPurchaseOrderState {
            id: *id,
            current: order.status,
            wanted,
        });
    }
    Ok(order)
}

fn store(draft: &mut Draft<'_>, mut order: PurchaseOrder, status: Status) -> PurchaseOrder {
    order.status = status;
    order.updated_at = draft.now;
    draft.put_purchase_order(order.clone());
    order
}

/// Adds each planned order's lines to its supplier's open draft, or raises a new draft.
/// A SKU already on the open draft is not added again (a concurrent or earlier run
/// ordered it). Returns the orders created or changed.
pub(crate) fn raise(
    draft: &mut Draft<'_>,
    planned: &[PlannedOrder],
    location: &LocationId,
) -> Vec<PurchaseOrder> {
    let mut raised = Vec::new();
    for plan in planned {
        let open = draft
            .purchase_orders()
            .into_iter()
            .find(|order| order.status == Status::Draft && order.supplier == plan.supplier)
            .cloned();
        let mut order = open.unwrap_or_else(|| PurchaseOrder {
            id: PurchaseOrderId::raised(&plan.supplier, draft.now),
            supplier: plan.supplier.clone(),
            location: location.clone(),
            status: Status::Draft,
            lines: Vec::new(),
            created_at: draft.now,
            updated_at: draft.now,
        });
        let before = order.lines.len();
        for line in &plan.lines {
            if line.quantity > 0 && !order.lines.iter().any(|existing| existing.sku == line.sku) {
                order.lines.push(PurchaseOrderLine {
                    sku: line.sku.clone(),
                    ordered: line.quantity,
                    received: 0,
                    unit_cost: line.unit_cost,
                });
            }
        }
        if order.lines.len() > before {
            raised.push(store(draft, order, Status::Draft));
        }
    }
    raised
}

/// Draft to sent.
pub(crate) fn send(
    draft: &mut Draft<'_>,
    id: &PurchaseOrderId,
) -> Result<PurchaseOrder, DomainError> {
    let order = find(draft, id, Wanted::Send, &[Status::Draft])?;
    Ok(store(draft, order, Status::Sent))
}

/// Sent to shipped: every line's units are in transit at the receiving location.
pub(crate) fn ship(
    draft: &mut Draft<'_>,
    id: &PurchaseOrderId,
) -> Result<PurchaseOrder, DomainError> {
    let order = find(draft, id, Wanted::Ship, &[Status::Sent])?;
    for line in &order.lines {
        let key = StockKey::new(line.sku.clone(), order.location.clone());
        draft.move_units(
            &key,
            Movement::TransitAdded,
            line.ordered,
            Cause::Purchase(order.id),
        )?;
    }
    Ok(store(draft, order, Status::Shipped))
}

/// A receipt of some or all outstanding units: in transit to on hand. The order is
/// received once every unit arrived.
pub(crate) fn receive(
    draft: &mut Draft<'_>,
    id: &PurchaseOrderId,
    receipt: &[(Sku, Quantity)],
) -> Result<PurchaseOrder, DomainError> {
    let mut order = find(draft, id, Wanted::Receive, &[Status::Shipped])?;
    if receipt.is_empty() {
        return Err(DomainError::EmptyReceipt { id: *id });
    }
    for (sku, quantity) in receipt {
        let line = order.lines.iter_mut().find(|line| line.sku == *sku);
        let outstanding = line.as_ref().map_or(0, |line| line.outstanding());
        let line = line
            .filter(|_| quantity.get() <= outstanding)
            .ok_or_else(|| DomainError::ReceiptExceedsOrder {
                id: *id,
                sku: sku.clone(),
                outstanding,
                requested: quantity.get(),
            })?;
        line.received += quantity.get();
        let key = StockKey::new(sku.clone(), order.location.clone());
        draft.move_units(
            &key,
            Movement::TransitReceived,
            quantity.get(),
            Cause::Purchase(order.id),
        )?;
    }
    let complete = order.lines.iter().all(|line| line.received == line.ordered);
    Ok(store(
        draft,
        order,
        if complete {
            Status::Received
        } else {
            Status::Shipped
        },
    ))
}

/// Receives every unit still expected on a shipped order.
pub(crate) fn receive_outstanding(
    draft: &mut Draft<'_>,
    id: &PurchaseOrderId,
) -> Result<PurchaseOrder, DomainError> {
    let lines = find(draft, id, Wanted::Receive, &[Status::Shipped])?.outstanding();
    receive(draft, id, &lines)
}

/// Received (or shipped and partly received) to closed; units that never arrived are
/// written off from in transit.
pub(crate) fn close(
    draft: &mut Draft<'_>,
    id: &PurchaseOrderId,
) -> Result<PurchaseOrder, DomainError> {
    let order = find(
        draft,
        id,
        Wanted::Close,
        &[Status::Received, Status::Shipped],
    )?;
    for line in order.lines.iter().filter(|line| line.outstanding() > 0) {
        let key = StockKey::new(line.sku.clone(), order.location.clone());
        let missing = line.outstanding();
        draft.move_units(
            &key,
            Movement::TransitCancelled,
            missing,
            Cause::Purchase(order.id),
        )?;
    }
    Ok(store(draft, order, Status::Closed))
}

/// Draft or sent to cancelled: nothing had moved.
pub(crate) fn cancel(
    draft: &mut Draft<'_>,
    id: &PurchaseOrderId,
) -> Result<PurchaseOrder, DomainError> {
    let order = find(draft, id, Wanted::Cancel, &[Status::Draft, Status::Sent])?;
    Ok(store(draft, order, Status::Cancelled))
}
