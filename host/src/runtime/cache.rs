//! Compiled components cached on disk, so a restart loads in about a millisecond instead of
//! recompiling (~100 ms per connector).
//!
//! A cache file is named after the SHA-256 of the component's bytes and a hash of the engine's
//! compilation settings and wasmtime version, so a changed component or an upgraded host never
//! loads a stale artifact: it misses and recompiles.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::LoadError;

/// Where a loaded component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Compiled now (and written to the cache if there is one).
    Compiled,
    /// Deserialized from the on-disk cache.
    Cache,
}

/// The compiled-component cache; `None` directory means compile every time.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
}

impl ComponentCache {
    /// A cache in `dir` (created on first write), or no cache.
    pub fn new(dir: Option<PathBuf>) -> Self {
        ComponentCache { dir }
    }

    /// The cache directory, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Compiles `bytes`, or loads the compiled form from the cache.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> Result<(Component, Origin), LoadError> {
        let Some(dir) = &self.dir else {
            return Ok((compile(engine, bytes)?, Origin::Compiled));
        };
        let path = dir.join(cache_file_name(engine, bytes));
        if path.exists() {
            match deserialize(engine, &path) {
                Ok(component) => return Ok((component, Origin::Cache)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "discarding unreadable cache entry");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = compile(engine, bytes)?;
        if let Err(error) = store(dir, &path, &component) {
            // A read-only or full disk costs a recompile next start, nothing more.
            tracing::warn!(dir = %dir.display(), %error, "failed to write the component cache");
        }
        Ok((component, Origin::Compiled))
    }
}

/// `<sha256 of the component>-<engine compatibility hash>.cwasm`
pub fn cache_file_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{}-{:016x}.cwasm", hex::encode(Sha256::digest(bytes)), hasher.finish())
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, bytes).map_err(|e| LoadError::NotAComponent(format!("{e:#}")))
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> Result<Component, String> {
    // Read into memory rather than `deserialize_file`'s mmap: a mapped file that something
    // truncates later kills the process with SIGBUS, and the copy costs ~0.2 ms per connector.
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    // SAFETY: `deserialize` trusts its input to be wasmtime's own output. Only this module
    // writes the cache directory (created 0700 below), each file is written under a temporary
    // name and renamed into place whole, and its name binds it to the source bytes and engine;
    // wasmtime still checks the header and engine compatibility and fails on garbage.
    unsafe { Component::deserialize(engine, &bytes) }.map_err(|e| format!("{e:#}"))
}

fn store(dir: &Path, path: &Path, component: &Component) -> std::io::Result<()> {
    create_private_dir(dir)?;
    let bytes = component.serialize().map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("component"),
        std::process::id()
    ));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
