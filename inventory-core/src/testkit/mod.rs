//! Testkit (in progress).
