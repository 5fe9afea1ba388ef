//! Transfers of a SKU's units between two locations, in two legs: shipped from the
//! source's sellable units into transit at the destination, then received there.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::id::{IdempotencyKey, IdentifierKind, LocationId, Sku};
use crate::quantity::Quantity;
use crate::reservation::UnknownName;

/// Namespace for deriving a transfer's id from its shipping leg's idempotency key.
const TRANSFER_NAMESPACE: Uuid = Uuid::from_u128(0x9a7e_41c2_58d0_4e3b_a1f6_0c85_d2e9_3b71);

/// The id of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct TransferId(Uuid);

impl TransferId {
    /// The id of the transfer shipped under `key`: the same key names the same
    /// transfer on every backend, so a retried shipment finds it.
    pub fn for_key(key: &IdempotencyKey) -> Self {
        Self(Uuid::new_v5(&TRANSFER_NAMESPACE, key.as_str().as_bytes()))
    }

    /// A new random id, for a transfer shipped without a key.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

crate::id::uuid_identifier!(TransferId, IdentifierKind::Transfer);

/// Where a transfer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Shipped: some units are still on their way to the destination.
    InTransit,
    /// Every unit arrived. Final.
    Received,
    /// Closed early: what never arrived was written off. Final.
    Closed,
}

impl TransferStatus {
    /// The lowercase name used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InTransit => "in_transit",
            Self::Received => "received",
            Self::Closed => "closed",
        }
    }
}

impl std::fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TransferStatus {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [Self::InTransit, Self::Received, Self::Closed]
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| UnknownName(name.to_owned()))
    }
}

/// A leg of a transfer a caller asks for, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferLeg {
    /// Receive units at the destination.
    Receive,
    /// Close early, writing off what never arrived.
    Close,
}

impl std::fmt::Display for TransferLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Receive => "receive",
            Self::Close => "close",
        })
    }
}

/// A transfer to ship: `quantity` units of `sku` from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    /// The SKU.
    pub sku: Sku,
    /// The source: the units leave its sellable stock.
    pub from: LocationId,
    /// The destination: the units arrive in its transit, then on its shelf.
    pub to: LocationId,
    /// Units shipped.
    pub quantity: Quantity,
    /// The caller's key: the transfer's id is derived from it, so the same request
    /// again answers the same transfer and ships nothing more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<IdempotencyKey>,
}

/// A transfer and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Its id.
    pub id: TransferId,
    /// The SKU.
    pub sku: Sku,
    /// The source.
    pub from: LocationId,
    /// The destination.
    pub to: LocationId,
    /// Units shipped.
    pub quantity: i64,
    /// Units received so far.
    pub received: i64,
    /// Units written off when it was closed early.
    pub written_off: i64,
    /// Where it is.
    pub status: TransferStatus,
    /// The key it was shipped under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<IdempotencyKey>,
    /// When it was shipped.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Transfer {
    /// Units still on their way.
    pub fn outstanding(&self) -> i64 {
        self.quantity - self.received - self.written_off
    }
}

/// The reference of a transfer's ledger entries.
pub fn transfer_reference(id: &TransferId) -> String {
    format!("transfer:{id}")
}
