//! Generated host bindings, one module per WIT version the host accepts, each with the
//! conversions between its types and [`crate::model`].

pub mod v0_1_0;
pub mod v0_2_0;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::LoadError;

/// The exported interface every connector implements, without its version.
pub const CONNECTOR_INTERFACE: &str = "switchboard:connector/connector";
/// The WIT versions this host accepts, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &[v0_2_0::VERSION, v0_1_0::VERSION];

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
