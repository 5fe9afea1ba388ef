//! A task running in the background until told to stop: what [`SyncWorker`] and
//! [`ExpiryWorker`] share.
//!
//! [`SyncWorker`]: crate::sync::SyncWorker
//! [`ExpiryWorker`]: crate::expiry::ExpiryWorker

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How a worker's `stop` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Stopped {
    /// The work in flight finished (a sync pass with its pushes done and its claims
    /// released, a sweep committed) and the task returned; or no task was running.
    Finished,
    /// The work in flight outlasted the timeout and was aborted: a sync pass's claims
    /// run out after `claim_for` (another worker pushes them then), a sweep's
    /// transaction rolls back whole.
    Aborted,
}

/// A spawned task and the flag that tells it to stop; dropping it aborts the task.
#[derive(Debug)]
pub(crate) struct Background {
    task: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Background {
    /// Spawns `work`, handing it the receiver that turns `true` when it should stop.
    pub(crate) fn spawn<F, Fut>(work: F) -> Self
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopping) = watch::channel(false);
        Self {
            task: Some(tokio::spawn(work(stopping))),
            stop,
        }
    }

    /// Tells the task to stop and waits for it at most `timeout`, then aborts it.
    pub(crate) async fn stop(mut self, timeout: Duration) -> Stopped {
        let Some(mut task) = self.task.take() else {
            return Stopped::Finished;
        };
        // The task may have ended already: nothing listens then, which is fine.
        let _ = self.stop.send(true);
        if tokio::time::timeout(timeout, &mut task).await.is_ok() {
            Stopped::Finished
        } else {
            task.abort();
            Stopped::Aborted
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
