//! WhatsApp Cloud API connector.
//!
//! - `GET`: the webhook verification handshake: `hub.mode=subscribe` with `hub.verify_token`
//!   equal to the `verify_token` config value is answered with `hub.challenge`.
//! - `POST`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>` is checked on
//!   the raw bytes. `entry[].changes[].value` carries `contacts` (a `wa_id` is the phone number;
//!   a contact may have only a business-scoped `user_id`), `messages` (text, image, document,
//!   audio, video, sticker, location, interactive and button replies; the message id makes a
//!   redelivery recognisable) and `statuses` (sent, delivered, read, failed) that update the
//!   outbound message they name.
//! - Send: `POST {api_base}/{phone_number_id}/messages` with the access token.
//!
//! Config: `app_secret`, `verify_token`, `access_token`, `phone_number_id`, `api_base` (default
//! `https://graph.facebook.com/v21.0`).
use serde::Deserialize;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::{Algorithm, Encoding, secrets_equal, verify};
use switchboard_sdk::{http, time};

/// Business-scoped user ids, for contacts that do not share their phone number.
const USER: &str = "whatsapp:user";

struct WhatsApp;

#[derive(Deserialize)]
struct Notification {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    value: ChangeValue,
}

#[derive(Deserialize, Default)]
struct ChangeValue {
    #[serde(default)]
    contacts: Vec<WaContact>,
    #[serde(default)]
    messages: Vec<WaMessage>,
    #[serde(default)]
    statuses: Vec<WaStatus>,
}

#[derive(Deserialize)]
struct WaContact {
    wa_id: Option<String>,
    user_id: Option<String>,
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct WaMessage {
    id: String,
    from: Option<String>,
    from_user_id: Option<String>,
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
    context: Option<Context>,
    text: Option<Text>,
    image: Option<Media>,
    document: Option<Media>,
    audio: Option<Media>,
    video: Option<Media>,
    sticker: Option<Media>,
    location: Option<Location>,
    interactive: Option<Interactive>,
    button: Option<Button>,
}

#[derive(Deserialize)]
struct Context {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct Media {
    id: String,
    mime_type: Option<String>,
    caption: Option<String>,
    filename: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct Interactive {
    button_reply: Option<Reply>,
    list_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    id: String,
    title: String,
}

#[derive(Deserialize)]
struct Button {
    text: String,
    payload: Option<String>,
}

#[derive(Deserialize)]
struct WaStatus {
    id: String,
    status: String,
    timestamp: String,
    recipient_id: Option<String>,
    recipient_user_id: Option<String>,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    code: Option<i64>,
    title: Option<String>,
}

fn seconds(value: &str) -> Result<i64, ConnectorError> {
    value
        .parse::<i64>()
        .map(time::from_unix_seconds)
        .map_err(|_| ConnectorError::BadRequest(format!("timestamp `{value}` is not Unix seconds")))
}

/// The contact behind a sender: their phone (a `wa_id` is the number without `+`), their
/// business-scoped user id, and their profile name.
fn contact(phone: Option<&str>, user_id: Option<&str>, contacts: &[WaContact]) -> Contact {
    let known = contacts.iter().find(|c| {
        (phone.is_some() && c.wa_id.as_deref() == phone)
            || (user_id.is_some() && c.user_id.as_deref() == user_id)
    });
    let phone = phone.or_else(|| known.and_then(|c| c.wa_id.as_deref()));
    let user_id = user_id.or_else(|| known.and_then(|c| c.user_id.as_deref()));
    let mut contact = Contact::new();
    if let Some(phone) = phone {
        // `wa_id` is the WhatsApp account's own number, international without `+`.
        contact = contact.phone_with(phone, PhoneFormat::International, Provenance::Verified);
    }
    if let Some(user_id) = user_id {
        contact = contact.external(USER, user_id);
    }
    if let Some(name) = known.and_then(|c| c.profile.as_ref()).and_then(|p| p.name.as_deref()) {
        contact = contact.name(name);
    }
    contact
}

fn attachment(media: &Media, default_type: &str) -> Attachment {
    Attachment {
        name: media.filename.clone(),
        content_type: media.mime_type.clone().unwrap_or_else(|| default_type.into()),
        // The Cloud API gives no size in the notification; the media is fetched by id.
        size_bytes: 0,
        url: Some(format!("whatsapp-media:{}", media.id)),
    }
}

fn message_event(message: &WaMessage, contacts: &[WaContact]) -> Result<Event, ConnectorError> {
    let who = contact(message.from.as_deref(), message.from_user_id.as_deref(), contacts);
    if who.identifiers.is_empty() {
        return Err(ConnectorError::BadRequest(format!(
            "message {} has neither `from` nor `from_user_id`",
            message.id
        )));
    }
    let thread = message.from.clone().or_else(|| message.from_user_id.clone()).unwrap_or_default();
    let mut event = Interaction::message("whatsapp", &message.id, who)
        .thread(&thread)
        .at(seconds(&message.timestamp)?);
    let mut attrs: Vec<(&str, String)> = Vec::new();
    let text = match message.kind.as_str() {
        "text" => message.text.as_ref().map(|t| t.body.clone()),
        "image" | "document" | "audio" | "video" | "sticker" => {
            let (item, default_type) = match message.kind.as_str() {
                "image" => (message.image.as_ref(), "image/jpeg"),
                "document" => (message.document.as_ref(), "application/octet-stream"),
                "audio" => (message.audio.as_ref(), "audio/ogg"),
                "video" => (message.video.as_ref(), "video/mp4"),
                _ => (message.sticker.as_ref(), "image/webp"),
            };
            let item = item.ok_or_else(|| {
                ConnectorError::BadRequest(format!(
                    "{} message without its `{}` object",
                    message.kind, message.kind
                ))
            })?;
            event = event.attachment(attachment(item, default_type));
            item.caption.clone()
        }
        "location" => message.location.as_ref().map(|l| {
            let place = [l.name.as_deref(), l.address.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            format!("location {:.6},{:.6} {place}", l.latitude, l.longitude).trim().to_string()
        }),
        "interactive" => message
            .interactive
            .as_ref()
            .and_then(|i| i.button_reply.as_ref().or(i.list_reply.as_ref()))
            .map(|r| {
                attrs.push(("reply_id", r.id.clone()));
                r.title.clone()
            }),
        "button" => message.button.as_ref().map(|b| {
            if let Some(payload) = &b.payload {
                attrs.push(("payload", payload.clone()));
            }
            b.text.clone()
        }),
        other => Some(format!("[{other} message]")),
    };
    for (key, value) in attrs {
        event = event.attr(key, &value);
    }
    if let Some(text) = text {
        event = event.text(&text);
    }
    if let Some(reply_to) = message.context.as_ref().and_then(|c| c.id.as_deref()) {
        event = event.attr("in_reply_to", reply_to);
    }
    Ok(event.attr("whatsapp_type", &message.kind).into())
}

fn status_event(status: &WaStatus, contacts: &[WaContact]) -> Result<Event, ConnectorError> {
    let who =
        contact(status.recipient_id.as_deref(), status.recipient_user_id.as_deref(), contacts);
    if who.identifiers.is_empty() {
        return Err(ConnectorError::BadRequest(format!(
            "status of {} names no recipient",
            status.id
        )));
    }
    let mut event = Interaction::message("whatsapp", &status.id, who)
        .outbound()
        .status(&status.status)
        .at(seconds(&status.timestamp)?);
    if let Some(error) = status.errors.first() {
        event = event.attr(
            "error",
            format!(
                "{} {}",
                error.code.map(|c| c.to_string()).unwrap_or_default(),
                error.title.as_deref().unwrap_or("")
            )
            .trim(),
        );
    }
    Ok(event.into())
}

impl Connector for WhatsApp {
    fn manifest() -> Manifest {
        Manifest::new("whatsapp", "0.2.0", "WhatsApp")
            .channel("whatsapp")
            .namespace(USER)
            .webhook()
            .send()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        if request.method == "GET" {
            let expected = require_config("verify_token")?;
            let query = request.query();
            let token = query.get("hub.verify_token").unwrap_or_default();
            if query.get("hub.mode") != Some("subscribe")
                || !secrets_equal(token.as_bytes(), expected.as_bytes())
            {
                return Err(ConnectorError::Unauthorized(
                    "hub.mode is not subscribe or hub.verify_token does not match".into(),
                ));
            }
            let challenge = query.require("hub.challenge")?.to_string();
            return Ok(WebhookOutcome::respond(
                HttpResponse::text(200, &challenge),
                Vec::<Event>::new(),
            ));
        }
        let secret = require_config("app_secret")?;
        let signature = request
            .header("x-hub-signature-256")
            .and_then(|s| s.strip_prefix("sha256="))
            .ok_or_else(|| {
                ConnectorError::Unauthorized("missing X-Hub-Signature-256: sha256=…".into())
            })?;
        verify(Algorithm::Sha256, secret.as_bytes(), &request.body, signature, Encoding::Hex)?;
        let notification: Notification = request.json()?;
        if notification.object != "whatsapp_business_account" {
            return Err(ConnectorError::BadRequest(format!(
                "object `{}` is not whatsapp_business_account",
                notification.object
            )));
        }
        let mut events = Vec::new();
        for change in
            notification.entry.iter().flat_map(|e| &e.changes).filter(|c| c.field == "messages")
        {
            for message in &change.value.messages {
                events.push(message_event(message, &change.value.contacts)?);
            }
            for status in &change.value.statuses {
                events.push(status_event(status, &change.value.contacts)?);
            }
        }
        Ok(WebhookOutcome::ok(events))
    }

    fn send(message: OutboundMessage) -> Result<Receipt, ConnectorError> {
        let token = require_config("access_token")?;
        let phone_number_id = require_config("phone_number_id")?;
        let base = config("api_base").unwrap_or_else(|| "https://graph.facebook.com/v21.0".into());
        let to = message
            .phones()
            .next()
            .map(|phone| phone.trim_start_matches('+').to_string())
            .ok_or_else(|| {
                ConnectorError::BadRequest(
                    "the customer has no phone number to reach on WhatsApp".into(),
                )
            })?;
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": { "preview_url": false, "body": message.text },
        });
        let url = format!("{}/{phone_number_id}/messages", base.trim_end_matches('/'));
        let reply: Value =
            http::post(&url).bearer(&token).json(&body).send()?.error_for_status()?.json()?;
        let id = reply["messages"][0]["id"].as_str().ok_or_else(|| {
            ConnectorError::Transient(format!(
                "the Cloud API answered without a message id: {reply}"
            ))
        })?;
        let mut receipt = Receipt::new(id);
        receipt.thread_id = Some(to);
        receipt.status = Some("accepted".into());
        Ok(receipt)
    }
}

export_connector!(WhatsApp);
