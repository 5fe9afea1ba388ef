//! Cross-backend tests: the conformance suite, property tests and concurrency races,
//! run against every backend. The test files are in `tests/`; this library only holds
//! what they share.

use std::time::Duration;

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

/// How long a single race may take before it counts as hung.
pub const RACE_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace README's examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub mod pg;
pub mod service;
