//! [`InboxStore`]: messages already handled, by source and id, kept durably so that a
//! message delivered again (a webhook retried by its sender for up to 48 hours) is
//! recognised after a restart and on every app server; and the lines of channels'
//! orders ([`LineRef`]), kept as long as the orders, so that a later message naming a
//! line by the channel's id alone (an order edit) can be read as SKUs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::id::{LineId, OrderId, Sku};

/// Which SKU one line of a channel's order stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineRef {
    /// The channel's id of the line.
    pub line: LineId,
    /// The SKU it sells.
    pub sku: Sku,
}

impl LineRef {
    /// Line `line` sells `sku`.
    pub fn new(line: LineId, sku: Sku) -> Self {
        Self { line, sku }
    }

    /// A line read back from storage, for backends.
    ///
    /// # Errors
    ///
    /// [`StoreError::corrupt`] when either text is not a valid id.
    pub fn read_back(line: String, sku: String) -> Result<Self, StoreError> {
        Ok(Self {
            line: LineId::new(line).map_err(|error| StoreError::corrupt("order line id", error))?,
            sku: Sku::new(sku).map_err(|error| StoreError::corrupt("order line sku", error))?,
        })
    }
}

/// Handled messages, by `(source, id)`, with when each was handled.
#[async_trait]
pub trait InboxStore: Send + Sync + 'static {
    /// Whether message `id` from `source` was recorded as handled.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails.
    async fn handled(&self, source: &str, id: &str) -> Result<bool, StoreError>;

    /// Records message `id` from `source` as handled at `at`; `false` when it already
    /// was (the first record is kept).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails.
    async fn record_handled(
        &self,
        source: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Forgets messages handled before `before`; returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails.
    async fn forget_handled_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Records which SKU each of `order`'s lines stands for. A line recorded before
    /// keeps its first SKU (a channel never changes what a line sells); returns how
    /// many lines were new. Line records are not forgotten by time.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the write fails; then none of `lines` is recorded.
    async fn record_lines(&self, order: &OrderId, lines: &[LineRef]) -> Result<u64, StoreError>;

    /// Every line recorded for `order`, in line id order.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the read fails or a stored line is not a valid id.
    async fn lines_of(&self, order: &OrderId) -> Result<Vec<LineRef>, StoreError>;
}
