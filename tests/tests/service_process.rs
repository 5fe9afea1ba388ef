//! The reference service as a real process on a SQLite file: killed with SIGKILL in the
//! middle of a load and started again on the same file, four times, then stopped with
//! SIGTERM. After every stop the file holds every invariant, every reservation's
//! history is whole, and every answer the buyers got is still true.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use inventory_core::backend::AuditStore;
use inventory_core::testkit::invariants::violations;
use inventory_core::testkit::StoreState;
use inventory_core::{ReservationId, ReservationStatus};
use inventory_sqlite::SqliteStore;
use inventory_tests::{histories_are_whole, pg};
use serde_json::json;

const KILLS: u64 = 4;
const BUYERS: usize = 12;
/// Reservations answered before a stop may come.
const WARM_UP: usize = 50;
const SKUS: [&str; 3] = ["PROC-A", "PROC-B", "PROC-C"];

struct Running {
    child: Child,
    base: String,
}

/// Starts the service on `db` and waits for its "listening on" line.
fn launch(db: &OsStr) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reference_service"))
        .arg("--db")
        .arg(db)
        .args(["--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .env_remove("INVENTORY_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the service");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the address");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Running { child, base }
}

/// What one buyer was told: the last acknowledged status of each reservation.
type Told = BTreeMap<ReservationId, ReservationStatus>;

/// Reserves, commits, ships and releases until the service goes away.
async fn buyer(base: String, round: u64, buyer: usize, answered: Arc<AtomicUsize>) -> Told {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut told = Told::new();
    for n in 0_usize.. {
        let sku = SKUS[(buyer + n) % SKUS.len()];
        if n % 10 == 0 {
            let receipt = json!({ "sku": sku, "location": "main", "quantity": 30 });
            if client
                .post(format!("{base}/v1/receipts"))
                .json(&receipt)
                .send()
                .await
                .is_err()
            {
                return told;
            }
        }
        let body = json!({
            "order_id": format!("r{round}-b{buyer}-{n}"),
            "lines": [{ "sku": sku, "quantity": 1 + n % 3 }],
        });
        let Ok(response) = client
            .post(format!("{base}/v1/reservations"))
            .json(&body)
            .send()
            .await
        else {
            return told;
        };
        if response.status().as_u16() != 201 {
            continue;
        }
        let Ok(held) = response.json::<serde_json::Value>().await else {
            return told;
        };
        let id = ReservationId::parse(held["id"].as_str().expect("id")).expect("uuid");
        told.insert(id, ReservationStatus::Active);
        answered.fetch_add(1, Ordering::SeqCst);
        let steps: &[(&str, ReservationStatus)] = match n % 4 {
            0 => &[
                ("commit", ReservationStatus::Committed),
                ("ship", ReservationStatus::Shipped),
            ],
            1 => &[("release", ReservationStatus::Released)],
            2 => &[("commit", ReservationStatus::Committed)],
            _ => &[],
        };
        for (step, status) in steps {
            let url = format!("{base}/v1/reservations/{id}/{step}");
            match client.post(url).send().await {
                Ok(response) if response.status().is_success() => {
                    told.insert(id, *status);
                }
                Ok(response) => panic!("{step} of {id} answered {}", response.status()),
                Err(_) => return told,
            }
        }
    }
    told
}

/// Whether `stored` can follow `told` (a step may have been in flight at the stop).
fn follows(told: ReservationStatus, stored: ReservationStatus) -> bool {
    use ReservationStatus::{Active, Committed, Expired, Released, Shipped};
    told == stored
        || matches!(
            (told, stored),
            (Active, Committed | Shipped | Released | Expired) | (Committed, Shipped | Released)
        )
}

/// The store after a stop: invariants, whole histories, every answer still true.
async fn check<S: AuditStore>(store: &S, told: &Told, moment: &str) -> usize {
    let snapshot = StoreState::capture(store).await;
    let broken = violations(&snapshot);
    assert!(broken.is_empty(), "{moment}: {broken:?}");
    histories_are_whole(&snapshot).unwrap_or_else(|error| panic!("{moment}: {error}"));
    let stored: BTreeMap<_, _> = snapshot
        .reservations
        .iter()
        .map(|r| (r.id, r.status))
        .collect();
    for (id, status) in told {
        let found = stored.get(id).copied();
        assert!(
            found.is_some_and(|found| follows(*status, found)),
            "{moment}: {id} was answered {status}, the file has {found:?}"
        );
    }
    snapshot.ledger.len()
}

/// Starts the buyers; returns once they have `warm_up` reservations answered and then
/// `extra` more time has passed, so a stop lands in the middle of the load.
async fn load(base: &str, round: u64, extra: Duration) -> Vec<tokio::task::JoinHandle<Told>> {
    let answered = Arc::new(AtomicUsize::new(0));
    let buyers = (0..BUYERS)
        .map(|n| tokio::spawn(buyer(base.to_owned(), round, n, Arc::clone(&answered))))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::SeqCst) < WARM_UP {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service answered too few reservations"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(extra).await;
    buyers
}

async fn gather(buyers: Vec<tokio::task::JoinHandle<Told>>, told: &mut Told) {
    for buyer in buyers {
        told.extend(buyer.await.expect("buyer"));
    }
}

/// SIGTERM under load: requests in flight finish, the process exits cleanly.
async fn terminate_mid_load(mut running: Running, told: &mut Told) {
    // Its own round number, so its order ids are new.
    let buyers = load(&running.base, u64::MAX, Duration::from_millis(200)).await;
    let pid = running.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let exit = tokio::task::spawn_blocking(move || running.child.wait().expect("reap"))
        .await
        .expect("wait");
    assert!(exit.success(), "SIGTERM ended the service with {exit:?}");
    gather(buyers, told).await;
}

/// The same program on PostgreSQL by URL: migrates a fresh schema, survives a SIGKILL
/// mid-load, starts again, and stops cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_by_url_survives_sigkill_and_stops_on_sigterm() {
    let Some(store) = pg::fresh_store(2).await else {
        return;
    };
    let url = pg::url_of(&store);
    let mut told = Told::new();
    let mut running = launch(OsStr::new(&url));
    let buyers = load(&running.base, 0, Duration::from_millis(300)).await;
    running.child.kill().expect("SIGKILL");
    running.child.wait().expect("reap");
    gather(buyers, &mut told).await;
    pg::wait_for_process_gone(&store).await;
    let before = check(&store, &told, "after the kill").await;
    terminate_mid_load(launch(OsStr::new(&url)), &mut told).await;
    pg::wait_for_process_gone(&store).await;
    let after = check(&store, &told, "after SIGTERM").await;
    assert!(
        after > before && before > 0,
        "no progress: {before} then {after} entries"
    );
    inventory_tests::pg::drop_store(store).await;
}

/// Given a URL whose first server is down (a primary that died, its standby
/// promoted), the program starts on the next, takes orders, and stops on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_by_a_url_whose_first_server_is_down_serves_from_the_next() {
    let Some(store) = pg::fresh_store(2).await else {
        return;
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = pg::url_of(&store).replacen('@', &format!("@127.0.0.1:{closed},"), 1);
    let mut told = Told::new();
    terminate_mid_load(launch(OsStr::new(&url)), &mut told).await;
    pg::wait_for_process_gone(&store).await;
    let served = check(&store, &told, "after SIGTERM").await;
    assert!(served > 0, "no order reached the live server");
    inventory_tests::pg::drop_store(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_then_restart_keeps_every_invariant() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("service.db");
    let mut told = Told::new();
    let mut ledger = 0;
    for round in 0..KILLS {
        let mut running = launch(path.as_os_str());
        let buyers = load(&running.base, round, Duration::from_millis(round * 170)).await;
        running.child.kill().expect("SIGKILL");
        let status = running.child.wait().expect("reap");
        assert!(
            status.code().is_none(),
            "the service stopped by itself: {status:?}"
        );
        gather(buyers, &mut told).await;
        let store = SqliteStore::open(&path)
            .await
            .expect("reopen after the kill");
        let length = check(&store, &told, &format!("after kill {round}")).await;
        assert!(length > ledger, "no progress in round {round}");
        ledger = length;
    }

    terminate_mid_load(launch(path.as_os_str()), &mut told).await;
    let store = SqliteStore::open(&path)
        .await
        .expect("reopen after SIGTERM");
    let length = check(&store, &told, "after SIGTERM").await;
    eprintln!(
        "service crash test: {KILLS} kills and one SIGTERM, {} answered reservations, {length} ledger entries, all whole",
        told.len()
    );
}
