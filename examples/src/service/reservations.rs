//! Reservations: create (idempotent by order id), read, commit, ship, release, extend.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use inventory_core::{
    DomainError, LocationId, OrderId, OrderLine, Quantity, Reservation, ReservationId,
    ReserveRequest, ReserveResult, Sku,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;

use super::config::ttl;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::views::{location, reservation_id, sku, ReservationView};
use super::{AppState, Body, Path, ServiceStore};

/// `POST /v1/reservations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveBody {
    /// The caller's order id: a reservation per order id, so the same request again
    /// answers the same reservation.
    #[schema(value_type = OrderId)]
    order_id: String,
    /// What to hold, one or more lines.
    lines: Vec<LineBody>,
    /// How long the hold lasts (default 30 minutes).
    #[schema(minimum = 1)]
    ttl_seconds: Option<u64>,
    /// Whether a line without a location may be taken from several locations.
    #[serde(default)]
    allow_split: bool,
}

/// One line of a reservation request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// The SKU.
    #[schema(value_type = Sku)]
    sku: String,
    /// Units to hold.
    #[schema(minimum = 1)]
    quantity: i64,
    /// Where to hold them; without one, wherever they are available.
    #[schema(value_type = Option<LocationId>)]
    location: Option<String>,
    /// Price per unit as decimal text, recorded on the shipment for revenue.
    #[schema(value_type = Option<String>, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    unit_price: Option<Decimal>,
}

/// `POST /v1/reservations/{id}/extend`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// The hold ends this many seconds from now (it is never shortened).
    #[schema(minimum = 1)]
    ttl_seconds: u64,
}

impl ReserveBody {
    fn request(self) -> Result<ReserveRequest, ApiError> {
        let lines = self
            .lines
            .into_iter()
            .map(|line| {
                let (sku, quantity) = (sku(&line.sku)?, Quantity::new(line.quantity)?);
                let mut order_line = match line.location {
                    Some(name) => OrderLine::at(sku, quantity, location(&name)?),
                    None => OrderLine::new(sku, quantity),
                };
                // A negative price is refused by the core's reserve rule.
                if let Some(price) = line.unit_price {
                    order_line = order_line.priced(price);
                }
                Ok(order_line)
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let mut request =
            ReserveRequest::new(OrderId::new(self.order_id)?, lines).with_split(self.allow_split);
        if let Some(seconds) = self.ttl_seconds {
            request = request.with_ttl(ttl(seconds)?);
        }
        Ok(request)
    }
}

/// Reserves and counts the attempt under `source`.
pub(super) async fn reserve<S: ServiceStore>(
    app: &AppState<S>,
    request: ReserveRequest,
    source: &'static str,
) -> Result<ReserveResult, inventory_core::Error> {
    let result = app.inventory.reserve(request).await;
    let outcome = match &result {
        Ok(reserved) if reserved.created => "accepted",
        Ok(_) => "replayed",
        Err(error) if error.as_domain().is_some() => "refused",
        Err(_) => "failed",
    };
    app.metrics.reservation(source, outcome);
    result
}

fn view<S: ServiceStore>(app: &AppState<S>, reservation: &Reservation) -> Json<ReservationView> {
    Json(ReservationView::new(reservation, app.inventory.now()))
}

/// Holds stock for an order: 201 when new, 200 for the same request again.
#[utoipa::path(
    post,
    path = "/v1/reservations",
    operation_id = "createReservation",
    tag = "reservations",
    request_body = ReserveBody,
    responses(
        (status = 201, description = "Held: the new reservation.", body = ReservationView),
        (status = 200, description = "The same request again: the reservation it made.", body = ReservationView),
        (status = 404, description = "`unknown_sku`: a line names a SKU or location with no stock row.", body = ErrorBody),
        (status = 409, description = "`insufficient_stock`: not enough available; `idempotency_conflict`: the order id was used for a different request.", body = ErrorBody),
        (status = 423, description = "`sku_frozen`: an open investigation freezes a SKU.", body = ErrorBody),
    ),
)]
pub async fn create<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Body(body): Body<ReserveBody>,
) -> ApiResult<(StatusCode, Json<ReservationView>)> {
    let request = match body.request() {
        Ok(request) => request,
        Err(error) => {
            app.metrics.reservation("api", "refused");
            return Err(error);
        }
    };
    let reserved = reserve(&app, request, "api").await?;
    let status = if reserved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, view(&app, &reserved.reservation)))
}

/// One reservation.
#[utoipa::path(
    get,
    path = "/v1/reservations/{id}",
    operation_id = "getReservation",
    tag = "reservations",
    params(("id" = ReservationId, Path, description = "The reservation's id.")),
    responses(
        (status = 200, description = "The reservation.", body = ReservationView),
        (status = 404, description = "`not_found`: no such reservation.", body = ErrorBody),
    ),
)]
pub async fn show<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> ApiResult<Json<ReservationView>> {
    let reservation = app.inventory.reservation(reservation_id(&id)?).await?;
    Ok(view(&app, &reservation))
}

/// Documents and defines one reservation transition without a body, as
/// `purchasing`'s `transition!` does for purchase orders.
macro_rules! transition {
    ($(#[$doc:meta])* $name:ident, $path:literal, $id:literal, $from:literal) => {
        $(#[$doc])*
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $id,
            tag = "reservations",
            params(("id" = ReservationId, Path, description = "The reservation's id.")),
            responses(
                (status = 200, description = "The reservation after it.", body = ReservationView),
                (status = 404, description = "`not_found`: no such reservation.", body = ErrorBody),
                (status = 409, description = $from, body = ErrorBody),
            ),
        )]
        pub async fn $name<S: ServiceStore>(
            State(app): State<AppState<S>>,
            Path(id): Path<String>,
        ) -> ApiResult<Json<ReservationView>> {
            let reservation = app.inventory.$name(reservation_id(&id)?).await?;
            Ok(view(&app, &reservation))
        }
    };
}

transition!(
    /// Active to committed: picking starts.
    commit,
    "/v1/reservations/{id}/commit",
    "commitReservation",
    "`invalid_state`: not in a state this applies to; `expired`: the hold ran out; `backordered`: it still waits for backordered units."
);
transition!(
    /// Committed to shipped: the units leave on hand.
    ship,
    "/v1/reservations/{id}/ship",
    "shipReservation",
    "`invalid_state`: not committed."
);
transition!(
    /// Active or committed to released: the units are sellable again.
    release,
    "/v1/reservations/{id}/release",
    "releaseReservation",
    "`invalid_state`: already shipped, released or expired."
);

/// Holds an active reservation until now + `ttl_seconds` (never shortens it).
#[utoipa::path(
    post,
    path = "/v1/reservations/{id}/extend",
    operation_id = "extendReservation",
    tag = "reservations",
    params(("id" = ReservationId, Path, description = "The reservation's id.")),
    request_body = ExtendBody,
    responses(
        (status = 200, description = "The reservation after it.", body = ReservationView),
        (status = 404, description = "`not_found`: no such reservation.", body = ErrorBody),
        (status = 409, description = "`invalid_state`: not in a state this applies to; `expired`: the hold ran out.", body = ErrorBody),
    ),
)]
pub async fn extend<S: ServiceStore>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    Body(body): Body<ExtendBody>,
) -> ApiResult<Json<ReservationView>> {
    let id = reservation_id(&id)?;
    let ttl = ttl(body.ttl_seconds).map_err(|error: DomainError| ApiError::from(error))?;
    let reservation = app.inventory.extend(id, ttl).await?;
    Ok(view(&app, &reservation))
}
