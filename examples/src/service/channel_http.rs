//! The HTTP channel adapter: POSTs `{"channel","updates":[{"sku","quantity"}]}` to a
//! URL; any answer other than 2xx, or none within the timeout, is a failure the sync
//! worker retries with backoff.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use inventory_core::sync::{Channel, ChannelError, StockUpdate};
use serde::Serialize;

use super::metrics::{ChannelLabels, Metrics};

/// How long one push may take.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// A channel reached by a webhook URL.
pub struct HttpChannel {
    name: String,
    url: String,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
}

#[derive(Serialize)]
struct Push<'a> {
    channel: &'a str,
    updates: &'a [StockUpdate],
}

impl HttpChannel {
    /// A channel called `name` that POSTs to `url`.
    ///
    /// # Errors
    ///
    /// The HTTP client could not be built.
    pub fn new(name: &str, url: &str, metrics: Arc<Metrics>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            name: name.to_owned(),
            url: url.to_owned(),
            client: reqwest::Client::builder().timeout(PUSH_TIMEOUT).build()?,
            metrics,
        })
    }

    async fn send(&self, updates: &[StockUpdate]) -> Result<(), ChannelError> {
        let body = Push {
            channel: &self.name,
            updates,
        };
        let response = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|error| ChannelError {
                message: format!("POST {} failed: {error}", self.url),
                source: Some(Box::new(error)),
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(ChannelError::new(format!(
                "POST {} answered {status}",
                self.url
            )))
        }
    }
}

#[async_trait]
impl Channel for HttpChannel {
    async fn push(&self, updates: &[StockUpdate]) -> Result<(), ChannelError> {
        let labels = ChannelLabels {
            channel: self.name.clone(),
        };
        let result = self.send(updates).await;
        match &result {
            Ok(()) => {
                self.metrics.sync_pushes.get_or_create(&labels).inc();
                tracing::debug!(channel = %self.name, updates = updates.len(), "pushed");
            }
            Err(error) => {
                self.metrics.sync_failures.get_or_create(&labels).inc();
                tracing::warn!(channel = %self.name, %error, "push failed; will retry");
            }
        }
        result
    }
}
