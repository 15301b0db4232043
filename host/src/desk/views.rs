//! What the desk shows: conversations as inbox rows and in detail, with names resolved and
//! the SLA state computed as of now.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::DeskError;
use crate::sla::Priority;
use crate::store::conversations::{self as sql, Order, Row, Status};
use crate::store::{Conn, StoreError, now_millis};

/// A due time counts as "due soon" this long before it.
pub const DUE_SOON_MS: i64 = 30 * 60 * 1000;

/// Something named: a customer, a user, a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Ref {
    /// Id.
    pub id: i64,
    /// Name, if known.
    pub name: Option<String>,
}

/// A connector and the channel within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChannelRef {
    /// Connector id, e.g. `twilio`.
    pub connector: String,
    /// Channel, e.g. `sms`.
    pub channel: String,
}

/// Where a conversation stands against its service level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// No policy applies.
    None,
    /// Within its targets.
    Ok,
    /// A target is due within half an hour.
    DueSoon,
    /// A target was missed.
    Breached,
}

/// A conversation's service level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SlaView {
    /// The policy applied.
    pub policy: Option<String>,
    /// The first response is due then (ms); moved on while the conversation was pending.
    pub first_response_due: Option<i64>,
    /// Resolution is due then (ms).
    pub resolution_due: Option<i64>,
    /// The first response came late (or is late now).
    pub first_response_breached: bool,
    /// Resolution came late (or is late now).
    pub resolution_breached: bool,
    /// Overall.
    pub state: SlaState,
    /// The clock is stopped (the conversation waits for the customer).
    pub paused: bool,
}

/// The latest message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LastMessage {
    /// When (ms).
    pub at: i64,
    /// Its first characters.
    pub preview: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    /// Its channel.
    pub channel: Option<String>,
}

/// A conversation as an inbox row shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConversationSummary {
    /// Id.
    pub id: i64,
    /// Whose.
    pub customer: Ref,
    /// Status.
    pub status: Status,
    /// Priority.
    pub priority: Priority,
    /// Snoozed until then (ms).
    pub snoozed_until: Option<i64>,
    /// Who works it.
    pub assignee: Option<Ref>,
    /// The responsible team.
    pub team: Option<Ref>,
    /// The connectors and channels it spans.
    pub channels: Vec<ChannelRef>,
    /// Labels.
    pub labels: Vec<String>,
    /// Its subject, when the first message had one.
    pub subject: Option<String>,
    /// The latest message.
    pub last_message: LastMessage,
    /// The customer has waited for an answer since then (ms); none when answered.
    pub waiting_since: Option<i64>,
    /// The first answer (ms).
    pub first_response_at: Option<i64>,
    /// When it was resolved (ms).
    pub resolved_at: Option<i64>,
    /// Times it was reopened.
    pub reopened_count: i64,
    /// Service level.
    pub sla: SlaView,
    /// Opened (ms).
    pub created_at: i64,
    /// Last changed (ms).
    pub updated_at: i64,
    /// Merged into that conversation.
    pub merged_into: Option<i64>,
}

/// How many conversations each view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ViewCounts {
    /// Assigned to the viewer.
    pub mine: i64,
    /// Assigned to nobody.
    pub unassigned: i64,
    /// Every one the viewer may see.
    pub all: i64,
}

/// How many conversations one team or connector holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GroupCount {
    /// The team's id, or the connector's id; `none` for conversations of no team.
    pub key: String,
    /// Its name, when it has one.
    pub name: Option<String>,
    /// Conversations.
    pub count: i64,
}

/// A page of an inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Inbox {
    /// Conversations, in the order asked.
    pub conversations: Vec<ConversationSummary>,
    /// Pass as `cursor` for the next page; none at the end.
    pub next_cursor: Option<String>,
    /// Conversations per view under the same filters.
    pub counts: ViewCounts,
    /// With `breakdown=true`: conversations per team under the same statuses (every team
    /// the viewer may see; `none` is no team).
    pub teams: Option<Vec<GroupCount>>,
    /// With `breakdown=true`: conversations per connector under the same statuses.
    pub connectors: Option<Vec<GroupCount>>,
}

/// A file that came with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AttachmentView {
    /// File name.
    pub name: Option<String>,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Where the provider keeps it.
    pub url: Option<String>,
}

/// A message, call, callback request or review of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    /// Interaction id.
    pub id: i64,
    /// Connector.
    pub connector: String,
    /// Channel.
    pub channel: String,
    /// `message`, `call`, `callback_request`, `review`.
    pub kind: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Subject.
    pub subject: Option<String>,
    /// Text.
    pub text: Option<String>,
    /// Provider status (a call's `completed`, a message's `delivered`).
    pub status: Option<String>,
    /// When (ms).
    pub at: i64,
    /// Attachments (not their content).
    pub attachments: Vec<AttachmentView>,
    /// A call's duration, in seconds.
    pub duration_seconds: Option<i64>,
    /// Who wrote it, for a reply sent through Switchboard.
    pub author: Option<Ref>,
    /// The provider's id.
    pub provider_id: String,
}

/// A private note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NoteView {
    /// Id.
    pub id: i64,
    /// Who wrote it.
    pub author: Option<Ref>,
    /// Text.
    pub text: String,
    /// The users it mentions.
    pub mentions: Vec<Ref>,
    /// When (ms).
    pub at: i64,
}

/// A change to a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventView {
    /// Id.
    pub id: i64,
    /// `created`, `message`, `assigned`, `status`, `reply`, `note`, `merged`, `moved`,
    /// `labels`, `priority`, `reopened`, `sla_breached`.
    pub kind: String,
    /// Who did it (none: the system).
    pub actor: Option<Ref>,
    /// Details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// When (ms).
    pub at: i64,
}

/// A conversation with everything in it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationDetail {
    /// The conversation.
    pub conversation: ConversationSummary,
    /// Its messages across channels, oldest first.
    pub messages: Vec<MessageView>,
    /// Private notes, oldest first.
    pub notes: Vec<NoteView>,
    /// What happened to it, oldest first.
    pub events: Vec<EventView>,
}

/// The SLA view of a conversation as of `now`.
pub(crate) fn sla(row: &Row, now: i64) -> SlaView {
    let paused = row.paused_since.is_some();
    let late = |due: Option<i64>, done: Option<i64>| {
        due.is_some_and(|d| done.map_or(!paused && now > d, |t| t > d))
    };
    let first_response_breached =
        row.first_response_breached || late(row.first_response_due, row.first_response_at);
    let resolution_breached = row.resolution_breached || late(row.resolution_due, row.resolved_at);
    let soon = |due: Option<i64>, done: Option<i64>| {
        done.is_none() && !paused && due.is_some_and(|d| d - now <= DUE_SOON_MS)
    };
    let state = if row.sla_policy.is_none() {
        SlaState::None
    } else if first_response_breached || resolution_breached {
        SlaState::Breached
    } else if soon(row.first_response_due, row.first_response_at)
        || soon(row.resolution_due, row.resolved_at)
    {
        SlaState::DueSoon
    } else {
        SlaState::Ok
    };
    SlaView {
        policy: row.sla_policy.clone(),
        first_response_due: row.first_response_due,
        resolution_due: row.resolution_due,
        first_response_breached,
        resolution_breached,
        state,
        paused,
    }
}

/// Inbox rows for conversations, names and channels resolved in a few queries.
pub(crate) async fn summaries(
    conn: &mut Conn<'_>,
    rows: &[Row],
) -> Result<Vec<ConversationSummary>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let ids_of = |f: fn(&Row) -> Option<i64>| {
        let mut ids: Vec<i64> = rows.iter().filter_map(f).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let customers = sql::names(conn, "customers", &ids_of(|r| Some(r.customer_id))).await?;
    let users = sql::names(conn, "users", &ids_of(|r| r.assignee_id)).await?;
    let teams = sql::names(conn, "teams", &ids_of(|r| r.team_id)).await?;
    let (channels, labels) = sql::channels_and_labels(conn, &ids).await?;
    let name = |map: &HashMap<i64, Option<String>>, id: i64| Ref {
        id,
        name: map.get(&id).cloned().flatten(),
    };
    let now = now_millis();
    Ok(rows
        .iter()
        .map(|row| ConversationSummary {
            id: row.id,
            customer: name(&customers, row.customer_id),
            status: row.status,
            priority: row.priority,
            snoozed_until: row.snoozed_until,
            assignee: row.assignee_id.map(|id| name(&users, id)),
            team: row.team_id.map(|id| name(&teams, id)),
            channels: channels
                .iter()
                .filter(|(c, ..)| *c == row.id)
                .map(|(_, connector, channel)| ChannelRef {
                    connector: connector.clone(),
                    channel: channel.clone(),
                })
                .collect(),
            labels: labels.iter().filter(|(c, _)| *c == row.id).map(|(_, l)| l.clone()).collect(),
            subject: row.subject.clone(),
            last_message: LastMessage {
                at: row.last_message_at,
                preview: row.last_message_preview.clone(),
                direction: row.last_message_direction.clone(),
                channel: row.last_message_channel.clone(),
            },
            waiting_since: row.waiting_since,
            first_response_at: row.first_response_at,
            resolved_at: row.resolved_at,
            reopened_count: row.reopened_count,
            sla: sla(row, now),
            created_at: row.created_at,
            updated_at: row.updated_at,
            merged_into: row.merged_into,
        })
        .collect())
}

/// The full view of one conversation.
pub(crate) async fn detail(
    conn: &mut Conn<'_>,
    row: &Row,
) -> Result<ConversationDetail, StoreError> {
    let conversation = summaries(conn, std::slice::from_ref(row)).await?.remove(0);
    let messages = sql::messages(conn, row.id).await?;
    let notes = sql::notes(conn, row.id).await?;
    let events = sql::events(conn, row.id).await?;
    let mut people: Vec<i64> = messages.iter().filter_map(|m| m.11).collect();
    people.extend(notes.iter().filter_map(|n| n.1));
    people.extend(events.iter().filter_map(|e| e.2));
    let mentioned: Vec<Vec<i64>> =
        notes.iter().map(|n| serde_json::from_str(&n.3).unwrap_or_default()).collect();
    people.extend(mentioned.iter().flatten().copied());
    people.sort_unstable();
    people.dedup();
    let users = sql::names(conn, "users", &people).await?;
    let user = |id: i64| Ref { id, name: users.get(&id).cloned().flatten() };
    let messages = messages
        .into_iter()
        .map(
            |(
                id,
                connector,
                channel,
                kind,
                direction,
                subject,
                text,
                status,
                at,
                attachments,
                attributes,
                author,
                provider_id,
            )| {
                let attributes: Vec<crate::model::Attribute> =
                    serde_json::from_str(&attributes).unwrap_or_default();
                let duration_seconds = attributes
                    .iter()
                    .find(|a| a.key == "duration_seconds" || a.key == "duration_secs")
                    .and_then(|a| a.value.trim().parse().ok());
                MessageView {
                    id,
                    connector,
                    channel,
                    kind,
                    direction,
                    subject,
                    text,
                    status,
                    at,
                    attachments: serde_json::from_str(&attachments).unwrap_or_default(),
                    duration_seconds,
                    author: author.map(user),
                    provider_id,
                }
            },
        )
        .collect();
    let notes = notes
        .into_iter()
        .zip(mentioned)
        .map(|((id, author, text, _, at), mentions)| NoteView {
            id,
            author: author.map(user),
            text,
            mentions: mentions.into_iter().map(user).collect(),
            at,
        })
        .collect();
    let events = events
        .into_iter()
        .map(|(id, kind, actor, data, at)| EventView {
            id,
            kind,
            actor: actor.map(user),
            data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            at,
        })
        .collect();
    Ok(ConversationDetail { conversation, messages, notes, events })
}

/// An inbox cursor: the order it continues, the last row's sort key and id.
pub(crate) fn encode_cursor(order: Order, key: i64, id: i64) -> String {
    let order = match order {
        Order::Newest => "n",
        Order::OldestWaiting => "w",
    };
    URL_SAFE_NO_PAD.encode(format!("{order}:{key}:{id}"))
}

/// Reads a cursor issued for `order`.
pub(crate) fn decode_cursor(cursor: &str, order: Order) -> Result<(i64, i64), DeskError> {
    let bad =
        || DeskError::BadRequest(format!("`cursor` `{cursor}` was not issued by this inbox query"));
    let text =
        String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let mut parts = text.split(':');
    let expected = if order == Order::Newest { "n" } else { "w" };
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(o), Some(key), Some(id), None) if o == expected => {
            Ok((key.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_order() {
        let cursor = encode_cursor(Order::OldestWaiting, i64::MAX, 42);
        assert_eq!(decode_cursor(&cursor, Order::OldestWaiting).unwrap(), (i64::MAX, 42));
        assert!(decode_cursor(&cursor, Order::Newest).is_err());
        assert!(decode_cursor("garbage!", Order::Newest).is_err());
    }
}
