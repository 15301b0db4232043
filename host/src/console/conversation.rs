//! A conversation: every message across channels in order (calls with status and duration,
//! attachments listed), notes and what happened to it; the reply box that says which channel
//! the reply goes out on and the customer's consent there; assign, status, snooze, labels,
//! priority; and the customer beside it. `/conversations/{id}/live` answers the thread alone
//! for the script to swap in when the event stream reports a change.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

mod forms;

pub(crate) use forms::{change, note, reply};

use super::layout::{self, Nav, PageError};
use super::session::{Flash, Viewer, redirect_with};
use super::{format, icons};
use crate::auth::Access;
use crate::desk::{
    CannedReply, ConversationDetail, EventView, MessageView, NoteView, ReplyChannels,
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
