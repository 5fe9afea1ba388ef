//! Where time comes from: [`Clock`], with [`SystemClock`] and a [`ManualClock`] for tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A source of the current time. Decisions never read a clock; the service asks this
/// one and passes the time in.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to: expiry is tested without sleeping.
///
/// Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use inventory_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now().timestamp(), 90);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `step`.
    ///
    /// # Panics
    ///
    /// If the time would leave chrono's range (about 262,000 years).
    pub fn advance(&self, step: Duration) {
        let step = chrono::TimeDelta::from_std(step).expect("step fits in chrono's range");
        let mut now = self.now.lock().unwrap_or_else(|poison| poison.into_inner());
        *now = now.checked_add_signed(step).expect("time stays in range");
    }

    /// Sets the clock to `now`.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|poison| poison.into_inner()) = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}
