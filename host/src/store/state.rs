//! Connectors' own state in the store: key-value entries, poll cursors, poll leases, and the
//! dead letters of requests they failed on.

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::{Store, StoreError, now_millis, write_tx};
use std::collections::HashMap;

use crate::runtime::kv::{self, KvError, KvFuture, KvStore, KvUsage, KvWrites};

/// A request a connector failed on, kept for replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Id.
    pub id: i64,
    /// The connector.
    pub connector_id: String,
    /// When it was received (ms).
    pub received_at: i64,
    /// The request as JSON (`model::HttpRequest`).
    pub request: serde_json::Value,
    /// Why it failed.
    pub error: String,
    /// How many times it was tried.
    pub attempts: i64,
    /// When a replay succeeded, if one did.
    pub replayed_at: Option<i64>,
}

type DeadLetterRow = (i64, String, i64, String, String, i64, Option<i64>);

fn dead_letter(row: DeadLetterRow) -> DeadLetter {
    let (id, connector_id, received_at, request, error, attempts, replayed_at) = row;
    DeadLetter {
        id,
        connector_id,
        received_at,
        request: serde_json::from_str(&request).unwrap_or(serde_json::Value::Null),
        error,
        attempts,
        replayed_at,
    }
}

pub(crate) async fn set_cursor(
    tx: &mut Transaction<'static, Any>,
    connector: &str,
    cursor: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO poll_cursors (connector_id, cursor, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (connector_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
    )
    .bind(connector)
    .bind(cursor)
    .bind(now_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The cursor a connector's next poll starts from.
    pub async fn cursor(&self, connector: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT cursor FROM poll_cursors WHERE connector_id = $1")
                .bind(connector)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(c,)| c))
    }

    /// Takes or renews the lease to poll `connector` for `ttl_ms`. `true` if `holder` has it:
    /// exactly one host at a time polls a connector, and a crashed host's lease expires.
    pub async fn acquire_lease(
        &self,
        connector: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        write_tx!(self, |tx| {
            let now = now_millis();
            let row: Option<(String, i64)> = sqlx::query_as(
                "SELECT holder, expires_at FROM poll_leases WHERE connector_id = $1",
            )
            .bind(connector)
            .fetch_optional(&mut **tx)
            .await?;
            match row {
                Some((current, expires_at)) if current != holder && expires_at > now => {
                    return Ok(false);
                }
                Some(_) => {
                    sqlx::query("UPDATE poll_leases SET holder = $2, expires_at = $3 WHERE connector_id = $1")
                        .bind(connector)
                        .bind(holder)
                        .bind(now + ttl_ms)
                        .execute(&mut **tx)
                        .await?;
                }
                None => {
                    sqlx::query("INSERT INTO poll_leases (connector_id, holder, expires_at) VALUES ($1, $2, $3)")
                        .bind(connector)
                        .bind(holder)
                        .bind(now + ttl_ms)
                        .execute(&mut **tx)
                        .await?;
                }
            }
            Ok(true)
        })
    }

    /// Gives up a lease early (on shutdown), so another host can take over at once.
    pub async fn release_lease(&self, connector: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM poll_leases WHERE connector_id = $1 AND holder = $2")
            .bind(connector)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Keeps a request a connector failed on.
    pub async fn add_dead_letter(
        &self,
        connector: &str,
        request: &serde_json::Value,
        error: &str,
    ) -> Result<i64, StoreError> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO dead_letters (connector_id, received_at, request, error) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(connector)
        .bind(now_millis())
        .bind(request.to_string())
        .bind(error)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Dead letters, newest first; `pending_only` leaves out replayed ones.
    pub async fn dead_letters(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let rows: Vec<DeadLetterRow> = sqlx::query_as(
            "SELECT id, connector_id, received_at, request, error, attempts, replayed_at FROM dead_letters \
             WHERE ($1 = 0 OR replayed_at IS NULL) ORDER BY id DESC LIMIT $2",
        )
        .bind(i64::from(pending_only))
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(dead_letter).collect())
    }

    /// One dead letter.
    pub async fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        let row: Option<DeadLetterRow> = sqlx::query_as(
            "SELECT id, connector_id, received_at, request, error, attempts, replayed_at FROM dead_letters WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(dead_letter))
    }

    /// Records a replay attempt: `Ok` marks it replayed, `Err` keeps it with the new error.
    pub async fn record_replay(
        &self,
        id: i64,
        outcome: Result<(), &str>,
    ) -> Result<(), StoreError> {
        match outcome {
            Ok(()) => sqlx::query(
                "UPDATE dead_letters SET attempts = attempts + 1, replayed_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(now_millis()),
            Err(error) => sqlx::query(
                "UPDATE dead_letters SET attempts = attempts + 1, error = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(error.to_string()),
        }
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl KvStore for Store {
    fn get<'a>(&'a self, connector: &'a str, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            kv::check(key, None)?;
            let row: Option<(Vec<u8>,)> = sqlx::query_as(
                "SELECT value FROM connector_kv WHERE connector_id = $1 AND key = $2",
            )
            .bind(connector)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
            Ok(row.map(|(v,)| v))
        })
    }

    fn usage<'a>(
        &'a self,
        connector: &'a str,
        keys: &'a [String],
    ) -> KvFuture<'a, (KvUsage, HashMap<String, u64>)> {
        Box::pin(async move {
            let (count, bytes): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), CAST(SUM(LENGTH(key) + LENGTH(value)) AS BIGINT) FROM connector_kv \
                 WHERE connector_id = $1",
            )
            .bind(connector)
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
            let mut existing = HashMap::new();
            for key in keys {
                let row: Option<(i64,)> = sqlx::query_as(
                    "SELECT CAST(LENGTH(key) + LENGTH(value) AS BIGINT) FROM connector_kv \
                     WHERE connector_id = $1 AND key = $2",
                )
                .bind(connector)
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                if let Some((size,)) = row {
                    existing.insert(key.clone(), size as u64);
                }
            }
            let usage = KvUsage { keys: count as u64, bytes: bytes.unwrap_or(0) as u64 };
            Ok((usage, existing))
        })
    }

    fn apply<'a>(&'a self, connector: &'a str, writes: &'a KvWrites) -> KvFuture<'a, ()> {
        Box::pin(async move {
            write_tx!(self, |tx| {
                for (key, value) in &writes.0 {
                    match value {
                        Some(value) => sqlx::query(
                            "INSERT INTO connector_kv (connector_id, key, value, updated_at) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (connector_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                        )
                        .bind(connector)
                        .bind(key)
                        .bind(value.clone())
                        .bind(now_millis()),
                        None => sqlx::query("DELETE FROM connector_kv WHERE connector_id = $1 AND key = $2")
                            .bind(connector)
                            .bind(key),
                    }
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            })
            .map_err(|e| KvError::Unavailable(e.to_string()))
        })
    }
}

fn unavailable(error: sqlx::Error) -> KvError {
    KvError::Unavailable(error.to_string())
}
