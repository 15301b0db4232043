//! Executes `unreachable` while handling a webhook: the host must turn the trap into an error
//! for this call only.
use switchboard_sdk::prelude::*;

struct Trap;

impl Connector for Trap {
    fn manifest() -> Manifest {
        Manifest::new("trap", "0.1.0", "Trap").channel("test").webhook()
    }

    fn handle_webhook(_: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        std::arch::wasm32::unreachable()
    }
}

export_connector!(Trap);
