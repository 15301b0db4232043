//! The clocks that run without a message: a snoozed conversation wakes when its time comes,
//! and a service-level due time that passes unanswered is marked breached, each with an event
//! (so the inbox and the live stream show it at once, not at the next message).
//!
//! Every host runs the timers. The rows are taken with `FOR UPDATE SKIP LOCKED` (PostgreSQL)
//! and each condition is checked again on the locked row, so two hosts never fire the same
//! timer twice and a conversation an agent is changing is simply taken at the next tick.

use serde_json::json;

use crate::store::conversations::{self as sql, COLUMNS, Row, Status};
use crate::store::{Backend, Store, StoreError, Tx, params, write_job};

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    /// Snoozed conversations that woke.
    pub woke: usize,
    /// First-response due times that passed.
    pub first_response_breached: usize,
    /// Resolution due times that passed.
    pub resolution_breached: usize,
}

impl Fired {
    /// Whether anything fired.
    pub fn any(&self) -> bool {
        self.woke + self.first_response_breached + self.resolution_breached > 0
    }
}

/// Fires what is due at `now`, at most `limit` conversations of each kind.
pub async fn tick(store: &Store, now: i64, limit: i64) -> Result<Fired, StoreError> {
    store.write(Vec::new(), write_job!(|tx| fire(tx, now, limit))).await
}

async fn due(
    tx: &mut Tx<'_>,
    condition: &str,
    now: i64,
    limit: i64,
) -> Result<Vec<Row>, StoreError> {
    let lock = if tx.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    tx.all(
        &format!(
            "SELECT {COLUMNS} FROM conversations WHERE merged_into IS NULL AND {condition} \
             ORDER BY id LIMIT $2{lock}"
        ),
        params![now, limit],
    )
    .await
}

async fn fire(tx: &mut Tx<'_>, now: i64, limit: i64) -> Result<Fired, StoreError> {
    let mut fired = Fired::default();
    // The conditions spell the partial indexes' predicates, so each is an index range scan.
    let snoozed = due(tx, "status = 'snoozed' AND snoozed_until <= $1", now, limit).await?;
    for mut row in snoozed {
        let until = row.snoozed_until;
        row.status = Status::Open;
        row.snoozed_until = None;
        row.updated_at = now;
        sql::save(tx, &row).await?;
        let data = json!({"from": "snoozed", "to": "open", "reason": "the snooze ended", "snoozed_until": until});
        sql::event(tx, &row, "status", None, data).await?;
        fired.woke += 1;
    }
    // Each target's breach: which rows are late, then marking one.
    type Mark = fn(&mut Row) -> Option<i64>;
    type Count = fn(&mut Fired) -> &mut usize;
    let targets: [(&str, &str, Mark, Count); 2] = [
        (
            "first_response",
            "first_response_at IS NULL AND first_response_breached = 0 AND first_response_due <= $1",
            |row| {
                row.first_response_breached = true;
                row.first_response_due
            },
            |fired| &mut fired.first_response_breached,
        ),
        (
            "resolution",
            "resolved_at IS NULL AND resolution_breached = 0 AND resolution_due <= $1",
            |row| {
                row.resolution_breached = true;
                row.resolution_due
            },
            |fired| &mut fired.resolution_breached,
        ),
    ];
    for (target, late, mark, count) in targets {
        let condition = format!("{late} AND status IN ('open', 'snoozed')");
        for mut row in due(tx, &condition, now, limit).await? {
            // A pending conversation's clock is stopped: its due time moves when it resumes.
            if row.paused_since.is_some() {
                continue;
            }
            let due_at = mark(&mut row);
            row.updated_at = now;
            sql::save(tx, &row).await?;
            let data = json!({"target": target, "due": due_at, "policy": row.sla_policy});
            sql::event(tx, &row, "sla_breached", None, data).await?;
            *count(&mut fired) += 1;
        }
    }
    Ok(fired)
}

/// Runs [`tick`] every `every` until `shutdown`, logging what fired.
pub async fn run(
    store: Store,
    every: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.changed() => return,
        }
        match tick(&store, crate::store::now_millis(), 500).await {
            Ok(fired) if fired.any() => tracing::info!(
                woke = fired.woke,
                first_response_breached = fired.first_response_breached,
                resolution_breached = fired.resolution_breached,
                "conversation timers fired"
            ),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "conversation timers failed; trying again at the next tick")
            }
        }
    }
}
