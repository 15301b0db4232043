//! The OpenAPI document tells the truth: every operation it lists is called here on a server
//! with real data, and every answer — success or error — is one of the statuses documented
//! for it, with a body that validates against the documented schema.

mod common;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use switchboard::client;
use switchboard_test_artifacts as artifacts;

use common::ADMIN;

const PASSWORD: &str = "correct horse battery";

struct Checker {
    base: String,
    doc: Value,
    called: BTreeSet<(String, String)>,
}

impl Checker {
    /// Calls `method path` (the concrete path of `template`) with the admin token, or with
    /// `auth` headers, and checks the answer against the document. The JSON answer.
    async fn check(
        &mut self,
        method: &str,
        template: &str,
        path: &str,
        body: Option<Value>,
        auth: Option<&[(&str, &str)]>,
    ) -> Value {
        let bearer = format!("Bearer {ADMIN}");
        let mut headers: Vec<(&str, &str)> = match auth {
            Some(auth) => auth.to_vec(),
            None => vec![("Authorization", bearer.as_str())],
        };
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        if !payload.is_empty() {
            headers.push(("Content-Type", "application/json"));
        }
        let answer =
            client::send(&self.base, method, path, &headers, payload.as_bytes()).await.unwrap();
        let operation = &self.doc["paths"][template][method.to_ascii_lowercase()];
        assert!(operation.is_object(), "{method} {template} is not in the document");
        self.called.insert((method.to_ascii_lowercase(), template.to_string()));
        let status = answer.status.to_string();
        let documented = &operation["responses"][&status];
        assert!(
            documented.is_object(),
            "{method} {path} answered {status}, which the document does not list: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let json = answer.json();
        match documented["content"]["application/json"]["schema"].clone() {
            Value::Null => {
                // No JSON documented: a 204 or a plain text answer.
                assert!(
                    json.is_null() || documented["content"].is_object(),
                    "{method} {path} answered JSON the document does not describe: {json}"
                );
            }
            schema => {
                let mut root = schema;
                if let Value::Object(map) = &mut root {
                    map.insert("components".into(), self.doc["components"].clone());
                }
                let validator = jsonschema::validator_for(&root)
                    .unwrap_or_else(|e| panic!("{method} {template}: bad schema: {e}"));
                let errors: Vec<String> = validator
                    .iter_errors(&json)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{method} {path} ({status}) does not match its schema:\n{}\nanswer: {json}",
                    errors.join("\n")
                );
            }
        }
        json
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_what_the_document_says() {
    let db = common::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let config = common::config_head(&db.url)
        + r#"
[[sla]]
name = "standard"
first_response = "1h"

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
[connector.config]
app_secret = "fixture-app-secret"
verify_token = "fixture-verify-token"

[[connector]]
id = "shopify"
plugin = "./shopify.wasm"
[connector.config]
client_secret = "fixture-shopify-client-secret"
"#;
    let plugins = [
        ("email.wasm", artifacts::EMAIL),
        ("twilio.wasm", artifacts::TWILIO),
        ("whatsapp.wasm", artifacts::WHATSAPP),
        ("shopify.wasm", artifacts::SHOPIFY),
    ];
    let (server, base) = common::start_server(dir.path(), &plugins, &config).await;
    common::replay(&base, "email", "mailgun-mime.http").await;
    common::replay(&base, "whatsapp", "text.http").await;
    common::replay(&base, "twilio", "voice-incoming.http").await;
    common::replay(&base, "twilio", "sms-inbound.http").await;
    common::replay(&base, "shopify", "orders-create.http").await;
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
        as i64;
    let other =
        common::whatsapp_text(&base, "447700900123", "Bob Martin", "wamid.bob1", "Hi", at).await;
    assert_eq!(other.status, 200);

    let doc = client::request(&base, "GET", "/api/openapi.json", None, None).await.unwrap().json();
    let mut c = Checker { base: base.clone(), doc: doc.clone(), called: BTreeSet::new() };
    // The checking itself can fail: a wrong body does not validate.
    let inbox = json!({"$ref": "#/components/schemas/Inbox", "components": doc["components"]});
    let validator = jsonschema::validator_for(&inbox).unwrap();
    assert!(!validator.is_valid(&json!({"conversations": 5, "next_cursor": null})));
    assert!(!validator.is_valid(&json!({})));

    // People.
    let agent = c
        .check(
            "POST",
            "/api/users",
            "/api/users",
            Some(json!({"email": "agent@shop.example", "name": "Agent", "role": "agent", "password": PASSWORD})),
            None,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    c.check(
        "POST",
        "/api/users",
        "/api/users",
        Some(json!({"email": "agent@shop.example", "name": "Again", "role": "agent"})),
        None,
    )
    .await;
    c.check(
        "POST",
        "/api/users",
        "/api/users",
        Some(json!({"email": "not an address", "name": "X", "role": "agent"})),
        None,
    )
    .await;
    c.check("GET", "/api/users", "/api/users", None, None).await;
    c.check(
        "PATCH",
        "/api/users/{id}",
        &format!("/api/users/{agent}"),
        Some(json!({"capacity": 5})),
        None,
    )
    .await;
    c.check("PATCH", "/api/users/{id}", "/api/users/999999", Some(json!({"away": true})), None)
        .await;
    let team = c
        .check(
            "POST",
            "/api/teams",
            "/api/teams",
            Some(json!({"name": "Support", "members": [agent]})),
            None,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    c.check("GET", "/api/teams", "/api/teams", None, None).await;
    c.check(
        "PATCH",
        "/api/teams/{id}",
        &format!("/api/teams/{team}"),
        Some(json!({"name": "Front desk"})),
        None,
    )
    .await;
    c.check(
        "PUT",
        "/api/routing",
        "/api/routing",
        Some(json!({"scope": "connector:whatsapp", "team_id": team, "policy": "least-open", "capacity": 10})),
        None,
    )
    .await;
    c.check(
        "PUT",
        "/api/routing",
        "/api/routing",
        Some(json!({"scope": "nonsense", "team_id": team})),
        None,
    )
    .await;
    c.check("GET", "/api/routing", "/api/routing", None, None).await;

    // A session: log in, who am I, change myself, tokens, log out.
    let login = client::send(
        &base,
        "POST",
        "/api/session",
        &[("Content-Type", "application/json")],
        json!({"email": "agent@shop.example", "password": PASSWORD}).to_string().as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(login.status, 200);
    let cookie = login.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let csrf = login.json()["csrf_token"].as_str().unwrap().to_string();
    let session: Vec<(&str, &str)> = vec![("Cookie", &cookie), ("X-CSRF-Token", &csrf)];
    c.check(
        "POST",
        "/api/session",
        "/api/session",
        Some(json!({"email": "agent@shop.example", "password": "wrong password!"})),
        Some(&[]),
    )
    .await;
    c.check(
        "POST",
        "/api/session",
        "/api/session",
        Some(json!({"email": "agent@shop.example", "password": PASSWORD})),
        Some(&[]),
    )
    .await;
    c.check("GET", "/api/session", "/api/session", None, Some(&session)).await;
    c.check("GET", "/api/me", "/api/me", None, Some(&session)).await;
    c.check("PATCH", "/api/me", "/api/me", Some(json!({"away": false})), Some(&session)).await;
    c.check(
        "POST",
        "/api/me/password",
        "/api/me/password",
        Some(json!({"current": "not it at all", "new": "another long password"})),
        Some(&session),
    )
    .await;
    let token = c
        .check(
            "POST",
            "/api/tokens",
            "/api/tokens",
            Some(json!({"name": "script"})),
            Some(&session),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    c.check("GET", "/api/tokens", "/api/tokens", None, Some(&session)).await;
    c.check("DELETE", "/api/tokens/{id}", &format!("/api/tokens/{token}"), None, Some(&session))
        .await;
    c.check("GET", "/admin/connectors", "/admin/connectors", None, Some(&session)).await;
    c.check("GET", "/api/conversations", "/api/conversations", None, Some(&[])).await;

    // Customers.
    let found = c.check("GET", "/api/customers", "/api/customers?q=ann", None, None).await;
    let customer = found["customers"][0]["id"].as_i64().expect("a customer named Ann");
    c.check("GET", "/api/customers", "/api/customers?limit=1", None, None).await;
    c.check("GET", "/api/customers", "/api/customers?external=whatsapp:33612345678", None, None)
        .await;
    c.check("GET", "/api/customers/{id}", &format!("/api/customers/{customer}"), None, None).await;
    c.check("GET", "/api/customers/{id}", "/api/customers/999999", None, None).await;
    c.check(
        "PATCH",
        "/api/customers/{id}",
        &format!("/api/customers/{customer}"),
        Some(json!({"preferred_channel": "whatsapp"})),
        None,
    )
    .await;
    c.check(
        "GET",
        "/api/customers/{id}/timeline",
        &format!("/api/customers/{customer}/timeline?limit=3"),
        None,
        None,
    )
    .await;
    c.check(
        "GET",
        "/api/customers/{id}/explain",
        &format!("/api/customers/{customer}/explain"),
        None,
        None,
    )
    .await;
    c.check(
        "GET",
        "/api/records",
        "/api/records?connector=whatsapp&provider_id=wamid.none",
        None,
        None,
    )
    .await;
    c.check("GET", "/api/records", "/api/records", None, None).await;
    c.check("GET", "/api/carts/{token}", "/api/carts/no-such-cart", None, None).await;
    c.check("GET", "/api/orders", "/api/orders", None, None).await;
    c.check("GET", "/api/stats", "/api/stats", None, None).await;

    // Conversations.
    let inbox = c
        .check("GET", "/api/conversations", "/api/conversations?view=all&status=any", None, None)
        .await;
    let conversation = inbox["conversations"][0]["id"].as_i64().expect("a conversation");
    c.check("GET", "/api/conversations", "/api/conversations?view=sideways", None, None).await;
    let counted = c
        .check(
            "GET",
            "/api/conversations",
            "/api/conversations?status=any&breakdown=true",
            None,
            None,
        )
        .await;
    assert!(counted["teams"].is_array() && counted["connectors"].is_array(), "{counted}");
    c.check(
        "GET",
        "/api/conversations/{id}",
        &format!("/api/conversations/{conversation}"),
        None,
        None,
    )
    .await;
    c.check("GET", "/api/conversations/{id}", "/api/conversations/999999", None, None).await;
    c.check(
        "PATCH",
        "/api/conversations/{id}",
        &format!("/api/conversations/{conversation}"),
        Some(json!({"labels": ["delivery"], "priority": "high", "assignee_id": agent})),
        None,
    )
    .await;
    c.check(
        "PATCH",
        "/api/conversations/{id}",
        &format!("/api/conversations/{conversation}"),
        Some(json!({"status": "snoozed"})),
        None,
    )
    .await;
    c.check(
        "POST",
        "/api/conversations/{id}/notes",
        &format!("/api/conversations/{conversation}/notes"),
        Some(json!({"text": "@Agent please call back"})),
        None,
    )
    .await;
    let channels = c
        .check(
            "GET",
            "/api/conversations/{id}/reply-channels",
            &format!("/api/conversations/{conversation}/reply-channels"),
            None,
            None,
        )
        .await;
    assert!(channels["options"].as_array().is_some_and(|o| !o.is_empty()), "{channels}");
    c.check(
        "GET",
        "/api/conversations/{id}/reply-channels",
        "/api/conversations/999999/reply-channels",
        None,
        None,
    )
    .await;
    // No provider API is configured: the connector refuses (422) and nothing is recorded.
    c.check(
        "POST",
        "/api/conversations/{id}/replies",
        &format!("/api/conversations/{conversation}/replies"),
        Some(json!({"text": "Hello", "channel": "whatsapp"})),
        None,
    )
    .await;
    c.check(
        "POST",
        "/api/conversations/{id}/replies",
        &format!("/api/conversations/{conversation}/replies"),
        Some(json!({"text": "Hello", "channel": "nowhere"})),
        None,
    )
    .await;
    c.check(
        "POST",
        "/api/customers/{id}/messages",
        &format!("/api/customers/{customer}/messages"),
        Some(json!({"text": "Hello", "channel": "email"})),
        None,
    )
    .await;
    c.check(
        "POST",
        "/api/conversations/{id}/merge",
        &format!("/api/conversations/{conversation}/merge"),
        Some(json!({"other": conversation})),
        None,
    )
    .await;
    let message = c
        .check(
            "GET",
            "/api/conversations/{id}",
            &format!("/api/conversations/{conversation}"),
            None,
            None,
        )
        .await["messages"][0]["id"]
        .as_i64()
        .unwrap();
    c.check(
        "POST",
        "/api/interactions/{id}/move",
        &format!("/api/interactions/{message}/move"),
        Some(json!({"conversation": conversation})),
        None,
    )
    .await;
    let canned = c
        .check(
            "POST",
            "/api/canned-replies",
            "/api/canned-replies",
            Some(json!({"name": "hello", "body": "Hello {{customer.first_name | there}},"})),
            None,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    c.check(
        "POST",
        "/api/canned-replies",
        "/api/canned-replies",
        Some(json!({"name": "bad", "body": "{{nope}}"})),
        None,
    )
    .await;
    c.check("GET", "/api/canned-replies", "/api/canned-replies", None, None).await;
    c.check(
        "PUT",
        "/api/canned-replies/{id}",
        &format!("/api/canned-replies/{canned}"),
        Some(json!({"name": "hello", "body": "Hi {{customer.first_name}}!"})),
        None,
    )
    .await;
    c.check(
        "GET",
        "/api/canned-replies/{id}/render",
        &format!("/api/canned-replies/{canned}/render?conversation={conversation}"),
        None,
        None,
    )
    .await;
    c.check(
        "DELETE",
        "/api/canned-replies/{id}",
        &format!("/api/canned-replies/{canned}"),
        None,
        None,
    )
    .await;

    // Merges and reports.
    let other =
        c.check("GET", "/api/customers", "/api/customers?limit=50", None, None).await["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .find(|id| *id != customer)
            .expect("a second customer (Bob, on WhatsApp)");
    let merge = c
        .check(
            "POST",
            "/api/customers/{id}/merge",
            &format!("/api/customers/{customer}/merge"),
            Some(json!({"other": other, "reason": "same person"})),
            None,
        )
        .await["id"]
        .as_i64()
        .unwrap();
    c.check("GET", "/api/merges", "/api/merges", None, None).await;
    c.check(
        "POST",
        "/api/merges/{id}/undo",
        &format!("/api/merges/{merge}/undo"),
        Some(json!({})),
        None,
    )
    .await;
    c.check(
        "POST",
        "/api/merges/{id}/undo",
        &format!("/api/merges/{merge}/undo"),
        Some(json!({})),
        None,
    )
    .await;
    c.check("GET", "/api/duplicates", "/api/duplicates", None, None).await;
    c.check("GET", "/api/duplicates", "/api/duplicates?status=maybe", None, None).await;
    for verdict in ["merge", "dismiss"] {
        let template = format!("/api/duplicates/{{id}}/{verdict}");
        let path = format!("/api/duplicates/999999/{verdict}");
        c.check("POST", &template, &path, None, None).await;
    }
    for group in ["channel", "team", "agent"] {
        c.check("GET", "/api/reports", &format!("/api/reports?group={group}"), None, None).await;
    }
    c.check("GET", "/api/reports", "/api/reports?from=10&to=5", None, None).await;

    // Admin.
    c.check("GET", "/admin/connectors", "/admin/connectors", None, None).await;
    c.check(
        "POST",
        "/admin/connectors/{id}/disable",
        "/admin/connectors/shopify/disable",
        None,
        None,
    )
    .await;
    c.check(
        "POST",
        "/admin/connectors/{id}/enable",
        "/admin/connectors/shopify/enable",
        None,
        None,
    )
    .await;
    c.check(
        "POST",
        "/admin/connectors/{id}/reload",
        "/admin/connectors/shopify/reload",
        None,
        None,
    )
    .await;
    c.check(
        "POST",
        "/admin/connectors/{id}/reload",
        "/admin/connectors/nowhere/reload",
        None,
        None,
    )
    .await;
    c.check("GET", "/admin/dead-letters", "/admin/dead-letters?all=true", None, None).await;
    c.check(
        "POST",
        "/admin/dead-letters/{id}/replay",
        "/admin/dead-letters/999999/replay",
        None,
        None,
    )
    .await;
    c.check("DELETE", "/admin/dead-letters/{id}", "/admin/dead-letters/999999", None, None).await;
    c.check("DELETE", "/api/teams/{id}", &format!("/api/teams/{team}"), None, None).await;
    c.check("DELETE", "/api/routing/{scope}", "/api/routing/connector:whatsapp", None, None).await;
    c.check("DELETE", "/api/session", "/api/session", None, Some(&session)).await;

    // Every documented operation was called (the stream is not JSON: its own tests cover it).
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if path == "/api/stream" || path.starts_with("/hooks") {
                continue;
            }
            if !c.called.contains(&(method.clone(), path.clone())) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "not exercised: {missing:?}");
    // And each one documents a schema for its JSON answers.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status != "204" && path != "/api/stream" && !path.starts_with("/hooks") {
                    assert!(
                        response["content"].is_object(),
                        "{method} {path} {status} has no body schema"
                    );
                }
            }
        }
    }
    server.shutdown().await;
}
