//! The plugin runtime: one wasmtime [`Engine`] that compiles connector components (cached on
//! disk), checks them against the contract, and runs each call in a fresh sandboxed instance.
//!
//! **Isolation trade-off.** Every call gets a new `Store` and instance from the pre-linked
//! [`InstancePre`](wasmtime::component::InstancePre): about 35–45 µs per call against ~5 µs on a
//! reused instance (see `benches/runtime.rs`). In exchange no state survives from one webhook to
//! the next (one customer's data can never leak into another's call through a global), a trap
//! or a panic cannot leave a half-updated instance behind, and memory a call grew is returned
//! to the pool at once. Connectors keep what must persist in the host's key-value store.

pub mod allowed_hosts;
pub mod bindings;
pub mod cache;
mod connector;
pub mod error;
pub mod kv;
mod manifest;
mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use allowed_hosts::{AllowedHost, AllowedHostError};
pub use cache::{ComponentCache, Origin};
pub use connector::LoadedConnector;
pub use error::{CallError, LoadError};
pub use kv::{KvError, KvQuota, KvStore, KvUsage, KvWrites, MemoryKv};
pub use manifest::validate as validate_manifest;

use state::HostState;
pub use state::ImportStatus;

/// Default memory cap of one connector call: ample for JSON and MIME parsing, small enough
/// that a runaway connector cannot hurt the host.
pub const DEFAULT_MEMORY_LIMIT: usize = 64 << 20;
/// Default deadline of one call: providers retry webhooks that take longer than ~10 s, and a
/// connector's own outbound calls should finish well within that.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

/// How often the engine's epoch advances: the granularity of deadlines, and how often a busy
/// guest yields its thread to other tasks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Settings of the runtime as a whole.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// How many connector calls may run at the same time (instance pool slots). Each slot
    /// reserves address space, not memory: about 4 GiB of virtual memory per slot.
    pub max_concurrent_calls: u32,
    /// The largest memory cap any connector may be given.
    pub max_memory_limit: usize,
    /// Bytes of each pool slot's linear memory kept resident (zeroed in place) between calls
    /// instead of being returned to the kernel. Higher scales better across threads; each slot
    /// a connector has used then holds up to this much RSS while idle.
    pub keep_resident: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            // Enough for a busy host on two cores (calls take tens of microseconds), and only
            // ~512 GiB of reserved address space, which every 64-bit Linux allows.
            max_concurrent_calls: 128,
            // A connector that needs more than this is doing something a connector should not.
            max_memory_limit: 512 << 20,
            // What a JSON connector touches per call; 1 MiB was measured too little to scale.
            keep_resident: 4 << 20,
        }
    }
}

/// Default log bytes of one call: a panic message, some debugging output, the same bound as a
/// call's stdout and stderr.
pub const DEFAULT_LOG_BYTES_PER_CALL: usize = 64 << 10;
/// Default log bytes of one connector per minute, across its calls: enough to debug, too little
/// to fill a disk.
pub const DEFAULT_LOG_BYTES_PER_MINUTE: usize = 1 << 20;

/// Resource limits of one connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory cap of one call, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock deadline of one call, outbound HTTP included.
    pub deadline: Duration,
    /// Its key-value state: entries and bytes.
    pub kv: KvQuota,
    /// Bytes a call may write to the log through the `log` import.
    pub log_bytes_per_call: usize,
    /// Bytes the connector may log per minute, all calls together.
    pub log_bytes_per_minute: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: DEFAULT_MEMORY_LIMIT,
            deadline: DEFAULT_DEADLINE,
            kv: KvQuota::default(),
            log_bytes_per_call: DEFAULT_LOG_BYTES_PER_CALL,
            log_bytes_per_minute: DEFAULT_LOG_BYTES_PER_MINUTE,
        }
    }
}

/// What the operator configured for one connector.
#[derive(Clone, Default)]
pub struct ConnectorSettings {
    /// The id the host knows the connector by (its `[[connector]] id`); `None` takes the
    /// manifest's id.
    pub id: Option<String>,
    /// The connector's `config` table, secrets included: what `config(key)` answers.
    pub config: BTreeMap<String, String>,
    /// Where its outbound HTTP may go.
    pub allowed_hosts: Vec<AllowedHost>,
    /// Memory cap and deadline.
    pub limits: Limits,
    /// Namespaces of other connectors' ids it may report besides those its manifest declares.
    pub extra_namespaces: Vec<String>,
    /// Outbound HTTP answered by recorded responses instead of the network (`plugin test
    /// --responses`); the allowed hosts still apply.
    pub recordings: Option<Arc<crate::recorded::Recordings>>,
    /// The wall clock each call starts at instead of now (`plugin test --now`); a webhook's
    /// own receipt time comes first.
    pub clock: Option<i64>,
}

impl std::fmt::Debug for ConnectorSettings {
    // Config values are secrets as often as not: only their keys are ever printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorSettings")
            .field("id", &self.id)
            .field("config_keys", &self.config.keys().collect::<Vec<_>>())
            .field(
                "allowed_hosts",
                &self.allowed_hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
            .field("limits", &self.limits)
            .field("extra_namespaces", &self.extra_namespaces)
            .field("recorded_responses", &self.recordings.is_some())
            .field("clock", &self.clock)
            .finish()
    }
}

/// What a component imports and exports.
#[derive(Debug, Clone)]
pub struct ComponentInterface {
    /// Each import, with what the host does with it.
    pub imports: Vec<(String, ImportStatus)>,
    /// Each export.
    pub exports: Vec<String>,
}

/// The engine, the linker with every host import, and the component cache.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<HostState>,
    cache: ComponentCache,
    kv: Arc<dyn KvStore>,
    config: RuntimeConfig,
    /// Held only to stop the epoch thread when the last handle goes.
    _ticker: Arc<()>,
}

impl Runtime {
    /// Builds the engine (pooling allocator, epoch interruption, component model) and the
    /// linker. `kv` persists connectors' private state.
    pub fn new(config: RuntimeConfig, kv: Arc<dyn KvStore>) -> Result<Self, LoadError> {
        let engine = build_engine(&config)?;
        let mut linker = Linker::new(&engine);
        state::add_to_linker(&mut linker).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let ticker = Arc::new(());
        spawn_epoch_ticker(engine.clone(), Arc::downgrade(&ticker));
        let cache = ComponentCache::new(config.cache_dir.clone());
        Ok(Runtime {
            inner: Arc::new(RuntimeInner { engine, linker, cache, kv, config, _ticker: ticker }),
        })
    }

    /// The engine, for benchmarks and tools that compile components themselves.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The component cache.
    pub fn cache(&self) -> &ComponentCache {
        &self.inner.cache
    }

    /// The imports of a component (each with what the host does with it) and its exports,
    /// without linking it: what `plugin inspect` prints even for a component the host refuses.
    pub async fn interface(&self, bytes: &[u8]) -> Result<ComponentInterface, LoadError> {
        let (engine, cache, owned) =
            (self.inner.engine.clone(), self.inner.cache.clone(), bytes.to_vec());
        let (component, _) = tokio::task::spawn_blocking(move || cache.load(&engine, &owned))
            .await
            .map_err(|e| LoadError::Engine(format!("compile task failed: {e}")))??;
        let ty = component.component_type();
        let engine = &self.inner.engine;
        Ok(ComponentInterface {
            imports: ty
                .imports(engine)
                .map(|(name, _)| (name.to_string(), state::import_status(name)))
                .collect(),
            exports: ty.exports(engine).map(|(name, _)| name.to_string()).collect(),
        })
    }

    /// Reads, compiles (or loads from the cache), links and checks the component at `path`.
    pub async fn load_file(
        &self,
        path: &Path,
        settings: ConnectorSettings,
    ) -> Result<LoadedConnector, LoadError> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
        self.load(&bytes, settings).await
    }

    /// Compiles (or loads from the cache), links and checks a component: it must export the
    /// connector interface of a WIT version this host accepts, import nothing the host does not
    /// provide, and return a valid manifest.
    pub async fn load(
        &self,
        bytes: &[u8],
        settings: ConnectorSettings,
    ) -> Result<LoadedConnector, LoadError> {
        if settings.limits.memory_bytes > self.inner.config.max_memory_limit {
            return Err(LoadError::Limits(format!(
                "memory limit {} bytes is above the runtime's maximum of {} bytes",
                settings.limits.memory_bytes, self.inner.config.max_memory_limit
            )));
        }
        if settings.limits.deadline.is_zero() {
            return Err(LoadError::Limits("the deadline must be longer than zero".into()));
        }
        let started = Instant::now();
        let engine = self.inner.engine.clone();
        let cache = self.inner.cache.clone();
        let owned = bytes.to_vec();
        // Compiling takes ~100 ms of CPU: keep it off the async workers.
        let (component, origin) = tokio::task::spawn_blocking(move || cache.load(&engine, &owned))
            .await
            .map_err(|e| LoadError::Engine(format!("compile task failed: {e}")))??;
        let compile_time = started.elapsed();
        let wit_version = bindings::check_exports(&self.inner.engine, &component)?;
        connector::LoadedConnector::link(
            self,
            component,
            bytes,
            wit_version,
            origin,
            compile_time,
            settings,
        )
        .await
    }
}

fn build_engine(config: &RuntimeConfig) -> Result<Engine, LoadError> {
    let slots = config.max_concurrent_calls.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        // A Rust component has one memory and a few core instances (its module plus the
        // canonical-ABI shims); leave room for guests written in other languages.
        .total_core_instances(slots * 8)
        .total_memories(slots * 2)
        .total_tables(slots * 4)
        .total_stacks(slots)
        .max_memory_size(config.max_memory_limit)
        // Keep the pages a typical connector touches resident between calls instead of
        // returning them to the kernel each time: without it pooled instantiation does not
        // scale past one thread (see shared/notes/wasmtime-48.md).
        .linear_memory_keep_resident(config.keep_resident)
        .table_keep_resident(64 << 10);
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&wasm).map_err(|e| LoadError::Engine(format!("{e:#}")))
}

fn spawn_epoch_ticker(engine: Engine, alive: Weak<()>) {
    std::thread::Builder::new()
        .name("switchboard-epoch".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("failed to spawn the epoch thread");
}

/// Where compiled components are cached when nothing says otherwise, for the CLI and the
/// server alike (so `plugin test` compiles a component once and `serve` loads it from there):
/// `$SWITCHBOARD_CACHE_DIR`, else `$XDG_CACHE_HOME/switchboard/components`, else
/// `~/.cache/switchboard/components`; `None` without a home directory.
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    if let Some(dir) = std::env::var_os("SWITCHBOARD_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("switchboard").join("components"))
}
