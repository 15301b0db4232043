//! Placing orders' delivery addresses on the map, off the webhook path.
//!
//! Any connector may report an order with a delivery address; a connector that declares the
//! `geocode` capability (the bundled `google-business`, with its `geocoder_url`) places it. The
//! queue is the store itself — orders whose current address has no answer yet — so an address
//! is placed even when the host restarts first, orders stored before any geocoder was
//! configured are placed once one is, and a changed address is placed again. An answer (a
//! point, or "no such place") is kept, and the same address is not asked twice.
//!
//! One worker per host works the queue, one address at a time and at most one request per
//! `[geocoding] interval` (Nominatim's public instance allows one a second). With several hosts
//! on one PostgreSQL a lease lets one of them work at a time, so that limit holds for the
//! whole deployment. Failures: the geocoder refusing the address (`bad-request`) records it as
//! failed; a crash on one address is retried [`MAX_ATTEMPTS`] times before it is; anything else
//! (geocoder unreachable, `transient`, deadline) pauses the worker with exponential backoff and
//! retries the same address, losing nothing.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::config::Geocoding;
use crate::metrics::Metrics;
use crate::model::{Address, ConnectorError};
use crate::registry::Registry;
use crate::runtime::{CallError, LoadedConnector};
use crate::store::{GeocodeResult, PendingAddress, Store};

/// The lease's name in the poll-lease table; not a valid connector id, so it cannot clash.
const LEASE: &str = "switchboard:geocoding";
/// Addresses read from the queue at once.
const BATCH: i64 = 16;
/// How often an idle worker looks at the queue anyway: orders stored by another host, or a
/// geocoder that came up by a config reload, wake no one here.
const IDLE: Duration = Duration::from_secs(30);
/// The first pause after a failure; it doubles with each failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause after failures in a row.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Crashes of the geocoder on one address before the address is recorded as failed.
pub const MAX_ATTEMPTS: i64 = 3;

/// Wakes the geocoding worker when orders with an address were stored. Cheap to clone.
#[derive(Clone, Default)]
pub struct Geocoder {
    wake: Arc<Notify>,
}

impl Geocoder {
    /// A handle whose worker is started by [`Geocoder::spawn`].
    pub fn new() -> Geocoder {
        Geocoder::default()
    }

    /// Wakes the worker: an order with a delivery address was stored.
    pub fn address_stored(&self) {
        self.wake.notify_one();
    }

    /// Starts the worker; it ends when `shutdown` turns true.
    pub fn spawn(
        &self,
        store: Store,
        registry: Arc<Registry>,
        metrics: Arc<Metrics>,
        settings: Geocoding,
        holder: String,
        shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let worker = Worker {
            store,
            registry,
            metrics,
            settings,
            holder,
            wake: self.wake.clone(),
            shutdown,
            last_request: None,
        };
        tokio::spawn(worker.run())
    }
}

struct Worker {
    store: Store,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    settings: Geocoding,
    holder: String,
    wake: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    last_request: Option<Instant>,
}

/// How a pass over the queue ended.
enum Pass {
    /// Nothing left, no geocoder, or another host holds the lease.
    Idle,
    /// A failure: wait, then retry.
    Failed,
    /// Shutting down.
    Stop,
}

/// What the geocoders said of one address.
enum Answer {
    /// A geocoder answered for the address (found, not found, or refused it).
    Settled(String, GeocodeResult),
    /// No serving connector geocodes (none declares it, or none is configured to).
    NoGeocoder,
    /// The geocoder crashed on this address.
    Crashed(String, String),
    /// The geocoder is unavailable; the address is not to blame.
    Unavailable(String),
}

impl Worker {
    async fn run(mut self) {
        let mut failures: u32 = 0;
        // Orders left from before a restart are worked at once.
        let mut wait = Duration::ZERO;
        loop {
            let mut shutdown = self.shutdown.clone();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                // A pause after a failure is not cut short by new orders.
                _ = self.wake.notified(), if failures == 0 => {}
                _ = shutdown.changed() => break,
            }
            match self.pass().await {
                Pass::Idle => {
                    failures = 0;
                    wait = IDLE;
                }
                Pass::Failed => {
                    failures += 1;
                    wait = (FIRST_BACKOFF * 2u32.saturating_pow(failures - 1)).min(MAX_BACKOFF);
                }
                Pass::Stop => break,
            }
        }
        let _ = self.store.release_lease(LEASE, &self.holder).await;
    }

    fn geocoders(&self) -> Vec<LoadedConnector> {
        self.registry
            .all()
            .into_iter()
            .filter_map(|slot| slot.serving())
            .filter(|loaded| loaded.manifest().capabilities.geocode)
            .collect()
    }

    /// Works the queue until it is empty or something fails.
    async fn pass(&mut self) -> Pass {
        loop {
            let geocoders = self.geocoders();
            if geocoders.is_empty() {
                return Pass::Idle;
            }
            // Renewed every batch; long enough for a batch at the configured pace.
            let ttl = (self.settings.interval * (BATCH as u32 + 2)).max(Duration::from_secs(60));
            match self.store.acquire_lease(LEASE, &self.holder, ttl.as_millis() as i64).await {
                Ok(true) => {}
                Ok(false) => return Pass::Idle,
                Err(error) => {
                    tracing::warn!(%error, "geocoding: could not take the lease");
                    return Pass::Failed;
                }
            }
            let batch = match self.store.addresses_to_geocode(BATCH).await {
                Ok(batch) if batch.is_empty() => return Pass::Idle,
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(%error, "geocoding: could not read the queue");
                    return Pass::Failed;
                }
            };
            for pending in batch {
                if *self.shutdown.borrow() {
                    return Pass::Stop;
                }
                if let Some(end) = self.place(&geocoders, &pending).await {
                    return end;
                }
            }
        }
    }

    /// Asks for one address and records the answer; `None` to go on with the next, else how
    /// the pass ends.
    async fn place(
        &mut self,
        geocoders: &[LoadedConnector],
        pending: &PendingAddress,
    ) -> Option<Pass> {
        let order = pending.order_id;
        let answer = self.ask(geocoders, &pending.address).await;
        let (geocoder, result) = match answer {
            Answer::Settled(geocoder, result) => (geocoder, result),
            Answer::NoGeocoder => return Some(Pass::Idle),
            Answer::Unavailable(error) => {
                self.metrics.geocoded("unavailable");
                tracing::warn!(order, %error, "geocoding: geocoder unavailable; backing off");
                return Some(Pass::Failed);
            }
            Answer::Crashed(geocoder, error) => {
                let attempts = pending.attempts + 1;
                tracing::warn!(order, geocoder, attempts, %error, "geocoding: geocoder failed on an address");
                if attempts < MAX_ATTEMPTS {
                    if let Err(error) = self.store.geocode_attempt_failed(order).await {
                        tracing::warn!(order, %error, "geocoding: could not count the attempt");
                    }
                    return Some(Pass::Failed);
                }
                (geocoder, GeocodeResult::Failed(format!("failed {attempts} times: {error}")))
            }
        };
        self.metrics.geocoded(match &result {
            GeocodeResult::Found(_) => "placed",
            GeocodeResult::NotFound => "not_found",
            GeocodeResult::Failed(_) => "failed",
        });
        match self.store.record_geocode(order, &pending.stored, &geocoder, &result).await {
            Ok(recorded) => {
                tracing::debug!(order, geocoder, recorded, result = ?result, "geocoding: answered");
                None
            }
            Err(error) => {
                tracing::warn!(order, %error, "geocoding: could not store the answer");
                Some(Pass::Failed)
            }
        }
    }

    /// Asks each geocoder in turn until one answers, at the configured pace.
    async fn ask(&mut self, geocoders: &[LoadedConnector], address: &Address) -> Answer {
        for geocoder in geocoders {
            if let Some(last) = self.last_request {
                tokio::time::sleep_until(last + self.settings.interval).await;
            }
            self.last_request = Some(Instant::now());
            let id = geocoder.id().to_string();
            let started = std::time::Instant::now();
            let answer = geocoder.geocode(address.clone()).await;
            let outcome = match &answer {
                Ok(_) => "ok",
                Err(CallError::Connector { .. }) => "rejected",
                Err(_) => "failed",
            };
            self.metrics.call(&id, "geocode", outcome, started.elapsed().as_secs_f64());
            match answer {
                Ok(Some(point)) => return Answer::Settled(id, GeocodeResult::Found(point)),
                Ok(None) => return Answer::Settled(id, GeocodeResult::NotFound),
                Err(CallError::Connector { error, .. }) => match error {
                    // Not configured to geocode (e.g. no `geocoder_url`): the next may be.
                    ConnectorError::Unsupported(_) | ConnectorError::Config(_) => {
                        self.last_request = None;
                        continue;
                    }
                    ConnectorError::BadRequest(message) => {
                        return Answer::Settled(id, GeocodeResult::Failed(message));
                    }
                    other => return Answer::Unavailable(format!("`{id}`: {other}")),
                },
                Err(
                    error @ (CallError::Panic { .. }
                    | CallError::Trap { .. }
                    | CallError::MemoryLimit { .. }),
                ) => {
                    return Answer::Crashed(id, error.to_string());
                }
                Err(error) => return Answer::Unavailable(error.to_string()),
            }
        }
        Answer::NoGeocoder
    }
}
