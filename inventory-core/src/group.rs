//! Group commit: commands waiting on the same lane are decided one after another on one
//! locked snapshot and committed in one transaction, each with its own outcome.
//!
//! A lane is a queue with at most one unit running at a time. A command that finds its
//! lane idle runs alone, in its caller's task (a lone caller pays for no queue and no
//! worker). Commands that arrive while the lane is busy queue; when the running unit
//! ends, a worker task takes up to `max_batch` waiting commands, runs them as one unit
//! (load the union of their plans, decide each in order, persist what was accepted,
//! commit once), answers each, and repeats until the lane is empty. A refused command
//! writes nothing and does not disturb the others. The unit is retried whole on a
//! transient conflict (an optimistic unit whose reads went stale at once, locking); a
//! failure before commit re-runs the commands one by one, so one bad command cannot
//! fail its neighbours.

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::{oneshot, Notify};

use crate::backend::{Decide, ReadMode, Store, StoreTx, UnitFailure};
use crate::clock::Clock;
use crate::decide::{decide_with, Changes, Draft, LoadPlan, Snapshot};
use crate::error::{BoxError, DomainError, Error, StoreError};
use crate::retry::RetryPolicy;

/// Largest batch a lane may take at once.
pub const BATCH_MAX: usize = 1_024;
/// Most lanes an inventory may have.
pub const LANES_MAX: usize = 1_024;

/// How commands are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// Most commands decided and committed in one transaction (1 turns grouping off).
    pub max_batch: usize,
    /// Independent queues; a command's lane follows from its first SKU or reservation,
    /// so one hot SKU always queues in one lane. Backends that allow concurrent writers
    /// profit from several lanes; SQLite, with one writer, from one.
    pub lanes: usize,
}

impl Default for GroupCommit {
    fn default() -> Self {
        Self {
            max_batch: 128,
            lanes: 1,
        }
    }
}

impl GroupCommit {
    /// The same settings, clamped to `1..=BATCH_MAX` and `1..=LANES_MAX`.
    pub fn clamped(self) -> Self {
        Self {
            max_batch: self.max_batch.clamp(1, BATCH_MAX),
            lanes: self.lanes.clamp(1, LANES_MAX),
        }
    }
}

/// What a unit of work needs: the store, the clock and the retry policy.
pub(crate) struct Runner<S> {
    pub(crate) store: Arc<S>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retry: RetryPolicy,
    /// Raised after every commit that marked a SKU dirty, to wake the sync worker.
    pub(crate) committed: Arc<Notify>,
}

impl<S> Clone for Runner<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
            retry: self.retry,
            committed: Arc::clone(&self.committed),
        }
    }
}

/// One command's decision, type-erased so that commands of every kind share a lane:
/// it decides on the unit's draft and keeps its typed result for its caller.
type Decider = Arc<dyn Fn(&mut Draft<'_>) -> Result<(), DomainError> + Send + Sync>;

/// Hands a command's answer to its caller.
trait Reply: Send {
    /// After the unit: `Ok` when the command's decision was committed (its kept result
    /// is sent), else the error.
    fn answer(self: Box<Self>, result: Result<(), Error>);
}

/// The typed end of a job: the result its decider keeps, and the caller's channel.
struct Typed<T> {
    kept: Arc<Mutex<Option<T>>>,
    sender: oneshot::Sender<Result<T, Error>>,
}

impl<T: Send> Reply for Typed<T> {
    fn answer(self: Box<Self>, result: Result<(), Error>) {
        let answer = match result {
            Ok(()) => match lock_kept(&self.kept).take() {
                Some(value) => Ok(value),
                // Not decided: dropping the sender tells the caller the worker stopped.
                None => return,
            },
            Err(error) => Err(error),
        };
        let _ = self.sender.send(answer);
    }
}

fn lock_kept<T>(kept: &Mutex<Option<T>>) -> MutexGuard<'_, Option<T>> {
    kept.lock().unwrap_or_else(|poison| poison.into_inner())
}

struct Job {
    plan: LoadPlan,
    decide: Decider,
    reply: Box<dyn Reply>,
}

impl Job {
    /// A job deciding with `decide`, and the receiver of its typed answer.
    fn new<T, F>(plan: LoadPlan, decide: F) -> (Self, oneshot::Receiver<Result<T, Error>>)
    where
        T: Send + 'static,
        F: Fn(&mut Draft<'_>) -> Result<T, DomainError> + Send + Sync + 'static,
    {
        let kept = Arc::new(Mutex::new(None));
        let (sender, receiver) = oneshot::channel();
        let decider: Decider = {
            let kept = Arc::clone(&kept);
            Arc::new(move |draft| {
                let value = decide(draft)?;
                *lock_kept(&kept) = Some(value);
                Ok(())
            })
        };
        let job = Self {
            plan,
            decide: decider,
            reply: Box::new(Typed { kept, sender }),
        };
        (job, receiver)
    }
}

#[derive(Default)]
struct LaneState {
    pending: VecDeque<Job>,
    draining: bool,
}

/// The queues of one inventory.
pub(crate) struct Lanes {
    lanes: Box<[Mutex<LaneState>]>,
    max_batch: usize,
}

fn lock(lane: &Mutex<LaneState>) -> MutexGuard<'_, LaneState> {
    lane.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl Lanes {
    pub(crate) fn new(config: GroupCommit) -> Self {
        let config = config.clamped();
        Self {
            lanes: (0..config.lanes).map(|_| Mutex::default()).collect(),
            max_batch: config.max_batch,
        }
    }

    fn lane_of(&self, plan: &LoadPlan) -> usize {
        let mut hasher = DefaultHasher::new();
        match (plan.skus.first(), plan.reservations.first()) {
            (Some(sku), _) => sku.hash(&mut hasher),
            (None, Some(id)) => id.hash(&mut hasher),
            (None, None) => {}
        }
        usize::try_from(hasher.finish() % self.lanes.len() as u64).unwrap_or(0)
    }

    /// Queues a command that loads `plan` and decides with `decide`, and waits for its
    /// typed answer.
    pub(crate) async fn submit<S, T, F>(
        self: &Arc<Self>,
        runner: &Runner<S>,
        plan: LoadPlan,
        decide: F,
    ) -> Result<T, Error>
    where
        S: Store,
        T: Send + 'static,
        F: Fn(&mut Draft<'_>) -> Result<T, DomainError> + Send + Sync + 'static,
    {
        let index = self.lane_of(&plan);
        let (job, answer) = Job::new(plan, decide);
        let (alone, waiting) = {
            let mut lane = lock(&self.lanes[index]);
            if lane.draining {
                lane.pending.push_back(job);
                (None, lane.pending.len())
            } else {
                lane.draining = true;
                (Some(job), 0)
            }
        };
        if waiting > 0 {
            tracing::trace!(lane = index, waiting, "command waits for its lane");
        }
        if let Some(job) = alone {
            // The lane was idle: this command runs alone, in the caller's task, with no
            // worker to spawn. Commands that arrive meanwhile queue and are drained by a
            // worker once it is done.
            let _hand_over = HandOver {
                lanes: self,
                index,
                runner,
            };
            runner.run(vec![job]).await;
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable("the group commit worker stopped".into()).into())
        })
    }

    /// Marks the lane idle, or hands its queue to a new worker if commands are waiting.
    fn hand_over<S: Store>(self: &Arc<Self>, index: usize, runner: &Runner<S>) {
        let mut lane = lock(&self.lanes[index]);
        if lane.pending.is_empty() {
            lane.draining = false;
        } else {
            let lanes = Arc::clone(self);
            let runner = runner.clone();
            tokio::spawn(async move { lanes.drain(index, runner).await });
        }
    }

    async fn drain<S: Store>(&self, index: usize, runner: Runner<S>) {
        let _idle_on_exit = DrainGuard(&self.lanes[index]);
        loop {
            let batch: Vec<Job> = {
                let mut lane = lock(&self.lanes[index]);
                let take = lane.pending.len().min(self.max_batch);
                if take == 0 {
                    lane.draining = false;
                    return;
                }
                lane.pending.drain(..take).collect()
            };
            tracing::trace!(
                lane = index,
                commands = batch.len(),
                "one unit for the waiting commands"
            );
            runner.run(batch).await;
        }
    }
}

/// Marks the lane idle if its worker ends early (a panic), dropping its waiting jobs so
/// that their callers get an error instead of waiting forever.
struct DrainGuard<'a>(&'a Mutex<LaneState>);

impl Drop for DrainGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut lane = lock(self.0);
            lane.pending.clear();
            lane.draining = false;
        }
    }
}

/// Ends a lone command's turn on its lane, also when the caller stops waiting (its
/// future is dropped): the lane never stays marked busy with nobody draining it.
struct HandOver<'a, S: Store> {
    lanes: &'a Arc<Lanes>,
    index: usize,
    runner: &'a Runner<S>,
}

impl<S: Store> Drop for HandOver<'_, S> {
    fn drop(&mut self) {
        self.lanes.hand_over(self.index, self.runner);
    }
}

/// Why a unit failed, and whether it may have been committed all the same (a broken
/// connection during commit): then it must not be run again.
struct Failure {
    error: StoreError,
    committing: bool,
}

impl<S: Store> Runner<S> {
    /// The current time, to the microsecond (the precision every backend stores).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let now = self.clock.now();
        DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
    }

    /// Runs `jobs` as one unit and answers each; when the unit fails before its
    /// commit, runs them again one by one, so one bad command cannot fail its
    /// neighbours.
    async fn run(&self, jobs: Vec<Job>) {
        let deciders: Vec<Decider> = jobs.iter().map(|job| Arc::clone(&job.decide)).collect();
        let plan = LoadPlan::merge(jobs.iter().map(|job| job.plan.clone()));
        match self.run_with_retry(deciders, &plan).await {
            Ok(decided) => {
                for (job, result) in jobs.into_iter().zip(decided) {
                    job.reply.answer(result.map_err(Error::from));
                }
            }
            Err(failure) if !failure.committing && jobs.len() > 1 => {
                for job in jobs {
                    let result = self
                        .run_with_retry(vec![Arc::clone(&job.decide)], &job.plan)
                        .await
                        .map_err(|failure| Error::from(failure.error))
                        .and_then(|decided| match decided.into_iter().next() {
                            Some(result) => result.map_err(Error::from),
                            None => Ok(()),
                        });
                    job.reply.answer(result);
                }
            }
            Err(failure) if jobs.len() == 1 => {
                if let Some(job) = jobs.into_iter().next() {
                    job.reply.answer(Err(failure.error.into()));
                }
            }
            Err(failure) => {
                for (job, error) in jobs.into_iter().zip(fan_out(failure.error)) {
                    job.reply.answer(Err(error.into()));
                }
            }
        }
    }

    async fn run_with_retry(
        &self,
        deciders: Vec<Decider>,
        plan: &LoadPlan,
    ) -> Result<Vec<Result<(), DomainError>>, Failure> {
        let mut mode = if plan.reads_are_guarded() {
            ReadMode::Optimistic
        } else {
            ReadMode::Locking
        };
        let mut attempt = 1;
        loop {
            let failure = match self.run_unit(&deciders, plan, mode, self.now()).await {
                Err(failure) if failure.error.is_transient() => failure,
                done => return done,
            };
            // An optimistic unit whose reads changed before its write runs again at
            // once, locking, so a contended unit waits its turn instead of failing again.
            let optimistic =
                std::mem::replace(&mut mode, ReadMode::Locking) == ReadMode::Optimistic;
            tracing::debug!(
                attempt,
                commands = deciders.len(),
                optimistic,
                error = %failure.error,
                "unit conflicted or lost its connection; running it again"
            );
            let Some(delay) = self.retry.delay_after(attempt) else {
                tracing::warn!(
                    attempts = attempt,
                    commands = deciders.len(),
                    error = %failure.error,
                    "unit still failing after every retry"
                );
                let error = failure.error.after_attempts(attempt);
                return Err(Failure {
                    error,
                    committing: false,
                });
            };
            if !optimistic {
                tokio::time::sleep(delay).await;
            }
            attempt += 1;
        }
    }

    /// Load (locking, or optimistically), decide each command in order on the shared
    /// snapshot, persist what was accepted, commit once.
    async fn run_unit(
        &self,
        deciders: &[Decider],
        plan: &LoadPlan,
        mode: ReadMode,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<(), DomainError>>, Failure> {
        let tx = self.store.begin_with(mode).await.map_err(|error| Failure {
            error,
            committing: false,
        })?;
        let deciders = deciders.to_vec();
        let decide: Decide<(Vec<Result<(), DomainError>>, bool)> =
            Box::new(move |snapshot| decide_all(&deciders, snapshot, now));
        let (outcomes, dirty) =
            tx.run_unit(plan, now, decide)
                .await
                .map_err(|failure| match failure {
                    UnitFailure::Load(error) => Failure {
                        error,
                        committing: false,
                    },
                    UnitFailure::Commit(error) => Failure {
                        committing: matches!(error, StoreError::Unavailable(_)),
                        error,
                    },
                })?;
        if dirty {
            self.committed.notify_one();
        }
        Ok(outcomes)
    }
}

/// Decides each command in order on the shared snapshot (each sees what the ones before
/// it changed): the changes to write, whether each command was accepted (its deciders
/// keep their results), and whether a SKU was marked for sync.
fn decide_all(
    deciders: &[Decider],
    mut snapshot: Snapshot,
    now: DateTime<Utc>,
) -> (Changes, (Vec<Result<(), DomainError>>, bool)) {
    let mut changes = Changes::default();
    let accepted = deciders
        .iter()
        .map(|decider| {
            let ((), decided) = decide_with(&snapshot, now, |draft| decider(draft))?;
            snapshot.apply(&decided);
            changes.merge(decided);
            Ok(())
        })
        .collect();
    let dirty = !changes.dirty.is_empty();
    (changes, (accepted, dirty))
}

/// The source of an error shared by every command of a failed batch.
#[derive(Debug, Clone)]
struct SharedSource(Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for SharedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// One copy of `error` per command of a batch: the same kind, the same source.
fn fan_out(error: StoreError) -> impl Iterator<Item = StoreError> {
    #[derive(Clone)]
    enum Kind {
        Contention(u32),
        Unavailable,
        Corrupt(String),
        Backend,
    }
    let (kind, source): (Kind, Arc<dyn std::error::Error + Send + Sync>) = match error {
        StoreError::Contention { attempts, source } => {
            (Kind::Contention(attempts), Arc::from(source))
        }
        StoreError::Unavailable(source) => (Kind::Unavailable, Arc::from(source)),
        StoreError::Corrupt { what, source } => (Kind::Corrupt(what), Arc::from(source)),
        StoreError::Conflict(source)
        | StoreError::Interrupted(source)
        | StoreError::Backend(source) => (Kind::Backend, Arc::from(source)),
    };
    std::iter::repeat_with(move || {
        let shared: BoxError = Box::new(SharedSource(Arc::clone(&source)));
        match &kind {
            Kind::Contention(attempts) => StoreError::Contention {
                attempts: *attempts,
                source: shared,
            },
            Kind::Unavailable => StoreError::Unavailable(shared),
            Kind::Corrupt(what) => StoreError::corrupt(what, shared),
            Kind::Backend => StoreError::Backend(shared),
        }
    })
}
