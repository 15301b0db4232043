//! The bundled Telegram connector on its fixtures (`plugins/telegram/fixtures/`), through the
//! real runtime and store, and its `sendMessage` against a local server speaking the Bot API.

mod common;

use std::sync::Arc;

use switchboard::model::{ConnectorError, Event, Identifier};
use switchboard::runtime::{CallError, ConnectorSettings, MemoryKv, Runtime, RuntimeConfig};
use switchboard_test_artifacts as artifacts;

async fn telegram(
    config: &[(&str, &str)],
    allowed: &[&str],
) -> switchboard::runtime::LoadedConnector {
    let mut config = config.to_vec();
    config.push(("secret_token", "fixture-secret-token"));
    common::plugin(artifacts::TELEGRAM, "telegram", &config, allowed).await
}

fn fixture(name: &str) -> switchboard::model::HttpRequest {
    common::fixture("telegram", name)
}

#[tokio::test]
async fn messages_edits_contacts_and_commands() {
    let connector = telegram(&[], &[]).await;
    let events = connector.handle_webhook(fixture("message.http")).await.unwrap().events;
    let [Event::Interaction(message)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(message.provider_id, "111111111:1365");
    assert_eq!(message.thread_id.as_deref(), Some("111111111"));
    assert_eq!(message.text.as_deref(), Some("Bonjour, ma commande #1001 est-elle partie ?"));
    assert_eq!(message.occurred_at, 1_795_570_000_000);
    assert_eq!(
        message.contact.identifiers,
        [Identifier::external("telegram:user", "111111111").verified()]
    );
    assert_eq!(message.contact.display_name.as_deref(), Some("Ann Lee"));
    assert_eq!(message.contact.locale.as_deref(), Some("fr"));

    let edited = connector.handle_webhook(fixture("edited-message.http")).await.unwrap().events;
    let [Event::Interaction(edit)] = edited.as_slice() else { panic!("{edited:?}") };
    assert_eq!(edit.provider_id, message.provider_id, "an edit amends the message it edits");
    assert_eq!(edit.status.as_deref(), Some("edited"));

    let shared = connector.handle_webhook(fixture("shared-contact.http")).await.unwrap().events;
    let [Event::Interaction(shared)] = shared.as_slice() else { panic!("{shared:?}") };
    assert!(
        shared.contact.identifiers.contains(&Identifier::phone("+33612345678").verified()),
        "the account's own number, international without `+`: {:?}",
        shared.contact.identifiers
    );
    assert!(
        shared
            .contact
            .identifiers
            .contains(&Identifier::external("telegram:user", "111111111").verified())
    );

    for (name, state) in [("start.http", "opt_in"), ("stop.http", "opt_out")] {
        let events = connector.handle_webhook(fixture(name)).await.unwrap().events;
        let Some(Event::Consent(consent)) = events.get(1) else { panic!("{name}: {events:?}") };
        assert_eq!(serde_json::to_value(consent.state).unwrap(), state);
        assert_eq!(consent.channel, "telegram");
    }

    let callback = connector.handle_webhook(fixture("callback-query.http")).await.unwrap().events;
    let [Event::Interaction(callback)] = callback.as_slice() else { panic!("{callback:?}") };
    assert_eq!(callback.text.as_deref(), Some("slot:2026-11-26T10:00"));
}

#[tokio::test]
async fn bad_input_is_refused() {
    let connector = telegram(&[], &[]).await;
    let error = connector.handle_webhook(fixture("wrong-secret.http")).await.unwrap_err();
    assert!(
        matches!(error, CallError::Connector { error: ConnectorError::Unauthorized(_), .. }),
        "{error}"
    );
    let mut unsigned = fixture("message.http");
    unsigned.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("x-telegram-bot-api-secret-token"));
    let error = connector.handle_webhook(unsigned).await.unwrap_err();
    assert!(
        matches!(&error, CallError::Connector { error: ConnectorError::Unauthorized(m), .. } if m.contains("missing")),
        "{error}"
    );
    let error = connector.handle_webhook(fixture("malformed.http")).await.unwrap_err();
    assert!(
        matches!(error, CallError::Connector { error: ConnectorError::BadRequest(_), .. }),
        "{error}"
    );
    // Without its secret configured the connector refuses to guess.
    let runtime = Runtime::new(RuntimeConfig::default(), Arc::new(MemoryKv::new())).unwrap();
    let unconfigured = runtime
        .load_file(artifacts::TELEGRAM.as_ref(), ConnectorSettings::default())
        .await
        .unwrap();
    let error = unconfigured.handle_webhook(fixture("message.http")).await.unwrap_err();
    assert!(
        matches!(error, CallError::Connector { error: ConnectorError::Config(_), .. }),
        "{error}"
    );
}

#[tokio::test]
async fn redelivered_updates_and_edits_in_the_store() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let connector = telegram(&[], &[]).await;
    for name in
        ["message.http", "message.http", "edited-message.http", "shared-contact.http", "stop.http"]
    {
        let outcome = connector.handle_webhook(fixture(name)).await.unwrap();
        store.ingest("telegram", &outcome.events).await.unwrap();
    }
    let customers = store.find_customers(&Default::default()).await.unwrap();
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].phones, ["+33612345678"]);
    let timeline = store.timeline(customers[0].id, None, 50).await.unwrap();
    let texts: Vec<_> = timeline
        .entries
        .iter()
        .map(|e| e.data["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(
        texts.contains(&"Bonjour, ma commande #1002 est-elle partie ?".to_string()),
        "the edit amended the message"
    );
    let consent = store.current_consent(customers[0].id, "telegram").await.unwrap().unwrap();
    assert_eq!(consent.state, "opt_out");
}

#[tokio::test]
async fn send_message_calls_the_bot_api() {
    // The Bot API's answer to sendMessage: the sent Message.
    let reply = r#"{"ok":true,"result":{"message_id":1400,"from":{"id":7000000001,"is_bot":true,"first_name":"Shop"},"chat":{"id":111111111,"type":"private"},"date":1795571000,"text":"Votre colis est parti"}}"#;
    let (base, server) = common::one_shot_api(200, reply).await;
    let connector =
        telegram(&[("bot_token", "123456:ABC-DEF"), ("api_base", &base)], &[&base]).await;
    let receipt = connector
        .send(common::outbound(
            vec![
                Identifier::Email { value: "ann@example.com".into() },
                Identifier::External {
                    namespace: "telegram:user".into(),
                    value: "111111111".into(),
                },
            ],
            "Votre colis est parti",
        ))
        .await
        .unwrap();
    assert_eq!(receipt.provider_id, "111111111:1400");
    assert_eq!(receipt.sent_at, 1_795_571_000_000);
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /bot123456:ABC-DEF/sendMessage HTTP/1.1"), "{request}");
    let body: serde_json::Value =
        serde_json::from_str(request.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body, serde_json::json!({"chat_id": "111111111", "text": "Votre colis est parti"}));

    // Without the API host in allowed_hosts the call is refused inside the sandbox.
    let fenced = telegram(&[("bot_token", "123456:ABC-DEF"), ("api_base", &base)], &[]).await;
    let error = fenced
        .send(common::outbound(
            vec![Identifier::External { namespace: "telegram:user".into(), value: "1".into() }],
            "x",
        ))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("allowed_hosts"), "{error}");
}
