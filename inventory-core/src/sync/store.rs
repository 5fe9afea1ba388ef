//! [`SyncStore`]: the transactional outbox and the per-channel record of what was told,
//! as an optional capability of a store.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::Store;
use crate::error::StoreError;
use crate::id::Sku;
use crate::stock::LocationStock;

/// Longest channel name accepted, in bytes.
pub const CHANNEL_NAME_MAX: usize = 64;

/// A SKU whose available changed since its channels were last brought up to date.
/// `generation` grows with every change, so a mark is cleared only if no newer change
/// arrived while its numbers were being pushed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DirtyMark {
    /// The SKU.
    pub sku: Sku,
    /// How many times it was marked.
    pub generation: i64,
}

/// The last number a channel was told for a SKU, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pushed {
    /// The number.
    pub quantity: i64,
    /// When the channel took it.
    pub at: DateTime<Utc>,
}

/// Outbox and sync state. Every command that changes a SKU's available marks it dirty
/// in its own transaction ([`Changes::dirty`](crate::decide::Changes::dirty)); these
/// calls serve the [`SyncWorker`](super::SyncWorker).
///
/// # The outbox protocol
///
/// Every backend keeps, per dirty SKU, a generation (raised by each new mark), a claim
/// end and a retry time, and follows these steps (each checked by the conformance case
/// `the_outbox_protocol_step_by_step`, the generation rule by
/// `changes_mark_skus_dirty_in_their_transaction`):
///
/// 1. [`claim_dirty`](Self::claim_dirty) hands out at most `limit` marks whose claim
///    has ended and whose retry time has passed (in no promised order), and sets their
///    claim end: no other worker gets them meanwhile.
/// 2. A claim that runs out (its worker died) makes the mark claimable again.
/// 3. [`release_dirty`](Self::release_dirty) with a retry time ends the claim and hides
///    the mark until then (a channel refused the push); a new mark meanwhile makes it
///    claimable at once.
/// 4. `release_dirty` without a retry time deletes the mark if its generation is the
///    one claimed; a mark whose generation grew keeps waiting, for the newer number.
#[async_trait]
pub trait SyncStore: Store {
    /// Claims up to `limit` dirty SKUs that no other worker holds (or whose claim ran
    /// out) and that wait for no retry after `now`; the claim lasts until
    /// `claim_until`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the claim fails.
    async fn claim_dirty(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DirtyMark>, StoreError>;

    /// Ends claims. With `retry_at` `None` each mark is removed if its generation is
    /// unchanged (else only its claim ends, for the newer change); with a time, the
    /// claim ends and the mark waits until then, unless it changed meanwhile.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the update fails.
    async fn release_dirty(
        &self,
        marks: &[DirtyMark],
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Marks SKUs dirty outside a command (reconciliation after a push failed).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the update fails.
    async fn mark_dirty(&self, skus: &[Sku]) -> Result<(), StoreError>;

    /// Whether `sku` is marked dirty.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn is_dirty(&self, sku: &Sku) -> Result<bool, StoreError>;

    /// Up to `limit` SKUs that have stock rows, in order, after `after`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn skus_after(&self, after: Option<&Sku>, limit: usize) -> Result<Vec<Sku>, StoreError>;

    /// The rows of each of `skus`, read at one moment.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn stock_of(&self, skus: &[Sku])
        -> Result<BTreeMap<Sku, Vec<LocationStock>>, StoreError>;

    /// Which of `skus` an open investigation freezes (their channels are told 0).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn frozen(&self, skus: &[Sku]) -> Result<BTreeSet<Sku>, StoreError>;

    /// What `channel` was last told for each of `skus` that it was ever told about.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn last_pushed(
        &self,
        channel: &str,
        skus: &[Sku],
    ) -> Result<BTreeMap<Sku, Pushed>, StoreError>;

    /// Records that `channel` took `updates` at `at`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails.
    async fn record_pushed(
        &self,
        channel: &str,
        updates: &[super::StockUpdate],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
