//! The low-stock webhook: POSTs `{"events":[{"sku","kind","measure","threshold","value",
//! "at"}]}` to a URL, oldest first; any answer other than 2xx, or none within the
//! timeout, is a failure the event worker retries with backoff.

use std::time::Duration;

use async_trait::async_trait;
use inventory_core::events::{Notifier, StockEvent};
use inventory_core::BoxError;
use serde::Serialize;

/// How long one delivery may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A notifier reached by a webhook URL.
pub struct HttpNotifier {
    url: String,
    client: reqwest::Client,
}

#[derive(Serialize)]
struct Delivery<'a> {
    events: &'a [StockEvent],
}

impl HttpNotifier {
    /// A notifier that POSTs to `url`.
    ///
    /// # Errors
    ///
    /// The HTTP client could not be built.
    pub fn new(url: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            url: url.to_owned(),
            client: reqwest::Client::builder()
                .timeout(DELIVERY_TIMEOUT)
                .build()?,
        })
    }
}

#[async_trait]
impl Notifier for HttpNotifier {
    async fn notify(&self, events: &[StockEvent]) -> Result<(), BoxError> {
        let response = self
            .client
            .post(&self.url)
            .json(&Delivery { events })
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            tracing::warn!(url = %self.url, %status, "low-stock webhook refused a delivery");
            Err(format!("POST {} answered {status}", self.url).into())
        }
    }
}
