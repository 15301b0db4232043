//! The host killed with SIGKILL in the middle of load, then restarted: every webhook it
//! acknowledged is in the store.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use switchboard::client;
use switchboard_test_artifacts as artifacts;

const SECRET: &str = "crash-secret";

/// Kills the host when the test ends, even when it fails.
struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(config: &std::path::Path) -> (Host, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--no-watch", "--config"])
        .arg(config)
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("switchboard listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line}"));
    (Host(child), address.to_string())
}

fn sign(body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_webhooks_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    std::fs::copy(artifacts::SIGNED, dir.path().join("signed.wasm")).unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[store]\nurl = \"{}\"\n[runtime]\ncache_dir = \"cache\"\n\
             [[connector]]\nid = \"signed\"\nplugin = \"./signed.wasm\"\n[connector.config]\nsecret = \"{SECRET}\"\n",
            db.url
        ),
    )
    .unwrap();
    let (mut child, address) = spawn(&config);
    let base = address;
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (base, acknowledged) = (base.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let id = format!("kill-{sender}-{n}");
                    let body = json!({"id": id, "email": format!("p{}@example.com", n % 20), "text": "hi"}).to_string();
                    let signature = sign(body.as_bytes());
                    match client::send(&base, "POST", "/hooks/signed", &[("X-Signature", &signature)], body.as_bytes()).await {
                        Ok(answer) if answer.status == 200 => {
                            acknowledged.lock().unwrap().insert(id);
                        }
                        Ok(answer) => panic!("unexpected answer {} before the kill", answer.status),
                        // The host is gone: stop sending.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    // Let load build up, then kill the host without warning.
    for waited in 0.. {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let count = acknowledged.lock().unwrap().len();
        if count >= 200 {
            break;
        }
        assert!(
            waited < 300 && !senders.iter().all(|s| s.is_finished()),
            "load did not build up: {count} acknowledged"
        );
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let (_restarted, _) = spawn(&config);
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let stored: Vec<(String,)> =
        sqlx::query_as("SELECT provider_id FROM interactions").fetch_all(&mut conn).await.unwrap();
    let stored: BTreeSet<String> = stored.into_iter().map(|(id,)| id).collect();
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(missing.is_empty(), "{} acknowledged webhooks lost: {missing:?}", missing.len());
}

/// Regression: on SIGTERM the server stopped accepting but never exited, because the poller
/// was only told to stop by an in-process shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_host_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    std::fs::copy(artifacts::PROBE, dir.path().join("probe.wasm")).unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[store]\nurl = \"{}\"\n[runtime]\ncache_dir = \"cache\"\n\
             [[connector]]\nid = \"probe\"\nplugin = \"./probe.wasm\"\npoll_interval = \"100ms\"\n",
            db.url
        ),
    )
    .unwrap();
    let (mut host, address) = spawn(&config);
    assert_eq!(client::request(&address, "GET", "/healthz", None, None).await.unwrap().status, 200);
    let status = Command::new("kill").args(["-TERM", &host.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    for _ in 0..100 {
        if let Some(exit) = host.0.try_wait().unwrap() {
            assert!(exit.success(), "{exit:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the host did not stop within 10 s of SIGTERM");
}
