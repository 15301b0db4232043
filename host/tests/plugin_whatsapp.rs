//! The bundled WhatsApp Cloud API connector on its fixtures (`plugins/whatsapp/fixtures/`),
//! through the real runtime and store, and sending against a local Graph API.

mod common;

use switchboard::model::{ConnectorError, Direction, Event, Identifier, Interaction};
use switchboard::runtime::{CallError, LoadedConnector};
use switchboard_test_artifacts as artifacts;

const SECRETS: &[(&str, &str)] =
    &[("app_secret", "fixture-app-secret"), ("verify_token", "fixture-verify-token")];

async fn whatsapp(extra: &[(&str, &str)], allowed: &[&str]) -> LoadedConnector {
    let mut config = SECRETS.to_vec();
    config.extend_from_slice(extra);
    common::plugin(artifacts::WHATSAPP, "whatsapp", &config, allowed).await
}

async fn one(connector: &LoadedConnector, name: &str) -> Interaction {
    let events = connector.handle_webhook(common::fixture("whatsapp", name)).await.unwrap().events;
    match events.as_slice() {
        [Event::Interaction(interaction)] => interaction.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn phone() -> Identifier {
    Identifier::Phone { value: "+33612345678".into() }
}

#[tokio::test]
async fn the_verification_handshake_echoes_the_challenge() {
    let connector = whatsapp(&[], &[]).await;
    let outcome =
        connector.handle_webhook(common::fixture("whatsapp", "verify.http")).await.unwrap();
    assert_eq!(
        (outcome.response.status, outcome.response.body.as_slice()),
        (200, b"1158201444".as_slice())
    );
    assert!(outcome.events.is_empty());
    let refused = connector
        .handle_webhook(common::fixture("whatsapp", "verify-wrong-token.http"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CallError::Connector { error: ConnectorError::Unauthorized(_), .. }),
        "{refused}"
    );
}

#[tokio::test]
async fn every_message_type_becomes_a_message() {
    let connector = whatsapp(&[], &[]).await;
    let text = one(&connector, "text.http").await;
    assert_eq!(text.provider_id, "wamid.HBgLMzM2MTIzNDU2NzgVAgASGBQzQTk4QjY1RTk5RkQ2OTE3ODVFNAA=");
    assert_eq!(text.text.as_deref(), Some("Bonjour, do you deliver to Lyon?"));
    assert_eq!(text.contact.identifiers, [phone().verified()], "wa_id, read as international");
    assert_eq!(text.contact.display_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(text.occurred_at, 1_795_570_000_000);

    let image = one(&connector, "image.http").await;
    assert_eq!(image.text.as_deref(), Some("The parcel arrived like this"));
    assert_eq!(image.attachments[0].content_type, "image/jpeg");
    assert_eq!(image.attachments[0].url.as_deref(), Some("whatsapp-media:1003383421387256"));

    let document = one(&connector, "document.http").await;
    assert_eq!(document.attachments[0].name.as_deref(), Some("invoice-1001.pdf"));
    assert_eq!(document.attachments[0].content_type, "application/pdf");

    let location = one(&connector, "location.http").await;
    assert_eq!(
        location.text.as_deref(),
        Some("location 45.757814,4.832011 Bellecour, 1 Place Bellecour, Lyon")
    );

    let reply = one(&connector, "interactive.http").await;
    assert_eq!(reply.text.as_deref(), Some("Morning delivery"));
    assert!(reply.attributes.iter().any(|a| a.key == "reply_id" && a.value == "slot-morning"));
    assert!(reply.attributes.iter().any(|a| a.key == "in_reply_to"));

    // A contact who shares no phone number, only a business-scoped user id, still works.
    let scoped = one(&connector, "business-scoped-user.http").await;
    assert_eq!(
        scoped.contact.identifiers,
        [Identifier::external("whatsapp:user", "US.13491208655302741918").verified()]
    );
    assert_eq!(scoped.contact.display_name.as_deref(), Some("Pablo Morales"));
}

#[tokio::test]
async fn bad_input_is_refused() {
    let connector = whatsapp(&[], &[]).await;
    for (name, expected) in
        [("wrong-signature.http", "unauthorized"), ("malformed.http", "bad_request")]
    {
        let error = connector.handle_webhook(common::fixture("whatsapp", name)).await.unwrap_err();
        let CallError::Connector { error, .. } = &error else { panic!("{name}: {error}") };
        assert_eq!(serde_json::to_value(error).unwrap()["kind"], expected, "{name}");
    }
    // One byte changed after signing is caught on the raw body.
    let mut tampered = common::fixture("whatsapp", "text.http");
    let at = tampered.body.iter().position(|&b| b == b'L').unwrap();
    tampered.body[at] = b'P';
    let error = connector.handle_webhook(tampered).await.unwrap_err();
    assert!(
        matches!(error, CallError::Connector { error: ConnectorError::Unauthorized(_), .. }),
        "{error}"
    );
}

#[tokio::test]
async fn redelivery_and_statuses_in_the_store() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let connector = whatsapp(&[], &[]).await;
    for name in ["text.http", "text.http", "image.http"] {
        let outcome = connector.handle_webhook(common::fixture("whatsapp", name)).await.unwrap();
        store.ingest("whatsapp", &outcome.events).await.unwrap();
    }
    let customer = store.find_customers(&Default::default()).await.unwrap()[0].id;
    // The shop sent a message (recorded by the send API), then WhatsApp reports it delivered.
    let sent = Interaction {
        provider_id: "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI1QTYyNjNEOTg2RjhFMDBCRkIA".into(),
        kind: switchboard::model::InteractionKind::Message,
        direction: Direction::Outbound,
        contact: switchboard::model::Contact {
            identifiers: vec![],
            display_name: None,
            given_name: None,
            family_name: None,
            locale: None,
            attributes: vec![],
        },
        channel: "whatsapp".into(),
        thread_id: Some("33612345678".into()),
        subject: None,
        text: Some("Your parcel leaves today".into()),
        occurred_at: 1_795_570_200_000,
        status: Some("accepted".into()),
        attachments: vec![],
        attributes: vec![],
    };
    store.record_outbound(customer, "whatsapp", &sent).await.unwrap();
    let outcome = connector
        .handle_webhook(common::fixture("whatsapp", "status-delivered.http"))
        .await
        .unwrap();
    let Event::Interaction(status) = &outcome.events[0] else { panic!() };
    assert_eq!(
        (status.direction, status.status.as_deref()),
        (Direction::Outbound, Some("delivered"))
    );
    store.ingest("whatsapp", &outcome.events).await.unwrap();
    let timeline = store.timeline(customer, None, 50).await.unwrap();
    assert_eq!(
        timeline.entries.len(),
        3,
        "a redelivered message adds nothing; a status adds nothing"
    );
    let outbound = timeline.entries.iter().find(|e| e.data["direction"] == "outbound").unwrap();
    assert_eq!(outbound.data["status"], "delivered");
    assert_eq!(
        outbound.data["text"], "Your parcel leaves today",
        "the status kept the message's text"
    );
}

#[tokio::test]
async fn send_uses_the_cloud_api_messages_endpoint() {
    let reply = r#"{"messaging_product":"whatsapp","contacts":[{"input":"33612345678","wa_id":"33612345678"}],"messages":[{"id":"wamid.HBgLMzM2MTIzNDU2NzgVAgARGBIyRjE4QjZBMjVGQjQ4QUIwRkUA"}]}"#;
    let (base, server) = common::one_shot_api(200, reply).await;
    let connector = whatsapp(
        &[
            ("access_token", "EAAJB-fixture"),
            ("phone_number_id", "106540352242922"),
            ("api_base", &base),
        ],
        &[&base],
    )
    .await;
    let receipt = connector
        .send(common::outbound(
            vec![Identifier::Email { value: "ann@example.com".into() }, phone()],
            "Your parcel leaves today",
        ))
        .await
        .unwrap();
    assert_eq!(receipt.provider_id, "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBIyRjE4QjZBMjVGQjQ4QUIwRkUA");
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /106540352242922/messages HTTP/1.1"), "{request}");
    assert!(
        request.to_ascii_lowercase().contains("authorization: bearer eaajb-fixture"),
        "{request}"
    );
    let body: serde_json::Value =
        serde_json::from_str(request.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["to"], "33612345678");
    assert_eq!(body["text"]["body"], "Your parcel leaves today");
    assert_eq!(body["messaging_product"], "whatsapp");

    // An expired token is the operator's to fix, not a retry.
    let (base, _server) = common::one_shot_api(401, r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190}}"#).await;
    let expired = whatsapp(
        &[("access_token", "old"), ("phone_number_id", "1"), ("api_base", &base)],
        &[&base],
    )
    .await;
    let error = expired.send(common::outbound(vec![phone()], "x")).await.unwrap_err();
    assert!(
        matches!(&error, CallError::Connector { error: ConnectorError::Config(m), .. } if m.contains("190")),
        "{error}"
    );
}
