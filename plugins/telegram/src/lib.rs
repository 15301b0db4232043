//! Telegram Bot API connector.
//!
//! - Webhook: Telegram sends one `Update` per request with the secret given to `setWebhook` in
//!   `X-Telegram-Bot-Api-Secret-Token`; it must equal the `secret_token` config value.
//! - `message` and `edited_message` become messages (an edit amends the message it edits: both
//!   carry the provider id `{chat_id}:{message_id}`, and a redelivered update changes nothing);
//!   `callback_query` becomes a message carrying the button's data; a shared `contact` of the
//!   sender adds their phone number beside `telegram:user:<id>`; `/start` and `/stop` record
//!   consent on the `telegram` channel.
//! - Send: `sendMessage` to the customer's Telegram user id (a private chat has the user's id).
//!
//! Config: `secret_token`, `bot_token`, `api_base` (default `https://api.telegram.org`).
use serde::Deserialize;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::secrets_equal;
use switchboard_sdk::{http, time};

/// Telegram's user id namespace.
const USER: &str = "telegram:user";

struct Telegram;

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    message: Option<Message>,
    edited_message: Option<Message>,
    callback_query: Option<CallbackQuery>,
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
    from: Option<User>,
    chat: Chat,
    date: i64,
    text: Option<String>,
    caption: Option<String>,
    contact: Option<SharedContact>,
    photo: Option<Vec<PhotoSize>>,
    document: Option<Document>,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    #[serde(default)]
    is_bot: bool,
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
    language_code: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

#[derive(Deserialize)]
struct SharedContact {
    phone_number: String,
    first_name: String,
    last_name: Option<String>,
    user_id: Option<i64>,
}

#[derive(Deserialize)]
struct PhotoSize {
    file_id: String,
    file_size: Option<u64>,
}

#[derive(Deserialize)]
struct Document {
    file_id: String,
    file_name: Option<String>,
    mime_type: Option<String>,
    file_size: Option<u64>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    message: Option<CallbackMessage>,
    data: Option<String>,
}

#[derive(Deserialize)]
struct CallbackMessage {
    message_id: i64,
    chat: Chat,
}

fn contact_of(user: &User) -> Contact {
    let name = match &user.last_name {
        Some(last) => format!("{} {last}", user.first_name),
        None => user.first_name.clone(),
    };
    let mut contact = Contact::new()
        .external(USER, &user.id.to_string())
        .name(&name)
        .names(&user.first_name, user.last_name.as_deref().unwrap_or(""))
        .locale(user.language_code.as_deref().unwrap_or(""));
    if let Some(username) = &user.username {
        contact = contact.attr("telegram_username", username);
    }
    contact
}

fn message_events(message: &Message, edited: bool) -> Result<Vec<Event>, ConnectorError> {
    let from = message.from.as_ref().ok_or_else(|| {
        ConnectorError::BadRequest(
            "the message has no `from` user (channel posts are not handled)".into(),
        )
    })?;
    if from.is_bot {
        return Ok(Vec::new());
    }
    let mut contact = contact_of(from);
    if let Some(shared) = &message.contact
        && shared.user_id == Some(from.id)
    {
        // The sender shared their own phone number (Telegram's button sends the account's
        // number, in international digits without `+`): it identifies them.
        contact = contact.phone_with(
            &shared.phone_number,
            PhoneFormat::International,
            Provenance::Verified,
        );
    }
    let provider_id = format!("{}:{}", message.chat.id, message.message_id);
    let at = time::from_unix_seconds(message.date);
    let text = message.text.clone().or_else(|| message.caption.clone()).or_else(|| {
        message.contact.as_ref().map(|c| {
            format!(
                "shared contact {} {} {}",
                c.first_name,
                c.last_name.as_deref().unwrap_or(""),
                c.phone_number
            )
        })
    });
    let mut interaction = Interaction::message("telegram", &provider_id, contact.clone())
        .thread(&message.chat.id.to_string())
        .at(at);
    if let Some(text) = &text {
        interaction = interaction.text(text);
    }
    if edited {
        interaction = interaction.status("edited");
    }
    if let Some(photos) = &message.photo
        && let Some(largest) = photos.last()
    {
        interaction = interaction.attachment(Attachment {
            name: None,
            content_type: "image/jpeg".into(),
            size_bytes: largest.file_size.unwrap_or(0),
            url: Some(format!("telegram-file:{}", largest.file_id)),
        });
    }
    if let Some(document) = &message.document {
        interaction = interaction.attachment(Attachment {
            name: document.file_name.clone(),
            content_type: document
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            size_bytes: document.file_size.unwrap_or(0),
            url: Some(format!("telegram-file:{}", document.file_id)),
        });
    }
    let mut events: Vec<Event> = vec![interaction.into()];
    let command = text.as_deref().unwrap_or("").split_whitespace().next().unwrap_or("");
    let command = command.split('@').next().unwrap_or("");
    let consent = match command {
        "/start" => Some((ConsentState::OptIn, "sent /start")),
        "/stop" => Some((ConsentState::OptOut, "sent /stop")),
        _ => None,
    };
    if let Some((state, reason)) = consent
        && !edited
    {
        let mut consent =
            Consent::new(&format!("{provider_id}:consent"), contact, "telegram", state)
                .reason(reason);
        consent.occurred_at = at;
        events.push(consent.into());
    }
    Ok(events)
}

impl Connector for Telegram {
    fn manifest() -> Manifest {
        Manifest::new("telegram", "0.2.0", "Telegram")
            .channel("telegram")
            .namespace(USER)
            .webhook()
            .send()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let secret = require_config("secret_token")?;
        let presented = request.header("x-telegram-bot-api-secret-token").ok_or_else(|| {
            ConnectorError::Unauthorized("missing X-Telegram-Bot-Api-Secret-Token".into())
        })?;
        if !secrets_equal(presented.as_bytes(), secret.as_bytes()) {
            return Err(ConnectorError::Unauthorized(
                "X-Telegram-Bot-Api-Secret-Token does not match".into(),
            ));
        }
        if request.method != "POST" {
            return Err(ConnectorError::BadRequest(format!(
                "Telegram posts updates; got {}",
                request.method
            )));
        }
        let update: Update = request.json()?;
        let events = if let Some(message) = &update.message {
            message_events(message, false)?
        } else if let Some(message) = &update.edited_message {
            message_events(message, true)?
        } else if let Some(query) = &update.callback_query {
            let (thread, provider_id) = match &query.message {
                Some(m) => (
                    m.chat.id.to_string(),
                    format!("callback:{}:{}:{}", m.chat.id, m.message_id, query.id),
                ),
                None => (query.from.id.to_string(), format!("callback:{}", query.id)),
            };
            let interaction =
                Interaction::message("telegram", &provider_id, contact_of(&query.from))
                    .thread(&thread)
                    .text(query.data.as_deref().unwrap_or(""))
                    .attr("telegram_update_id", &update.update_id.to_string())
                    .attr("kind", "callback_query");
            vec![interaction.into()]
        } else {
            // Other update kinds (polls, chat member changes…) carry no customer message.
            Vec::new()
        };
        Ok(WebhookOutcome::ok(events))
    }

    fn send(message: OutboundMessage) -> Result<Receipt, ConnectorError> {
        let token = require_config("bot_token")?;
        let base = config("api_base").unwrap_or_else(|| "https://api.telegram.org".into());
        let chat_id = message
            .external_ids(USER)
            .next()
            .map(str::to_string)
            .or_else(|| message.thread_id.clone())
            .ok_or_else(|| {
                ConnectorError::BadRequest("the customer has no Telegram user id".into())
            })?;
        let text = match &message.subject {
            Some(subject) => format!("{subject}\n\n{}", message.text),
            None => message.text.clone(),
        };
        let body = json!({ "chat_id": chat_id, "text": text });
        let response =
            http::post(&format!("{}/bot{token}/sendMessage", base.trim_end_matches('/')))
                .json(&body)
                .send()?;
        let reply: Value = response.json()?;
        if reply["ok"] != Value::Bool(true) {
            let description = reply["description"].as_str().unwrap_or("unknown error");
            return Err(match response.status {
                401 | 403 => {
                    ConnectorError::Config(format!("Telegram refused the bot token: {description}"))
                }
                429 | 500..=599 => ConnectorError::Transient(format!("Telegram: {description}")),
                _ => ConnectorError::BadRequest(format!("Telegram: {description}")),
            });
        }
        let message_id = reply["result"]["message_id"].as_i64().unwrap_or(0);
        let mut receipt = Receipt::new(&format!("{chat_id}:{message_id}"));
        receipt.thread_id = Some(chat_id);
        receipt.status = Some("sent".into());
        if let Some(date) = reply["result"]["date"].as_i64() {
            receipt.sent_at = time::from_unix_seconds(date);
        }
        Ok(receipt)
    }
}

export_connector!(Telegram);

/// Native unit tests (`cargo test -p switchboard-plugin-telegram`): the connector's logic with
/// the SDK's mock host, no sandbox.
#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::testing::{MockHost, recorded};

    #[test]
    fn a_message_with_the_right_secret_becomes_an_interaction() {
        let _host = MockHost::new().config("secret_token", "fixture-secret-token").install();
        let outcome =
            Telegram::handle_webhook(recorded(include_str!("../fixtures/message.http"))).unwrap();
        assert_eq!(outcome.events.len(), 1);
        let Event::Interaction(message) = &outcome.events[0] else { panic!("{outcome:?}") };
        let telegram_user = |point: &ContactPoint| matches!(&point.identifier, Identifier::External(id) if id.namespace == USER);
        assert!(message.contact.identifiers.iter().any(telegram_user), "{message:?}");
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let _host = MockHost::new().config("secret_token", "fixture-secret-token").install();
        let refused =
            Telegram::handle_webhook(recorded(include_str!("../fixtures/wrong-secret.http")));
        assert!(matches!(refused, Err(ConnectorError::Unauthorized(_))), "{refused:?}");
    }

    #[test]
    fn a_reply_goes_to_send_message_with_the_users_chat() {
        let host = MockHost::new()
            .config("bot_token", "123:abc")
            .config("api_base", "https://telegram.test")
            .respond(
                "POST",
                "https://telegram.test/bot123:abc/sendMessage",
                200,
                r#"{"ok": true, "result": {"message_id": 77, "date": 1795600800}}"#,
            )
            .install();
        let mut message = OutboundMessage {
            to: vec![Identifier::external(USER, "111111111")],
            subject: None,
            text: "Your parcel left this morning.".into(),
            thread_id: None,
            in_reply_to: None,
            references: vec![],
            attributes: vec![],
        };
        let receipt = Telegram::send(message.clone()).unwrap();
        assert_eq!(receipt.provider_id, "111111111:77");
        assert_eq!(receipt.sent_at, 1_795_600_800_000);
        let sent = host.requests();
        assert_eq!(sent.len(), 1);
        let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(body, json!({"chat_id": "111111111", "text": "Your parcel left this morning."}));
        // Telegram's refusal of the token is a config error, not a retry.
        drop(host);
        let _host = MockHost::new()
            .config("bot_token", "123:abc")
            .config("api_base", "https://telegram.test")
            .respond(
                "POST",
                "https://telegram.test/",
                401,
                r#"{"ok": false, "description": "Unauthorized"}"#,
            )
            .install();
        message.text = "again".into();
        assert!(matches!(Telegram::send(message), Err(ConnectorError::Config(_))));
    }
}
