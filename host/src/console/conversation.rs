//! A conversation: every message across channels in order (calls with status and duration,
//! attachments listed), notes and what happened to it; the reply box that says which channel
//! the reply goes out on and the customer's consent there; assign, status, snooze, labels,
//! priority; and the customer beside it. `/conversations/{id}/live` answers the thread alone
//! for the script to swap in when the event stream reports a change.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Nav, PageError};
use super::session::{Flash, Submitted, Viewer, redirect_with};
use super::{format, icons};
use crate::auth::Access;
use crate::desk::{
    CannedReply, ConversationChange, ConversationDetail, EventView, MessageView, NoteView,
    ReplyChannels, SendRequest,
};
use crate::http::AppState;
use crate::sla::Priority;
use crate::store::{OrderQuery, Profile, Status, User, now_millis};

/// What a refused reply leaves in the form: the text and the channel picked.
#[derive(Debug, Default)]
struct Draft {
    text: String,
    subject: String,
    channel: String,
    error: Option<String>,
}

/// `GET /conversations/{id}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    render(&state, &viewer, id, Draft::default(), StatusCode::OK).await
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    draft: Draft,
    status: StatusCode,
) -> Result<Response, PageError> {
    let who = viewer.principal();
    let detail = state.desk.conversation(&who, id).await?;
    if let Some(into) = detail.conversation.merged_into {
        return Ok(redirect_with(
            &format!("/conversations/{into}"),
            Flash::Done(format!("Conversation {id} was merged into this one.")),
        ));
    }
    let customer = detail.conversation.customer.id;
    let channels = state.desk.reply_channels(&who, id).await?;
    let canned = state.desk.canned_replies().await?;
    let users = state.store.users().await?;
    let teams = state.store.teams().await?;
    let profile = state.store.profile(customer).await?;
    let (preferred, _) = state.store.preferred_channel(customer).await?;
    let preferred = preferred.map(|id| {
        state
            .registry
            .get(&id)
            .and_then(|slot| slot.loaded())
            .map_or(id, |c| c.manifest().display_name.clone())
    });
    let orders = state
        .store
        .orders(&OrderQuery { customer: Some(customer), limit: 3, ..Default::default() })
        .await?;
    let name = display_name(&detail);
    let body = html! {
        div class="conversation" {
            section class="thread-column" aria-labelledby="conversation-title" {
                (header(&detail, &name))
                (controls(viewer, &detail, &users, &teams))
                div id="thread-live" data-live=(format!("/conversations/{id}/live")) data-conversation=(id) {
                    (thread(&detail, &users))
                }
                (reply_box(viewer, &detail, &channels, &canned, &draft))
                (note_box(viewer, id))
            }
            (customer_panel(&profile, preferred.as_deref(), &orders))
        }
    };
    Ok(layout::page_with_status(
        viewer,
        Nav::Inbox,
        &format!("{name} · conversation {id}"),
        body,
        status,
    ))
}

/// `GET /conversations/{id}/live`: the thread alone.
pub(crate) async fn live(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let detail = state.desk.conversation(&viewer.principal(), id).await?;
    let users = state.store.users().await?;
    Ok(thread(&detail, &users).into_response())
}

fn display_name(detail: &ConversationDetail) -> String {
    let customer = &detail.conversation.customer;
    customer.name.clone().unwrap_or_else(|| format!("Customer #{}", customer.id))
}

fn header(detail: &ConversationDetail, name: &str) -> Markup {
    let c = &detail.conversation;
    let now = now_millis();
    html! {
        header class="conversation-head" {
            p class="crumbs" { a href="/inbox" { "Inbox" } " / conversation " (c.id) }
            h1 id="conversation-title" {
                a href=(format!("/customers/{}", c.customer.id)) { (name) }
                @if let Some(subject) = &c.subject { span class="muted" { " — " (subject) } }
            }
            p class="facts" {
                span class=(format!("badge status-{}", c.status.as_str())) { (c.status.as_str()) }
                @if c.status == Status::Snoozed && let Some(until) = c.snoozed_until {
                    " until " (format::time(until))
                }
                @if c.priority != Priority::Normal {
                    " " span class=(format!("badge priority-{}", c.priority.as_str())) { (c.priority.as_str()) " priority" }
                }
                " · "
                @for channel in &c.channels { (icons::channel_named(&channel.channel)) " " }
                " · opened " (format::ago(c.created_at, now))
                @if let Some(since) = c.waiting_since { " · " span class="waiting" { "waiting " (format::span(now - since)) } }
            }
            @if c.sla.policy.is_some() {
                p class="sla" {
                    "SLA " (c.sla.policy.clone().unwrap_or_default()) ": "
                    @match c.sla.state {
                        crate::desk::SlaState::Breached => span class="badge breached" { "breached" },
                        crate::desk::SlaState::DueSoon => span class="badge due-soon" { "due soon" },
                        _ => span class="badge ok" { "on time" },
                    }
                    @if let (None, Some(due)) = (c.first_response_at, c.sla.first_response_due) {
                        " · first response due " (format::time(due))
                    }
                    @if let (None, Some(due)) = (c.resolved_at, c.sla.resolution_due) {
                        " · resolution due " (format::time(due))
                    }
                    @if c.sla.paused { " · paused while pending" }
                }
            }
        }
    }
}

fn user_name(users: &[User], id: Option<i64>) -> String {
    match id {
        None => "nobody".into(),
        Some(id) => users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| format!("user {id}")),
    }
}

fn controls(
    viewer: &Viewer,
    detail: &ConversationDetail,
    users: &[User],
    teams: &[crate::store::Team],
) -> Markup {
    let c = &detail.conversation;
    let action = format!("/conversations/{}/change", c.id);
    let supervisor = viewer.access() >= Access::Supervisor;
    let mine = c.assignee.as_ref().is_some_and(|a| a.id == viewer.user.id);
    let labels = c.labels.join(", ");
    let csrf = html! { input type="hidden" name="_csrf" value=(viewer.csrf); };
    html! {
        div class="controls" role="group" aria-label="Conversation settings" {
            form method="post" action=(action) class="inline" {
                (csrf)
                @if supervisor {
                    label for="assignee" { "Assignee" }
                    select id="assignee" name="assignee" {
                        option value="none" selected[c.assignee.is_none()] { "Unassigned" }
                        @for user in users.iter().filter(|u| u.active) {
                            option value=(user.id) selected[c.assignee.as_ref().is_some_and(|a| a.id == user.id)] {
                                (user.name)
                            }
                        }
                    }
                    label for="team" { "Team" }
                    select id="team" name="team" {
                        option value="none" selected[c.team.is_none()] { "No team" }
                        @for team in teams {
                            option value=(team.id) selected[c.team.as_ref().is_some_and(|t| t.id == team.id)] { (team.name) }
                        }
                    }
                    button type="submit" { "Assign" }
                } @else {
                    span { "Assignee: " strong { (c.assignee.as_ref().and_then(|a| a.name.clone()).unwrap_or_else(|| "nobody".into())) } " " }
                    @if mine {
                        button type="submit" name="assignee" value="none" { "Release" }
                    } @else {
                        button type="submit" name="assignee" value=(viewer.user.id) { "Assign to me" }
                    }
                }
            }
            form method="post" action=(action) class="inline" {
                (csrf)
                span class="label-text" id="status-label" { "Status" }
                span role="group" aria-labelledby="status-label" {
                    @for (value, label) in [("open", "Open"), ("pending", "Pending"), ("resolved", "Resolve")] {
                        button type="submit" name="status" value=(value)
                            aria-pressed=(if c.status.as_str() == value { "true" } else { "false" })
                            data-key=(if value == "resolved" { "e" } else { "" }) { (label) }
                    }
                }
            }
            form method="post" action=(action) class="inline" {
                (csrf)
                input type="hidden" name="status" value="snoozed";
                input type="hidden" name="tz_offset" value="0" data-tz-offset;
                label for="snooze" { "Snooze" }
                select id="snooze" name="snooze" {
                    option value="1h" { "for 1 hour" }
                    option value="4h" { "for 4 hours" }
                    option value="1d" { "for 1 day" }
                    option value="3d" { "for 3 days" }
                    option value="1w" { "for 1 week" }
                    option value="until" { "until…" }
                }
                label for="snooze-until" class="visually-hidden" { "Snooze until (date and time)" }
                input id="snooze-until" name="snooze_until" type="datetime-local";
                button type="submit" { "Snooze" }
            }
            form method="post" action=(action) class="inline" {
                (csrf)
                label for="labels" { "Labels" }
                input id="labels" name="labels" type="text" value=(labels) placeholder="comma, separated" size="18";
                label for="priority" { "Priority" }
                select id="priority" name="priority" {
                    @for p in [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent] {
                        option value=(p.as_str()) selected[c.priority == p] { (p.as_str()) }
                    }
                }
                button type="submit" { "Save" }
            }
        }
    }
}

/// One thing in the thread, in time order.
enum Item<'a> {
    Message(&'a MessageView),
    Note(&'a NoteView),
    Event(&'a EventView),
}

impl Item<'_> {
    fn at(&self) -> (i64, u8) {
        match self {
            Item::Event(e) => (e.at, 0),
            Item::Message(m) => (m.at, 1),
            Item::Note(n) => (n.at, 2),
        }
    }
}

/// Events that the thread shows as a line of their own (messages, replies and notes are shown
/// as themselves).
fn shown(event: &EventView) -> bool {
    !matches!(event.kind.as_str(), "message" | "reply" | "note")
}

fn thread(detail: &ConversationDetail, users: &[User]) -> Markup {
    let mut items: Vec<Item> = detail.messages.iter().map(Item::Message).collect();
    items.extend(detail.notes.iter().map(Item::Note));
    items.extend(detail.events.iter().filter(|e| shown(e)).map(Item::Event));
    items.sort_by_key(Item::at);
    html! {
        ol class="thread" id="thread" aria-label="Messages, notes and changes, oldest first" {
            @if detail.messages.is_empty() {
                li class="event" { "No messages yet." }
            }
            @for item in &items {
                @match item {
                    Item::Message(message) => (message_item(message)),
                    Item::Note(note) => (note_item(note)),
                    Item::Event(event) => (event_item(event, users)),
                }
            }
        }
    }
}

fn message_item(m: &MessageView) -> Markup {
    let inbound = m.direction == "inbound";
    let who = if inbound {
        "from the customer".to_string()
    } else {
        match &m.author {
            Some(author) => format!(
                "sent by {}",
                author.name.clone().unwrap_or_else(|| format!("user {}", author.id))
            ),
            None => "sent".to_string(),
        }
    };
    let kind = match m.kind.as_str() {
        "call" => "Call",
        "callback_request" => "Callback request",
        "review" => "Review",
        "cart" => "Cart",
        _ => "Message",
    };
    html! {
        li class=(format!("message {}", m.direction)) {
            article aria-label=(format!("{kind} {who} on {}", format::channel(&m.channel))) {
                header {
                    (icons::channel_named(&m.channel))
                    " " (icons::glyph(&m.direction)) " "
                    span class="who" { (kind) " " (who) }
                    " · " (format::time(m.at))
                    @if let Some(status) = &m.status { " · " span class="status" { (status) } }
                }
                @if let Some(subject) = &m.subject { h3 { (subject) } }
                @if m.kind == "call" {
                    p class="call" {
                        "Call " (if inbound { "from" } else { "to" }) " the customer"
                        @if let Some(status) = &m.status { ", " (status) }
                        @if let Some(seconds) = m.duration_seconds { ", " (format::span(seconds * 1000)) }
                    }
                }
                @if let Some(text) = &m.text { div class="text" { (text) } }
                @if !m.attachments.is_empty() {
                    ul class="attachments" aria-label="Attachments" {
                        @for a in &m.attachments {
                            li {
                                (icons::glyph("attachment")) " "
                                @let name = a.name.clone().unwrap_or_else(|| "attachment".into());
                                @match &a.url {
                                    Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                                        a href=(url) rel="noopener noreferrer" target="_blank" { (name) }
                                    },
                                    _ => span { (name) },
                                }
                                span class="muted" { " (" (a.content_type) ", " (size(a.size_bytes)) ")" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        0..=1023 => format!("{bytes} B"),
        1024..=1_048_575 => format!("{:.0} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

fn note_item(n: &NoteView) -> Markup {
    let author = n.author.as_ref().and_then(|a| a.name.clone()).unwrap_or_else(|| "someone".into());
    html! {
        li class="note" {
            article aria-label=(format!("Private note by {author}")) {
                header { (icons::glyph("note")) " Private note by " strong { (author) } " · " (format::time(n.at)) }
                div class="text" { (n.text) }
            }
        }
    }
}

fn event_item(e: &EventView, users: &[User]) -> Markup {
    let actor = e.actor.as_ref().and_then(|a| a.name.clone());
    let by = |text: String| match &actor {
        Some(actor) => format!("{actor}: {text}"),
        None => text,
    };
    let id = |key: &str| e.data[key].as_i64();
    let text = match e.kind.as_str() {
        "created" => format!(
            "Conversation started on {}",
            format::channel(e.data["channel"].as_str().unwrap_or("a channel"))
        ),
        "assigned" if e.data.get("team_id").is_some() && e.data.get("assignee_id").is_none() => {
            by(format!(
                "team set to {}",
                id("team_id").map_or("none".to_string(), |t| format!("#{t}"))
            ))
        }
        "assigned" if e.data["by"] == "routing" => {
            format!("Routed to {}", user_name(users, id("assignee_id")))
        }
        "assigned" => by(match id("assignee_id") {
            Some(_) => format!("assigned to {}", user_name(users, id("assignee_id"))),
            None => "unassigned".to_string(),
        }),
        "status" => {
            let to = e.data["to"].as_str().unwrap_or("?");
            match e.data["reason"].as_str() {
                Some(reason) => format!("Status {to}: {reason}"),
                None => by(format!("status {to}")),
            }
        }
        "reopened" => "Reopened: the customer wrote again".to_string(),
        "labels" => by(format!(
            "labels {}",
            e.data["to"]
                .as_array()
                .map(|l| l.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| "removed".into())
        )),
        "priority" => by(format!("priority {}", e.data["to"].as_str().unwrap_or("?"))),
        "merged" => by("merged with another conversation of the customer".to_string()),
        "moved" => by("a message moved between conversations".to_string()),
        "split" => "Split back: a merge of customers was undone".to_string(),
        "sla_breached" => format!(
            "SLA target missed: {}",
            e.data["target"].as_str().unwrap_or("a target").replace('_', " ")
        ),
        other => by(other.replace('_', " ")),
    };
    html! {
        li class="event" { span { (text) } " · " (format::time(e.at)) }
    }
}

fn reply_box(
    viewer: &Viewer,
    detail: &ConversationDetail,
    channels: &ReplyChannels,
    canned: &[CannedReply],
    draft: &Draft,
) -> Markup {
    let id = detail.conversation.id;
    let default = channels.default.as_deref();
    let default_option = default.and_then(|d| channels.options.iter().find(|o| o.connector == d));
    let usable = channels.options.iter().any(|o| o.blocked.is_none());
    html! {
        section class="reply" aria-labelledby="reply-title" {
            h2 id="reply-title" { "Reply" }
            @if let Some(error) = &draft.error {
                p class="notice failed" role="alert" { (error) }
            }
            @if channels.options.is_empty() {
                p class="empty" { "No connector that can send is enabled, so replies cannot go out. An admin can enable one on the Connectors page." }
            } @else {
                form method="post" action=(format!("/conversations/{id}/reply")) id="reply-form" class="stack" {
                    input type="hidden" name="_csrf" value=(viewer.csrf);
                    input type="hidden" name="key" value=(crate::auth::new_secret("sbk_"));
                    label for="reply-channel" { "Send on" }
                    select id="reply-channel" name="channel" aria-describedby="reply-goes-out" {
                        @match default_option {
                            Some(option) => option value="" selected[draft.channel.is_empty()] {
                                "The customer's latest channel: " (option.name)
                                @if let Some(why) = &option.blocked { " — cannot: " (why) }
                            },
                            None => option value="" selected[draft.channel.is_empty()] { "Choose a channel" },
                        }
                        @for option in &channels.options {
                            option value=(option.connector) selected[draft.channel == option.connector]
                                disabled[option.blocked.is_some()] {
                                (option.name)
                                @if channels.preferred.as_deref() == Some(option.connector.as_str()) { " (preferred)" }
                                @for consent in &option.consents {
                                    " — " (if consent.state == "opt_in" { "opted in" } else { "opted out" })
                                }
                                @if let Some(why) = &option.blocked { " — cannot: " (why) }
                            }
                        }
                    }
                    p id="reply-goes-out" class="goes-out" {
                        @match default_option {
                            Some(option) if option.blocked.is_none() => {
                                "By default this reply goes out on " strong { (option.name) }
                                ", the channel of the customer's latest message."
                                (consent_line(option))
                            },
                            Some(option) => {
                                "The customer's latest channel, " strong { (option.name) } ", cannot be used ("
                                (option.blocked.clone().unwrap_or_default()) "): pick another."
                            },
                            None => "The customer has not written on a channel that can send: pick one.",
                        }
                    }
                    ul class="consents" aria-label="Consent per channel" {
                        @for option in &channels.options {
                            li data-connector=(option.connector) {
                                (option.name) ": "
                                @if option.consents.is_empty() { span class="muted" { "no consent recorded" } }
                                @for consent in &option.consents {
                                    span class=(format!("consent {}", consent.state)) {
                                        (if consent.state == "opt_in" { "opted in" } else { "opted out" })
                                        " on " (format::channel(&consent.channel)) " " (format::time(consent.at))
                                        @if let Some(reason) = &consent.reason { " (" (reason) ")" }
                                    }
                                }
                                @if let Some(why) = &option.blocked { " — " span class="blocked" { (why) } }
                            }
                        }
                    }
                    label for="reply-subject" { "Subject " span class="muted" { "(e-mail only)" } }
                    input id="reply-subject" name="subject" type="text" value=(draft.subject) maxlength="998";
                    @if !canned.is_empty() {
                        label for="canned" { "Canned reply" }
                        select id="canned" name="canned_reply" data-conversation=(id) {
                            option value="" { "None" }
                            @for reply in canned { option value=(reply.id) { (reply.name) } }
                        }
                    }
                    label for="reply-text" { "Message" }
                    textarea id="reply-text" name="text" rows="5" required[canned.is_empty()] { (draft.text) }
                    div class="actions" {
                        button type="submit" class="primary" disabled[!usable] { "Send reply" }
                    }
                }
            }
        }
    }
}

fn consent_line(option: &crate::desk::ChannelOption) -> Markup {
    html! {
        @for consent in &option.consents {
            " The customer " (if consent.state == "opt_in" { "opted in" } else { "opted out" })
            " on " (format::channel(&consent.channel)) " " (format::time(consent.at)) "."
        }
    }
}

fn note_box(viewer: &Viewer, id: i64) -> Markup {
    html! {
        section class="note-box" aria-labelledby="note-title" {
            h2 id="note-title" { "Private note" }
            form method="post" action=(format!("/conversations/{id}/note")) class="stack" {
                input type="hidden" name="_csrf" value=(viewer.csrf);
                label for="note-text" { "Note for colleagues " span class="muted" { "(never sent; @name mentions someone)" } }
                textarea id="note-text" name="text" rows="2" required {}
                div class="actions" { button type="submit" { "Add note" } }
            }
        }
    }
}

/// The customer beside a conversation: who, how to reach them, consents, recent orders.
pub(crate) fn customer_panel(
    profile: &Profile,
    preferred: Option<&str>,
    orders: &[crate::store::OrderView],
) -> Markup {
    let name = profile.display_name.clone().unwrap_or_else(|| format!("Customer #{}", profile.id));
    html! {
        aside class="customer-panel" aria-labelledby="panel-title" {
            h2 id="panel-title" { a href=(format!("/customers/{}", profile.id)) { (name) } }
            p class="muted" {
                "Customer #" (profile.id)
                @if let Some(first) = profile.first_contact { " · since " (format::time(first)) }
            }
            h3 { "Reach" }
            ul class="points" {
                @for point in &profile.contact_points {
                    li {
                        span class="kind" { (point.kind) } " " (point.value)
                        @if point.status != "usable" { " " span class="badge" { (point.status) } }
                    }
                }
            }
            @if let Some(preferred) = preferred { p { "Prefers " strong { (preferred) } } }
            @if !profile.consents.is_empty() {
                h3 { "Consent" }
                ul class="points" {
                    @for consent in &profile.consents {
                        li { (format::channel(&consent.channel)) ": "
                            span class=(format!("consent {}", consent.state)) { (if consent.state == "opt_in" { "opted in" } else { "opted out" }) } }
                    }
                }
            }
            h3 { "Orders" }
            @if orders.is_empty() {
                p class="muted" { "No orders." }
            } @else {
                p { (format::count(profile.order_count, "order", "orders"))
                    @for revenue in &profile.revenue { " · " (format::money(revenue.amount_minor as i128, &revenue.currency)) } }
                ul class="points" {
                    @for order in orders {
                        li { (order.number.clone().unwrap_or_else(|| order.provider_id.clone())) " · "
                            (order.status) " · " (format::money(order.total_minor as i128, &order.currency)) }
                    }
                }
            }
            p { a href=(format!("/customers/{}", profile.id)) { "Whole history →" } }
        }
    }
}

/// The reply form.
#[derive(Debug, Deserialize)]
pub(crate) struct ReplyForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    canned_reply: String,
    #[serde(default)]
    key: String,
}

/// A form posted by the script rather than the browser: it wants the outcome in words, not a
/// page.
fn from_script(headers: &HeaderMap) -> bool {
    headers.get("x-console-fetch").is_some()
}

/// `POST /conversations/{id}/reply`: sends through the desk; a refusal shows the page again with
/// the reason and what was typed.
pub(crate) async fn reply(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    submitted: Submitted<ReplyForm>,
) -> Result<Response, PageError> {
    let Submitted { viewer, form } = submitted;
    let canned_reply = match form.canned_reply.trim() {
        "" => None,
        value => Some(value.parse().map_err(|_| {
            PageError::BadRequest(format!("The canned reply `{value}` is not one of the list."))
        })?),
    };
    let request = SendRequest {
        text: form.text.clone(),
        subject: Some(form.subject.trim().to_string()).filter(|s| !s.is_empty()),
        channel: Some(form.channel.trim().to_string()).filter(|c| !c.is_empty()),
        canned_reply,
    };
    let key = Some(form.key.trim().to_string()).filter(|k| !k.is_empty());
    match state.desk.reply(&viewer.principal(), id, request, key).await {
        Ok(outcome) => Ok(redirect_with(
            &format!("/conversations/{id}"),
            Flash::Done(format!(
                "Reply sent on {} (provider id {}{}).",
                outcome.connector,
                outcome.provider_id,
                outcome.status.map(|s| format!(", {s}")).unwrap_or_default()
            )),
        )),
        Err(error) => {
            let error = PageError::from(error);
            let status = match &error {
                PageError::Api(status, _) => *status,
                _ => StatusCode::BAD_REQUEST,
            };
            if status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN {
                return Err(error);
            }
            let draft = Draft {
                text: form.text,
                subject: form.subject,
                channel: form.channel,
                error: Some(format!("The reply was not sent. {error}")),
            };
            render(&state, &viewer, id, draft, status).await
        }
    }
}

/// The note form.
#[derive(Debug, Deserialize)]
pub(crate) struct NoteForm {
    #[serde(default)]
    text: String,
}

/// `POST /conversations/{id}/note`.
pub(crate) async fn note(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    submitted: Submitted<NoteForm>,
) -> Result<Response, PageError> {
    let Submitted { viewer, form } = submitted;
    let to = format!("/conversations/{id}");
    Ok(match state.desk.note(&viewer.principal(), id, &form.text).await {
        Ok(_) => redirect_with(&to, Flash::Done("Note added.".into())),
        Err(error) => redirect_with(
            &to,
            Flash::Failed(format!("The note was not added. {}", PageError::from(error))),
        ),
    })
}

/// The forms that change a conversation; each sends only its own fields.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChangeForm {
    status: Option<String>,
    snooze: Option<String>,
    snooze_until: Option<String>,
    tz_offset: Option<String>,
    assignee: Option<String>,
    team: Option<String>,
    labels: Option<String>,
    priority: Option<String>,
    back: Option<String>,
}

/// `none` or an id, for a field that may be cleared.
fn id_or_none(field: &str, value: &str) -> Result<Option<i64>, PageError> {
    match value.trim() {
        "none" | "" => Ok(None),
        id => id.parse().map(Some).map_err(|_| {
            PageError::BadRequest(format!("The {field} `{id}` is not one of the list."))
        }),
    }
}

/// When a snooze ends: a preset span from now, or the date and time picked in the browser's
/// time zone (`tz_offset`: minutes behind UTC, as JavaScript's `getTimezoneOffset` says).
fn snooze_end(form: &ChangeForm, now: i64) -> Result<i64, PageError> {
    const HOUR: i64 = 3_600_000;
    Ok(match form.snooze.as_deref().unwrap_or("1h") {
        "1h" => now + HOUR,
        "4h" => now + 4 * HOUR,
        "1d" => now + 24 * HOUR,
        "3d" => now + 72 * HOUR,
        "1w" => now + 168 * HOUR,
        "until" => {
            let text = form.snooze_until.as_deref().unwrap_or("").trim();
            let local =
                chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").map_err(|_| {
                    PageError::BadRequest("Pick the date and time the snooze ends.".into())
                })?;
            let offset: i64 = form.tz_offset.as_deref().unwrap_or("0").trim().parse().unwrap_or(0);
            if !(-16 * 60..=16 * 60).contains(&offset) {
                return Err(PageError::BadRequest("The time zone offset is out of range.".into()));
            }
            let at = local.and_utc().timestamp_millis() + offset * 60_000;
            if at <= now {
                return Err(PageError::BadRequest("The snooze must end in the future.".into()));
            }
            at
        }
        other => {
            return Err(PageError::BadRequest(format!(
                "The snooze `{other}` is not one of the list."
            )));
        }
    })
}

fn change_of(form: &ChangeForm) -> Result<ConversationChange, PageError> {
    let now = now_millis();
    let mut change = ConversationChange::default();
    if let Some(status) = form.status.as_deref() {
        let parsed = Status::parse(status).ok_or_else(|| {
            PageError::BadRequest(format!(
                "The status `{status}` is not one of open, pending, snoozed, resolved."
            ))
        })?;
        if parsed == Status::Snoozed {
            change.snoozed_until = Some(snooze_end(form, now)?);
        }
        change.status = Some(parsed);
    }
    if let Some(assignee) = &form.assignee {
        change.assignee_id = Some(id_or_none("assignee", assignee)?);
    }
    if let Some(team) = &form.team {
        change.team_id = Some(id_or_none("team", team)?);
    }
    if let Some(labels) = &form.labels {
        change.labels = Some(
            labels
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        );
    }
    if let Some(priority) = form.priority.as_deref() {
        change.priority = Some(match priority {
            "low" => Priority::Low,
            "normal" => Priority::Normal,
            "high" => Priority::High,
            "urgent" => Priority::Urgent,
            other => {
                return Err(PageError::BadRequest(format!(
                    "The priority `{other}` is not one of the list."
                )));
            }
        });
    }
    Ok(change)
}

fn done_message(change: &ConversationChange) -> String {
    let mut parts = Vec::new();
    if let Some(status) = change.status {
        parts.push(match status {
            Status::Resolved => "Resolved".to_string(),
            Status::Snoozed => "Snoozed".to_string(),
            other => format!("Status {}", other.as_str()),
        });
    }
    if change.assignee_id.is_some() || change.team_id.is_some() {
        parts.push("Assignment saved".into());
    }
    if change.labels.is_some() || change.priority.is_some() {
        parts.push("Saved".into());
    }
    if parts.is_empty() { "Nothing changed.".into() } else { format!("{}.", parts.join("; ")) }
}

/// `POST /conversations/{id}/change`: assign, status, snooze, labels, priority. From a page it
/// redirects back with a notice; from the script it answers the notice as text.
pub(crate) async fn change(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    submitted: Submitted<ChangeForm>,
) -> Result<Response, PageError> {
    let Submitted { viewer, form } = submitted;
    let back = form
        .back
        .clone()
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or_else(|| format!("/conversations/{id}"));
    let outcome = match change_of(&form) {
        Ok(change) => {
            let message = done_message(&change);
            state
                .desk
                .change(&viewer.principal(), id, change)
                .await
                .map(|_| message)
                .map_err(PageError::from)
        }
        Err(error) => Err(error),
    };
    if from_script(&headers) {
        return Ok(match outcome {
            Ok(message) => (StatusCode::OK, message).into_response(),
            Err(error) => {
                let status = match &error {
                    PageError::Api(status, _) => *status,
                    PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
                    PageError::Forbidden(_) => StatusCode::FORBIDDEN,
                    PageError::NotFound(_) => StatusCode::NOT_FOUND,
                };
                (status, error.to_string()).into_response()
            }
        });
    }
    Ok(match outcome {
        Ok(message) => redirect_with(&back, Flash::Done(message)),
        Err(error) => redirect_with(&back, Flash::Failed(format!("Not changed. {error}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snoozes_end_when_asked() {
        let now = 1_790_000_000_000;
        let form = |snooze: &str, until: &str, offset: &str| ChangeForm {
            snooze: Some(snooze.into()),
            snooze_until: Some(until.into()),
            tz_offset: Some(offset.into()),
            ..ChangeForm::default()
        };
        assert_eq!(snooze_end(&form("4h", "", "0"), now).unwrap(), now + 4 * 3_600_000);
        // 2027-01-15 09:00 in Paris (UTC+1, offset -60) is 08:00 UTC.
        let at = snooze_end(&form("until", "2027-01-15T09:00", "-60"), now).unwrap();
        assert_eq!(
            at,
            chrono::DateTime::parse_from_rfc3339("2027-01-15T08:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
        assert!(snooze_end(&form("until", "2020-01-01T09:00", "0"), now).is_err());
        assert!(snooze_end(&form("until", "tomorrow", "0"), now).is_err());
        assert!(snooze_end(&form("forever", "", "0"), now).is_err());
    }

    #[test]
    fn each_form_changes_only_its_fields() {
        let form = ChangeForm { labels: Some(" vip, refund ,,".into()), ..ChangeForm::default() };
        let change = change_of(&form).unwrap();
        assert_eq!(change.labels, Some(vec!["vip".to_string(), "refund".to_string()]));
        assert!(
            change.status.is_none() && change.assignee_id.is_none() && change.priority.is_none()
        );
        let form = ChangeForm { assignee: Some("none".into()), ..ChangeForm::default() };
        assert_eq!(change_of(&form).unwrap().assignee_id, Some(None));
        let form = ChangeForm { assignee: Some("x".into()), ..ChangeForm::default() };
        assert!(change_of(&form).is_err());
    }
}
