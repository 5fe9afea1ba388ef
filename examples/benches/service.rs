//! Reservations per second through the reference service over loopback HTTP (JSON in,
//! JSON out, one request per reservation), against the baseline measured in the same
//! run: the same reservations made by calling the library in-process on the same kind
//! of SQLite file. The ratio is what the HTTP layer costs.
//!
//! `cargo bench -p inventory-examples --bench service`
//!
//! Prints one line per case:
//! `bench service/<case> http=<N>/s library=<M>/s ratio=<N/M> http_p99_ms=<P> library_p99_ms=<Q>`
//!
//! `BENCH_SCALE` (default 1.0) scales the number of reservations per case.

use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::{Inventory, LocationId, OrderId, OrderLine, Quantity, ReserveRequest, Sku};
use inventory_examples::service::{start, ServiceConfig};
use inventory_sqlite::SqliteStore;
use serde_json::json;

struct Case {
    name: &'static str,
    clients: usize,
    skus: usize,
    reservations: usize,
}

fn sku(index: usize) -> String {
    format!("SKU-{index:05}")
}

/// Latencies sorted; the run's throughput.
fn summary(mut latencies: Vec<Duration>, elapsed: Duration) -> (f64, Duration) {
    latencies.sort_unstable();
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    (rate, p99)
}

async fn store(dir: &tempfile::TempDir, name: &str, case: &Case) -> SqliteStore {
    let store = SqliteStore::open(dir.path().join(name))
        .await
        .expect("open");
    let inventory = Inventory::new(store.clone());
    let units = i64::try_from(case.reservations).expect("fits") + 1;
    for index in 0..case.skus {
        inventory
            .receive(
                Sku::new(sku(index)).expect("sku"),
                LocationId::new("main").expect("location"),
                Quantity::new(units).expect("units"),
            )
            .await
            .expect("receive");
    }
    store
}

async fn over_http(dir: &tempfile::TempDir, case: &Case) -> (f64, Duration) {
    let store = store(dir, "http.db", case).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let service = start(store, ServiceConfig::default(), listener)
        .await
        .expect("start");
    let url = Arc::new(format!("http://{}/v1/reservations", service.addr()));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let tasks: Vec<_> = (0..case.clients)
        .map(|client_index| {
            let (client, url) = (client.clone(), Arc::clone(&url));
            let (clients, skus, total) = (case.clients, case.skus, case.reservations);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for n in (client_index..total).step_by(clients) {
                    let body = json!({ "order_id": format!("o-{n}"), "lines": [{ "sku": sku(n % skus), "quantity": 1 }] });
                    let began = Instant::now();
                    let response = client.post(url.as_str()).json(&body).send().await.expect("send");
                    assert_eq!(response.status().as_u16(), 201);
                    response.bytes().await.expect("body");
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client"));
    }
    let result = summary(latencies, started.elapsed());
    service.stop().await.expect("stop");
    result
}

async fn in_process(dir: &tempfile::TempDir, case: &Case) -> (f64, Duration) {
    let inventory = Inventory::new(store(dir, "library.db", case).await);
    let started = Instant::now();
    let tasks: Vec<_> = (0..case.clients)
        .map(|client_index| {
            let inventory = inventory.clone();
            let (clients, skus, total) = (case.clients, case.skus, case.reservations);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for n in (client_index..total).step_by(clients) {
                    let line = OrderLine::new(
                        Sku::new(sku(n % skus)).expect("sku"),
                        Quantity::new(1).expect("one"),
                    );
                    let request = ReserveRequest::new(
                        OrderId::new(format!("o-{n}")).expect("order"),
                        vec![line],
                    );
                    let began = Instant::now();
                    inventory.reserve(request).await.expect("reserve");
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("task"));
    }
    summary(latencies, started.elapsed())
}

#[tokio::main]
async fn main() {
    let scale: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1.0);
    let scaled = |n: usize| ((n as f64 * scale) as usize).max(100);
    let cases = [
        Case {
            name: "hot_sku_1_client",
            clients: 1,
            skus: 1,
            reservations: scaled(1_000),
        },
        Case {
            name: "hot_sku_32_clients",
            clients: 32,
            skus: 1,
            reservations: scaled(8_000),
        },
        Case {
            name: "1k_skus_32_clients",
            clients: 32,
            skus: 1_000,
            reservations: scaled(8_000),
        },
    ];
    for case in &cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let (library, library_p99) = in_process(&dir, case).await;
        let (http, http_p99) = over_http(&dir, case).await;
        println!(
            "bench service/{} http={http:.0}/s library={library:.0}/s ratio={:.2} http_p99_ms={:.2} library_p99_ms={:.2}",
            case.name,
            http / library,
            http_p99.as_secs_f64() * 1e3,
            library_p99.as_secs_f64() * 1e3,
        );
    }
}
