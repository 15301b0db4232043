//! Tries to escape the sandbox through the file system and the environment and reports what
//! it got as a transient error, so the test can check every attempt was refused.
use switchboard_sdk::prelude::*;

struct OpenFile;

impl Connector for OpenFile {
    fn manifest() -> Manifest {
        Manifest::new("open-file", "0.1.0", "Open file").channel("test").webhook()
    }

    fn handle_webhook(_: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let read = std::fs::read_to_string("/etc/passwd");
        let create = std::fs::write("/tmp/switchboard-escape", b"x");
        let list = std::fs::read_dir("/");
        let env = std::env::vars().count();
        if let Ok(contents) = &read {
            return Err(ConnectorError::Unsupported(format!("sandbox leak: read {contents}")));
        }
        Err(ConnectorError::Transient(format!(
            "read: {}; create: {}; list: {}; env vars: {env}",
            read.err().map(|e| e.to_string()).unwrap_or_default(),
            create.err().map(|e| e.to_string()).unwrap_or_else(|| "allowed".into()),
            list.err().map(|e| e.to_string()).unwrap_or_else(|| "allowed".into()),
        )))
    }
}

export_connector!(OpenFile);
