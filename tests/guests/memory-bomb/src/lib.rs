//! Allocates 16 MiB blocks until memory runs out: the host's memory cap must stop it.
use switchboard_sdk::prelude::*;

struct MemoryBomb;

impl Connector for MemoryBomb {
    fn manifest() -> Manifest {
        Manifest::new("memory-bomb", "0.1.0", "Memory bomb").channel("test").webhook()
    }

    fn handle_webhook(_: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let mut blocks = Vec::new();
        loop {
            blocks.push(std::hint::black_box(vec![1u8; 16 << 20]));
        }
    }
}

export_connector!(MemoryBomb);
