//! The web console against a real `switchboard serve` on 127.0.0.1 with the bundled connectors
//! and the demo's recorded provider traffic. Browser tests drive headless Chromium the way a
//! person works (log in, watch the inbox, reply, assign, resolve, search, read a timeline, undo
//! a merge, reload a connector, replay a dead letter); the rest check over plain HTTP what the
//! server must enforce whatever the browser does (roles, CSRF, escaping).

mod browser;
mod common;

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use switchboard::client::{self, Answer};
use switchboard_test_artifacts as artifacts;

use browser::Browser;
use common::ADMIN;

const PASSWORD: &str = "correct horse battery";
const AGENT: &str = "agent@demo.example";
const SUPERVISOR: &str = "sam@demo.example";
const ADMIN_USER: &str = "admin@demo.example";
/// The secret the `flaky` connector (the signed test guest, once fixed) checks.
const FLAKY_SECRET: &str = "shh-webhook-secret";

/// A server configured like the demo (every bundled connector, the secrets its recordings are
/// signed with, a Support team of the demo agent), WhatsApp replies going to a simulated Cloud
/// API, and a `flaky` connector whose component traps on every request.
struct Desk {
    server: switchboard::server::Server,
    base: String,
    dir: tempfile::TempDir,
    /// What the simulated WhatsApp Cloud API was asked to send.
    sent: Arc<Mutex<Vec<Value>>>,
    _db: common::TestDb,
}

impl Desk {
    async fn start() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let db = common::sqlite();
        let (graph, sent) = common::graph_api().await;
        let demo = std::fs::read_to_string(root().join("examples/demo.toml")).unwrap();
        let plugins = std::path::Path::new(artifacts::TELEGRAM).parent().unwrap();
        let replacements = [
            ("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:0\"".to_string()),
            ("url = \"sqlite://demo.db\"", format!("url = \"{}\"", db.url)),
            ("[runtime]\n", "[runtime]\ncache_dir = \"cache\"\n".to_string()),
            (
                "plugins_dir = \"../target/plugins/wasm32-wasip2/plugin\"",
                format!("plugins_dir = \"{}\"", plugins.display()),
            ),
            ("${SWITCHBOARD_ADMIN_TOKEN}", ADMIN.to_string()),
            (
                "plugin = \"whatsapp\"\n[connector.config]\n",
                format!(
                    "plugin = \"whatsapp\"\nallowed_hosts = [\"{graph}\"]\n[connector.config]\n\
                     access_token = \"EAAJB-fixture\"\nphone_number_id = \"106540352242922\"\napi_base = \"{graph}\"\n"
                ),
            ),
        ];
        let mut config = demo;
        for (from, to) in replacements {
            assert!(config.contains(from), "examples/demo.toml no longer has {from:?}");
            config = config.replace(from, &to);
        }
        config.push_str(&format!(
            "\n[[connector]]\nid = \"flaky\"\nplugin = \"./trap.wasm\"\n[connector.config]\nsecret = \"{FLAKY_SECRET}\"\n"
        ));
        std::fs::copy(artifacts::TRAP, dir.path().join("trap.wasm")).unwrap();
        // The people exist before the server starts, as `./demo` adds them: the config's team
        // takes its member then.
        let store = common::open(&db).await;
        for (email, name, role) in [
            (AGENT, "Alex Agent", switchboard::store::UserRole::Agent),
            (SUPERVISOR, "Sam Supervisor", switchboard::store::UserRole::Supervisor),
            (ADMIN_USER, "Ada Admin", switchboard::store::UserRole::Admin),
        ] {
            let hash = switchboard::auth::hash_password(PASSWORD).unwrap();
            store.add_user(email, name, role, Some(hash)).await.unwrap();
        }
        store.close().await;
        let (server, base) = common::start_server(dir.path(), &[], &config).await;
        Desk { server, base, dir, sent, _db: db }
    }

    async fn stop(self) {
        self.server.shutdown().await;
    }

    /// Replays every recording of `examples/demo/` through the webhooks, as `./demo` does.
    async fn replay_demo(&self) {
        let mut files: Vec<_> = std::fs::read_dir(root().join("examples/demo"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "http"))
            .collect();
        files.sort();
        for path in files {
            let answer = common::send_recorded(&self.base, &path).await;
            assert_eq!(
                answer.status,
                200,
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&answer.body)
            );
        }
    }

    /// A web form through the `hello` connector (unsigned, like the demo's first recording).
    async fn web_form(&self, id: &str, email: &str, name: &str, text: &str) {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("id", id)
            .append_pair("email", email)
            .append_pair("name", name)
            .append_pair("text", text)
            .finish();
        let answer = client::send(
            &self.base,
            "POST",
            "/hooks/hello",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    }

    async fn api(&self, method: &str, path: &str) -> Value {
        let answer = client::request(&self.base, method, path, Some(ADMIN), None).await.unwrap();
        assert!((200..300).contains(&answer.status), "{method} {path}: {}", answer.status);
        answer.json()
    }

    async fn customer_id(&self, query: &str) -> i64 {
        let found = self.api("GET", &format!("/api/customers?{query}")).await;
        found["customers"][0]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no customer for {query}: {found}"))
    }

    async fn customer_count(&self) -> usize {
        self.api("GET", "/api/customers?limit=500").await["customers"].as_array().unwrap().len()
    }
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Runs browser `steps` against a fresh demo-like server.
macro_rules! in_browser {
    ($name:literal, |$desk:ident, $b:ident| $body:block) => {{
        let $desk = Arc::new(Desk::start().await);
        let base = $desk.base.clone();
        let inner = $desk.clone();
        browser::run(
            $name,
            &base,
            Box::new(move |$b: &Browser| {
                let $desk = inner;
                Box::pin(async move { $body })
            }),
        )
        .await;
        if let Ok(desk) = Arc::try_unwrap($desk) {
            desk.stop().await;
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_and_out() {
    in_browser!("logging_in_and_out", |desk, b| {
        let _ = &desk;
        b.open("/inbox").await;
        assert!(b.path().await.starts_with("/login?next=%2Finbox"), "{}", b.path().await);
        b.fill("E-mail address", AGENT).await;
        b.fill("Password", "not the password").await;
        b.press("Log in").await;
        b.sees("Wrong e-mail address or password.").await;
        b.log_in(AGENT, PASSWORD).await;
        b.sees("Alex Agent").await;
        assert_eq!(b.path().await, "/inbox");
        b.sees("agent").await;
        b.press("Log out").await;
        b.sees("You are logged out.").await;
        b.open("/inbox").await;
        assert!(b.path().await.starts_with("/login"), "logged out: {}", b.path().await);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_whatsapp_message_appears_in_the_open_inbox_without_a_reload() {
    in_browser!("a_new_whatsapp_message_appears_live", |desk, b| {
        b.log_in(AGENT, PASSWORD).await;
        b.sees("No open conversations.").await;
        // Wait for the event stream to be open, then mark the page: a reload would lose the mark.
        b.client
            .wait()
            .for_element(fantoccini::Locator::Css("body[data-live=connected]"))
            .await
            .unwrap();
        b.client.execute("window.stillTheSamePage = true;", vec![]).await.unwrap();
        let answer = common::whatsapp_text(
            &desk.base,
            "33698765432",
            "Chloé Martin",
            "wamid.live1",
            "Is the shop open on Sunday?",
            now_ms(),
        )
        .await;
        assert_eq!(answer.status, 200);
        b.sees("Chloé Martin").await;
        b.sees("Is the shop open on Sunday?").await;
        let same =
            b.client.execute("return window.stillTheSamePage === true;", vec![]).await.unwrap();
        assert_eq!(same, Value::Bool(true), "the row arrived without reloading the page");
        // It was routed to the Support team's agent, who sees it under Mine too.
        b.follow("Mine 1").await;
        b.sees("Chloé Martin").await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_goes_out_on_the_customers_channel_through_the_provider() {
    in_browser!("a_reply_goes_out", |desk, b| {
        let answer = common::whatsapp_text(
            &desk.base,
            "33698765432",
            "Chloé Martin",
            "wamid.ask1",
            "Do you deliver to Lyon?",
            now_ms(),
        )
        .await;
        assert_eq!(answer.status, 200);
        b.log_in(AGENT, PASSWORD).await;
        b.follow("Chloé Martin").await;
        b.sees("Do you deliver to Lyon?").await;
        b.sees("By default this reply goes out on WhatsApp").await;
        b.fill("Message", "Yes: Lyon in two days.").await;
        b.press("Send reply").await;
        b.sees("Reply sent on whatsapp").await;
        b.sees("Yes: Lyon in two days.").await;
        b.sees("sent by Alex Agent").await;
        let sent = desk.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0]["to"], "33698765432");
        assert_eq!(sent[0]["text"]["body"], "Yes: Lyon in two days.");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_takes_a_conversation_and_resolves_it_from_the_keyboard() {
    in_browser!("assign_and_resolve", |desk, b| {
        desk.web_form("form-d1", "dora@example.com", "Dora Duval", "Where is my parcel?").await;
        b.log_in(AGENT, PASSWORD).await;
        b.follow("Unassigned 1").await;
        b.sees("Where is my parcel?").await;
        b.follow("Dora Duval").await;
        b.press("Assign to me").await;
        b.sees("Assignment saved.").await;
        b.sees("Assignee: Alex Agent").await;
        b.open("/inbox?view=mine").await;
        b.sees("Dora Duval").await;
        // j selects the first conversation, e resolves it.
        b.keys("j").await;
        b.keys("e").await;
        b.sees("Nothing is assigned to you.").await;
        b.open("/inbox?view=all&status=resolved").await;
        b.sees("Dora Duval").await;
        let found = desk.api("GET", "/api/conversations?status=resolved").await;
        assert_eq!(found["conversations"][0]["status"], "resolved", "{found}");
        assert_eq!(found["conversations"][0]["assignee"]["name"], "Alex Agent");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_a_phone_number_however_it_is_written() {
    in_browser!("search_by_phone", |desk, b| {
        desk.replay_demo().await;
        b.log_in(AGENT, PASSWORD).await;
        // The header's box, the way a person types a French mobile.
        b.submit_field("Search customers", "06 12 34 56 78").await;
        b.sees("Customers matching “06 12 34 56 78”").await;
        b.sees("Ann Lee").await;
        b.sees("+33612345678").await;
        b.submit_field("Find a customer by name", "+33 (0)6 12-34-56-78").await;
        b.sees("Ann Lee").await;
        b.submit_field("Find a customer by name", "07 00 00 00 00").await;
        b.sees("No customer matches").await;
        b.follow("Customers").await;
        b.sees("Bob").await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_of_a_customer_seen_on_many_channels() {
    in_browser!("timeline_many_channels", |desk, b| {
        desk.replay_demo().await;
        let ann = desk.customer_id("email=ann.lee%40example.com").await;
        b.log_in(AGENT, PASSWORD).await;
        b.open(&format!("/customers/{ann}")).await;
        b.sees("Ann Lee").await;
        for seen in [
            "Message from the customer on E-mail",
            "Message from the customer on Telegram",
            "Message from the customer on WhatsApp",
            "Call from the customer on Phone",
            "Call from the customer on Maps",
            "Order #1001",
            "Till sale",
            "Shipment colissimo",
            "Payment",
            "Cart",
        ] {
            b.sees(seen).await;
        }
        // Contact points, with where each came from and whether it links.
        b.sees("ann.lee@example.com").await;
        b.sees("telegram:user:").await;
        // Only orders and till sales.
        b.choose("Show", "Orders and till sales").await;
        b.press("Filter").await;
        b.sees("Till sale").await;
        b.no_longer_sees("Message from the customer on E-mail").await;
        // Only the e-mail channel.
        b.choose("Show", "Everything the customer did").await;
        b.choose("Channel", "email").await;
        b.press("Filter").await;
        b.sees("Message from the customer on E-mail").await;
        b.no_longer_sees("Till sale").await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undoing_a_merge_from_why_is_this_one_customer_makes_two_customers() {
    in_browser!("undo_a_merge", |desk, b| {
        desk.replay_demo().await;
        let ann = desk.customer_id("email=ann.lee%40example.com").await;
        let before = desk.customer_count().await;
        b.log_in(SUPERVISOR, PASSWORD).await;
        b.open(&format!("/customers/{ann}")).await;
        b.follow("Why is this one customer").await;
        b.sees("joined this customer").await;
        b.sees("web:visitor:v-8f3a2c91").await;
        b.press("Undo this merge").await;
        b.confirm().await;
        b.sees("Merge undone").await;
        b.sees("is a customer of their own again").await;
        assert_eq!(desk.customer_count().await, before + 1, "two customers again");
        // And back together with "Merge with…", found by the visitor's id.
        b.submit_field("Find a customer", "web:visitor:v-8f3a2c91").await;
        b.press("Merge into Ann Lee").await;
        b.confirm().await;
        b.sees("is now part of this one").await;
        assert_eq!(desk.customer_count().await, before);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reloads_a_fixed_connector_and_replays_its_dead_letter() {
    in_browser!("reload_and_replay", |desk, b| {
        let body = json!({"id": "d1", "email": "dora@example.com", "text": "hi"}).to_string();
        let signature = {
            use hmac::Mac;
            let mut mac =
                hmac::Hmac::<sha2::Sha256>::new_from_slice(FLAKY_SECRET.as_bytes()).unwrap();
            mac.update(body.as_bytes());
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        };
        let answer = client::send(
            &desk.base,
            "POST",
            "/hooks/flaky",
            &[("X-Signature", &signature)],
            body.as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(answer.status, 500, "the broken component fails and keeps the request");
        b.log_in(ADMIN_USER, PASSWORD).await;
        b.follow("Connectors").await;
        b.sees("1 request waits in dead letters").await;
        b.sees("Last error:").await;
        // The fix: a working component in place of the broken one, then Reload.
        std::fs::copy(artifacts::SIGNED, desk.dir.path().join("trap.wasm")).unwrap();
        b.press("Reload flaky").await;
        b.sees("Reloaded flaky: version").await;
        b.follow("Dead letters").await;
        b.sees("trapped").await;
        b.unfold("The stored request").await;
        b.sees("x-signature: sha256=").await;
        b.press("Replay dead letter 1").await;
        b.sees("Dead letter #1 replayed").await;
        b.sees("replayed").await;
        let found = desk.api("GET", "/api/customers?email=dora%40example.com").await;
        assert_eq!(found["customers"].as_array().unwrap().len(), 1, "the replayed event is stored");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_is_not_offered_the_admin_pages_and_is_refused_them() {
    in_browser!("agent_without_admin_pages", |desk, b| {
        let _ = &desk;
        b.log_in(AGENT, PASSWORD).await;
        b.sees("Inbox").await;
        for admin in ["Connectors", "Dead letters", "Reports"] {
            assert!(!b.has_link(admin).await, "an agent is offered {admin}");
        }
        b.open("/connectors").await;
        b.sees("Not for your role").await;
        b.sees("This page is for admins").await;
        b.open("/reports").await;
        b.sees("This page is for supervisors and admins").await;
        // A supervisor gets the reports, with charts, not the connectors.
        b.open("/inbox").await;
        b.press("Log out").await;
        b.log_in(SUPERVISOR, PASSWORD).await;
        assert!(b.has_link("Reports").await && !b.has_link("Connectors").await);
        b.follow("Reports").await;
        b.sees("By channel").await;
        b.sees("By agent").await;
    });
}

// ---- Over plain HTTP: what the server enforces whatever the browser does ------------------

/// Logs in through the API; the cookie and the CSRF token.
async fn session(base: &str, email: &str) -> (String, String) {
    let body = json!({"email": email, "password": PASSWORD}).to_string();
    let answer = client::send(
        base,
        "POST",
        "/api/session",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200);
    let cookie = answer.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    (cookie, answer.json()["csrf_token"].as_str().unwrap().to_string())
}

async fn page(base: &str, cookie: &str, path: &str) -> Answer {
    client::send(base, "GET", path, &[("Cookie", cookie)], b"").await.unwrap()
}

async fn form(base: &str, cookie: &str, path: &str, fields: &[(&str, &str)]) -> Answer {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    client::send(
        base,
        "POST",
        path,
        &[("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_roles_and_csrf_are_enforced_by_the_server() {
    let desk = Desk::start().await;
    let base = &desk.base;
    // No session: every page leads to the login page, which leads back.
    let answer = client::send(base, "GET", "/customers/1?kind=order", &[], b"").await.unwrap();
    assert_eq!(answer.status, 303);
    assert_eq!(answer.header("location"), Some("/login?next=%2Fcustomers%2F1%3Fkind%3Dorder"));
    let (agent, agent_csrf) = session(base, AGENT).await;
    for path in ["/connectors", "/dead-letters", "/reports"] {
        assert_eq!(page(base, &agent, path).await.status, 403, "{path}");
    }
    // A form an agent should not have is refused even with a valid token.
    let refused = form(base, &agent, "/connectors/hello/disable", &[("_csrf", &agent_csrf)]).await;
    assert_eq!(refused.status, 403);
    let refused = form(base, &agent, "/merges/1/undo", &[("_csrf", &agent_csrf)]).await;
    assert_eq!(refused.status, 403);
    let connectors = desk.api("GET", "/admin/connectors").await;
    let hello = connectors["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "hello")
        .unwrap()
        .clone();
    assert_eq!(hello["state"], "serving");
    // An admin's form without its CSRF token (another site's form, an old page) changes nothing.
    let (admin, admin_csrf) = session(base, ADMIN_USER).await;
    assert_eq!(form(base, &admin, "/connectors/hello/disable", &[]).await.status, 403);
    assert_eq!(
        form(base, &admin, "/connectors/hello/disable", &[("_csrf", &agent_csrf)]).await.status,
        403
    );
    // A form posted from another site's page is refused whatever it carries.
    let body = format!("_csrf={admin_csrf}");
    let foreign = client::send(
        base,
        "POST",
        "/connectors/hello/disable",
        &[
            ("Cookie", &admin),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "https://evil.example"),
        ],
        body.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(foreign.status, 403);
    let login = format!(
        "email={}&password=x",
        form_urlencoded::byte_serialize(ADMIN_USER.as_bytes()).collect::<String>()
    );
    let foreign_login = client::send(
        base,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "https://evil.example"),
        ],
        login.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(foreign_login.status, 403);
    let done = form(base, &admin, "/connectors/hello/disable", &[("_csrf", &admin_csrf)]).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.header("location"), Some("/connectors"));
    let connectors = desk.api("GET", "/admin/connectors").await;
    assert!(
        connectors["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "hello" && c["state"] == "disabled")
    );
    // Pages carry the console's security headers.
    let inbox = page(base, &admin, "/inbox").await;
    assert_eq!(inbox.status, 200);
    assert!(
        inbox.header("content-security-policy").is_some_and(|c| c.contains("script-src 'self'"))
    );
    assert_eq!(inbox.header("x-frame-options"), Some("DENY"));
    // Unknown addresses: JSON under the API, a page elsewhere.
    let api = client::send(base, "GET", "/api/nothing", &[], b"").await.unwrap();
    assert_eq!((api.status, api.json()["error"].as_str()), (404, Some("not_found")));
    let nothing = page(base, &admin, "/nothing-here").await;
    assert_eq!(nothing.status, 404);
    assert!(String::from_utf8_lossy(&nothing.body).contains("There is no page at this address."));
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_customers_write_is_shown_as_text_never_run() {
    let desk = Desk::start().await;
    let base = &desk.base;
    desk.web_form(
        "form-x",
        "mallory@example.com",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(2)>",
    )
    .await;
    let mallory = desk.customer_id("email=mallory%40example.com").await;
    let (admin, _) = session(base, ADMIN_USER).await;
    for path in [
        format!("/customers/{mallory}"),
        "/inbox".to_string(),
        "/search?q=mallory%40example.com".to_string(),
    ] {
        let answer = page(base, &admin, &path).await;
        assert_eq!(answer.status, 200, "{path}");
        let html = String::from_utf8_lossy(&answer.body);
        assert!(!html.contains("<script>alert(1)"), "{path} runs the name");
        assert!(!html.contains("<img src=x"), "{path} runs the text");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path} shows the name as text"
        );
    }
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_form_sent_twice_sends_once() {
    let desk = Desk::start().await;
    let base = &desk.base;
    let answer = common::whatsapp_text(
        base,
        "33698765432",
        "Chloé Martin",
        "wamid.twice",
        "Hello?",
        now_ms(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let conversation =
        desk.api("GET", "/api/conversations").await["conversations"][0]["id"].as_i64().unwrap();
    let (agent, csrf) = session(base, AGENT).await;
    let path = format!("/conversations/{conversation}/reply");
    let fields = [
        ("_csrf", csrf.as_str()),
        ("key", "sbk_double-click-1"),
        ("text", "Hello Chloé"),
        ("channel", ""),
    ];
    // A double click: the same form, with the same key the page put in it, twice.
    for _ in 0..2 {
        let answer = form(base, &agent, &path, &fields).await;
        assert_eq!(answer.status, 303, "{}", String::from_utf8_lossy(&answer.body));
    }
    assert_eq!(desk.sent.lock().unwrap().len(), 1, "sent once");
    // A refused reply shows the page again with the reason and what was typed.
    let refused = form(
        base,
        &agent,
        &path,
        &[("_csrf", &csrf), ("key", "sbk_2"), ("text", "Keep me"), ("channel", "nowhere")],
    )
    .await;
    assert_eq!(refused.status, 400);
    let html = String::from_utf8_lossy(&refused.body);
    assert!(
        html.contains("The reply was not sent.") && html.contains("is not a configured connector"),
        "{html}"
    );
    assert!(html.contains(">Keep me</textarea>"), "the text typed is kept");
    desk.stop().await;
}

/// Regression: WhatsApp reported the reply's status (`wamid` delivered) before the reply was
/// recorded — the status webhook can beat the reply's own commit — and the reply answered 500
/// although the message had gone out (its record collided with the status's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_status_arriving_before_its_reply_is_recorded_does_not_fail_the_reply() {
    let desk = Desk::start().await;
    let base = &desk.base;
    let answer =
        common::whatsapp_text(base, "33698765432", "Chloé Martin", "wamid.in1", "Hi", now_ms())
            .await;
    assert_eq!(answer.status, 200);
    let conversation =
        desk.api("GET", "/api/conversations").await["conversations"][0]["id"].as_i64().unwrap();
    // The simulated Cloud API answers the first message it sends as `wamid.sent1`.
    let status = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "statuses": [{"id": "wamid.sent1", "status": "delivered", "timestamp": (now_ms() / 1000).to_string(),
                "recipient_id": "33698765432"}]},
        "field": "messages"}]}]});
    assert_eq!(common::whatsapp_post(base, &status.to_string()).await.status, 200);
    let reply = client::request(
        base,
        "POST",
        &format!("/api/conversations/{conversation}/replies"),
        Some(ADMIN),
        Some(&json!({"text": "Hello Chloé"})),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(desk.sent.lock().unwrap().len(), 1);
    let detail = desk.api("GET", &format!("/api/conversations/{conversation}")).await;
    let sent = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["provider_id"] == "wamid.sent1")
        .expect("the reply is in the conversation")
        .clone();
    assert_eq!(sent["text"], "Hello Chloé");
    assert_eq!(sent["status"], "delivered", "the provider's newer status stays");
    desk.stop().await;
}

/// The inbox's team and connector counts are kept between pages, until a conversation changes:
/// a new message, a resolution show at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_counts_per_channel_follow_every_change() {
    let desk = Desk::start().await;
    let count = |inbox: &Value, group: &str, key: &str| {
        inbox[group]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .map_or(0, |g| g["count"].as_i64().unwrap())
    };
    let inbox = desk.api("GET", "/api/conversations?breakdown=true").await;
    assert_eq!(count(&inbox, "connectors", "whatsapp"), 0);
    let answer = common::whatsapp_text(
        &desk.base,
        "33698765432",
        "Chloé Martin",
        "wamid.c1",
        "Hi",
        now_ms(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let inbox = desk.api("GET", "/api/conversations?breakdown=true").await;
    assert_eq!(count(&inbox, "connectors", "whatsapp"), 1, "{inbox}");
    let support = inbox["teams"][0]["key"].as_str().unwrap().to_string();
    assert_eq!(count(&inbox, "teams", &support), 1);
    // Asked again without a change: the same (kept) counts.
    assert_eq!(
        desk.api("GET", "/api/conversations?breakdown=true").await["connectors"],
        inbox["connectors"]
    );
    desk.web_form("form-c2", "dora@example.com", "Dora Duval", "Hello").await;
    let inbox = desk.api("GET", "/api/conversations?breakdown=true").await;
    assert_eq!(count(&inbox, "connectors", "hello"), 1);
    let whatsapp = inbox["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customer"]["name"] == "Chloé Martin")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let resolved = client::request(
        &desk.base,
        "PATCH",
        &format!("/api/conversations/{whatsapp}"),
        Some(ADMIN),
        Some(&json!({"status": "resolved"})),
    )
    .await
    .unwrap();
    assert_eq!(resolved.status, 200);
    let inbox = desk.api("GET", "/api/conversations?breakdown=true").await;
    assert_eq!(count(&inbox, "connectors", "whatsapp"), 0, "{inbox}");
    assert_eq!(count(&inbox, "connectors", "hello"), 1);
    desk.stop().await;
}

/// Writes the README's screenshots (inbox, conversation, customer) from the demo's data:
/// `cargo test -p switchboard --test console -- --ignored readme_screenshots`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/*.png for the README; run it by name"]
async fn readme_screenshots() {
    in_browser!("readme_screenshots", |desk, b| {
        desk.replay_demo().await;
        let ann = desk.customer_id("email=ann.lee%40example.com").await;
        let conversation = desk.api("GET", "/api/conversations?view=all").await["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["customer"]["id"] == ann)
            .map(|c| c["id"].as_i64().unwrap())
            .unwrap();
        b.log_in(ADMIN_USER, PASSWORD).await;
        let dir = root().join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        for (path, file) in [
            ("/inbox".to_string(), "inbox.png"),
            (format!("/conversations/{conversation}"), "conversation.png"),
            (format!("/customers/{ann}"), "customer.png"),
        ] {
            b.open(&path).await;
            b.sees("Switchboard").await;
            b.client.set_window_size(1280, 1000).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            std::fs::write(dir.join(file), b.client.screenshot().await.unwrap()).unwrap();
        }
    });
}
