//! Which conversation a message joins, and who is responsible for a new one.
//!
//! An inbound message, call, callback request or review joins its customer's conversation
//! that is not resolved — whatever the channel: that is how a ticket moves from e-mail to
//! WhatsApp to a phone call with its context — and wakes it if it was pending or snoozed. With
//! none, a resolved one reopens if it was resolved within the reopen window; otherwise a new
//! conversation opens, assigned by the routing rule of its connector or channel. Outbound
//! records join the open conversation but never reopen one.

use std::time::Duration;

use serde_json::json;

use crate::model::{Direction, InteractionKind};
use crate::sla::{DeskSettings, Priority, Sla};
use crate::store::conversations::{self as sql, Row, Status};
use crate::store::people::{self, Policy};
use crate::store::{StoreError, Tx, now_millis, params};

/// A new interaction, as conversations see it.
pub(crate) struct Arrival<'a> {
    pub connector: &'a str,
    pub channel: &'a str,
    pub kind: InteractionKind,
    pub direction: Direction,
    pub at: i64,
    pub text: Option<&'a str>,
    pub subject: Option<&'a str>,
    /// The user who wrote it (a reply through the API).
    pub author: Option<i64>,
}

/// Whether an interaction of this kind belongs in a conversation (carts, wishlists and page
/// views are behaviour, not conversation).
pub(crate) fn converses(kind: InteractionKind) -> bool {
    matches!(
        kind,
        InteractionKind::Message
            | InteractionKind::Call
            | InteractionKind::CallbackRequest
            | InteractionKind::Review
    )
}

/// Places an arrival in a conversation of `customer`; its id, or none when it joins none.
pub(crate) async fn place(
    tx: &mut Tx<'_>,
    settings: &DeskSettings,
    customer: i64,
    arrival: &Arrival<'_>,
) -> Result<Option<i64>, StoreError> {
    if !converses(arrival.kind) {
        return Ok(None);
    }
    let preview = sql::preview(arrival.text, arrival.subject);
    if let Some(mut row) = sql::active(tx, customer).await? {
        let before = row.status;
        touch(&mut row, arrival, preview);
        match arrival.direction {
            Direction::Inbound => {
                if matches!(row.status, Status::Pending | Status::Snoozed) {
                    resume(&mut row, &settings.sla, arrival.at);
                    row.status = Status::Open;
                    row.snoozed_until = None;
                }
            }
            Direction::Outbound => answered(&mut row, arrival.at),
        }
        sql::save(tx, &row).await?;
        sql::add_channel(tx, row.id, arrival.connector, arrival.channel).await?;
        if row.status != before {
            let data = json!({"from": before.as_str(), "to": row.status.as_str(), "reason": "the customer wrote"});
            sql::event(tx, &row, "status", None, data).await?;
        }
        message_event(tx, &row, arrival).await?;
        return Ok(Some(row.id));
    }
    if arrival.direction == Direction::Outbound {
        return Ok(None);
    }
    if let Some(mut row) = sql::latest_resolved(tx, customer).await?
        && row
            .resolved_at
            .is_some_and(|at| arrival.at - at <= settings.reopen_within.as_millis() as i64)
    {
        touch(&mut row, arrival, preview);
        row.status = Status::Open;
        row.resolved_at = None;
        row.reopened_count += 1;
        row.resolution_breached = false;
        row.resolution_due = row
            .sla_policy
            .as_deref()
            .and_then(|name| settings.sla.named(name))
            .and_then(|policy| Some(settings.sla.due(policy, arrival.at, policy.resolution?)));
        sql::save(tx, &row).await?;
        sql::add_channel(tx, row.id, arrival.connector, arrival.channel).await?;
        sql::event(tx, &row, "reopened", None, json!({"reason": "the customer wrote again"}))
            .await?;
        message_event(tx, &row, arrival).await?;
        return Ok(Some(row.id));
    }
    let (team_id, assignee_id) = assign(tx, arrival.connector, arrival.channel).await?;
    let priority = Priority::Normal;
    let policy = settings.sla.policy(arrival.connector, arrival.channel, priority);
    let due = |d: Option<Duration>| Some(settings.sla.due(policy?, arrival.at, d?));
    let now = now_millis();
    let mut row = Row {
        id: 0,
        customer_id: customer,
        status: Status::Open,
        priority,
        snoozed_until: None,
        assignee_id,
        team_id,
        subject: arrival.subject.map(str::to_string),
        created_at: arrival.at,
        updated_at: now,
        last_message_at: arrival.at,
        last_message_preview: preview,
        last_message_direction: Some("inbound".into()),
        last_message_channel: Some(arrival.channel.to_string()),
        last_inbound_at: Some(arrival.at),
        waiting_since: Some(arrival.at),
        first_response_at: None,
        resolved_at: None,
        reopened_count: 0,
        sla_policy: policy.map(|p| p.name.clone()),
        first_response_due: due(policy.and_then(|p| p.first_response)),
        resolution_due: due(policy.and_then(|p| p.resolution)),
        first_response_breached: false,
        resolution_breached: false,
        paused_since: None,
        merged_into: None,
        opened_connector: Some(arrival.connector.to_string()),
        opened_channel: Some(arrival.channel.to_string()),
    };
    row.id = sql::insert(tx, &row).await?;
    sql::add_channel(tx, row.id, arrival.connector, arrival.channel).await?;
    sql::event(
        tx,
        &row,
        "created",
        None,
        json!({"connector": arrival.connector, "channel": arrival.channel}),
    )
    .await?;
    if row.assignee_id.is_some() || row.team_id.is_some() {
        let data = json!({"assignee_id": row.assignee_id, "team_id": row.team_id, "by": "routing"});
        sql::event(tx, &row, "assigned", None, data).await?;
    }
    message_event(tx, &row, arrival).await?;
    // Where the customer chose to start is where they prefer to be answered, unless an agent
    // said otherwise.
    tx.execute(
        "UPDATE customers SET preferred_channel = $2, preferred_set_by = 'customer' \
         WHERE id = $1 AND (preferred_set_by IS NULL OR preferred_set_by = 'customer')",
        params![customer, arrival.connector],
    )
    .await?;
    Ok(Some(row.id))
}

fn touch(row: &mut Row, arrival: &Arrival<'_>, preview: Option<String>) {
    row.updated_at = now_millis();
    if arrival.at >= row.last_message_at {
        row.last_message_at = arrival.at;
        row.last_message_preview = preview;
        row.last_message_direction = Some(direction(arrival.direction).into());
        row.last_message_channel = Some(arrival.channel.to_string());
    }
    if arrival.direction == Direction::Inbound {
        row.last_inbound_at = Some(row.last_inbound_at.map_or(arrival.at, |t| t.max(arrival.at)));
        if row.waiting_since.is_none() {
            row.waiting_since = Some(arrival.at);
        }
    }
}

/// The company answered at `at`: the customer no longer waits, and the first answer is the
/// first response (late if after its due time).
pub(crate) fn answered(row: &mut Row, at: i64) {
    row.waiting_since = None;
    if row.first_response_at.is_none() {
        row.first_response_at = Some(at);
        if row.first_response_due.is_some_and(|due| at > due) {
            row.first_response_breached = true;
        }
    }
}

/// A pending conversation's SLA clock starts again at `now`: its due times move by the pause.
pub(crate) fn resume(row: &mut Row, sla: &Sla, now: i64) {
    let Some(since) = row.paused_since.take() else { return };
    let Some(policy) = row.sla_policy.as_deref().and_then(|name| sla.named(name)) else { return };
    if row.first_response_at.is_none() {
        row.first_response_due =
            row.first_response_due.map(|due| sla.paused(policy, due, since, now));
    }
    row.resolution_due = row.resolution_due.map(|due| sla.paused(policy, due, since, now));
}

fn direction(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

async fn message_event(
    tx: &mut Tx<'_>,
    row: &Row,
    arrival: &Arrival<'_>,
) -> Result<(), StoreError> {
    let data = json!({
        "connector": arrival.connector,
        "channel": arrival.channel,
        "direction": direction(arrival.direction),
        "kind": serde_json::to_value(arrival.kind).unwrap_or_default(),
        "at": arrival.at,
        "preview": row.last_message_preview,
    });
    sql::event(tx, row, "message", arrival.author, data).await?;
    Ok(())
}

/// Who is responsible for a new conversation on `connector`/`channel`: the rule of the
/// connector, else of the channel; its team, and the agent its policy picks.
pub(crate) async fn assign(
    tx: &mut Tx<'_>,
    connector: &str,
    channel: &str,
) -> Result<(Option<i64>, Option<i64>), StoreError> {
    let scopes = [format!("connector:{connector}"), format!("channel:{channel}")];
    let Some(stored) = people::rule_for(tx, &scopes).await? else { return Ok((None, None)) };
    let rule = &stored.rule;
    let candidates = people::candidates(tx, rule.team_id, rule.user_id).await?;
    let below_capacity = |(_, capacity, open): &&(i64, Option<i64>, i64)| {
        capacity.or(rule.capacity).is_none_or(|limit| *open < limit)
    };
    let assignee = match rule.policy {
        Policy::Manual => rule.user_id.filter(|user| candidates.iter().any(|(c, ..)| c == user)),
        Policy::RoundRobin => {
            let available: Vec<i64> =
                candidates.iter().filter(below_capacity).map(|(id, ..)| *id).collect();
            let next = match stored.last_assigned {
                Some(last) => available.iter().find(|id| **id > last).or(available.first()),
                None => available.first(),
            }
            .copied();
            if let Some(next) = next {
                people::assigned_by(tx, stored.id, next).await?;
            }
            next
        }
        Policy::LeastOpen => candidates
            .iter()
            .filter(below_capacity)
            .min_by_key(|(id, _, open)| (*open, *id))
            .map(|(id, ..)| *id),
    };
    Ok((rule.team_id, assignee))
}
