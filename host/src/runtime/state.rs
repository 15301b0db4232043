//! What a connector's store holds during one call: a WASI context with nothing to reach,
//! outbound HTTP filtered by `allowed_hosts`, the memory limiter, and the host imports (log,
//! config, key-value state).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreContextMut, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use super::bindings::{v0_1_0, v0_2_0};
use super::kv::KvStore;
use super::{AllowedHost, ConnectorSettings};

/// How much of a call's stdout and stderr is kept for the log: enough for a panic message and
/// some debugging output, bounded so a chatty guest cannot grow the host.
const STDIO_CAPACITY: usize = 64 << 10;

/// The connector a store belongs to, shared by all its calls.
pub(crate) struct Shared {
    pub id: String,
    pub settings: ConnectorSettings,
    pub kv: Arc<dyn KvStore>,
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
}

impl HostState {
    pub fn new(shared: Arc<Shared>) -> Self {
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        // No preopened directories, no environment, no arguments, no stdin, no sockets: the
        // only ways out are the host imports and `wasi:http`, which the hooks filter.
        let wasi = WasiCtxBuilder::new().stdout(stdout.clone()).stderr(stderr.clone()).build();
        let limits = shared.settings.limits;
        HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                connector: shared.id.clone(),
                allowed: shared.settings.allowed_hosts.clone().into(),
            },
            limiter: MemoryLimiter { limit: limits.memory_bytes, exceeded: false },
            shared,
            stdout,
            stderr,
            started: Instant::now(),
            deadline: limits.deadline,
            deadline_hit: false,
        }
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
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    // Every contract version the host accepts: the interfaces are versioned, so they coexist.
    v0_1_0::add_host_to_linker(linker)?;
    v0_2_0::add_host_to_linker(linker)
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

/// The contract's host imports, the same in every version.
macro_rules! host_imports {
    ($version:ident) => {
        impl $version::TypesHost for HostState {}

        impl $version::Host for HostState {
            async fn log(
                &mut self,
                level: $version::LogLevel,
                message: String,
            ) -> wasmtime::Result<()> {
                let connector = self.shared.id.as_str();
                match level {
                    $version::LogLevel::Trace => tracing::trace!(connector, "{message}"),
                    $version::LogLevel::Debug => tracing::debug!(connector, "{message}"),
                    $version::LogLevel::Info => tracing::info!(connector, "{message}"),
                    $version::LogLevel::Warn => tracing::warn!(connector, "{message}"),
                    $version::LogLevel::Error => tracing::error!(connector, "{message}"),
                }
                Ok(())
            }

            async fn config(&mut self, key: String) -> wasmtime::Result<Option<String>> {
                Ok(self.shared.settings.config.get(&key).cloned())
            }

            async fn kv_get(
                &mut self,
                key: String,
            ) -> wasmtime::Result<Result<Option<Vec<u8>>, String>> {
                let shared = &self.shared;
                Ok(shared.kv.get(&shared.id, &key).await.map_err(|e| e.to_string()))
            }

            async fn kv_set(
                &mut self,
                key: String,
                value: Vec<u8>,
            ) -> wasmtime::Result<Result<(), String>> {
                let shared = &self.shared;
                Ok(shared.kv.set(&shared.id, &key, value).await.map_err(|e| e.to_string()))
            }

            async fn kv_delete(&mut self, key: String) -> wasmtime::Result<Result<(), String>> {
                let shared = &self.shared;
                Ok(shared.kv.delete(&shared.id, &key).await.map_err(|e| e.to_string()))
            }
        }
    };
}

host_imports!(v0_1_0);
host_imports!(v0_2_0);
