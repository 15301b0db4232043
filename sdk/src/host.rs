//! What the host offers: logging, the connector's config and secrets, and private state.

use crate::ConnectorError;
// Natively (`cargo test`), the mock host a test installed answers instead of the sandbox's.
#[cfg(not(target_arch = "wasm32"))]
use crate::native as imports;
#[cfg(target_arch = "wasm32")]
use crate::wit::switchboard::connector::host as imports;

pub use imports::{HostError, LogLevel};

/// Writes to the host's log, tagged with the connector's id. The host bounds a connector's log
/// (bytes per call and per minute); past that, lines are dropped ([`try_log`] says when).
pub fn log(level: LogLevel, message: &str) {
    let _ = imports::log(level, message);
}

/// [`log`], saying when the host dropped the line over the connector's log quota.
pub fn try_log(level: LogLevel, message: &str) -> Result<(), HostError> {
    imports::log(level, message)
}

impl From<HostError> for ConnectorError {
    /// A store that is down is worth retrying; a refused key or an exhausted quota is the
    /// connector's own bug, which retrying does not fix.
    fn from(error: HostError) -> Self {
        match error {
            HostError::Unavailable(m) => {
                ConnectorError::Transient(format!("host unavailable: {m}"))
            }
            HostError::InvalidKey(m) | HostError::TooLarge(m) => {
                ConnectorError::Config(format!("key-value state refused: {m}"))
            }
            HostError::QuotaExceeded(m) => ConnectorError::Config(format!("quota exceeded: {m}")),
        }
    }
}

/// A value of the connector's `config` table (secrets included), or `None`.
pub fn config(key: &str) -> Option<String> {
    imports::config(key)
}

/// A config value that must be set: a missing or blank one is a [`ConnectorError::Config`].
pub fn require_config(key: &str) -> Result<String, ConnectorError> {
    config(key)
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| ConnectorError::Config(format!("config key `{key}` is not set")))
}

/// A config value parsed as `T` (a number, say), or `default` when it is not set; a value that
/// does not parse is a [`ConnectorError::Config`] naming the key.
pub fn config_or<T: std::str::FromStr>(key: &str, default: T) -> Result<T, ConnectorError> {
    match config(key).filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| {
            ConnectorError::Config(format!(
                "config key `{key}` must be a {}, got `{value}`",
                std::any::type_name::<T>()
            ))
        }),
    }
}

/// The connector's private key-value state, persisted by the host.
pub mod kv {
    use super::{ConnectorError, imports};

    /// Reads a value; `None` if absent.
    pub fn get(key: &str) -> Result<Option<Vec<u8>>, ConnectorError> {
        Ok(imports::kv_get(key)?)
    }

    /// Reads a UTF-8 value.
    pub fn get_string(key: &str) -> Result<Option<String>, ConnectorError> {
        Ok(get(key)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Stores a value. It is committed with the call's outcome (with a webhook's events, in
    /// their transaction); if the call fails, it is not stored.
    pub fn set(key: &str, value: impl AsRef<[u8]>) -> Result<(), ConnectorError> {
        Ok(imports::kv_set(key, value.as_ref())?)
    }

    /// Removes a value, with the call's outcome.
    pub fn delete(key: &str) -> Result<(), ConnectorError> {
        Ok(imports::kv_delete(key)?)
    }
}
