//! The inbox: views (mine, unassigned, all, per team, per channel) with their counts, and the
//! conversations of the chosen one — customer, channels, last message, waiting time, SLA.
//! `/inbox/live` answers the same block alone, which the script swaps in when the event
//! stream says something changed.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Nav, PageError};
use super::{format, icons, session::Viewer};
use crate::desk::{ConversationSummary, Inbox, InboxParams, SlaState};
use crate::http::AppState;
use crate::sla::Priority;
use crate::store::{Order, Status, View};

/// The inbox's query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct InboxQuery {
    view: Option<String>,
    team: Option<String>,
    channel: Option<String>,
    status: Option<String>,
    order: Option<String>,
    cursor: Option<String>,
}

impl InboxQuery {
    fn view(&self) -> View {
        match self.view.as_deref() {
            Some("mine") => View::Mine,
            Some("unassigned") => View::Unassigned,
            _ => View::All,
        }
    }

    fn status(&self) -> &str {
        self.status.as_deref().filter(|s| !s.is_empty()).unwrap_or("open")
    }

    fn order(&self) -> Order {
        match self.order.as_deref() {
            Some("oldest_waiting") => Order::OldestWaiting,
            _ => Order::Newest,
        }
    }

    fn team(&self) -> Result<Option<i64>, PageError> {
        match self.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(team) => team.parse().map(Some).map_err(|_| {
                PageError::BadRequest(format!("The team `{team}` in the address is not a team id."))
            }),
        }
    }

    fn params(&self) -> Result<InboxParams, PageError> {
        Ok(InboxParams {
            view: Some(self.view()),
            team: self.team()?,
            channel: self.channel.clone().filter(|c| !c.trim().is_empty()),
            status: Some(self.status().to_string()),
            label: None,
            order: Some(self.order()),
            cursor: self.cursor.clone().filter(|c| !c.is_empty()),
            limit: Some(50),
            breakdown: Some(true),
        })
    }

    /// This query's address with some parts changed (the cursor is dropped).
    fn href(&self, change: impl FnOnce(&mut InboxQuery)) -> String {
        let mut next = self.clone();
        next.cursor = None;
        change(&mut next);
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("view", &next.view),
            ("team", &next.team),
            ("channel", &next.channel),
            ("status", &next.status),
            ("order", &next.order),
            ("cursor", &next.cursor),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        let query = query.finish();
        if query.is_empty() { "/inbox".into() } else { format!("/inbox?{query}") }
    }

    /// The address of the page after this one.
    fn page(&self, cursor: &str) -> String {
        let base = self.href(|_| {});
        let cursor: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
        format!("{base}{}cursor={cursor}", if base.contains('?') { "&" } else { "?" })
    }

    fn title(&self, inbox: &Inbox) -> String {
        if let Some(team) = self.team.as_deref().filter(|t| !t.is_empty()) {
            let name = inbox
                .teams
                .iter()
                .flatten()
                .find(|t| t.key == team)
                .and_then(|t| t.name.clone())
                .unwrap_or_else(|| format!("team {team}"));
            return format!("Team {name}");
        }
        if let Some(channel) = self.channel.as_deref().filter(|c| !c.is_empty()) {
            return format!("Channel {}", format::channel(channel));
        }
        match self.view() {
            View::Mine => "Mine".into(),
            View::Unassigned => "Unassigned".into(),
            View::All => "All conversations".into(),
        }
    }
}

/// `GET /inbox`.
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let inbox = state.desk.inbox(&viewer.principal(), query.params()?).await?;
    let title = query.title(&inbox);
    let body = html! {
        h1 { "Inbox" span class="muted" { " · " (title) } }
        (block(&state, &query, &inbox, &viewer.csrf))
    };
    Ok(layout::page(&viewer, Nav::Inbox, &format!("Inbox · {title}"), body))
}

/// `GET /inbox/live`: the inbox block alone, for the script to swap in.
pub(crate) async fn live(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let inbox = state.desk.inbox(&viewer.principal(), query.params()?).await?;
    Ok(block(&state, &query, &inbox, &viewer.csrf).into_response())
}

fn block(state: &AppState, query: &InboxQuery, inbox: &Inbox, csrf: &str) -> Markup {
    let here = query.href(|_| {});
    let live = here.replacen("/inbox", "/inbox/live", 1);
    let filtered = query.team.as_deref().is_some_and(|t| !t.is_empty())
        || query.channel.as_deref().is_some_and(|c| !c.is_empty());
    let counts = inbox.counts;
    let view_link = |view: &str, label: &str, count: i64| {
        let current = !filtered && query.view.as_deref().unwrap_or("all") == view;
        let href = query.href(|q| {
            q.view = Some(view.to_string());
            q.team = None;
            q.channel = None;
        });
        html! {
            li { a href=(href) aria-current=[current.then_some("page")] {
                span { (label) } " " span class="count" { (count) }
            } }
        }
    };
    let names = connector_names(state);
    html! {
        div id="inbox-block" class="inbox" data-live=(live) {
            nav class="views" aria-label="Inbox views" {
                ul {
                    (view_link("mine", "Mine", counts.mine))
                    (view_link("unassigned", "Unassigned", counts.unassigned))
                    (view_link("all", "All", counts.all))
                }
                @if let Some(teams) = inbox.teams.as_ref().filter(|t| t.iter().any(|t| t.key != "none")) {
                    h2 { "Teams" }
                    ul {
                        @for team in teams {
                            @let current = query.team.as_deref() == Some(team.key.as_str());
                            @let href = query.href(|q| { q.view = Some("all".into()); q.team = Some(team.key.clone()); q.channel = None; });
                            @if team.key != "none" {
                                li { a href=(href) aria-current=[current.then_some("page")] {
                                    span { (team.name.clone().unwrap_or_else(|| format!("Team {}", team.key))) }
                                    " " span class="count" { (team.count) }
                                } }
                            }
                        }
                    }
                }
                @if let Some(connectors) = inbox.connectors.as_ref().filter(|c| !c.is_empty()) {
                    h2 { "Channels" }
                    ul {
                        @for connector in connectors {
                            @let current = query.channel.as_deref() == Some(connector.key.as_str());
                            @let href = query.href(|q| { q.view = Some("all".into()); q.channel = Some(connector.key.clone()); q.team = None; });
                            @let (name, channel) = names.iter().find(|(id, ..)| *id == connector.key)
                                .map(|(_, name, channel)| (name.clone(), channel.clone()))
                                .unwrap_or_else(|| (connector.key.clone(), connector.key.clone()));
                            li { a href=(href) aria-current=[current.then_some("page")] {
                                span { (icons::glyph(&channel)) " " (name) }
                                " " span class="count" { (connector.count) }
                            } }
                        }
                    }
                }
            }
            section class="list" aria-label="Conversations" {
                form class="filters" method="get" action="/inbox" {
                    @for (name, value) in [("view", &query.view), ("team", &query.team), ("channel", &query.channel)] {
                        @if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                            input type="hidden" name=(name) value=(value);
                        }
                    }
                    label for="status" { "Status" }
                    select id="status" name="status" {
                        @for (value, label) in [("open", "Open"), ("pending", "Pending"), ("snoozed", "Snoozed"),
                            ("resolved", "Resolved"), ("open,pending,snoozed", "Not resolved"), ("any", "Any")] {
                            option value=(value) selected[query.status() == value] { (label) }
                        }
                    }
                    label for="order" { "Order" }
                    select id="order" name="order" {
                        option value="newest" selected[query.order() == Order::Newest] { "Newest first" }
                        option value="oldest_waiting" selected[query.order() == Order::OldestWaiting] { "Waiting longest first" }
                    }
                    button type="submit" { "Show" }
                }
                @if inbox.conversations.is_empty() {
                    (empty(state, query))
                } @else {
                    ol class="rows" id="rows" {
                        @for conversation in &inbox.conversations {
                            (row(conversation, &here, csrf))
                        }
                    }
                }
                @if let Some(cursor) = &inbox.next_cursor {
                    @let next = query.page(cursor);
                    p class="pager" { a href=(next) rel="next" { "Older conversations →" } }
                }
            }
        }
    }
}

/// Each serving connector's id, name and first channel.
fn connector_names(state: &AppState) -> Vec<(String, String, String)> {
    state
        .registry
        .all()
        .iter()
        .filter_map(|slot| {
            let loaded = slot.loaded()?;
            let manifest = loaded.manifest();
            Some((
                slot.id.clone(),
                manifest.display_name.clone(),
                manifest.channels.first().cloned().unwrap_or_default(),
            ))
        })
        .collect()
}

fn empty(state: &AppState, query: &InboxQuery) -> Markup {
    let serving = state.registry.all().iter().any(|slot| slot.serving().is_some());
    html! {
        div class="empty" {
            @if !serving {
                p { strong { "No connector is enabled." } }
                p { "Conversations arrive here once a channel is connected: add a " code { "[[connector]]" }
                    " to " code { "switchboard.toml" } " (every setting is explained in "
                    code { "examples/switchboard.toml" } "); the running server picks it up." }
            } @else {
                @match (query.view(), query.status()) {
                    (View::Mine, "open") => {
                        p { strong { "Nothing is assigned to you." } }
                        p { "Take a conversation from " a href="/inbox?view=unassigned" { "Unassigned" } "." }
                    },
                    (View::Unassigned, "open") => {
                        p { strong { "Every open conversation has someone on it." } }
                    },
                    (_, "open") => {
                        p { strong { "No open conversations." } }
                        p { "New messages appear here as they arrive, without reloading the page." }
                    },
                    (_, status) => {
                        p { strong { "No conversations with this status (" (status) ")." } }
                    },
                }
            }
        }
    }
}

fn sla_badge(conversation: &ConversationSummary) -> Markup {
    html! {
        @match conversation.sla.state {
            SlaState::Breached => span class="badge breached" { "SLA breached" },
            SlaState::DueSoon => span class="badge due-soon" { "SLA due soon" },
            SlaState::Ok | SlaState::None => {},
        }
    }
}

fn status_badge(status: Status) -> Markup {
    html! {
        @if status != Status::Open {
            span class=(format!("badge status-{}", status.as_str())) { (status.as_str()) }
        }
    }
}

fn priority_badge(priority: Priority) -> Markup {
    html! {
        @if matches!(priority, Priority::High | Priority::Urgent) {
            span class=(format!("badge priority-{}", priority.as_str())) { (priority.as_str()) }
        }
    }
}

fn row(conversation: &ConversationSummary, back: &str, csrf: &str) -> Markup {
    let now = crate::store::now_millis();
    let name = conversation
        .customer
        .name
        .clone()
        .unwrap_or_else(|| format!("Customer #{}", conversation.customer.id));
    let href = format!("/conversations/{}", conversation.id);
    let mut channels: Vec<&str> =
        conversation.channels.iter().map(|c| c.channel.as_str()).collect();
    channels.dedup();
    html! {
        li class="row" data-id=(conversation.id) data-href=(href) {
            div class="who" {
                a class="open" href=(href) { (name) }
                span class="channels" aria-label="Channels" {
                    @for channel in &channels { (icons::channel(channel)) }
                }
                (priority_badge(conversation.priority))
                (status_badge(conversation.status))
                (sla_badge(conversation))
            }
            p class="preview" {
                @if let Some(direction) = &conversation.last_message.direction {
                    (icons::glyph(direction))
                    span class="visually-hidden" { (if direction == "outbound" { "Sent: " } else { "Received: " }) }
                }
                @if let Some(subject) = &conversation.subject { strong { (subject) } " — " }
                @match &conversation.last_message.preview {
                    Some(preview) => (preview),
                    None => span class="muted" { "no text (a call, a review or a file)" },
                }
            }
            p class="meta" {
                @match conversation.waiting_since {
                    Some(since) => span class="waiting" { "waiting " (format::span(now - since)) },
                    None => span { "answered" },
                }
                " · " (format::ago(conversation.last_message.at, now))
                " · "
                @match &conversation.assignee {
                    Some(assignee) => span { (assignee.name.clone().unwrap_or_else(|| format!("user {}", assignee.id))) },
                    None => span class="unassigned" { "unassigned" },
                }
                @if let Some(team) = &conversation.team {
                    " · " (team.name.clone().unwrap_or_default())
                }
                @for label in &conversation.labels { " " span class="label" { (label) } }
            }
            @if conversation.status != Status::Resolved {
                form class="quick" method="post" action=(format!("/conversations/{}/change", conversation.id)) data-quick="resolve" {
                    input type="hidden" name="_csrf" value=(csrf);
                    input type="hidden" name="status" value="resolved";
                    input type="hidden" name="back" value=(back);
                    button type="submit" aria-label=(format!("Resolve the conversation with {name}")) { "Resolve" }
                }
            }
        }
    }
}
