//! The columns of one unit's writes, as arrays for the single `WRITE` statement.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use inventory_core::decide::Changes;
use inventory_core::reorder::shipped_in;
use inventory_core::{ReservationId, ReservationStatus, StockKey, StockLevel, StoreError};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::Postgres;
use uuid::Uuid;

use crate::error::corrupt;

/// Stock rows as column arrays.
#[derive(Default)]
struct StockColumns {
    sku: Vec<String>,
    location: Vec<String>,
    on_hand: Vec<i64>,
    reserved: Vec<i64>,
    committed: Vec<i64>,
    in_transit: Vec<i64>,
    version: Vec<i64>,
}

impl StockColumns {
    fn push(&mut self, key: &StockKey, level: &StockLevel, version: i64) {
        self.sku.push(key.sku.to_string());
        self.location.push(key.location.to_string());
        self.on_hand.push(level.on_hand);
        self.reserved.push(level.reserved);
        self.committed.push(level.committed);
        self.in_transit.push(level.in_transit);
        self.version.push(version);
    }

    fn bind<'q>(self, query: Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments> {
        query
            .bind(self.sku)
            .bind(self.location)
            .bind(self.on_hand)
            .bind(self.reserved)
            .bind(self.committed)
            .bind(self.in_transit)
            .bind(self.version)
    }
}

/// What one `WRITE` must insert, to check that it did.
pub(crate) struct Expected {
    pub(crate) stock: i64,
    pub(crate) reservations: i64,
    pub(crate) ledger: i64,
}

/// Binds `changes` to the `WRITE` statement. `versions` holds the version of every row
/// the unit loaded (rows absent from it are new) and is advanced to the new versions;
/// `known` holds the reservations the unit loaded and gains the new ones.
pub(crate) fn bind<'q>(
    query: Query<'q, Postgres, PgArguments>,
    changes: &Changes,
    versions: &mut HashMap<StockKey, i64>,
    known: &mut HashSet<ReservationId>,
) -> Result<(Query<'q, Postgres, PgArguments>, Expected), StoreError> {
    // Ledger versions continue each row's count.
    let mut next: HashMap<&StockKey, i64> = HashMap::new();
    let mut ledger_version = Vec::with_capacity(changes.ledger.len());
    for entry in &changes.ledger {
        let version = next
            .entry(&entry.key)
            .or_insert_with(|| versions.get(&entry.key).copied().unwrap_or(0));
        *version += 1;
        ledger_version.push(*version);
    }
    let (mut updated, mut inserted) = (StockColumns::default(), StockColumns::default());
    for (key, level) in &changes.stock {
        let old = versions.get(key).copied();
        let version = next.get(key).copied().or(old).unwrap_or(0);
        match old {
            Some(_) => updated.push(key, level, version),
            None => inserted.push(key, level, version),
        }
    }
    let expected_stock = inserted.sku.len();
    let query = inserted.bind(updated.bind(query));

    let (mut changed_id, mut changed_status, mut changed_expiry, mut changed_at) =
        (vec![], vec![], vec![], vec![]);
    let mut new_id = Vec::new();
    let (mut new_order, mut new_status, mut new_created, mut new_expiry, mut new_updated) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut new_lines, mut new_request) = (vec![], vec![]);
    let (mut unheld, mut held_id, mut held_sku, mut held_expiry) = (vec![], vec![], vec![], vec![]);
    for reservation in changes.reservations.values() {
        let id = reservation.id.as_uuid();
        if known.contains(&reservation.id) {
            changed_id.push(id);
            changed_status.push(reservation.status.as_str().to_owned());
            changed_expiry.push(reservation.expires_at);
            changed_at.push(reservation.updated_at);
        } else {
            new_id.push(id);
            new_order.push(reservation.order_id.to_string());
            new_status.push(reservation.status.as_str().to_owned());
            new_created.push(reservation.created_at);
            new_expiry.push(reservation.expires_at);
            new_updated.push(reservation.updated_at);
            new_lines
                .push(serde_json::to_string(&reservation.lines).map_err(|e| corrupt("lines", e))?);
            new_request.push(
                serde_json::to_string(&reservation.request).map_err(|e| corrupt("request", e))?,
            );
        }
        if reservation.status == ReservationStatus::Active {
            for sku in reservation.skus() {
                held_id.push(id);
                held_sku.push(sku.to_string());
                held_expiry.push(reservation.expires_at);
            }
        } else {
            unheld.push(id);
        }
    }
    let expected_reservations = new_id.len();
    let query = query
        .bind(changed_id)
        .bind(changed_status)
        .bind(changed_expiry)
        .bind(changed_at)
        .bind(new_id)
        .bind(new_order)
        .bind(new_status)
        .bind(new_created)
        .bind(new_expiry)
        .bind(new_updated)
        .bind(new_lines)
        .bind(new_request)
        .bind(unheld)
        .bind(held_id)
        .bind(held_sku)
        .bind(held_expiry);
    let query = bind_ledger(query, changes, ledger_version);
    let dirty: Vec<String> = changes.dirty.iter().map(ToString::to_string).collect();
    let query = query.bind(dirty);
    let shipped = shipped_in(changes);
    let shipped_sku: Vec<String> = shipped.keys().map(|(sku, _)| sku.to_string()).collect();
    let shipped_day: Vec<chrono::NaiveDate> = shipped.keys().map(|(_, day)| *day).collect();
    let shipped_units: Vec<i64> = shipped.values().map(|sales| sales.units).collect();
    let shipped_revenue: Vec<String> = shipped
        .values()
        .map(|sales| sales.revenue.to_string())
        .collect();
    let query = query
        .bind(shipped_sku)
        .bind(shipped_day)
        .bind(shipped_units);
    let query = bind_orders(query, changes)?;
    let query = bind_counting(query, changes)?;
    let prices: Vec<Option<String>> = changes
        .ledger
        .iter()
        .map(|entry| entry.unit_price.map(|price| price.to_string()))
        .collect();
    let query = query.bind(prices).bind(shipped_revenue);
    let counts = &changes.counts;
    let query = query
        .bind(
            counts
                .iter()
                .map(|count| count.sku.to_string())
                .collect::<Vec<String>>(),
        )
        .bind(
            counts
                .iter()
                .map(|count| count.location.to_string())
                .collect::<Vec<String>>(),
        )
        .bind(
            counts
                .iter()
                .map(|count| count.at.timestamp_micros())
                .collect::<Vec<i64>>(),
        );
    let query = bind_open_holds(query, changes).bind(
        changes
            .ledger
            .iter()
            .map(|entry| entry.idempotency_key.as_ref().map(ToString::to_string))
            .collect::<Vec<Option<String>>>(),
    );

    for (key, version) in next {
        versions.insert(key.clone(), version);
    }
    for key in changes.stock.keys() {
        versions.entry(key.clone()).or_insert(0);
    }
    known.extend(changes.reservations.keys().copied());
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    Ok((
        query,
        Expected {
            stock: count(expected_stock),
            reservations: count(expected_reservations),
            ledger: count(changes.ledger.len()),
        },
    ))
}

fn bind_ledger<'q>(
    query: Query<'q, Postgres, PgArguments>,
    changes: &Changes,
    version: Vec<i64>,
) -> Query<'q, Postgres, PgArguments> {
    let entries = &changes.ledger;
    let column = |f: &dyn Fn(&inventory_core::LedgerEntry) -> i64| {
        entries.iter().map(f).collect::<Vec<i64>>()
    };
    let sku: Vec<String> = entries.iter().map(|e| e.key.sku.to_string()).collect();
    let location: Vec<String> = entries.iter().map(|e| e.key.location.to_string()).collect();
    let at: Vec<DateTime<Utc>> = entries.iter().map(|e| e.at).collect();
    let movement: Vec<String> = entries
        .iter()
        .map(|e| e.movement.as_str().to_owned())
        .collect();
    let reservation: Vec<Option<Uuid>> = entries
        .iter()
        .map(|e| e.reservation_id.map(|id| id.as_uuid()))
        .collect();
    let order: Vec<Option<String>> = entries
        .iter()
        .map(|e| e.order_id.as_ref().map(ToString::to_string))
        .collect();
    let reason: Vec<Option<String>> = entries.iter().map(|e| e.reason.clone()).collect();
    query
        .bind(sku)
        .bind(location)
        .bind(version)
        .bind(at)
        .bind(movement)
        .bind(column(&|e| e.quantity))
        .bind(column(&|e| e.before.on_hand))
        .bind(column(&|e| e.before.reserved))
        .bind(column(&|e| e.before.committed))
        .bind(column(&|e| e.before.in_transit))
        .bind(column(&|e| e.after.on_hand))
        .bind(column(&|e| e.after.reserved))
        .bind(column(&|e| e.after.committed))
        .bind(column(&|e| e.after.in_transit))
        .bind(reservation)
        .bind(order)
        .bind(reason)
}

fn bind_orders<'q>(
    query: Query<'q, Postgres, PgArguments>,
    changes: &Changes,
) -> Result<Query<'q, Postgres, PgArguments>, StoreError> {
    let orders: Vec<_> = changes.purchase_orders.values().collect();
    let lines = orders
        .iter()
        .map(|order| serde_json::to_string(&order.lines).map_err(|e| corrupt("lines", e)))
        .collect::<Result<Vec<String>, StoreError>>()?;
    Ok(query
        .bind(
            orders
                .iter()
                .map(|order| order.id.as_uuid())
                .collect::<Vec<Uuid>>(),
        )
        .bind(
            orders
                .iter()
                .map(|order| order.supplier.to_string())
                .collect::<Vec<String>>(),
        )
        .bind(
            orders
                .iter()
                .map(|order| order.status.as_str().to_owned())
                .collect::<Vec<String>>(),
        )
        .bind(
            orders
                .iter()
                .map(|order| order.location.to_string())
                .collect::<Vec<String>>(),
        )
        .bind(lines)
        .bind(
            orders
                .iter()
                .map(|order| order.created_at)
                .collect::<Vec<DateTime<Utc>>>(),
        )
        .bind(
            orders
                .iter()
                .map(|order| order.updated_at)
                .collect::<Vec<DateTime<Utc>>>(),
        ))
}

fn bind_counting<'q>(
    query: Query<'q, Postgres, PgArguments>,
    changes: &Changes,
) -> Result<Query<'q, Postgres, PgArguments>, StoreError> {
    let counts = &changes.counts;
    let count_bodies = counts
        .iter()
        .map(|count| serde_json::to_string(count).map_err(|e| corrupt("count", e)))
        .collect::<Result<Vec<String>, StoreError>>()?;
    let investigations: Vec<_> = changes.investigations.values().collect();
    let investigation_bodies = investigations
        .iter()
        .map(|item| serde_json::to_string(item).map_err(|e| corrupt("investigation", e)))
        .collect::<Result<Vec<String>, StoreError>>()?;
    Ok(query
        .bind(
            counts
                .iter()
                .map(|count| count.sku.to_string())
                .collect::<Vec<String>>(),
        )
        .bind(count_bodies)
        .bind(
            investigations
                .iter()
                .map(|item| item.id.as_uuid())
                .collect::<Vec<Uuid>>(),
        )
        .bind(
            investigations
                .iter()
                .map(|item| item.sku.to_string())
                .collect::<Vec<String>>(),
        )
        .bind(
            investigations
                .iter()
                .map(|item| item.resolved_at.is_none())
                .collect::<Vec<bool>>(),
        )
        .bind(
            investigations
                .iter()
                .map(|item| item.freezes)
                .collect::<Vec<bool>>(),
        )
        .bind(investigation_bodies))
}

/// Keeps `open_holds` in step: reservations that closed leave it, open ones are in it.
fn bind_open_holds<'q>(
    query: Query<'q, Postgres, PgArguments>,
    changes: &Changes,
) -> Query<'q, Postgres, PgArguments> {
    let (mut closed, mut held_id, mut held_sku) = (Vec::new(), Vec::new(), Vec::new());
    for reservation in changes.reservations.values() {
        if matches!(
            reservation.status,
            ReservationStatus::Active | ReservationStatus::Committed
        ) {
            for sku in reservation.skus() {
                held_id.push(reservation.id.as_uuid());
                held_sku.push(sku.to_string());
            }
        } else {
            closed.push(reservation.id.as_uuid());
        }
    }
    query.bind(closed).bind(held_id).bind(held_sku)
}
