//! Prometheus metrics: reservations accepted and refused, channel pushes and failures,
//! request latency by route.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of a reservation attempt: `accepted`, `replayed` or `refused`, and where it
/// came from (`api` or `shopify`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReservationLabels {
    /// `accepted`, `replayed` or `refused`.
    pub result: &'static str,
    /// `api` or `shopify`.
    pub source: &'static str,
}

/// The Shopify topics the service handles, each a metrics label of its own.
const HANDLED_TOPICS: [&str; 8] = [
    "orders/create",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/edited",
    "orders/updated",
    "fulfillments/create",
    "fulfillments/update",
    "refunds/create",
];

/// Labels of a webhook delivery.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// A handled topic (`orders/create`, `orders/cancelled`, `orders/fulfilled`,
    /// `orders/edited`, `orders/updated`, `fulfillments/create`, `fulfillments/update`,
    /// `refunds/create`) or `other`.
    pub topic: &'static str,
    /// `applied`, `duplicate`, `ignored`, `refused`, `unauthorized`, `invalid` or
    /// `failed`.
    pub status: &'static str,
}

/// Labels of a channel push.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// The channel's name.
    pub channel: String,
}

/// Labels of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The HTTP method.
    pub method: String,
    /// The route pattern (`/v1/reservations/{id}`), not the concrete path.
    pub route: String,
    /// The response status code.
    pub status: u16,
}

type Latency = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The service's metrics, shared by every handler.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Reservation attempts by result.
    pub reservations: Family<ReservationLabels, Counter>,
    /// Webhook deliveries by topic and result.
    pub webhooks: Family<WebhookLabels, Counter>,
    /// Successful channel pushes (one per batch).
    pub sync_pushes: Family<ChannelLabels, Counter>,
    /// Failed channel pushes (each is retried with backoff).
    pub sync_failures: Family<ChannelLabels, Counter>,
    /// Calls a channel's API throttled (each waited for and sent again).
    pub channel_throttled: Family<ChannelLabels, Counter>,
    /// Request latency in seconds.
    pub request_seconds: Latency,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("inventory");
        let reservations = Family::default();
        registry.register(
            "reservations",
            "Reservation attempts by result",
            reservations.clone(),
        );
        let webhooks = Family::default();
        registry.register(
            "webhooks",
            "Webhook deliveries by topic and result",
            webhooks.clone(),
        );
        let sync_pushes = Family::default();
        registry.register(
            "sync_pushes",
            "Stock pushes a channel took",
            sync_pushes.clone(),
        );
        let sync_failures = Family::default();
        registry.register(
            "sync_failures",
            "Stock pushes a channel refused or never answered",
            sync_failures.clone(),
        );
        let channel_throttled = Family::default();
        registry.register(
            "channel_throttled",
            "Calls a channel's API throttled, waited for and sent again",
            channel_throttled.clone(),
        );
        let request_seconds: Latency = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response",
            request_seconds.clone(),
        );
        Self {
            registry,
            reservations,
            webhooks,
            sync_pushes,
            sync_failures,
            channel_throttled,
            request_seconds,
        }
    }
}

impl Metrics {
    /// Counts one reservation attempt.
    pub fn reservation(&self, source: &'static str, result: &'static str) {
        self.reservations
            .get_or_create(&ReservationLabels { result, source })
            .inc();
    }

    /// Counts one webhook delivery.
    pub fn webhook(&self, topic: &str, status: &'static str) {
        let topic = HANDLED_TOPICS
            .iter()
            .find(|handled| **handled == topic)
            .copied()
            .unwrap_or("other");
        self.webhooks
            .get_or_create(&WebhookLabels { topic, status })
            .inc();
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = encode(&mut text, &self.registry) {
            tracing::error!(%error, "metrics encoding failed");
        }
        text
    }
}

/// Middleware timing every request under its route pattern.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    metrics
        .request_seconds
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses((
        status = 200,
        description = "Prometheus (OpenMetrics) text: reservations by result and source, webhooks by topic and result, channel pushes and failures, request latency by route.",
        body = String,
        content_type = "application/openmetrics-text",
    )),
)]
pub async fn handler(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
}
