//! Never returns from a webhook: the host's deadline must stop it.
use switchboard_sdk::prelude::*;

struct Spin;

impl Connector for Spin {
    fn manifest() -> Manifest {
        Manifest::new("spin", "0.1.0", "Spin").channel("test").webhook()
    }

    fn handle_webhook(_: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let mut counter = 0u64;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }
}

export_connector!(Spin);
