//! Guest output and host-import logs reach tracing, tagged with the connector id. A test binary
//! of its own: the subscriber must be global, since tracing caches per-callsite interest across
//! threads and a thread-local subscriber misses events other tests registered first.

use std::sync::Arc;

use switchboard::model::HttpRequest;
use switchboard::runtime::{ConnectorSettings, MemoryKv, Runtime, RuntimeConfig};
use switchboard_test_artifacts as artifacts;

/// Collects what the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn guest_output_and_logs_go_to_tracing_tagged_with_the_connector() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let runtime = Runtime::new(RuntimeConfig::default(), Arc::new(MemoryKv::new())).unwrap();
    let settings = ConnectorSettings { id: Some("probe-7".into()), ..ConnectorSettings::default() };
    let probe = runtime.load_file(artifacts::PROBE.as_ref(), settings).await.unwrap();
    let outcome = probe
        .handle_webhook(HttpRequest {
            method: "POST".into(),
            url: "https://crm.example.com/hooks/probe-7/log".into(),
            route: "/log".into(),
            headers: vec![],
            body: vec![],
            received_at: switchboard::store::now_millis(),
        })
        .await
        .unwrap();
    assert_eq!(outcome.response.status, 200);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for (expected, stream) in [
        ("probe says hello through the host log", None),
        ("probe line on stdout", Some("stream=\"stdout\"")),
        ("probe line on stderr", Some("stream=\"stderr\"")),
    ] {
        let line = log
            .lines()
            .find(|l| l.contains(expected))
            .unwrap_or_else(|| panic!("{expected} not in {log}"));
        assert!(line.contains("connector=\"probe-7\""), "{line}");
        assert!(stream.is_none_or(|s| line.contains(s)), "{line}");
    }
}
