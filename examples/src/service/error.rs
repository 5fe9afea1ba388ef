//! The API's error body: `{"error": "<code>", "message": "...", ...context}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use inventory_core::{DomainError, Error, StoreError};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// What went wrong, as the `error` field names it. Each code has one HTTP status, but
/// `invalid_request`, which is 400 for a body or path that does not parse, 413 for a
/// body over the limit and 422 for a well-formed request that breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400, 413 or 422: malformed, too large, or breaking a rule (a zero quantity, a
    /// bad SKU, an overflow).
    InvalidRequest,
    /// 401: a webhook's signature, or the API token, is missing or wrong.
    Unauthorized,
    /// 404: no such SKU or location.
    UnknownSku,
    /// 404: no such reservation, purchase order, investigation, channel or route.
    NotFound,
    /// 405 with `Allow`: the route does not take this method.
    MethodNotAllowed,
    /// 409 with `sku`, `available`, `requested` (and `location`): not enough stock.
    InsufficientStock,
    /// 409: an idempotency key or order id reused for a different request.
    IdempotencyConflict,
    /// 409 with `id` and `status`: the operation does not apply in this state.
    InvalidState,
    /// 409 with `id` and `expired_at`: the hold ran out.
    Expired,
    /// 409 with `rows`: a bulk set's expectations no longer hold; nothing was set.
    Stale,
    /// 409 with `order_id`, `sku`, `shipped`, `returned`, `requested`: a return of more
    /// than was shipped.
    OverReturn,
    /// 409 with `id`, `sku`, `backordered`: the reservation still waits for backordered
    /// units, so it cannot be committed yet.
    Backordered,
    /// 409 with `order_id`, `sku`, `left`, `requested`: a partial shipment or release of
    /// more units than the order has left for it.
    ExceedsOrder,
    /// 409: a webhook about an order (or a shipment) this service has not seen yet;
    /// the sender should deliver it again later (Shopify does).
    OutOfOrder,
    /// 423 with `sku`: an open investigation freezes the SKU.
    SkuFrozen,
    /// 503 with `Retry-After`: the database is busy or unreachable past every retry,
    /// or the request took longer than the service allows.
    Unavailable,
    /// 500: stored state the library cannot explain; never a storage failure a
    /// caller can retry.
    Internal,
}

impl ErrorCode {
    /// The code as the `error` field spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::Unauthorized => "unauthorized",
            Self::UnknownSku => "unknown_sku",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InsufficientStock => "insufficient_stock",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::InvalidState => "invalid_state",
            Self::Expired => "expired",
            Self::Stale => "stale",
            Self::OverReturn => "over_return",
            Self::Backordered => "backordered",
            Self::ExceedsOrder => "exceeds_order",
            Self::OutOfOrder => "out_of_order",
            Self::SkuFrozen => "sku_frozen",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// Every code, in the order the README's error table lists them.
    pub const ALL: [Self; 17] = [
        Self::InvalidRequest,
        Self::Unauthorized,
        Self::UnknownSku,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::InsufficientStock,
        Self::IdempotencyConflict,
        Self::InvalidState,
        Self::Expired,
        Self::Stale,
        Self::OverReturn,
        Self::Backordered,
        Self::ExceedsOrder,
        Self::OutOfOrder,
        Self::SkuFrozen,
        Self::Unavailable,
        Self::Internal,
    ];
}

/// The body of every error answer, as documented: the code, a message for people, and
/// context fields that depend on the code (`sku`, `available`, `id`, ...).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorCode,
    /// For people; not to be matched on.
    pub message: String,
}

/// An error answer: a status, a code, a message and context fields.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    context: Map<String, Value>,
}

impl ApiError {
    /// An error with no context.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            context: Map::new(),
        }
    }

    /// A 422 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidRequest,
            message,
        )
    }

    /// A 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// A 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    /// A 409 `invalid_state`.
    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::InvalidState, message)
    }

    /// Adds a context field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.context.insert(key.to_owned(), value.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error".to_owned(), self.code.as_str().into());
        body.insert("message".to_owned(), self.message.into());
        body.extend(self.context);
        let retry = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = (self.status, Json(Value::Object(body))).into_response();
        if retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let message = error.to_string();
        match &error {
            DomainError::UnknownSku { sku } => {
                Self::new(StatusCode::NOT_FOUND, ErrorCode::UnknownSku, message)
                    .with("sku", sku.as_str())
            }
            DomainError::UnknownLocation { sku, location } => {
                Self::new(StatusCode::NOT_FOUND, ErrorCode::UnknownSku, message)
                    .with("sku", sku.as_str())
                    .with("location", location.as_str())
            }
            DomainError::InsufficientStock {
                sku,
                location,
                available,
                requested,
            } => {
                let error = Self::new(StatusCode::CONFLICT, ErrorCode::InsufficientStock, message)
                    .with("sku", sku.as_str())
                    .with("available", *available)
                    .with("requested", *requested);
                match location {
                    Some(location) => error.with("location", location.as_str()),
                    None => error,
                }
            }
            DomainError::InsufficientInState {
                sku,
                location,
                state,
                held,
                requested,
            } => Self::new(StatusCode::CONFLICT, ErrorCode::InsufficientStock, message)
                .with("sku", sku.as_str())
                .with("location", location.as_str())
                .with("state", state.as_str())
                .with("available", *held)
                .with("requested", *requested),
            DomainError::OverReturn {
                order_id,
                sku,
                shipped,
                returned,
                requested,
            } => Self::new(StatusCode::CONFLICT, ErrorCode::OverReturn, message)
                .with("order_id", order_id.as_str())
                .with("sku", sku.as_str())
                .with("shipped", *shipped)
                .with("returned", *returned)
                .with("requested", *requested),
            DomainError::ExceedsOrder {
                order_id,
                sku,
                wanted,
                left,
                requested,
            } => Self::new(StatusCode::CONFLICT, ErrorCode::ExceedsOrder, message)
                .with("order_id", order_id.as_str())
                .with("sku", sku.as_str())
                .with("wanted", *wanted)
                .with("left", *left)
                .with("requested", *requested),
            DomainError::StaleExpectations { rows } => {
                let rows: Vec<Value> = rows
                    .iter()
                    .map(|row| {
                        serde_json::json!({
                            "sku": row.key.sku.as_str(),
                            "location": row.key.location.as_str(),
                            "expected_on_hand": row.expected_on_hand,
                            "current_on_hand": row.current_on_hand,
                        })
                    })
                    .collect();
                Self::new(StatusCode::CONFLICT, ErrorCode::Stale, message).with("rows", rows)
            }
            DomainError::Backordered {
                id,
                sku,
                backordered,
            } => Self::new(StatusCode::CONFLICT, ErrorCode::Backordered, message)
                .with("id", id.to_string())
                .with("sku", sku.as_str())
                .with("backordered", *backordered),
            DomainError::InvalidBundle { sku, problem } => {
                let problem = serde_json::to_value(problem).unwrap_or_default();
                Self::invalid(message)
                    .with("sku", sku.as_str())
                    .with("problem", problem)
            }
            DomainError::BundleHoldsNoStock { sku } => {
                Self::invalid(message).with("sku", sku.as_str())
            }
            DomainError::ReservationNotFound { id } => {
                Self::not_found(message).with("id", id.to_string())
            }
            DomainError::PurchaseOrderNotFound { id } => {
                Self::not_found(message).with("id", id.to_string())
            }
            DomainError::TransferNotFound { id } => {
                Self::not_found(message).with("id", id.to_string())
            }
            DomainError::InvalidTransferState { id, current, .. } => Self::invalid_state(message)
                .with("id", id.to_string())
                .with("status", current.as_str()),
            DomainError::InvestigationNotFound { id } => {
                Self::not_found(message).with("id", id.to_string())
            }
            DomainError::InvalidState { id, current, .. } => Self::invalid_state(message)
                .with("id", id.to_string())
                .with("status", current.as_str()),
            DomainError::InvalidPurchaseOrderState { id, current, .. } => {
                Self::invalid_state(message)
                    .with("id", id.to_string())
                    .with("status", current.as_str())
            }
            DomainError::InvestigationResolved { id } => {
                Self::invalid_state(message).with("id", id.to_string())
            }
            DomainError::NoOpenInvestigation { sku } => {
                Self::invalid_state(message).with("sku", sku.as_str())
            }
            DomainError::InsufficientInTransit { sku, .. } => {
                Self::invalid_state(message).with("sku", sku.as_str())
            }
            DomainError::Expired { id, expired_at } => {
                Self::new(StatusCode::CONFLICT, ErrorCode::Expired, message)
                    .with("id", id.to_string())
                    .with("expired_at", expired_at.to_rfc3339())
            }
            DomainError::IdempotencyKeyReused { key } => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::IdempotencyConflict,
                message,
            )
            .with("idempotency_key", key.as_str()),
            DomainError::IdempotencyConflict { order_id } => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::IdempotencyConflict,
                message,
            )
            .with("order_id", order_id.as_str()),
            DomainError::UnknownChannel { name } => {
                Self::not_found(message).with("channel", name.as_str())
            }
            DomainError::SkuFrozen { sku } => {
                Self::new(StatusCode::LOCKED, ErrorCode::SkuFrozen, message)
                    .with("sku", sku.as_str())
            }
            DomainError::InconsistentState { .. } => {
                tracing::error!(%error, "stored state is inconsistent");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    message,
                )
            }
            _ => Self::invalid(message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        // The driver's words go to the log, not to the caller.
        let message = error.summary();
        match &error {
            StoreError::Contention { .. }
            | StoreError::Unavailable(..)
            | StoreError::Conflict(..)
            | StoreError::Interrupted(..) => {
                tracing::warn!(error = ?error, "storage busy or unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    message,
                )
            }
            _ => {
                tracing::error!(error = ?error, "storage failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    message,
                )
            }
        }
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::Domain(error) => error.into(),
            Error::Store(error) => error.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, ErrorCode::InvalidRequest, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            rejection.body_text(),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            rejection.body_text(),
        )
    }
}

/// Answers a route that does not exist.
pub async fn no_route() -> ApiError {
    ApiError::not_found("no such route")
}

/// Answers a route that exists, called with a method it does not take: 405
/// `method_not_allowed` (axum adds the `Allow` header with the methods it does take).
pub async fn wrong_method(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on this route"),
    )
}

/// The body of a 2xx answer or an [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection reset")]
    struct Reset;

    /// A storage failure a caller can retry is a 503 with `Retry-After`, never a 500.
    #[test]
    fn transient_storage_failures_answer_503_with_retry_after() {
        for error in [
            StoreError::Interrupted(Box::new(Reset)),
            StoreError::Conflict(Box::new(Reset)),
            StoreError::Unavailable(Box::new(Reset)),
            StoreError::Interrupted(Box::new(Reset)).after_attempts(10),
        ] {
            let response = ApiError::from(error).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        }
    }
}
