//! Counts and investigations: what the count commands store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::id::{IdentifierKind, LocationId, Sku};

use super::count::CountAction;

/// Longest name of whoever counted or resolved, in bytes.
pub const COUNTER_NAME_MAX: usize = 128;

const INVESTIGATION_NAMESPACE: Uuid = Uuid::from_u128(0x8d3e_1f60_52b7_4c2a_9e04_7b1c_5a6d_3e81);

/// The id of an investigation: derived from the row and the time of the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct InvestigationId(Uuid);

impl InvestigationId {
    /// The id of the investigation a count of `sku` at `location` at `at`, expecting
    /// `expected` and finding `counted`, opens (the same on every backend).
    pub fn opened(
        sku: &Sku,
        location: &LocationId,
        at: DateTime<Utc>,
        expected: i64,
        counted: i64,
    ) -> Self {
        let name = format!(
            "{sku}\u{0}{location}\u{0}{}\u{0}{expected}\u{0}{counted}",
            at.timestamp_micros()
        );
        Self(Uuid::new_v5(&INVESTIGATION_NAMESPACE, name.as_bytes()))
    }
}

crate::id::uuid_identifier!(InvestigationId, IdentifierKind::Investigation);

/// One count, kept forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRecord {
    /// The SKU counted.
    pub sku: Sku,
    /// Where.
    pub location: LocationId,
    /// On hand before the count.
    pub expected: i64,
    /// Units found.
    pub counted: i64,
    /// `|counted - expected| / expected`, in basis points.
    pub discrepancy_basis_points: u64,
    /// What the count led to.
    pub action: CountAction,
    /// Who counted.
    pub counted_by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The investigation it opened, if any.
    pub investigation: Option<InvestigationId>,
}

/// A discrepancy being looked into. While a freezing investigation is open, its SKU
/// takes no reservations and every channel is told 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Investigation {
    /// Its id.
    pub id: InvestigationId,
    /// The SKU.
    pub sku: Sku,
    /// The location counted.
    pub location: LocationId,
    /// On hand before the count that opened it.
    pub expected: i64,
    /// Units that count found.
    pub counted: i64,
    /// Whether it freezes the SKU.
    pub freezes: bool,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// When it was resolved, if it was.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
}

impl Investigation {
    /// Whether it is still open: not resolved yet. Every backend asks this one
    /// predicate.
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// Whether it is open and freezes its SKU.
    pub fn freezes_now(&self) -> bool {
        self.freezes && self.is_open()
    }
}

/// What recording a count returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountReport {
    /// The count.
    pub record: CountRecord,
    /// The investigation it opened, if any.
    pub investigation: Option<Investigation>,
    /// Units promised beyond what is now on hand at that row, if any: the shortage is
    /// reported, never hidden.
    pub shortage: Option<i64>,
    /// The reservations that cannot all be filled from that row: active holds before
    /// committed ones, newest first, until they cover the shortage.
    pub short_reservations: Vec<crate::id::ReservationId>,
}

/// Checks a counter's or resolver's name.
///
/// # Errors
///
/// [`DomainError::InvalidActor`] for an empty, over-long or control-character name.
pub fn check_name(name: &str) -> Result<(), DomainError> {
    if name.trim().is_empty() || name.len() > COUNTER_NAME_MAX || name.chars().any(char::is_control)
    {
        return Err(DomainError::InvalidActor {
            name: name.chars().take(128).collect(),
        });
    }
    Ok(())
}
