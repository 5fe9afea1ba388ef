//! [`RecordingChannel`]: a channel that remembers every push and can be made to fail.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::id::Sku;
use crate::sync::{Channel, ChannelError, StockUpdate};

#[derive(Debug, Default)]
struct Recording {
    pushes: Vec<Vec<StockUpdate>>,
    failing: bool,
    refused: usize,
}

/// An in-process channel for tests and examples. Clones share the recording.
#[derive(Debug, Clone, Default)]
pub struct RecordingChannel {
    recording: Arc<Mutex<Recording>>,
    batch_max: Option<usize>,
}

impl RecordingChannel {
    /// A channel that takes everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// A channel that takes at most `batch_max` updates per call.
    pub fn with_batch_max(batch_max: usize) -> Self {
        Self {
            batch_max: Some(batch_max),
            ..Self::default()
        }
    }

    fn recording(&self) -> MutexGuard<'_, Recording> {
        self.recording
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Makes every push fail (an outage) or succeed again.
    pub fn set_failing(&self, failing: bool) {
        self.recording().failing = failing;
    }

    /// Every accepted push, in order.
    pub fn pushes(&self) -> Vec<Vec<StockUpdate>> {
        self.recording().pushes.clone()
    }

    /// Every accepted update, in order.
    pub fn updates(&self) -> Vec<StockUpdate> {
        self.recording().pushes.iter().flatten().cloned().collect()
    }

    /// The last number the channel took for `sku`.
    pub fn last(&self, sku: &Sku) -> Option<i64> {
        let recording = self.recording();
        let mut updates = recording.pushes.iter().flatten();
        updates
            .rfind(|update| update.sku == *sku)
            .map(|update| update.quantity)
    }

    /// How many pushes were refused.
    pub fn refused(&self) -> usize {
        self.recording().refused
    }
}

#[async_trait]
impl Channel for RecordingChannel {
    async fn push(&self, updates: &[StockUpdate]) -> Result<(), ChannelError> {
        let mut recording = self.recording();
        if recording.failing {
            recording.refused += 1;
            return Err(ChannelError::new("channel outage (simulated)"));
        }
        recording.pushes.push(updates.to_vec());
        Ok(())
    }

    fn batch_max(&self) -> usize {
        self.batch_max.unwrap_or(crate::sync::CHANNEL_BATCH_DEFAULT)
    }
}

/// A sync worker builder for `inventory` with one channel, `shop`, that is told every
/// available unit ([`Buffer::FULL`](crate::sync::Buffer::FULL)) and records it in
/// `channel`: the setup most sync tests start from.
///
/// # Panics
///
/// Never: the name and policy are valid.
pub fn shop_worker<S: crate::sync::SyncStore>(
    inventory: crate::Inventory<S>,
    channel: &RecordingChannel,
) -> crate::sync::SyncWorkerBuilder<S> {
    use crate::sync::{Buffer, ChannelPolicy, SyncWorker};
    SyncWorker::builder(inventory)
        .channel(
            "shop",
            ChannelPolicy::buffered(Buffer::FULL),
            channel.clone(),
        )
        .expect("a valid channel")
}
