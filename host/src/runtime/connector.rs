//! A loaded connector: its pre-linked component, its manifest, and the calls into it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::Component;

use super::bindings::{v0_1_0, v0_2_0, v0_3_0};
use super::error::{CallError, LoadError};
use super::kv::KvWrites;
use super::state::{self, HostState, Shared};
use super::{ConnectorSettings, Origin, Runtime, manifest};
use crate::model;

/// A pre-linked component, per the contract version it was built for.
enum Pre {
    V0_1(v0_1_0::PluginPre<HostState>),
    V0_2(v0_2_0::PluginPre<HostState>),
    V0_3(v0_3_0::PluginPre<HostState>),
}

/// An instance, per contract version.
enum Plugin {
    V0_1(v0_1_0::Plugin),
    V0_2(v0_2_0::Plugin),
    V0_3(v0_3_0::Plugin),
}

/// Runs the same call on an instance of any contract version: `$p` is the version's instance,
/// and the version's own conversions apply through `Into`.
macro_rules! dispatch {
    ($plugin:expr, $p:ident => $call:expr) => {
        match $plugin {
            Plugin::V0_1($p) => $call,
            Plugin::V0_2($p) => $call,
            Plugin::V0_3($p) => $call,
        }
    };
}

/// A connector that passed every load check, ready to be called. Cheap to clone; calls may
/// run concurrently, each in its own instance.
#[derive(Clone)]
pub struct LoadedConnector {
    inner: Arc<Inner>,
}

struct Inner {
    pre: Pre,
    shared: Arc<Shared>,
    manifest: model::Manifest,
    wit_version: String,
    sha256: String,
    size_bytes: usize,
    origin: Origin,
    load_time: Duration,
}

impl std::fmt::Debug for LoadedConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedConnector")
            .field("id", &self.id())
            .field("manifest", &self.inner.manifest)
            .field("wit_version", &self.inner.wit_version)
            .finish_non_exhaustive()
    }
}

impl LoadedConnector {
    pub(super) async fn link(
        runtime: &Runtime,
        component: Component,
        bytes: &[u8],
        wit_version: String,
        origin: Origin,
        load_time: Duration,
        settings: ConnectorSettings,
    ) -> Result<Self, LoadError> {
        let rt = &runtime.inner;
        let instance_pre = rt
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::WorldMismatch(format!("{e:#}")))?;
        let mismatch = |e: wasmtime::Error| LoadError::WorldMismatch(format!("{e:#}"));
        let pre = match wit_version.as_str() {
            v0_1_0::VERSION => Pre::V0_1(v0_1_0::PluginPre::new(instance_pre).map_err(mismatch)?),
            v0_2_0::VERSION => Pre::V0_2(v0_2_0::PluginPre::new(instance_pre).map_err(mismatch)?),
            _ => Pre::V0_3(v0_3_0::PluginPre::new(instance_pre).map_err(mismatch)?),
        };
        // The manifest is read in a sandbox like any other call, under a provisional id.
        let provisional = settings.id.clone().unwrap_or_else(|| "<loading>".into());
        let shared = Arc::new(Shared::new(provisional, settings.clone(), rt.kv.clone()));
        // What a manifest call writes to its state is dropped: loading must change nothing.
        let (manifest, _): (model::Manifest, _) = call(&pre, &shared, None, async |plugin, store| {
            Ok(dispatch!(plugin, p => p.switchboard_connector_connector().call_manifest(store).await?.into()))
        })
        .await
        .map_err(|e| LoadError::ManifestCall(Box::new(e)))?;
        let problems = manifest::validate(&manifest);
        if !problems.is_empty() {
            return Err(LoadError::InvalidManifest { problems });
        }
        let id = settings.id.clone().unwrap_or_else(|| manifest.id.clone());
        let shared = Arc::new(Shared::new(id, settings, rt.kv.clone()));
        use sha2::Digest as _;
        Ok(LoadedConnector {
            inner: Arc::new(Inner {
                pre,
                shared,
                manifest,
                wit_version,
                sha256: hex::encode(sha2::Sha256::digest(bytes)),
                size_bytes: bytes.len(),
                origin,
                load_time,
            }),
        })
    }

    /// The id the host knows it by.
    pub fn id(&self) -> &str {
        &self.inner.shared.id
    }

    /// What the connector says it is.
    pub fn manifest(&self) -> &model::Manifest {
        &self.inner.manifest
    }

    /// The contract version it was built for, e.g. `0.1.0`.
    pub fn wit_version(&self) -> &str {
        &self.inner.wit_version
    }

    /// SHA-256 of the component file, hex.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// Size of the component file in bytes.
    pub fn size_bytes(&self) -> usize {
        self.inner.size_bytes
    }

    /// Whether it was compiled now or loaded from the cache.
    pub fn origin(&self) -> Origin {
        self.inner.origin
    }

    /// How long compiling or loading from the cache took.
    pub fn load_time(&self) -> Duration {
        self.inner.load_time
    }

    /// The operator's settings for it.
    pub fn settings(&self) -> &ConnectorSettings {
        &self.inner.shared.settings
    }

    /// Runs `handle-webhook` on one provider request and writes what it wrote to its state.
    pub async fn handle_webhook(
        &self,
        request: model::HttpRequest,
    ) -> Result<model::WebhookOutcome, CallError> {
        let (outcome, writes) = self.handle_webhook_staged(request).await?;
        self.apply(writes).await?;
        Ok(outcome)
    }

    /// Runs `handle-webhook` and hands back its state writes with the outcome, for the caller
    /// to commit with the events. The connector's wall clock starts at the request's
    /// `received_at`, so a replay verifies time windows as of the first receipt.
    pub async fn handle_webhook_staged(
        &self,
        request: model::HttpRequest,
    ) -> Result<(model::WebhookOutcome, KvWrites), CallError> {
        let received_at = request.received_at;
        self.call(Some(received_at), async move |plugin, store| {
            Ok(dispatch!(plugin, p => p
                .switchboard_connector_connector()
                .call_handle_webhook(store, &request.into())
                .await?
                .map(Into::into)
                .map_err(Into::into)))
        })
        .await
    }

    /// Runs `poll` from `cursor` and writes what it wrote to its state.
    pub async fn poll(&self, cursor: Option<String>) -> Result<model::PollOutcome, CallError> {
        let (outcome, writes) = self.poll_staged(cursor).await?;
        self.apply(writes).await?;
        Ok(outcome)
    }

    /// Runs `poll` and hands back its state writes, to be committed with its events and cursor.
    pub async fn poll_staged(
        &self,
        cursor: Option<String>,
    ) -> Result<(model::PollOutcome, KvWrites), CallError> {
        self.call(None, async move |plugin, store| {
            Ok(dispatch!(plugin, p => p
                .switchboard_connector_connector()
                .call_poll(store, cursor.as_deref())
                .await?
                .map(Into::into)
                .map_err(Into::into)))
        })
        .await
    }

    /// Runs `send` for one outbound message; its state writes are kept once it succeeded.
    pub async fn send(&self, message: model::OutboundMessage) -> Result<model::Receipt, CallError> {
        let (receipt, writes) = self
            .call(None, async move |plugin, store| {
                Ok(dispatch!(plugin, p => p
                    .switchboard_connector_connector()
                    .call_send(store, &message.into())
                    .await?
                    .map(Into::into)
                    .map_err(Into::into)))
            })
            .await?;
        self.apply(writes).await?;
        Ok(receipt)
    }

    /// Runs `geocode` on an address; connectors built for contract 0.1.0, which has no such
    /// export, answer [`model::ConnectorError::Unsupported`].
    pub async fn geocode(
        &self,
        address: model::Address,
    ) -> Result<Option<model::GeoPoint>, CallError> {
        let (point, writes) = self
            .call(None, async move |plugin, store| match plugin {
                Plugin::V0_1(_) => Ok(Err(model::ConnectorError::Unsupported(
                    "contract 0.1.0 has no geocode".into(),
                ))),
                Plugin::V0_2(p) => Ok(p
                    .switchboard_connector_connector()
                    .call_geocode(store, &address.into())
                    .await?
                    .map(|point| point.map(Into::into))
                    .map_err(Into::into)),
                Plugin::V0_3(p) => Ok(p
                    .switchboard_connector_connector()
                    .call_geocode(store, &address.into())
                    .await?
                    .map(|point| point.map(Into::into))
                    .map_err(Into::into)),
            })
            .await?;
        self.apply(writes).await?;
        Ok(point)
    }

    /// Writes a successful call's state writes on their own (calls without events to commit).
    async fn apply(&self, writes: KvWrites) -> Result<(), CallError> {
        if writes.is_empty() {
            return Ok(());
        }
        let shared = &self.inner.shared;
        shared.kv.apply(&shared.id, &writes).await.map_err(|error| CallError::State {
            connector: shared.id.clone(),
            message: error.to_string(),
        })
    }

    async fn call<T>(
        &self,
        clock_from: Option<i64>,
        f: impl AsyncFnOnce(
            &Plugin,
            &mut Store<HostState>,
        ) -> wasmtime::Result<Result<T, model::ConnectorError>>,
    ) -> Result<(T, KvWrites), CallError> {
        let shared = &self.inner.shared;
        let clock_from = clock_from.or(shared.settings.clock);
        match call(&self.inner.pre, shared, clock_from, f).await? {
            (Ok(value), writes) => Ok((value, writes)),
            // A connector that refused the call wrote nothing either.
            (Err(error), _) => Err(CallError::Connector { connector: shared.id.clone(), error }),
        }
    }
}

/// One call in a fresh store: instantiate, run `f` under the deadline and the memory cap, and
/// turn every way it can fail into a [`CallError`] for this call alone.
async fn call<T>(
    pre: &Pre,
    shared: &Arc<Shared>,
    clock_from: Option<i64>,
    f: impl AsyncFnOnce(&Plugin, &mut Store<HostState>) -> wasmtime::Result<T>,
) -> Result<(T, KvWrites), CallError> {
    let connector = shared.id.clone();
    let deadline = shared.settings.limits.deadline;
    let engine = match pre {
        Pre::V0_1(pre) => pre.engine(),
        Pre::V0_2(pre) => pre.engine(),
        Pre::V0_3(pre) => pre.engine(),
    };
    let mut store = Store::new(engine, HostState::new(shared.clone(), clock_from));
    store.limiter(|state| &mut state.limiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(state::on_epoch);
    let started = Instant::now();
    let run = async {
        let plugin = match pre {
            Pre::V0_1(pre) => pre.instantiate_async(&mut store).await.map(Plugin::V0_1),
            Pre::V0_2(pre) => pre.instantiate_async(&mut store).await.map(Plugin::V0_2),
            Pre::V0_3(pre) => pre.instantiate_async(&mut store).await.map(Plugin::V0_3),
        }
        .map_err(Failure::Instantiate)?;
        f(&plugin, &mut store).await.map_err(Failure::Run)
    };
    // The epoch callback stops a guest that computes past its deadline; this timeout stops one
    // that waits past it (on outbound HTTP, say).
    let outcome = tokio::time::timeout(deadline, run).await;
    let elapsed = started.elapsed();
    forward_stdio(&connector, store.data());
    let error = match outcome {
        Ok(Ok(value)) => {
            tracing::trace!(connector, ?elapsed, "call finished");
            return Ok((value, std::mem::take(&mut store.data_mut().kv.writes)));
        }
        Err(_) => CallError::Deadline { connector, deadline },
        Ok(Err(Failure::Instantiate(error))) => {
            CallError::Instantiate { connector, message: format!("{error:#}") }
        }
        Ok(Err(Failure::Run(error))) => classify(connector, store.data(), error),
    };
    tracing::warn!(%error, ?elapsed, "connector call failed");
    Err(error)
}

enum Failure {
    Instantiate(wasmtime::Error),
    Run(wasmtime::Error),
}

fn classify(connector: String, state: &HostState, error: wasmtime::Error) -> CallError {
    if state.deadline_hit {
        return CallError::Deadline { connector, deadline: state.deadline };
    }
    if state.limiter.exceeded {
        return CallError::MemoryLimit {
            connector,
            limit_bytes: state.shared.settings.limits.memory_bytes,
        };
    }
    let stderr = String::from_utf8_lossy(&state.stderr.contents()).into_owned();
    if let Some(message) = panic_message(&stderr) {
        return CallError::Panic { connector, message };
    }
    CallError::Trap { connector, message: format!("{error:#}") }
}

/// Rust's panic hook writes `thread '…' panicked at src/lib.rs:3:5:\n<message>` to stderr
/// before the guest aborts.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at ")?;
    let rest = &stderr[start + "panicked at ".len()..];
    let (location, message) = rest.split_once(":\n").unwrap_or((rest, ""));
    let message = message.lines().next().unwrap_or("").trim();
    Some(if message.is_empty() {
        location.trim().to_string()
    } else {
        format!("{message} (at {location})")
    })
}

/// Guest stdout and stderr go to the log, one event per line, tagged with the connector.
fn forward_stdio(connector: &str, state: &HostState) {
    for (stream, pipe) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
        let contents = pipe.contents();
        for line in String::from_utf8_lossy(&contents).lines().filter(|l| !l.trim().is_empty()) {
            tracing::info!(connector, stream, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn panic_messages_are_read_from_stderr() {
        let stderr = "\nthread '<unnamed>' panicked at tests/guests/panic/src/lib.rs:14:9:\nconnector bug: index 4 out of 0 items\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(stderr).unwrap(),
            "connector bug: index 4 out of 0 items (at tests/guests/panic/src/lib.rs:14:9)"
        );
        assert_eq!(panic_message("just a log line"), None);
    }
}
