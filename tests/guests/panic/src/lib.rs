//! Panics while handling a webhook; the panic message must reach the host's error and log.
use switchboard_sdk::prelude::*;

struct Panic;

impl Connector for Panic {
    fn manifest() -> Manifest {
        Manifest::new("panic", "0.1.0", "Panic").channel("test").webhook()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let items: Vec<u32> = Vec::new();
        let index = request.body.len() + 2;
        panic!("connector bug: index {index} out of {} items", items.len())
    }
}

export_connector!(Panic);
