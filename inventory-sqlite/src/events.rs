//! [`EventStore`] for [`SqliteStore`]: the outbox of low-stock events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::events::{EventStore, QueuedEvent, StockEvent};
use inventory_core::StoreError;
use rusqlite::{params, Connection};

use crate::error::{corrupt, store_error};
use crate::rows::micros;
use crate::store::SqliteStore;

type Result<T> = std::result::Result<T, StoreError>;

/// Appends `events` to the outbox (inside the command's transaction).
pub(crate) fn append(connection: &Connection, events: &[StockEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut insert = connection
        .prepare_cached("INSERT INTO stock_events (sku, body) VALUES (?1, ?2)")
        .map_err(store_error)?;
    for event in events {
        let body = serde_json::to_string(event).map_err(|e| corrupt("stock event", e))?;
        insert
            .execute(params![event.sku.as_str(), body])
            .map_err(store_error)?;
    }
    Ok(())
}

/// The outbox's events that `tail` (conditions, order, limit) selects.
fn queued(
    connection: &Connection,
    tail: &str,
    bind: impl rusqlite::Params,
) -> Result<Vec<QueuedEvent>> {
    let sql = format!("SELECT seq, attempts, body FROM stock_events {tail}");
    let mut statement = connection.prepare_cached(&sql).map_err(store_error)?;
    let rows = statement
        .query_map(bind, |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .map_err(store_error)?;
    let mut found = Vec::new();
    for row in rows {
        let (seq, attempts, body) = row.map_err(store_error)?;
        found.push(QueuedEvent {
            seq,
            attempts: u32::try_from(attempts).map_err(|e| corrupt("attempts", e))?,
            event: serde_json::from_str(&body).map_err(|e| corrupt("stock event", e))?,
        });
    }
    Ok(found)
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(move |connection| {
            let tx = connection.unchecked_transaction().map_err(store_error)?;
            let due = queued(
                &tx,
                "WHERE seq < COALESCE((SELECT MIN(seq) FROM stock_events
                                       WHERE claimed_until > ?1 OR retry_at > ?1),
                                      9223372036854775807)
                 ORDER BY seq LIMIT ?2",
                params![micros(now), limit],
            )?;
            let mut claim = tx
                .prepare_cached("UPDATE stock_events SET claimed_until = ?2 WHERE seq = ?1")
                .map_err(store_error)?;
            for event in &due {
                claim
                    .execute(params![event.seq, micros(claim_until)])
                    .map_err(store_error)?;
            }
            drop(claim);
            tx.commit().map_err(store_error)?;
            Ok(due)
        })
        .await
    }

    async fn finish_events(&self, seqs: &[i64], retry_at: Option<DateTime<Utc>>) -> Result<()> {
        let seqs = seqs.to_vec();
        self.write(move |connection| {
            let tx = connection.unchecked_transaction().map_err(store_error)?;
            for seq in &seqs {
                match retry_at {
                    None => tx.execute("DELETE FROM stock_events WHERE seq = ?1", [seq]),
                    Some(at) => tx.execute(
                        "UPDATE stock_events
                         SET attempts = attempts + 1, claimed_until = NULL, retry_at = ?2
                         WHERE seq = ?1",
                        params![seq, micros(at)],
                    ),
                }
                .map_err(store_error)?;
            }
            tx.commit().map_err(store_error)
        })
        .await
    }

    async fn pending_events(&self) -> Result<Vec<QueuedEvent>> {
        self.read(|connection| queued(connection, "ORDER BY seq", []))
            .await
    }
}
