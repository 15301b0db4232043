//! __NAME__ connector for Switchboard.
//!
//! - Webhook: the provider POSTs one message as JSON, signed with HMAC-SHA256 of the raw body
//!   under the `webhook_secret` config value, in `X-Signature: sha256=<hex>`; the message's
//!   `timestamp` must be within `tolerance_secs` (default 300) of when the host received it.
//!   It becomes an inbound message from `__ID__:user:<from.id>`.
//! - Send: POST `{api_base}/v1/messages` with `Authorization: Bearer {api_token}`.
//!
//! Config: `webhook_secret`, `api_token`, `api_base` (default `https://api.__ID__.example`),
//! `tolerance_secs`. Outbound hosts the operator lists in `allowed_hosts`: `api_base`.
//!
//! Build: `switchboard plugin build`; test: `cargo test` (natively, with the SDK's mock host)
//! and `switchboard plugin test` (in the real sandbox) — see README.md.

use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::{Algorithm, Encoding};

/// The namespace of the provider's user ids (declared in the manifest: this connector speaks
/// for it, and replies to its ids go out through it).
const USER: &str = "__ID__:user";

pub struct __TYPE__;

/// The provider's webhook body.
#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Incoming {
    id: String,
    from: Sender,
    text: String,
    /// Unix seconds.
    timestamp: i64,
}

#[derive(Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Sender {
    /// Providers' ids are often 64-bit integers: kept as written, never as a float.
    #[serde(deserialize_with = "id_as_text")]
    id: String,
    name: Option<String>,
}

/// An id sent as a number or a string, as text.
fn id_as_text<'de, D: switchboard_sdk::serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use switchboard_sdk::serde::Deserialize as _;
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(switchboard_sdk::serde::de::Error::custom(format!("`{other}` is not an id"))),
    }
}

impl Connector for __TYPE__ {
    fn manifest() -> Manifest {
        Manifest::new("__ID__", "0.1.0", "__NAME__").channel("__ID__").namespace(USER).webhook().send()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let secret = require_config("webhook_secret")?;
        signature::verify_body(
            &request,
            "X-Signature",
            "sha256=",
            Algorithm::Sha256,
            secret.as_bytes(),
            Encoding::Hex,
        )?;
        let incoming: Incoming = request.json()?;
        // The time the host received the request (a replay of a kept request reads the
        // original time), so a captured request cannot be replayed later by someone else.
        let tolerance: i64 = config_or("tolerance_secs", 300)?;
        let age = time::now_millis() / 1000 - incoming.timestamp;
        if age.abs() > tolerance {
            return Err(ConnectorError::Unauthorized(format!(
                "the message is {age} s old, outside the {tolerance} s window"
            )));
        }
        let mut contact = Contact::new().external(USER, &incoming.from.id);
        if let Some(name) = &incoming.from.name {
            contact = contact.name(name);
        }
        let message = Interaction::message("__ID__", &incoming.id, contact)
            .text(&incoming.text)
            .at(time::from_unix_seconds(incoming.timestamp));
        Ok(WebhookOutcome::ok([message]))
    }

    fn send(message: OutboundMessage) -> Result<Receipt, ConnectorError> {
        let token = require_config("api_token")?;
        let base = config("api_base").unwrap_or_else(|| "https://api.__ID__.example".into());
        let to = message
            .external_ids(USER)
            .next()
            .ok_or_else(|| ConnectorError::BadRequest("the customer has no __NAME__ user id".into()))?
            .to_string();
        let reply: Value = http::post(&format!("{}/v1/messages", base.trim_end_matches('/')))
            .bearer(&token)
            .json(&json!({ "to": to, "text": message.text }))
            .send()?
            .error_for_status()?
            .json()?;
        let id = reply["id"]
            .as_str()
            .ok_or_else(|| ConnectorError::Transient(format!("__NAME__ answered no message id: {reply}")))?;
        Ok(Receipt::new(id).thread(&to).status("sent"))
    }
}

export_connector!(__TYPE__);

/// Native unit tests: `cargo test`, with the SDK's mock host (config, clock, outbound HTTP).
#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::testing::{MockHost, recorded};

    /// When the fixture was recorded: its signature window is checked against this time.
    const RECEIVED: i64 = __FIXTURE_TIME_MS__;

    #[test]
    fn a_signed_message_becomes_an_inbound_message() {
        let _host = MockHost::new().config("webhook_secret", "fixture-secret").now(RECEIVED).install();
        let outcome = __TYPE__::handle_webhook(recorded(include_str!("../fixtures/message.http"))).unwrap();
        assert_eq!(outcome.events.len(), 1);
        let Event::Interaction(message) = &outcome.events[0] else { panic!("{outcome:?}") };
        assert_eq!(message.text.as_deref(), Some("Hello, is my order on its way?"));
        // The 64-bit id is exact.
        assert!(format!("{:?}", message.contact).contains("9007199254740993123"));
    }

    #[test]
    fn a_wrong_signature_or_an_old_message_is_refused() {
        let _host = MockHost::new().config("webhook_secret", "another-secret").now(RECEIVED).install();
        let wrong = __TYPE__::handle_webhook(recorded(include_str!("../fixtures/message.http")));
        assert!(matches!(wrong, Err(ConnectorError::Unauthorized(_))), "{wrong:?}");
        drop(_host);
        let host = MockHost::new().config("webhook_secret", "fixture-secret").now(RECEIVED).install();
        host.set_now(RECEIVED + 3_600_000);
        let late = __TYPE__::handle_webhook(recorded(include_str!("../fixtures/message.http")));
        assert!(matches!(late, Err(ConnectorError::Unauthorized(m)) if m.contains("window")));
    }

    #[test]
    fn a_reply_goes_to_the_users_id() {
        let host = MockHost::new()
            .config("api_token", "t-1")
            .respond("POST", "https://api.__ID__.example/v1/messages", 200, r#"{"id": "out-1"}"#)
            .install();
        let message = OutboundMessage {
            to: vec![Identifier::external(USER, "9007199254740993123")],
            subject: None,
            text: "It left this morning.".into(),
            thread_id: None,
            in_reply_to: None,
            references: vec![],
            attributes: vec![],
        };
        let receipt = __TYPE__::send(message).unwrap();
        assert_eq!(receipt.provider_id, "out-1");
        let sent = host.requests();
        assert_eq!(sent[0].header("authorization"), Some("Bearer t-1"));
        let body: Value = switchboard_sdk::serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(body, json!({"to": "9007199254740993123", "text": "It left this morning."}));
    }
}
