//! [`InboxStore`]: messages already handled, by source and id, kept durably so that a
//! message delivered again (a webhook retried by its sender for up to 48 hours) is
//! recognised after a restart and on every app server.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;

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
}
