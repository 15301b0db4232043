//! The SQL of conversations: their rows, channels, labels, notes and events; the inbox's
//! queries; and the conversation's messages across channels. Only SQL: what a message does to
//! a conversation is the router's, what an agent may do is the desk's.

use serde::{Deserialize, Serialize};

use super::sql::{Column, Conn, FromRow, params};
use super::{Backend, LiveEvent, Store, StoreError, Tx, now_millis, read_job};
use crate::sla::Priority;

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the company.
    Open,
    /// Waiting for the customer: the SLA clock is stopped.
    Pending,
    /// Put aside until a time; reopens then, or when the customer writes.
    Snoozed,
    /// Done; a new message reopens it within the reopen window, else starts a new one.
    Resolved,
}

impl Status {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Snoozed => "snoozed",
            Status::Resolved => "resolved",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "open" => Some(Status::Open),
            "pending" => Some(Status::Pending),
            "snoozed" => Some(Status::Snoozed),
            "resolved" => Some(Status::Resolved),
            _ => None,
        }
    }
}

/// A conversation's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub id: i64,
    pub customer_id: i64,
    pub status: Status,
    pub priority: Priority,
    pub snoozed_until: Option<i64>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub subject: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_at: i64,
    pub last_message_preview: Option<String>,
    pub last_message_direction: Option<String>,
    pub last_message_channel: Option<String>,
    pub last_inbound_at: Option<i64>,
    pub waiting_since: Option<i64>,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub reopened_count: i64,
    pub sla_policy: Option<String>,
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub paused_since: Option<i64>,
    pub merged_into: Option<i64>,
    pub opened_connector: Option<String>,
    pub opened_channel: Option<String>,
}

pub(crate) const COLUMNS: &str = "id, customer_id, status, priority, snoozed_until, assignee_id, team_id, subject, \
     created_at, updated_at, last_message_at, last_message_preview, last_message_direction, last_message_channel, \
     last_inbound_at, waiting_since, first_response_at, resolved_at, reopened_count, sla_policy, first_response_due, \
     resolution_due, first_response_breached, resolution_breached, paused_since, merged_into, opened_connector, \
     opened_channel";

macro_rules! row_from {
    ($row:ident, $get:ident) => {{
        let status: String = Column::$get($row, 2)?;
        let priority: String = Column::$get($row, 3)?;
        Row {
            id: Column::$get($row, 0)?,
            customer_id: Column::$get($row, 1)?,
            status: Status::parse(&status).unwrap_or(Status::Open),
            priority: Priority::parse(&priority).unwrap_or_default(),
            snoozed_until: Column::$get($row, 4)?,
            assignee_id: Column::$get($row, 5)?,
            team_id: Column::$get($row, 6)?,
            subject: Column::$get($row, 7)?,
            created_at: Column::$get($row, 8)?,
            updated_at: Column::$get($row, 9)?,
            last_message_at: Column::$get($row, 10)?,
            last_message_preview: Column::$get($row, 11)?,
            last_message_direction: Column::$get($row, 12)?,
            last_message_channel: Column::$get($row, 13)?,
            last_inbound_at: Column::$get($row, 14)?,
            waiting_since: Column::$get($row, 15)?,
            first_response_at: Column::$get($row, 16)?,
            resolved_at: Column::$get($row, 17)?,
            reopened_count: Column::$get($row, 18)?,
            sla_policy: Column::$get($row, 19)?,
            first_response_due: Column::$get($row, 20)?,
            resolution_due: Column::$get($row, 21)?,
            first_response_breached: Column::$get($row, 22)?,
            resolution_breached: Column::$get($row, 23)?,
            paused_since: Column::$get($row, 24)?,
            merged_into: Column::$get($row, 25)?,
            opened_connector: Column::$get($row, 26)?,
            opened_channel: Column::$get($row, 27)?,
        }
    }};
}

impl FromRow for Row {
    fn sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(row_from!(row, sqlite))
    }
    fn postgres(row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        Ok(row_from!(row, postgres))
    }
}

/// One conversation, locked (PostgreSQL) when `lock`.
pub(crate) async fn get(
    conn: &mut Conn<'_>,
    id: i64,
    lock: bool,
) -> Result<Option<Row>, StoreError> {
    let lock = if lock && conn.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
    conn.optional(&format!("SELECT {COLUMNS} FROM conversations WHERE id = $1{lock}"), params![id])
        .await
}

/// The customer's conversations, latest message first.
pub(crate) async fn of_customer(
    conn: &mut Conn<'_>,
    customer: i64,
    limit: i64,
) -> Result<Vec<Row>, StoreError> {
    conn.all(
        &format!(
            "SELECT {COLUMNS} FROM conversations WHERE customer_id = $1 AND merged_into IS NULL \
             ORDER BY last_message_at DESC, id DESC LIMIT $2"
        ),
        params![customer, limit],
    )
    .await
}

/// The customer's conversation that is not resolved, if any (at most one).
pub(crate) async fn active(conn: &mut Conn<'_>, customer: i64) -> Result<Option<Row>, StoreError> {
    let lock = if conn.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
    conn.optional(
        &format!(
            "SELECT {COLUMNS} FROM conversations WHERE customer_id = $1 AND status <> 'resolved' \
             AND merged_into IS NULL{lock}"
        ),
        params![customer],
    )
    .await
}

/// The customer's latest resolved conversation, if any.
pub(crate) async fn latest_resolved(
    conn: &mut Conn<'_>,
    customer: i64,
) -> Result<Option<Row>, StoreError> {
    conn.optional(
        &format!(
            "SELECT {COLUMNS} FROM conversations WHERE customer_id = $1 AND status = 'resolved' \
             AND merged_into IS NULL ORDER BY resolved_at DESC, id DESC LIMIT 1"
        ),
        params![customer],
    )
    .await
}

/// Inserts a conversation; its id.
pub(crate) async fn insert(conn: &mut Conn<'_>, row: &Row) -> Result<i64, StoreError> {
    let (id,): (i64,) = conn
        .one(
            "INSERT INTO conversations (customer_id, status, priority, snoozed_until, assignee_id, team_id, subject, \
             created_at, updated_at, last_message_at, last_message_preview, last_message_direction, last_message_channel, \
             last_inbound_at, waiting_since, first_response_at, resolved_at, reopened_count, sla_policy, \
             first_response_due, resolution_due, first_response_breached, resolution_breached, paused_since, \
             opened_connector, opened_channel) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
             $22, $23, $24, $25, $26) RETURNING id",
            params![
                row.customer_id,
                row.status.as_str(),
                row.priority.as_str(),
                row.snoozed_until,
                row.assignee_id,
                row.team_id,
                row.subject,
                row.created_at,
                row.updated_at,
                row.last_message_at,
                row.last_message_preview,
                row.last_message_direction,
                row.last_message_channel,
                row.last_inbound_at,
                row.waiting_since,
                row.first_response_at,
                row.resolved_at,
                row.reopened_count,
                row.sla_policy,
                row.first_response_due,
                row.resolution_due,
                row.first_response_breached,
                row.resolution_breached,
                row.paused_since,
                row.opened_connector,
                row.opened_channel
            ],
        )
        .await?;
    Ok(id)
}

/// Writes every field of a conversation back.
pub(crate) async fn save(conn: &mut Conn<'_>, row: &Row) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE conversations SET customer_id = $2, status = $3, priority = $4, snoozed_until = $5, assignee_id = $6, \
         team_id = $7, subject = $8, updated_at = $9, last_message_at = $10, last_message_preview = $11, \
         last_message_direction = $12, last_message_channel = $13, last_inbound_at = $14, waiting_since = $15, \
         first_response_at = $16, resolved_at = $17, reopened_count = $18, sla_policy = $19, first_response_due = $20, \
         resolution_due = $21, first_response_breached = $22, resolution_breached = $23, paused_since = $24, \
         merged_into = $25 WHERE id = $1",
        params![
            row.id,
            row.customer_id,
            row.status.as_str(),
            row.priority.as_str(),
            row.snoozed_until,
            row.assignee_id,
            row.team_id,
            row.subject,
            row.updated_at,
            row.last_message_at,
            row.last_message_preview,
            row.last_message_direction,
            row.last_message_channel,
            row.last_inbound_at,
            row.waiting_since,
            row.first_response_at,
            row.resolved_at,
            row.reopened_count,
            row.sla_policy,
            row.first_response_due,
            row.resolution_due,
            row.first_response_breached,
            row.resolution_breached,
            row.paused_since,
            row.merged_into
        ],
    )
    .await?;
    Ok(())
}

/// Records that a conversation spans `connector`/`channel`; `true` if it did not before.
pub(crate) async fn add_channel(
    conn: &mut Conn<'_>,
    conversation: i64,
    connector: &str,
    channel: &str,
) -> Result<bool, StoreError> {
    let added = conn
        .execute(
            "INSERT INTO conversation_channels (conversation_id, connector_id, channel) VALUES ($1, $2, $3) \
             ON CONFLICT (conversation_id, connector_id, channel) DO NOTHING",
            params![conversation, connector, channel],
        )
        .await?;
    Ok(added > 0)
}

/// Forgets that a conversation spans `connector`/`channel`.
pub(crate) async fn remove_channel(
    conn: &mut Conn<'_>,
    conversation: i64,
    connector: &str,
    channel: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM conversation_channels WHERE conversation_id = $1 AND connector_id = $2 AND channel = $3",
        params![conversation, connector, channel],
    )
    .await?;
    Ok(())
}

/// The (connector, channel) pairs a conversation spans.
pub(crate) async fn channels(
    conn: &mut Conn<'_>,
    conversation: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    conn.all(
        "SELECT connector_id, channel FROM conversation_channels WHERE conversation_id = $1 ORDER BY connector_id, channel",
        params![conversation],
    )
    .await
}

/// A conversation's labels, sorted.
pub(crate) async fn labels(
    conn: &mut Conn<'_>,
    conversation: i64,
) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = conn
        .all(
            "SELECT label FROM conversation_labels WHERE conversation_id = $1 ORDER BY label",
            params![conversation],
        )
        .await?;
    Ok(rows.into_iter().map(|(l,)| l).collect())
}

/// Replaces a conversation's labels.
pub(crate) async fn set_labels(
    conn: &mut Conn<'_>,
    conversation: i64,
    labels: &[String],
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM conversation_labels WHERE conversation_id = $1",
        params![conversation],
    )
    .await?;
    for label in labels {
        conn.execute(
            "INSERT INTO conversation_labels (conversation_id, label) VALUES ($1, $2) \
             ON CONFLICT (conversation_id, label) DO NOTHING",
            params![conversation, label],
        )
        .await?;
    }
    Ok(())
}

/// Records a change to a conversation and queues it for the live stream after the commit.
pub(crate) async fn event(
    tx: &mut Tx<'_>,
    row: &Row,
    kind: &str,
    actor: Option<i64>,
    data: serde_json::Value,
) -> Result<i64, StoreError> {
    let at = now_millis();
    let (id,): (i64,) = tx
        .one(
            "INSERT INTO conversation_events (conversation_id, customer_id, kind, actor_id, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            params![row.id, row.customer_id, kind, actor, data.to_string(), at],
        )
        .await?;
    tx.published.push(LiveEvent {
        id,
        kind: kind.to_string(),
        conversation_id: row.id,
        customer_id: row.customer_id,
        team_id: row.team_id,
        assignee_id: row.assignee_id,
        actor_id: actor,
        data,
        at,
    });
    Ok(id)
}

/// Sets which conversation interactions belong to.
pub(crate) async fn move_interactions(
    conn: &mut Conn<'_>,
    interactions: &[i64],
    conversation: Option<i64>,
) -> Result<(), StoreError> {
    for chunk in interactions.chunks(500) {
        let sql = match conn.backend() {
            Backend::Sqlite => {
                "UPDATE interactions SET conversation_id = $1 WHERE id IN (SELECT value FROM json_each($2))"
            }
            Backend::Postgres => "UPDATE interactions SET conversation_id = $1 WHERE id = ANY($2)",
        };
        conn.execute(sql, params![conversation, chunk.to_vec()]).await?;
    }
    Ok(())
}

/// The interactions of a conversation, oldest first: (id, connector, channel, direction,
/// occurred_at, body).
pub(crate) async fn interactions_of(
    conn: &mut Conn<'_>,
    conversation: i64,
) -> Result<Vec<(i64, String, String, String, i64, Option<String>)>, StoreError> {
    conn.all(
        "SELECT id, connector_id, channel, direction, occurred_at, body FROM interactions \
         WHERE conversation_id = $1 ORDER BY occurred_at, id",
        params![conversation],
    )
    .await
}

/// The first characters of a message, for an inbox row.
pub(crate) fn preview(text: Option<&str>, subject: Option<&str>) -> Option<String> {
    let text = text.map(str::trim).filter(|t| !t.is_empty()).or(subject)?;
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(match flat.char_indices().nth(140) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    })
}

impl Store {
    /// The conversation change events with ids above `after`, oldest first, at most `limit`
    /// (a live stream that reconnects catches up with them).
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<LiveEvent>, StoreError> {
        self.read(read_job!(|conn| async move {
            type EventRow = (i64, String, i64, i64, Option<i64>, String, i64, Option<i64>, Option<i64>);
            let rows: Vec<EventRow> = conn
                .all(
                    "SELECT e.id, e.kind, e.conversation_id, e.customer_id, e.actor_id, e.data, e.created_at, \
                     c.team_id, c.assignee_id FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id \
                     WHERE e.id > $1 ORDER BY e.id LIMIT $2",
                    params![after, limit],
                )
                .await?;
            Ok(rows
                .into_iter()
                .map(|(id, kind, conversation_id, customer_id, actor_id, data, at, team_id, assignee_id)| LiveEvent {
                    id,
                    kind,
                    conversation_id,
                    customer_id,
                    team_id,
                    assignee_id,
                    actor_id,
                    data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                    at,
                })
                .collect())
        }))
        .await
    }
}

/// Which conversations an inbox shows by assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Assigned to the viewer.
    Mine,
    /// Assigned to nobody.
    Unassigned,
    /// Every conversation the viewer may see.
    All,
}

/// An inbox's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Newest message first.
    #[default]
    Newest,
    /// Waiting longest first (answered ones after).
    OldestWaiting,
}

/// An inbox query.
#[derive(Debug, Clone)]
pub(crate) struct InboxQuery {
    pub view: View,
    /// The viewer (for `mine`), and whether they see only their teams' conversations.
    pub viewer: Option<i64>,
    pub restricted: bool,
    pub team: Option<i64>,
    pub channel: Option<String>,
    pub statuses: Vec<Status>,
    pub label: Option<String>,
    pub order: Order,
    /// Continue after this (sort key, id).
    pub after: Option<(i64, i64)>,
    pub limit: i64,
}

/// What every inbox condition but the view and the cursor says, with its parameters.
fn common_filters(query: &InboxQuery, params: &mut super::sql::Params) -> Vec<String> {
    use super::sql::Owned;
    let mut clauses = vec!["c.merged_into IS NULL".to_string()];
    if query.restricted {
        let me = params.push(Owned::Int(query.viewer));
        clauses.push(format!(
            "(c.assignee_id = {me} OR c.team_id IS NULL OR c.team_id IN \
             (SELECT team_id FROM team_members WHERE user_id = {me}))"
        ));
    }
    if let Some(team) = query.team {
        clauses.push(format!("c.team_id = {}", params.push(Owned::Int(Some(team)))));
    }
    if let Some(channel) = &query.channel {
        let p = params.push(Owned::Text(Some(channel.clone())));
        // A probe of the conversation's own few channel rows (its primary key) per candidate:
        // the page walks the (status, time) index and stops at the page's end.
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM conversation_channels cc WHERE cc.conversation_id = c.id \
             AND (cc.connector_id = {p} OR cc.channel = {p}))"
        ));
    }
    if !query.statuses.is_empty() {
        // Written out, not bound as a list: the names are the enum's own constants, and an
        // equality (or a short IN) lets both planners walk the (status, time) indexes in
        // order instead of scanning every conversation.
        let names: Vec<String> =
            query.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
        clauses.push(match names.as_slice() {
            [one] => format!("c.status = {one}"),
            many => format!("c.status IN ({})", many.join(", ")),
        });
    }
    if let Some(label) = &query.label {
        let p = params.push(Owned::Text(Some(label.clone())));
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM conversation_labels cl WHERE cl.conversation_id = c.id AND cl.label = {p})"
        ));
    }
    clauses
}

/// The sort key of a conversation in `order`, as the cursor carries it.
pub(crate) fn sort_key(row: &Row, order: Order) -> i64 {
    match order {
        Order::Newest => row.last_message_at,
        Order::OldestWaiting => row.waiting_since.unwrap_or(i64::MAX),
    }
}

/// A page of an inbox: rows in order, and whether more follow.
pub(crate) async fn inbox(
    conn: &mut Conn<'_>,
    query: &InboxQuery,
) -> Result<(Vec<Row>, bool), StoreError> {
    use super::sql::Owned;
    let mut params = super::sql::Params::default();
    let mut clauses = common_filters(query, &mut params);
    match query.view {
        View::Mine => {
            clauses.push(format!("c.assignee_id = {}", params.push(Owned::Int(query.viewer))))
        }
        View::Unassigned => clauses.push("c.assignee_id IS NULL".into()),
        View::All => {}
    }
    let (key, order) = match (query.order, conn.backend()) {
        (Order::Newest, _) => ("c.last_message_at", "c.last_message_at DESC, c.id DESC"),
        // The same order (answered ones last) in each backend's words for its index on
        // (status, waiting_since, id): PostgreSQL sorts NULLs last ascending by itself.
        (Order::OldestWaiting, Backend::Postgres) => (
            "COALESCE(c.waiting_since, 9223372036854775807)",
            "c.waiting_since ASC NULLS LAST, c.id",
        ),
        (Order::OldestWaiting, Backend::Sqlite) => (
            "COALESCE(c.waiting_since, 9223372036854775807)",
            "COALESCE(c.waiting_since, 9223372036854775807), c.id",
        ),
    };
    if let Some((at, id)) = query.after {
        let (k, i) = (params.push(Owned::Int(Some(at))), params.push(Owned::Int(Some(id))));
        let cmp = if query.order == Order::Newest { "<" } else { ">" };
        clauses.push(format!("({key} {cmp} {k} OR ({key} = {k} AND c.id {cmp} {i}))"));
    }
    let limit = params.push(Owned::Int(Some(query.limit + 1)));
    let columns = COLUMNS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {columns} FROM conversations c WHERE {} ORDER BY {order} LIMIT {limit}",
        clauses.join(" AND ")
    );
    let mut rows: Vec<Row> = conn.all(&sql, &params.values()).await?;
    let more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit as usize);
    Ok((rows, more))
}

/// How many conversations each view holds under the query's other filters: (mine,
/// unassigned, all).
pub(crate) async fn counts(
    conn: &mut Conn<'_>,
    query: &InboxQuery,
) -> Result<(i64, i64, i64), StoreError> {
    use super::sql::Owned;
    let mut params = super::sql::Params::default();
    let clauses = common_filters(query, &mut params);
    let me = params.push(Owned::Int(query.viewer));
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN c.assignee_id = {me} THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN c.assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COUNT(*) AS BIGINT) FROM conversations c WHERE {}",
        clauses.join(" AND ")
    );
    conn.one(&sql, &params.values()).await
}

/// How many conversations each team holds (`None`: no team) and how many each connector's
/// channels carry, under the query's filters but its team and channel.
pub(crate) async fn breakdown(
    conn: &mut Conn<'_>,
    query: &InboxQuery,
) -> Result<(Vec<(Option<i64>, i64)>, Vec<(String, i64)>), StoreError> {
    let query = InboxQuery { team: None, channel: None, ..query.clone() };
    let mut params = super::sql::Params::default();
    let clauses = common_filters(&query, &mut params).join(" AND ");
    let teams = conn
        .all(
            &format!(
                "SELECT c.team_id, CAST(COUNT(*) AS BIGINT) FROM conversations c WHERE {clauses} \
                 GROUP BY c.team_id"
            ),
            &params.values(),
        )
        .await?;
    let connectors = conn
        .all(
            &format!(
                "SELECT cc.connector_id, CAST(COUNT(DISTINCT c.id) AS BIGINT) FROM conversations c \
                 JOIN conversation_channels cc ON cc.conversation_id = c.id WHERE {clauses} \
                 GROUP BY cc.connector_id ORDER BY cc.connector_id"
            ),
            &params.values(),
        )
        .await?;
    Ok((teams, connectors))
}

/// The names of ids in `table` (`customers`, `users`, `teams`).
pub(crate) async fn names(
    conn: &mut Conn<'_>,
    table: &'static str,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Option<String>>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let column = if table == "customers" { "display_name" } else { "name" };
    let sql = format!(
        "SELECT id, {column} FROM {table} WHERE {}",
        super::sql::in_list(conn.backend(), "id", 1)
    );
    let rows: Vec<(i64, Option<String>)> = conn.all(&sql, params![ids.to_vec()]).await?;
    Ok(rows.into_iter().collect())
}

/// The channels and labels of many conversations at once.
pub(crate) async fn channels_and_labels(
    conn: &mut Conn<'_>,
    ids: &[i64],
) -> Result<(Vec<(i64, String, String)>, Vec<(i64, String)>), StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let within = super::sql::in_list(conn.backend(), "conversation_id", 1);
    let channels = conn
        .all(
            &format!(
                "SELECT conversation_id, connector_id, channel FROM conversation_channels WHERE {within} \
                 ORDER BY conversation_id, connector_id, channel"
            ),
            params![ids.to_vec()],
        )
        .await?;
    let labels = conn
        .all(
            &format!("SELECT conversation_id, label FROM conversation_labels WHERE {within} ORDER BY conversation_id, label"),
            params![ids.to_vec()],
        )
        .await?;
    Ok((channels, labels))
}

/// A message of a conversation, as the detail view reads it.
pub(crate) type MessageRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    String,
    String,
    Option<i64>,
    String,
);

/// The messages of a conversation, oldest first.
pub(crate) async fn messages(
    conn: &mut Conn<'_>,
    conversation: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    conn.all(
        "SELECT id, connector_id, channel, kind, direction, subject, body, status, occurred_at, attachments, \
         attributes, author_id, provider_id FROM interactions WHERE conversation_id = $1 ORDER BY occurred_at, id",
        params![conversation],
    )
    .await
}

/// The notes of a conversation, oldest first: (id, author, body, mentions JSON, at).
pub(crate) async fn notes(
    conn: &mut Conn<'_>,
    conversation: i64,
) -> Result<Vec<(i64, Option<i64>, String, String, i64)>, StoreError> {
    conn.all(
        "SELECT id, author_id, body, mentions, created_at FROM notes WHERE conversation_id = $1 ORDER BY id",
        params![conversation],
    )
    .await
}

/// The events of a conversation, oldest first: (id, kind, actor, data JSON, at).
pub(crate) async fn events(
    conn: &mut Conn<'_>,
    conversation: i64,
) -> Result<Vec<(i64, String, Option<i64>, String, i64)>, StoreError> {
    conn.all(
        "SELECT id, kind, actor_id, data, created_at FROM conversation_events WHERE conversation_id = $1 ORDER BY id",
        params![conversation],
    )
    .await
}

/// Adds a private note; its id.
pub(crate) async fn add_note(
    conn: &mut Conn<'_>,
    conversation: i64,
    author: Option<i64>,
    body: &str,
    mentions: &[i64],
) -> Result<i64, StoreError> {
    let (id,): (i64,) = conn
        .one(
            "INSERT INTO notes (conversation_id, author_id, body, mentions, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            params![conversation, author, body, serde_json::to_string(mentions).unwrap_or_default(), now_millis()],
        )
        .await?;
    Ok(id)
}

/// The identifiers a connector may send to: the external ids in namespaces it owns, and the
/// e-mails and phones some provider verified; strongest kind first, most recently seen first.
pub(crate) async fn sendable(
    conn: &mut Conn<'_>,
    customer: i64,
    manifest: &crate::model::Manifest,
) -> Result<Vec<crate::model::Identifier>, StoreError> {
    use crate::model::Identifier;
    let rows: Vec<(String, String, i64)> = conn
        .all(
            "SELECT kind, value, MAX(verified) FROM contact_points WHERE customer_id = $1 AND status IN ('usable', 'shared') \
             GROUP BY kind, value \
             ORDER BY CASE kind WHEN 'external' THEN 0 WHEN 'email' THEN 1 ELSE 2 END, MAX(last_seen) DESC, value",
            params![customer],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, value, verified)| match kind.as_str() {
            "external" => {
                let (namespace, id) = value.rsplit_once(':')?;
                manifest
                    .owns_namespace(namespace)
                    .then(|| Identifier::External { namespace: namespace.into(), value: id.into() })
            }
            "email" if verified != 0 => Some(Identifier::Email { value }),
            "phone" if verified != 0 => Some(Identifier::Phone { value }),
            _ => None,
        })
        .collect())
}

/// Where a customer's latest written message is looked for.
pub(crate) enum Within {
    /// In one conversation.
    Conversation(i64),
    /// Anywhere on the customer's timeline.
    Customer(i64),
}

/// The connector of the latest inbound message (not a call: it cannot be answered in writing)
/// within a conversation or of a customer.
pub(crate) async fn latest_inbound_connector(
    conn: &mut Conn<'_>,
    within: Within,
) -> Result<Option<String>, StoreError> {
    let (column, id) = match within {
        Within::Conversation(id) => ("conversation_id", id),
        Within::Customer(id) => ("customer_id", id),
    };
    let row: Option<(String,)> = conn
        .optional(
            &format!(
                "SELECT connector_id FROM interactions WHERE {column} = $1 AND direction = 'inbound' \
                 AND kind = 'message' ORDER BY occurred_at DESC, id DESC LIMIT 1"
            ),
            params![id],
        )
        .await?;
    Ok(row.map(|(c,)| c))
}

/// The thread to continue on a connector: within the conversation when it has messages
/// there, else the customer's latest on it.
pub(crate) async fn thread(
    conn: &mut Conn<'_>,
    customer: i64,
    conversation: Option<i64>,
    connector: &str,
) -> Result<super::Thread, StoreError> {
    let latest: Option<(Option<String>,)> = conn
        .optional(
            "SELECT thread_id FROM interactions WHERE customer_id = $1 AND connector_id = $2 \
             AND ($3 IS NULL OR conversation_id = $3) AND thread_id IS NOT NULL \
             ORDER BY occurred_at DESC, id DESC LIMIT 1",
            params![customer, connector, conversation],
        )
        .await?;
    let Some((Some(thread_id),)) = latest else { return Ok(super::Thread::default()) };
    let messages: Vec<(String, String)> = conn
        .all(
            "SELECT provider_id, direction FROM interactions WHERE customer_id = $1 AND connector_id = $2 \
             AND thread_id = $3 ORDER BY occurred_at, id",
            params![customer, connector, thread_id],
        )
        .await?;
    let in_reply_to = messages.iter().rev().find(|(_, d)| d == "inbound").map(|(id, _)| id.clone());
    Ok(super::Thread {
        thread_id: Some(thread_id),
        in_reply_to,
        references: messages.into_iter().map(|(id, _)| id).collect(),
    })
}

/// A customer's preferred connector and who set it (`agent` or `customer`).
pub(crate) async fn preferred(
    conn: &mut Conn<'_>,
    customer: i64,
) -> Result<(Option<String>, Option<String>), StoreError> {
    let row: Option<(Option<String>, Option<String>)> = conn
        .optional(
            "SELECT preferred_channel, preferred_set_by FROM customers WHERE id = $1",
            params![customer],
        )
        .await?;
    Ok(row.unwrap_or((None, None)))
}

/// A message the company sent, recorded on the customer's timeline and their conversation.
pub(crate) struct Sent<'a> {
    pub customer: i64,
    pub conversation: Option<i64>,
    pub author: Option<i64>,
    pub connector: &'a str,
    pub channel: &'a str,
    pub provider_id: &'a str,
    pub thread_id: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub text: &'a str,
    pub status: Option<&'a str>,
    pub at: i64,
}

/// Records a sent message; its interaction's id. The provider may have reported it already (its
/// status webhook can beat this commit): that record is the same message, completed with what
/// only the sender knows — the text, the conversation, the author — and keeps its newer status.
pub(crate) async fn record_sent(conn: &mut Conn<'_>, sent: &Sent<'_>) -> Result<i64, StoreError> {
    let linked_by = match sent.author {
        Some(author) => format!("sent by user {author}"),
        None => "sent through the API".to_string(),
    };
    let (id,): (i64,) = conn
        .one(
            "INSERT INTO interactions (customer_id, linked_by, kind, direction, channel, thread_id, subject, body, \
             status, attachments, attributes, content_hash, connector_id, provider_id, occurred_at, created_at, \
             conversation_id, author_id) \
             VALUES ($1, $2, 'message', 'outbound', $3, $4, $5, $6, $7, '[]', '[]', '', $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (connector_id, provider_id) DO UPDATE SET \
             body = COALESCE(interactions.body, excluded.body), \
             subject = COALESCE(interactions.subject, excluded.subject), \
             status = COALESCE(interactions.status, excluded.status), \
             conversation_id = COALESCE(interactions.conversation_id, excluded.conversation_id), \
             author_id = COALESCE(interactions.author_id, excluded.author_id) \
             RETURNING id",
            params![
                sent.customer,
                linked_by,
                sent.channel,
                sent.thread_id,
                sent.subject,
                sent.text,
                sent.status,
                sent.connector,
                sent.provider_id,
                sent.at,
                now_millis(),
                sent.conversation,
                sent.author
            ],
        )
        .await?;
    Ok(id)
}

/// The outcome recorded for an idempotency key: (who sent, request hash, state, response).
pub(crate) async fn send_attempt(
    conn: &mut Conn<'_>,
    key: &str,
) -> Result<Option<(String, String, String, Option<String>)>, StoreError> {
    conn.optional(
        "SELECT user_key, request_hash, state, response FROM sends WHERE idempotency_key = $1",
        params![key],
    )
    .await
}

/// Claims an idempotency key for a send about to happen; `false` if it was claimed before.
pub(crate) async fn claim_send(
    conn: &mut Conn<'_>,
    key: &str,
    user_key: &str,
    request_hash: &str,
) -> Result<bool, StoreError> {
    let now = now_millis();
    let claimed = conn
        .execute(
            "INSERT INTO sends (idempotency_key, user_key, request_hash, state, created_at, updated_at) \
             VALUES ($1, $2, $3, 'sending', $4, $4) ON CONFLICT (idempotency_key) DO NOTHING",
            params![key, user_key, request_hash, now],
        )
        .await?;
    Ok(claimed > 0)
}

/// Records how a claimed send ended.
pub(crate) async fn finish_send(
    conn: &mut Conn<'_>,
    key: &str,
    state: &str,
    response: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sends SET state = $2, response = $3, updated_at = $4 WHERE idempotency_key = $1",
        params![key, state, response, now_millis()],
    )
    .await?;
    Ok(())
}

/// A canned reply: (id, name, body, updated_at).
pub(crate) type CannedRow = (i64, String, String, i64);

/// Every canned reply, by name.
pub(crate) async fn canned_replies(conn: &mut Conn<'_>) -> Result<Vec<CannedRow>, StoreError> {
    conn.all("SELECT id, name, body, updated_at FROM canned_replies ORDER BY name", params![]).await
}

/// One canned reply.
pub(crate) async fn canned_reply(
    conn: &mut Conn<'_>,
    id: i64,
) -> Result<Option<CannedRow>, StoreError> {
    conn.optional(
        "SELECT id, name, body, updated_at FROM canned_replies WHERE id = $1",
        params![id],
    )
    .await
}

/// The users whose e-mail or e-mail local part is one of `handles` (for @mentions).
pub(crate) async fn users_by_handle(
    conn: &mut Conn<'_>,
    handles: &[String],
) -> Result<Vec<(i64, String, String)>, StoreError> {
    if handles.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String, String)> =
        conn.all("SELECT id, email, name FROM users WHERE active = 1", params![]).await?;
    Ok(rows
        .into_iter()
        .filter(|(_, email, _)| {
            let local = email.split('@').next().unwrap_or("");
            handles.iter().any(|h| h == email || h == local)
        })
        .collect())
}

/// Recomputes what a conversation says about its messages after some moved in or out.
pub(crate) async fn refresh(tx: &mut Tx<'_>, mut row: Row) -> Result<Row, StoreError> {
    let messages = interactions_of(tx, row.id).await?;
    let spanned: std::collections::BTreeSet<(String, String)> = messages
        .iter()
        .map(|(_, connector, channel, ..)| (connector.clone(), channel.clone()))
        .collect();
    for (connector, channel) in channels(tx, row.id).await? {
        if !spanned.contains(&(connector.clone(), channel.clone())) {
            remove_channel(tx, row.id, &connector, &channel).await?;
        }
    }
    for (connector, channel) in &spanned {
        add_channel(tx, row.id, connector, channel).await?;
    }
    if let Some((_, _, channel, direction, at, body)) = messages.last() {
        row.last_message_at = *at;
        row.last_message_preview = preview(body.as_deref(), None);
        row.last_message_direction = Some(direction.clone());
        row.last_message_channel = Some(channel.clone());
    }
    row.last_inbound_at = messages.iter().rev().find(|m| m.3 == "inbound").map(|m| m.4);
    // Waiting since the first inbound message after the last outbound one.
    let last_out = messages.iter().rposition(|m| m.3 == "outbound");
    row.waiting_since = messages
        .iter()
        .skip(last_out.map_or(0, |i| i + 1))
        .find(|m| m.3 == "inbound")
        .map(|m| m.4)
        .filter(|_| row.status != Status::Resolved);
    row.updated_at = now_millis();
    save(tx, &row).await?;
    Ok(row)
}

/// Merges `from` into `into` (same customer): messages, channels and labels move; `from`
/// stays, merged and resolved. Returns the merged conversation.
pub(crate) async fn merge_into(
    tx: &mut Tx<'_>,
    into: Row,
    mut from: Row,
    actor: Option<i64>,
) -> Result<Row, StoreError> {
    let moved: Vec<i64> = interactions_of(tx, from.id).await?.into_iter().map(|m| m.0).collect();
    move_interactions(tx, &moved, Some(into.id)).await?;
    let mut all = labels(tx, into.id).await?;
    all.extend(labels(tx, from.id).await?);
    all.sort();
    all.dedup();
    set_labels(tx, into.id, &all).await?;
    from.merged_into = Some(into.id);
    if from.status != Status::Resolved {
        from.status = Status::Resolved;
        from.resolved_at = Some(now_millis());
    }
    from.updated_at = now_millis();
    save(tx, &from).await?;
    let into = refresh(tx, into).await?;
    let data = serde_json::json!({"into": into.id, "from": from.id, "interactions": moved});
    event(tx, &from, "merged", actor, data.clone()).await?;
    event(tx, &into, "merged", actor, data).await?;
    Ok(into)
}
