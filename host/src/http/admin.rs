//! The admin API: connectors (state, reload, enable, disable) and dead letters (list with
//! credentials masked, replay, delete).

use super::extract::Json;
use super::extract::{Path, Query};
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, process_webhook};
use crate::model::HttpRequest;
use crate::registry::{ReloadError, ReloadReport, SlotStatus};
use crate::store::{DeadLetter, ReplayClaim};

/// The connectors.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectorList {
    /// Every configured connector, by id.
    pub connectors: Vec<SlotStatus>,
}

/// Every connector: plugin version, state, requests, errors, last error, last poll.
#[utoipa::path(get, path = "/admin/connectors", responses((status = 200, body = ConnectorList)))]
pub async fn list_connectors(State(state): State<AppState>) -> Json<ConnectorList> {
    Json(ConnectorList {
        connectors: state.registry.all().iter().map(|slot| slot.status()).collect(),
    })
}

/// Reloads a connector from its plugin file; a broken file leaves the old version serving.
#[utoipa::path(post, path = "/admin/connectors/{id}/reload", params(("id" = String, Path)),
    responses((status = 200, body = ReloadReport), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
pub async fn reload(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ReloadReport>, ApiError> {
    match state.registry.reload(&id).await {
        Ok(report) => Ok(Json(report)),
        Err(error @ ReloadError::Unknown(_)) => Err(ApiError::NotFound(error.to_string())),
        Err(error @ ReloadError::Refused { .. }) => Err(ApiError::Unprocessable(error.to_string())),
    }
}

/// Whether a connector serves.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Switched {
    /// Connector id.
    pub id: String,
    /// Serving (true) or answering 503 (false).
    pub enabled: bool,
}

/// Starts serving a connector again.
#[utoipa::path(post, path = "/admin/connectors/{id}/enable", params(("id" = String, Path)),
    responses((status = 200, body = Switched), (status = 404, body = super::error::ErrorBody)))]
pub async fn enable(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Switched>, ApiError> {
    switch(&state, &id, true)
}

/// Stops serving a connector (its webhooks answer 503, so providers retry later).
#[utoipa::path(post, path = "/admin/connectors/{id}/disable", params(("id" = String, Path)),
    responses((status = 200, body = Switched), (status = 404, body = super::error::ErrorBody)))]
pub async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Switched>, ApiError> {
    switch(&state, &id, false)
}

fn switch(state: &AppState, id: &str, enabled: bool) -> Result<Json<Switched>, ApiError> {
    if !state.registry.set_enabled(id, enabled) {
        return Err(ApiError::NotFound(format!("no connector `{id}`")));
    }
    Ok(Json(Switched { id: id.to_string(), enabled }))
}

/// `GET /admin/dead-letters` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterParams {
    /// Include replayed ones (default: only pending).
    all: Option<bool>,
    /// At most this many (default 100).
    limit: Option<u32>,
}

/// Dead letters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLetterList {
    /// Newest first.
    pub dead_letters: Vec<DeadLetter>,
}

/// Requests a connector failed on, newest first.
#[utoipa::path(get, path = "/admin/dead-letters", params(DeadLetterParams), responses((status = 200, body = DeadLetterList)))]
pub async fn dead_letters(
    State(state): State<AppState>,
    Query(p): Query<DeadLetterParams>,
) -> Result<Json<DeadLetterList>, ApiError> {
    let mut dead_letters =
        state.store.dead_letters(!p.all.unwrap_or(false), p.limit.unwrap_or(100)).await?;
    for letter in &mut dead_letters {
        mask_request(&mut letter.request);
    }
    Ok(Json(DeadLetterList { dead_letters }))
}

/// Deletes a dead letter (it will not be replayed).
#[utoipa::path(delete, path = "/admin/dead-letters/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
pub async fn delete_dead_letter(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::http::StatusCode, ApiError> {
    if state.store.delete_dead_letter(id).await? {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("dead letter {id} not found")))
    }
}

/// What a dead letter shows in place of a credential.
const MASK: &str = "••••••";

/// Whether a header carries a credential (Telegram's secret token, basic auth of Postmark and
/// SendGrid, API keys, cookies). Signatures are not: they are computed over the body and
/// useless for another one.
fn secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "authorization" | "proxy-authorization" | "cookie")
        || ["token", "secret", "password", "api-key", "apikey"].iter().any(|w| name.contains(w))
}

/// Whether a query parameter carries a credential (Google's push `token`, a `key`…).
fn secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["token", "secret", "password", "key", "auth"].iter().any(|w| name.contains(w))
}

/// `url` with its user-info and secret query values masked.
fn mask_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut masked = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{MASK}@{host}{path}"),
                None => base.to_string(),
            }
        }
        None => base.to_string(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if secret_param(name) => format!("{name}={MASK}"),
                _ => pair.to_string(),
            })
            .collect();
        masked.push('?');
        masked.push_str(&pairs.join("&"));
    }
    masked
}

/// A stored request as an admin sees it: credentials in headers and URLs masked (the store
/// keeps them, for replay).
pub(crate) fn mask_request(request: &mut serde_json::Value) {
    for field in ["url", "route"] {
        if let Some(serde_json::Value::String(value)) = request.get_mut(field) {
            *value = mask_url(value);
        }
    }
    if let Some(serde_json::Value::Array(headers)) = request.get_mut("headers") {
        for header in headers {
            if let Some([serde_json::Value::String(name), value]) =
                header.as_array_mut().map(Vec::as_mut_slice)
                && secret_header(name)
            {
                *value = serde_json::Value::String(MASK.into());
            }
        }
    }
}

/// What a replay did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Replayed {
    /// The dead letter.
    pub id: i64,
    /// Always true: a failed replay answers 502.
    pub replayed: bool,
    /// The status the connector answered.
    pub status: u16,
}

/// Runs a dead letter through its connector again (after a fix).
#[utoipa::path(post, path = "/admin/dead-letters/{id}/replay", params(("id" = i64, Path)),
    responses((status = 200, body = Replayed), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody), (status = 502, body = super::error::ErrorBody)))]
pub async fn replay(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Replayed>, ApiError> {
    Ok(Json(replay_dead_letter(&state, id).await?))
}

/// Replays dead letter `id` once: claimed first, so of concurrent replays (or a double
/// click) exactly one runs; the outcome is recorded either way.
pub(crate) async fn replay_dead_letter(state: &AppState, id: i64) -> Result<Replayed, ApiError> {
    let letter = match state.store.claim_replay(id).await? {
        ReplayClaim::Claimed(letter) => letter,
        ReplayClaim::NotFound => {
            return Err(ApiError::NotFound(format!("dead letter {id} not found")));
        }
        ReplayClaim::Replayed => {
            return Err(ApiError::Conflict(format!("dead letter {id} was already replayed")));
        }
        ReplayClaim::InProgress => {
            return Err(ApiError::Conflict(format!(
                "dead letter {id} is being replayed right now"
            )));
        }
    };
    let mut request: HttpRequest = serde_json::from_value(letter.request).map_err(|e| {
        ApiError::Internal(format!("dead letter {id} holds an unreadable request: {e}"))
    })?;
    // Kept before requests carried their receipt time: the dead letter's own is the same.
    if request.received_at == 0 {
        request.received_at = letter.received_at;
    }
    match process_webhook(state, &letter.connector_id, request, false).await {
        Ok(response) => {
            state.store.record_replay(id, Ok(())).await?;
            Ok(Replayed { id, replayed: true, status: response.status })
        }
        Err(error) => {
            let message = error.to_string();
            state.store.record_replay(id, Err(&message)).await?;
            Err(ApiError::BadGateway(format!("replay of dead letter {id} failed: {message}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_stored_requests_are_masked() {
        let mut request = serde_json::json!({
            "method": "POST",
            "url": "https://postmark-hook:hunter22@crm.example.com/hooks/google?token=push-secret&kind=review",
            "route": "/?token=push-secret&kind=review",
            "headers": [["X-Telegram-Bot-Api-Secret-Token", "tg-secret"], ["Authorization", "Basic cG9zdG1hcms6aHVudGVyMjI="],
                ["X-Hub-Signature-256", "sha256=abc"], ["Content-Type", "application/json"]],
            "body": "{}",
        });
        mask_request(&mut request);
        let shown = request.to_string();
        for secret in ["hunter22", "push-secret", "tg-secret", "cG9zdG1hcms6aHVudGVyMjI="] {
            assert!(!shown.contains(secret), "{secret} shown: {shown}");
        }
        assert_eq!(
            request["url"],
            format!("https://{MASK}@crm.example.com/hooks/google?token={MASK}&kind=review")
        );
        assert_eq!(
            request["headers"][2][1], "sha256=abc",
            "signatures stay: they prove nothing else"
        );
        assert_eq!(request["headers"][3][1], "application/json");
    }
}
