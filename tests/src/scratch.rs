//! Names of the scratch schemas and databases tests make on a shared server:
//! `inv_test_<unix seconds>_<process>_<counter>`, so parallel tests and processes never
//! meet, and a later run can drop what a crashed one left.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The prefix of every scratch name.
pub const PREFIX: &str = "inv_test_";
/// Scratch schemas and databases older than this are dropped by the next test run.
const STALE_SECONDS: u64 = 6 * 3600;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A new scratch name, unique in this process and among processes.
pub fn new_name() -> String {
    format!(
        "{PREFIX}{}_{}_{}",
        now_seconds(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether `name` is a scratch name made more than six hours ago.
pub fn is_stale(name: &str) -> bool {
    let born = name
        .trim_start_matches(PREFIX)
        .split('_')
        .next()
        .and_then(|s| s.parse::<u64>().ok());
    born.is_some_and(|born| born + STALE_SECONDS < now_seconds())
}

/// Whether database suites must run (`INVENTORY_REQUIRE_DATABASE=1`): a missing or
/// unreachable server then fails them instead of skipping them.
pub fn required() -> bool {
    std::env::var("INVENTORY_REQUIRE_DATABASE").is_ok_and(|value| value == "1")
}
