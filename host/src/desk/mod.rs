//! The service desk: what agents and supervisors do with conversations — read the inbox and a
//! conversation, assign, change status, snooze, label, write notes, reply on the customer's
//! channel, merge conversations and move a message between them.
//!
//! Who may do what is decided here, server-side, from the caller's [`Access`]: an agent sees
//! the conversations of their teams, those assigned to them and those of no team, takes and
//! releases conversations for themselves; a supervisor sees everything and assigns anyone.

mod send;
mod views;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use crate::auth::{Access, Principal};
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::router::conversations::{answered, resume};
use crate::sla::Priority;
use crate::store::conversations::{self as sql, InboxQuery, Order, Row, Status, View};
use crate::store::{Conn, Store, StoreError, Tx, now_millis, params, read_job, write_job};

pub use send::{
    CannedReply, ChannelOption, PLACEHOLDERS, ReplyChannels, ReplyOutcome, SendRequest,
};
pub use views::{
    AttachmentView, ChannelRef, ConversationDetail, ConversationSummary, EventView, GroupCount,
    Inbox, LastMessage, MessageView, NoteView, Ref, SlaState, SlaView, ViewCounts,
};

/// Why a desk operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No such thing, or not one the caller may see.
    #[error("{0} not found")]
    NotFound(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request is malformed; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// It contradicts the current state (sending to a customer who opted out, say).
    #[error("{0}")]
    Conflict(String),
    /// The connector refused to send.
    #[error("{0}")]
    Refused(String),
    /// The connector failed.
    #[error("{0}")]
    Failed(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The desk: the store, and the connectors replies go out through.
#[derive(Clone)]
pub struct Desk {
    store: Store,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    breakdowns: Arc<Breakdowns>,
}

/// Team and connector counts (`breakdown=true`) are a pass over every conversation of the
/// statuses asked; each agent's page and each live refresh asks for them. They are kept until a
/// conversation changes: every change is an event on the store's live channel (from this host,
/// or relayed from others on PostgreSQL), and any event, or a lag, discards them. A minute is
/// the longest they are kept even if an event was missed.
struct Breakdowns {
    changes: std::sync::Mutex<tokio::sync::broadcast::Receiver<Arc<crate::store::LiveEvent>>>,
    kept:
        std::sync::Mutex<std::collections::HashMap<BreakdownKey, (std::time::Instant, Breakdown)>>,
}

/// Whose counts: the statuses, and the agent whose teams restrict them (none: everyone's).
type BreakdownKey = (Vec<Status>, Option<i64>);
type Breakdown = (Vec<GroupCount>, Vec<GroupCount>);

/// The longest breakdown counts are kept.
const BREAKDOWN_KEPT: std::time::Duration = std::time::Duration::from_secs(60);
/// Breakdowns kept at most (one per agent and status filter in use).
const BREAKDOWNS: usize = 512;

impl Breakdowns {
    /// The counts kept for `key`, unless a conversation changed since.
    fn get(&self, key: &BreakdownKey) -> Option<Breakdown> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if self.changed() {
            kept.clear();
            return None;
        }
        kept.get(key).filter(|(at, _)| at.elapsed() < BREAKDOWN_KEPT).map(|(_, b)| b.clone())
    }

    fn put(&self, key: BreakdownKey, breakdown: Breakdown) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if self.changed() {
            // Counted before a change that was just announced: not worth keeping.
            kept.clear();
            return;
        }
        if kept.len() >= BREAKDOWNS {
            kept.clear();
        }
        kept.insert(key, (std::time::Instant::now(), breakdown));
    }

    /// Whether any conversation changed since the last look.
    fn changed(&self) -> bool {
        use tokio::sync::broadcast::error::TryRecvError;
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = false;
        loop {
            match changes.try_recv() {
                Ok(_) | Err(TryRecvError::Lagged(_)) => changed = true,
                Err(TryRecvError::Empty) => return changed,
                Err(TryRecvError::Closed) => return true,
            }
        }
    }
}

/// `GET /api/conversations` filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxParams {
    /// `mine`, `unassigned` or `all` (default).
    pub view: Option<View>,
    /// Only this team's.
    pub team: Option<i64>,
    /// Only those spanning this connector (`twilio`) or channel (`sms`).
    pub channel: Option<String>,
    /// Comma-separated statuses (default `open`), or `any`.
    pub status: Option<String>,
    /// Only those with this label.
    pub label: Option<String>,
    /// `newest` (default) or `oldest_waiting`.
    pub order: Option<Order>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (default 50, at most 200).
    pub limit: Option<u32>,
    /// Also count the conversations of each team and each connector (`teams`, `connectors`).
    pub breakdown: Option<bool>,
}

/// What an agent changes in a conversation; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationChange {
    /// New status; `snoozed` needs `snoozed_until`.
    pub status: Option<Status>,
    /// Snooze until then (ms since the epoch, in the future).
    pub snoozed_until: Option<i64>,
    /// New priority.
    pub priority: Option<Priority>,
    /// The labels, replacing the old ones.
    pub labels: Option<Vec<String>>,
    /// Assign to this user; `null` unassigns.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    /// Give to this team; `null` removes the team.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<i64>>,
}

/// A field that is present (maybe `null`) versus absent.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// Longest label: labels are short tags.
const MAX_LABEL: usize = 64;
/// Labels on one conversation at most.
const MAX_LABELS: usize = 32;
/// Longest note.
const MAX_NOTE: usize = 20_000;

impl Desk {
    /// A desk over `store`, replying through `registry`'s connectors.
    pub fn new(store: Store, registry: Arc<Registry>, metrics: Arc<Metrics>) -> Self {
        let breakdowns = Arc::new(Breakdowns {
            changes: std::sync::Mutex::new(store.subscribe()),
            kept: Default::default(),
        });
        Desk { store, registry, metrics, breakdowns }
    }

    /// Forgets the inbox's kept team and connector counts (as a change of any conversation
    /// does), so that the next inbox counts again.
    pub fn forget_counts(&self) {
        self.breakdowns.kept.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// An inbox page and the count of each view.
    pub async fn inbox(&self, who: &Principal, params: InboxParams) -> Result<Inbox, DeskError> {
        let order = params.order.unwrap_or_default();
        let view = params.view.unwrap_or(View::All);
        if view == View::Mine && who.user_id().is_none() {
            return Err(DeskError::BadRequest(
                "`view=mine` needs a user; a machine token has no conversations".into(),
            ));
        }
        let statuses = match params.status.as_deref().map(str::trim) {
            None | Some("") => vec![Status::Open],
            Some("any") => vec![],
            Some(list) => list
                .split(',')
                .map(|s| {
                    Status::parse(s.trim()).ok_or_else(|| {
                        DeskError::BadRequest(format!(
                            "`status` `{s}` is not one of open, pending, snoozed, resolved, any"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let after = params.cursor.as_deref().map(|c| views::decode_cursor(c, order)).transpose()?;
        let query = InboxQuery {
            view,
            viewer: who.user_id(),
            restricted: who.access() == Access::Agent,
            team: params.team,
            channel: params.channel.filter(|c| !c.trim().is_empty()),
            statuses,
            label: params.label.filter(|l| !l.trim().is_empty()),
            order,
            after,
            limit: i64::from(params.limit.unwrap_or(50).clamp(1, 200)),
        };
        let key: BreakdownKey =
            (query.statuses.clone(), query.restricted.then_some(query.viewer).flatten());
        // Some(kept counts, if any) when they are asked for.
        let breakdown = params.breakdown.unwrap_or(false).then(|| self.breakdowns.get(&key));
        let breakdowns = self.breakdowns.clone();
        Ok(self
            .store
            .read(read_job!(|conn| async move {
                let (rows, more) = sql::inbox(conn, &query).await?;
                let (mine, unassigned, all) = sql::counts(conn, &query).await?;
                let next_cursor = more
                    .then(|| {
                        rows.last()
                            .map(|r| views::encode_cursor(order, sql::sort_key(r, order), r.id))
                    })
                    .flatten();
                let conversations = views::summaries(conn, &rows).await?;
                let (teams, connectors) = match breakdown {
                    Some(Some(kept)) => (Some(kept.0), Some(kept.1)),
                    Some(None) => {
                        let counted = breakdown_of(conn, &query).await?;
                        breakdowns.put(key, counted.clone());
                        (Some(counted.0), Some(counted.1))
                    }
                    None => (None, None),
                };
                Ok(Inbox {
                    conversations,
                    next_cursor,
                    counts: ViewCounts { mine, unassigned, all },
                    teams,
                    connectors,
                })
            }))
            .await?)
    }

    /// A customer's latest conversations the caller may see, latest message first.
    pub async fn of_customer(
        &self,
        who: &Principal,
        customer: i64,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>, DeskError> {
        let who = who.clone();
        let limit = i64::from(limit.clamp(1, 100));
        Ok(self
            .store
            .read(read_job!(|conn| async move {
                let mut visible = Vec::new();
                for row in sql::of_customer(conn, customer, limit).await? {
                    if may_see(conn, &who, &row).await? {
                        visible.push(row);
                    }
                }
                views::summaries(conn, &visible).await
            }))
            .await?)
    }

    /// A conversation with its messages, notes and events.
    pub async fn conversation(
        &self,
        who: &Principal,
        id: i64,
    ) -> Result<ConversationDetail, DeskError> {
        let who = who.clone();
        let found = self
            .store
            .read(read_job!(|conn| async move {
                let Some(row) = sql::get(conn, id, false).await? else { return Ok(None) };
                if !may_see(conn, &who, &row).await? {
                    return Ok(None);
                }
                Ok(Some(views::detail(conn, &row).await?))
            }))
            .await?;
        found.ok_or_else(|| DeskError::NotFound(format!("conversation {id}")))
    }

    /// Changes a conversation's status, snooze, priority, labels, assignee or team; each
    /// change is an event.
    pub async fn change(
        &self,
        who: &Principal,
        id: i64,
        change: ConversationChange,
    ) -> Result<ConversationSummary, DeskError> {
        validate_change(who, &change)?;
        let (who, desk) = (who.clone(), self.store.desk());
        self.store
            .write(
                vec![],
                write_job!(|tx| {
                    let (who, change, desk) = (who.clone(), change.clone(), desk.clone());
                    async move { Ok(change_in_tx(tx, &who, id, &change, &desk.sla).await) }
                }),
            )
            .await?
    }

    /// Adds a private note; `@name` (an e-mail's local part, or the whole address) mentions
    /// a user, who sees the note in their live stream.
    pub async fn note(&self, who: &Principal, id: i64, text: &str) -> Result<NoteView, DeskError> {
        let text = text.trim().to_string();
        if text.is_empty() || text.len() > MAX_NOTE {
            return Err(DeskError::BadRequest(format!("`text` must be 1 to {MAX_NOTE} bytes")));
        }
        let handles = mentions(&text);
        let who = who.clone();
        self.store
            .write(
                vec![],
                write_job!(|tx| {
                    let (who, text, handles) = (who.clone(), text.clone(), handles.clone());
                    async move {
                        let row = match visible(tx, &who, id, true).await {
                            Ok(row) => row,
                            Err(error) => return Ok(Err(error)),
                        };
                        let users = sql::users_by_handle(tx, &handles).await?;
                        let mentioned: Vec<i64> = users.iter().map(|(id, ..)| *id).collect();
                        let note =
                            sql::add_note(tx, row.id, who.user_id(), &text, &mentioned).await?;
                        let data = json!({"note_id": note, "mentions": mentioned});
                        sql::event(tx, &row, "note", who.user_id(), data).await?;
                        let names =
                            sql::names(tx, "users", &who.user_id().into_iter().collect::<Vec<_>>())
                                .await?;
                        Ok(Ok(NoteView {
                            id: note,
                            author: who
                                .user_id()
                                .map(|id| Ref { id, name: names.get(&id).cloned().flatten() }),
                            text,
                            mentions: users
                                .into_iter()
                                .map(|(id, _, name)| Ref { id, name: Some(name) })
                                .collect(),
                            at: now_millis(),
                        }))
                    }
                }),
            )
            .await?
    }

    /// Merges conversation `other` into `id` (both of one customer): its messages, channels
    /// and labels move, and it stays behind, merged.
    pub async fn merge(
        &self,
        who: &Principal,
        id: i64,
        other: i64,
    ) -> Result<ConversationSummary, DeskError> {
        if id == other {
            return Err(DeskError::BadRequest("`other` is this conversation itself".into()));
        }
        let who = who.clone();
        self
            .store
            .write(
                vec![],
                write_job!(|tx| {
                    let who = who.clone();
                    async move {
                        let (into, from) = match (visible(tx, &who, id, true).await, visible(tx, &who, other, true).await) {
                            (Ok(into), Ok(from)) => (into, from),
                            (Err(error), _) | (_, Err(error)) => return Ok(Err(error)),
                        };
                        if into.customer_id != from.customer_id {
                            return Ok(Err(DeskError::Conflict(format!(
                                "conversations {id} and {other} belong to different customers; merge the customers first"
                            ))));
                        }
                        if from.merged_into.is_some() || into.merged_into.is_some() {
                            return Ok(Err(DeskError::Conflict("a merged conversation cannot be merged again".into())));
                        }
                        let merged = sql::merge_into(tx, into, from, who.user_id()).await?;
                        Ok(Ok(views::summaries(tx, &[merged]).await?.remove(0)))
                    }
                }),
            )
            .await?
    }

    /// Moves one message to another conversation of the same customer.
    pub async fn move_interaction(
        &self,
        who: &Principal,
        interaction: i64,
        to: i64,
    ) -> Result<ConversationSummary, DeskError> {
        let who = who.clone();
        self
            .store
            .write(
                vec![],
                write_job!(|tx| {
                    let who = who.clone();
                    async move {
                        let found: Option<(i64, Option<i64>)> = tx
                            .optional("SELECT customer_id, conversation_id FROM interactions WHERE id = $1", params![interaction])
                            .await?;
                        let Some((customer, Some(from))) = found else {
                            return Ok(Err(DeskError::NotFound(format!("interaction {interaction} in a conversation"))));
                        };
                        let (source, target) = match (visible(tx, &who, from, true).await, visible(tx, &who, to, true).await) {
                            (Ok(s), Ok(t)) => (s, t),
                            (Err(error), _) | (_, Err(error)) => return Ok(Err(error)),
                        };
                        if target.customer_id != customer {
                            return Ok(Err(DeskError::Conflict(format!(
                                "conversation {to} belongs to another customer than interaction {interaction}"
                            ))));
                        }
                        if source.id == target.id {
                            return Ok(Ok(views::summaries(tx, &[target]).await?.remove(0)));
                        }
                        sql::move_interactions(tx, &[interaction], Some(target.id)).await?;
                        let source = sql::refresh(tx, source).await?;
                        let target = sql::refresh(tx, target).await?;
                        let data = json!({"interaction_id": interaction, "from": source.id, "to": target.id});
                        sql::event(tx, &source, "moved", who.user_id(), data.clone()).await?;
                        sql::event(tx, &target, "moved", who.user_id(), data).await?;
                        Ok(Ok(views::summaries(tx, &[target]).await?.remove(0)))
                    }
                }),
            )
            .await?
    }
}

fn validate_change(who: &Principal, change: &ConversationChange) -> Result<(), DeskError> {
    if who.user_id().is_none() && who.access() < Access::Admin {
        return Err(DeskError::Forbidden("a read token cannot change conversations".into()));
    }
    if let Some(labels) = &change.labels {
        if labels.len() > MAX_LABELS {
            return Err(DeskError::BadRequest(format!(
                "`labels` holds at most {MAX_LABELS} labels"
            )));
        }
        for label in labels {
            let label = label.trim();
            if label.is_empty() || label.len() > MAX_LABEL || label.chars().any(char::is_control) {
                return Err(DeskError::BadRequest(format!(
                    "label `{label}` must be 1 to {MAX_LABEL} bytes without control characters"
                )));
            }
        }
    }
    if change.status == Some(Status::Snoozed) {
        match change.snoozed_until {
            Some(until) if until > now_millis() => {}
            Some(_) => {
                return Err(DeskError::BadRequest("`snoozed_until` must be in the future".into()));
            }
            None => {
                return Err(DeskError::BadRequest("`snoozed_until` is needed to snooze".into()));
            }
        }
    } else if change.snoozed_until.is_some() {
        return Err(DeskError::BadRequest("`snoozed_until` goes with `status: snoozed`".into()));
    }
    // An agent takes or releases conversations for themselves; assigning others, or moving a
    // conversation between teams, is a supervisor's.
    if who.access() < Access::Supervisor {
        if let Some(Some(assignee)) = change.assignee_id
            && Some(assignee) != who.user_id()
        {
            return Err(DeskError::Forbidden(
                "assigning a conversation to someone else needs a supervisor".into(),
            ));
        }
        if change.team_id.is_some() {
            return Err(DeskError::Forbidden(
                "moving a conversation to another team needs a supervisor".into(),
            ));
        }
    }
    Ok(())
}

async fn change_in_tx(
    tx: &mut Tx<'_>,
    who: &Principal,
    id: i64,
    change: &ConversationChange,
    sla: &crate::sla::Sla,
) -> Result<ConversationSummary, DeskError> {
    let mut row = visible(tx, who, id, true).await?;
    if row.merged_into.is_some() {
        return Err(DeskError::Conflict(format!(
            "conversation {id} was merged into {}",
            row.merged_into.unwrap_or(0)
        )));
    }
    // An agent may release only what is theirs.
    if who.access() < Access::Supervisor
        && change.assignee_id == Some(None)
        && row.assignee_id.is_some()
        && row.assignee_id != who.user_id()
    {
        return Err(DeskError::Forbidden(
            "unassigning someone else's conversation needs a supervisor".into(),
        ));
    }
    let actor = who.user_id();
    let now = now_millis();
    let mut events: Vec<(&str, serde_json::Value)> = Vec::new();
    if let Some(assignee) = change.assignee_id
        && assignee != row.assignee_id
    {
        if let Some(user) = assignee {
            let usable: Option<(bool,)> =
                tx.optional("SELECT active FROM users WHERE id = $1", params![user]).await?;
            if !usable.is_some_and(|(active,)| active) {
                return Err(DeskError::BadRequest(format!(
                    "`assignee_id` {user} is not an active user"
                )));
            }
        }
        events.push((
            "assigned",
            json!({"from": row.assignee_id, "assignee_id": assignee, "by": "user"}),
        ));
        row.assignee_id = assignee;
    }
    if let Some(team) = change.team_id
        && team != row.team_id
    {
        if let Some(team) = team {
            let exists: Option<(i64,)> =
                tx.optional("SELECT id FROM teams WHERE id = $1", params![team]).await?;
            if exists.is_none() {
                return Err(DeskError::BadRequest(format!("`team_id` {team} is not a team")));
            }
        }
        events.push(("assigned", json!({"from_team": row.team_id, "team_id": team, "by": "user"})));
        row.team_id = team;
    }
    if let Some(priority) = change.priority
        && priority != row.priority
    {
        events.push(("priority", json!({"from": row.priority, "to": priority})));
        row.priority = priority;
    }
    if let Some(status) = change.status
        && (status != row.status || change.snoozed_until != row.snoozed_until)
    {
        // A resolved conversation reopens only if the customer has no other open one.
        if status != Status::Resolved && row.status == Status::Resolved {
            let open: Option<(i64,)> = tx
                .optional(
                    "SELECT id FROM conversations WHERE customer_id = $1 AND status <> 'resolved' \
                     AND merged_into IS NULL AND id <> $2",
                    params![row.customer_id, row.id],
                )
                .await?;
            if let Some((other,)) = open {
                return Err(DeskError::Conflict(format!(
                    "the customer's conversation {other} is open; merge this one into it instead"
                )));
            }
            row.resolved_at = None;
            row.reopened_count += 1;
        }
        // Leaving pending starts the SLA clock again; entering it stops it.
        if row.status == Status::Pending && status != Status::Pending {
            resume(&mut row, sla, now);
        }
        if status == Status::Pending && row.paused_since.is_none() {
            row.paused_since = Some(now);
        }
        if status == Status::Resolved {
            row.resolved_at = Some(now);
            row.waiting_since = None;
            if row.resolution_due.is_some_and(|due| now > due) {
                row.resolution_breached = true;
            }
        }
        events.push((
            "status",
            json!({"from": row.status, "to": status, "snoozed_until": change.snoozed_until}),
        ));
        row.status = status;
        row.snoozed_until = if status == Status::Snoozed { change.snoozed_until } else { None };
    }
    if let Some(labels) = &change.labels {
        let mut labels: Vec<String> = labels.iter().map(|l| l.trim().to_string()).collect();
        labels.sort();
        labels.dedup();
        let before = sql::labels(tx, row.id).await?;
        if before != labels {
            sql::set_labels(tx, row.id, &labels).await?;
            events.push(("labels", json!({"from": before, "to": labels})));
        }
    }
    if !events.is_empty() {
        row.updated_at = now;
        sql::save(tx, &row).await?;
        for (kind, data) in events {
            sql::event(tx, &row, kind, actor, data).await?;
        }
    }
    Ok(views::summaries(tx, &[row]).await?.remove(0))
}

/// Whether the caller may see a conversation: everyone above an agent does; an agent sees
/// those assigned to them, those of their teams and those of no team.
/// Conversations per team (named) and per connector under the query's statuses.
async fn breakdown_of(conn: &mut Conn<'_>, query: &InboxQuery) -> Result<Breakdown, StoreError> {
    let (teams, connectors) = sql::breakdown(conn, query).await?;
    let ids: Vec<i64> = teams.iter().filter_map(|(id, _)| *id).collect();
    let names = sql::names(conn, "teams", &ids).await?;
    let teams = teams
        .into_iter()
        .map(|(id, count)| GroupCount {
            key: id.map_or_else(|| "none".to_string(), |id| id.to_string()),
            name: id.and_then(|id| names.get(&id).cloned().flatten()),
            count,
        })
        .collect();
    let connectors =
        connectors.into_iter().map(|(key, count)| GroupCount { key, name: None, count }).collect();
    Ok((teams, connectors))
}

pub(crate) async fn may_see(
    conn: &mut Conn<'_>,
    who: &Principal,
    row: &Row,
) -> Result<bool, StoreError> {
    if who.access() != Access::Agent {
        return Ok(true);
    }
    let me = who.user_id();
    if row.assignee_id.is_some() && row.assignee_id == me {
        return Ok(true);
    }
    let Some(team) = row.team_id else { return Ok(true) };
    let member: Option<(i64,)> = conn
        .optional(
            "SELECT user_id FROM team_members WHERE team_id = $1 AND user_id = $2",
            params![team, me],
        )
        .await?;
    Ok(member.is_some())
}

/// A conversation the caller may see, locked for a change; not found otherwise.
async fn visible(tx: &mut Tx<'_>, who: &Principal, id: i64, lock: bool) -> Result<Row, DeskError> {
    let Some(row) = sql::get(tx, id, lock).await? else {
        return Err(DeskError::NotFound(format!("conversation {id}")));
    };
    if !may_see(tx, who, &row).await? {
        return Err(DeskError::NotFound(format!("conversation {id}")));
    }
    Ok(row)
}

/// The `@handles` of a text, lower-cased: `@ann` and `@ann@shop.example` both count.
fn mentions(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '!' | '?'))
        .filter_map(|word| word.strip_prefix('@'))
        .map(|handle| handle.trim_end_matches(['.', ':']).to_lowercase())
        .filter(|handle| !handle.is_empty())
        .collect();
    found.sort();
    found.dedup();
    found
}

/// A conversation marked answered at `at` (a reply went out).
pub(crate) fn mark_answered(row: &mut Row, at: i64) {
    answered(row, at);
    row.updated_at = now_millis();
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_are_handles_or_addresses() {
        assert_eq!(
            mentions("ping @Ann, and @bob@shop.example: thanks @ann."),
            ["ann", "bob@shop.example"]
        );
        assert!(mentions("mail me at ann@shop.example").is_empty());
    }
}
