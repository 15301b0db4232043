//! What a connector's store holds during one call: a WASI context with nothing to reach,
//! outbound HTTP filtered by `allowed_hosts`, the memory limiter, and the host imports (log,
//! config, key-value state).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreContextMut, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use super::bindings::{v0_1_0, v0_2_0, v0_3_0};
use super::kv::{self, KvError, KvStore, KvUsage, KvWrites};
use super::{AllowedHost, ConnectorSettings};

/// How much of a call's stdout and stderr is kept for the log: enough for a panic message and
/// some debugging output, bounded so a chatty guest cannot grow the host.
const STDIO_CAPACITY: usize = 64 << 10;

/// The connector a store belongs to, shared by all its calls.
pub(crate) struct Shared {
    pub id: String,
    pub settings: ConnectorSettings,
    pub kv: Arc<dyn KvStore>,
    /// Log bytes written in the current minute, across calls.
    pub log_window: Mutex<LogWindow>,
}

impl Shared {
    pub fn new(id: String, settings: ConnectorSettings, kv: Arc<dyn KvStore>) -> Self {
        Shared { id, settings, kv, log_window: Mutex::new(LogWindow::default()) }
    }
}

/// The log bytes of one connector in the current minute.
#[derive(Debug, Default)]
pub(crate) struct LogWindow {
    started: Option<Instant>,
    bytes: usize,
    dropped: u64,
}

/// The wall clock a connector reads: real time, or — for the replay of a request kept earlier —
/// the time the request was first received, running on from there.
struct CallClock {
    base: Duration,
    started: Instant,
}

impl wasmtime_wasi::HostWallClock for CallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.base + self.started.elapsed()
    }
}

/// What one call wrote to its key-value state so far, and what its quota check learned.
#[derive(Default)]
pub(crate) struct CallKv {
    pub writes: KvWrites,
    /// The connector's stored usage, read once per call.
    usage: Option<KvUsage>,
    /// Stored sizes of the keys this call wrote.
    existing: HashMap<String, u64>,
}

/// The data of one call's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    pub limiter: MemoryLimiter,
    pub shared: Arc<Shared>,
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
    pub started: Instant,
    pub deadline: Duration,
    pub deadline_hit: bool,
    pub kv: CallKv,
    /// Log bytes this call wrote.
    log_bytes: usize,
}

impl HostState {
    /// The state of one call; `clock_from` (ms since the epoch) starts the connector's wall
    /// clock at that time instead of now (the replay of a request received then).
    pub fn new(shared: Arc<Shared>, clock_from: Option<i64>) -> Self {
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let base = match clock_from {
            Some(ms) if ms > 0 => Duration::from_millis(ms as u64).min(now),
            _ => now,
        };
        // No preopened directories, no environment, no arguments, no stdin, no sockets: the
        // only ways out are the host imports and `wasi:http`, which the hooks filter.
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(CallClock { base, started: Instant::now() })
            .build();
        let limits = shared.settings.limits;
        HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                connector: shared.id.clone(),
                allowed: shared.settings.allowed_hosts.clone().into(),
                recordings: shared.settings.recordings.clone(),
            },
            limiter: MemoryLimiter { limit: limits.memory_bytes, exceeded: false },
            shared,
            stdout,
            stderr,
            started: Instant::now(),
            deadline: limits.deadline,
            deadline_hit: false,
            kv: CallKv::default(),
            log_bytes: 0,
        }
    }

    /// Writes a guest's log line unless a quota is used up (bytes per call, bytes per minute
    /// across calls); the first line dropped in a minute is replaced by one notice.
    fn log(&mut self, level: tracing::Level, message: &str) -> Result<(), String> {
        let connector = self.shared.id.as_str();
        let limits = self.shared.settings.limits;
        let size = message.len();
        if self.log_bytes + size > limits.log_bytes_per_call {
            return Err(format!(
                "log quota exceeded: this call wrote {} bytes, the limit is {} per call",
                self.log_bytes, limits.log_bytes_per_call
            ));
        }
        {
            let mut window = self.shared.log_window.lock().unwrap_or_else(|e| e.into_inner());
            if window.started.is_none_or(|s| s.elapsed() >= Duration::from_secs(60)) {
                if window.dropped > 0 {
                    tracing::warn!(
                        connector,
                        dropped = window.dropped,
                        "connector log lines were dropped over its per-minute quota"
                    );
                }
                *window = LogWindow { started: Some(Instant::now()), bytes: 0, dropped: 0 };
            }
            if window.bytes + size > limits.log_bytes_per_minute {
                window.dropped += 1;
                return Err(format!(
                    "log quota exceeded: {} bytes this minute, the limit is {} per minute",
                    window.bytes, limits.log_bytes_per_minute
                ));
            }
            window.bytes += size;
        }
        self.log_bytes += size;
        match level {
            tracing::Level::TRACE => tracing::trace!(connector, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(connector, "{message}"),
            tracing::Level::INFO => tracing::info!(connector, "{message}"),
            tracing::Level::WARN => tracing::warn!(connector, "{message}"),
            tracing::Level::ERROR => tracing::error!(connector, "{message}"),
        }
        Ok(())
    }

    /// Reads a key: this call's own write first, then the store.
    async fn kv_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        kv::check(key, None)?;
        if let Some(written) = self.kv.writes.0.get(key) {
            return Ok(written.clone());
        }
        let shared = &self.shared;
        shared.kv.get(&shared.id, key).await
    }

    /// Records a write (`None` deletes) for the call's outcome, within the connector's quota.
    async fn kv_write(&mut self, key: String, value: Option<Vec<u8>>) -> Result<(), KvError> {
        kv::check(&key, value.as_deref())?;
        let shared = self.shared.clone();
        if self.kv.usage.is_none() || !self.kv.existing.contains_key(&key) {
            let (usage, existing) = shared.kv.usage(&shared.id, std::slice::from_ref(&key)).await?;
            self.kv.usage = Some(usage);
            self.kv.existing.insert(key.clone(), existing.get(&key).copied().unwrap_or(0));
        }
        let mut after = self.kv.writes.clone();
        after.0.insert(key.clone(), value);
        // Keys the store does not hold were recorded with size 0: they are new.
        let existing: HashMap<String, u64> = self
            .kv
            .existing
            .iter()
            .filter(|(_, size)| **size > 0)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        kv::within_quota(
            shared.settings.limits.kv,
            self.kv.usage.unwrap_or_default(),
            &existing,
            &after,
        )?;
        self.kv.writes = after;
        Ok(())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Adds WASI (sandboxed by the context above), `wasi:http` and the contract's host imports.
/// What the host does with a component's import `name` (`wasi:io/streams@0.2.6`), as
/// [`add_to_linker`] provides them: kept beside it, and checked against real components by the
/// tests of `plugin inspect`.
pub fn import_status(name: &str) -> ImportStatus {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    let wasi_p2 = version.starts_with("0.2.");
    match interface.split_once('/').map(|(package, _)| package) {
        Some("wasi:io" | "wasi:clocks" | "wasi:random" | "wasi:cli") if wasi_p2 => {
            ImportStatus::Provided
        }
        Some("wasi:filesystem") if wasi_p2 => {
            ImportStatus::Inert("the sandbox has no files or directories")
        }
        Some("wasi:sockets") if wasi_p2 => {
            ImportStatus::Inert("the sandbox has no network: use wasi:http for outbound HTTP")
        }
        Some("wasi:http")
            if wasi_p2 && matches!(interface, "wasi:http/types" | "wasi:http/outgoing-handler") =>
        {
            ImportStatus::Provided
        }
        Some("switchboard:connector")
            if matches!(version, "0.1.0" | "0.2.0" | "0.3.0")
                && matches!(
                    interface,
                    "switchboard:connector/host" | "switchboard:connector/types"
                ) =>
        {
            ImportStatus::Provided
        }
        _ => ImportStatus::Refused,
    }
}

/// What the host does with one import of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    /// It is there and works.
    Provided,
    /// It is there, so the component links, but does nothing useful here (why).
    Inert(&'static str),
    /// The host does not provide it: the component does not load.
    Refused,
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    // Every contract version the host accepts: the interfaces are versioned, so they coexist.
    v0_1_0::add_host_to_linker(linker)?;
    v0_2_0::add_host_to_linker(linker)?;
    v0_3_0::add_host_to_linker(linker)
}

/// Called at every epoch tick while the guest runs: past the deadline the call traps;
/// otherwise the guest yields so a busy connector never holds an async worker for long.
pub(crate) fn on_epoch(
    mut store: StoreContextMut<'_, HostState>,
) -> wasmtime::Result<UpdateDeadline> {
    let state = store.data_mut();
    if state.started.elapsed() >= state.deadline {
        state.deadline_hit = true;
        return Ok(UpdateDeadline::Interrupt);
    }
    Ok(UpdateDeadline::Yield(1))
}

/// Caps linear memory growth and remembers that the cap was hit, so the resulting trap (or the
/// Rust allocator's abort) is reported as what it is.
pub(crate) struct MemoryLimiter {
    limit: usize,
    pub exceeded: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any real connector.
        Ok(desired <= 1_000_000)
    }
}

/// Outbound HTTP: only to the connector's `allowed_hosts`; anything else is refused with an
/// error that names the host and is logged.
struct OutboundHooks {
    connector: String,
    allowed: Arc<[AllowedHost]>,
    /// Recorded responses that answer in place of the network (`plugin test --responses`).
    recordings: Option<Arc<crate::recorded::Recordings>>,
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        let uri = request.uri().clone();
        if !super::allowed_hosts::is_allowed(&self.allowed, &uri) {
            let destination = format!(
                "{}://{}",
                uri.scheme_str().unwrap_or("https"),
                uri.authority().map(|a| a.as_str()).unwrap_or("<no host>")
            );
            tracing::warn!(
                connector = %self.connector,
                %destination,
                "refused outbound request to a host not in allowed_hosts"
            );
            let message = format!(
                "{destination} is not in the allowed_hosts of connector `{}`",
                self.connector
            );
            return Box::new(async move {
                // Take what the guest writes before answering: HTTP clients (wstd) upload the
                // body and await the response together and report whichever fails first, so a
                // body stream closed under them would hide this message behind "connection
                // reset".
                use http_body_util::BodyExt;
                let _ = request.into_body().collect().await;
                Err(wasmtime_wasi_http::Error::InternalError(Some(message)))
            });
        }
        tracing::debug!(connector = %self.connector, %uri, method = %request.method(), "outbound request");
        if let Some(recordings) = self.recordings.clone() {
            return Box::new(async move {
                use http_body_util::{BodyExt, Full};
                let method = request.method().to_string();
                let url = uri.to_string();
                let body =
                    request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                let Some(recorded) = recordings.answer(&method, &url, body.len()) else {
                    return Err(wasmtime_wasi_http::Error::InternalError(Some(format!(
                        "no recorded response answers {method} {url}"
                    ))));
                };
                let mut response = http::Response::builder().status(recorded.status);
                for (name, value) in &recorded.headers {
                    response = response.header(name.as_str(), value.as_str());
                }
                let body = Full::new(bytes::Bytes::from(recorded.body))
                    .map_err(|never| match never {})
                    .boxed_unsync();
                let response = response.body(body).map_err(|e| {
                    wasmtime_wasi_http::Error::InternalError(Some(format!(
                        "a recorded response is unusable: {e}"
                    )))
                })?;
                Ok((response, Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>))
            });
        }
        _ = fut;
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// The contract's host imports of 0.1.0 and 0.2.0, whose errors are strings.
macro_rules! string_error_imports {
    ($version:ident) => {
        impl $version::TypesHost for HostState {}

        impl $version::Host for HostState {
            async fn log(
                &mut self,
                level: $version::LogLevel,
                message: String,
            ) -> wasmtime::Result<()> {
                // These contracts cannot hear about a quota: the line is dropped.
                let _ = HostState::log(self, log_level!($version, level), &message);
                Ok(())
            }

            async fn config(&mut self, key: String) -> wasmtime::Result<Option<String>> {
                Ok(self.shared.settings.config.get(&key).cloned())
            }

            async fn kv_get(
                &mut self,
                key: String,
            ) -> wasmtime::Result<Result<Option<Vec<u8>>, String>> {
                Ok(HostState::kv_get(self, &key).await.map_err(|e| e.to_string()))
            }

            async fn kv_set(
                &mut self,
                key: String,
                value: Vec<u8>,
            ) -> wasmtime::Result<Result<(), String>> {
                Ok(self.kv_write(key, Some(value)).await.map_err(|e| e.to_string()))
            }

            async fn kv_delete(&mut self, key: String) -> wasmtime::Result<Result<(), String>> {
                Ok(self.kv_write(key, None).await.map_err(|e| e.to_string()))
            }
        }
    };
}

macro_rules! log_level {
    ($version:ident, $level:expr) => {
        match $level {
            $version::LogLevel::Trace => tracing::Level::TRACE,
            $version::LogLevel::Debug => tracing::Level::DEBUG,
            $version::LogLevel::Info => tracing::Level::INFO,
            $version::LogLevel::Warn => tracing::Level::WARN,
            $version::LogLevel::Error => tracing::Level::ERROR,
        }
    };
}

string_error_imports!(v0_1_0);
string_error_imports!(v0_2_0);

fn host_error(error: KvError) -> v0_3_0::HostError {
    match error {
        KvError::BadKey(_) => v0_3_0::HostError::InvalidKey(error.to_string()),
        KvError::TooLarge(_) => v0_3_0::HostError::TooLarge(error.to_string()),
        KvError::Quota(_) => v0_3_0::HostError::QuotaExceeded(error.to_string()),
        KvError::Unavailable(_) => v0_3_0::HostError::Unavailable(error.to_string()),
    }
}

impl v0_3_0::TypesHost for HostState {}

impl v0_3_0::Host for HostState {
    async fn log(
        &mut self,
        level: v0_3_0::LogLevel,
        message: String,
    ) -> wasmtime::Result<Result<(), v0_3_0::HostError>> {
        Ok(HostState::log(self, log_level!(v0_3_0, level), &message)
            .map_err(v0_3_0::HostError::QuotaExceeded))
    }

    async fn config(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.shared.settings.config.get(&key).cloned())
    }

    async fn kv_get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, v0_3_0::HostError>> {
        Ok(HostState::kv_get(self, &key).await.map_err(host_error))
    }

    async fn kv_set(
        &mut self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), v0_3_0::HostError>> {
        Ok(self.kv_write(key, Some(value)).await.map_err(host_error))
    }

    async fn kv_delete(&mut self, key: String) -> wasmtime::Result<Result<(), v0_3_0::HostError>> {
        Ok(self.kv_write(key, None).await.map_err(host_error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_classed_as_the_linker_provides_them() {
        assert_eq!(import_status("wasi:io/streams@0.2.6"), ImportStatus::Provided);
        assert_eq!(import_status("wasi:http/outgoing-handler@0.2.12"), ImportStatus::Provided);
        assert_eq!(import_status("switchboard:connector/host@0.3.0"), ImportStatus::Provided);
        assert!(matches!(import_status("wasi:sockets/tcp@0.2.0"), ImportStatus::Inert(_)));
        assert!(matches!(import_status("wasi:filesystem/preopens@0.2.0"), ImportStatus::Inert(_)));
        for refused in [
            "wasi:http/incoming-handler@0.2.0",
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:io/streams@0.3.0",
            "switchboard:connector/host@9.0.0",
            "example:anything/else",
        ] {
            assert_eq!(import_status(refused), ImportStatus::Refused, "{refused}");
        }
    }
}
