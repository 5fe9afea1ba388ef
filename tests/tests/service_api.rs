//! The reference service over HTTP, on SQLite and on PostgreSQL (when `DATABASE_URL` is
//! set): stock, reservations and the API token, with every error code they answer.

use std::time::Duration;

use inventory_tests::service::{answer, order, Backend};
use reqwest::StatusCode;
use serde_json::{json, Value};

inventory_tests::on_every_backend!(
    stock_endpoints_and_input_errors,
    reservation_lifecycle_and_its_errors,
    holds_expire_and_say_so,
    an_api_token_guards_the_api,
    an_idempotency_key_applies_a_receipt_or_adjustment_once,
    a_wrong_method_answers_405_as_json_with_allow,
    a_receipt_that_would_overflow_the_sku_total_is_refused,
    an_expired_hold_stops_counting_within_a_second,
    a_negative_unit_price_is_refused_and_holds_nothing,
    the_ledger_pages_newest_first_with_its_filters,
    units_change_state_and_leave_available,
    a_bulk_set_applies_every_row_or_none,
    returns_come_back_by_disposition_once,
    transfers_ship_receive_and_close,
);

/// `/v1/transfers`: shipping takes the source's available units into the
/// destination's transit (201, then 200 for the same key), receipts move them to the
/// shelf in parts, closing writes off the rest; 409 for too few units, a received or
/// closed transfer, a reused key; 404 for an unknown transfer; 422 for a transfer to
/// its own source or a malformed id.
async fn transfers_ship_receive_and_close(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    service.receive("MUG", "warehouse", 20).await;
    let ship = |quantity: i64| json!({ "sku": "MUG", "from": "warehouse", "to": "shop", "quantity": quantity });
    let key = [("Idempotency-Key", "TR-1")];
    let (status, transfer) = service.post_with("/v1/transfers", ship(8), &key).await;
    assert_eq!(status, StatusCode::CREATED, "{transfer}");
    assert_eq!(
        (
            transfer["status"].as_str(),
            transfer["outstanding"].as_i64()
        ),
        (Some("in_transit"), Some(8))
    );
    let (status, again) = service.post_with("/v1/transfers", ship(8), &key).await;
    assert_eq!(
        (status, &again),
        (StatusCode::OK, &transfer),
        "shipped once"
    );
    let (status, error) = service.post_with("/v1/transfers", ship(9), &key).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_conflict"))
    );
    let id = transfer["id"].as_str().unwrap().to_owned();
    let (_, stock) = service.get("/v1/stock/MUG").await;
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["in_transit"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(12), Some(8), Some(12))
    );

    let (status, partly) = service
        .post(
            &format!("/v1/transfers/{id}/receive"),
            json!({ "quantity": 5 }),
        )
        .await;
    assert_eq!(
        (status, partly["received"].as_i64()),
        (StatusCode::OK, Some(5)),
        "{partly}"
    );
    let (status, error) = service
        .post(
            &format!("/v1/transfers/{id}/receive"),
            json!({ "quantity": 4 }),
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state")),
        "{error}"
    );
    let (status, closed) = service
        .post_empty(&format!("/v1/transfers/{id}/close"))
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(
        (closed["status"].as_str(), closed["written_off"].as_i64()),
        (Some("closed"), Some(3))
    );
    let (_, shown) = service.get(&format!("/v1/transfers/{id}")).await;
    assert_eq!(shown, closed);
    let (status, _) = service
        .post_empty(&format!("/v1/transfers/{id}/receive"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, second) = service.post("/v1/transfers", ship(2)).await;
    assert_eq!(status, StatusCode::CREATED);
    let second = second["id"].as_str().unwrap().to_owned();
    let (status, done) = service
        .post_empty(&format!("/v1/transfers/{second}/receive"))
        .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (StatusCode::OK, Some("received"))
    );
    let (status, _) = service
        .post_empty(&format!("/v1/transfers/{second}/close"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, error) = service.post("/v1/transfers", ship(11)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("insufficient_stock")),
        "{error}"
    );
    let (status, _) = service
        .post(
            "/v1/transfers",
            json!({ "sku": "MUG", "from": "shop", "to": "shop", "quantity": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = "9a66d6ab-0000-4000-8000-000000000000";
    let (status, _) = service.get(&format!("/v1/transfers/{unknown}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = service.post_empty("/v1/transfers/not-a-uuid/close").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, stock) = service.get("/v1/stock/MUG").await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["in_transit"].as_i64()),
        (Some(17), Some(0))
    );

    // X-Actor names who shipped: every entry of the transfer carries it.
    let (status, third) = service
        .post_with("/v1/transfers", ship(1), &[("X-Actor", "clerk:ana")])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{third}");
    let reference = format!("transfer:{}", third["id"].as_str().unwrap());
    let (_, ledger) = service
        .get(&format!("/v1/ledger?reference={reference}"))
        .await;
    let actors: Vec<&str> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["actor"].as_str())
        .collect();
    assert_eq!(actors, ["clerk:ana", "clerk:ana"], "{ledger}");
    for bad in [("X-Actor", " "), ("X-Reference", "no-kind")] {
        let (status, _) = service.post_with("/v1/transfers", ship(1), &[bad]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }
    let (status, _) = service
        .post_with(
            "/v1/receipts",
            json!({ "sku": "MUG", "location": "shop", "quantity": 1 }),
            &[("X-Reference", "asn:2026-0042")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, ledger) = service.get("/v1/ledger?reference=asn:2026-0042").await;
    assert_eq!(ledger["entries"][0]["movement"], "received", "{ledger}");
    service.stop().await;
}

/// `POST /v1/returns`: a shipped order's units come back as each line's disposition
/// says, the reservation shows the return, an RMA key records it once; more than was
/// shipped is 409 `over_return`, an order not shipped 409 `invalid_state`, an unknown
/// order 404, a bad disposition or no line 422; refusals change nothing.
async fn returns_come_back_by_disposition_once(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    service.receive("MUG", "main", 10).await;
    let (status, held) = service
        .post("/v1/reservations", order("R-1", "MUG", 3))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let id = held["id"].as_str().unwrap().to_owned();
    let line = |quantity: i64, disposition: &str| json!({ "sku": "MUG", "quantity": quantity, "disposition": disposition });
    let body = |lines: Vec<Value>| json!({ "order_id": "R-1", "lines": lines });
    let (status, error) = service
        .post("/v1/returns", body(vec![line(1, "restock")]))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state")),
        "{error}"
    );
    for step in ["commit", "ship"] {
        let (status, _) = service
            .post_empty(&format!("/v1/reservations/{id}/{step}"))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let rma = [("Idempotency-Key", "RMA-1")];
    let lines = vec![line(1, "restock"), line(1, "damaged")];
    let (status, answer) = service
        .post_with("/v1/returns", body(lines.clone()), &rma)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["returns"][0]["lines"][1]["disposition"], "damaged");
    assert_eq!(answer["returns"][0]["lines"][1]["location"], "main");
    let (status, again) = service.post_with("/v1/returns", body(lines), &rma).await;
    assert_eq!((status, &again), (StatusCode::OK, &answer), "recorded once");
    let (_, stock) = service.get("/v1/stock/MUG").await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["available"].as_i64()),
        (Some(9), Some(8))
    );

    let (status, error) = service
        .post("/v1/returns", body(vec![line(2, "restock")]))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"], "over_return");
    assert_eq!(
        (
            error["shipped"].as_i64(),
            error["returned"].as_i64(),
            error["requested"].as_i64()
        ),
        (Some(3), Some(2), Some(2))
    );
    let (status, _) = service
        .post(
            "/v1/returns",
            json!({ "order_id": "nope", "lines": [line(1, "restock")] }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in [
        body(vec![]),
        body(vec![line(1, "lost")]),
        body(vec![line(0, "restock")]),
    ] {
        let (status, error) = service.post("/v1/returns", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {error}");
    }
    let (_, after) = service.get("/v1/stock/MUG").await;
    assert_eq!(after, stock, "refusals change nothing");
    let (_, ledger) = service.get("/v1/ledger?reference=order:R-1").await;
    let movements: Vec<&str> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["movement"].as_str())
        .collect();
    assert!(
        movements.contains(&"returned") && movements.contains(&"damaged"),
        "{ledger}"
    );
    service.stop().await;
}

/// `POST /v1/stock/set`: every row or none; 409 `stale` names each stale row with its
/// current number; an Idempotency-Key answers a retry alike; malformed sets are 422; a
/// SKU named `set` is still readable and movable.
async fn a_bulk_set_applies_every_row_or_none(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    service.receive("MUG", "main", 10).await;
    service.receive("set", "main", 2).await;
    let set = |mug: i64, expected: i64| {
        json!({ "reason": "stocktake", "reference": "stocktake:2026-12", "rows": [
            { "sku": "MUG", "location": "main", "on_hand": mug, "expected_on_hand": expected },
            { "sku": "CAP", "location": "annex", "on_hand": 4 },
        ]})
    };
    let (status, error) = service.post("/v1/stock/set", set(8, 9)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"], "stale");
    assert_eq!(
        error["rows"],
        json!([{ "sku": "MUG", "location": "main", "expected_on_hand": 9, "current_on_hand": 10 }])
    );
    let (status, _) = service.get("/v1/stock/CAP").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a stale set creates nothing");

    let key = [("Idempotency-Key", "import-5")];
    let (status, answer) = service.post_with("/v1/stock/set", set(8, 10), &key).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["rows"][0]["on_hand"], 8);
    assert_eq!(answer["rows"][1]["sku"], "CAP");
    assert_eq!(answer["rows"][1]["available"], 4);
    service.receive("MUG", "main", 1).await;
    let (status, again) = service.post_with("/v1/stock/set", set(8, 10), &key).await;
    assert_eq!(
        (status, &again),
        (StatusCode::OK, &answer),
        "answered alike"
    );
    let (_, stock) = service.get("/v1/stock/MUG").await;
    assert_eq!(stock["on_hand"], 9, "applied once");
    let (_, ledger) = service.get("/v1/ledger?reference=stocktake:2026-12").await;
    assert_eq!(ledger["entries"].as_array().unwrap().len(), 2, "{ledger}");

    let malformed = [
        json!({ "reason": "x", "rows": [] }),
        json!({ "reason": "x", "rows": [{ "sku": "MUG", "location": "main", "on_hand": -1 }] }),
        json!({ "reason": "x", "reference": "no reference", "rows": [{ "sku": "MUG", "location": "main", "on_hand": 1 }] }),
        json!({ "reason": "x", "rows": [
            { "sku": "MUG", "location": "main", "on_hand": 1 },
            { "sku": "MUG", "location": "main", "on_hand": 2 }] }),
    ];
    for body in malformed {
        let (status, error) = service.post("/v1/stock/set", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
    }
    let (status, stock) = service.get("/v1/stock/set").await;
    assert_eq!(
        (status, stock["on_hand"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{stock}"
    );
    let (status, row) = service
        .post(
            "/v1/stock/set/states",
            json!({ "location": "main", "from": "available", "to": "damaged", "quantity": 1 }),
        )
        .await;
    assert_eq!(
        (status, row["available"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{row}"
    );
    service.stop().await;
}

/// `POST /v1/stock/{sku}/states`: units set aside leave available but not on hand, the
/// stock view shows them by state, an Idempotency-Key applies a change once; moving
/// more than a state holds is 409, a state twice or an unknown state 422, an unknown
/// location 404, and none of them changes anything.
async fn units_change_state_and_leave_available(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    service.receive("MUG", "main", 10).await;
    let change = |from: &str, to: &str, quantity: i64| json!({ "location": "main", "from": from, "to": to, "quantity": quantity });
    let (status, row) = service
        .post_with(
            "/v1/stock/MUG/states",
            change("available", "damaged", 3),
            &[("Idempotency-Key", "carton-7")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(
        (row["on_hand"].as_i64(), row["available"].as_i64()),
        (Some(10), Some(7))
    );
    assert_eq!(row["unavailable"]["damaged"], 3);
    let (status, again) = service
        .post_with(
            "/v1/stock/MUG/states",
            change("available", "damaged", 3),
            &[("Idempotency-Key", "carton-7")],
        )
        .await;
    assert_eq!((status, &again), (StatusCode::OK, &row), "applied once");
    let (status, row) = service
        .post(
            "/v1/stock/MUG/states",
            change("damaged", "quality_control", 1),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    let (_, stock) = service.get("/v1/stock/MUG").await;
    assert_eq!(
        stock["locations"][0]["unavailable"],
        json!({ "damaged": 2, "quality_control": 1, "safety_stock": 0 })
    );
    assert_eq!(stock["available"], 7);

    let (_, before) = service.get("/v1/stock/MUG").await;
    let (status, error) = service
        .post("/v1/stock/MUG/states", change("damaged", "available", 5))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"], "insufficient_stock");
    assert_eq!(
        (error["state"].as_str(), error["available"].as_i64()),
        (Some("damaged"), Some(2))
    );
    let (status, error) = service
        .post_with(
            "/v1/stock/MUG/states",
            change("available", "safety_stock", 3),
            &[("Idempotency-Key", "carton-7")],
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_conflict"))
    );
    for bad in [
        change("damaged", "damaged", 1),
        change("available", "lost", 1),
        change("available", "damaged", 0),
    ] {
        let (status, error) = service.post("/v1/stock/MUG/states", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {error}");
    }
    let (status, error) = service
        .post(
            "/v1/stock/MUG/states",
            json!({ "location": "annex", "from": "available", "to": "damaged", "quantity": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (_, after) = service.get("/v1/stock/MUG").await;
    assert_eq!(after, before, "refusals change nothing");
    service.stop().await;
}

/// `GET /v1/ledger`: entries newest first with actor and reference, paged by cursor to
/// the end without repeats, filtered by SKU and reference; a bad limit or cursor is
/// 422, an unknown parameter 400.
async fn the_ledger_pages_newest_first_with_its_filters(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    service.receive("TEE", "main", 10).await;
    service.receive("MUG", "main", 5).await;
    let (status, _) = service
        .post("/v1/reservations", order("L-1", "TEE", 2))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, all) = service.get("/v1/ledger").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let entries = all["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{all}");
    assert_eq!(entries[0]["movement"], "reserved");
    assert_eq!(entries[0]["reference"], "order:L-1");
    assert!(all.get("next_cursor").is_none(), "one page: {all}");

    let mut seen = Vec::new();
    let mut path = "/v1/ledger?limit=1".to_owned();
    loop {
        let (status, page) = service.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let entries = page["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{page}");
        seen.push(entries[0].clone());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/ledger?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        &seen, entries,
        "pages of one put together are the whole ledger"
    );

    let (_, mugs) = service.get("/v1/ledger?sku=MUG").await;
    let mugs = mugs["entries"].as_array().unwrap();
    assert_eq!(mugs.len(), 1);
    assert_eq!(mugs[0]["sku"], "MUG");
    let (_, orders) = service.get("/v1/ledger?reference=order:L-1").await;
    assert_eq!(orders["entries"].as_array().unwrap().len(), 1);

    for bad in ["limit=0", "limit=1001", "cursor=nope", "sku=%20x"] {
        let (status, body) = service.get(&format!("/v1/ledger?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_request");
    }
    let (status, body) = service.get("/v1/ledger?colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    service.stop().await;
}

/// A line priced below zero is refused by the core's reserve rule (422), and nothing
/// is held.
async fn a_negative_unit_price_is_refused_and_holds_nothing(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    service.receive("TEE", "main", 3).await;
    let mut body = order("priced", "TEE", 1);
    body["lines"][0]["unit_price"] = json!("-1.00");
    let (status, error) = service.post("/v1/reservations", body).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")),
        "{error}"
    );
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(stock["reserved"].as_i64(), Some(0));
    service.stop().await;
}

/// With a 60-second sweep interval, a 1-second hold stops counting in stock within a
/// second of its time (the sweeper wakes at the next expiry), also when it is made while
/// the sweeper sleeps towards a later one.
async fn an_expired_hold_stops_counting_within_a_second(backend: Backend) {
    let Some(service) = backend.start_with("sweep_interval_seconds = 60").await else {
        return;
    };
    service.receive("TEE", "main", 3).await;
    let mut short = order("short-1", "TEE", 2);
    short["ttl_seconds"] = json!(1);
    let (status, held) = service.post("/v1/reservations", short).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(stock["reserved"].as_i64(), Some(2));
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(
        (stock["reserved"].as_i64(), stock["available"].as_i64()),
        (Some(0), Some(3)),
        "a second after its expiry the hold still counts: {stock}"
    );
    let id = held["id"].as_str().expect("id");
    let (_, read) = service.get(&format!("/v1/reservations/{id}")).await;
    assert_eq!(read["status"], "expired");

    let mut long = order("long-1", "TEE", 1);
    long["ttl_seconds"] = json!(600);
    assert_eq!(
        service.post("/v1/reservations", long).await.0,
        StatusCode::CREATED
    );
    let mut short = order("short-2", "TEE", 1);
    short["ttl_seconds"] = json!(1);
    assert_eq!(
        service.post("/v1/reservations", short).await.0,
        StatusCode::CREATED
    );
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(stock["reserved"].as_i64(), Some(1), "{stock}");
    service.stop().await;
}

/// Two receipts of 2^62 units at two locations: the second would make the SKU's total
/// pass `i64::MAX`, so it is refused (422, nothing changed) and the SKU stays readable.
async fn a_receipt_that_would_overflow_the_sku_total_is_refused(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    let units = 1_i64 << 62;
    let receipt = |location: &str| json!({ "sku": "BIG", "location": location, "quantity": units });
    let (status, _) = service.post("/v1/receipts", receipt("east")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = service.post("/v1/receipts", receipt("west")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"], "invalid_request");
    let (status, stock) = service.get("/v1/stock/BIG").await;
    assert_eq!(status, StatusCode::OK, "the SKU stays readable: {stock}");
    assert_eq!(stock["on_hand"].as_i64(), Some(units));
    assert_eq!(stock["locations"].as_array().map(Vec::len), Some(1));
    service.stop().await;
}

/// Every route called with a method it does not take: 405, the JSON error body, and
/// the `Allow` header naming what it does take; nothing changes.
async fn a_wrong_method_answers_405_as_json_with_allow(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    service.receive("TEE", "main", 4).await;
    let id = "00000000-0000-0000-0000-000000000000";
    let cases: Vec<(reqwest::Method, String, &str)> = vec![
        (reqwest::Method::GET, "/v1/receipts".into(), "POST"),
        (reqwest::Method::PUT, "/v1/adjustments".into(), "POST"),
        (reqwest::Method::DELETE, "/v1/stock/TEE".into(), "GET"),
        (reqwest::Method::PUT, "/v1/reservations".into(), "POST"),
        (
            reqwest::Method::DELETE,
            format!("/v1/reservations/{id}"),
            "GET",
        ),
        (
            reqwest::Method::GET,
            format!("/v1/reservations/{id}/commit"),
            "POST",
        ),
        (
            reqwest::Method::GET,
            format!("/v1/reservations/{id}/ship"),
            "POST",
        ),
        (
            reqwest::Method::GET,
            format!("/v1/reservations/{id}/release"),
            "POST",
        ),
        (
            reqwest::Method::GET,
            format!("/v1/reservations/{id}/extend"),
            "POST",
        ),
        (reqwest::Method::GET, "/v1/counts".into(), "POST"),
        (reqwest::Method::POST, "/v1/counts/due".into(), "GET"),
        (reqwest::Method::GET, "/v1/skus/TEE/unfreeze".into(), "POST"),
        (
            reqwest::Method::POST,
            "/v1/channels/web/stock/TEE".into(),
            "GET",
        ),
        (reqwest::Method::GET, "/v1/reorder/run".into(), "POST"),
        (reqwest::Method::POST, "/v1/purchase-orders".into(), "GET"),
        (
            reqwest::Method::GET,
            format!("/v1/purchase-orders/{id}/send"),
            "POST",
        ),
        (reqwest::Method::GET, "/v1/webhooks/shopify".into(), "POST"),
        (reqwest::Method::POST, "/healthz".into(), "GET"),
        (reqwest::Method::DELETE, "/metrics".into(), "GET"),
    ];
    for (method, path, allowed) in cases {
        let response = service
            .client
            .request(method.clone(), service.url(&path))
            .send()
            .await
            .expect("request");
        let allow = response
            .headers()
            .get(reqwest::header::ALLOW)
            .map(|value| value.to_str().expect("Allow is text").to_owned());
        let (status, error) = answer(response).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(error["error"], "method_not_allowed", "{method} {path}");
        let allow = allow.unwrap_or_else(|| panic!("{method} {path}: no Allow header"));
        assert!(
            allow.split(',').any(|m| m.trim() == allowed),
            "{method} {path}: Allow is {allow:?}"
        );
    }
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(stock["on_hand"].as_i64(), Some(4));
    service.stop().await;
}

async fn stock_endpoints_and_input_errors(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    let (status, health) = service.get("/healthz").await;
    assert_eq!(
        (status, health["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );

    let (status, row) = service
        .post(
            "/v1/receipts",
            json!({ "sku": "TEE", "location": "main", "quantity": 10 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        row,
        json!({ "sku": "TEE", "location": "main", "on_hand": 10, "reserved": 0,
                "committed": 0, "in_transit": 0, "backordered": 0, "available": 10,
                "unavailable": { "damaged": 0, "quality_control": 0, "safety_stock": 0 } })
    );
    service.receive("TEE", "annex", 5).await;

    let (status, row) = service
        .post(
            "/v1/adjustments",
            json!({ "sku": "TEE", "location": "main", "delta": -3, "reason": "damaged" }),
        )
        .await;
    assert_eq!((status, row["on_hand"].as_i64()), (StatusCode::OK, Some(7)));
    let (status, error) = service
        .post(
            "/v1/adjustments",
            json!({ "sku": "TEE", "location": "main", "delta": -8, "reason": "lost" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"], "insufficient_stock");
    assert_eq!(
        (error["available"].as_i64(), error["requested"].as_i64()),
        (Some(7), Some(8))
    );

    let (status, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["available"].as_i64(),
            stock["frozen"].as_bool()
        ),
        (Some(12), Some(12), Some(false))
    );
    let locations: Vec<_> = stock["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .map(|row| {
            (
                row["location"].as_str().map(str::to_owned),
                row["on_hand"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        locations,
        [
            (Some("annex".to_owned()), Some(5)),
            (Some("main".to_owned()), Some(7))
        ]
    );

    // Every kind of bad input is refused with a typed code and changes nothing.
    let bad_bodies = [
        json!({ "sku": "TEE", "location": "main", "quantity": 0 }),
        json!({ "sku": "TEE", "location": "main", "quantity": -4 }),
        json!({ "sku": "", "location": "main", "quantity": 1 }),
        json!({ "sku": "TEE", "location": " main", "quantity": 1 }),
        json!({ "sku": "TEE", "location": "main", "quantity": 9_223_372_036_854_775_807_i64 }),
        json!({ "sku": "TEE", "location": "main", "quantity": "ten" }),
        json!({ "sku": "TEE", "location": "main" }),
    ];
    for body in bad_bodies {
        let (status, error) = service.post("/v1/receipts", body.clone()).await;
        assert_eq!(error["error"], "invalid_request", "{body} gave {error}");
        assert!(
            matches!(
                status,
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{body} gave {status}"
        );
    }
    let response = service
        .client
        .post(service.url("/v1/receipts"))
        .header("content-type", "application/json")
        .body("{\"sku\": \"TEE\"")
        .send()
        .await
        .expect("request");
    let (status, error) = inventory_tests::service::answer(response).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, error) = service
        .post(
            "/v1/adjustments",
            json!({ "sku": "TEE", "location": "main", "delta": 0, "reason": "none" }),
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request"))
    );
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(
        stock["on_hand"].as_i64(),
        Some(12),
        "bad input changed stock"
    );

    let (status, error) = service.get("/v1/stock/NOPE").await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_sku"))
    );
    let (status, error) = service
        .post(
            "/v1/adjustments",
            json!({ "sku": "TEE", "location": "nowhere", "delta": 2, "reason": "found" }),
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_sku"))
    );
    let (status, error) = service.get("/v1/no-such-route").await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    service.stop().await;
}

async fn reservation_lifecycle_and_its_errors(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    service.receive("TEE", "main", 10).await;

    let (status, held) = service
        .post("/v1/reservations", order("o-1", "TEE", 3))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    assert_eq!(
        (held["order_id"].as_str(), held["status"].as_str()),
        (Some("o-1"), Some("active"))
    );
    assert_eq!(
        held["lines"],
        json!([{ "sku": "TEE", "location": "main", "quantity": 3, "backordered": 0, "shipped": 0, "released": 0 }])
    );
    let expires = held["expires_at"].as_str().expect("expires_at");
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires).is_ok(),
        "{expires}"
    );
    let id = held["id"].as_str().expect("id").to_owned();

    let (status, again) = service
        .post("/v1/reservations", order("o-1", "TEE", 3))
        .await;
    assert_eq!(
        (status, &again),
        (StatusCode::OK, &held),
        "a repeat is the same reservation"
    );
    let (status, error) = service
        .post("/v1/reservations", order("o-1", "TEE", 4))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_conflict"))
    );
    let (status, error) = service
        .post("/v1/reservations", order("o-2", "TEE", 8))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        (
            error["error"].as_str(),
            error["sku"].as_str(),
            error["available"].as_i64(),
            error["requested"].as_i64()
        ),
        (Some("insufficient_stock"), Some("TEE"), Some(7), Some(8))
    );
    let (status, error) = service
        .post("/v1/reservations", order("o-3", "NOPE", 1))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_sku"))
    );
    for bad in [
        json!({ "order_id": "o-4", "lines": [] }),
        json!({ "order_id": "o-4", "lines": [{ "sku": "TEE", "quantity": 0 }] }),
        json!({ "order_id": "o-4", "lines": [{ "sku": "TEE", "quantity": 1 }], "ttl_seconds": 0 }),
        json!({ "order_id": "", "lines": [{ "sku": "TEE", "quantity": 1 }] }),
    ] {
        let (status, error) = service.post("/v1/reservations", bad.clone()).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")),
            "{bad}"
        );
    }

    let (status, read) = service.get(&format!("/v1/reservations/{id}")).await;
    assert_eq!((status, &read), (StatusCode::OK, &held));
    let (status, extended) = service
        .post(
            &format!("/v1/reservations/{id}/extend"),
            json!({ "ttl_seconds": 7200 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        extended["expires_at"].as_str() > held["expires_at"].as_str(),
        "{extended}"
    );

    let (status, committed) = service
        .post_empty(&format!("/v1/reservations/{id}/commit"))
        .await;
    assert_eq!(
        (status, committed["status"].as_str()),
        (StatusCode::OK, Some("committed"))
    );
    let (status, error) = service
        .post_empty(&format!("/v1/reservations/{id}/commit"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    let (status, shipped) = service
        .post_empty(&format!("/v1/reservations/{id}/ship"))
        .await;
    assert_eq!(
        (status, shipped["status"].as_str()),
        (StatusCode::OK, Some("shipped"))
    );
    let (status, error) = service
        .post_empty(&format!("/v1/reservations/{id}/release"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );

    let (_, other) = service
        .post("/v1/reservations", order("o-5", "TEE", 2))
        .await;
    let other = other["id"].as_str().expect("id").to_owned();
    let (status, released) = service
        .post_empty(&format!("/v1/reservations/{other}/release"))
        .await;
    assert_eq!(
        (status, released["status"].as_str()),
        (StatusCode::OK, Some("released"))
    );
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(
        (
            stock["on_hand"].as_i64(),
            stock["reserved"].as_i64(),
            stock["committed"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(7), Some(0), Some(0), Some(7))
    );

    let unknown = "5f0c3c52-7d1e-4a7a-9a61-0c2f5f3d9e11";
    for path in [
        format!("/v1/reservations/{unknown}"),
        "/v1/reservations/not-a-uuid".to_owned(),
    ] {
        let (status, error) = service.get(&path).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
    }
    let (status, error) = service
        .post_empty(&format!("/v1/reservations/{unknown}/ship"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    service.stop().await;
}

async fn holds_expire_and_say_so(backend: Backend) {
    let Some(service) = backend.start_with("sweep_interval_seconds = 3600").await else {
        return;
    };
    service.receive("TEE", "main", 2).await;
    let mut body = order("short", "TEE", 2);
    body["ttl_seconds"] = json!(1);
    let (status, held) = service.post("/v1/reservations", body).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = held["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (_, read) = service.get(&format!("/v1/reservations/{id}")).await;
    assert_eq!(read["status"], "expired");
    let (status, error) = service
        .post_empty(&format!("/v1/reservations/{id}/commit"))
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::CONFLICT, Some("expired"))
    );
    // The expired hold never blocks a sale.
    let (status, _) = service
        .post("/v1/reservations", order("next", "TEE", 2))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    service.stop().await;
}

async fn an_api_token_guards_the_api(backend: Backend) {
    let token = "s3cret-token-0123456789";
    let config = format!("api_token = \"{token}\"");
    let Some(service) = backend.start_with(&config).await else {
        return;
    };
    let url = service.url("/v1/stock/TEE");
    for header in [None, Some("Bearer wrong-token-0123456789"), Some(token)] {
        let mut request = service.client.get(&url);
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        let (status, error) =
            inventory_tests::service::answer(request.send().await.expect("request")).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{header:?}"
        );
    }
    let request = service.client.get(&url).bearer_auth(token);
    let (status, error) =
        inventory_tests::service::answer(request.send().await.expect("request")).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_sku"))
    );
    let receipt = json!({ "sku": "TEE", "location": "main", "quantity": 1 });
    let (status, _) = service.post("/v1/receipts", receipt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an unauthorized receipt");
    let (status, _) = service.get("/healthz").await;
    assert_eq!(status, StatusCode::OK, "health needs no token");
    let request = service.client.get(&url).bearer_auth(token);
    let (status, _) =
        inventory_tests::service::answer(request.send().await.expect("request")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the refused receipt changed nothing"
    );
    service.stop().await;
}

async fn an_idempotency_key_applies_a_receipt_or_adjustment_once(backend: Backend) {
    let Some(service) = backend.start_with("").await else {
        return;
    };
    let keyed = |path: &str, key: &str, body: Value| {
        let request = service
            .client
            .post(service.url(path))
            .header("Idempotency-Key", key);
        async move { answer(request.json(&body).send().await.expect("request")).await }
    };
    let receipt = |quantity: i64| json!({ "sku": "TEE", "location": "main", "quantity": quantity });
    let (status, first) = keyed("/v1/receipts", "rcpt-1", receipt(10)).await;
    assert_eq!(
        (status, first["on_hand"].as_i64()),
        (StatusCode::OK, Some(10))
    );
    let (status, again) = keyed("/v1/receipts", "rcpt-1", receipt(10)).await;
    assert_eq!(
        (status, &again),
        (StatusCode::OK, &first),
        "a retry gets the first answer"
    );
    let (status, error) = keyed("/v1/receipts", "rcpt-1", receipt(11)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        (error["error"].as_str(), error["idempotency_key"].as_str()),
        (Some("idempotency_conflict"), Some("rcpt-1"))
    );

    let adjustment = json!({ "sku": "TEE", "location": "main", "delta": -2, "reason": "damaged" });
    let (_, first) = keyed("/v1/adjustments", "adj-1", adjustment.clone()).await;
    let (status, again) = keyed("/v1/adjustments", "adj-1", adjustment).await;
    assert_eq!(
        (status, &again, first["on_hand"].as_i64()),
        (StatusCode::OK, &first, Some(8))
    );
    for bad in ["", "tab\tinside", &"k".repeat(200)] {
        let (status, error) = keyed("/v1/receipts", bad, receipt(1)).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")),
            "{bad:?}"
        );
    }
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(
        stock["on_hand"].as_i64(),
        Some(8),
        "each keyed movement applied once"
    );

    // Without a key a receipt is applied each time it is sent.
    service.receive("TEE", "main", 1).await;
    service.receive("TEE", "main", 1).await;
    let (_, stock) = service.get("/v1/stock/TEE").await;
    assert_eq!(stock["on_hand"].as_i64(), Some(10));
    service.stop().await;
}
