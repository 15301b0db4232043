//! The connectors a running host serves, and hot reload.
//!
//! Each connector lives in a slot. A request takes the slot's current component (a cheap clone)
//! and finishes on it whatever happens meanwhile; a reload compiles and checks the new component
//! fully before swapping it in, so a broken update leaves the old one serving and reports why.
//! Applying a changed config adds, reloads and removes slots without a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use serde::Serialize;

use crate::config;
use crate::runtime::{ConnectorSettings, Limits, LoadedConnector, Runtime};

/// Counters of one connector, for the admin API and metrics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Calls made.
    pub requests: AtomicU64,
    /// Calls that ended in an error (the connector's or a failure).
    pub errors: AtomicU64,
    /// Successful reloads.
    pub reloads: AtomicU64,
}

/// One configured connector.
pub struct Slot {
    /// Its id.
    pub id: String,
    current: RwLock<Option<LoadedConnector>>,
    entry: RwLock<config::Connector>,
    enabled: AtomicBool,
    /// Counters.
    pub counters: Counters,
    last_error: Mutex<Option<String>>,
    last_poll: Mutex<Option<i64>>,
    /// One reload at a time per slot.
    reloading: tokio::sync::Mutex<()>,
}

/// What the admin API shows of a connector.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlotStatus {
    /// Id.
    pub id: String,
    /// The component file.
    pub plugin: String,
    /// The loaded component's version, if one is loaded.
    pub plugin_version: Option<String>,
    /// Its name for people, from its manifest.
    pub name: Option<String>,
    /// The contract version it was built for, e.g. `0.3.0`.
    pub contract_version: Option<String>,
    /// The channels it declares, e.g. `["sms", "voice"]`.
    pub channels: Vec<String>,
    /// SHA-256 of the loaded component.
    pub sha256: Option<String>,
    /// `serving`, `disabled` or `failed` (no component could be loaded).
    pub state: String,
    /// What it can do.
    pub capabilities: Vec<String>,
    /// Calls made.
    pub requests: u64,
    /// Calls that failed.
    pub errors: u64,
    /// Successful reloads.
    pub reloads: u64,
    /// The latest error (a failed call or a refused reload).
    pub last_error: Option<String>,
    /// When it last polled (ms since the epoch).
    pub last_poll: Option<i64>,
}

impl Slot {
    /// The component serving now, unless the slot is disabled or none could be loaded.
    pub fn serving(&self) -> Option<LoadedConnector> {
        if !self.enabled.load(Ordering::SeqCst) {
            return None;
        }
        self.loaded()
    }

    /// The loaded component, enabled or not.
    pub fn loaded(&self) -> Option<LoadedConnector> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether it is enabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    /// Its configuration.
    pub fn entry(&self) -> config::Connector {
        self.entry.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records an error for the admin API.
    pub fn record_error(&self, error: &str) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.to_string());
    }

    /// Records a poll.
    pub fn record_poll(&self, at: i64) {
        *self.last_poll.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }

    /// The admin view.
    pub fn status(&self) -> SlotStatus {
        let loaded = self.loaded();
        let state = match (&loaded, self.is_enabled()) {
            (None, _) => "failed",
            (Some(_), false) => "disabled",
            (Some(_), true) => "serving",
        };
        SlotStatus {
            id: self.id.clone(),
            plugin: self.entry().plugin.display().to_string(),
            plugin_version: loaded.as_ref().map(|c| c.manifest().version.clone()),
            name: loaded.as_ref().map(|c| c.manifest().display_name.clone()),
            contract_version: loaded.as_ref().map(|c| c.wit_version().to_string()),
            channels: loaded.as_ref().map(|c| c.manifest().channels.clone()).unwrap_or_default(),
            sha256: loaded.as_ref().map(|c| c.sha256().to_string()),
            state: state.into(),
            capabilities: loaded
                .as_ref()
                .map(|c| {
                    c.manifest().capabilities.names().into_iter().map(str::to_string).collect()
                })
                .unwrap_or_default(),
            requests: self.counters.requests.load(Ordering::Relaxed),
            errors: self.counters.errors.load(Ordering::Relaxed),
            reloads: self.counters.reloads.load(Ordering::Relaxed),
            last_error: self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            last_poll: *self.last_poll.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// Why a reload was refused; the old component keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// No connector with that id.
    #[error("no connector `{0}`")]
    Unknown(String),
    /// The new component could not be loaded.
    #[error("connector `{id}`: {message}; the previous version keeps serving")]
    Refused {
        /// Connector id.
        id: String,
        /// Why.
        message: String,
    },
}

/// What a reload did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReloadReport {
    /// Connector id.
    pub id: String,
    /// Version now serving.
    pub version: String,
    /// SHA-256 of the component now serving.
    pub sha256: String,
    /// Whether the component changed.
    pub changed: bool,
    /// Time to compile (or load from cache) and check the new component, in milliseconds.
    pub load_ms: f64,
    /// Time the swap itself took, in microseconds.
    pub swap_us: f64,
}

/// Every connector the host serves.
pub struct Registry {
    runtime: Runtime,
    plugins_dir: Option<PathBuf>,
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
}

impl Registry {
    /// An empty registry; `plugins_dir` resolves bundled plugin names.
    pub fn new(runtime: Runtime, plugins_dir: Option<PathBuf>) -> Self {
        Registry { runtime, plugins_dir, slots: RwLock::new(BTreeMap::new()) }
    }

    /// The slot of `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Slot>> {
        self.slots.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    /// Every slot, by id.
    pub fn all(&self) -> Vec<Arc<Slot>> {
        self.slots.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// Where the component of `entry` is: its path, or a bundled name in the plugins folder.
    pub fn plugin_path(&self, entry: &config::Connector) -> PathBuf {
        resolve_plugin(&entry.plugin, self.plugins_dir.as_deref())
    }

    async fn load(&self, entry: &config::Connector) -> Result<LoadedConnector, String> {
        let settings = ConnectorSettings {
            id: Some(entry.id.clone()),
            config: entry.config.iter().map(|(k, v)| (k.clone(), v.expose().to_string())).collect(),
            allowed_hosts: entry.allowed_hosts.clone(),
            limits: Limits {
                memory_bytes: entry.memory_limit,
                deadline: entry.deadline,
                ..Limits::default()
            },
            extra_namespaces: entry.extra_namespaces.clone(),
            ..ConnectorSettings::default()
        };
        let path = self.plugin_path(entry);
        self.runtime
            .load_file(&path, settings)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Makes the registry match `connectors`: new ones are loaded, changed or all (`force`)
    /// ones reloaded, missing ones removed (requests in flight finish on their component).
    /// Returns the problems met; a connector that fails to load keeps its old component, or
    /// stays in the `failed` state if it had none.
    pub async fn apply(&self, connectors: &[config::Connector]) -> Vec<String> {
        let mut problems = Vec::new();
        let wanted: Vec<&str> = connectors.iter().map(|c| c.id.as_str()).collect();
        let removed: Vec<String> = {
            let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
            let gone: Vec<String> =
                slots.keys().filter(|id| !wanted.contains(&id.as_str())).cloned().collect();
            for id in &gone {
                slots.remove(id);
            }
            gone
        };
        for id in removed {
            tracing::info!(connector = %id, "connector removed from the config: it stops serving");
        }
        for entry in connectors {
            match self.get(&entry.id) {
                None => {
                    let loaded = self.load(entry).await;
                    if let Err(error) = &loaded {
                        tracing::error!(connector = %entry.id, %error, "connector failed to load");
                        problems.push(error.clone());
                    }
                    let slot = Arc::new(Slot {
                        id: entry.id.clone(),
                        last_error: Mutex::new(loaded.as_ref().err().cloned()),
                        current: RwLock::new(loaded.ok()),
                        entry: RwLock::new(entry.clone()),
                        enabled: AtomicBool::new(entry.enabled),
                        counters: Counters::default(),
                        last_poll: Mutex::new(None),
                        reloading: tokio::sync::Mutex::new(()),
                    });
                    if let Some(c) = slot.loaded() {
                        tracing::info!(
                            connector = %entry.id,
                            version = %c.manifest().version,
                            origin = ?c.origin(),
                            load_ms = c.load_time().as_millis() as u64,
                            "connector loaded"
                        );
                    }
                    self.slots
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(entry.id.clone(), slot);
                }
                Some(slot) => {
                    let previous = slot.entry();
                    slot.enabled.store(entry.enabled, Ordering::SeqCst);
                    if !same_entry(&previous, entry) || slot.loaded().is_none() {
                        *slot.entry.write().unwrap_or_else(|e| e.into_inner()) = entry.clone();
                        if let Err(error) = self.reload(&entry.id).await {
                            problems.push(error.to_string());
                        }
                    }
                }
            }
        }
        problems
    }

    /// Reloads `id` from its plugin file: compiled and checked first, swapped only if good.
    pub async fn reload(&self, id: &str) -> Result<ReloadReport, ReloadError> {
        let slot = self.get(id).ok_or_else(|| ReloadError::Unknown(id.to_string()))?;
        let _one_at_a_time = slot.reloading.lock().await;
        let entry = slot.entry();
        let started = Instant::now();
        let loaded = match self.load(&entry).await {
            Ok(loaded) => loaded,
            Err(message) => {
                tracing::error!(connector = %id, error = %message, "reload refused; the previous version keeps serving");
                slot.record_error(&format!("reload refused: {message}"));
                return Err(ReloadError::Refused { id: id.to_string(), message });
            }
        };
        let load_ms = started.elapsed().as_secs_f64() * 1000.0;
        let swap_started = Instant::now();
        let previous =
            slot.current.write().unwrap_or_else(|e| e.into_inner()).replace(loaded.clone());
        let swap_us = swap_started.elapsed().as_secs_f64() * 1e6;
        slot.counters.reloads.fetch_add(1, Ordering::Relaxed);
        let changed = previous.as_ref().is_none_or(|p| p.sha256() != loaded.sha256());
        tracing::info!(connector = %id, version = %loaded.manifest().version, changed, load_ms, swap_us, "connector reloaded");
        Ok(ReloadReport {
            id: id.to_string(),
            version: loaded.manifest().version.clone(),
            sha256: loaded.sha256().to_string(),
            changed,
            load_ms,
            swap_us,
        })
    }

    /// Enables or disables `id`; `false` if there is no such connector.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> bool {
        match self.get(id) {
            Some(slot) => {
                slot.enabled.store(enabled, Ordering::SeqCst);
                tracing::info!(connector = %id, enabled, "connector switched");
                true
            }
            None => false,
        }
    }

    /// Plugin files of every slot, for the file watcher.
    pub fn plugin_files(&self) -> Vec<(String, PathBuf)> {
        self.all().iter().map(|slot| (slot.id.clone(), self.plugin_path(&slot.entry()))).collect()
    }
}

fn same_entry(a: &config::Connector, b: &config::Connector) -> bool {
    a.plugin == b.plugin
        && a.allowed_hosts == b.allowed_hosts
        && a.memory_limit == b.memory_limit
        && a.deadline == b.deadline
        && a.config == b.config
        && a.poll_interval == b.poll_interval
        && a.extra_namespaces == b.extra_namespaces
}

/// A plugin path as configured, or a bundled name (`telegram` → `{plugins_dir}/telegram.wasm`,
/// or the file cargo names after its crate: `switchboard_plugin_telegram.wasm`).
pub fn resolve_plugin(plugin: &Path, plugins_dir: Option<&Path>) -> PathBuf {
    let bundled = plugin.components().count() == 1 && !plugin.is_absolute();
    match (bundled, plugins_dir) {
        (true, Some(dir)) => {
            let file = plugin.to_string_lossy();
            let stem = file.trim_end_matches(".wasm").replace('-', "_");
            let candidates = [
                dir.join(plugin),
                dir.join(format!("switchboard_plugin_{stem}.wasm")),
                dir.join(format!("switchboard_example_{stem}.wasm")),
            ];
            candidates.iter().find(|p| p.exists()).cloned().unwrap_or_else(|| candidates[0].clone())
        }
        _ => plugin.to_path_buf(),
    }
}
