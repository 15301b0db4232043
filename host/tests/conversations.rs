//! End to end over real HTTP with the bundled conversational connectors: the same person
//! writes an e-mail (with their phone in the signature), calls, shares their phone on Telegram
//! and writes there, and writes on WhatsApp → one customer with four channels on the timeline.

mod common;

use std::path::Path;

use switchboard::client;
use switchboard_test_artifacts as artifacts;

use common::ADMIN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_on_four_channels_is_one_customer() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    // The fixtures were signed for the head's public URL (Twilio signs it).
    let config = common::config_head(&db.url)
        + r#"
[[connector]]
id = "email"
plugin = "./email.wasm"
[connector.config]
mailgun_signing_key = "fixture-mailgun-signing-key"
mailgun_max_age_secs = "2000000000"

[[connector]]
id = "twilio"
plugin = "./twilio.wasm"
[connector.config]
auth_token = "fixture-auth-token"

[[connector]]
id = "telegram"
plugin = "./telegram.wasm"
[connector.config]
secret_token = "fixture-secret-token"

[[connector]]
id = "whatsapp"
plugin = "./whatsapp.wasm"
[connector.config]
app_secret = "fixture-app-secret"
verify_token = "fixture-verify-token"
"#;
    let plugins = [
        ("email.wasm", artifacts::EMAIL),
        ("twilio.wasm", artifacts::TWILIO),
        ("telegram.wasm", artifacts::TELEGRAM),
        ("whatsapp.wasm", artifacts::WHATSAPP),
    ];
    let (server, base) = common::start_server(dir.path(), &plugins, &config).await;

    common::replay(&base, "email", "mailgun-mime.http").await;
    common::replay(&base, "twilio", "voice-incoming.http").await;
    common::replay(&base, "twilio", "voice-completed.http").await;
    common::replay(&base, "telegram", "shared-contact.http").await;
    common::replay(&base, "telegram", "message.http").await;
    common::replay(&base, "whatsapp", "text.http").await;

    let found = client::request(
        &base,
        "GET",
        "/api/customers?email=ann.lee%40example.com",
        Some(ADMIN),
        None,
    )
    .await
    .unwrap()
    .json();
    let customers = found["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 1, "{found}");
    let id = customers[0]["id"].as_i64().unwrap();
    let profile = client::request(&base, "GET", &format!("/api/customers/{id}"), Some(ADMIN), None)
        .await
        .unwrap()
        .json();
    assert_eq!(
        profile["channels"],
        serde_json::json!(["email", "telegram", "twilio", "whatsapp"]),
        "{profile}"
    );
    let timeline =
        client::request(&base, "GET", &format!("/api/customers/{id}/timeline"), Some(ADMIN), None)
            .await
            .unwrap()
            .json();
    let mut connectors: Vec<String> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["connector"].as_str().unwrap().to_string())
        .collect();
    connectors.sort();
    connectors.dedup();
    assert_eq!(connectors, ["email", "telegram", "twilio", "whatsapp"], "{timeline}");
    let stats =
        client::request(&base, "GET", "/api/stats", Some(ADMIN), None).await.unwrap().json();
    assert_eq!(stats["customers"], 1, "one customer, not four: {stats}");
    server.shutdown().await;
}

/// `switchboard plugin test` works on every recorded request of every bundled connector:
/// accepted requests print their events, refused ones (named after what is wrong with them)
/// exit 1 with the 4xx the host would answer.
#[test]
fn plugin_test_runs_every_fixture() {
    // Google's API for the review notifications, on a runtime of its own.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let google = runtime.block_on(common::serve(axum::Router::new().route(
        "/v4/{*name}",
        axum::routing::get(|axum::extract::Path(name): axum::extract::Path<String>| async move {
            axum::Json(serde_json::json!({"name": name, "starRating": "THREE", "comment": "ok",
                "reviewer": {"displayName": "R.", "isAnonymous": true}, "createTime": "2026-11-26T14:58:02Z"}))
        }),
    )));
    let google_base = format!("api_base={google}");
    let lenient = "tolerance_secs=2000000000";
    let connectors: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "email",
            artifacts::EMAIL,
            vec![
                "mailgun_signing_key=fixture-mailgun-signing-key",
                "mailgun_max_age_secs=2000000000",
                "postmark_username=postmark-hook",
                "postmark_password=fixture-postmark-password",
            ],
        ),
        ("twilio", artifacts::TWILIO, vec!["auth_token=fixture-auth-token"]),
        ("telegram", artifacts::TELEGRAM, vec!["secret_token=fixture-secret-token"]),
        (
            "whatsapp",
            artifacts::WHATSAPP,
            vec!["app_secret=fixture-app-secret", "verify_token=fixture-verify-token"],
        ),
        ("aftership", artifacts::AFTERSHIP, vec!["webhook_secret=fixture-aftership-secret"]),
        ("easypost", artifacts::EASYPOST, vec!["webhook_secret=fixture-easypost-secret"]),
        ("shopify", artifacts::SHOPIFY, vec!["client_secret=fixture-shopify-client-secret"]),
        (
            "stripe",
            artifacts::STRIPE,
            vec!["webhook_secret=whsec_fixture0stripe0signing0secret", lenient],
        ),
        ("web", artifacts::WEB, vec!["signing_secret=fixture-web-signing-secret", lenient]),
        ("till", artifacts::TILL, vec!["signing_secret=fixture-till-signing-secret", lenient]),
        (
            "google-business",
            artifacts::GOOGLE_BUSINESS,
            vec!["push_token=fixture-push-token", "access_token=ya29.fixture", &google_base],
        ),
    ];
    let cache = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for (plugin, component, config) in &connectors {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins").join(plugin).join("fixtures");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "http") {
                continue;
            }
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
            command.args(["plugin", "test", component, "--request"]).arg(&path);
            command.args(["--allow-host", &google]);
            for value in config {
                command.args(["--config", value]);
            }
            let output = command
                .env("SWITCHBOARD_CACHE_DIR", cache.path())
                .env("SWITCHBOARD_LOG", "error")
                .output()
                .unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let json: serde_json::Value =
                serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
                    panic!("{plugin}/{name}: {e}: {}", String::from_utf8_lossy(&output.stderr))
                });
            let refused =
                ["wrong", "malformed", "missing", "not-mime"].iter().any(|w| name.contains(w));
            if refused {
                assert_eq!(output.status.code(), Some(1), "{plugin}/{name}: {json}");
                let status = json["status"].as_u64().unwrap();
                assert!((400..500).contains(&status), "{plugin}/{name}: {json}");
            } else {
                assert!(output.status.success(), "{plugin}/{name}: {json}");
                assert!(
                    json["response"]["status"].as_u64() == Some(200),
                    "{plugin}/{name}: {json}"
                );
            }
            ran += 1;
        }
    }
    assert!(ran >= 70, "only {ran} fixtures");
}
