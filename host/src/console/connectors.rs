//! Connectors (admin): each one's state, version, contract, capabilities, calls and errors,
//! last error and last poll, the webhook URL to give the provider, and reload, enable and
//! disable. Dead letters (admin): what failed, when and why, the stored request with its
//! credentials masked, and replay (with its result) or delete.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Nav, PageError};
use super::session::{Empty, Flash, Submitted, Viewer, redirect_with};
use super::{format, icons};
use crate::auth::Access;
use crate::http::AppState;
use crate::registry::{ReloadError, SlotStatus};

/// Where providers send webhooks for `id`.
fn webhook_url(state: &AppState, headers: &HeaderMap, id: &str) -> String {
    let base = state.public_url.clone().unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}")
    });
    format!("{}/hooks/{id}", base.trim_end_matches('/'))
}

/// `GET /connectors`.
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    viewer.require(Access::Admin)?;
    let connectors: Vec<SlotStatus> =
        state.registry.all().iter().map(|slot| slot.status()).collect();
    let pending = state.store.dead_letters(true, 500).await?;
    let body = html! {
        h1 { "Connectors" }
        @if connectors.is_empty() {
            div class="empty" {
                p { strong { "No connector is enabled." } }
                p { "Add a " code { "[[connector]]" } " to " code { "switchboard.toml" }
                    " (every setting is explained in " code { "examples/switchboard.toml" } "); the running server picks it up without a restart." }
            }
        } @else {
            @if !pending.is_empty() {
                p class="notice failed" { a href="/dead-letters" { (format::count(pending.len() as i64, "request waits", "requests wait")) " in dead letters" } " for a fix and a replay." }
            }
            ul class="connectors" {
                @for connector in &connectors {
                    (card(&viewer, connector, &webhook_url(&state, &headers, &connector.id),
                        pending.iter().filter(|d| d.connector_id == connector.id).count()))
                }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::Connectors, "Connectors", body))
}

fn card(viewer: &Viewer, c: &SlotStatus, webhook: &str, dead: usize) -> Markup {
    let channel = c.channels.first().cloned().unwrap_or_default();
    let action = |what: &str| format!("/connectors/{}/{what}", c.id);
    html! {
        li class=(format!("connector state-{}", c.state)) aria-labelledby=(format!("connector-{}", c.id)) {
            h2 id=(format!("connector-{}", c.id)) {
                (icons::glyph(&channel)) " " (c.name.clone().unwrap_or_else(|| c.id.clone()))
                " " span class="muted" { "(" (c.id) ")" }
                " " span class=(format!("badge state-{}", c.state)) { (c.state) }
            }
            dl class="facts" {
                dt { "Version" } dd { (c.plugin_version.clone().unwrap_or_else(|| "not loaded".into())) }
                dt { "Contract" } dd { (c.contract_version.clone().unwrap_or_else(|| "—".into())) }
                dt { "Channels" } dd { @for ch in &c.channels { (icons::channel_named(ch)) " " } }
                dt { "Capabilities" } dd { (c.capabilities.join(", ")) }
                dt { "Calls" } dd { (format::count(c.requests as i64, "call", "calls")) ", " (c.errors) " failed, "
                    (format::count(c.reloads as i64, "reload", "reloads")) }
                dt { "Last poll" } dd { @match c.last_poll { Some(at) => (format::time(at)), None => "never" } }
                dt { "Component" } dd { code { (c.plugin) } @if let Some(sha) = &c.sha256 { " " span class="muted" title=(sha) { "sha256 " (&sha[..sha.len().min(12)]) } } }
                @if c.capabilities.iter().any(|cap| cap == "webhook") {
                    dt { "Webhook URL" } dd { code class="copy" { (webhook) } }
                }
                dt { "Dead letters" } dd { @if dead > 0 { a href="/dead-letters" { (dead) " waiting" } } @else { "none" } }
            }
            @if let Some(error) = &c.last_error {
                p class="last-error" role="note" { strong { "Last error: " } (error) }
            }
            div class="actions" {
                form method="post" action=(action("reload")) class="inline" {
                    input type="hidden" name="_csrf" value=(viewer.csrf);
                    button type="submit" { "Reload " span class="visually-hidden" { (c.id) } }
                }
                @if c.state == "disabled" {
                    form method="post" action=(action("enable")) class="inline" {
                        input type="hidden" name="_csrf" value=(viewer.csrf);
                        button type="submit" { "Enable " span class="visually-hidden" { (c.id) } }
                    }
                } @else if c.state == "serving" {
                    form method="post" action=(action("disable")) class="inline"
                        data-confirm=(format!("Disable {}? Its webhooks answer 503 until it is enabled again (providers retry).", c.id)) {
                        input type="hidden" name="_csrf" value=(viewer.csrf);
                        button type="submit" { "Disable " span class="visually-hidden" { (c.id) } }
                    }
                }
            }
        }
    }
}

/// `POST /connectors/{id}/reload|enable|disable`.
pub(crate) async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    submitted: Submitted<Empty>,
) -> Result<Response, PageError> {
    submitted.viewer.require(Access::Admin)?;
    let flash = match action.as_str() {
        "reload" => match state.registry.reload(&id).await {
            Ok(report) if report.changed => Flash::Done(format!(
                "Reloaded {id}: version {} now serves (loaded in {:.1} ms).",
                report.version, report.load_ms
            )),
            Ok(report) => Flash::Done(format!(
                "Reloaded {id}: the component is unchanged, version {} keeps serving.",
                report.version
            )),
            Err(ReloadError::Unknown(_)) => {
                return Err(PageError::NotFound(format!("There is no connector `{id}`.")));
            }
            Err(error @ ReloadError::Refused { .. }) => {
                Flash::Failed(format!("Not reloaded: {error}."))
            }
        },
        "enable" | "disable" => {
            let enable = action == "enable";
            if !state.registry.set_enabled(&id, enable) {
                return Err(PageError::NotFound(format!("There is no connector `{id}`.")));
            }
            Flash::Done(if enable {
                format!("{id} is enabled and serving.")
            } else {
                format!("{id} is disabled: its webhooks answer 503 until it is enabled again.")
            })
        }
        other => {
            return Err(PageError::NotFound(format!("There is no connector action `{other}`.")));
        }
    };
    Ok(redirect_with("/connectors", flash))
}

/// The dead letters' query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DeadLetterQuery {
    all: Option<String>,
}

/// `GET /dead-letters`.
pub(crate) async fn dead_letters(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DeadLetterQuery>,
) -> Result<Response, PageError> {
    viewer.require(Access::Admin)?;
    let all = query.all.as_deref().is_some_and(|a| a == "1" || a == "true");
    let mut letters = state.store.dead_letters(!all, 200).await?;
    for letter in &mut letters {
        crate::http::mask_request(&mut letter.request);
    }
    let body = html! {
        h1 { "Dead letters" }
        p class="muted" { "Requests a connector or the store failed on. They are kept (for " code { "[dead_letters] retention" }
            ", 30 days by default) so that, once the cause is fixed, a replay stores them as if they had just arrived. Credentials are masked here; the stored copy keeps them for the replay." }
        nav class="tabs" aria-label="Which dead letters" {
            a href="/dead-letters" aria-current=[(!all).then_some("page")] { "Waiting" }
            a href="/dead-letters?all=1" aria-current=[all.then_some("page")] { "All, replayed too" }
        }
        @if letters.is_empty() {
            p class="empty" { "No failed request is waiting." }
        } @else {
            ol class="letters plain" {
                @for letter in &letters {
                    li class="letter" aria-labelledby=(format!("letter-{}", letter.id)) {
                        h2 id=(format!("letter-{}", letter.id)) {
                            "#" (letter.id) " · " (letter.connector_id) " · " (format::time(letter.received_at))
                            @if letter.replayed_at.is_some() { " " span class="badge ok" { "replayed" } }
                        }
                        p class="last-error" { strong { "Error: " } (letter.error) }
                        p class="muted" { (format::count(letter.attempts, "attempt", "attempts"))
                            @if let Some(at) = letter.replayed_at { " · replayed " (format::time(at)) } }
                        details {
                            summary { "The stored request (credentials masked)" }
                            pre class="request" { (request_text(&letter.request)) }
                        }
                        @if letter.replayed_at.is_none() {
                            div class="actions" {
                                form method="post" action=(format!("/dead-letters/{}/replay", letter.id)) class="inline" {
                                    input type="hidden" name="_csrf" value=(viewer.csrf);
                                    button type="submit" class="primary" { "Replay " span class="visually-hidden" { "dead letter " (letter.id) } }
                                }
                                form method="post" action=(format!("/dead-letters/{}/delete", letter.id)) class="inline"
                                    data-confirm="Delete this request for good? It will not be replayed." {
                                    input type="hidden" name="_csrf" value=(viewer.csrf);
                                    button type="submit" { "Delete " span class="visually-hidden" { "dead letter " (letter.id) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::DeadLetters, "Dead letters", body))
}

/// Longest body shown: enough to recognise it, not a megabyte of page.
const BODY_SHOWN: usize = 4096;

/// A stored request as text: method and URL, headers, then the body (cut at a character).
fn request_text(request: &serde_json::Value) -> String {
    let mut out = format!(
        "{} {}\n",
        request["method"].as_str().unwrap_or("?"),
        request["url"].as_str().or(request["route"].as_str()).unwrap_or("?")
    );
    for header in request["headers"].as_array().into_iter().flatten() {
        if let (Some(name), Some(value)) = (header[0].as_str(), header[1].as_str()) {
            out.push_str(&format!("{name}: {value}\n"));
        }
    }
    out.push('\n');
    let body = request["body"].as_str().unwrap_or("");
    if body.len() > BODY_SHOWN {
        let mut end = BODY_SHOWN;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&body[..end]);
        out.push_str(&format!("\n… ({} more bytes)", body.len() - end));
    } else {
        out.push_str(body);
    }
    out
}

/// `POST /dead-letters/{id}/replay|delete`.
pub(crate) async fn act_on_dead_letter(
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    submitted: Submitted<Empty>,
) -> Result<Response, PageError> {
    submitted.viewer.require(Access::Admin)?;
    let flash = match action.as_str() {
        "replay" => match crate::http::replay_dead_letter(&state, id).await {
            Ok(replayed) => Flash::Done(format!(
                "Dead letter #{id} replayed: the connector answered {} and its events are stored.",
                replayed.status
            )),
            Err(error) => {
                Flash::Failed(format!("Replay of #{id} failed: {}", PageError::from(error)))
            }
        },
        "delete" => match state.store.delete_dead_letter(id).await? {
            true => Flash::Done(format!("Dead letter #{id} deleted.")),
            false => Flash::Failed(format!("There is no dead letter #{id}.")),
        },
        other => {
            return Err(PageError::NotFound(format!("There is no dead-letter action `{other}`.")));
        }
    };
    Ok(redirect_with("/dead-letters?all=1", flash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_requests_read_as_http_and_long_bodies_are_cut_at_a_character() {
        let body = "é".repeat(3000);
        let request = serde_json::json!({"method": "POST", "url": "https://crm.example.com/hooks/telegram",
            "headers": [["Content-Type", "application/json"]], "body": body});
        let text = request_text(&request);
        assert!(text.starts_with(
            "POST https://crm.example.com/hooks/telegram\nContent-Type: application/json\n\n"
        ));
        assert!(text.ends_with("(1904 more bytes)"), "{}", &text[text.len() - 40..]);
    }
}
