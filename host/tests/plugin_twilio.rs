//! The bundled Twilio connector: Twilio's published signature test vectors, the fixtures in
//! `plugins/twilio/fixtures/` through the real runtime and store, and SMS sending against a
//! local server speaking the Messages API.

mod common;

use switchboard::model::{
    ConsentState, Direction, Event, HttpRequest, Identifier, InteractionKind,
};
use switchboard::runtime::LoadedConnector;
use switchboard_test_artifacts as artifacts;

async fn twilio(token: &str, extra: &[(&str, &str)], allowed: &[&str]) -> LoadedConnector {
    let mut config = vec![("auth_token", token)];
    config.extend_from_slice(extra);
    common::plugin(artifacts::TWILIO, "twilio", &config, allowed).await
}

/// The example of Twilio's "Validating requests" documentation (also the test vector of its
/// helper libraries): auth token `12345`, this URL and these parameters.
#[tokio::test]
async fn twilio_published_test_vectors() {
    let form = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
    let request = |url: &str, signature: &str, content_type: &str, body: &[u8]| HttpRequest {
        method: "POST".into(),
        url: url.into(),
        route: "/myapp.php".into(),
        headers: vec![
            ("X-Twilio-Signature".into(), signature.into()),
            ("Content-Type".into(), content_type.into()),
        ],
        body: body.to_vec(),
        received_at: switchboard::store::now_millis(),
    };
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let form_type = "application/x-www-form-urlencoded";
    let connector = twilio("12345", &[], &[]).await;
    // The signature verifies, so the request reaches routing (which knows no /myapp.php).
    let verified = connector
        .handle_webhook(request(url, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form_type, form.as_bytes()))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&verified), "unsupported", "{verified}");
    let wrong = twilio("54321", &[], &[]).await;
    let refused = wrong
        .handle_webhook(request(url, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form_type, form.as_bytes()))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&refused), "unauthorized");
    // Any parameter changed breaks it.
    let tampered = form.replace("Digits=1234", "Digits=9999");
    let refused = connector
        .handle_webhook(request(
            url,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            form_type,
            tampered.as_bytes(),
        ))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&refused), "unauthorized");
    // The JSON-body variant: the URL carries bodySHA256 and is signed alone.
    let body = br#"{"property": "value", "boolean": true}"#;
    let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    let with_hash = format!("{url}&bodySHA256={hash}");
    let verified = connector
        .handle_webhook(request(
            &with_hash,
            "a9nBmqA0ju/hNViExpshrM61xv4=",
            "application/json",
            body,
        ))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&verified), "unsupported", "{verified}");
    let refused = connector
        .handle_webhook(request(
            &with_hash,
            "a9nBmqA0ju/hNViExpshrM61xv4=",
            "application/json",
            br#"{"property": "other"}"#,
        ))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&refused), "unauthorized", "a body that does not match bodySHA256");
}

#[tokio::test]
async fn sms_voice_and_callback_fixtures() {
    let connector = twilio("fixture-auth-token", &[], &[]).await;
    let run = async |name: &str| connector.handle_webhook(common::fixture("twilio", name)).await;

    let outcome = run("sms-inbound.http").await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&outcome.response.body),
        r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#
    );
    let [Event::Interaction(sms)] = outcome.events.as_slice() else {
        panic!("{:?}", outcome.events)
    };
    assert_eq!(
        (sms.provider_id.as_str(), sms.channel.as_str()),
        ("SM1f0e8ae6ade43cb3c0ce4525424e404f", "sms")
    );
    assert_eq!(sms.contact.identifiers, [Identifier::phone("+33612345678").verified()]);
    assert_eq!(sms.text.as_deref(), Some("Hello, is my order ready?"));

    for (name, state) in
        [("sms-stop.http", ConsentState::OptOut), ("sms-start.http", ConsentState::OptIn)]
    {
        let events = run(name).await.unwrap().events;
        let Some(Event::Consent(consent)) = events.get(1) else { panic!("{name}: {events:?}") };
        assert_eq!((consent.state, consent.channel.as_str()), (state, "sms"), "{name}");
    }

    let mms = run("mms.http").await.unwrap().events;
    let Event::Interaction(mms) = &mms[0] else { panic!() };
    let types: Vec<_> = mms.attachments.iter().map(|a| a.content_type.as_str()).collect();
    assert_eq!(types, ["image/jpeg", "video/mp4"]);

    // Signed with `:443` in the URL, received without it: still valid.
    assert!(run("sms-signed-with-port.http").await.is_ok());

    let ringing = run("voice-incoming.http").await.unwrap();
    let twiml = String::from_utf8_lossy(&ringing.response.body).to_string();
    assert!(
        twiml.contains("<Response><Say>Thank you for calling. Please hold.</Say></Response>"),
        "{twiml}"
    );
    assert!(
        ringing
            .response
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v.starts_with("text/xml"))
    );
    let Event::Interaction(call) = &ringing.events[0] else { panic!() };
    assert_eq!((call.kind, call.status.as_deref()), (InteractionKind::Call, Some("ringing")));
    let completed = run("voice-completed.http").await.unwrap().events;
    let Event::Interaction(done) = &completed[0] else { panic!() };
    assert_eq!(done.provider_id, call.provider_id, "status callbacks amend the same call");
    assert_eq!(done.status.as_deref(), Some("completed"));
    assert!(done.attributes.iter().any(|a| a.key == "duration_seconds" && a.value == "185"));
    assert!(
        done.attachments[0]
            .url
            .as_deref()
            .unwrap()
            .contains("/Recordings/RE2c9b8b7f1e0d4c3b2a1f0e9d8c7b6a5f")
    );
    assert_eq!(done.occurred_at, 1_795_598_142_000);

    let status = run("sms-status-delivered.http").await.unwrap().events;
    let Event::Interaction(status) = &status[0] else { panic!() };
    assert_eq!(
        (status.direction, status.status.as_deref()),
        (Direction::Outbound, Some("delivered"))
    );
    assert_eq!(
        status.contact.identifiers,
        [Identifier::phone("+33612345678").declared()],
        "the recipient is the customer, as the shop had their number"
    );

    let callback = run("callback-request.http").await.unwrap().events;
    let Event::Interaction(callback) = &callback[0] else { panic!() };
    assert_eq!(callback.kind, InteractionKind::CallbackRequest);
    assert_eq!(callback.contact.identifiers, [Identifier::phone("06 12 34 56 78").declared()]);
    assert_eq!(callback.text.as_deref(), Some("call back at 2026-11-26T17:30+01:00"));
    let again = run("callback-request.http").await.unwrap().events;
    assert_eq!(
        again[0].provider_id(),
        callback.provider_id,
        "a resubmitted form is the same request"
    );
}

#[tokio::test]
async fn bad_input_is_refused() {
    let connector = twilio("fixture-auth-token", &[], &[]).await;
    for (name, expected) in
        [("wrong-signature.http", "unauthorized"), ("callback-missing-phone.http", "bad_request")]
    {
        let error = connector.handle_webhook(common::fixture("twilio", name)).await.unwrap_err();
        assert_eq!(common::kind(&error), expected, "{name}: {error}");
    }
    let mut unsigned = common::fixture("twilio", "sms-inbound.http");
    unsigned.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("x-twilio-signature"));
    assert_eq!(
        common::kind(&connector.handle_webhook(unsigned).await.unwrap_err()),
        "unauthorized"
    );
    // The URL is part of what is signed: the same request at another address is refused.
    let mut moved = common::fixture("twilio", "sms-inbound.http");
    moved.url = "https://evil.example.com/hooks/twilio/sms".into();
    assert_eq!(common::kind(&connector.handle_webhook(moved).await.unwrap_err()), "unauthorized");
}

#[tokio::test]
async fn a_call_a_message_and_an_opt_out_in_the_store() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let connector = twilio("fixture-auth-token", &[], &[]).await;
    for name in [
        "voice-incoming.http",
        "voice-completed.http",
        "sms-inbound.http",
        "sms-inbound.http",
        "sms-stop.http",
        "callback-request.http",
    ] {
        let outcome = connector.handle_webhook(common::fixture("twilio", name)).await.unwrap();
        store.ingest("twilio", &outcome.events).await.unwrap();
    }
    let customers = store.find_customers(&Default::default()).await.unwrap();
    assert_eq!(
        customers.len(),
        1,
        "caller, texter and callback form are one person: {customers:?}"
    );
    let timeline = store.timeline(customers[0].id, None, 50).await.unwrap();
    assert_eq!(timeline.entries.len(), 4, "one call (amended), two messages, one callback request");
    let consent = store.current_consent(customers[0].id, "sms").await.unwrap().unwrap();
    assert_eq!(consent.state, "opt_out");
}

#[tokio::test]
async fn send_sms_through_the_messages_api() {
    let reply = r#"{"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","api_version":"2010-04-01","body":"Your parcel is out for delivery","date_created":"Wed, 25 Nov 2026 09:20:00 +0000","direction":"outbound-api","from":"+33755512345","sid":"SM7f0e8ae6ade43cb3c0ce4525424e4055","status":"queued","to":"+33612345678","uri":"/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/SM7f0e8ae6ade43cb3c0ce4525424e4055.json"}"#;
    let (base, server) = common::one_shot_api(201, reply).await;
    let connector = twilio(
        "fixture-auth-token",
        &[
            ("account_sid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("from", "+33755512345"),
            ("api_base", &base),
        ],
        &[&base],
    )
    .await;
    let receipt = connector
        .send(common::outbound(
            vec![Identifier::Phone { value: "+33612345678".into() }],
            "Your parcel is out for delivery",
        ))
        .await
        .unwrap();
    assert_eq!(
        (receipt.provider_id.as_str(), receipt.status.as_deref()),
        ("SM7f0e8ae6ade43cb3c0ce4525424e4055", Some("queued"))
    );
    let request = server.await.unwrap();
    assert!(
        request.starts_with(
            "POST /2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages.json HTTP/1.1"
        ),
        "{request}"
    );
    // Basic auth with the account SID and auth token.
    assert!(request.contains("authorization: Basic QUNhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYTpmaXh0dXJlLWF1dGgtdG9rZW4="), "{request}");
    let body = request.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(body, "To=%2B33612345678&From=%2B33755512345&Body=Your+parcel+is+out+for+delivery");
}
