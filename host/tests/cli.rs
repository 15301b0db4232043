//! `switchboard plugin inspect` and `switchboard plugin test`, run as a connector author would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use switchboard_test_artifacts as artifacts;

fn switchboard(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("SWITCHBOARD_CACHE_DIR", cache)
        .env("SWITCHBOARD_LOG", "warn")
        .output()
        .expect("failed to run switchboard")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn plugin_test_prints_the_events_of_the_hello_example() {
    let cache = tempfile::tempdir().unwrap();
    let request = repo("examples/hello/request.http");
    let output = switchboard(
        &["plugin", "test", artifacts::HELLO, "--request", request.to_str().unwrap()],
        cache.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["response"]["status"], 200);
    let event = &json["events"][0];
    assert_eq!(event["type"], "interaction");
    assert_eq!(event["kind"], "message");
    assert_eq!(event["provider_id"], "form-1");
    assert_eq!(event["text"], "Hello, do you ship to Lyon?");
    assert_eq!(
        event["contact"]["identifiers"][0],
        serde_json::json!({"kind": "email", "value": "Ann.Lee@Example.com", "provenance": "declared"})
    );
    assert_eq!(event["contact"]["display_name"], "Ann Lee");
}

#[test]
fn plugin_test_says_what_the_store_does_with_each_identifier() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let request = dir.path().join("role.http");
    for (email, expected) in [
        (
            "Ann.Lee%40Example.com",
            "email \"Ann.Lee@Example.com\" → ann.lee@example.com (links records)",
        ),
        (
            "Info%40Acme.fr",
            "email \"Info@Acme.fr\" → info@acme.fr (shared, a role address (info@…)",
        ),
        (
            "test%40example.com",
            "email \"test@example.com\" → test@example.com (blocked, blocked value: kept on the profile, never used to match)",
        ),
        (
            "call+me",
            "email \"call me\" → call me (invalid, not a valid e-mail address: kept on the profile, never used to match)",
        ),
    ] {
        std::fs::write(
            &request,
            format!(
                "POST /hooks/hello HTTP/1.1\nHost: crm.example.com\n\
                 Content-Type: application/x-www-form-urlencoded\n\nid=f&email={email}&text=hi"
            ),
        )
        .unwrap();
        let output = switchboard(
            &[
                "plugin",
                "test",
                artifacts::HELLO,
                "-r",
                request.to_str().unwrap(),
                "--region",
                "FR",
            ],
            cache.path(),
        );
        assert!(output.status.success(), "{}", stderr(&output));
        // Standard output stays the connector's outcome; the report is on standard error.
        serde_json::from_str::<serde_json::Value>(&stdout(&output)).unwrap();
        let report = stderr(&output);
        assert!(report.contains("event 1 (f): identifiers"), "{report}");
        assert!(report.contains(expected), "{report}");
    }
}

#[test]
fn plugin_test_passes_config_and_reports_connector_errors() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let request = dir.path().join("config.http");
    std::fs::write(
        &request,
        "GET /hooks/probe/config?key=api_key HTTP/1.1\nHost: crm.example.com\n\n",
    )
    .unwrap();
    let output = switchboard(
        &[
            "plugin",
            "test",
            artifacts::PROBE,
            "-r",
            request.to_str().unwrap(),
            "--config",
            "api_key=k=v",
        ],
        cache.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["response"]["body"], "k=v");

    std::fs::write(&request, "POST /hooks/probe/unauthorized HTTP/1.1\nHost: crm.example.com\n\n")
        .unwrap();
    let output = switchboard(
        &["plugin", "test", artifacts::PROBE, "-r", request.to_str().unwrap()],
        cache.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["status"], 401);
    assert_eq!(
        json["error"],
        serde_json::json!({"kind": "unauthorized", "message": "bad signature"})
    );
}

#[test]
fn plugin_test_explains_a_malformed_request_file() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let request = dir.path().join("bad.http");
    std::fs::write(&request, "POST /hooks/hello HTTP/1.1\nthis is not a header\n\nbody").unwrap();
    let output = switchboard(
        &["plugin", "test", artifacts::HELLO, "-r", request.to_str().unwrap()],
        cache.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("bad.http is not a recorded request"), "{message}");
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn plugin_inspect_shows_manifest_world_and_size() {
    let cache = tempfile::tempdir().unwrap();
    let output = switchboard(&["plugin", "inspect", artifacts::PROBE, "--json"], cache.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["world"], "switchboard:connector/plugin@0.3.0");
    assert_eq!(json["manifest"]["namespaces"], serde_json::json!(["probe:user"]));
    assert_eq!(json["manifest"]["id"], "probe");
    assert_eq!(json["manifest"]["version"], "1.2.3");
    assert_eq!(
        json["manifest"]["capabilities"],
        serde_json::json!({"webhook": true, "poll": true, "send": true, "geocode": false})
    );
    let size = std::fs::metadata(artifacts::PROBE).unwrap().len();
    assert_eq!(json["size_bytes"], size);

    let text = switchboard(&["plugin", "inspect", artifacts::HELLO], cache.path());
    assert!(text.status.success());
    let text = stdout(&text);
    assert!(text.contains("id:            hello"), "{text}");
    assert!(text.contains("capabilities:  webhook"), "{text}");
}

#[test]
fn plugin_inspect_refuses_a_component_for_another_contract() {
    let cache = tempfile::tempdir().unwrap();
    let output = switchboard(&["plugin", "inspect", artifacts::WRONG_WIT], cache.path());
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("unsupported WIT version"), "{message}");
    assert!(message.contains("switchboard:connector@0.2.0"), "{message}");
}

#[test]
fn migrate_and_config_check_work_on_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        format!("[store]\nurl = \"sqlite://{}\"\n", dir.path().join("s.db").display()),
    )
    .unwrap();
    let output = switchboard(&["migrate", "--config", config.to_str().unwrap()], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("is up to date"));
    assert!(dir.path().join("s.db").exists());
    let checked = switchboard(&["config", "check", config.to_str().unwrap()], dir.path());
    assert!(checked.status.success());
    std::fs::write(&config, "[store]\nurll = 1\n").unwrap();
    let refused = switchboard(&["config", "check", config.to_str().unwrap()], dir.path());
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("2:1: unknown key `store.urll`"), "{}", stderr(&refused));
}

/// `switchboard users …` on the store of a config file: add with a password from stdin, list,
/// reset (a generated password, printed once), disable; bad input named.
#[test]
fn users_are_managed_from_the_cli() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    let db = dir.path().join("users.db");
    std::fs::write(&config, format!("[store]\nurl = \"sqlite://{}\"\n", db.display())).unwrap();
    let users = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("users")
            .args(args)
            .args(["--config", config.to_str().unwrap()])
            .env("SWITCHBOARD_LOG", "info")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    };
    let empty = users(&["list"], None);
    assert!(empty.status.success(), "{}", stderr(&empty));
    // Logs redirected to a file or a pipe carry no colour codes.
    assert!(stderr(&empty).contains("store migrated"), "{}", stderr(&empty));
    assert!(
        !stderr(&empty).contains('\u{1b}'),
        "ANSI escapes in redirected logs: {:?}",
        stderr(&empty)
    );
    assert!(stdout(&empty).contains("no users yet"), "{}", stdout(&empty));

    let added = users(
        &[
            "add",
            "--email",
            "Ann@Shop.example",
            "--name",
            "Ann",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&added).contains("ann@shop.example"), "{}", stdout(&added));
    assert!(!stdout(&added).contains("password:"), "a given password is not echoed");

    let short = users(
        &["add", "--email", "bob@shop.example", "--name", "Bob", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!short.status.success());
    assert!(stderr(&short).contains("at least 10 characters"), "{}", stderr(&short));
    let role =
        users(&["add", "--email", "bob@shop.example", "--name", "Bob", "--role", "boss"], None);
    assert!(!role.status.success());
    assert!(stderr(&role).contains("not a role"), "{}", stderr(&role));
    let taken = users(&["add", "--email", "ann@shop.example", "--name", "Ann again"], None);
    assert!(!taken.status.success());
    assert!(stderr(&taken).contains("exists"), "{}", stderr(&taken));

    let agent = users(&["add", "--email", "bob@shop.example", "--name", "Bob"], None);
    assert!(agent.status.success(), "{}", stderr(&agent));
    let generated = stdout(&agent)
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password is printed once")
        .to_string();
    assert!(generated.len() >= 20);

    let listed = users(&["list", "--json"], None);
    let json: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["role"], "admin");
    assert_eq!(rows[1]["role"], "agent");
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("argon2"), "no hashes listed");

    let reset = users(&["reset-password", "bob@shop.example"], None);
    assert!(reset.status.success(), "{}", stderr(&reset));
    let new =
        stdout(&reset).lines().find_map(|l| l.strip_prefix("password: ")).unwrap().to_string();
    assert_ne!(new, generated);
    let disabled = users(&["disable", "bob@shop.example"], None);
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    let table = stdout(&users(&["list"], None));
    assert!(
        table.lines().any(|l| l.contains("bob@shop.example") && l.ends_with("disabled")),
        "{table}"
    );
    let missing = users(&["disable", "nobody@shop.example"], None);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("no user has the e-mail address"), "{}", stderr(&missing));

    // The stored hashes check out against the passwords.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = switchboard::store::Store::open(&switchboard::store::StoreConfig {
            url: format!("sqlite://{}", db.display()),
            ..Default::default()
        })
        .await
        .unwrap();
        let (_, hash) = store.user_by_email("bob@shop.example").await.unwrap().unwrap();
        assert!(switchboard::auth::verify_password(&new, &hash.unwrap()));
        let (ann, hash) = store.user_by_email("ann@shop.example").await.unwrap().unwrap();
        assert!(ann.active);
        assert!(switchboard::auth::verify_password("a long enough password", &hash.unwrap()));
        store.close().await;
    });
}

/// `switchboard plugin test … | head` ends quietly when the reader goes away, instead of
/// panicking on the broken pipe.
#[test]
fn plugin_test_into_a_closed_pipe_ends_without_a_panic() {
    let cache = tempfile::tempdir().unwrap();
    let request = repo("examples/hello/request.http");
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plugin", "test", artifacts::HELLO, "--request", request.to_str().unwrap()])
        .env("SWITCHBOARD_CACHE_DIR", cache.path())
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the connector has even been loaded.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "a panic's exit code: {stderr}");
}
