//! [`EventStore`] for [`PgStore`]: the outbox of low-stock events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory_core::events::{EventStore, QueuedEvent};
use inventory_core::StoreError;

use crate::error::corrupt;
use crate::store::PgStore;

/// The advisory lock that lets one claim of events run at a time.
const CLAIM_LOCK: i64 = 0x5e7e_4e17;

/// Rows of the outbox as read: seq, attempts, body.
type Row = (i64, i32, String);

fn queued(rows: Vec<Row>) -> Result<Vec<QueuedEvent>, StoreError> {
    rows.into_iter()
        .map(|(seq, attempts, body)| {
            Ok(QueuedEvent {
                seq,
                attempts: u32::try_from(attempts).map_err(|e| corrupt("attempts", e))?,
                event: serde_json::from_str(&body).map_err(|e| corrupt("stock event", e))?,
            })
        })
        .collect()
}

#[async_trait]
impl EventStore for PgStore {
    async fn claim_events(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows: Vec<Row> = self
            .retrying(|| async {
                // One claimer at a time, so that events go out in the order raised.
                let mut tx = self.pool().begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(CLAIM_LOCK)
                    .execute(&mut *tx)
                    .await?;
                let rows = sqlx::query_as(
                    "UPDATE stock_events AS e SET claimed_until = $2
                     FROM (SELECT seq FROM stock_events
                           WHERE seq < COALESCE((SELECT MIN(seq) FROM stock_events
                                                 WHERE claimed_until > $1 OR retry_at > $1),
                                                9223372036854775807)
                           ORDER BY seq LIMIT $3) AS due
                     WHERE e.seq = due.seq
                     RETURNING e.seq, e.attempts, e.body::text",
                )
                .bind(now)
                .bind(claim_until)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(rows)
            })
            .await?;
        rows.sort_by_key(|row| row.0);
        queued(rows)
    }

    async fn finish_events(
        &self,
        seqs: &[i64],
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.retrying(|| {
            let query = match retry_at {
                None => sqlx::query("DELETE FROM stock_events WHERE seq = ANY($1)").bind(seqs),
                Some(at) => sqlx::query(
                    "UPDATE stock_events
                     SET attempts = attempts + 1, claimed_until = NULL, retry_at = $2
                     WHERE seq = ANY($1)",
                )
                .bind(seqs)
                .bind(at),
            };
            query.execute(self.pool())
        })
        .await?;
        Ok(())
    }

    async fn pending_events(&self) -> Result<Vec<QueuedEvent>, StoreError> {
        let rows: Vec<Row> = self
            .retrying(|| {
                sqlx::query_as("SELECT seq, attempts, body::text FROM stock_events ORDER BY seq")
                    .fetch_all(self.pool())
            })
            .await?;
        queued(rows)
    }
}
