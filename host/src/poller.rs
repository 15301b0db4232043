//! Polling: each connector with a `poll_interval` is polled from its persisted cursor; its
//! events and the next cursor are committed together; errors back off exponentially; and with
//! several hosts on one PostgreSQL a lease in the store lets exactly one of them poll a
//! connector at a time.

use std::time::Duration;

use crate::http::AppState;
use crate::runtime::CallError;

/// The longest wait after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Polls every connector that has a poll interval, until `shutdown` resolves.
pub async fn run(state: AppState, holder: String, shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut tasks = tokio::task::JoinSet::new();
    let mut running: std::collections::BTreeSet<String> = Default::default();
    let mut shutdown_rx = shutdown.clone();
    loop {
        // Connectors come and go with config reloads: start a task for each new one. A task
        // ends by itself when its connector is removed or stops polling.
        for slot in state.registry.all() {
            if slot.entry().poll_interval.is_some() && running.insert(slot.id.clone()) {
                let (state, holder, shutdown, id) =
                    (state.clone(), holder.clone(), shutdown.clone(), slot.id.clone());
                tasks.spawn(async move {
                    poll_connector(&state, &id, &holder, shutdown).await;
                    id
                });
            }
        }
        tokio::select! {
            Some(Ok(id)) = tasks.join_next() => { running.remove(&id); }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown_rx.changed() => break,
        }
    }
    while tasks.join_next().await.is_some() {}
}

async fn poll_connector(
    state: &AppState,
    id: &str,
    holder: &str,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    loop {
        let Some(slot) = state.registry.get(id) else { return };
        let Some(interval) = slot.entry().poll_interval else { return };
        let wait = if failures == 0 {
            interval
        } else {
            (interval * 2u32.saturating_pow(failures.min(16))).min(MAX_BACKOFF.max(interval))
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {
                let _ = state.store.release_lease(id, holder).await;
                return;
            }
        }
        let Some(connector) = slot.serving() else { continue };
        if !connector.manifest().capabilities.poll {
            continue;
        }
        // The lease outlives one interval so the holder keeps it between polls, and expires
        // soon enough after a crash for another host to take over.
        let ttl = (interval * 3).max(Duration::from_secs(10)).as_millis() as i64;
        match state.store.acquire_lease(id, holder, ttl).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(connector = id, %error, "could not take the poll lease");
                failures += 1;
                continue;
            }
        }
        let cursor = match state.store.cursor(id).await {
            Ok(cursor) => cursor,
            Err(error) => {
                tracing::warn!(connector = id, %error, "could not read the poll cursor");
                failures += 1;
                continue;
            }
        };
        let started = std::time::Instant::now();
        slot.counters.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        slot.record_poll(crate::store::now_millis());
        let result = match connector.poll_staged(cursor).await {
            Ok((outcome, kv)) => {
                state.metrics.call(id, "poll", "ok", started.elapsed().as_secs_f64());
                // The events, the connector's state writes and the next cursor: one
                // transaction, so a poll that cannot be stored is polled again from the same
                // cursor with the same state.
                let kinds: Vec<&'static str> =
                    outcome.events.iter().map(crate::model::Event::kind).collect();
                let addressed =
                    outcome.events.iter().any(crate::model::Event::has_delivery_address);
                let foreign = crate::router::foreign_namespace(
                    connector.manifest(),
                    &connector.settings().extra_namespaces,
                    &outcome.events,
                );
                match foreign {
                    Some(namespace) => Err(crate::router::foreign_namespace_error(
                        connector.manifest(),
                        &namespace,
                    )),
                    None => match state
                        .store
                        .ingest_call(id, outcome.events, kv, outcome.next_cursor)
                        .await
                    {
                        Ok(_) => {
                            state.metrics.stored(id, &kinds);
                            if addressed {
                                state.geocoder.address_stored();
                            }
                            Ok(kinds.len())
                        }
                        Err(error) => Err(format!("the store failed: {error}")),
                    },
                }
            }
            Err(error) => {
                let outcome = if matches!(error, CallError::Connector { .. }) {
                    "rejected"
                } else {
                    "failed"
                };
                state.metrics.call(id, "poll", outcome, started.elapsed().as_secs_f64());
                Err(error.to_string())
            }
        };
        match result {
            Ok(count) => {
                failures = 0;
                tracing::debug!(connector = id, events = count, "polled");
            }
            Err(error) => {
                failures += 1;
                slot.counters.errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                slot.record_error(&error);
                tracing::warn!(connector = id, %error, failures, "poll failed; backing off");
            }
        }
    }
}

/// A name for this host in poll leases: hostname and process id.
pub fn holder_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    // Several servers may run in one process (tests): a counter keeps their names apart.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{host}:{}:{}:{n}", std::process::id(), crate::store::now_millis())
}
