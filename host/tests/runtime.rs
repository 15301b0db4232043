//! The plugin runtime against real components built from `examples/` and `tests/guests/`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::model::{ConnectorError, Event, HttpRequest, Identifier, OutboundMessage};
use switchboard::runtime::{
    CallError, ConnectorSettings, KvStore, Limits, LoadError, LoadedConnector, MemoryKv, Origin,
    Runtime, RuntimeConfig,
};
use switchboard_test_artifacts as artifacts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn runtime() -> Runtime {
    Runtime::new(
        RuntimeConfig { max_concurrent_calls: 16, ..RuntimeConfig::default() },
        Arc::new(MemoryKv::new()),
    )
    .unwrap()
}

async fn load(runtime: &Runtime, path: &str, settings: ConnectorSettings) -> LoadedConnector {
    runtime.load_file(path.as_ref(), settings).await.unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn request(route: &str, body: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: format!("https://crm.example.com/hooks/test{route}"),
        route: route.into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
        received_at: switchboard::store::now_millis(),
    }
}

fn settings(config: &[(&str, &str)]) -> ConnectorSettings {
    ConnectorSettings {
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ..ConnectorSettings::default()
    }
}

#[tokio::test]
async fn hello_world_turns_a_form_into_a_message() {
    let runtime = runtime();
    let hello = load(&runtime, artifacts::HELLO, ConnectorSettings::default()).await;
    assert_eq!(hello.id(), "hello");
    assert_eq!(hello.wit_version(), "0.3.0");
    let mut req = request("/", "");
    req.body = b"id=form-1&email=Ann.Lee%40Example.com&name=Ann+Lee&text=Hi".to_vec();
    let outcome = hello.handle_webhook(req).await.unwrap();
    assert_eq!(outcome.response.status, 200);
    let [Event::Interaction(message)] = outcome.events.as_slice() else { panic!("{outcome:?}") };
    assert_eq!(message.provider_id, "form-1");
    assert_eq!(message.text.as_deref(), Some("Hi"));
    assert_eq!(message.contact.identifiers, [Identifier::email("Ann.Lee@Example.com").declared()]);
    assert_eq!(message.contact.display_name.as_deref(), Some("Ann Lee"));

    // A missing field is the connector's bad-request, not a failure of the host.
    let mut bad = request("/", "");
    bad.body = b"id=form-2".to_vec();
    let error = hello.handle_webhook(bad).await.unwrap_err();
    assert!(
        matches!(&error, CallError::Connector { error: ConnectorError::BadRequest(m), .. } if m.contains("email")),
        "{error}"
    );
    assert!(!error.is_failure());
}

#[tokio::test]
async fn probe_sees_the_request_config_and_every_event_kind() {
    let runtime = runtime();
    let probe = load(&runtime, artifacts::PROBE, settings(&[("api_key", "s3cret")])).await;
    assert_eq!(probe.manifest().version, "1.2.3");
    assert!(probe.manifest().capabilities.poll && probe.manifest().capabilities.send);

    let mut echo = request("/echo", "{\"a\":1}");
    echo.url = "https://crm.example.com/hooks/probe/echo?x=1".into();
    echo.headers.push(("X-Signature".into(), "sig".into()));
    let outcome = probe.handle_webhook(echo).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&outcome.response.body).unwrap();
    assert_eq!(body["url"], "https://crm.example.com/hooks/probe/echo?x=1");
    assert_eq!(body["route"], "/echo");
    assert_eq!(body["signature"], "sig");
    assert_eq!(body["body"], "{\"a\":1}");

    let mut config = request("/config", "");
    config.url = "https://x/hooks/probe/config?key=api_key".into();
    assert_eq!(probe.handle_webhook(config.clone()).await.unwrap().response.body, b"s3cret");
    config.url = "https://x/hooks/probe/config?key=other".into();
    assert_eq!(probe.handle_webhook(config).await.unwrap().response.body, b"<unset>");

    let events = probe.handle_webhook(request("/events", "")).await.unwrap().events;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::Contact(_) => "contact",
            Event::Interaction(_) => "interaction",
            Event::Order(_) => "order",
            Event::Shipment(_) => "shipment",
            Event::Consent(_) => "consent",
            Event::Payment(_) => "payment",
        })
        .collect();
    assert_eq!(kinds, ["contact", "interaction", "order", "shipment", "consent"]);
    let Event::Order(order) = &events[2] else { unreachable!() };
    assert_eq!((order.total.amount_minor, order.total.currency.as_str()), (2598, "EUR"));
    assert_eq!(order.lines[0].sku.as_deref(), Some("MUG-1"));

    let unauthorized = probe.handle_webhook(request("/unauthorized", "")).await.unwrap_err();
    assert!(matches!(
        unauthorized,
        CallError::Connector { error: ConnectorError::Unauthorized(_), .. }
    ));
}

#[tokio::test]
async fn poll_and_send_round_trip() {
    let runtime = runtime();
    let probe = load(&runtime, artifacts::PROBE, ConnectorSettings::default()).await;
    let first = probe.poll(None).await.unwrap();
    assert_eq!(first.next_cursor.as_deref(), Some("1"));
    let second = probe.poll(first.next_cursor).await.unwrap();
    assert_eq!(second.next_cursor.as_deref(), Some("2"));
    assert_eq!(second.events[0].provider_id(), "poll-1");
    let bad = probe.poll(Some("x".into())).await.unwrap_err();
    assert!(matches!(bad, CallError::Connector { error: ConnectorError::BadRequest(_), .. }));

    let message = OutboundMessage {
        to: vec![Identifier::Phone { value: "+33612345678".into() }],
        subject: None,
        text: "hello".into(),
        thread_id: Some("t-9".into()),
        in_reply_to: None,
        references: vec![],
        attributes: vec![],
    };
    let receipt = probe.send(message).await.unwrap();
    assert_eq!(receipt.provider_id, "sent-5");
    assert_eq!(receipt.thread_id.as_deref(), Some("t-9"));

    let hello = load(&runtime, artifacts::HELLO, ConnectorSettings::default()).await;
    let unsupported = hello.poll(None).await.unwrap_err();
    assert!(matches!(
        unsupported,
        CallError::Connector { error: ConnectorError::Unsupported(_), .. }
    ));
}

#[tokio::test]
async fn key_value_state_is_per_connector_and_persists_across_calls() {
    let kv = Arc::new(MemoryKv::new());
    let runtime = Runtime::new(RuntimeConfig::default(), kv.clone()).unwrap();
    let a = load(
        &runtime,
        artifacts::PROBE,
        ConnectorSettings { id: Some("a".into()), ..Default::default() },
    )
    .await;
    let b = load(
        &runtime,
        artifacts::PROBE,
        ConnectorSettings { id: Some("b".into()), ..Default::default() },
    )
    .await;
    let hits = async |c: &LoadedConnector| {
        String::from_utf8(c.handle_webhook(request("/kv", "")).await.unwrap().response.body)
            .unwrap()
    };
    assert_eq!(hits(&a).await, "1");
    assert_eq!(hits(&a).await, "2");
    assert_eq!(hits(&b).await, "1");
    assert_eq!(kv.get("a", "hits").await.unwrap(), Some(b"2".to_vec()));
    // The third hit deletes the key.
    assert_eq!(hits(&a).await, "3");
    assert_eq!(kv.get("a", "hits").await.unwrap(), None);
}

/// A one-shot HTTP server on 127.0.0.1 that answers `body` and reports the request it got.
async fn upstream(body: &'static str) -> (String, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        while !received.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buffer[..n]);
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&received).into_owned()
    });
    (format!("http://{address}"), handle)
}

#[tokio::test]
async fn outbound_http_reaches_an_allowed_host() {
    let (base, server) = upstream("pong").await;
    let runtime = runtime();
    let mut settings = settings(&[("upstream", &format!("{base}/ping"))]);
    settings.allowed_hosts = vec![base.parse().unwrap()];
    let probe = load(&runtime, artifacts::PROBE, settings).await;
    let outcome = probe.handle_webhook(request("/fetch", "")).await.unwrap();
    assert_eq!(outcome.response.body, b"pong");
    assert_eq!(outcome.events.len(), 1);
    let seen = server.await.unwrap();
    assert!(seen.starts_with("GET /ping HTTP/1.1"), "{seen}");
    assert!(seen.to_ascii_lowercase().contains("x-probe: 1"), "{seen}");
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        || RuntimeConfig { cache_dir: Some(dir.path().join("cache")), ..RuntimeConfig::default() };
    let first = Runtime::new(config(), Arc::new(MemoryKv::new())).unwrap();
    let hello = load(&first, artifacts::HELLO, ConnectorSettings::default()).await;
    assert_eq!(hello.origin(), Origin::Compiled);
    let entries: Vec<_> = std::fs::read_dir(dir.path().join("cache")).unwrap().collect();
    assert_eq!(entries.len(), 1);
    let name = entries[0].as_ref().unwrap().file_name().into_string().unwrap();
    assert!(name.starts_with(hello.sha256()) && name.ends_with(".cwasm"), "{name}");

    // A new runtime (a restart) loads from the cache instead of compiling.
    let second = Runtime::new(config(), Arc::new(MemoryKv::new())).unwrap();
    let again = load(&second, artifacts::HELLO, ConnectorSettings::default()).await;
    assert_eq!(again.origin(), Origin::Cache);
    assert_eq!(again.manifest(), hello.manifest());

    // A corrupt entry is discarded and recompiled, never trusted.
    std::fs::write(dir.path().join("cache").join(&name), b"garbage").unwrap();
    let third = Runtime::new(config(), Arc::new(MemoryKv::new())).unwrap();
    let recompiled = load(&third, artifacts::HELLO, ConnectorSettings::default()).await;
    assert_eq!(recompiled.origin(), Origin::Compiled);
    assert!(recompiled.handle_webhook(request("/", "")).await.is_err());
}

async fn refusal(path: &str) -> LoadError {
    runtime().load_file(path.as_ref(), ConnectorSettings::default()).await.unwrap_err()
}

#[tokio::test]
async fn a_component_for_an_unknown_wit_version_is_refused() {
    let error = refusal(artifacts::WRONG_WIT).await;
    assert!(matches!(error, LoadError::UnsupportedWitVersion { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("switchboard:connector@9.0.0")
            && message.contains("@0.2.0")
            && message.contains("@0.1.0"),
        "{message}"
    );
}

#[tokio::test]
async fn a_component_that_is_not_a_connector_is_refused() {
    let error = refusal(artifacts::NOT_A_CONNECTOR).await;
    assert!(matches!(error, LoadError::NotAConnector { .. }), "{error}");
    assert!(error.to_string().contains("acme:widgets/greet"), "{error}");
}

#[tokio::test]
async fn a_bad_manifest_is_refused_with_every_problem() {
    let error = refusal(artifacts::BAD_MANIFEST).await;
    let LoadError::InvalidManifest { problems } = &error else { panic!("{error}") };
    assert_eq!(problems.len(), 5, "{problems:#?}");
    let message = error.to_string();
    for expected in ["`Bad Id!`", "`one`", "display name", "no channels", "no capabilities"] {
        assert!(message.contains(expected), "{expected} missing from {message}");
    }
}

#[tokio::test]
async fn bytes_that_are_not_a_component_are_refused() {
    let runtime = runtime();
    let error = runtime.load(b"not wasm at all", ConnectorSettings::default()).await.unwrap_err();
    assert!(matches!(error, LoadError::NotAComponent(_)), "{error}");
    // A core module is not a component either.
    let core = b"\0asm\x01\0\0\0";
    let error = runtime.load(core, ConnectorSettings::default()).await.unwrap_err();
    assert!(matches!(error, LoadError::NotAComponent(_)), "{error}");
    let missing =
        runtime.load_file("/nonexistent/x.wasm".as_ref(), ConnectorSettings::default()).await;
    assert!(matches!(missing, Err(LoadError::Read { .. })));
}

#[tokio::test]
async fn limits_beyond_the_runtime_are_refused() {
    let settings = ConnectorSettings {
        limits: Limits { memory_bytes: 4 << 30, ..Limits::default() },
        ..ConnectorSettings::default()
    };
    let error = runtime().load_file(artifacts::HELLO.as_ref(), settings).await.unwrap_err();
    assert!(matches!(error, LoadError::Limits(_)), "{error}");
}

/// The adversarial suite: each misbehaving connector fails its own call with a typed error,
/// the host keeps serving, and a well-behaved connector in the same runtime is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversarial_connectors_are_contained() {
    let runtime = runtime();
    let fast = Limits {
        deadline: Duration::from_millis(300),
        memory_bytes: 32 << 20,
        ..Limits::default()
    };
    let with = |config: &[(&str, &str)]| ConnectorSettings { limits: fast, ..settings(config) };
    let healthy = load(&runtime, artifacts::HELLO, ConnectorSettings::default()).await;
    let healthy_ok = async || {
        let mut req = request("/", "");
        req.body = b"id=1&email=a%40example.com&text=still+here".to_vec();
        let outcome =
            healthy.handle_webhook(req).await.expect("the healthy connector must keep working");
        assert_eq!(outcome.events.len(), 1);
    };
    let mut contained = 0;

    // 1. A trap (`unreachable`).
    let trap = load(&runtime, artifacts::TRAP, with(&[])).await;
    let error = trap.handle_webhook(request("/", "")).await.unwrap_err();
    assert!(
        matches!(&error, CallError::Trap { message, .. } if message.contains("unreachable")),
        "{error}"
    );
    assert!(error.is_failure() && !error.is_retryable());
    healthy_ok().await;
    contained += 1;

    // 2. A panic: its message is reported.
    let panic = load(&runtime, artifacts::PANIC, with(&[])).await;
    let error = panic.handle_webhook(request("/", "{}")).await.unwrap_err();
    assert!(
        matches!(&error, CallError::Panic { message, .. } if message.contains("connector bug: index 4 out of 0 items")),
        "{error}"
    );
    healthy_ok().await;
    contained += 1;

    // 3. An infinite loop: stopped at the deadline, and it does not block the other connector
    //    while it spins.
    let spin = load(&runtime, artifacts::SPIN, with(&[])).await;
    let started = Instant::now();
    let (spun, ()) = tokio::join!(spin.handle_webhook(request("/", "")), healthy_ok());
    let error = spun.unwrap_err();
    assert!(
        matches!(error, CallError::Deadline { deadline, .. } if deadline == fast.deadline),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    contained += 1;

    // 4. A memory bomb: stopped at the cap.
    let bomb = load(&runtime, artifacts::MEMORY_BOMB, with(&[])).await;
    let error = bomb.handle_webhook(request("/", "")).await.unwrap_err();
    assert!(
        matches!(error, CallError::MemoryLimit { limit_bytes, .. } if limit_bytes == 32 << 20),
        "{error}"
    );
    healthy_ok().await;
    contained += 1;

    // 5. Opening files and reading the environment: every attempt fails inside the guest.
    let open = load(&runtime, artifacts::OPEN_FILE, with(&[])).await;
    let error = open.handle_webhook(request("/", "")).await.unwrap_err();
    let CallError::Connector { error: ConnectorError::Transient(report), .. } = &error else {
        panic!("the sandbox leaked or the guest failed: {error}")
    };
    assert!(!report.contains("allowed"), "{report}");
    assert!(report.contains("env vars: 0"), "{report}");
    assert!(!std::path::Path::new("/tmp/switchboard-escape").exists());
    healthy_ok().await;
    contained += 1;

    // 6. A request to a host not in allowed_hosts: refused, and the refusal names the host.
    let (base, _server) = upstream("secret").await;
    let unlisted =
        load(&runtime, artifacts::UNLISTED_HOST, with(&[("target", &format!("{base}/steal"))]))
            .await;
    let error = unlisted.handle_webhook(request("/", "")).await.unwrap_err();
    let CallError::Connector { error: ConnectorError::Config(message), .. } = &error else {
        panic!("expected a refused request, got {error}")
    };
    assert!(
        message.contains(base.trim_start_matches("http://")) && message.contains("allowed_hosts"),
        "{message}"
    );
    healthy_ok().await;
    contained += 1;

    assert_eq!(contained, 6, "every adversarial case must be contained");
    // And each of them still answers the next call the same way: nothing was poisoned.
    assert!(matches!(trap.handle_webhook(request("/", "")).await, Err(CallError::Trap { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_each_get_their_own_instance() {
    let runtime = runtime();
    let probe = load(&runtime, artifacts::PROBE, ConnectorSettings::default()).await;
    let calls = (0..64).map(|i| {
        let probe = probe.clone();
        tokio::spawn(async move {
            let outcome =
                probe.handle_webhook(request("/echo", &format!("call {i}"))).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&outcome.response.body).unwrap();
            assert_eq!(body["body"], format!("call {i}"));
        })
    });
    for call in calls {
        call.await.unwrap();
    }
}

/// A connector built for contract 0.1.0 keeps loading and working after 0.2.0: its payment,
/// sent the 0.1.0 way (a marked order), arrives as a payment; it cannot geocode.
#[tokio::test]
async fn a_connector_built_for_the_previous_contract_still_works() {
    use switchboard::model::PaymentStatus;
    let legacy = runtime()
        .load_file(artifacts::LEGACY_V0_1.as_ref(), ConnectorSettings::default())
        .await
        .unwrap();
    assert_eq!(legacy.wit_version(), "0.1.0");
    assert!(!legacy.manifest().capabilities.geocode);
    let outcome = legacy.handle_webhook(request("/", "")).await.unwrap();
    let [Event::Payment(payment)] = outcome.events.as_slice() else {
        panic!("{:?}", outcome.events)
    };
    assert_eq!(payment.order_ref.as_deref(), Some("#1001"));
    assert_eq!((payment.status, payment.refunded_minor), (PaymentStatus::PartiallyRefunded, 1299));
    assert_eq!(payment.occurred_at, 1_795_600_000_000);
    assert_eq!(
        payment.attributes.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        ["payment_method"],
        "the convention's attributes are consumed"
    );
    let address = switchboard::model::Address {
        name: None,
        line1: None,
        line2: None,
        city: Some("Lyon".into()),
        region: None,
        postal_code: None,
        country: Some("FR".into()),
        phone: None,
        email: None,
    };
    let error = legacy.geocode(address).await.unwrap_err();
    assert!(error.to_string().contains("0.1.0 has no geocode"), "{error}");
}
