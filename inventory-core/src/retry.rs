//! The one place transient storage conflicts are retried: [`RetryPolicy`].

use std::future::Future;
use std::time::Duration;

use crate::error::StoreError;

/// How often and how patiently a unit of work is run again after a transient conflict
/// (deadlock, serialization failure, busy database).
///
/// Delays grow exponentially from `base_delay` up to `max_delay`, with full jitter so
/// that conflicting callers do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most runs of one unit, the first included. At least 1.
    pub attempts: u32,
    /// Delay ceiling before the second run.
    pub base_delay: Duration,
    /// Largest delay ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 10,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(250),
        }
    }
}

impl RetryPolicy {
    /// No retries: one run only.
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The delay before run number `attempt + 1` (`attempt` counts from 1), or `None`
    /// when no runs are left.
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        if attempt >= self.attempts.max(1) {
            return None;
        }
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        let ceiling = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Some(Duration::from_micros(fastrand::u64(0..=micros)))
    }
}

impl RetryPolicy {
    /// Runs `operation` (a read, or a statement that is safe to repeat) until it
    /// succeeds or fails with an error that is not transient, waiting as
    /// [`delay_after`](RetryPolicy::delay_after) says between runs.
    ///
    /// # Errors
    ///
    /// The first error that is not transient; [`StoreError::Contention`] when every run
    /// failed transiently.
    pub async fn run<T, F, Fut>(&self, mut operation: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut attempt = 1;
        loop {
            let error = match operation().await {
                Err(error) if error.is_transient() => error,
                done => return done,
            };
            let Some(delay) = self.delay_after(attempt) else {
                tracing::warn!(attempts = attempt, %error, "read still failing after every retry");
                return Err(error.after_attempts(attempt));
            };
            tracing::debug!(attempt, %error, ?delay, "read failed transiently; retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_the_ceiling_and_stop() {
        let policy = RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(25),
        };
        for _ in 0..100 {
            assert!(policy.delay_after(1).unwrap() <= Duration::from_millis(10));
            assert!(policy.delay_after(2).unwrap() <= Duration::from_millis(20));
            assert!(policy.delay_after(3).unwrap() <= Duration::from_millis(25));
        }
        assert_eq!(policy.delay_after(4), None);
        assert_eq!(RetryPolicy::none().delay_after(1), None);
    }
}
