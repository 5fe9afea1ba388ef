//! Purchase orders: `draft -> sent -> shipped -> received -> closed`, or `cancelled`
//! before shipping. Shipping puts every line in transit at the receiving location;
//! receipts (partial or whole) move units from in transit to on hand.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::id::{IdentifierKind, LocationId, Sku, SupplierId};
use crate::quantity::Quantity;

use super::rules::ReorderRule;

/// Namespace of purchase order ids (UUID version 5 of supplier and creation time).
const PURCHASE_ORDER_NAMESPACE: Uuid = Uuid::from_u128(0x2f4c_91d0_7a3b_4e55_8c1e_0b6d_93a7_e215);

/// The id of a purchase order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct PurchaseOrderId(Uuid);

impl PurchaseOrderId {
    /// The id of the order raised for `supplier` at `at` (the same inputs give the same id
    /// on every backend).
    pub fn raised(supplier: &SupplierId, at: DateTime<Utc>) -> Self {
        let name = format!("{supplier}/{}", at.timestamp_micros());
        Self(Uuid::new_v5(&PURCHASE_ORDER_NAMESPACE, name.as_bytes()))
    }
}

crate::id::uuid_identifier!(PurchaseOrderId, IdentifierKind::PurchaseOrder);

/// Where a purchase order is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PurchaseOrderStatus {
    /// Being assembled; reorder runs add lines to it.
    Draft,
    /// Sent to the supplier; counts as on order.
    Sent,
    /// Left the supplier: its units are in transit; receipts may arrive.
    Shipped,
    /// Every unit arrived.
    Received,
    /// Done; units never received were written off from in transit.
    Closed,
    /// Withdrawn before shipping.
    Cancelled,
}

impl PurchaseOrderStatus {
    /// The lowercase name used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Sent => "sent",
            Self::Shipped => "shipped",
            Self::Received => "received",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether its units still count as ordered but not shipped.
    pub fn is_on_order(self) -> bool {
        matches!(self, Self::Draft | Self::Sent)
    }
}

impl std::str::FromStr for PurchaseOrderStatus {
    type Err = crate::reservation::UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [
            Self::Draft,
            Self::Sent,
            Self::Shipped,
            Self::Received,
            Self::Closed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
        .ok_or_else(|| crate::reservation::UnknownName(name.to_owned()))
    }
}

impl fmt::Display for PurchaseOrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of a purchase order's state that a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseTransition {
    /// Send a draft.
    Send,
    /// Record the supplier's shipment.
    Ship,
    /// Record a receipt.
    Receive,
    /// Close a received (or partly received) order.
    Close,
    /// Withdraw an unshipped order.
    Cancel,
}

impl fmt::Display for PurchaseTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Send => "send",
            Self::Ship => "ship",
            Self::Receive => "receive",
            Self::Close => "close",
            Self::Cancel => "cancel",
        })
    }
}

/// One SKU of a purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurchaseOrderLine {
    /// The SKU.
    pub sku: Sku,
    /// Units ordered.
    pub ordered: i64,
    /// Units received so far.
    pub received: i64,
    /// Price per unit.
    pub unit_cost: Decimal,
}

impl PurchaseOrderLine {
    /// Units still expected: ordered and not yet received.
    pub fn outstanding(&self) -> i64 {
        self.ordered - self.received
    }
}

/// An order to a supplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurchaseOrder {
    /// Its id.
    pub id: PurchaseOrderId,
    /// The supplier.
    pub supplier: SupplierId,
    /// Where the units arrive.
    pub location: LocationId,
    /// Where it is in its lifecycle.
    pub status: PurchaseOrderStatus,
    /// Its lines, one per SKU.
    pub lines: Vec<PurchaseOrderLine>,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl PurchaseOrder {
    /// The SKUs it names, sorted.
    pub fn skus(&self) -> Vec<Sku> {
        let mut skus: Vec<Sku> = self.lines.iter().map(|line| line.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        skus
    }

    /// Every SKU with units still expected, and how many: the receipt that completes
    /// the order.
    pub fn outstanding(&self) -> Vec<(Sku, Quantity)> {
        self.lines
            .iter()
            .filter_map(|line| Some((line.sku.clone(), Quantity::new(line.outstanding()).ok()?)))
            .collect()
    }

    /// Its value: ordered units x unit cost, exactly.
    pub fn total_cost(&self) -> Decimal {
        self.lines
            .iter()
            .map(|line| Decimal::from(line.ordered) * line.unit_cost)
            .sum()
    }
}

/// What a SKU is bought as: from whom, at what price, under which reorder rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplierLink {
    /// The SKU.
    pub sku: Sku,
    /// Its supplier.
    pub supplier: SupplierId,
    /// Price per unit.
    pub unit_cost: Decimal,
    /// How its reorder point and quantity are set.
    pub rule: ReorderRule,
}

impl SupplierLink {
    /// The link, checked: a price that is not negative and a rule in range.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidSetting`] naming what is out of range.
    pub fn checked(self) -> Result<Self, DomainError> {
        if self.unit_cost.is_sign_negative() {
            return Err(DomainError::InvalidSetting {
                setting: "unit cost",
                value: self.unit_cost.to_string(),
                problem: "must not be negative",
            });
        }
        Ok(Self {
            rule: self.rule.checked()?,
            ..self
        })
    }
}
