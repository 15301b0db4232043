//! A provider-style webhook: a JSON body signed with `X-Signature: sha256=<hex HMAC-SHA256 of
//! the raw body>` under the `secret` config value. It becomes a message from the contact, an
//! opt-out when the text is `STOP`, and it can send replies. The version in the manifest comes
//! from the `version` config value, so tests can tell a reloaded component apart.
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::{Algorithm, Encoding, verify};

struct Signed;

#[derive(serde::Deserialize)]
struct Body {
    id: String,
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    text: String,
}

impl Connector for Signed {
    fn manifest() -> Manifest {
        let version = config("version").unwrap_or_else(|| "1.0.0".into());
        Manifest::new("signed", &version, "Signed JSON webhooks").channel("chat").webhook().send()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let secret = require_config("secret")?;
        let signature = request
            .header("x-signature")
            .and_then(|s| s.strip_prefix("sha256="))
            .ok_or_else(|| ConnectorError::Unauthorized("missing X-Signature: sha256=…".into()))?;
        verify(Algorithm::Sha256, secret.as_bytes(), &request.body, signature, Encoding::Hex)?;
        let body: Body = request.json()?;
        // The signed chat vouches for the sender's address and number: replies go there.
        let contact = Contact::new()
            .verified_email(body.email.as_deref().unwrap_or(""))
            .verified_phone(body.phone.as_deref().unwrap_or(""))
            .name(body.name.as_deref().unwrap_or(""));
        if contact.identifiers.is_empty() {
            return Err(ConnectorError::BadRequest(
                "the body has neither `email` nor `phone`".into(),
            ));
        }
        let mut events: Vec<Event> =
            vec![Interaction::message("chat", &body.id, contact.clone()).text(&body.text).into()];
        if body.text.trim().eq_ignore_ascii_case("stop") {
            events.push(
                Consent::new(
                    &format!("{}-consent", body.id),
                    contact,
                    "chat",
                    ConsentState::OptOut,
                )
                .reason("replied STOP")
                .into(),
            );
        }
        let reply =
            json!({ "ok": true, "id": body.id, "version": config("version").unwrap_or_default() });
        Ok(WebhookOutcome::respond(HttpResponse::json(200, &reply), events))
    }

    fn send(message: OutboundMessage) -> Result<Receipt, ConnectorError> {
        let to = message.emails().next().map(str::to_string);
        let to = to.ok_or_else(|| {
            ConnectorError::BadRequest("the customer has no e-mail address".into())
        })?;
        let mut receipt = Receipt::new(&format!("sent-to-{to}-{}", message.text.len()));
        receipt.status = Some("queued".into());
        Ok(receipt)
    }
}

export_connector!(Signed);
