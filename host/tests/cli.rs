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

/// Writes `files` (name, content) into a new folder of recorded responses.
fn responses(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    dir
}

#[test]
fn plugin_test_sends_through_recorded_responses_and_prints_each_request() {
    let cache = tempfile::tempdir().unwrap();
    let answers = responses(&[(
        "send.http",
        "POST https://api.telegram.org/bot123:abc/sendMessage\nHTTP/1.1 200 OK\nContent-Type: application/json\n\n\
         {\"ok\": true, \"result\": {\"message_id\": 77, \"date\": 1795600800}}\n"
            .to_string(),
    )]);
    let message = answers.path().join("message.json");
    std::fs::write(
        &message,
        r#"{"to": [{"kind": "external", "namespace": "telegram:user", "value": "111111111"}], "text": "It left this morning."}"#,
    )
    .unwrap();
    let args = |allow: bool| {
        let mut args = vec![
            "plugin",
            "test",
            artifacts::TELEGRAM,
            "--send",
            message.to_str().unwrap(),
            "-c",
            "bot_token=123:abc",
            "--responses",
            answers.path().to_str().unwrap(),
        ];
        if allow {
            args.extend(["--allow-host", "https://api.telegram.org"]);
        }
        args
    };
    let output = switchboard(&args(true), cache.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let receipt: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(receipt["provider_id"], "111111111:77");
    assert_eq!(receipt["sent_at"], 1_795_600_800_000_i64);
    let printed = stderr(&output);
    assert!(
        printed.contains("outbound: POST https://api.telegram.org/bot123:abc/sendMessage")
            && printed.contains("answered by send.http"),
        "{printed}"
    );
    // Recorded answers do not widen the allowed hosts: the operator still lists them.
    let refused = switchboard(&args(false), cache.path());
    assert_eq!(refused.status.code(), Some(1));
    assert!(stdout(&refused).contains("not in the allowed_hosts"), "{}", stdout(&refused));
}

#[test]
fn plugin_test_polls_page_by_page_from_recorded_responses() {
    let cache = tempfile::tempdir().unwrap();
    let fixture =
        std::fs::read_to_string(repo("plugins/shopify/fixtures/orders-create.http")).unwrap();
    let order = fixture.split_once("\n\n").unwrap().1.trim();
    let base = "https://atelier-lumiere.myshopify.com";
    let answers = responses(&[
        (
            "1-first-page.http",
            format!(
                "GET {base}/admin/api/\nHTTP/1.1 200 OK\nContent-Type: application/json\n\
                 Link: <{base}/admin/api/2025-10/orders.json?limit=1&page_info=p2>; rel=\"next\"\n\n{{\"orders\": [{order}]}}\n"
            ),
        ),
        (
            "2-last-page.http",
            format!(
                "GET {base}/admin/api/2025-10/orders.json?limit=1&page_info=p2\nHTTP/1.1 200 OK\n\n{{\"orders\": []}}\n"
            ),
        ),
    ]);
    let output = switchboard(
        &[
            "plugin",
            "test",
            artifacts::SHOPIFY,
            "--poll",
            "-c",
            "access_token=shpat_x",
            "-c",
            "shop_domain=atelier-lumiere.myshopify.com",
            "--allow-host",
            base,
            "--responses",
            answers.path().to_str().unwrap(),
        ],
        cache.path(),
    );
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    let outcome: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(outcome["events"].as_array().unwrap().len(), 1);
    assert!(outcome["next_cursor"].is_string(), "{outcome}");
    let printed = stderr(&output);
    assert!(printed.contains("answered by 1-first-page.http"), "{printed}");
    assert!(
        printed.contains("page_info=p2") && printed.contains("answered by 2-last-page.http"),
        "{printed}"
    );
}

#[test]
fn plugin_test_geocodes_an_address_from_a_recorded_answer() {
    let cache = tempfile::tempdir().unwrap();
    let answers = responses(&[(
        "nominatim.http",
        "GET https://nominatim.test/search\nHTTP/1.1 200 OK\nContent-Type: application/json\n\n\
         [{\"lat\": \"45.7640\", \"lon\": \"4.8357\", \"display_name\": \"Lyon, Métropole de Lyon, France\"}]\n"
            .to_string(),
    )]);
    let output = switchboard(
        &[
            "plugin",
            "test",
            artifacts::GOOGLE_BUSINESS,
            "--geocode",
            r#"{"line1": "12 rue de la République", "city": "Lyon", "postal_code": "69002", "country": "FR"}"#,
            "-c",
            "geocoder_url=https://nominatim.test",
            "--allow-host",
            "https://nominatim.test",
            "--responses",
            answers.path().to_str().unwrap(),
        ],
        cache.path(),
    );
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    let point: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(point["latitude"], 45.764);
    assert!(stderr(&output).contains("city=Lyon"), "{}", stderr(&output));
}

/// An old recording verifies at the time it was received (`--now`), without widening the
/// connector's tolerance; at today's time it is refused as stale.
#[test]
fn plugin_test_now_checks_an_old_recording_at_its_own_time() {
    let cache = tempfile::tempdir().unwrap();
    let request = repo("plugins/web/fixtures/cart-updated.http");
    let run = |now: Option<&str>| {
        let mut args = vec![
            "plugin",
            "test",
            artifacts::WEB,
            "--request",
            request.to_str().unwrap(),
            "-c",
            "signing_secret=fixture-web-signing-secret",
        ];
        if let Some(now) = now {
            args.extend(["--now", now]);
        }
        switchboard(&args, cache.path())
    };
    let stale = run(None);
    assert_eq!(stale.status.code(), Some(1));
    assert!(stdout(&stale).contains("unauthorized"), "{}", stdout(&stale));
    // Signed with t=1795507121: received ten seconds later.
    let fresh = run(Some("1795507131000"));
    assert!(fresh.status.success(), "{}{}", stdout(&fresh), stderr(&fresh));
    assert!(run(Some("2026-11-24T07:58:51Z")).status.success());
    let wrong = run(Some("yesterday"));
    assert!(!wrong.status.success() && stderr(&wrong).contains("neither RFC 3339"));
}

#[test]
fn plugin_inspect_lists_imports_with_what_the_host_does_and_exports() {
    let cache = tempfile::tempdir().unwrap();
    let output = switchboard(&["plugin", "inspect", artifacts::TELEGRAM], cache.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("switchboard:connector/host@0.3.0  (provided)"), "{text}");
    assert!(text.contains("wasi:http/outgoing-handler@0.2."), "{text}");
    assert!(text.contains("exports:\n  switchboard:connector/connector@0.3.0"), "{text}");
    let json = switchboard(&["plugin", "inspect", artifacts::TELEGRAM, "--json"], cache.path());
    let json: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(
        json["imports"].as_array().unwrap().iter().all(|i| i["status"] == "provided"),
        "{json}"
    );
    // A component the host refuses is still described, and the refusal said.
    let refused = switchboard(&["plugin", "inspect", artifacts::WRONG_WIT], cache.path());
    assert_eq!(refused.status.code(), Some(1));
    assert!(stdout(&refused).contains("exports:\n  switchboard:connector/connector@9.0.0"));
}

/// A developer's first connector from the template, outside this workspace: native tests,
/// the component, and `plugin test` of its webhook and its send.
#[test]
fn a_new_rust_connector_builds_and_passes_its_tests() {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("chatline");
    // Compiled dependencies are kept between runs of the suite.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold");
    let sdk = repo("sdk");
    let created = switchboard(
        &[
            "plugin",
            "new",
            "chatline",
            "--dir",
            project.to_str().unwrap(),
            "--sdk-path",
            sdk.to_str().unwrap(),
        ],
        cache.path(),
    );
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(project.join("fixtures/message.http").exists() && project.join("README.md").exists());
    let again = switchboard(
        &["plugin", "new", "chatline", "--dir", project.to_str().unwrap()],
        cache.path(),
    );
    assert!(!again.status.success() && stderr(&again).contains("not empty"));
    let tests = Command::new(env!("CARGO"))
        .args(["test", "--quiet"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(tests.status.success(), "{}{}", stdout(&tests), stderr(&tests));
    let built = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plugin", "build", project.to_str().unwrap()])
        .env("SWITCHBOARD_CACHE_DIR", cache.path())
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}{}", stdout(&built), stderr(&built));
    let component = project.join("dist/chatline.wasm");
    assert!(stdout(&built).contains("id:            chatline"), "{}", stdout(&built));
    let source = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
    let received =
        source.split("const RECEIVED: i64 = ").nth(1).unwrap().split(';').next().unwrap();
    let webhook = switchboard(
        &[
            "plugin",
            "test",
            component.to_str().unwrap(),
            "--request",
            project.join("fixtures/message.http").to_str().unwrap(),
            "-c",
            "webhook_secret=fixture-secret",
            "--now",
            received,
        ],
        cache.path(),
    );
    assert!(webhook.status.success(), "{}{}", stdout(&webhook), stderr(&webhook));
    assert!(
        stdout(&webhook).contains("\"value\": \"9007199254740993123\""),
        "{}",
        stdout(&webhook)
    );
    let send = switchboard(
        &[
            "plugin",
            "test",
            component.to_str().unwrap(),
            "--send",
            project.join("fixtures/send.json").to_str().unwrap(),
            "-c",
            "api_token=t-1",
            "--allow-host",
            "https://api.chatline.example",
            "--responses",
            project.join("fixtures/responses").to_str().unwrap(),
        ],
        cache.path(),
    );
    assert!(send.status.success(), "{}{}", stdout(&send), stderr(&send));
    assert!(stdout(&send).contains("\"provider_id\": \"out-1\""), "{}", stdout(&send));
}

/// Whether the componentizer of `example` was installed (`./test` does); else the reason the
/// test is skipped, which is a failure when `SWITCHBOARD_REQUIRE_COMPONENTIZERS` is set.
fn componentizer_ready(example: &Path, tool: &str) -> bool {
    if example.join(tool).exists() {
        return true;
    }
    let reason = format!("{} is not installed (./test installs it)", example.join(tool).display());
    assert!(std::env::var_os("SWITCHBOARD_REQUIRE_COMPONENTIZERS").is_none(), "{reason}");
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "skipped: {reason}");
    false
}

fn build(project: &Path, cache: &Path) -> PathBuf {
    let built = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plugin", "build", project.to_str().unwrap()])
        .env("SWITCHBOARD_CACHE_DIR", cache)
        .env("SWITCHBOARD_LOG", "warn")
        .output()
        .unwrap();
    assert!(built.status.success(), "{}{}", stdout(&built), stderr(&built));
    let line = stdout(&built)
        .lines()
        .find_map(|l| l.strip_prefix("component: ").map(str::to_string))
        .unwrap();
    PathBuf::from(line)
}

/// The JavaScript and Python examples, and projects from their templates, build with their
/// pinned componentizers and answer `plugin test` like the Rust connectors: a signed webhook
/// (its 64-bit user id exact), a wrong signature refused, a send through a recorded answer.
#[test]
fn javascript_and_python_connectors_build_and_answer_plugin_test() {
    let cache = tempfile::tempdir().unwrap();
    for (lang, example, tool) in [
        ("js", repo("examples/js-hello"), "node_modules/.bin/jco"),
        ("python", repo("examples/python-hello"), ".venv/bin/componentize-py"),
    ] {
        if !componentizer_ready(&example, tool) {
            continue;
        }
        let component = build(&example, cache.path());
        let fixture =
            |name: &str| example.join("fixtures").join(name).to_str().unwrap().to_string();
        let webhook = |request: &str| {
            switchboard(
                &[
                    "plugin",
                    "test",
                    component.to_str().unwrap(),
                    "--request",
                    &fixture(request),
                    "-c",
                    "webhook_secret=fixture-chatline-secret",
                    "--now",
                    "1795570000000",
                ],
                cache.path(),
            )
        };
        let taken = webhook("message.http");
        assert!(taken.status.success(), "{lang}: {}{}", stdout(&taken), stderr(&taken));
        let outcome: serde_json::Value = serde_json::from_str(&stdout(&taken)).unwrap();
        let contact = &outcome["events"][0]["contact"]["identifiers"][0];
        assert_eq!(contact["value"], "9007199254740993123", "{lang}: the 64-bit id stays exact");
        assert_eq!(contact["namespace"], "chatline:user");
        let refused = webhook("wrong-signature.http");
        assert_eq!(refused.status.code(), Some(1), "{lang}");
        assert!(stdout(&refused).contains("unauthorized"), "{lang}: {}", stdout(&refused));
        let sent = switchboard(
            &[
                "plugin",
                "test",
                component.to_str().unwrap(),
                "--send",
                &fixture("send.json"),
                "-c",
                "api_token=t-1",
                "--allow-host",
                "https://api.chatline.example",
                "--responses",
                &fixture("responses"),
            ],
            cache.path(),
        );
        assert!(sent.status.success(), "{lang}: {}{}", stdout(&sent), stderr(&sent));
        assert!(stdout(&sent).contains("\"provider_id\": \"msg-1\""), "{lang}: {}", stdout(&sent));

        // A new project from the template: the example renamed, with its own signed fixture.
        let work = tempfile::tempdir().unwrap();
        let project = work.path().join(format!("ring-{lang}"));
        let created = switchboard(
            &[
                "plugin",
                "new",
                &format!("ring-{lang}"),
                "--lang",
                lang,
                "--dir",
                project.to_str().unwrap(),
            ],
            cache.path(),
        );
        assert!(created.status.success(), "{}", stderr(&created));
        // The example's tools, not the network.
        let tools = tool.split('/').next().unwrap();
        std::os::unix::fs::symlink(example.join(tools), project.join(tools)).unwrap();
        let component = build(&project, cache.path());
        let request = project.join("fixtures/message.http");
        let text = std::fs::read_to_string(&request).unwrap();
        let signed_at: i64 = text
            .split("\"timestamp\":")
            .nth(1)
            .unwrap()
            .trim()
            .trim_end_matches('}')
            .parse()
            .unwrap();
        let taken = switchboard(
            &[
                "plugin",
                "test",
                component.to_str().unwrap(),
                "--request",
                request.to_str().unwrap(),
                "-c",
                "webhook_secret=fixture-secret",
                "--now",
                &(signed_at * 1000 + 1000).to_string(),
            ],
            cache.path(),
        );
        assert!(taken.status.success(), "{lang} template: {}{}", stdout(&taken), stderr(&taken));
        assert!(
            stdout(&taken).contains(&format!("\"namespace\": \"ring-{lang}:user\"")),
            "{}",
            stdout(&taken)
        );
    }
}

/// `plugin test` (or `inspect`) compiles a component once: `serve`, with no `cache_dir` in its
/// config, loads it from the same cache.
#[test]
fn the_cli_and_the_server_share_one_compile_cache() {
    use std::io::BufRead as _;
    let cache = tempfile::tempdir().unwrap();
    let inspected = switchboard(&["plugin", "inspect", artifacts::HELLO], cache.path());
    assert!(inspected.status.success(), "{}", stderr(&inspected));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[store]\nurl = \"sqlite://{}\"\n\
             [[connector]]\nid = \"hello\"\nplugin = \"{}\"\n",
            dir.path().join("store.db").display(),
            artifacts::HELLO
        ),
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--no-watch", "--config", config.to_str().unwrap()])
        .env("SWITCHBOARD_CACHE_DIR", cache.path())
        .env("SWITCHBOARD_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("connector loaded") {
                let _ = tx.send(line);
                return;
            }
        }
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(60));
    let _ = server.kill();
    let _ = server.wait();
    let line = line.expect("the server loaded the connector");
    assert!(line.contains("origin=Cache"), "{line}");
}
