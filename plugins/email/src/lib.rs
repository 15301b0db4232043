//! E-mail connector.
//!
//! Inbound, by route below `/hooks/{id}`:
//! - `/mailgun`: Mailgun's `forward()` to a URL ending in `mime`: multipart form with
//!   `body-mime`, signed by `signature` = hex HMAC-SHA256(`mailgun_signing_key`, `timestamp` +
//!   `token`); a timestamp older than `mailgun_max_age_secs` (default 120) or a token seen before
//!   is refused.
//! - `/sendgrid`: SendGrid Inbound Parse with "POST the raw, full MIME message" (`email` field).
//!   SendGrid signs nothing: protect the URL with basic auth (`sendgrid_username`,
//!   `sendgrid_password`), which is then required.
//! - `/postmark`: Postmark's inbound JSON (`FromFull`, `Subject`, `TextBody`, `HtmlBody`,
//!   `Headers`, `MessageID`, `Attachments`), authenticated by basic auth (`postmark_username`,
//!   `postmark_password`).
//!
//! MIME is parsed with `mail-parser` (encoded words, quoted-printable and base64, charsets,
//! multipart/alternative, attachments: name, type and size recorded, content not stored).
//! Threads follow `References`, `In-Reply-To` and `Message-ID`. Auto-replies and delivery status
//! notifications are recorded with status `auto-reply` or `bounce`, not as customer messages.
//!
//! Outbound: Mailgun's `messages` API (`api_base`, `api_key`, `domain`, `from`), with
//! `In-Reply-To` and `References` when answering a thread.
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use serde::Deserialize;
use switchboard_sdk::host::kv;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::{Algorithm, Encoding, secrets_equal, verify};
use switchboard_sdk::{http, time};

struct Email;

/// Mailgun tokens seen within the replay window, persisted as `{token: unix seconds}`.
const SEEN_TOKENS: &str = "mailgun-seen-tokens";

/// A message as every ingress route reports it.
struct Mail {
    message_id: Option<String>,
    from_address: String,
    from_name: Option<String>,
    subject: Option<String>,
    text: Option<String>,
    date: Option<i64>,
    in_reply_to: Option<String>,
    references: Vec<String>,
    attachments: Vec<Attachment>,
    automatic: Option<&'static str>,
}

fn trim_id(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').to_string()
}

/// Phone numbers written in the signature of a message: the lines after the `-- ` delimiter,
/// or the last four lines, that hold a number and nothing else but a label (`Tel:`, `Mobile`).
/// The host normalizes them and treats them as weak identifiers: a phone alone never merges
/// customers whose e-mail addresses differ.
fn signature_phones(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let signature = match text.lines().position(|l| l == "-- " || l == "--") {
        Some(at) => text.lines().skip(at + 1).map(str::trim).collect::<Vec<_>>(),
        None => lines[lines.len().saturating_sub(4)..].to_vec(),
    };
    signature
        .into_iter()
        .filter_map(|line| {
            let number = line.trim_start_matches(|c: char| {
                c.is_alphabetic() || matches!(c, '.' | ':' | ' ' | '\u{a0}')
            });
            let allowed = number.chars().all(|c| {
                c.is_ascii_digit() || matches!(c, '+' | ' ' | '(' | ')' | '-' | '.' | '\u{a0}')
            });
            let digits = number.chars().filter(char::is_ascii_digit).count();
            let label = &line[..line.len() - number.len()];
            let labelled = label.is_empty()
                || ["tel", "tél", "phone", "mobile", "mob", "portable", "cell"]
                    .iter()
                    .any(|l| label.to_lowercase().contains(l));
            (allowed && labelled && (8..=15).contains(&digits) && !number.is_empty())
                .then(|| number.to_string())
        })
        .collect()
}

impl Mail {
    fn into_event(self, fallback_id: &str) -> Event {
        let provider_id = self.message_id.clone().unwrap_or_else(|| fallback_id.to_string());
        let thread = self
            .references
            .first()
            .cloned()
            .or_else(|| self.in_reply_to.clone())
            .unwrap_or_else(|| provider_id.clone());
        // The sender's address is where the provider received the message from: a reply goes
        // back to whoever owns it. A phone in the signature is only what the text says.
        let mut contact = Contact::new()
            .verified_email(&self.from_address)
            .name(self.from_name.as_deref().unwrap_or(""));
        if self.automatic.is_none() {
            for phone in signature_phones(self.text.as_deref().unwrap_or("")) {
                contact = contact.mentioned_phone(&phone).attr("phone_source", "e-mail signature");
            }
        }
        let mut event = Interaction::message("email", &provider_id, contact).thread(&thread);
        if let Some(subject) = &self.subject {
            event = event.subject(subject);
        }
        if let Some(text) = &self.text {
            event = event.text(text.trim());
        }
        if let Some(date) = self.date {
            event = event.at(date);
        }
        if let Some(reply_to) = &self.in_reply_to {
            event = event.attr("in_reply_to", reply_to);
        }
        if !self.references.is_empty() {
            event = event.attr("references", &self.references.join(" "));
        }
        if let Some(kind) = self.automatic {
            // Recorded, but marked: an out-of-office or a bounce is not the customer talking.
            event = event.status(kind).attr("automatic", kind);
        }
        for attachment in self.attachments {
            event = event.attachment(attachment);
        }
        event.into()
    }
}

/// Parses an RFC 5322 message.
fn parse_mime(raw: &[u8]) -> Result<Mail, ConnectorError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| ConnectorError::BadRequest("the e-mail is not a MIME message".into()))?;
    let from = message.from().and_then(|list| list.first());
    let from_address = from
        .and_then(|mailbox| mailbox.address())
        .ok_or_else(|| ConnectorError::BadRequest("the e-mail has no From address".into()))?
        .to_string();
    let header = |name: &str| message.header(name).and_then(|v| v.as_text().map(str::to_string));
    let report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let auto_submitted =
        header("Auto-Submitted").is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    let precedence = header("Precedence").map(|p| p.trim().to_ascii_lowercase());
    let daemon = ["mailer-daemon@", "postmaster@"]
        .iter()
        .any(|p| from_address.to_ascii_lowercase().starts_with(p));
    let automatic = if report || daemon {
        Some("bounce")
    } else if auto_submitted
        || header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some()
        || matches!(precedence.as_deref(), Some("auto_reply" | "bulk" | "junk"))
    {
        Some("auto-reply")
    } else {
        None
    };
    let attachments = message
        .attachments()
        .map(|part| Attachment {
            name: part.attachment_name().map(str::to_string),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{sub}", ct.ctype()).to_ascii_lowercase(),
                    None => ct.ctype().to_ascii_lowercase(),
                })
                .unwrap_or_else(|| "application/octet-stream".into()),
            size_bytes: part.len() as u64,
            url: None,
        })
        .collect();
    Ok(Mail {
        message_id: message.message_id().map(trim_id),
        from_name: from.and_then(|mailbox| mailbox.name()).map(str::to_string),
        from_address,
        subject: message.subject().map(str::to_string),
        text: message.body_text(0).map(|t| t.into_owned()),
        date: message.date().map(|d| d.to_timestamp() * 1000),
        in_reply_to: ids(message.in_reply_to()).into_iter().next(),
        references: ids(message.references()),
        attachments,
        automatic,
    })
}

/// Message ids of an `In-Reply-To` or `References` header, brackets removed.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(text) => text.split_whitespace().map(trim_id).collect(),
        HeaderValue::TextList(list) => list.iter().map(|id| trim_id(id)).collect(),
        _ => Vec::new(),
    }
}

fn basic_auth(
    request: &HttpRequest,
    user_key: &str,
    password_key: &str,
    required: bool,
) -> Result<(), ConnectorError> {
    let (user, password) = match (config(user_key), config(password_key)) {
        (Some(user), Some(password)) => (user, password),
        _ if required => {
            return Err(ConnectorError::Config(format!(
                "config keys `{user_key}` and `{password_key}` are not set"
            )));
        }
        _ => return Ok(()),
    };
    let expected = format!(
        "Basic {}",
        switchboard_sdk::base64_encode(format!("{user}:{password}").as_bytes())
    );
    let presented = request
        .header("authorization")
        .ok_or_else(|| ConnectorError::Unauthorized("missing basic authentication".into()))?;
    if !secrets_equal(presented.trim().as_bytes(), expected.as_bytes()) {
        return Err(ConnectorError::Unauthorized("basic authentication does not match".into()));
    }
    Ok(())
}

fn mailgun(request: &HttpRequest) -> Result<Vec<Event>, ConnectorError> {
    let key = require_config("mailgun_signing_key")?;
    let max_age: i64 = match config("mailgun_max_age_secs") {
        Some(value) => value.parse().map_err(|_| {
            ConnectorError::Config(format!("mailgun_max_age_secs `{value}` is not a number"))
        })?,
        None => 120,
    };
    let parts = request.multipart()?;
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let text = |name: &str| {
        field(name)
            .map(|p| p.text())
            .ok_or_else(|| ConnectorError::BadRequest(format!("missing form field `{name}`")))
    };
    let (timestamp, token, signature) = (text("timestamp")?, text("token")?, text("signature")?);
    verify(
        Algorithm::Sha256,
        key.as_bytes(),
        format!("{timestamp}{token}").as_bytes(),
        &signature,
        Encoding::Hex,
    )?;
    let sent: i64 = timestamp.trim().parse().map_err(|_| {
        ConnectorError::BadRequest(format!("timestamp `{timestamp}` is not Unix seconds"))
    })?;
    let now = time::now_millis() / 1000;
    if (now - sent).abs() > max_age {
        return Err(ConnectorError::Unauthorized(format!(
            "timestamp {sent} is {}s away from now; at most {max_age}s allowed",
            now - sent
        )));
    }
    // A token is used once: a replayed request is refused.
    let mut seen: std::collections::BTreeMap<String, i64> = kv::get_string(SEEN_TOKENS)?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default();
    seen.retain(|_, at| now - *at <= max_age);
    if seen.contains_key(&token) {
        return Err(ConnectorError::Unauthorized(
            "this Mailgun token was already used: a replayed request".into(),
        ));
    }
    let mime = field("body-mime").ok_or_else(|| {
        ConnectorError::BadRequest(
            "missing form field `body-mime` (route to a URL ending in `mime`)".into(),
        )
    })?;
    let mail = parse_mime(&mime.data)?;
    seen.insert(token.clone(), sent);
    kv::set(SEEN_TOKENS, serde_json::to_string(&seen).unwrap_or_default())?;
    Ok(vec![mail.into_event(&format!("mailgun-{token}"))])
}

fn sendgrid(request: &HttpRequest) -> Result<Vec<Event>, ConnectorError> {
    basic_auth(request, "sendgrid_username", "sendgrid_password", false)?;
    let parts = request.multipart()?;
    let raw = parts.iter().find(|p| p.name == "email").ok_or_else(|| {
        ConnectorError::BadRequest(
            "missing form field `email` (enable \"POST the raw, full MIME message\")".into(),
        )
    })?;
    let mail = parse_mime(&raw.data)?;
    let fallback = format!("sendgrid-{}", &switchboard_sdk::signature::sha256_hex(&raw.data)[..24]);
    Ok(vec![mail.into_event(&fallback)])
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Postmark {
    from_full: PostmarkAddress,
    subject: Option<String>,
    text_body: Option<String>,
    html_body: Option<String>,
    #[serde(rename = "MessageID")]
    message_id: String,
    date: Option<String>,
    #[serde(default)]
    headers: Vec<PostmarkHeader>,
    #[serde(default)]
    attachments: Vec<PostmarkAttachment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PostmarkAddress {
    email: String,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PostmarkHeader {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PostmarkAttachment {
    name: Option<String>,
    content_type: String,
    content_length: u64,
}

fn postmark(request: &HttpRequest) -> Result<Vec<Event>, ConnectorError> {
    basic_auth(request, "postmark_username", "postmark_password", true)?;
    let inbound: Postmark = request.json()?;
    let header = |name: &str| {
        inbound.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.clone())
    };
    let auto = header("Auto-Submitted").is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"))
        || header("X-Autoreply").is_some();
    let text = inbound.text_body.clone().filter(|t| !t.trim().is_empty()).or_else(|| {
        // An HTML-only message: keep its text, not its markup.
        inbound.html_body.as_deref().and_then(|html| {
            let wrapped = format!("Content-Type: text/html; charset=utf-8\r\n\r\n{html}");
            MessageParser::default()
                .parse(wrapped.as_bytes())
                .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        })
    });
    let mail = Mail {
        message_id: header("Message-ID").map(|v| trim_id(&v)),
        from_address: inbound.from_full.email.clone(),
        from_name: inbound.from_full.name.clone().filter(|n| !n.is_empty()),
        subject: inbound.subject.clone(),
        text,
        date: inbound.date.as_deref().map(time::parse_rfc2822).transpose()?,
        in_reply_to: header("In-Reply-To").map(|v| trim_id(&v)),
        references: header("References")
            .map(|v| v.split_whitespace().map(trim_id).collect())
            .unwrap_or_default(),
        attachments: inbound
            .attachments
            .iter()
            .map(|a| Attachment {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size_bytes: a.content_length,
                url: None,
            })
            .collect(),
        automatic: auto.then_some("auto-reply"),
    };
    Ok(vec![mail.into_event(&inbound.message_id)])
}

impl Connector for Email {
    fn manifest() -> Manifest {
        Manifest::new("email", "0.2.0", "E-mail").channel("email").webhook().send()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        if request.method != "POST" {
            return Err(ConnectorError::BadRequest(format!(
                "inbound e-mail is posted; got {}",
                request.method
            )));
        }
        let events = match request.route.as_str() {
            "/mailgun" | "/mailgun/mime" => mailgun(&request)?,
            "/sendgrid" => sendgrid(&request)?,
            "/postmark" => postmark(&request)?,
            other => {
                return Err(ConnectorError::Unsupported(format!(
                    "no e-mail route `{other}`; use /mailgun, /sendgrid or /postmark"
                )));
            }
        };
        Ok(WebhookOutcome::ok(events))
    }

    fn send(message: OutboundMessage) -> Result<Receipt, ConnectorError> {
        let api_key = require_config("api_key")?;
        let domain = require_config("domain")?;
        let from = require_config("from")?;
        let base = config("api_base").unwrap_or_else(|| "https://api.mailgun.net".into());
        let to = message.emails().next().map(str::to_string).ok_or_else(|| {
            ConnectorError::BadRequest("the customer has no e-mail address".into())
        })?;
        let subject = message.subject.clone().unwrap_or_else(|| "Re: your message".into());
        let mut fields =
            vec![("from", from), ("to", to), ("subject", subject), ("text", message.text.clone())];
        if let Some(reply_to) = &message.in_reply_to {
            fields.push(("h:In-Reply-To", format!("<{reply_to}>")));
        }
        if !message.references.is_empty() {
            fields.push((
                "h:References",
                message.references.iter().map(|r| format!("<{r}>")).collect::<Vec<_>>().join(" "),
            ));
        }
        let url = format!("{}/v3/{domain}/messages", base.trim_end_matches('/'));
        let reply: Value = http::post(&url)
            .basic_auth("api", &api_key)
            .form(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .send()?
            .error_for_status()?
            .json()?;
        let id = reply["id"].as_str().ok_or_else(|| {
            ConnectorError::Transient(format!("Mailgun answered without an id: {reply}"))
        })?;
        let mut receipt = Receipt::new(&trim_id(id));
        receipt.thread_id = message.thread_id.clone().or_else(|| Some(trim_id(id)));
        receipt.status = Some("queued".into());
        Ok(receipt)
    }
}

export_connector!(Email);
