//! The bundled e-mail connector: Mailgun, SendGrid and Postmark ingress on their fixtures
//! (`plugins/email/fixtures/`), MIME details, replay protection, and sending through Mailgun.

mod common;

use switchboard::model::{Event, Identifier, Interaction, OutboundMessage};
use switchboard::runtime::LoadedConnector;
use switchboard_test_artifacts as artifacts;

const CONFIG: &[(&str, &str)] = &[
    ("mailgun_signing_key", "fixture-mailgun-signing-key"),
    ("postmark_username", "postmark-hook"),
    ("postmark_password", "fixture-postmark-password"),
];

/// The fixtures carry a fixed Mailgun timestamp; a wide window lets them pass. The default
/// window is tested on its own.
async fn email(extra: &[(&str, &str)], allowed: &[&str]) -> LoadedConnector {
    let mut config = CONFIG.to_vec();
    config.extend_from_slice(extra);
    if !extra.iter().any(|(k, _)| *k == "mailgun_max_age_secs") {
        config.push(("mailgun_max_age_secs", "2000000000"));
    }
    common::plugin(artifacts::EMAIL, "email", &config, allowed).await
}

async fn one(connector: &LoadedConnector, name: &str) -> Interaction {
    let events = connector.handle_webhook(common::fixture("email", name)).await.unwrap().events;
    match events.as_slice() {
        [Event::Interaction(i)] => i.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn mailgun_mime_with_encoded_words_quoted_printable_and_an_attachment() {
    let connector = email(&[], &[]).await;
    let mail = one(&connector, "mailgun-mime.http").await;
    assert_eq!(mail.provider_id, "CAF7x1k2=first@mail.example.com");
    assert_eq!(mail.subject.as_deref(), Some("Réclamation commande 1001"));
    assert!(
        mail.text.as_deref().unwrap().contains("est arrivée abîmée. Pouvez-vous m'aider ?"),
        "{:?}",
        mail.text
    );
    assert_eq!(
        mail.contact.identifiers,
        [
            Identifier::email("Ann.Lee@Example.com").verified(),
            Identifier::phone("+33 6 12 34 56 78").mentioned()
        ],
        "the phone number in the signature identifies the sender too, as what the text says"
    );
    assert_eq!(mail.contact.display_name.as_deref(), Some("Ann Lée"));
    assert_eq!(mail.occurred_at, 1_795_511_700_000);
    assert_eq!(mail.thread_id.as_deref(), Some("CAF7x1k2=first@mail.example.com"));
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(
        (mail.attachments[0].name.as_deref(), mail.attachments[0].content_type.as_str()),
        (Some("colis.jpg"), "image/jpeg")
    );
    assert_eq!(mail.attachments[0].size_bytes, 4 + 12 * 20);
    assert_eq!(mail.status, None);
}

#[tokio::test]
async fn mailgun_signatures_timestamps_and_replays() {
    let connector = email(&[], &[]).await;
    assert_eq!(
        common::kind(
            &connector
                .handle_webhook(common::fixture("email", "mailgun-wrong-signature.http"))
                .await
                .unwrap_err()
        ),
        "unauthorized"
    );
    connector.handle_webhook(common::fixture("email", "mailgun-mime.http")).await.unwrap();
    let replay =
        connector.handle_webhook(common::fixture("email", "mailgun-mime.http")).await.unwrap_err();
    assert!(replay.to_string().contains("already used"), "{replay}");
    // With the default two-minute window the fixture's timestamp is stale.
    let strict = email(&[("mailgun_max_age_secs", "120")], &[]).await;
    let stale =
        strict.handle_webhook(common::fixture("email", "mailgun-mime.http")).await.unwrap_err();
    assert_eq!(common::kind(&stale), "unauthorized");
    assert!(stale.to_string().contains("at most 120s"), "{stale}");
}

#[tokio::test]
async fn sendgrid_raw_mime_threads_and_charsets() {
    let connector = email(&[], &[]).await;
    let reply = one(&connector, "sendgrid-raw-mime.http").await;
    assert_eq!(reply.subject.as_deref(), Some("Re: Réclamation commande 1001"));
    assert_eq!(reply.text.as_deref(), Some("Merci, j'ai bien reçu l'étiquette de retour."));
    assert_eq!(
        reply.thread_id.as_deref(),
        Some("CAF7x1k2=first@mail.example.com"),
        "a reply joins the thread of its first message"
    );
    assert!(
        reply
            .attributes
            .iter()
            .any(|a| a.key == "in_reply_to" && a.value == "20261124120000.1.ABCDEF@shop.example")
    );
    assert!(reply.attachments.is_empty(), "the HTML alternative is not an attachment");

    let bounce = one(&connector, "sendgrid-bounce.http").await;
    assert_eq!(bounce.status.as_deref(), Some("bounce"));
    let away = one(&connector, "sendgrid-auto-reply.http").await;
    assert_eq!(away.status.as_deref(), Some("auto-reply"));
    let garbage = connector
        .handle_webhook(common::fixture("email", "sendgrid-not-mime.http"))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&garbage), "bad_request");
}

#[tokio::test]
async fn postmark_json_with_basic_auth() {
    let connector = email(&[], &[]).await;
    let mail = one(&connector, "postmark-inbound.http").await;
    assert_eq!(mail.provider_id, "CAGnH2p=carla1@mail.example.net");
    assert_eq!(mail.contact.identifiers, [Identifier::email("carla@example.net").verified()]);
    assert_eq!(mail.contact.display_name.as_deref(), Some("Carla Diaz"));
    assert_eq!(mail.text.as_deref(), Some("Hello, can you gift-wrap order 1003?"));
    assert_eq!(
        (mail.attachments[0].name.as_deref(), mail.attachments[0].size_bytes),
        (Some("card.txt"), 15)
    );
    assert_eq!(
        common::kind(
            &connector
                .handle_webhook(common::fixture("email", "postmark-wrong-auth.http"))
                .await
                .unwrap_err()
        ),
        "unauthorized"
    );
}

#[tokio::test]
async fn a_thread_and_a_bounce_in_the_store() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let connector = email(&[], &[]).await;
    for name in ["mailgun-mime.http", "sendgrid-raw-mime.http", "sendgrid-bounce.http"] {
        let outcome = connector.handle_webhook(common::fixture("email", name)).await.unwrap();
        store.ingest("email", &outcome.events).await.unwrap();
    }
    let ann = store
        .find_customers(&switchboard::store::CustomerQuery {
            email: Some("ann.lee@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ann.len(), 1, "both messages come from one person whatever the address's case");
    let thread = store.thread(ann[0].id, "email").await.unwrap();
    assert_eq!(thread.thread_id.as_deref(), Some("CAF7x1k2=first@mail.example.com"));
    assert_eq!(thread.in_reply_to.as_deref(), Some("CAF7x1k2=second@mail.example.com"));
}

#[tokio::test]
async fn send_through_mailgun_answers_in_the_thread() {
    let reply =
        r#"{"id":"<20261125093000.1.7F3A@mg.shop.example>","message":"Queued. Thank you."}"#;
    let (base, server) = common::one_shot_api(200, reply).await;
    let connector = email(
        &[
            ("api_key", "key-fixture"),
            ("domain", "mg.shop.example"),
            ("from", "Shop <support@shop.example>"),
            ("api_base", &base),
        ],
        &[&base],
    )
    .await;
    let receipt = connector
        .send(OutboundMessage {
            to: vec![
                Identifier::Phone { value: "+33612345678".into() },
                Identifier::Email { value: "ann.lee@example.com".into() },
            ],
            subject: Some("Re: Réclamation commande 1001".into()),
            text: "We are sending a replacement.".into(),
            thread_id: Some("CAF7x1k2=first@mail.example.com".into()),
            in_reply_to: Some("CAF7x1k2=second@mail.example.com".into()),
            references: vec![
                "CAF7x1k2=first@mail.example.com".into(),
                "CAF7x1k2=second@mail.example.com".into(),
            ],
            attributes: vec![],
        })
        .await
        .unwrap();
    assert_eq!(receipt.provider_id, "20261125093000.1.7F3A@mg.shop.example");
    assert_eq!(receipt.thread_id.as_deref(), Some("CAF7x1k2=first@mail.example.com"));
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /v3/mg.shop.example/messages HTTP/1.1"), "{request}");
    assert!(request.contains("authorization: Basic YXBpOmtleS1maXh0dXJl"), "{request}");
    let form: Vec<(String, String)> =
        form_urlencoded::parse(request.split_once("\r\n\r\n").unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("to"), Some("ann.lee@example.com"));
    assert_eq!(get("h:In-Reply-To"), Some("<CAF7x1k2=second@mail.example.com>"));
    assert_eq!(
        get("h:References"),
        Some("<CAF7x1k2=first@mail.example.com> <CAF7x1k2=second@mail.example.com>")
    );
}
