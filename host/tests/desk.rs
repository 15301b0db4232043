//! The service desk over real HTTP, on SQLite and PostgreSQL: people log in, a conversation
//! follows its customer from e-mail to WhatsApp to a phone call, is routed to the channel's
//! team, answered on WhatsApp (a simulated Cloud API on 127.0.0.1), resolved and reopened,
//! snoozed and woken; customers' merges carry their conversations and undo splits them back;
//! round-robin and capacity hold under concurrent webhooks on two hosts; roles, CSRF and
//! sessions are enforced.

mod common;

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::client::{self, Answer};
use switchboard_test_artifacts as artifacts;

use common::{ADMIN, WHATSAPP_APP_SECRET as APP_SECRET};

const PASSWORD: &str = "correct horse battery";

/// How a test calls the API: a bearer token, or a browser's session cookie with (or without)
/// its CSRF token.
#[derive(Clone)]
enum Caller {
    Token(&'static str),
    Session { cookie: String, csrf: Option<String> },
}

async fn call(
    base: &str,
    caller: &Caller,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut headers: Vec<(String, String)> = vec![("Accept".into(), "application/json".into())];
    match caller {
        Caller::Token(token) => headers.push(("Authorization".into(), format!("Bearer {token}"))),
        Caller::Session { cookie, csrf } => {
            headers.push(("Cookie".into(), cookie.clone()));
            if let Some(csrf) = csrf {
                headers.push(("X-CSRF-Token".into(), csrf.clone()));
            }
        }
    }
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    if !payload.is_empty() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let headers: Vec<(&str, &str)> =
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    client::send(base, method, path, &headers, payload.as_bytes()).await.unwrap()
}

/// Calls and checks the status; the JSON answer.
async fn ok(base: &str, caller: &Caller, method: &str, path: &str, body: Option<Value>) -> Value {
    let answer = call(base, caller, method, path, body).await;
    assert!(
        (200..300).contains(&answer.status),
        "{method} {path}: {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()
}

const ADMIN_CALLER: Caller = Caller::Token(ADMIN);

/// Logs in; the session (cookie and CSRF token).
async fn login(base: &str, email: &str, password: &str) -> Result<Caller, Answer> {
    let body = json!({"email": email, "password": password}).to_string();
    let answer = client::send(
        base,
        "POST",
        "/api/session",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
    .unwrap();
    if answer.status != 200 {
        return Err(answer);
    }
    let set_cookie = answer.header("set-cookie").expect("a session cookie").to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = answer.json()["csrf_token"].as_str().map(str::to_string);
    assert!(csrf.is_some(), "the login answers the CSRF token");
    Ok(Caller::Session { cookie, csrf })
}

async fn add_user(base: &str, email: &str, name: &str, role: &str) -> i64 {
    let body = json!({"email": email, "name": name, "role": role, "password": PASSWORD});
    ok(base, &ADMIN_CALLER, "POST", "/api/users", Some(body)).await["id"].as_i64().unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn desk_config(store_url: &str, graph: &str, extra: &str) -> String {
    common::config_head(store_url)
        + &format!(
            r#"
[[api_token]]
token = "read-token-0123456789"
role = "read"

[conversations]
reopen_within = "7d"

[[sla]]
name = "standard"
first_response = "30d"
resolution = "60d"
{extra}

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
id = "whatsapp"
plugin = "./whatsapp.wasm"
allowed_hosts = ["{graph}"]
[connector.config]
app_secret = "{APP_SECRET}"
verify_token = "fixture-verify-token"
access_token = "EAAJB-fixture"
phone_number_id = "106540352242922"
api_base = "{graph}"
"#
        )
}

const PLUGINS: [(&str, &str); 3] = [
    ("email.wasm", artifacts::EMAIL),
    ("twilio.wasm", artifacts::TWILIO),
    ("whatsapp.wasm", artifacts::WHATSAPP),
];

async fn conversation(base: &str, caller: &Caller, id: i64) -> Value {
    ok(base, caller, "GET", &format!("/api/conversations/{id}"), None).await
}

/// E-mail, then WhatsApp, then a call: one conversation, routed to the e-mail team by
/// round-robin; answered on WhatsApp; resolved and reopened; snoozed and woken.
async fn one_conversation_across_channels(store_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (graph, sent) = common::graph_api().await;
    let config = desk_config(store_url, &graph, "");
    let (server, base) = common::start_server(dir.path(), &PLUGINS, &config).await;

    let alice = add_user(&base, "alice@shop.example", "Alice", "agent").await;
    let bob = add_user(&base, "bob@shop.example", "Bob", "agent").await;
    let team = ok(
        &base,
        &ADMIN_CALLER,
        "POST",
        "/api/teams",
        Some(json!({"name": "Support", "members": [alice, bob]})),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let rule = json!({"scope": "connector:email", "team_id": team, "policy": "round-robin"});
    ok(&base, &ADMIN_CALLER, "PUT", "/api/routing", Some(rule)).await;

    common::replay(&base, "email", "mailgun-mime.http").await;
    common::replay(&base, "whatsapp", "text.http").await;
    common::replay(&base, "twilio", "voice-incoming.http").await;
    common::replay(&base, "twilio", "voice-completed.http").await;

    let agent = login(&base, "alice@shop.example", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.status));
    let inbox = ok(&base, &agent, "GET", "/api/conversations?view=mine", None).await;
    let rows = inbox["conversations"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "one conversation across the channels: {inbox}");
    assert_eq!(inbox["counts"]["mine"], 1, "{inbox}");
    let row = &rows[0];
    assert_eq!(row["assignee"]["id"], alice, "round-robin starts with the first member: {row}");
    assert_eq!(row["team"]["id"], team, "{row}");
    let mut connectors: Vec<&str> = row["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["connector"].as_str().unwrap())
        .collect();
    connectors.sort();
    assert_eq!(connectors, ["email", "twilio", "whatsapp"], "{row}");
    let id = row["id"].as_i64().unwrap();
    assert!(row["waiting_since"].is_i64(), "the customer waits: {row}");
    assert!(row["first_response_at"].is_null(), "{row}");
    let detail = conversation(&base, &agent, id).await;
    let kinds: Vec<(&str, &str)> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["connector"].as_str().unwrap(), m["kind"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("email", "message")), "{kinds:?}");
    assert!(kinds.contains(&("whatsapp", "message")), "{kinds:?}");
    assert!(kinds.contains(&("twilio", "call")), "{kinds:?}");
    assert_eq!(detail["conversation"]["sla"]["policy"], "standard", "{detail}");

    // A change with the cookie but without its CSRF token changes nothing.
    let Caller::Session { cookie, .. } = &agent else { unreachable!() };
    let forged = Caller::Session { cookie: cookie.clone(), csrf: None };
    let refused = call(
        &base,
        &forged,
        "POST",
        &format!("/api/conversations/{id}/replies"),
        Some(json!({"text": "x"})),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", String::from_utf8_lossy(&refused.body));
    assert!(sent.lock().unwrap().is_empty(), "nothing was sent without the CSRF token");

    // The reply goes out on WhatsApp, the customer's latest written channel (the call came
    // after, but a call cannot be answered in writing), and stops the first-response timer.
    let reply = ok(
        &base,
        &agent,
        "POST",
        &format!("/api/conversations/{id}/replies"),
        Some(json!({"text": "Yes, we deliver to Lyon."})),
    )
    .await;
    assert_eq!(reply["connector"], "whatsapp", "{reply}");
    assert_eq!(reply["conversation_id"], id, "{reply}");
    {
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["to"], "33612345678");
        assert_eq!(sent[0]["text"]["body"], "Yes, we deliver to Lyon.");
    }
    // Issue 14 #16: a retry with the same Idempotency-Key answers the first outcome and sends
    // nothing again; the same key for another message is refused.
    let (Caller::Session { cookie, csrf }, path) =
        (&agent, format!("/api/conversations/{id}/replies"))
    else {
        unreachable!()
    };
    let keyed = |text: &'static str| {
        let (base, path, cookie, csrf) =
            (base.clone(), path.clone(), cookie.clone(), csrf.clone().unwrap());
        async move {
            let body = json!({"text": text}).to_string();
            client::send(
                &base,
                "POST",
                &path,
                &[
                    ("Cookie", cookie.as_str()),
                    ("X-CSRF-Token", csrf.as_str()),
                    ("Content-Type", "application/json"),
                    ("Idempotency-Key", "reply-7f3a"),
                ],
                body.as_bytes(),
            )
            .await
            .unwrap()
        }
    };
    let first = keyed("Our courier comes on Tuesdays.").await;
    assert_eq!(first.status, 200, "{}", String::from_utf8_lossy(&first.body));
    let retry = keyed("Our courier comes on Tuesdays.").await;
    assert_eq!(retry.status, 200, "{}", String::from_utf8_lossy(&retry.body));
    assert_eq!(retry.json()["interaction_id"], first.json()["interaction_id"]);
    assert_eq!(sent.lock().unwrap().len(), 2, "the retry sent nothing");
    let other = keyed("Something else").await;
    assert!(other.status >= 400, "a reused key for another message is refused: {}", other.status);
    assert_eq!(sent.lock().unwrap().len(), 2);

    let detail = conversation(&base, &agent, id).await;
    let summary = &detail["conversation"];
    assert!(summary["first_response_at"].is_i64(), "{summary}");
    assert!(summary["waiting_since"].is_null(), "{summary}");
    assert_eq!(summary["sla"]["first_response_breached"], false, "{summary}");
    let reply_message = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap();
    assert_eq!(reply_message["author"]["id"], alice, "the reply names its author: {reply_message}");
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "reply" && e["actor"]["id"] == alice)
    );

    // Resolved; the customer writes again → the same conversation reopens.
    let resolved = ok(
        &base,
        &agent,
        "PATCH",
        &format!("/api/conversations/{id}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolved_at"].is_i64());
    // Reports count it once, on the channel it started on and for the agent who answered.
    let report = ok(&base, &ADMIN_CALLER, "GET", "/api/reports?group=channel", None).await;
    assert_eq!(report["total"]["opened"], 1, "{report}");
    assert_eq!(report["total"]["resolved"], 1, "{report}");
    assert_eq!(report["total"]["customers"], 1, "one customer across three channels: {report}");
    assert_eq!(report["total"]["first_response"]["count"], 1, "{report}");
    assert_eq!(report["total"]["sla_met_percent"], 100.0, "{report}");
    let by_agent = ok(&base, &ADMIN_CALLER, "GET", "/api/reports?group=agent", None).await;
    assert!(
        by_agent["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "Alice" && r["opened"] == 1),
        "{by_agent}"
    );
    let answer = common::whatsapp_text(
        &base,
        "33612345678",
        "Sheena Nelson",
        "wamid.again1",
        "One more question",
        now_ms(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let reopened = conversation(&base, &agent, id).await["conversation"].clone();
    assert_eq!(reopened["status"], "open", "{reopened}");
    assert_eq!(reopened["reopened_count"], 1, "{reopened}");
    assert!(reopened["waiting_since"].is_i64(), "{reopened}");

    // Snoozed for an hour; the customer writes → open again before the hour is over.
    let until = now_ms() + 3_600_000;
    let snoozed = ok(
        &base,
        &agent,
        "PATCH",
        &format!("/api/conversations/{id}"),
        Some(json!({"status": "snoozed", "snoozed_until": until})),
    )
    .await;
    assert_eq!(snoozed["status"], "snoozed");
    assert_eq!(snoozed["snoozed_until"], until);
    let answer = common::whatsapp_text(
        &base,
        "33612345678",
        "Sheena Nelson",
        "wamid.again2",
        "Hello?",
        now_ms(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let woken = conversation(&base, &agent, id).await;
    assert_eq!(woken["conversation"]["status"], "open", "{woken}");
    assert!(woken["conversation"]["snoozed_until"].is_null());
    assert!(
        woken["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "status" && e["data"]["to"] == "open"),
        "{woken}"
    );

    // The outbound reply did not reopen anything and the customer is one: still one conversation.
    let all = ok(&base, &ADMIN_CALLER, "GET", "/api/conversations?view=all&status=any", None).await;
    assert_eq!(all["conversations"].as_array().unwrap().len(), 1, "{all}");

    // A private note with a mention, never sent.
    let note = ok(
        &base,
        &agent,
        "POST",
        &format!("/api/conversations/{id}/notes"),
        Some(json!({"text": "@Bob can you check Lyon?"})),
    )
    .await;
    assert_eq!(note["mentions"][0]["id"], bob, "{note}");
    assert_eq!(sent.lock().unwrap().len(), 2, "a note is never sent");

    // The customer's timeline carries the conversation's events.
    let customer = detail["conversation"]["customer"]["id"].as_i64().unwrap();
    let timeline = ok(
        &base,
        &agent,
        "GET",
        &format!("/api/customers/{customer}/timeline?limit=200&kind=all"),
        None,
    )
    .await;
    assert!(
        timeline["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "conversation_event"),
        "{timeline}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_conversation_across_channels_sqlite() {
    let db = common::sqlite();
    one_conversation_across_channels(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_conversation_across_channels_postgres() {
    let Some(db) = common::postgres().await else { return };
    one_conversation_across_channels(&db.url).await;
}

/// Merging two customers merges their open conversations; undoing the merge splits them back
/// with exactly the messages each had.
async fn merge_and_undo_carry_conversations(store_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (graph, _) = common::graph_api().await;
    let (server, base) =
        common::start_server(dir.path(), &PLUGINS, &desk_config(store_url, &graph, "")).await;
    let at = now_ms();
    assert_eq!(
        common::whatsapp_text(&base, "33611111111", "Ann Lee", "wamid.a1", "Parcel?", at)
            .await
            .status,
        200
    );
    assert_eq!(
        common::whatsapp_text(&base, "33611111111", "Ann Lee", "wamid.a2", "Any news?", at + 1000)
            .await
            .status,
        200
    );
    assert_eq!(
        common::whatsapp_text(
            &base,
            "33622222222",
            "Ann L.",
            "wamid.b1",
            "It's me, other phone",
            at + 2000
        )
        .await
        .status,
        200
    );
    let list =
        ok(&base, &ADMIN_CALLER, "GET", "/api/conversations?view=all&order=oldest_waiting", None)
            .await;
    let rows = list["conversations"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    let messages = |detail: &Value| -> Vec<i64> {
        let mut ids: Vec<i64> = detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    let (first, second) = (rows[0]["id"].as_i64().unwrap(), rows[1]["id"].as_i64().unwrap());
    let (ann, other) =
        (rows[0]["customer"]["id"].as_i64().unwrap(), rows[1]["customer"]["id"].as_i64().unwrap());
    let before_first = messages(&conversation(&base, &ADMIN_CALLER, first).await);
    let before_second = messages(&conversation(&base, &ADMIN_CALLER, second).await);
    assert_eq!((before_first.len(), before_second.len()), (2, 1));

    let merged = ok(
        &base,
        &ADMIN_CALLER,
        "POST",
        &format!("/api/customers/{ann}/merge"),
        Some(json!({"other": other})),
    )
    .await;
    let entry = merged["id"].as_i64().unwrap();
    let open = ok(&base, &ADMIN_CALLER, "GET", "/api/conversations?view=all", None).await;
    let rows = open["conversations"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "the two open conversations became one: {open}");
    let kept = rows[0]["id"].as_i64().unwrap();
    assert_eq!(rows[0]["customer"]["id"], ann);
    let all_messages = messages(&conversation(&base, &ADMIN_CALLER, kept).await);
    let mut expected = [before_first.clone(), before_second.clone()].concat();
    expected.sort_unstable();
    assert_eq!(all_messages, expected);

    ok(&base, &ADMIN_CALLER, "POST", &format!("/api/merges/{entry}/undo"), Some(json!({}))).await;
    let split = ok(&base, &ADMIN_CALLER, "GET", "/api/conversations?view=all", None).await;
    assert_eq!(split["conversations"].as_array().unwrap().len(), 2, "{split}");
    let after_first = conversation(&base, &ADMIN_CALLER, first).await;
    let after_second = conversation(&base, &ADMIN_CALLER, second).await;
    assert_eq!(messages(&after_first), before_first);
    assert_eq!(messages(&after_second), before_second);
    assert_eq!(after_first["conversation"]["customer"]["id"], ann);
    assert_eq!(after_second["conversation"]["customer"]["id"], other);
    assert!(after_second["conversation"]["merged_into"].is_null(), "{after_second}");

    // Operators can also merge two conversations of one customer and move a message.
    let moved = before_first[0];
    let answer = call(
        &base,
        &ADMIN_CALLER,
        "POST",
        &format!("/api/interactions/{moved}/move"),
        Some(json!({"conversation": second})),
    )
    .await;
    assert_eq!(
        answer.status,
        409,
        "a message moves only within its customer: {}",
        String::from_utf8_lossy(&answer.body)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_and_undo_carry_conversations_sqlite() {
    let db = common::sqlite();
    merge_and_undo_carry_conversations(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_and_undo_carry_conversations_postgres() {
    let Some(db) = common::postgres().await else { return };
    merge_and_undo_carry_conversations(&db.url).await;
}

/// Eight customers write at once, through one or two hosts on one store: eight conversations,
/// each assigned at most once, capacity honoured, the rest left to the team.
async fn routing_under_concurrency(hosts: &[String], policy: &str) -> Vec<Value> {
    let base = &hosts[0];
    let alice = add_user(base, "alice@shop.example", "Alice", "agent").await;
    let bob = add_user(base, "bob@shop.example", "Bob", "agent").await;
    let team = ok(
        base,
        &ADMIN_CALLER,
        "POST",
        "/api/teams",
        Some(json!({"name": "WhatsApp desk", "members": [alice, bob]})),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let rule =
        json!({"scope": "connector:whatsapp", "team_id": team, "policy": policy, "capacity": 3});
    ok(base, &ADMIN_CALLER, "PUT", "/api/routing", Some(rule)).await;
    let at = now_ms();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let host = hosts[n % hosts.len()].clone();
        tasks.push(tokio::spawn(async move {
            let wa_id = format!("3361000000{n}");
            common::whatsapp_text(
                &host,
                &wa_id,
                &format!("Customer {n}"),
                &format!("wamid.c{n}"),
                "hello",
                at + n as i64,
            )
            .await
        }));
    }
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    }
    let list = ok(base, &ADMIN_CALLER, "GET", "/api/conversations?view=all&limit=50", None).await;
    let rows = list["conversations"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 8, "one conversation per customer, none lost: {list}");
    let mut customers: Vec<i64> =
        rows.iter().map(|r| r["customer"]["id"].as_i64().unwrap()).collect();
    customers.sort_unstable();
    customers.dedup();
    assert_eq!(customers.len(), 8);
    let count = |who: i64| rows.iter().filter(|r| r["assignee"]["id"] == who).count();
    assert_eq!((count(alice), count(bob)), (3, 3), "capacity 3 each: {list}");
    assert_eq!(
        rows.iter().filter(|r| r["assignee"].is_null()).count(),
        2,
        "the rest wait for the team"
    );
    assert!(rows.iter().all(|r| r["team"]["id"] == team));
    // Every assignment event names one agent, once per conversation.
    for row in &rows {
        let detail = conversation(base, &ADMIN_CALLER, row["id"].as_i64().unwrap()).await;
        let assigned =
            detail["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "assigned").count();
        assert_eq!(assigned, 1, "{detail}");
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_and_capacity_under_concurrent_webhooks_sqlite() {
    let db = common::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (graph, _) = common::graph_api().await;
    let (server, base) =
        common::start_server(dir.path(), &PLUGINS, &desk_config(&db.url, &graph, "")).await;
    routing_under_concurrency(&[base], "round-robin").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_and_capacity_on_two_hosts_on_one_postgres() {
    let Some(db) = common::postgres().await else { return };
    let (graph, _) = common::graph_api().await;
    let config = desk_config(&db.url, &graph, "");
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, first_base) = common::start_server(one.path(), &PLUGINS, &config).await;
    let (second, second_base) = common::start_server(two.path(), &PLUGINS, &config).await;
    routing_under_concurrency(&[first_base, second_base], "round-robin").await;
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_open_on_two_hosts_on_one_postgres() {
    let Some(db) = common::postgres().await else { return };
    let (graph, _) = common::graph_api().await;
    let config = desk_config(&db.url, &graph, "");
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, first_base) = common::start_server(one.path(), &PLUGINS, &config).await;
    let (second, second_base) = common::start_server(two.path(), &PLUGINS, &config).await;
    routing_under_concurrency(&[first_base, second_base], "least-open").await;
    first.shutdown().await;
    second.shutdown().await;
}

/// Roles on every route, CSRF, wrong passwords, disabled users and expired sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_csrf_and_sessions_are_enforced() {
    let db = common::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (graph, _) = common::graph_api().await;
    let extra = "[auth]\nsession_idle = \"3s\"\nsession_max = \"3s\"\nmax_failures_per_email = 3\n";
    let (server, base) =
        common::start_server(dir.path(), &PLUGINS, &desk_config(&db.url, &graph, extra)).await;
    add_user(&base, "agent@shop.example", "Agent", "agent").await;
    add_user(&base, "lead@shop.example", "Lead", "supervisor").await;
    let gone = add_user(&base, "gone@shop.example", "Gone", "agent").await;

    let agent = login(&base, "agent@shop.example", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.status));
    let lead = login(&base, "lead@shop.example", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.status));
    let reader = Caller::Token("read-token-0123456789");
    for (caller, method, path, expected) in [
        (&agent, "GET", "/api/conversations", 200),
        (&agent, "GET", "/api/customers", 200),
        (&agent, "GET", "/admin/dead-letters", 403),
        (&agent, "GET", "/admin/connectors", 403),
        (&agent, "GET", "/api/reports", 403),
        (&agent, "POST", "/api/users", 403),
        (&agent, "POST", "/api/teams", 403),
        (&lead, "GET", "/api/reports", 200),
        (&lead, "GET", "/admin/dead-letters", 403),
        (&lead, "POST", "/api/users", 403),
        (&reader, "GET", "/admin/dead-letters", 403),
        (&reader, "GET", "/admin/connectors", 403),
        (&reader, "GET", "/api/customers", 200),
        (&reader, "PATCH", "/api/conversations/1", 403),
        (&ADMIN_CALLER, "GET", "/admin/dead-letters", 200),
    ] {
        let body = (method != "GET").then(|| json!({}));
        let answer = call(&base, caller, method, path, body).await;
        assert_eq!(
            answer.status,
            expected,
            "{method} {path}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    // No credentials at all.
    let anonymous = client::send(&base, "GET", "/api/conversations", &[], b"").await.unwrap();
    assert_eq!(anonymous.status, 401);

    // Without the CSRF token a cookie changes nothing, even for a supervisor.
    let Caller::Session { cookie, .. } = &lead else { unreachable!() };
    let forged = Caller::Session { cookie: cookie.clone(), csrf: None };
    let answer = call(&base, &forged, "POST", "/api/teams", Some(json!({"name": "Forged"}))).await;
    assert_eq!(answer.status, 403);
    let wrong = Caller::Session { cookie: cookie.clone(), csrf: Some("sbc_wrong".into()) };
    assert_eq!(
        call(&base, &wrong, "POST", "/api/teams", Some(json!({"name": "Forged"}))).await.status,
        403
    );
    let teams = ok(&base, &ADMIN_CALLER, "GET", "/api/teams", None).await;
    assert_eq!(teams["teams"].as_array().unwrap().len(), 0, "{teams}");

    // A wrong password, a disabled user.
    let wrong =
        login(&base, "agent@shop.example", "not the password").await.err().expect("refused");
    assert_eq!(wrong.status, 401);
    let gone_session = login(&base, "gone@shop.example", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.status));
    ok(
        &base,
        &ADMIN_CALLER,
        "PATCH",
        &format!("/api/users/{gone}"),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(
        login(&base, "gone@shop.example", PASSWORD).await.err().expect("refused").status,
        403
    );
    assert_eq!(
        call(&base, &gone_session, "GET", "/api/session", None).await.status,
        401,
        "their session ended"
    );
    // Too many failures for one address: locked out, even with the right password.
    for _ in 0..3 {
        let _ = login(&base, "lead@shop.example", "guess guess guess").await;
    }
    let locked = login(&base, "lead@shop.example", PASSWORD).await.err().expect("locked");
    assert_eq!(locked.status, 429);
    assert!(locked.header("retry-after").is_some());

    // Sessions expire (after 3 s here).
    let fresh = login(&base, "agent@shop.example", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.status));
    assert_eq!(call(&base, &fresh, "GET", "/api/session", None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(call(&base, &fresh, "GET", "/api/session", None).await.status, 401);
    assert_eq!(call(&base, &agent, "GET", "/api/conversations", None).await.status, 401);

    // Logging out ends a session.
    let again = login(&base, "agent@shop.example", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.status));
    assert_eq!(call(&base, &again, "DELETE", "/api/session", None).await.status, 204);
    assert_eq!(call(&base, &again, "GET", "/api/session", None).await.status, 401);
    server.shutdown().await;
}

/// Personal API tokens: shown once, carry the user's role, revocable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_tokens_carry_the_users_role() {
    let db = common::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (graph, _) = common::graph_api().await;
    let (server, base) =
        common::start_server(dir.path(), &PLUGINS, &desk_config(&db.url, &graph, "")).await;
    add_user(&base, "agent@shop.example", "Agent", "agent").await;
    let agent = login(&base, "agent@shop.example", PASSWORD)
        .await
        .unwrap_or_else(|a| panic!("{}", a.status));
    let issued =
        ok(&base, &agent, "POST", "/api/tokens", Some(json!({"name": "laptop script"}))).await;
    let token: &'static str =
        Box::leak(issued["token"].as_str().unwrap().to_string().into_boxed_str());
    let listed = ok(&base, &agent, "GET", "/api/tokens", None).await;
    assert!(!listed.to_string().contains(token), "a token is shown once: {listed}");
    let bearer = Caller::Token(token);
    assert_eq!(call(&base, &bearer, "GET", "/api/conversations", None).await.status, 200);
    assert_eq!(call(&base, &bearer, "GET", "/admin/connectors", None).await.status, 403);
    let id = issued["id"].as_i64().unwrap();
    assert_eq!(call(&base, &agent, "DELETE", &format!("/api/tokens/{id}"), None).await.status, 204);
    assert_eq!(call(&base, &bearer, "GET", "/api/conversations", None).await.status, 401);
    server.shutdown().await;
}

/// Reads `GET /api/stream` on `base` until an event whose data contains `wanted` arrives; its
/// data line.
async fn stream_until(
    base: &str,
    token: &str,
    wanted: &str,
    ready: tokio::sync::oneshot::Sender<()>,
) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let authority = base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let head = format!(
        "GET /api/stream HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut lines = BufReader::new(socket).lines();
    let status = lines.next_line().await.unwrap().unwrap();
    assert!(status.contains(" 200 "), "{status}");
    let _ = ready.send(());
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("data:") && line.contains(wanted) {
            return line;
        }
    }
    panic!("the stream ended before `{wanted}`");
}

/// A change committed on one host reaches a stream subscriber on another.
async fn stream_delivers(subscribe_on: &str, write_on: &str) {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let reader =
        tokio::spawn(stream_until_owned(subscribe_on.to_string(), "stream-probe-7", ready_tx));
    ready_rx.await.unwrap();
    let answer = common::whatsapp_text(
        write_on,
        "33655555555",
        "Streamed",
        "wamid.stream1",
        "stream-probe-7",
        now_ms(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let line = tokio::time::timeout(Duration::from_secs(15), reader)
        .await
        .expect("the event reached the stream within 15 s")
        .unwrap();
    assert!(
        line.contains("\"kind\":\"message\"") || line.contains("\"kind\": \"message\""),
        "{line}"
    );
}

async fn stream_until_owned(
    base: String,
    wanted: &'static str,
    ready: tokio::sync::oneshot::Sender<()>,
) -> String {
    stream_until(&base, ADMIN, wanted, ready).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_pushes_conversation_changes_sqlite() {
    let db = common::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (graph, _) = common::graph_api().await;
    let (server, base) =
        common::start_server(dir.path(), &PLUGINS, &desk_config(&db.url, &graph, "")).await;
    stream_delivers(&base, &base).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_of_one_host_carries_changes_made_on_another_postgres() {
    let Some(db) = common::postgres().await else { return };
    let (graph, _) = common::graph_api().await;
    let config = desk_config(&db.url, &graph, "");
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, first_base) = common::start_server(one.path(), &PLUGINS, &config).await;
    let (second, second_base) = common::start_server(two.path(), &PLUGINS, &config).await;
    stream_delivers(&second_base, &first_base).await;
    first.shutdown().await;
    second.shutdown().await;
}

/// The SLA timer: a snooze ends at its time, and a first-response and a resolution target
/// passed unanswered are marked breached once each, with an event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_wake_snoozed_conversations_and_mark_breaches() {
    use switchboard::router::timers::tick;
    let db = common::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let (graph, _) = common::graph_api().await;
    let (server, base) =
        common::start_server(dir.path(), &PLUGINS, &desk_config(&db.url, &graph, "")).await;
    let now = now_ms();
    assert_eq!(
        common::whatsapp_text(&base, "33677777777", "Late", "wamid.late1", "anyone?", now)
            .await
            .status,
        200
    );
    let list = ok(&base, &ADMIN_CALLER, "GET", "/api/conversations?view=all", None).await;
    let id = list["conversations"][0]["id"].as_i64().unwrap();
    let path = format!("/api/conversations/{id}");
    let hour = 3_600_000;
    ok(
        &base,
        &ADMIN_CALLER,
        "PATCH",
        &path,
        Some(json!({"status": "snoozed", "snoozed_until": now + hour})),
    )
    .await;
    let store = &server.state.store;

    let fired = tick(store, now + 2 * hour, 500).await.unwrap();
    assert_eq!(fired.woke, 1, "{fired:?}");
    assert_eq!(conversation(&base, &ADMIN_CALLER, id).await["conversation"]["status"], "open");

    let day = 24 * hour;
    let fired = tick(store, now + 31 * day, 500).await.unwrap();
    assert_eq!((fired.first_response_breached, fired.resolution_breached), (1, 0), "{fired:?}");
    let fired = tick(store, now + 61 * day, 500).await.unwrap();
    assert_eq!((fired.first_response_breached, fired.resolution_breached), (0, 1), "{fired:?}");
    assert!(!tick(store, now + 62 * day, 500).await.unwrap().any(), "each breach is marked once");

    let detail = conversation(&base, &ADMIN_CALLER, id).await;
    assert_eq!(detail["conversation"]["sla"]["first_response_breached"], true, "{detail}");
    assert_eq!(detail["conversation"]["sla"]["resolution_breached"], true, "{detail}");
    let targets: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sla_breached")
        .map(|e| e["data"]["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["first_response", "resolution"], "{detail}");
    server.shutdown().await;
}
