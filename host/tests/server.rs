//! The server end to end over real sockets: signed webhooks to the API, redelivery, dead
//! letters and replay, hot reload under load, broken updates, auth, sending, and two hosts on
//! one PostgreSQL.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use switchboard::client::{self, Answer};
use switchboard::server::{self, Server};
use switchboard_test_artifacts as artifacts;

const ADMIN: &str = "admin-token-0123456789";
const READER: &str = "read-token-0123456789";
const SECRET: &str = "shh-webhook-secret";

fn sign(body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Writes a config into `dir` with the signed guest copied beside it, and starts a server.
async fn start(dir: &Path, store_url: &str, extra: &str) -> Server {
    std::fs::copy(artifacts::SIGNED, dir.join("signed.wasm")).unwrap();
    std::fs::copy(artifacts::TRAP, dir.join("trap.wasm")).unwrap();
    std::fs::copy(artifacts::PROBE, dir.join("probe.wasm")).unwrap();
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_url = "https://crm.example.com"
body_limit = "64KiB"

[store]
url = "{store_url}"

[identity]
default_region = "FR"

[runtime]
cache_dir = "cache"

[[api_token]]
token = "{ADMIN}"
role = "admin"

[[api_token]]
token = "{READER}"
role = "read"

[[connector]]
id = "signed"
plugin = "./signed.wasm"
[connector.config]
secret = "{SECRET}"

[[connector]]
id = "flaky"
plugin = "./trap.wasm"
{extra}
"#
    );
    std::fs::write(dir.join("switchboard.toml"), config).unwrap();
    let config = switchboard::config::load(&dir.join("switchboard.toml"), &|_| None).unwrap();
    server::start(config, true).await.unwrap()
}

fn base(server: &Server) -> String {
    format!("http://{}", server.address)
}

async fn webhook(server: &Server, body: &Value) -> Answer {
    let bytes = body.to_string().into_bytes();
    let signature = sign(&bytes);
    client::send(
        &base(server),
        "POST",
        "/hooks/signed",
        &[("Content-Type", "application/json"), ("X-Signature", &signature)],
        &bytes,
    )
    .await
    .unwrap()
}

async fn get(server: &Server, path: &str, token: &str) -> Answer {
    client::request(&base(server), "GET", path, Some(token), None).await.unwrap()
}

async fn post(server: &Server, path: &str, token: &str, body: Value) -> Answer {
    client::request(&base(server), "POST", path, Some(token), Some(&body)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_webhook_becomes_a_customer_visible_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let server = start(dir.path(), &db.url, "").await;
    let message = json!({"id": "m-1", "email": "Ann.Lee@Example.com", "phone": "06 12 34 56 78", "name": "Ann Lee", "text": "Hello"});
    let answer = webhook(&server, &message).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(
        answer.json()["id"],
        "m-1",
        "the connector's own response goes back to the provider"
    );

    let found = get(&server, "/api/customers?email=ann.lee%40example.com", READER).await.json();
    let customer = found["customers"][0]["id"].as_i64().expect("the customer is found by e-mail");
    let by_phone = get(&server, "/api/customers?phone=%2B33612345678", READER).await.json();
    assert_eq!(by_phone["customers"][0]["id"], customer);
    let timeline =
        get(&server, &format!("/api/customers/{customer}/timeline"), READER).await.json();
    assert_eq!(timeline["entries"][0]["kind"], "interaction");
    assert_eq!(timeline["entries"][0]["connector"], "signed");
    assert_eq!(timeline["entries"][0]["data"]["text"], "Hello");

    // Redelivery: the same webhook again adds nothing.
    assert_eq!(webhook(&server, &message).await.status, 200);
    let timeline =
        get(&server, &format!("/api/customers/{customer}/timeline"), READER).await.json();
    assert_eq!(timeline["entries"].as_array().unwrap().len(), 1);

    // A wrong signature is refused and stores nothing.
    let forged = message.to_string().replace("Hello", "Pay me");
    let answer = client::send(
        &base(&server),
        "POST",
        "/hooks/signed",
        &[("X-Signature", &sign(message.to_string().as_bytes()))],
        forged.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["error"], "unauthorized");
    // Malformed JSON with a valid signature is a 400.
    let answer = client::send(
        &base(&server),
        "POST",
        "/hooks/signed",
        &[("X-Signature", &sign(b"{nope"))],
        b"{nope",
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 400);
    assert!(
        get(&server, "/admin/dead-letters", ADMIN).await.json()["dead_letters"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Too large a body is a 413; an unknown connector a 404.
    let big = vec![b'x'; 65 * 1024];
    let answer = client::send(&base(&server), "POST", "/hooks/signed", &[], &big).await.unwrap();
    assert_eq!(answer.status, 413);
    assert_eq!(
        client::send(&base(&server), "POST", "/hooks/nobody", &[], b"{}").await.unwrap().status,
        404
    );

    let stats = get(&server, "/api/stats", READER).await.json();
    assert_eq!(stats["customers"], 1);
    assert_eq!(stats["connectors"]["signed"]["interactions"], 1);
    let metrics = String::from_utf8(
        client::request(&base(&server), "GET", "/metrics", None, None).await.unwrap().body,
    )
    .unwrap();
    for expected in [
        "switchboard_connector_calls_total{connector=\"signed\",call=\"webhook\",outcome=\"ok\"} 2",
        "switchboard_connector_calls_total{connector=\"signed\",call=\"webhook\",outcome=\"rejected\"} 2",
        "switchboard_events_total{connector=\"signed\",kind=\"interaction\"} 2",
        "switchboard_store_commit_seconds_count 2",
    ] {
        assert!(metrics.contains(expected), "{expected} not in\n{metrics}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_and_open_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let server = start(dir.path(), &db.url, "").await;
    let url = base(&server);
    let anonymous = client::request(&url, "GET", "/api/customers", None, None).await.unwrap();
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json()["error"], "unauthorized");
    assert_eq!(
        client::request(&url, "GET", "/api/customers", Some("wrong-token-000000000"), None)
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(get(&server, "/api/customers", READER).await.status, 200);
    let forbidden = post(&server, "/admin/connectors/signed/disable", READER, json!({})).await;
    assert_eq!(forbidden.status, 403);
    for open in ["/healthz", "/readyz", "/metrics", "/api/openapi.json"] {
        assert_eq!(
            client::request(&url, "GET", open, None, None).await.unwrap().status,
            200,
            "{open}"
        );
    }
    let openapi =
        client::request(&url, "GET", "/api/openapi.json", None, None).await.unwrap().json();
    for path in
        ["/api/customers/{id}/timeline", "/api/merges/{id}/undo", "/admin/dead-letters/{id}/replay"]
    {
        assert!(openapi["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    assert_eq!(get(&server, "/api/customers/999", READER).await.status, 404);
    let merge =
        post(&server, "/api/customers/1/merge", ADMIN, json!({"other": 1, "extra": true})).await;
    assert!(
        String::from_utf8_lossy(&merge.body).contains("unknown field `extra`"),
        "the refusal names the field: {}",
        String::from_utf8_lossy(&merge.body)
    );
    assert_eq!(
        merge.status,
        400,
        "unknown fields are refused: {}",
        String::from_utf8_lossy(&merge.body)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_undo_and_sending_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let server = start(dir.path(), &db.url, "").await;
    webhook(&server, &json!({"id": "a1", "email": "ann@example.com", "text": "hi"})).await;
    webhook(&server, &json!({"id": "b1", "phone": "0612345678", "text": "hello"})).await;
    let ann =
        get(&server, "/api/customers?email=ann%40example.com", READER).await.json()["customers"][0]
            ["id"]
            .as_i64()
            .unwrap();
    let phone = get(&server, "/api/customers?phone=0612345678", READER).await.json()["customers"]
        [0]["id"]
        .as_i64()
        .unwrap();
    let merged =
        post(&server, &format!("/api/customers/{ann}/merge"), ADMIN, json!({"other": phone})).await;
    assert_eq!(merged.status, 200);
    let entry = merged.json()["id"].as_i64().unwrap();
    let explain = get(&server, &format!("/api/customers/{phone}/explain"), READER).await.json();
    assert_eq!(explain["customer_id"], ann, "a merged-away id explains the customer it became");
    let undo = post(&server, &format!("/api/merges/{entry}/undo"), ADMIN, json!({})).await;
    assert_eq!(undo.status, 200);
    assert_eq!(
        post(&server, &format!("/api/merges/{entry}/undo"), ADMIN, json!({})).await.status,
        409
    );

    // Sending goes through the customer's inbound channel and lands on the timeline.
    let sent = post(
        &server,
        &format!("/api/customers/{ann}/messages"),
        ADMIN,
        json!({"text": "Your parcel left"}),
    )
    .await;
    assert_eq!(sent.status, 200, "{}", String::from_utf8_lossy(&sent.body));
    assert_eq!(sent.json()["connector"], "signed");
    assert_eq!(sent.json()["provider_id"], "sent-to-ann@example.com-16");
    let timeline = get(&server, &format!("/api/customers/{ann}/timeline"), READER).await.json();
    let directions: Vec<_> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["direction"].clone())
        .collect();
    assert!(directions.contains(&json!("outbound")), "{timeline}");

    // After STOP the customer is not contacted on that channel.
    webhook(&server, &json!({"id": "a2", "email": "ann@example.com", "text": "STOP"})).await;
    let refused =
        post(&server, &format!("/api/customers/{ann}/messages"), ADMIN, json!({"text": "Promo!"}))
            .await;
    assert_eq!(refused.status, 409);
    assert!(
        refused.json()["detail"].as_str().unwrap().contains("opted out of chat"),
        "{}",
        refused.json()
    );
    let no_channel = post(
        &server,
        &format!("/api/customers/{ann}/messages"),
        ADMIN,
        json!({"text": "x", "channel": "flaky"}),
    )
    .await;
    assert_eq!(no_channel.status, 409);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_go_to_dead_letters_and_replay_after_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let server =
        start(dir.path(), &db.url, &format!("[connector.config]\nsecret = \"{SECRET}\"")).await;
    let body = json!({"id": "d1", "email": "dora@example.com", "text": "hi"}).to_string();
    // `flaky` is the trap guest: it fails every request.
    let answer = client::send(
        &base(&server),
        "POST",
        "/hooks/flaky/x?y=1",
        &[("X-Signature", &sign(body.as_bytes()))],
        body.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 500);
    let letters = get(&server, "/admin/dead-letters", ADMIN).await.json();
    let letter = &letters["dead_letters"][0];
    assert_eq!(letter["connector_id"], "flaky");
    assert!(letter["error"].as_str().unwrap().contains("trapped"), "{letter}");
    assert_eq!(letter["request"]["url"], "https://crm.example.com/hooks/flaky/x?y=1");
    let id = letter["id"].as_i64().unwrap();
    // The CLI shows the same through the admin API.
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(args)
            .args(["--server", &base(&server), "--token", ADMIN])
            .output()
            .unwrap()
    };
    let listed = cli(&["dead-letters", "list"]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains("\"connector_id\": \"flaky\""));
    let connectors = cli(&["connectors", "list"]);
    assert!(String::from_utf8_lossy(&connectors.stdout).contains("\"id\": \"signed\""));
    // Replaying before the fix fails again and keeps it.
    assert_eq!(
        post(&server, &format!("/admin/dead-letters/{id}/replay"), ADMIN, json!({})).await.status,
        502
    );
    // The fix: a working component in place of the broken one.
    std::fs::copy(artifacts::SIGNED, dir.path().join("trap.wasm")).unwrap();
    let reloaded = post(&server, "/admin/connectors/flaky/reload", ADMIN, json!({})).await;
    assert_eq!(reloaded.status, 200, "{}", String::from_utf8_lossy(&reloaded.body));
    let replayed =
        post(&server, &format!("/admin/dead-letters/{id}/replay"), ADMIN, json!({})).await;
    assert_eq!(replayed.status, 200, "{}", String::from_utf8_lossy(&replayed.body));
    assert!(
        get(&server, "/admin/dead-letters", ADMIN).await.json()["dead_letters"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let found = get(&server, "/api/customers?email=dora%40example.com", READER).await.json();
    assert_eq!(found["customers"].as_array().unwrap().len(), 1, "the replayed event is stored");
    server.shutdown().await;
}

/// Issue 14 #2 and #9: a dead letter shows no provider credential (the stored copy keeps them
/// for replay), can be deleted, and of eight concurrent replays exactly one runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replays_of_one_dead_letter_run_once_and_credentials_are_masked() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let server =
        start(dir.path(), &db.url, &format!("[connector.config]\nsecret = \"{SECRET}\"")).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let body =
            json!({"id": format!("m{n}"), "email": format!("mo{n}@example.com"), "text": "hi"})
                .to_string();
        let answer = client::send(
            &base(&server),
            "POST",
            "/hooks/flaky/push?token=push-secret-123&kind=x",
            &[
                ("X-Signature", &sign(body.as_bytes())),
                ("Authorization", "Basic cG9zdG1hcms6aHVudGVyMjI="),
                ("X-Telegram-Bot-Api-Secret-Token", "tg-secret-456"),
            ],
            body.as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(answer.status, 500);
    }
    let listed = get(&server, "/admin/dead-letters", ADMIN).await;
    let text = String::from_utf8_lossy(&listed.body).to_string();
    for secret in ["push-secret-123", "cG9zdG1hcms6aHVudGVyMjI=", "tg-secret-456"] {
        assert!(!text.contains(secret), "{secret} is shown: {text}");
    }
    for letter in listed.json()["dead_letters"].as_array().unwrap() {
        ids.push(letter["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 2);
    assert_eq!(get(&server, "/admin/dead-letters", READER).await.status, 403);

    std::fs::copy(artifacts::SIGNED, dir.path().join("trap.wasm")).unwrap();
    let reloaded = post(&server, "/admin/connectors/flaky/reload", ADMIN, json!({})).await;
    assert_eq!(reloaded.status, 200);
    let url = base(&server);
    let replays: Vec<_> = (0..8)
        .map(|_| {
            let (url, id) = (url.clone(), ids[0]);
            tokio::spawn(async move {
                client::request(
                    &url,
                    "POST",
                    &format!("/admin/dead-letters/{id}/replay"),
                    Some(ADMIN),
                    None,
                )
                .await
                .unwrap()
                .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for replay in replays {
        statuses.push(replay.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    // The replay verified the stored (unmasked) request: the customer is there.
    // (Listed newest first: the replayed one is the second webhook's.)
    let found = get(&server, "/api/customers?email=mo1%40example.com", READER).await.json();
    assert_eq!(found["customers"].as_array().unwrap().len(), 1, "{found}");

    let other = ids[1];
    let delete = |id: i64| {
        let url = url.clone();
        async move {
            client::request(&url, "DELETE", &format!("/admin/dead-letters/{id}"), Some(ADMIN), None)
                .await
                .unwrap()
                .status
        }
    };
    assert_eq!(delete(other).await, 204);
    assert_eq!(delete(other).await, 404);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_update_keeps_the_old_version_serving() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let server = start(dir.path(), &db.url, "").await;
    std::fs::write(dir.path().join("signed.wasm"), b"\0asm broken").unwrap();
    let refused = post(&server, "/admin/connectors/signed/reload", ADMIN, json!({})).await;
    assert_eq!(refused.status, 422);
    assert!(refused.json()["detail"].as_str().unwrap().contains("previous version keeps serving"));
    // The watcher saw the same file and refused it too; either way the old one serves.
    assert_eq!(
        webhook(&server, &json!({"id": "x1", "email": "x@example.com", "text": "hi"})).await.status,
        200
    );
    let status = get(&server, "/admin/connectors", ADMIN).await.json();
    let signed = status["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "signed")
        .unwrap()
        .clone();
    assert_eq!(signed["state"], "serving");
    assert!(signed["last_error"].as_str().unwrap().contains("reload refused"), "{signed}");
    // A good component dropped in place is picked up by the watcher on its own.
    std::fs::copy(artifacts::PROBE, dir.path().join("signed.wasm")).unwrap();
    let mut swapped = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let status = get(&server, "/admin/connectors", ADMIN).await.json();
        if status["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "signed" && c["plugin_version"] == "1.2.3")
        {
            swapped = true;
            break;
        }
    }
    assert!(swapped, "the watcher did not reload the changed plugin file");
    std::fs::copy(artifacts::SIGNED, dir.path().join("signed.wasm")).unwrap();
    post(&server, "/admin/connectors/signed/reload", ADMIN, json!({})).await;
    // Disabling answers 503 so providers retry; enabling serves again.
    post(&server, "/admin/connectors/signed/disable", ADMIN, json!({})).await;
    assert_eq!(
        webhook(&server, &json!({"id": "x2", "email": "x@example.com", "text": "hi"})).await.status,
        503
    );
    post(&server, "/admin/connectors/signed/enable", ADMIN, json!({})).await;
    assert_eq!(
        webhook(&server, &json!({"id": "x3", "email": "x@example.com", "text": "hi"})).await.status,
        200
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_under_load_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let server = Arc::new(start(dir.path(), &db.url, "").await);
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..8)
        .map(|sender| {
            let (server, acknowledged) = (server.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for n in 0..250 {
                    let body = json!({"id": format!("load-{sender}-{n}"), "email": format!("p{}@example.com", n % 50), "text": "hi"});
                    let answer = webhook(&server, &body).await;
                    if answer.status == 200 {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    } else {
                        failures.push((answer.status, String::from_utf8_lossy(&answer.body).into_owned()));
                    }
                }
                failures
            })
        })
        .collect();
    // Reload repeatedly while the load runs: each reload compiles (from the cache), checks and
    // swaps in a new instance of the component.
    let mut reloads = 0;
    while !senders.iter().all(|s| s.is_finished()) {
        let answer = post(&server, "/admin/connectors/signed/reload", ADMIN, json!({})).await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        reloads += 1;
    }
    for sender in senders {
        let failures = sender.await.unwrap();
        assert!(failures.is_empty(), "requests failed during reloads: {failures:?}");
    }
    assert!(reloads >= 3, "only {reloads} reloads happened during the load");
    assert_eq!(acknowledged.load(Ordering::SeqCst), 2000);
    let stats = get(&server, "/api/stats", READER).await.json();
    assert_eq!(
        stats["connectors"]["signed"]["interactions"], 2000,
        "every acknowledged event is stored exactly once"
    );
    assert_eq!(stats["customers"], 50);
    Arc::try_unwrap(server).ok().unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_added_to_the_config_starts_serving_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let server = start(dir.path(), &db.url, "").await;
    let config_path = dir.path().join("switchboard.toml");
    let mut config = std::fs::read_to_string(&config_path).unwrap();
    config.push_str("\n[[connector]]\nid = \"second\"\nplugin = \"./signed.wasm\"\n[connector.config]\nsecret = \"shh-webhook-secret\"\nversion = \"2.0.0\"\n");
    std::fs::write(&config_path, &config).unwrap();
    let mut serving = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let list = get(&server, "/admin/connectors", ADMIN).await.json();
        if let Some(second) =
            list["connectors"].as_array().unwrap().iter().find(|c| c["id"] == "second")
        {
            assert_eq!(second["plugin_version"], "2.0.0");
            serving = true;
            break;
        }
    }
    assert!(serving, "the new connector did not come up");
    // Removed from the config: it stops.
    let without = config.split("\n[[connector]]\nid = \"second\"").next().unwrap().to_string();
    std::fs::write(&config_path, without).unwrap();
    let mut gone = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let list = get(&server, "/admin/connectors", ADMIN).await.json();
        if !list["connectors"].as_array().unwrap().iter().any(|c| c["id"] == "second") {
            gone = true;
            break;
        }
    }
    assert!(gone, "the removed connector still serves");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_postgres() {
    let Some(db) = common::postgres().await else { return };
    let poll =
        "\n[[connector]]\nid = \"probe\"\nplugin = \"./probe.wasm\"\npoll_interval = \"50ms\"\n";
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Arc::new(start(dir_a.path(), &db.url, poll).await);
    let b = Arc::new(start(dir_b.path(), &db.url, poll).await);
    // Overlapping customers arrive at both hosts at once.
    let tasks: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(host, server)| {
            tokio::spawn(async move {
                for n in 0..60 {
                    let who = n % 10;
                    let body = if (n + host) % 2 == 0 {
                        json!({"id": format!("h{host}-{n}"), "email": format!("p{who}@example.com"), "phone": format!("06 12 34 56 {who:02}"), "text": "x"})
                    } else {
                        json!({"id": format!("h{host}-{n}"), "phone": format!("+33 6 12 34 56 {who:02}"), "text": "y"})
                    };
                    assert_eq!(webhook(&server, &body).await.status, 200);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let stats = get(&a, "/api/stats", READER).await.json();
    // The poller keeps adding customers of its own meanwhile: count those the webhooks made.
    assert_eq!(stats["connectors"]["signed"]["customers"], 10, "one customer per person: {stats}");
    assert_eq!(stats["connectors"]["signed"]["interactions"], 120);
    let polled = |server: &Server| {
        server
            .state
            .registry
            .get("probe")
            .map(|slot| slot.status().last_poll.is_some())
            .unwrap_or(false)
    };
    assert!(polled(&a) ^ polled(&b), "exactly one host polls the connector");
    Arc::try_unwrap(a).ok().unwrap().shutdown().await;
    Arc::try_unwrap(b).ok().unwrap().shutdown().await;
}

/// Issue 14 #3: a value the store could never take (a NUL byte, which PostgreSQL refuses) is
/// refused at the boundary with its field named: a dead letter and a 500, not a 503 that the
/// provider would retry for days; nothing of it is stored.
async fn a_nul_byte_is_a_dead_letter_naming_the_field(store_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), store_url, "").await;
    let answer =
        webhook(&server, &json!({"id": "n1", "email": "nul@example.com", "text": "a\u{0}b"})).await;
    assert_eq!(answer.status, 500, "{}", String::from_utf8_lossy(&answer.body));
    let letters = get(&server, "/admin/dead-letters", ADMIN).await.json();
    let error = letters["dead_letters"][0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("`text` holds the control character U+0000"), "{error}");
    let found = get(&server, "/api/customers?email=nul%40example.com", READER).await.json();
    assert!(found["customers"].as_array().unwrap().is_empty(), "nothing stored: {found}");
    // The store still works for the next one.
    assert_eq!(
        webhook(&server, &json!({"id": "n2", "email": "ok@example.com", "text": "fine"}))
            .await
            .status,
        200
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_is_a_dead_letter_naming_the_field_sqlite() {
    let db = common::sqlite();
    a_nul_byte_is_a_dead_letter_naming_the_field(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_is_a_dead_letter_naming_the_field_postgres() {
    let Some(db) = common::postgres().await else { return };
    a_nul_byte_is_a_dead_letter_naming_the_field(&db.url).await;
}

/// Issue 14 #7: a connector speaks only for the namespaces its manifest declares. One
/// configured as `impostor` that reports Shopify customer ids (the bench guest parses Shopify
/// orders but declares no namespace) is refused with the namespace named, and stores nothing;
/// the real Shopify connector's ids are its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_cannot_speak_in_another_connectors_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let config = common::config_head(&db.url)
        + r#"
[[connector]]
id = "impostor"
plugin = "./impostor.wasm"

[[connector]]
id = "shopify"
plugin = "./shopify.wasm"
[connector.config]
client_secret = "fixture-shopify-client-secret"
"#;
    let plugins = [("impostor.wasm", artifacts::BENCH_JSON), ("shopify.wasm", artifacts::SHOPIFY)];
    let (server, url) = common::start_server(dir.path(), &plugins, &config).await;
    let recorded = switchboard::recorded::Recorded::parse(
        &std::fs::read(common::fixture_path("shopify", "orders-create.http")).unwrap(),
    )
    .unwrap();
    let answer = client::send(
        &url,
        "POST",
        "/hooks/impostor",
        &[("Content-Type", "application/json")],
        &recorded.body,
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 500, "{}", String::from_utf8_lossy(&answer.body));
    let admin = |path: &str| {
        let url = url.clone();
        let path = path.to_string();
        async move {
            client::request(&url, "GET", &path, Some(common::ADMIN), None).await.unwrap().json()
        }
    };
    let letters = admin("/admin/dead-letters").await;
    let error = letters["dead_letters"][0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("namespace `shopify:customer`"), "{error}");
    assert_eq!(
        admin("/api/stats").await["customers"],
        0,
        "nothing of the impostor's call was stored"
    );
    // The owner's own webhook is taken.
    common::replay(&url, "shopify", "orders-create.http").await;
    let found = admin("/api/customers?external=shopify:customer:115310627314723954").await;
    assert_eq!(found["customers"].as_array().unwrap().len(), 1, "{found}");
    server.shutdown().await;
}
