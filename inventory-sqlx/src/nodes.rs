//! Several database servers behind one store, in preference order: a PostgreSQL
//! primary and its standbys, or the nodes of a MariaDB Galera cluster.
//!
//! The store's pool connects to one server at a time. When a unit or a statement
//! loses its connection (or the server refuses writes), the store looks for a server
//! again in the background: the current one if it still takes writes, otherwise the
//! first in order that does. New connections then go there, and pooled connections
//! opened before the move are dropped instead of being handed out. The core runs the
//! interrupted unit again meanwhile; an outcome left unknown stays unknown
//! ([`StoreError::Unavailable`]).

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inventory_core::backend::UnitFailure;
use inventory_core::StoreError;
use sqlx::{ConnectOptions, Connection, Database, Pool};
use std::future::Future;
use std::pin::Pin;

use crate::connect::ConnectError;

/// How long a look at one server may take (connecting and asking whether it takes
/// writes) before the store tries the next.
pub const NODE_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// How often the store looks again while no server takes writes, and for how long.
const LOOK_AGAIN: Duration = Duration::from_millis(200);
const LOOK_FOR: Duration = Duration::from_secs(120);

/// The options of one connection of database `DB`.
pub(crate) type Options<DB> = <<DB as Database>::Connection as Connection>::Options;

/// The answer of a [`TakesWrites`] check.
pub(crate) type Answer<'c> = Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + 'c>>;

/// Whether a fresh connection's server takes writes (`Ok(false)`: it answers, but
/// only reads: a standby, a read-only or not yet synced node).
pub(crate) type TakesWrites<DB> = for<'c> fn(&'c mut <DB as Database>::Connection) -> Answer<'c>;

/// One server: how to reach it, and its name for messages (`kind://host:port`).
pub(crate) struct Server<DB: Database> {
    pub(crate) name: String,
    pub(crate) options: Options<DB>,
}

/// When the pool last moved to another server, shared with the pool's check of each
/// connection it hands out.
#[derive(Debug)]
pub(crate) struct Moved {
    start: Instant,
    /// Nanoseconds after `start` of the last move; 0 before any.
    at: AtomicU64,
}

impl Moved {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            at: AtomicU64::new(0),
        })
    }

    fn mark(&self) {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.at.store(nanos.max(1), Ordering::Release);
    }

    /// Whether a connection of this age was opened before the last move (to the
    /// server the pool left).
    pub(crate) fn predates(&self, age: Duration) -> bool {
        let at = self.at.load(Ordering::Acquire);
        if at == 0 {
            return false;
        }
        let since = self
            .start
            .elapsed()
            .saturating_sub(Duration::from_nanos(at));
        age > since
    }
}

/// The servers of a store, the one its pool uses now, and the search for another.
pub(crate) struct Nodes<DB: Database> {
    servers: Vec<Server<DB>>,
    current: AtomicUsize,
    moved: Arc<Moved>,
    looking: AtomicBool,
    takes_writes: TakesWrites<DB>,
    pool: Pool<DB>,
}

impl<DB: Database> std::fmt::Debug for Nodes<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nodes")
            .field(
                "servers",
                &self.servers.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("current", &self.current.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<DB: Database> Nodes<DB> {
    pub(crate) fn new(
        servers: Vec<Server<DB>>,
        current: usize,
        moved: Arc<Moved>,
        takes_writes: TakesWrites<DB>,
        pool: Pool<DB>,
    ) -> Arc<Self> {
        Arc::new(Self {
            servers,
            current: AtomicUsize::new(current),
            moved,
            looking: AtomicBool::new(false),
            takes_writes,
            pool,
        })
    }

    /// The server the pool connects to now.
    pub(crate) fn current(&self) -> &str {
        &self.servers[self.current.load(Ordering::Acquire)].name
    }

    /// After an error: when it says the connection broke or the server stopped taking
    /// writes, starts looking for a server in the background (once at a time).
    pub(crate) fn after(self: &Arc<Self>, error: &StoreError) {
        if !matches!(
            error,
            StoreError::Interrupted(_) | StoreError::Unavailable(_)
        ) {
            return;
        }
        if self.looking.swap(true, Ordering::AcqRel) {
            return;
        }
        let nodes = Arc::clone(self);
        tokio::spawn(async move {
            let deadline = Instant::now() + LOOK_FOR;
            while !nodes.look().await && Instant::now() < deadline {
                tokio::time::sleep(LOOK_AGAIN).await;
            }
            nodes.looking.store(false, Ordering::Release);
        });
    }

    /// One look: the current server if it takes writes, else the first in order that
    /// does. Whether one was found.
    async fn look(&self) -> bool {
        let current = self.current.load(Ordering::Acquire);
        let order =
            std::iter::once(current).chain((0..self.servers.len()).filter(|&i| i != current));
        for index in order {
            let server = &self.servers[index];
            match check::<DB>(&server.options, self.takes_writes).await {
                Ok(true) => {
                    if index != current {
                        self.pool.set_connect_options(server.options.clone());
                        self.current.store(index, Ordering::Release);
                        self.moved.mark();
                        tracing::warn!(
                            target: "inventory_sqlx::nodes",
                            from = %self.servers[current].name,
                            to = %server.name,
                            "moved to another database server"
                        );
                    }
                    return true;
                }
                Ok(false) => tracing::debug!(
                    target: "inventory_sqlx::nodes",
                    server = %server.name,
                    "server does not take writes"
                ),
                Err(reason) => tracing::debug!(
                    target: "inventory_sqlx::nodes",
                    server = %server.name,
                    %reason,
                    "server cannot be reached"
                ),
            }
        }
        false
    }
}

/// Connects to one server and asks whether it takes writes, within
/// [`NODE_CHECK_TIMEOUT`].
async fn check<DB: Database>(
    options: &Options<DB>,
    takes_writes: TakesWrites<DB>,
) -> Result<bool, String> {
    let attempt = async {
        let mut connection = options.connect().await?;
        let writes = takes_writes(&mut connection).await;
        let _ = connection.close().await;
        writes
    };
    match tokio::time::timeout(NODE_CHECK_TIMEOUT, attempt).await {
        Ok(Ok(writes)) => Ok(writes),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!(
            "no answer within {} ms",
            NODE_CHECK_TIMEOUT.as_millis()
        )),
    }
}

/// The first of `servers`, in order, that takes writes; `ConnectError` naming each
/// and why when none does.
pub(crate) async fn first_taking_writes<DB: Database>(
    servers: &[Server<DB>],
    takes_writes: TakesWrites<DB>,
) -> Result<usize, ConnectError> {
    let mut reasons = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        match check::<DB>(&server.options, takes_writes).await {
            Ok(true) => return Ok(index),
            Ok(false) => reasons.push(format!("{}: does not take writes", server.name)),
            Err(reason) => reasons.push(format!("{}: {reason}", server.name)),
        }
    }
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    Err(ConnectError::none_taking_writes(
        names.join(","),
        reasons.join("; "),
    ))
}

/// Connects `pool_options` to `server`; with several servers (`moved` given), the pool
/// drops at checkout each connection opened before the last move.
pub(crate) async fn connect_pool<DB: Database>(
    pool_options: sqlx::pool::PoolOptions<DB>,
    moved: Option<&Arc<Moved>>,
    server: &Server<DB>,
) -> Result<Pool<DB>, sqlx::Error> {
    let pool_options = match moved {
        Some(moved) => {
            let moved = Arc::clone(moved);
            pool_options.before_acquire(move |_, meta| {
                let fresh = !moved.predates(meta.age);
                Box::pin(async move { Ok(fresh) })
            })
        }
        None => pool_options,
    };
    pool_options.connect_with(server.options.clone()).await
}

/// After a unit: looks for another server when it lost its connection.
pub(crate) fn after_unit<DB: Database, T>(
    nodes: Option<&Arc<Nodes<DB>>>,
    done: &Result<T, UnitFailure>,
) {
    if let (Some(nodes), Err(UnitFailure::Load(error) | UnitFailure::Commit(error))) = (nodes, done)
    {
        nodes.after(error);
    }
}

/// The URLs of each host of a URL that names several (`scheme://user@h1:p1,h2:p2/db?x`),
/// in order; a URL naming one host comes back as it is. libpq's
/// `target_session_attrs` is taken out: the store always looks for a server that takes
/// writes, so `read-write` and `primary` are what it does, and any other value is
/// refused.
///
/// # Errors
///
/// A message for a host list with an empty entry, or a `target_session_attrs` other
/// than `read-write` or `primary`.
pub(crate) fn split_hosts(url: &str) -> Result<Vec<String>, String> {
    let url = &without_session_attrs(url)?;
    let Some((scheme, rest)) = url.split_once("://") else {
        return Ok(vec![url.to_owned()]);
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (user, hosts) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    if !hosts.contains(',') {
        return Ok(vec![url.to_owned()]);
    }
    hosts
        .split(',')
        .map(|host| {
            if host.is_empty() {
                Err(format!(
                    "{scheme}:// URL with an empty host in its host list"
                ))
            } else {
                Ok(format!("{scheme}://{user}{host}{tail}"))
            }
        })
        .collect()
}

/// `url` without its `target_session_attrs` parameter, which must ask for a server
/// that takes writes.
fn without_session_attrs(url: &str) -> Result<String, String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok(url.to_owned());
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("target_session_attrs", "read-write" | "primary")) => {}
            Some(("target_session_attrs", other)) => {
                return Err(format!(
                    "target_session_attrs={other}: the store writes, so it always looks for \
                     a server that takes writes (read-write)"
                ))
            }
            _ => kept.push(pair),
        }
    }
    Ok(if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    })
}

/// The servers a URL names, in order, each named by `name`, and all their names
/// joined by commas (for messages).
///
/// # Errors
///
/// [`ConnectError`] for a malformed URL (`scheme://(malformed URL)`).
pub(crate) fn servers_of<DB: Database>(
    url: &str,
    scheme: &str,
    name: impl Fn(&Options<DB>) -> String,
) -> Result<(Vec<Server<DB>>, String), ConnectError>
where
    Options<DB>: FromStr<Err = sqlx::Error>,
{
    let malformed = |error| ConnectError::new(format!("{scheme}://(malformed URL)"), error);
    let urls = split_hosts(url)
        .map_err(|message| malformed(sqlx::Error::Configuration(message.into())))?;
    let servers = urls
        .iter()
        .map(|url| {
            let options = Options::<DB>::from_str(url).map_err(malformed)?;
            Ok(Server {
                name: name(&options),
                options,
            })
        })
        .collect::<Result<Vec<_>, ConnectError>>()?;
    let names: Vec<&str> = servers.iter().map(|server| server.name.as_str()).collect();
    let names = names.join(",");
    Ok((servers, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_list_becomes_one_url_per_host() {
        assert_eq!(
            split_hosts("postgres://app:pw@h1:5434,h2:5433/shop?sslmode=disable").unwrap(),
            [
                "postgres://app:pw@h1:5434/shop?sslmode=disable",
                "postgres://app:pw@h2:5433/shop?sslmode=disable"
            ]
        );
        assert_eq!(
            split_hosts("mysql://a:3307,b:3308,c").unwrap(),
            ["mysql://a:3307", "mysql://b:3308", "mysql://c"]
        );
        assert_eq!(
            split_hosts("postgres://u@one:5432/db").unwrap(),
            ["postgres://u@one:5432/db"]
        );
        assert!(split_hosts("postgres://u@one:5432,/db").is_err());
        assert_eq!(
            split_hosts("postgres://u@a,b/db?target_session_attrs=read-write&sslmode=disable")
                .unwrap(),
            [
                "postgres://u@a/db?sslmode=disable",
                "postgres://u@b/db?sslmode=disable"
            ]
        );
        assert_eq!(
            split_hosts("postgres://u@a/db?target_session_attrs=primary").unwrap(),
            ["postgres://u@a/db"]
        );
        assert!(split_hosts("postgres://u@a,b/db?target_session_attrs=any").is_err());
    }

    #[test]
    fn only_connections_opened_before_a_move_are_dropped() {
        let moved = Moved::new();
        let old = Duration::from_secs(60);
        assert!(!moved.predates(old), "no move yet");
        std::thread::sleep(Duration::from_millis(20));
        moved.mark();
        std::thread::sleep(Duration::from_millis(20));
        assert!(moved.predates(old));
        assert!(!moved.predates(Duration::from_millis(5)));
    }
}
