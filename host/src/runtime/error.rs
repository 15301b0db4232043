//! Errors of loading a component and of calling it.

use std::path::PathBuf;
use std::time::Duration;

use crate::model::ConnectorError;

/// Why a component was refused at load time. Each message says what is wrong and what was
/// expected.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("failed to read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid WebAssembly component.
    #[error("not a valid WebAssembly component: {0}")]
    NotAComponent(String),
    /// The component does not export the connector interface at all.
    #[error(
        "not a Switchboard connector: the component does not export `{interface}@<version>` \
         (it exports: {exports})"
    )]
    NotAConnector {
        /// The interface looked for.
        interface: &'static str,
        /// What it exports instead.
        exports: String,
    },
    /// The component implements a contract version this host does not accept.
    #[error(
        "unsupported WIT version: the component is built for `switchboard:connector@{found}`, \
         this host accepts {supported}; rebuild it with a matching switchboard-sdk"
    )]
    UnsupportedWitVersion {
        /// The version found.
        found: String,
        /// The versions accepted.
        supported: String,
    },
    /// An import could not be satisfied or an export has the wrong type.
    #[error("the component does not match the `switchboard:connector/plugin` world: {0}")]
    WorldMismatch(String),
    /// `manifest()` did not return.
    #[error("calling manifest() failed: {0}")]
    ManifestCall(#[source] Box<CallError>),
    /// The manifest breaks the rules.
    #[error("invalid manifest: {}", problems.join("; "))]
    InvalidManifest {
        /// Every problem found.
        problems: Vec<String>,
    },
    /// The engine could not be set up.
    #[error("failed to set up the wasm engine: {0}")]
    Engine(String),
    /// The connector's limits are outside what the runtime can give.
    #[error("invalid limits: {0}")]
    Limits(String),
}

/// Why one call into a connector failed. Only this call fails: the host and other connectors
/// keep running.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The connector returned an error on purpose.
    #[error("connector `{connector}` returned an error: {error}")]
    Connector {
        /// The connector id.
        connector: String,
        /// Its error.
        error: ConnectorError,
    },
    /// The connector panicked.
    #[error("connector `{connector}` panicked: {message}")]
    Panic {
        /// The connector id.
        connector: String,
        /// The panic message from its stderr.
        message: String,
    },
    /// The connector trapped (e.g. `unreachable`, out-of-bounds access).
    #[error("connector `{connector}` trapped: {message}")]
    Trap {
        /// The connector id.
        connector: String,
        /// What wasmtime reported.
        message: String,
    },
    /// The call ran past its deadline.
    #[error("connector `{connector}` exceeded its deadline of {deadline:?}")]
    Deadline {
        /// The connector id.
        connector: String,
        /// The deadline.
        deadline: Duration,
    },
    /// The connector tried to use more memory than its cap.
    #[error("connector `{connector}` exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit {
        /// The connector id.
        connector: String,
        /// The cap.
        limit_bytes: usize,
    },
    /// No instance could be created (e.g. all pool slots are in use).
    #[error("connector `{connector}` could not be instantiated: {message}")]
    Instantiate {
        /// The connector id.
        connector: String,
        /// Why.
        message: String,
    },
    /// What the call wrote to its key-value state could not be stored.
    #[error("connector `{connector}`: its state could not be stored: {message}")]
    State {
        /// The connector id.
        connector: String,
        /// Why.
        message: String,
    },
}

impl CallError {
    /// Whether the same call may succeed later without a fix: transient connector errors, busy
    /// pools, and deadlines (a slow provider). Traps and panics need a fixed connector.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Connector { error, .. } => error.is_retryable(),
            CallError::Deadline { .. }
            | CallError::Instantiate { .. }
            | CallError::State { .. } => true,
            CallError::Panic { .. } | CallError::Trap { .. } | CallError::MemoryLimit { .. } => {
                false
            }
        }
    }

    /// Whether the connector itself failed (as opposed to answering with an error), which is
    /// what sends a request to dead letters.
    pub fn is_failure(&self) -> bool {
        !matches!(self, CallError::Connector { .. })
    }
}
