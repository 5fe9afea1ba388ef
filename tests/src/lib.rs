//! Cross-backend tests: the conformance suite, property tests and concurrency races,
//! run against every backend. The test files are in `tests/`; this library only holds
//! what they share.

use std::collections::BTreeMap;

use inventory_core::testkit::StoreState;
use inventory_core::{ReservationId, ReservationStatus};

/// Proptest cases per property, from `PROPTEST_CASES` when set (CI sets none, so the
/// default below runs), else `default`.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A small multi-thread runtime for one property-test case (one worker thread, so the
/// many cases of a run do not multiply threads).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Writes `message` straight to the process's standard error, past the test harness's
/// output capture, so a skip is seen even when the test passes.
pub fn loud(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "!!! {message} !!!");
}

/// The sqlx migrations of an app that embeds the library, in a folder of their own:
/// version 1 makes the app's own `reservations` table. Keep the folder while the
/// migrator runs.
///
/// # Panics
///
/// When the folder cannot be written or read back.
pub async fn app_migrator() -> (tempfile::TempDir, inventory_sqlx::sqlx::migrate::Migrator) {
    let folder = tempfile::tempdir().expect("folder");
    std::fs::write(
        folder.path().join("0001_app.sql"),
        "CREATE TABLE IF NOT EXISTS reservations (id BIGINT PRIMARY KEY, table_for INT NOT NULL);",
    )
    .expect("migration file");
    let migrator = inventory_sqlx::sqlx::migrate::Migrator::new(folder.path())
        .await
        .expect("read the migrations back");
    (folder, migrator)
}

/// How long a single race may take before it counts as hung.
pub use inventory_core::testkit::race::RACE_TIMEOUT;

/// The workspace README's examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub mod amazon;
pub mod channels;
pub mod cluster;
pub mod drill;
pub mod my;
pub mod pg;
pub mod scratch;
pub mod server;
pub mod service;
pub mod shopify;

/// Every reservation has exactly the ledger entries its status implies: one per line
/// for each step it went through.
///
/// # Errors
///
/// The first reservation whose entries do not match its status.
pub fn histories_are_whole(snapshot: &StoreState) -> Result<(), String> {
    let mut entries: BTreeMap<ReservationId, usize> = BTreeMap::new();
    for entry in &snapshot.ledger {
        if let Some(id) = entry.reservation_id {
            *entries.entry(id).or_default() += 1;
        }
    }
    for reservation in &snapshot.reservations {
        let lines = reservation.lines.len();
        let steps: &[usize] = match reservation.status {
            ReservationStatus::Active => &[1],
            ReservationStatus::Committed | ReservationStatus::Expired => &[2],
            ReservationStatus::Shipped => &[3],
            ReservationStatus::Released => &[2, 3],
        };
        let found = entries.remove(&reservation.id).unwrap_or(0);
        if !steps.iter().any(|steps| steps * lines == found) {
            return Err(format!(
                "{} is {} with {found} entries for {lines} lines",
                reservation.id, reservation.status
            ));
        }
    }
    match entries.into_iter().next() {
        Some((id, count)) => Err(format!(
            "{count} entries name reservation {id}, which is not stored"
        )),
        None => Ok(()),
    }
}
