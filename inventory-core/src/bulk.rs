//! Bulk set: absolute on-hand numbers for many rows at once (a stocktake import, an ERP
//! sync), each row optionally guarded by the number it expects to replace.

use serde::{Deserialize, Serialize};

use crate::stock::{StockKey, StockLevel};

/// Most rows one [`BulkSet`] may carry.
pub const BULK_SET_ROWS_MAX: usize = 1_000;

/// One row of a [`BulkSet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRow {
    /// The row set (created when the SKU is new at the location).
    pub key: StockKey,
    /// The on hand it gets: every unit on the shelf, whatever its state.
    pub on_hand: i64,
    /// The on hand the caller expects to replace, read earlier: when the row holds
    /// another number by now, the whole set is refused as stale. `None` sets blindly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_on_hand: Option<i64>,
}

/// Absolute on-hand numbers for many rows, applied all or nothing. Reserved, committed,
/// in-transit and unavailable units are never moved; a number below what is promised
/// is taken (it is a physical fact) and the shortage reported, as a count does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkSet {
    /// Why, for every ledger entry (`stocktake 2026-12`, `erp sync`).
    pub reason: String,
    /// The document behind it, on every ledger entry (`stocktake:2026-12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Who set it, on every ledger entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The rows, 1 to [`BULK_SET_ROWS_MAX`], each row at most once.
    pub rows: Vec<SetRow>,
}

/// A row whose expectation was stale: what it expected and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StaleRow {
    /// The row.
    pub key: StockKey,
    /// The on hand the caller expected.
    pub expected_on_hand: i64,
    /// The on hand it holds (0 for a row that does not exist).
    pub current_on_hand: i64,
}

/// One row after a bulk set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetResult {
    /// The row.
    pub key: StockKey,
    /// Its numbers after the set.
    pub level: StockLevel,
    /// Units promised beyond the sellable units now on hand, if any.
    pub shortage: Option<i64>,
}
