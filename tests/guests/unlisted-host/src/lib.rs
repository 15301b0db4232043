//! Calls the URL in its `target` config (a host the operator did not list); the host must
//! refuse the request and the refusal must name the host.
use switchboard_sdk::http;
use switchboard_sdk::prelude::*;

struct UnlistedHost;

impl Connector for UnlistedHost {
    fn manifest() -> Manifest {
        Manifest::new("unlisted-host", "0.1.0", "Unlisted host").channel("test").webhook()
    }

    fn handle_webhook(_: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let target = require_config("target")?;
        let response = http::get(&target).send()?;
        Err(ConnectorError::Unsupported(format!(
            "sandbox leak: got {} from {target}",
            response.status
        )))
    }
}

export_connector!(UnlistedHost);
