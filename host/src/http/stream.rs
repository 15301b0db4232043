//! `GET /api/stream`: conversation changes as server-sent events, as they commit on any host,
//! filtered by what the caller may see. A client that reconnects with `Last-Event-ID` first
//! gets what it missed from the store.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;

use super::{ApiError, AppState};
use crate::auth::{Access, Principal};
use crate::store::LiveEvent;

/// Events replayed to a reconnecting client at most.
const CATCH_UP: i64 = 500;
/// How often an agent's teams are read again (membership changes reach an open stream).
const TEAMS_EVERY: Duration = Duration::from_secs(30);

/// Who may see an event: everyone above an agent; an agent, the conversations assigned to
/// them, those of their teams or of no team, and the notes that mention them.
struct Viewer {
    access: Access,
    user: Option<i64>,
    teams: Vec<i64>,
}

impl Viewer {
    fn sees(&self, event: &LiveEvent) -> bool {
        if self.access != Access::Agent {
            return true;
        }
        let mentioned = event.data["mentions"]
            .as_array()
            .is_some_and(|m| m.iter().any(|id| id.as_i64() == self.user));
        event.assignee_id.is_some() && event.assignee_id == self.user
            || event.team_id.is_none_or(|team| self.teams.contains(&team))
            || mentioned
    }
}

async fn teams_of(state: &AppState, user: Option<i64>) -> Vec<i64> {
    let Some(user) = user else { return Vec::new() };
    match state.store.user(user).await {
        Ok(Some((user, _))) => user.teams,
        _ => Vec::new(),
    }
}

fn to_sse(event: &LiveEvent) -> Event {
    Event::default()
        .id(event.id.to_string())
        .event("conversation")
        .json_data(event)
        .unwrap_or_else(|_| Event::default().comment("unencodable event"))
}

/// Conversation changes as they happen: `event: conversation`, data a JSON object with `id`,
/// `kind` (`created`, `message`, `assigned`, `status`, `reply`, `note`, `merged`, …),
/// `conversation_id`, `customer_id`, `team_id`, `assignee_id`, `actor_id`, `data` and `at`.
#[utoipa::path(get, path = "/api/stream",
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")),
    responses((status = 200, description = "A text/event-stream of conversation changes", content_type = "text/event-stream")))]
pub async fn stream(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<Principal>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribed before catching up, so nothing committed in between is missed.
    let mut live = state.store.subscribe();
    let user = principal.user_id();
    let mut viewer =
        Viewer { access: principal.access(), user, teams: teams_of(&state, user).await };
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let missed = match last {
        Some(after) => state.store.events_after(after, CATCH_UP).await?,
        None => Vec::new(),
    };
    let stream = async_stream(move |sender| async move {
        let mut seen = std::collections::HashSet::new();
        for event in missed {
            seen.insert(event.id);
            if viewer.sees(&event) && sender.send(to_sse(&event)).await.is_err() {
                return;
            }
        }
        let mut refreshed = tokio::time::Instant::now();
        loop {
            let event: Arc<LiveEvent> = match live.recv().await {
                Ok(event) => event,
                // A slow client lost some: it is told to reload, and carries on.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(skipped)) => {
                    let notice = Event::default().event("lagged").data(skipped.to_string());
                    if sender.send(notice).await.is_err() {
                        return;
                    }
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if !seen.is_empty() && seen.remove(&event.id) {
                continue;
            }
            if viewer.access == Access::Agent && refreshed.elapsed() > TEAMS_EVERY {
                viewer.teams = teams_of(&state, viewer.user).await;
                refreshed = tokio::time::Instant::now();
            }
            if viewer.sees(&event) && sender.send(to_sse(&event)).await.is_err() {
                return;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A stream fed by a task through a small channel: the task ends when the client goes.
fn async_stream<F, Fut>(producer: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Event>(64);
    tokio::spawn(producer(sender));
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx).map(|event| event.map(Ok)))
}
