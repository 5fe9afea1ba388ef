//! The load of the scale-out drills: writers reserving through the library while a
//! database server is killed, each retrying an order whose outcome it does not know
//! under the same order id, and the checks run on every surviving server afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inventory_core::backend::AuditStore;
use inventory_core::testkit::invariants::violations;
use inventory_core::testkit::{loc, qty, sku, StoreState};
use inventory_core::{
    DomainError, Error, Inventory, OrderId, OrderLine, ReservationId, ReserveRequest,
};

/// The SKU every other order asks for.
pub const HOT: &str = "HOT";

/// The drill's stock: `hot` units of [`HOT`] and two units of each of `spread` SKUs
/// (`S0000`...), at location `W`.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Orders in all, one unit each: even ones of [`HOT`], odd ones of a spread SKU.
    pub orders: usize,
    /// Units of [`HOT`]: fewer than its orders, so the rest must be refused.
    pub hot: i64,
    /// Spread SKUs.
    pub spread: usize,
}

impl Plan {
    /// The SKU of order `number`.
    pub fn sku_of(&self, number: usize) -> String {
        if number.is_multiple_of(2) {
            HOT.to_owned()
        } else {
            format!("S{:04}", (number / 2) % self.spread)
        }
    }

    /// Receives the plan's stock through `inventory`, 16 SKUs at a time.
    ///
    /// # Panics
    ///
    /// When a receive fails.
    pub async fn stock<S: AuditStore + Clone>(&self, inventory: &Inventory<S>) {
        inventory
            .receive(sku(HOT), loc("W"), qty(self.hot))
            .await
            .expect("receive HOT");
        let names: Vec<String> = (0..self.spread).map(|i| format!("S{i:04}")).collect();
        for chunk in names.chunks(16) {
            let receives = chunk.iter().map(|name| {
                let inventory = inventory.clone();
                let name = name.clone();
                tokio::spawn(async move {
                    inventory
                        .receive(sku(&name), loc("W"), qty(2))
                        .await
                        .expect("receive a spread SKU");
                })
            });
            for receive in receives.collect::<Vec<_>>() {
                receive.await.expect("receive task");
            }
        }
    }
}

/// What the writers saw.
#[derive(Debug, Default)]
pub struct Load {
    /// Orders the library answered with a reservation, and its id.
    pub acknowledged: BTreeMap<OrderId, ReservationId>,
    /// Acknowledged orders of [`HOT`].
    pub hot_acknowledged: usize,
    /// Orders refused for want of stock.
    pub refused: usize,
    /// Times a writer got a storage error (outcome unknown, or retries exhausted) and
    /// sent the same order again.
    pub resent: u64,
    /// Orders whose first answers were storage errors (their outcome unknown to the
    /// writer until it resent them).
    pub unknown: usize,
    /// Of those, orders the library answered as already reserved: an earlier send had
    /// been applied, and the resend applied nothing more.
    pub applied_earlier: usize,
    /// Each acknowledgment: when its successful send left, and when it came back.
    pub acknowledged_at: Vec<(Instant, Instant)>,
}

/// Counts orders answered so far, for a fault injected part way.
#[derive(Debug, Default)]
pub struct Progress(AtomicUsize);

impl Progress {
    /// Orders answered (acknowledged or refused).
    pub fn answered(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Waits until at least `count` orders are answered.
    pub async fn reached(&self, count: usize) {
        while self.answered() < count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// How a writer reaches the inventory.
#[derive(Debug, Clone)]
pub enum Via<S: AuditStore + Clone> {
    /// The library, in process.
    Library(Inventory<S>),
    /// The reference service at this base URL (`POST /v1/reservations`).
    Service(String, reqwest::Client),
}

/// What one send of an order came back with.
enum Answer {
    /// Reserved (now, or by an earlier send: `created` false).
    Held {
        id: ReservationId,
        created: bool,
    },
    OutOfStock,
    /// Outcome unknown: a storage error, a 503, a broken HTTP exchange.
    Unknown(String),
}

impl<S: AuditStore + Clone> Via<S> {
    async fn reserve(&self, order: &OrderId, name: &str) -> Answer {
        match self {
            Self::Library(inventory) => {
                let request =
                    ReserveRequest::new(order.clone(), vec![OrderLine::new(sku(name), qty(1))]);
                match inventory.reserve(request).await {
                    Ok(held) => Answer::Held {
                        id: held.reservation.id,
                        created: held.created,
                    },
                    Err(Error::Domain(DomainError::InsufficientStock { .. })) => Answer::OutOfStock,
                    Err(Error::Store(error)) => Answer::Unknown(error.to_string()),
                    Err(other) => panic!("order {order} failed with {other:?}"),
                }
            }
            Self::Service(base, client) => {
                let body = crate::service::order(order.as_str(), name, 1);
                let sent = client
                    .post(format!("{base}/v1/reservations"))
                    .json(&body)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                let response = match sent {
                    Ok(response) => response,
                    Err(error) => return Answer::Unknown(error.to_string()),
                };
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                match status.as_u16() {
                    200 | 201 => Answer::Held {
                        id: body["id"]
                            .as_str()
                            .and_then(|id| id.parse().ok())
                            .unwrap_or_else(|| panic!("a reservation id in {body}")),
                        created: status.as_u16() == 201,
                    },
                    409 if body["error"] == "insufficient_stock" => Answer::OutOfStock,
                    503 => Answer::Unknown(format!("503 {body}")),
                    _ => panic!("order {order}: the service answered {status} {body}"),
                }
            }
        }
    }
}

/// Runs the plan's orders from `tasks` writers spread over `writers`: each resends an
/// order whose outcome it did not learn (a storage error, a 503) under the same order
/// id, every 50 ms, until it is answered, for at most `patience`.
///
/// # Panics
///
/// When an order is refused other than for want of stock, or stays unanswered for
/// `patience`.
pub async fn write<S: AuditStore + Clone>(
    handles: &[Via<S>],
    plan: Plan,
    tasks: usize,
    progress: Arc<Progress>,
    patience: Duration,
) -> Load {
    let load = Arc::new(Mutex::new(Load::default()));
    let mut writers = Vec::new();
    for task in 0..tasks {
        let via = handles[task % handles.len()].clone();
        let load = Arc::clone(&load);
        let progress = Arc::clone(&progress);
        writers.push(tokio::spawn(async move {
            for number in (task..plan.orders).step_by(tasks) {
                let order = OrderId::new(format!("drill-{number}")).expect("order id");
                let name = plan.sku_of(number);
                let started = Instant::now();
                let mut resent = 0;
                let mut sent;
                let answer = loop {
                    sent = Instant::now();
                    match via.reserve(&order, &name).await {
                        Answer::Unknown(error) => {
                            assert!(
                                started.elapsed() < patience,
                                "order {order} unanswered for {patience:?}: {error}"
                            );
                            resent += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        answer => break answer,
                    }
                };
                let mut load = load.lock().expect("load lock");
                load.resent += resent;
                if resent > 0 {
                    load.unknown += 1;
                }
                match answer {
                    Answer::Held { id, created } => {
                        if resent > 0 && !created {
                            load.applied_earlier += 1;
                        }
                        load.acknowledged.insert(order, id);
                        load.acknowledged_at.push((sent, Instant::now()));
                        if name == HOT {
                            load.hot_acknowledged += 1;
                        }
                    }
                    Answer::OutOfStock => load.refused += 1,
                    Answer::Unknown(_) => unreachable!("resent until answered"),
                }
                progress.0.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer task");
    }
    Arc::try_unwrap(load)
        .expect("writers done")
        .into_inner()
        .expect("load lock")
}

/// What one server holds after the drill, checked against what was acknowledged.
#[derive(Debug)]
pub struct Found {
    /// Acknowledged reservations the server holds.
    pub found: usize,
    /// Acknowledged reservations it lacks.
    pub lost: Vec<OrderId>,
    /// Stock rows promising more than they hold.
    pub oversold: usize,
    /// Units of [`HOT`] reserved.
    pub hot_reserved: i64,
    /// Every broken invariant (ledger replay included).
    pub violations: Vec<String>,
}

/// Reads everything `store` holds and checks it against `load`.
pub async fn check<S: AuditStore>(store: &S, load: &Load) -> Found {
    let state = StoreState::capture(store).await;
    let stored: BTreeSet<ReservationId> = state.reservations.iter().map(|r| r.id).collect();
    let lost: Vec<OrderId> = load
        .acknowledged
        .iter()
        .filter(|(_, id)| !stored.contains(id))
        .map(|(order, _)| order.clone())
        .collect();
    let oversold = state
        .stock
        .values()
        .filter(|level| level.reserved + level.committed > level.on_hand)
        .count();
    let hot_reserved = state
        .stock
        .iter()
        .filter(|(key, _)| key.sku.as_str() == HOT)
        .map(|(_, level)| level.reserved)
        .sum();
    Found {
        found: load.acknowledged.len() - lost.len(),
        lost,
        oversold,
        hot_reserved,
        violations: violations(&state),
    }
}

/// Seconds from `fault` until the first order sent after it was acknowledged.
pub fn resumed_after(load: &Load, fault: Instant) -> f64 {
    load.acknowledged_at
        .iter()
        .filter(|(sent, _)| *sent > fault)
        .map(|(_, back)| *back)
        .min()
        .map_or(f64::NAN, |back| back.duration_since(fault).as_secs_f64())
}
