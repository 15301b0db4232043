//! Twilio-compatible telephony and SMS connector.
//!
//! Routes below `/hooks/{id}`:
//! - `/voice`: incoming calls and call status callbacks (`CallSid`, `From`, `To`, `CallStatus`,
//!   `Direction`, `CallDuration`, `RecordingUrl`) → one call interaction per `CallSid`, amended as
//!   its status changes; an incoming call is answered with TwiML.
//! - `/sms`: incoming SMS/MMS (`MessageSid`, `Body`, `NumMedia`, `MediaUrlN`,
//!   `MediaContentTypeN`) and message status callbacks; `STOP`-family keywords record an opt-out
//!   on `sms`, `START`-family keywords an opt-in.
//! - `/callback`: a callback request from the shop's web form (`name`, `phone`,
//!   `preferred_time`, optional `request_id`), not signed by Twilio.
//!
//! Twilio's requests are checked against `X-Twilio-Signature`: base64 HMAC-SHA1 under the auth
//! token of the full URL followed by every POST parameter, sorted by name, as name + value; for
//! JSON bodies, of the URL alone, whose `bodySHA256` must be the body's hash. The URL is tried
//! with and without the default port, as Twilio signs either form.
//!
//! Config: `account_sid`, `auth_token`, `from` (the sending number), `api_base` (default
//! `https://api.twilio.com`), `voice_greeting`.
use switchboard_sdk::form::Form;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::{Algorithm, Encoding, sha256_hex, verify};
use switchboard_sdk::{http, time};

struct Twilio;

const OPT_OUT: &[&str] =
    &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"];
const OPT_IN: &[&str] = &["START", "YES", "UNSTOP", "OPTIN"];

/// The URL with its default port toggled: `https://h/x` ↔ `https://h:443/x`.
fn toggle_default_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    match authority.rsplit_once(':') {
        Some((host, port)) if port == default => Some(format!("{scheme}://{host}{tail}")),
        Some(_) => None,
        None => Some(format!("{scheme}://{authority}:{default}{tail}")),
    }
}

fn check_signature(request: &HttpRequest, form: &Form) -> Result<(), ConnectorError> {
    let token = require_config("auth_token")?;
    let signature = request
        .header("x-twilio-signature")
        .ok_or_else(|| ConnectorError::Unauthorized("missing X-Twilio-Signature".into()))?;
    let query = request.query();
    let signed_params = match query.get("bodySHA256") {
        Some(expected) => {
            if sha256_hex(&request.body) != expected.to_ascii_lowercase() {
                return Err(ConnectorError::Unauthorized(
                    "bodySHA256 does not match the body".into(),
                ));
            }
            String::new()
        }
        None => form.sorted().into_iter().map(|(name, value)| format!("{name}{value}")).collect(),
    };
    let urls = std::iter::once(request.url.clone()).chain(toggle_default_port(&request.url));
    for url in urls {
        let message = format!("{url}{signed_params}");
        if verify(
            Algorithm::Sha1,
            token.as_bytes(),
            message.as_bytes(),
            signature,
            Encoding::Base64,
        )
        .is_ok()
        {
            return Ok(());
        }
    }
    Err(ConnectorError::Unauthorized("X-Twilio-Signature does not match".into()))
}

fn twiml(body: &str) -> HttpResponse {
    HttpResponse::new(200)
        .header("content-type", "text/xml; charset=utf-8")
        .body(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>"))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn voice(form: &Form) -> Result<WebhookOutcome, ConnectorError> {
    let sid = form.require("CallSid")?;
    let status = form.get("CallStatus").unwrap_or("unknown");
    let direction = form.get("Direction").unwrap_or("inbound");
    let outbound = direction.starts_with("outbound");
    // The customer is the caller of an incoming call and the called party of an outgoing one.
    let customer = if outbound { form.require("To")? } else { form.require("From")? };
    let mut call = Interaction::call(
        "voice",
        sid,
        Contact::new()
            .phone_with(customer, PhoneFormat::AsWritten, provenance(outbound))
            .name(form.get("CallerName").unwrap_or("")),
    )
    .thread(sid)
    .status(status)
    .attr("direction", direction);
    if outbound {
        call = call.outbound();
    }
    if let Some(duration) = form.get("CallDuration") {
        call = call.attr("duration_seconds", duration);
    }
    if let Some(recording) = form.get("RecordingUrl") {
        call = call.attr("recording_url", recording).attachment(Attachment {
            name: form.get("RecordingSid").map(str::to_string),
            content_type: "audio/wav".into(),
            size_bytes: 0,
            url: Some(recording.into()),
        });
    }
    if let Some(timestamp) = form.get("Timestamp") {
        call = call.at(time::parse_rfc2822(timestamp)?);
    }
    let response = if status == "ringing" && !outbound {
        let greeting = config("voice_greeting")
            .unwrap_or_else(|| "Thank you for calling. Please hold.".into());
        twiml(&format!("<Say>{}</Say>", xml_escape(&greeting)))
    } else {
        twiml("")
    };
    Ok(WebhookOutcome::respond(response, [call]))
}

fn sms(form: &Form) -> Result<WebhookOutcome, ConnectorError> {
    let sid = form
        .get("MessageSid")
        .or_else(|| form.get("SmsSid"))
        .ok_or_else(|| ConnectorError::BadRequest("missing form field `MessageSid`".into()))?;
    let from = form.require("From")?;
    let to = form.require("To")?;
    let status = form.get("MessageStatus").or_else(|| form.get("SmsStatus")).unwrap_or("received");
    let outbound = !matches!(status, "received" | "receiving");
    let customer = if outbound { to } else { from };
    let contact = Contact::new().phone_with(customer, PhoneFormat::AsWritten, provenance(outbound));
    let mut message =
        Interaction::message("sms", sid, contact.clone()).thread(customer).status(status);
    if outbound {
        // A status callback for a message the shop sent: it amends that message.
        return Ok(WebhookOutcome::respond(twiml(""), [message.outbound()]));
    }
    let body = form.get("Body").unwrap_or("");
    message = message.text(body);
    let media: usize = form
        .get("NumMedia")
        .unwrap_or("0")
        .parse()
        .map_err(|_| ConnectorError::BadRequest("NumMedia is not a number".into()))?;
    for n in 0..media.min(10) {
        if let Some(url) = form.get(&format!("MediaUrl{n}")) {
            message = message.attachment(Attachment {
                name: None,
                content_type: form
                    .get(&format!("MediaContentType{n}"))
                    .unwrap_or("application/octet-stream")
                    .into(),
                size_bytes: 0,
                url: Some(url.into()),
            });
        }
    }
    let mut events: Vec<Event> = vec![message.into()];
    let keyword = body.trim().to_ascii_uppercase();
    let consent = if OPT_OUT.contains(&keyword.as_str()) {
        Some(ConsentState::OptOut)
    } else if OPT_IN.contains(&keyword.as_str()) {
        Some(ConsentState::OptIn)
    } else {
        None
    };
    if let Some(state) = consent {
        events.push(
            Consent::new(&format!("{sid}:consent"), contact, "sms", state)
                .reason(&format!("replied {keyword}"))
                .into(),
        );
    }
    Ok(WebhookOutcome::respond(twiml(""), events))
}

fn callback(request: &HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
    let form = request.form()?;
    let phone = form.require("phone")?.trim();
    if phone.chars().filter(char::is_ascii_digit).count() < 6 {
        return Err(ConnectorError::BadRequest(format!("`{phone}` is not a phone number")));
    }
    let name = form.get("name").unwrap_or("");
    let preferred = form.get("preferred_time").unwrap_or("");
    let id = match form.get("request_id") {
        Some(id) => id.to_string(),
        // A resubmitted form is the same request.
        None => format!(
            "callback-{}",
            &sha256_hex(format!("{phone}|{name}|{preferred}").as_bytes())[..16]
        ),
    };
    let mut event = Interaction::new(
        InteractionKind::CallbackRequest,
        "voice",
        &id,
        Contact::new().phone(phone).name(name),
    );
    if !preferred.is_empty() {
        event = event.text(&format!("call back at {preferred}")).attr("preferred_time", preferred);
    }
    let body = json!({ "ok": true, "request_id": id });
    Ok(WebhookOutcome::respond(HttpResponse::json(200, &body), [event]))
}

/// Twilio vouches for the number an SMS or a call came from; the number the shop dialled or
/// wrote to is only what the shop had on file.
fn provenance(outbound: bool) -> Provenance {
    if outbound { Provenance::Declared } else { Provenance::Verified }
}

impl Connector for Twilio {
    fn manifest() -> Manifest {
        Manifest::new("twilio", "0.2.0", "Twilio voice and SMS")
            .channel("sms")
            .channel("voice")
            .webhook()
            .send()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        if request.route == "/callback" {
            return callback(&request);
        }
        if request.method != "POST" {
            return Err(ConnectorError::BadRequest(format!(
                "Twilio posts its webhooks; got {}",
                request.method
            )));
        }
        let is_json = request.header("content-type").is_some_and(|c| c.contains("json"));
        let form = if is_json { Form::default() } else { request.form()? };
        check_signature(&request, &form)?;
        match request.route.as_str() {
            "/voice" | "/voice/status" => voice(&form),
            "/sms" | "/sms/status" => sms(&form),
            other => Err(ConnectorError::Unsupported(format!(
                "no Twilio route `{other}`; use /voice, /sms or /callback"
            ))),
        }
    }

    fn send(message: OutboundMessage) -> Result<Receipt, ConnectorError> {
        let sid = require_config("account_sid")?;
        let token = require_config("auth_token")?;
        let from = require_config("from")?;
        let base = config("api_base").unwrap_or_else(|| "https://api.twilio.com".into());
        let to =
            message.phones().next().map(str::to_string).ok_or_else(|| {
                ConnectorError::BadRequest("the customer has no phone number".into())
            })?;
        let url = format!("{}/2010-04-01/Accounts/{sid}/Messages.json", base.trim_end_matches('/'));
        let reply: Value = http::post(&url)
            .basic_auth(&sid, &token)
            .form([("To", to.as_str()), ("From", from.as_str()), ("Body", message.text.as_str())])
            .send()?
            .error_for_status()?
            .json()?;
        let message_sid = reply["sid"].as_str().ok_or_else(|| {
            ConnectorError::Transient(format!("Twilio answered without a sid: {reply}"))
        })?;
        let mut receipt = Receipt::new(message_sid);
        receipt.thread_id = Some(to);
        receipt.status = reply["status"].as_str().map(str::to_string);
        Ok(receipt)
    }
}

export_connector!(Twilio);
