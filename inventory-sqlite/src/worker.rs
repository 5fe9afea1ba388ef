//! One thread per connection, driven by a channel (as sqlx-sqlite's worker does): the
//! tokio runtime never blocks on SQLite.

use std::sync::mpsc;

use inventory_core::StoreError;
use rusqlite::Connection;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle on a connection's thread. Clones share the thread; the thread (and the
/// connection) ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Worker {
    jobs: mpsc::Sender<Job>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the SQLite connection thread stopped".into())
}

impl Worker {
    /// Moves `connection` to a new thread named `name`.
    pub(crate) fn spawn(name: &str, mut connection: Connection) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                for job in queue {
                    job(&mut connection);
                }
            })?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the connection's thread and waits for its result.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |connection| {
                let _ = reply.send(work(connection));
            }))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Queues `work` without waiting (a rollback from `Drop`).
    pub(crate) fn post(&self, work: impl FnOnce(&mut Connection) + Send + 'static) {
        let _ = self.jobs.send(Box::new(work));
    }
}
