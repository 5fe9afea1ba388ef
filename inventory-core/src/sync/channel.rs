//! [`Channel`]: where absolute stock numbers are sent (a Shopify store, Amazon, a
//! wholesale portal). Adapters are the user's; the testkit has a recording one.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::BoxError;
use crate::id::Sku;

/// Items per push when a channel names no limit (Shopify's inventory set mutation takes
/// up to 250).
pub const CHANNEL_BATCH_DEFAULT: usize = 250;

/// One absolute number for one SKU: "you may sell this many".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StockUpdate {
    /// The SKU.
    pub sku: Sku,
    /// Units the channel may sell.
    pub quantity: i64,
}

/// A channel refused or could not take a push; it is retried with backoff.
#[derive(Debug, thiserror::Error)]
#[error("channel push failed: {message}")]
pub struct ChannelError {
    /// What went wrong, for the sync status.
    pub message: String,
    /// The adapter's own error, if any.
    #[source]
    pub source: Option<BoxError>,
}

impl ChannelError {
    /// An error with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

/// A sales channel that takes absolute stock numbers, many at a time.
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    /// Sets each update's SKU to its quantity, all or nothing as far as the caller
    /// knows: on error, every update of the call is sent again later.
    ///
    /// # Errors
    ///
    /// [`ChannelError`] when the channel did not take the numbers.
    async fn push(&self, updates: &[StockUpdate]) -> Result<(), ChannelError>;

    /// Most updates per call.
    fn batch_max(&self) -> usize {
        CHANNEL_BATCH_DEFAULT
    }
}
