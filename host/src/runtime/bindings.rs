//! Generated host bindings, one module per WIT version the host accepts, each with the
//! conversions between its types and [`crate::model`].

pub mod v0_1_0;
pub mod v0_2_0;
pub mod v0_3_0;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::LoadError;

/// The exported interface every connector implements, without its version.
pub const CONNECTOR_INTERFACE: &str = "switchboard:connector/connector";
/// The WIT versions this host accepts, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &[v0_3_0::VERSION, v0_2_0::VERSION, v0_1_0::VERSION];

/// Finds which version of the connector interface `component` exports, refusing components
/// that export none or one this host does not accept.
pub fn check_exports(engine: &Engine, component: &Component) -> Result<String, LoadError> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    let prefix = format!("{CONNECTOR_INTERFACE}@");
    let Some(found) = exports.iter().find_map(|name| name.strip_prefix(prefix.as_str())) else {
        return Err(LoadError::NotAConnector {
            interface: CONNECTOR_INTERFACE,
            exports: if exports.is_empty() { "nothing".into() } else { exports.join(", ") },
        });
    };
    if !SUPPORTED_VERSIONS.contains(&found) {
        return Err(LoadError::UnsupportedWitVersion {
            found: found.to_string(),
            supported: SUPPORTED_VERSIONS
                .iter()
                .map(|v| format!("`switchboard:connector@{v}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(found.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files(&path));
            } else {
                found.push(path);
            }
        }
        found.sort();
        found
    }

    /// The SDK ships its own copy of the newest contract so that it builds outside this
    /// repository; the copy must be the released contract, byte for byte.
    #[test]
    fn the_sdk_carries_the_newest_contract_unchanged() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let released = root.join("wit").join(format!("v{}", super::SUPPORTED_VERSIONS[0]));
        let copy = root.join("sdk/wit");
        let relative = |base: &Path| -> Vec<PathBuf> {
            files(base).iter().map(|p| p.strip_prefix(base).unwrap().to_path_buf()).collect()
        };
        assert_eq!(relative(&released), relative(&copy), "the same files");
        for file in relative(&released) {
            assert_eq!(
                std::fs::read(released.join(&file)).unwrap(),
                std::fs::read(copy.join(&file)).unwrap(),
                "sdk/wit/{} differs from {}",
                file.display(),
                released.join(&file).display()
            );
        }
    }
}
