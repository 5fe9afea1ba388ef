//! Warnings PostgreSQL sends while a unit commits.
//!
//! A commit whose wait for a synchronous standby is cancelled (`pg_cancel_backend`, a
//! tool that cancels long queries) is not an error: PostgreSQL answers success with
//! only a `WARNING` (`canceling wait for synchronous replication ...`, "the transaction
//! has already committed locally, but might not have been replicated to the standby").
//! sqlx hands notices to `tracing` only (target `sqlx::postgres::notice`), so while a
//! unit's commit is polled, a subscriber of this module's own is the thread's default:
//! it notes every `WARNING` and drops every other event. A commit that drew one is
//! reported as unknown ([`StoreError::Unavailable`](inventory_core::StoreError)), never
//! as acknowledged: the caller resends it under the same key, which applies it once.
//!
//! While a commit is polled, events sqlx emits on that thread (its statement log) go
//! to this subscriber instead of the app's.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

/// The target sqlx gives server notices.
const NOTICE_TARGET: &str = "sqlx::postgres::notice";

thread_local! {
    /// Whether a `WARNING` notice arrived during the current poll of a watched commit.
    static WARNED: Cell<bool> = const { Cell::new(false) };
}

/// Notes `WARNING` notices; sees nothing else.
struct NoticeWatch;

impl Subscriber for NoticeWatch {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == NOTICE_TARGET && *metadata.level() <= Level::WARN
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            WARNED.with(|warned| warned.set(true));
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

static WATCH: LazyLock<Dispatch> = LazyLock::new(|| Dispatch::new(NoticeWatch));

/// A commit's future, and whether PostgreSQL warned while it ran.
pub(crate) struct Watched<F> {
    inner: Pin<Box<F>>,
    warned: bool,
}

/// Watches `commit` for `WARNING` notices.
pub(crate) fn watched<F: Future>(commit: F) -> Watched<F> {
    Watched {
        inner: Box::pin(commit),
        warned: false,
    }
}

impl<F: Future> Future for Watched<F> {
    /// The commit's output, and whether a `WARNING` arrived while it ran.
    type Output = (F::Output, bool);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let polled = {
            let _scope = tracing::dispatcher::set_default(&WATCH);
            WARNED.with(|warned| warned.set(false));
            let polled = self.inner.as_mut().poll(cx);
            if WARNED.with(Cell::get) {
                self.warned = true;
            }
            polled
        };
        polled.map(|output| (output, self.warned))
    }
}

/// The unknown outcome of a commit PostgreSQL warned about.
#[derive(Debug, thiserror::Error)]
#[error(
    "PostgreSQL warned while committing (a cancelled wait for synchronous replication): \
     the transaction committed on the primary but may not be on a standby"
)]
pub(crate) struct WarnedCommit;

/// The unknown outcome of a commit that did not answer within the store's limit.
#[derive(Debug, thiserror::Error)]
#[error(
    "the commit did not answer within {} ms (PostgreSQL waits for ever for a missing \
     synchronous standby; statement_timeout does not end that wait): it may have \
     committed",
    .0.as_millis()
)]
pub(crate) struct CommitTimedOut(pub(crate) std::time::Duration);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_warning_while_committing_is_noticed_and_nothing_else() {
        let (value, warned) = watched(async {
            tracing::warn!(target: "sqlx::postgres::notice", message = "canceling wait");
            7
        })
        .await;
        assert_eq!((value, warned), (7, true));
        let (_, warned) = watched(async {
            tracing::info!(target: "sqlx::postgres::notice", message = "a notice");
            tracing::warn!(target: "inventory_sqlx", "something else");
        })
        .await;
        assert!(!warned);
    }
}
