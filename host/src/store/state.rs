//! Connectors' own state in the store: key-value entries, poll cursors, poll leases, and the
//! dead letters of requests they failed on.

use std::collections::HashMap;

use serde::Serialize;

use super::sql::params;
use super::{Backend, Store, StoreError, now_millis, read_job, write_job};
use crate::runtime::kv::{self, KvError, KvFuture, KvStore, KvUsage, KvWrites};

/// A request a connector failed on, kept for replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// Id.
    pub id: i64,
    /// The connector.
    pub connector_id: String,
    /// When it was received (ms).
    pub received_at: i64,
    /// The request as JSON (`model::HttpRequest`), credentials masked when shown.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// Why it failed.
    pub error: String,
    /// How many times it was tried.
    pub attempts: i64,
    /// When a replay succeeded, if one did.
    pub replayed_at: Option<i64>,
}

type DeadLetterRow = (i64, String, i64, String, String, i64, Option<i64>);

/// How long a replay's claim on its dead letter holds: past it, the replay is taken to have
/// died and another may start.
pub const REPLAY_CLAIM: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Whether a replay may run.
#[derive(Debug)]
pub enum ReplayClaim {
    /// Yes: this caller holds the dead letter until it records the outcome.
    Claimed(DeadLetter),
    /// There is no such dead letter.
    NotFound,
    /// It was replayed already.
    Replayed,
    /// Another replay of it is running.
    InProgress,
}

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

impl Store {
    /// The cursor a connector's next poll starts from.
    pub async fn cursor(&self, connector: &str) -> Result<Option<String>, StoreError> {
        let connector = connector.to_string();
        self.read(read_job!(|conn| async move {
            let row: Option<(String,)> = conn
                .optional(
                    "SELECT cursor FROM poll_cursors WHERE connector_id = $1",
                    params![connector],
                )
                .await?;
            Ok(row.map(|(c,)| c))
        }))
        .await
    }

    /// Takes or renews the lease to poll `connector` for `ttl_ms`. `true` if `holder` has it:
    /// exactly one host at a time polls a connector, and a crashed host's lease expires.
    pub async fn acquire_lease(
        &self,
        connector: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let (connector, holder) = (connector.to_string(), holder.to_string());
        self.write(
            vec![],
            write_job!(|tx| {
                let (connector, holder) = (connector.clone(), holder.clone());
                async move {
                    let now = now_millis();
                    let row: Option<(String, i64)> = tx
                        .optional(
                            "SELECT holder, expires_at FROM poll_leases WHERE connector_id = $1",
                            params![connector],
                        )
                        .await?;
                    match row {
                        Some((current, expires_at)) if current != holder && expires_at > now => {
                            return Ok(false);
                        }
                        Some(_) => {
                            tx.execute(
                                "UPDATE poll_leases SET holder = $2, expires_at = $3 WHERE connector_id = $1",
                                params![connector, holder, now + ttl_ms],
                            )
                            .await?;
                        }
                        None => {
                            tx.execute(
                                "INSERT INTO poll_leases (connector_id, holder, expires_at) VALUES ($1, $2, $3)",
                                params![connector, holder, now + ttl_ms],
                            )
                            .await?;
                        }
                    }
                    Ok(true)
                }
            }),
        )
        .await
    }

    /// Gives up a lease early (on shutdown), so another host can take over at once.
    pub async fn release_lease(&self, connector: &str, holder: &str) -> Result<(), StoreError> {
        let (connector, holder) = (connector.to_string(), holder.to_string());
        self.write(
            vec![],
            write_job!(|tx| {
                let (connector, holder) = (connector.clone(), holder.clone());
                async move {
                    tx.execute(
                        "DELETE FROM poll_leases WHERE connector_id = $1 AND holder = $2",
                        params![connector, holder],
                    )
                    .await?;
                    Ok(())
                }
            }),
        )
        .await
    }

    /// Keeps a request a connector failed on.
    pub async fn add_dead_letter(
        &self,
        connector: &str,
        request: &serde_json::Value,
        error: &str,
    ) -> Result<i64, StoreError> {
        let (connector, request, error) =
            (connector.to_string(), request.to_string(), error.to_string());
        self.write(
            vec![],
            write_job!(|tx| {
                let (connector, request, error) =
                    (connector.clone(), request.clone(), error.clone());
                async move {
                    let (id,): (i64,) = tx
                        .one(
                            "INSERT INTO dead_letters (connector_id, received_at, request, error) \
                             VALUES ($1, $2, $3, $4) RETURNING id",
                            params![connector, now_millis(), request, error],
                        )
                        .await?;
                    Ok(id)
                }
            }),
        )
        .await
    }

    /// Dead letters, newest first; `pending_only` leaves out replayed ones.
    pub async fn dead_letters(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let limit = i64::from(limit.clamp(1, 1000));
        self.read(read_job!(|conn| async move {
            let rows: Vec<DeadLetterRow> = conn
                .all(
                    "SELECT id, connector_id, received_at, request, error, attempts, replayed_at FROM dead_letters \
                     WHERE ($1 = 0 OR replayed_at IS NULL) ORDER BY id DESC LIMIT $2",
                    params![i64::from(pending_only), limit],
                )
                .await?;
            Ok(rows.into_iter().map(dead_letter).collect())
        }))
        .await
    }

    /// One dead letter.
    pub async fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        self.read(read_job!(|conn| async move {
            let row: Option<DeadLetterRow> = conn
                .optional(
                    "SELECT id, connector_id, received_at, request, error, attempts, replayed_at \
                     FROM dead_letters WHERE id = $1",
                    params![id],
                )
                .await?;
            Ok(row.map(dead_letter))
        }))
        .await
    }

    /// Claims a dead letter for one replay: answers it when this caller may replay it now.
    /// A letter already replayed, or claimed by a replay still running (within
    /// [`REPLAY_CLAIM`]), is not handed out again.
    pub async fn claim_replay(&self, id: i64) -> Result<ReplayClaim, StoreError> {
        self.write(
            vec![],
            write_job!(|tx| async move {
                let now = now_millis();
                let stale = now - REPLAY_CLAIM.as_millis() as i64;
                let claimed = tx
                    .execute(
                        "UPDATE dead_letters SET replaying_since = $2 WHERE id = $1 AND replayed_at IS NULL \
                         AND (replaying_since IS NULL OR replaying_since < $3)",
                        params![id, now, stale],
                    )
                    .await?;
                let row: Option<DeadLetterRow> = tx
                    .optional(
                        "SELECT id, connector_id, received_at, request, error, attempts, replayed_at \
                         FROM dead_letters WHERE id = $1",
                        params![id],
                    )
                    .await?;
                Ok(match row.map(dead_letter) {
                    None => ReplayClaim::NotFound,
                    Some(letter) if claimed == 1 => ReplayClaim::Claimed(letter),
                    Some(letter) if letter.replayed_at.is_some() => ReplayClaim::Replayed,
                    Some(_) => ReplayClaim::InProgress,
                })
            }),
        )
        .await
    }

    /// Deletes a dead letter; whether there was one.
    pub async fn delete_dead_letter(&self, id: i64) -> Result<bool, StoreError> {
        self.write(
            vec![],
            write_job!(|tx| async move {
                Ok(tx.execute("DELETE FROM dead_letters WHERE id = $1", params![id]).await? > 0)
            }),
        )
        .await
    }

    /// Deletes the dead letters received before `before` (ms); how many.
    pub async fn purge_dead_letters(&self, before: i64) -> Result<u64, StoreError> {
        self.write(
            vec![],
            write_job!(|tx| async move {
                tx.execute("DELETE FROM dead_letters WHERE received_at < $1", params![before]).await
            }),
        )
        .await
    }

    /// Records a replay attempt: `Ok` marks it replayed, `Err` keeps it with the new error.
    pub async fn record_replay(
        &self,
        id: i64,
        outcome: Result<(), &str>,
    ) -> Result<(), StoreError> {
        let error = outcome.err().map(str::to_string);
        self.write(
            vec![],
            write_job!(|tx| {
                let error = error.clone();
                async move {
                    match error {
                        None => {
                            tx.execute(
                                "UPDATE dead_letters SET attempts = attempts + 1, replayed_at = $2, replaying_since = NULL WHERE id = $1",
                                params![id, now_millis()],
                            )
                            .await?
                        }
                        Some(error) => {
                            tx.execute(
                                "UPDATE dead_letters SET attempts = attempts + 1, error = $2, replaying_since = NULL WHERE id = $1",
                                params![id, error],
                            )
                            .await?
                        }
                    };
                    Ok(())
                }
            }),
        )
        .await
    }
}

impl KvStore for Store {
    fn get<'a>(&'a self, connector: &'a str, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            kv::check(key, None)?;
            let (connector, key) = (connector.to_string(), key.to_string());
            self.read(read_job!(|conn| async move {
                let row: Option<(Vec<u8>,)> = conn
                    .optional(
                        "SELECT value FROM connector_kv WHERE connector_id = $1 AND key = $2",
                        params![connector, key],
                    )
                    .await?;
                Ok(row.map(|(v,)| v))
            }))
            .await
            .map_err(unavailable)
        })
    }

    fn usage<'a>(
        &'a self,
        connector: &'a str,
        keys: &'a [String],
    ) -> KvFuture<'a, (KvUsage, HashMap<String, u64>)> {
        Box::pin(async move {
            let (connector, keys) = (connector.to_string(), keys.to_vec());
            self.read(read_job!(|conn| async move {
                let (count, bytes): (i64, Option<i64>) = conn
                    .one(
                        "SELECT COUNT(*), CAST(SUM(LENGTH(key) + LENGTH(value)) AS BIGINT) FROM connector_kv \
                         WHERE connector_id = $1",
                        params![connector],
                    )
                    .await?;
                let sql = match conn.backend() {
                    Backend::Sqlite => {
                        "SELECT key, CAST(LENGTH(key) + LENGTH(value) AS BIGINT) FROM connector_kv \
                         WHERE connector_id = $1 AND key IN (SELECT value FROM json_each($2))"
                    }
                    Backend::Postgres => {
                        "SELECT key, CAST(LENGTH(key) + LENGTH(value) AS BIGINT) FROM connector_kv \
                         WHERE connector_id = $1 AND key = ANY($2)"
                    }
                };
                let sizes: Vec<(String, i64)> = conn.all(sql, params![connector, keys]).await?;
                let usage = KvUsage { keys: count as u64, bytes: bytes.unwrap_or(0) as u64 };
                Ok((usage, sizes.into_iter().map(|(k, size)| (k, size as u64)).collect()))
            }))
            .await
            .map_err(unavailable)
        })
    }

    fn apply<'a>(&'a self, connector: &'a str, writes: &'a KvWrites) -> KvFuture<'a, ()> {
        Box::pin(async move {
            let (connector, writes) = (connector.to_string(), writes.clone());
            self.write(
                vec![],
                write_job!(|tx| {
                    let (connector, writes) = (connector.clone(), writes.clone());
                    async move { super::records::apply_kv(tx, &connector, &writes).await }
                }),
            )
            .await
            .map_err(unavailable)
        })
    }
}

fn unavailable(error: StoreError) -> KvError {
    KvError::Unavailable(error.to_string())
}
