//! Fresh databases for store tests: a SQLite file in a temporary directory always, and a new
//! PostgreSQL database when `SWITCHBOARD_TEST_DATABASE_URL` points at a server.
#![allow(dead_code)]

use switchboard::store::{Store, StoreConfig};

/// A database that exists for one test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A new SQLite database file.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    TestDb { url, _dir: Some(dir) }
}

/// A new PostgreSQL database, or `None` (with the reason printed) when no server is configured.
pub async fn postgres() -> Option<TestDb> {
    let Ok(base) = std::env::var("SWITCHBOARD_TEST_DATABASE_URL") else {
        // Straight to the file descriptor: libtest captures `eprintln!` of passing tests, and
        // the reason for a skip must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: SWITCHBOARD_TEST_DATABASE_URL is not set, so this PostgreSQL test does not run"
        );
        return None;
    };
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap_or_else(|e| {
        panic!("SWITCHBOARD_TEST_DATABASE_URL={base} is set but unreachable: {e}")
    });
    // Databases left by earlier test processes go first (cargo runs test binaries one after
    // another, so another process's databases are not in use).
    static CLEANED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !CLEANED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        let stale: Vec<(String,)> = sqlx::query_as(
            "SELECT CAST(datname AS TEXT) FROM pg_database WHERE datname LIKE 'switchboard_test_%'",
        )
        .fetch_all(&mut admin)
        .await
        .unwrap();
        let own = format!("switchboard_test_{}_", std::process::id());
        for (name,) in stale.into_iter().filter(|(n,)| !n.starts_with(&own)) {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
        }
    }
    let name = format!(
        "switchboard_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    let (prefix, _) = base.rsplit_once('/').expect("the URL names a database");
    Some(TestDb { url: format!("{prefix}/{name}"), _dir: None })
}

/// The store's settings for a test database: French default region.
pub fn config(url: &str) -> StoreConfig {
    StoreConfig {
        url: url.to_string(),
        default_region: Some("FR".into()),
        ..StoreConfig::default()
    }
}

/// Opens (and migrates) a store on `db`.
pub async fn open(db: &TestDb) -> Store {
    Store::open(&config(&db.url)).await.unwrap()
}

/// Runs an async test body against SQLite and, when configured, PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::sqlite();
                super::$body($crate::common::open(&db).await, &db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::common::postgres().await else { return };
                super::$body($crate::common::open(&db).await, &db).await;
            }
        }
    };
}

/// Loads a bundled connector from `path` as `id` with `config` and `allowed` hosts.
pub async fn plugin(
    path: &str,
    id: &str,
    config: &[(&str, &str)],
    allowed: &[&str],
) -> switchboard::runtime::LoadedConnector {
    use switchboard::runtime::{ConnectorSettings, MemoryKv, Runtime, RuntimeConfig};
    let runtime =
        Runtime::new(RuntimeConfig::default(), std::sync::Arc::new(MemoryKv::new())).unwrap();
    let settings = ConnectorSettings {
        id: Some(id.into()),
        config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        allowed_hosts: allowed.iter().map(|h| h.parse().unwrap()).collect(),
        ..ConnectorSettings::default()
    };
    runtime.load_file(path.as_ref(), settings).await.unwrap()
}

/// A recorded request from `plugins/{plugin}/fixtures/{name}`, as connector `plugin` gets it.
pub fn fixture(plugin: &str, name: &str) -> switchboard::model::HttpRequest {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins")
        .join(plugin)
        .join("fixtures")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    switchboard::recorded::Recorded::parse(&bytes).unwrap().to_request(plugin, None).unwrap()
}

/// A provider API on 127.0.0.1 that answers one request with `status` and the JSON `reply`,
/// and hands back the raw request it got (head and body).
pub async fn one_shot_api(
    status: u16,
    reply: &'static str,
) -> (String, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            let n = socket.read(&mut buffer).await.unwrap();
            received.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&received).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
            reply.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&received).into_owned()
    });
    (base, handle)
}

/// The kind of a connector's own error (`unauthorized`, `bad_request`, …); panics on a failure.
pub fn kind(error: &switchboard::runtime::CallError) -> String {
    match error {
        switchboard::runtime::CallError::Connector { error, .. } => {
            serde_json::to_value(error).unwrap()["kind"].as_str().unwrap().to_string()
        }
        other => panic!("not a connector error: {other}"),
    }
}

/// A plain message to `to`, outside any thread.
pub fn outbound(
    to: Vec<switchboard::model::Identifier>,
    text: &str,
) -> switchboard::model::OutboundMessage {
    switchboard::model::OutboundMessage {
        to,
        subject: None,
        text: text.into(),
        thread_id: None,
        in_reply_to: None,
        references: vec![],
        attributes: vec![],
    }
}

/// Serves `router` on 127.0.0.1 (a provider's API, simulated) and returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// The path of `plugins/{plugin}/fixtures/{name}`.
pub fn fixture_path(plugin: &str, name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins")
        .join(plugin)
        .join("fixtures")
        .join(name)
}

/// Copies built components into `dir` as (file name, component path), writes `config` as
/// `dir/switchboard.toml` (relative plugin paths resolve there), and starts a server on it
/// without file watching; returns it with its base URL.
pub async fn start_server(
    dir: &std::path::Path,
    plugins: &[(&str, &str)],
    config: &str,
) -> (switchboard::server::Server, String) {
    for (file, component) in plugins {
        std::fs::copy(component, dir.join(file)).unwrap();
    }
    std::fs::write(dir.join("switchboard.toml"), config).unwrap();
    let config = switchboard::config::load(&dir.join("switchboard.toml"), &|_| None).unwrap();
    let server = switchboard::server::start(config, false).await.unwrap();
    let base = format!("http://{}", server.address);
    (server, base)
}

/// Posts the recorded request `plugins/{plugin}/fixtures/{name}` to a running server, as the
/// provider would, and checks that it was accepted.
pub async fn replay(base: &str, plugin: &str, name: &str) {
    let answer = send_recorded(base, &fixture_path(plugin, name)).await;
    assert_eq!(answer.status, 200, "{plugin}/{name}: {}", String::from_utf8_lossy(&answer.body));
}

/// Posts the recorded request in the `.http` file at `path` to a running server; its answer.
pub async fn send_recorded(base: &str, path: &std::path::Path) -> switchboard::client::Answer {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let recorded = switchboard::recorded::Recorded::parse(&bytes).unwrap();
    switchboard::client::send(
        base,
        &recorded.method,
        &recorded.target,
        &recorded.forwardable_headers(),
        &recorded.body,
    )
    .await
    .unwrap()
}

/// Google's Business Profile API (v4), answering every review name with the review of the
/// fixtures' unknown reviewer, "A. L.".
pub async fn google_reviews_api() -> String {
    let review = |axum::extract::Path(name): axum::extract::Path<String>| async move {
        axum::Json(serde_json::json!({
            "name": name, "reviewId": "AbFvOqmB7xK2pQ9sLzR4tW",
            "reviewer": {"displayName": "A. L.", "isAnonymous": false,
                         "profilePhotoUrl": "https://lh3.googleusercontent.com/a-/ALV-UjXq0e2eReviewer=s120-c"},
            "starRating": "FIVE", "comment": "Livraison rapide, mugs superbes.",
            "createTime": "2026-11-27T10:02:00Z", "updateTime": "2026-11-27T10:02:00Z"
        }))
    };
    serve(axum::Router::new().route("/v4/{*name}", axum::routing::get(review))).await
}

/// The admin token of the servers tests start.
pub const ADMIN: &str = "admin-token-0123456789";

/// The tables that hold customers and what they did, in the order they reference each other.
pub const RECORD_TABLES: &[&str] = &[
    "customers",
    "contact_points",
    "customer_attributes",
    "channel_accounts",
    "contact_events",
    "interactions",
    "orders",
    "order_lines",
    "shipments",
    "consents",
    "payments",
];

/// The start of a test server's config: a free port on 127.0.0.1, the public URL the fixtures
/// were signed for, the store at `store_url`, French phone numbers, and the [`ADMIN`] token.
/// Sections and `[[connector]]`s follow.
pub fn config_head(store_url: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_url = "https://crm.example.com"
[store]
url = "{store_url}"
[identity]
default_region = "FR"
[runtime]
cache_dir = "cache"
[[api_token]]
token = "{ADMIN}"
role = "admin"
"#
    )
}

/// The `app_secret` the WhatsApp fixtures are signed with.
pub const WHATSAPP_APP_SECRET: &str = "fixture-app-secret";

/// A WhatsApp Cloud API notification of a text from `wa_id`, signed as Meta signs it.
pub async fn whatsapp_text(
    base: &str,
    wa_id: &str,
    name: &str,
    message_id: &str,
    text: &str,
    at: i64,
) -> switchboard::client::Answer {
    use serde_json::json;
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": message_id, "timestamp": (at / 1000).to_string(),
                "type": "text", "text": {"body": text}}]},
        "field": "messages"}]}]})
    .to_string();
    whatsapp_post(base, &body).await
}

/// Posts a WhatsApp Cloud API notification body, signed as Meta signs it.
pub async fn whatsapp_post(base: &str, body: &str) -> switchboard::client::Answer {
    use hmac::Mac as _;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(WHATSAPP_APP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    switchboard::client::send(
        base,
        "POST",
        "/hooks/whatsapp",
        &[("Content-Type", "application/json"), ("X-Hub-Signature-256", &signature)],
        body.as_bytes(),
    )
    .await
    .unwrap()
}

/// A simulated WhatsApp Cloud API: records each message sent and answers a `wamid`.
pub async fn graph_api() -> (String, std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = sent.clone();
    let router = axum::Router::new().route(
        "/{phone_number_id}/messages",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push(body.clone());
                axum::Json(serde_json::json!({"messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": format!("wamid.sent{}", log.len())}]}))
            }
        }),
    );
    (serve(router).await, sent)
}
