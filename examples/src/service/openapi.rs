//! The OpenAPI 3.1 document of the whole HTTP API, generated from the handlers'
//! `#[utoipa::path]` attributes and the request and answer types, served at
//! `GET /openapi.json`.
//!
//! Each handler documents its success answers and the errors only it gives
//! (`404 not_found`, `409 insufficient_stock`, ...). The errors every route shares
//! are added here, by one rule, so no route can forget them: `503 unavailable` with
//! `Retry-After` everywhere (the database past every retry, or the request timeout),
//! `401 unauthorized` on every `/v1` route behind the API token, and `400`, `413`
//! and `422 invalid_request` wherever a request carries a body or parameters.

use axum::Json;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Header, Ref};
use utoipa::{Modify, OpenApi};

use super::counts::{self, CountBody, CountView, Recount, UnfreezeBody, UnfreezeView};
use super::error::{ErrorBody, ErrorCode};
use super::ledger::{self, EntryView, LedgerPageView};
use super::purchasing::{self, ChannelStockView, ReceiveBody, ReceivedLine};
use super::reservations::{self, ExtendBody, LineBody, ReserveBody};
use super::shopify::{self, Delivery, LineItemPayload, OrderPayload, WebhookAnswer};
use super::stock::{self, AdjustmentBody, ReceiptBody};
use super::views::{Levels, LineView, LocationView, ReservationView, RowView, StockView};
use super::{metrics, Health};

/// The document: every route of [`router`](super::router).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "inventory reference service",
        description = "Stock levels, reservations with expiry, cycle counts, reorders and \
                       Shopify webhooks over the inventory library. Every error is a JSON \
                       `ErrorBody`; a 503 carries `Retry-After`.",
    ),
    paths(
        super::health,
        metrics::handler,
        document,
        stock::receive,
        stock::adjust,
        stock::change_state,
        super::returns::record,
        super::transfers::ship,
        super::transfers::show,
        super::transfers::receive,
        super::transfers::close,
        stock::set,
        stock::show_set,
        stock::show,
        ledger::list,
        reservations::create,
        reservations::show,
        reservations::commit,
        reservations::ship,
        reservations::release,
        reservations::extend,
        counts::record,
        counts::due,
        counts::unfreeze,
        super::catalog::put,
        super::catalog::show,
        super::catalog::remove,
        super::catalog::put_policy,
        super::catalog::show_policy,
        purchasing::channel_stock,
        purchasing::reorder,
        purchasing::list,
        purchasing::send,
        purchasing::ship,
        purchasing::receive,
        purchasing::close,
        purchasing::cancel,
        shopify::webhook,
    ),
    components(schemas(
        inventory_core::IdempotencyKey,
        ErrorBody,
        ErrorCode,
        Health,
        ReceiptBody,
        AdjustmentBody,
        EntryView,
        LedgerPageView,
        ReserveBody,
        LineBody,
        ExtendBody,
        CountBody,
        UnfreezeBody,
        Recount,
        ReceiveBody,
        ReceivedLine,
        OrderPayload,
        LineItemPayload,
        Levels,
        RowView,
        LocationView,
        StockView,
        LineView,
        ReservationView,
        CountView,
        UnfreezeView,
        ChannelStockView,
        WebhookAnswer,
        Delivery,
    )),
    modifiers(&SharedErrors),
    tags(
        (name = "stock", description = "Receipts, adjustments and stock levels."),
        (name = "transfers", description = "Transfers between locations."),
        (name = "reservations", description = "Holds with expiry: create, commit, ship, release, extend."),
        (name = "catalog", description = "Bundle (kit) definitions and selling policies."),
        (name = "counts", description = "Cycle counts, the daily count list, unfreezing."),
        (name = "purchasing", description = "Reorder runs and purchase orders."),
        (name = "channels", description = "What each sales channel was last told."),
        (name = "webhooks", description = "Shopify order webhooks, signed by HMAC."),
        (name = "operations", description = "Health, metrics and this document."),
    ),
)]
pub struct ApiDoc;

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", content_type = "application/json")),
)]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Adds the errors every route shares (see the module documentation).
struct SharedErrors;

/// The name of the bearer-token security scheme.
const API_TOKEN: &str = "api_token";

impl Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            let mut bearer = Http::new(HttpAuthScheme::Bearer);
            bearer.description = Some(
                "`Authorization: Bearer <api_token>`, required on every `/v1` route but \
                 webhooks when the service is configured with an `api_token`."
                    .to_owned(),
            );
            components
                .security_schemes
                .insert(API_TOKEN.to_owned(), SecurityScheme::Http(bearer).into());
        }
        for (path, item) in &mut openapi.paths.paths {
            let behind_token = path.starts_with("/v1/") && !path.starts_with("/v1/webhooks/");
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                if behind_token {
                    operation.security = Some(vec![SecurityRequirement::new(
                        API_TOKEN,
                        Vec::<String>::new(),
                    )]);
                }
                add_shared_errors(operation, behind_token);
            }
        }
    }
}

fn add_shared_errors(operation: &mut Operation, behind_token: bool) {
    let has_body = operation.request_body.is_some();
    let has_parameters = operation
        .parameters
        .as_ref()
        .is_some_and(|parameters| !parameters.is_empty());
    let mut shared = vec![(
        "503",
        error(
            "`unavailable`: the database is busy or unreachable past every retry, or the \
             request took too long. Retry after the `Retry-After` seconds.",
        )
        .header(
            "Retry-After",
            Header::new(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            ),
        )
        .build(),
    )];
    if behind_token {
        shared.push((
            "401",
            error("`unauthorized`: an API token is configured and the bearer token is missing or wrong.")
                .build(),
        ));
    }
    if has_body || has_parameters {
        shared.push((
            "400",
            error("`invalid_request`: the body is not JSON of this shape, or a parameter does not parse.")
                .build(),
        ));
        shared.push((
            "422",
            error("`invalid_request`: a rule is broken (a zero quantity, a malformed SKU, an overflow); nothing changed.")
                .build(),
        ));
    }
    if has_body {
        shared.push((
            "413",
            error("`invalid_request`: the body is over 1 MiB.").build(),
        ));
    }
    let responses = &mut operation.responses.responses;
    for (status, response) in shared {
        responses
            .entry(status.to_owned())
            .or_insert(response.into());
    }
}

/// A response whose body is the [`ErrorBody`].
fn error(description: &str) -> ResponseBuilder {
    let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    Response::builder()
        .description(description)
        .content("application/json", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Shopify order without `line_items` is accepted (and ignored), so the document
    /// must not require them (schemathesis found the mismatch).
    #[test]
    fn webhook_line_items_are_optional() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let required = &document["components"]["schemas"]["OrderPayload"]["required"];
        assert_eq!(required, &serde_json::json!(["id"]), "{required}");
    }

    /// Every error code the service can answer is in the document.
    #[test]
    fn every_error_code_is_documented() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let codes = &document["components"]["schemas"]["ErrorCode"]["enum"];
        for code in ErrorCode::ALL {
            assert!(
                codes
                    .as_array()
                    .unwrap()
                    .contains(&serde_json::Value::from(code.as_str())),
                "{code:?} missing from {codes}"
            );
        }
    }
}
