//! Answering a customer: on the channel of their latest message in the conversation by
//! default, or the one the agent picks, or the customer's preferred one — always only where
//! they have not opted out, only to identifiers a provider verified, and only through a
//! connector that owns the ids it sends to. A request with an `Idempotency-Key` is recorded
//! before the provider is called, so a retry answers the first outcome instead of sending
//! twice.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Desk, DeskError};
use crate::auth::{Access, Principal};
use crate::model::{OutboundMessage, Receipt};
use crate::runtime::CallError;
use crate::store::conversations::{self as sql, Sent};
use crate::store::{StoreError, now_millis, read_job, write_job};

/// Longest message text: a long e-mail, not a file.
const MAX_TEXT: usize = 64 * 1024;
/// Longest subject.
const MAX_SUBJECT: usize = 998;
/// Longest idempotency key.
const MAX_KEY: usize = 200;

/// A message to send.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The text; with `canned_reply`, what is added after it (may be empty).
    #[serde(default)]
    pub text: String,
    /// Subject (e-mail).
    pub subject: Option<String>,
    /// The connector to send through, or `preferred` for the customer's preferred one; by
    /// default the connector of the customer's latest message (in the conversation, for a
    /// reply).
    pub channel: Option<String>,
    /// A canned reply to start the text with, its placeholders filled in.
    pub canned_reply: Option<i64>,
}

/// What a reply did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReplyOutcome {
    /// The connector it went out through.
    pub connector: String,
    /// The provider's id of the message.
    pub provider_id: String,
    /// Provider status, e.g. `queued`.
    pub status: Option<String>,
    /// When it was sent (ms).
    pub sent_at: i64,
    /// The message on the customer's timeline.
    pub interaction_id: i64,
    /// The conversation it joined.
    pub conversation_id: Option<i64>,
    /// The text that went out.
    pub text: String,
}

/// A connector a reply could go out on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChannelOption {
    /// Connector id: what `channel` of a reply names.
    pub connector: String,
    /// Its name for people.
    pub name: String,
    /// The channels it serves.
    pub channels: Vec<String>,
    /// The customer's current consent on those channels.
    pub consents: Vec<crate::store::ConsentView>,
    /// Why a reply cannot go out there (an opt-out, no identifier to send to); none: it can.
    pub blocked: Option<String>,
}

/// Where a reply in a conversation can go out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReplyChannels {
    /// The connector a reply without `channel` goes out on: that of the customer's latest
    /// written message in the conversation, else anywhere, else their preferred one.
    pub default: Option<String>,
    /// The customer's preferred connector (`channel: "preferred"`).
    pub preferred: Option<String>,
    /// Every serving connector that sends, by id.
    pub options: Vec<ChannelOption>,
}

/// A canned reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CannedReply {
    /// Id.
    pub id: i64,
    /// Name (what agents pick it by).
    pub name: String,
    /// Text, with placeholders such as `{{customer.first_name}}` or
    /// `{{customer.first_name | there}}` (with a default).
    pub body: String,
    /// Last changed (ms).
    pub updated_at: i64,
}

/// The placeholders a canned reply may use.
pub const PLACEHOLDERS: &[&str] = &[
    "customer.name",
    "customer.first_name",
    "customer.last_name",
    "agent.name",
    "agent.first_name",
    "conversation.id",
];

/// Checks a canned reply's placeholders: each must be one of [`PLACEHOLDERS`].
pub fn check_template(body: &str) -> Result<(), DeskError> {
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            return Err(DeskError::BadRequest(
                "`body` opens a placeholder `{{` it does not close".into(),
            ));
        };
        let inner = &rest[start + 2..start + end];
        let name = inner.split('|').next().unwrap_or("").trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(DeskError::BadRequest(format!(
                "`body` uses the placeholder `{name}`; expected one of {}",
                PLACEHOLDERS.join(", ")
            )));
        }
        rest = &rest[start + end + 2..];
    }
    Ok(())
}

/// Fills a template's placeholders from `values` (absent or empty: the placeholder's default).
pub fn render(body: &str, values: &[(&str, Option<String>)]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else { break };
        let inner = &rest[start + 2..start + end];
        let (name, default) = match inner.split_once('|') {
            Some((name, default)) => (name.trim(), default.trim()),
            None => (inner.trim(), ""),
        };
        let value = values
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty());
        out.push_str(value.as_deref().unwrap_or(default));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

fn first_word(name: &Option<String>) -> Option<String> {
    name.as_deref().and_then(|n| n.split_whitespace().next()).map(str::to_string)
}

fn last_word(name: &Option<String>) -> Option<String> {
    name.as_deref().and_then(|n| {
        n.split_whitespace().nth(1).map(|_| n.split_whitespace().last().unwrap_or("").to_string())
    })
}

impl Desk {
    /// Replies in a conversation.
    pub async fn reply(
        &self,
        who: &Principal,
        conversation: i64,
        request: SendRequest,
        idempotency_key: Option<String>,
    ) -> Result<ReplyOutcome, DeskError> {
        let who_ = who.clone();
        let row = self
            .store
            .read(read_job!(|conn| async move {
                let Some(row) = sql::get(conn, conversation, false).await? else { return Ok(None) };
                Ok(super::may_see(conn, &who_, &row).await?.then_some(row))
            }))
            .await?
            .ok_or_else(|| DeskError::NotFound(format!("conversation {conversation}")))?;
        if let Some(into) = row.merged_into {
            return Err(DeskError::Conflict(format!(
                "conversation {conversation} was merged into {into}; reply there"
            )));
        }
        self.send(who, row.customer_id, Some(conversation), request, idempotency_key).await
    }

    /// Sends a message to a customer; it joins their open conversation, if any.
    pub async fn send_to_customer(
        &self,
        who: &Principal,
        customer: i64,
        request: SendRequest,
        idempotency_key: Option<String>,
    ) -> Result<ReplyOutcome, DeskError> {
        let active = self
            .store
            .read(read_job!(
                |conn| async move { Ok(sql::active(conn, customer).await?.map(|r| r.id)) }
            ))
            .await?;
        self.send(who, customer, active, request, idempotency_key).await
    }

    async fn send(
        &self,
        who: &Principal,
        customer: i64,
        conversation: Option<i64>,
        request: SendRequest,
        idempotency_key: Option<String>,
    ) -> Result<ReplyOutcome, DeskError> {
        if who.user_id().is_none() && who.access() < Access::Admin {
            return Err(DeskError::Forbidden("a read token cannot send messages".into()));
        }
        if request.text.len() > MAX_TEXT {
            return Err(DeskError::BadRequest(format!("`text` must be at most {MAX_TEXT} bytes")));
        }
        if request
            .subject
            .as_ref()
            .is_some_and(|s| s.len() > MAX_SUBJECT || s.contains(['\r', '\n']))
        {
            return Err(DeskError::BadRequest(format!(
                "`subject` must be one line of at most {MAX_SUBJECT} bytes"
            )));
        }
        if let Some(key) = &idempotency_key
            && (key.is_empty() || key.len() > MAX_KEY || !key.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(DeskError::BadRequest(format!(
                "`Idempotency-Key` must be 1 to {MAX_KEY} printable ASCII characters"
            )));
        }
        let text = self.compose(who, customer, conversation, &request).await?;
        if text.trim().is_empty() {
            return Err(DeskError::BadRequest("`text` is empty".into()));
        }
        let (connector_id, connector, manifest) =
            self.choose(customer, conversation, request.channel.as_deref()).await?;
        let manifest_ = manifest.clone();
        let connector_ = connector_id.clone();
        let (to, thread) = self
            .store
            .read(read_job!(|conn| async move {
                let to = sql::sendable(conn, customer, &manifest_).await?;
                let thread = sql::thread(conn, customer, conversation, &connector_).await?;
                Ok((to, thread))
            }))
            .await?;
        if to.is_empty() {
            return Err(DeskError::Conflict(format!(
                "`{connector_id}` has no identifier of the customer to send to: only ids in its own \
                 namespaces and e-mails or phones a provider verified are used"
            )));
        }
        // Recorded before the provider is called: a retry finds it.
        let fingerprint = crate::auth::secret_hash(&format!(
            "{customer}|{conversation:?}|{connector_id}|{:?}|{text}",
            request.subject
        ));
        if let Some(key) = &idempotency_key
            && let Some(earlier) = self.claim(key, who, &fingerprint).await?
        {
            return earlier;
        }
        let message = OutboundMessage {
            to,
            subject: request.subject.clone(),
            text: text.clone(),
            thread_id: thread.thread_id.clone(),
            in_reply_to: thread.in_reply_to.clone(),
            references: thread.references.clone(),
            attributes: vec![],
        };
        let started = std::time::Instant::now();
        let receipt: Receipt = match connector.send(message).await {
            Ok(receipt) => {
                self.metrics.call(&connector_id, "send", "ok", started.elapsed().as_secs_f64());
                receipt
            }
            Err(error) => {
                let rejected = matches!(error, CallError::Connector { .. });
                let outcome = if rejected { "rejected" } else { "failed" };
                self.metrics.call(&connector_id, "send", outcome, started.elapsed().as_secs_f64());
                let failure = match error {
                    CallError::Connector { error, .. } => {
                        DeskError::Refused(format!("`{connector_id}` refused to send: {error}"))
                    }
                    other => DeskError::Failed(other.to_string()),
                };
                if let Some(key) = &idempotency_key {
                    self.finish(
                        key,
                        "failed",
                        &json!({"error": failure.to_string(), "refused": rejected}),
                    )
                    .await?;
                }
                return Err(failure);
            }
        };
        let channel = manifest.channels.first().cloned().unwrap_or_else(|| connector_id.clone());
        let author = who.user_id();
        let (sent, key) = (receipt.clone(), idempotency_key.clone());
        let thread_id = thread.thread_id.clone();
        let (connector_, text_, subject) =
            (connector_id.clone(), text.clone(), request.subject.clone());
        let outcome = self
            .store
            .write(
                vec![],
                write_job!(|tx| {
                    let (sent, key, connector, channel, text, subject, thread_id) = (
                        sent.clone(),
                        key.clone(),
                        connector_.clone(),
                        channel.clone(),
                        text_.clone(),
                        subject.clone(),
                        thread_id.clone(),
                    );
                    async move {
                        let interaction_id = sql::record_sent(
                            tx,
                            &Sent {
                                customer,
                                conversation,
                                author,
                                connector: &connector,
                                channel: &channel,
                                provider_id: &sent.provider_id,
                                thread_id: sent.thread_id.as_deref().or(thread_id.as_deref()),
                                subject: subject.as_deref(),
                                text: &text,
                                status: sent.status.as_deref(),
                                at: sent.sent_at,
                            },
                        )
                        .await?;
                        if let Some(id) = conversation
                            && let Some(mut row) = sql::get(tx, id, true).await?
                        {
                            super::mark_answered(&mut row, sent.sent_at);
                            if sent.sent_at >= row.last_message_at {
                                row.last_message_at = sent.sent_at;
                                row.last_message_preview = sql::preview(Some(&text), subject.as_deref());
                                row.last_message_direction = Some("outbound".into());
                                row.last_message_channel = Some(channel.clone());
                            }
                            sql::save(tx, &row).await?;
                            sql::add_channel(tx, row.id, &connector, &channel).await?;
                            let data = json!({"interaction_id": interaction_id, "connector": connector,
                                "channel": channel, "preview": row.last_message_preview});
                            sql::event(tx, &row, "reply", author, data).await?;
                        }
                        let outcome = ReplyOutcome {
                            connector,
                            provider_id: sent.provider_id.clone(),
                            status: sent.status.clone(),
                            sent_at: sent.sent_at,
                            interaction_id,
                            conversation_id: conversation,
                            text,
                        };
                        if let Some(key) = &key {
                            let response = serde_json::to_string(&outcome).unwrap_or_default();
                            sql::finish_send(tx, key, "sent", &response).await?;
                        }
                        Ok(outcome)
                    }
                }),
            )
            .await?;
        Ok(outcome)
    }

    /// The text to send: a canned reply rendered for this customer and agent, then the text.
    async fn compose(
        &self,
        who: &Principal,
        customer: i64,
        conversation: Option<i64>,
        request: &SendRequest,
    ) -> Result<String, DeskError> {
        let Some(canned) = request.canned_reply else { return Ok(request.text.clone()) };
        let agent = who.user().map(|u| u.name.clone());
        let found = self
            .store
            .read(read_job!(|conn| async move {
                let reply = sql::canned_reply(conn, canned).await?;
                let names: Option<(Option<String>, Option<String>, Option<String>)> = conn
                    .optional(
                        "SELECT display_name, given_name, family_name FROM customers WHERE id = $1",
                        crate::store::params![customer],
                    )
                    .await?;
                Ok((reply, names.unwrap_or((None, None, None))))
            }))
            .await?;
        let (Some((_, _, body, _)), (display, given, family)) = found else {
            return Err(DeskError::BadRequest(format!("`canned_reply` {canned} does not exist")));
        };
        let values = [
            ("customer.name", display.clone()),
            ("customer.first_name", given.or_else(|| first_word(&display))),
            ("customer.last_name", family.or_else(|| last_word(&display))),
            ("agent.name", agent.clone()),
            ("agent.first_name", first_word(&agent)),
            ("conversation.id", conversation.map(|id| id.to_string())),
        ];
        let rendered = render(&body, &values);
        Ok(match request.text.trim() {
            "" => rendered,
            more => format!("{rendered}\n\n{more}"),
        })
    }

    /// The connector a reply goes out on when none is named: the connector of the customer's
    /// latest written message in the conversation, else anywhere, else their preferred one;
    /// and the preferred one.
    async fn default_connector(
        &self,
        customer: i64,
        conversation: Option<i64>,
    ) -> Result<(Option<String>, Option<String>), DeskError> {
        Ok(self
            .store
            .read(read_job!(|conn| async move {
                let latest = match conversation {
                    Some(id) => {
                        sql::latest_inbound_connector(conn, sql::Within::Conversation(id)).await?
                    }
                    None => None,
                };
                let latest = match latest {
                    Some(latest) => Some(latest),
                    None => {
                        sql::latest_inbound_connector(conn, sql::Within::Customer(customer)).await?
                    }
                };
                let (preferred, _) = sql::preferred(conn, customer).await?;
                Ok((latest.or_else(|| preferred.clone()), preferred))
            }))
            .await?)
    }

    /// The customer's opt-out of one of `channels`, if any: no message goes out there.
    async fn opted_out(
        &self,
        customer: i64,
        channels: &[String],
    ) -> Result<Option<crate::store::ConsentView>, DeskError> {
        for channel in channels {
            if let Some(consent) = self.store.current_consent(customer, channel).await?
                && consent.state == "opt_out"
            {
                return Ok(Some(consent));
            }
        }
        Ok(None)
    }

    /// The connector to send through, checked: configured, serving, able to send, and not on a
    /// channel the customer opted out of.
    async fn choose(
        &self,
        customer: i64,
        conversation: Option<i64>,
        channel: Option<&str>,
    ) -> Result<(String, crate::runtime::LoadedConnector, crate::model::Manifest), DeskError> {
        let (default, preferred) = self.default_connector(customer, conversation).await?;
        let wanted = match channel.map(str::trim) {
            Some("preferred") => preferred.ok_or_else(|| {
                DeskError::Conflict(
                    "the customer has no preferred channel; name a `channel`".into(),
                )
            })?,
            Some(connector) if !connector.is_empty() => connector.to_string(),
            _ => default.ok_or_else(|| {
                DeskError::Conflict(
                    "the customer has not written through any connector; name a `channel`".into(),
                )
            })?,
        };
        let Some(slot) = self.registry.get(&wanted) else {
            return Err(DeskError::BadRequest(format!(
                "`channel` `{wanted}` is not a configured connector"
            )));
        };
        let Some(connector) = slot.serving() else {
            return Err(DeskError::Conflict(format!(
                "`{wanted}` is not serving (disabled or failed to load)"
            )));
        };
        let manifest = connector.manifest().clone();
        if !manifest.capabilities.send {
            return Err(DeskError::Conflict(format!("`{wanted}` cannot send messages")));
        }
        if let Some(consent) = self.opted_out(customer, &manifest.channels).await? {
            return Err(DeskError::Conflict(format!(
                "the customer opted out of {} through {} ({})",
                consent.channel,
                consent.connector,
                consent.reason.as_deref().unwrap_or("no reason given")
            )));
        }
        Ok((wanted, connector, manifest))
    }

    /// Where a reply in `conversation` could go out: every serving connector that sends, with
    /// the customer's consent on its channels and whether it has an identifier to send to; and
    /// the one a reply goes out on by default.
    pub async fn reply_channels(
        &self,
        who: &Principal,
        conversation: i64,
    ) -> Result<ReplyChannels, DeskError> {
        let who = who.clone();
        let row = self
            .store
            .read(read_job!(|conn| async move {
                let Some(row) = sql::get(conn, conversation, false).await? else { return Ok(None) };
                Ok(super::may_see(conn, &who, &row).await?.then_some(row))
            }))
            .await?
            .ok_or_else(|| DeskError::NotFound(format!("conversation {conversation}")))?;
        let customer = row.customer_id;
        let (default, preferred) = self.default_connector(customer, Some(conversation)).await?;
        let every_consent = self
            .store
            .read(read_job!(|conn| async move { crate::store::consents_of(conn, customer).await }))
            .await?;
        let mut options = Vec::new();
        for slot in self.registry.all() {
            let Some(connector) = slot.serving() else { continue };
            let manifest = connector.manifest().clone();
            if !manifest.capabilities.send {
                continue;
            }
            let consents: Vec<crate::store::ConsentView> = every_consent
                .iter()
                .filter(|c| manifest.channels.contains(&c.channel))
                .cloned()
                .collect();
            let manifest_ = manifest.clone();
            let reachable = !self
                .store
                .read(read_job!(
                    |conn| async move { sql::sendable(conn, customer, &manifest_).await }
                ))
                .await?
                .is_empty();
            let opted_out = consents.iter().find(|c| c.state == "opt_out");
            let blocked = if let Some(consent) = opted_out {
                Some(format!(
                    "opted out of {} through {}{}",
                    consent.channel,
                    consent.connector,
                    consent.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                ))
            } else if !reachable {
                Some("no identifier of the customer that this connector can send to".into())
            } else {
                None
            };
            options.push(ChannelOption {
                connector: slot.id.clone(),
                name: manifest.display_name.clone(),
                channels: manifest.channels.clone(),
                consents,
                blocked,
            });
        }
        Ok(ReplyChannels { default, preferred, options })
    }

    /// Claims an idempotency key; the earlier outcome when the key was used before.
    async fn claim(
        &self,
        key: &str,
        who: &Principal,
        fingerprint: &str,
    ) -> Result<Option<Result<ReplyOutcome, DeskError>>, DeskError> {
        let (key, user, expected) = (key.to_string(), who.key(), fingerprint.to_string());
        let fingerprint = expected.clone();
        let earlier = self
            .store
            .write(
                vec![],
                write_job!(|tx| {
                    let (key, user, fingerprint) = (key.clone(), user.clone(), fingerprint.clone());
                    async move {
                        if sql::claim_send(tx, &key, &user, &fingerprint).await? {
                            return Ok(None);
                        }
                        sql::send_attempt(tx, &key).await
                    }
                }),
            )
            .await?;
        let Some((owner, hash, state, response)) = earlier else { return Ok(None) };
        if owner != who.key() || hash != expected {
            return Ok(Some(Err(DeskError::Conflict(
                "this `Idempotency-Key` was used for another request".into(),
            ))));
        }
        Ok(Some(match state.as_str() {
            "sent" => serde_json::from_str(response.as_deref().unwrap_or(""))
                .map_err(|e| DeskError::Failed(format!("the recorded outcome is unreadable: {e}"))),
            "failed" => {
                let failure: serde_json::Value =
                    serde_json::from_str(response.as_deref().unwrap_or("{}")).unwrap_or_default();
                let message =
                    failure["error"].as_str().unwrap_or("the first attempt failed").to_string();
                Err(if failure["refused"].as_bool() == Some(true) {
                    DeskError::Refused(message)
                } else {
                    DeskError::Failed(message)
                })
            }
            _ => Err(DeskError::Conflict(
                "a request with this `Idempotency-Key` is still being sent".into(),
            )),
        }))
    }

    async fn finish(
        &self,
        key: &str,
        state: &str,
        response: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let (key, state, response) = (key.to_string(), state.to_string(), response.to_string());
        self.store
            .write(
                vec![],
                write_job!(|tx| {
                    let (key, state, response) = (key.clone(), state.clone(), response.clone());
                    async move { sql::finish_send(tx, &key, &state, &response).await }
                }),
            )
            .await
    }

    /// Every canned reply.
    pub async fn canned_replies(&self) -> Result<Vec<CannedReply>, DeskError> {
        let rows = self
            .store
            .read(read_job!(|conn| async move { sql::canned_replies(conn).await }))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, body, updated_at)| CannedReply { id, name, body, updated_at })
            .collect())
    }

    /// Creates or replaces (by name, or by `id`) a canned reply.
    pub async fn put_canned_reply(
        &self,
        who: &Principal,
        id: Option<i64>,
        name: &str,
        body: &str,
    ) -> Result<CannedReply, DeskError> {
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > 100 {
            return Err(DeskError::BadRequest("`name` must be 1 to 100 bytes".into()));
        }
        if body.trim().is_empty() || body.len() > MAX_TEXT {
            return Err(DeskError::BadRequest(format!("`body` must be 1 to {MAX_TEXT} bytes")));
        }
        check_template(body)?;
        let (body, author) = (body.to_string(), who.user_id());
        self
            .store
            .write(
                vec![],
                write_job!(|tx| {
                    let (name, body) = (name.clone(), body.clone());
                    async move {
                        let now = now_millis();
                        let taken: Option<(i64,)> = tx
                            .optional("SELECT id FROM canned_replies WHERE name = $1", crate::store::params![name])
                            .await?;
                        let target = match (id, taken) {
                            (Some(id), Some((other,))) if other != id => {
                                return Ok(Err(DeskError::Conflict(format!("a canned reply is named `{name}`"))));
                            }
                            (Some(id), _) => {
                                let changed = tx
                                    .execute(
                                        "UPDATE canned_replies SET name = $2, body = $3, updated_at = $4 WHERE id = $1",
                                        crate::store::params![id, name, body, now],
                                    )
                                    .await?;
                                if changed == 0 {
                                    return Ok(Err(DeskError::NotFound(format!("canned reply {id}"))));
                                }
                                id
                            }
                            (None, Some((existing,))) => {
                                tx.execute(
                                    "UPDATE canned_replies SET body = $2, updated_at = $3 WHERE id = $1",
                                    crate::store::params![existing, body, now],
                                )
                                .await?;
                                existing
                            }
                            (None, None) => {
                                let (id,): (i64,) = tx
                                    .one(
                                        "INSERT INTO canned_replies (name, body, created_by, created_at, updated_at) \
                                         VALUES ($1, $2, $3, $4, $4) RETURNING id",
                                        crate::store::params![name, body, author, now],
                                    )
                                    .await?;
                                id
                            }
                        };
                        let row = sql::canned_reply(tx, target).await?.ok_or(StoreError::Closed)?;
                        Ok(Ok(CannedReply { id: row.0, name: row.1, body: row.2, updated_at: row.3 }))
                    }
                }),
            )
            .await?
    }

    /// Deletes a canned reply; `false` if there was none.
    pub async fn delete_canned_reply(&self, id: i64) -> Result<bool, DeskError> {
        Ok(self
            .store
            .write(
                vec![],
                write_job!(|tx| async move {
                    Ok(tx
                        .execute(
                            "DELETE FROM canned_replies WHERE id = $1",
                            crate::store::params![id],
                        )
                        .await?
                        > 0)
                }),
            )
            .await?)
    }

    /// A canned reply rendered for a conversation (what the reply box shows before sending).
    pub async fn render_canned_reply(
        &self,
        who: &Principal,
        canned: i64,
        conversation: i64,
    ) -> Result<String, DeskError> {
        let detail = self.conversation(who, conversation).await?;
        let request = SendRequest {
            text: String::new(),
            subject: None,
            channel: None,
            canned_reply: Some(canned),
        };
        self.compose(who, detail.conversation.customer.id, Some(conversation), &request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_with_defaults_and_refuse_unknown_placeholders() {
        let body = "Hello {{customer.first_name | there}}, {{agent.first_name}} here.";
        assert!(check_template(body).is_ok());
        let values = [
            ("customer.first_name", Some("Ann".to_string())),
            ("agent.first_name", Some("Bo".into())),
        ];
        assert_eq!(render(body, &values), "Hello Ann, Bo here.");
        assert_eq!(render(body, &[("customer.first_name", None)]), "Hello there,  here.");
        let error = check_template("Hi {{customer.password}}").unwrap_err();
        assert!(error.to_string().contains("customer.password"), "{error}");
        assert!(check_template("Hi {{customer.name").is_err());
    }
}
