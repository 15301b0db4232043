//! The admin API: connectors (state, reload, enable, disable) and dead letters (list, replay).

use super::extract::Json;
use super::extract::{Path, Query};
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, process_webhook};
use crate::model::HttpRequest;
use crate::registry::{ReloadError, ReloadReport, SlotStatus};
use crate::store::DeadLetter;

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
    let dead_letters =
        state.store.dead_letters(!p.all.unwrap_or(false), p.limit.unwrap_or(100)).await?;
    Ok(Json(DeadLetterList { dead_letters }))
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
    let letter = state
        .store
        .dead_letter(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("dead letter {id} not found")))?;
    if letter.replayed_at.is_some() {
        return Err(ApiError::Conflict(format!("dead letter {id} was already replayed")));
    }
    let mut request: HttpRequest = serde_json::from_value(letter.request).map_err(|e| {
        ApiError::Internal(format!("dead letter {id} holds an unreadable request: {e}"))
    })?;
    // Kept before requests carried their receipt time: the dead letter's own is the same.
    if request.received_at == 0 {
        request.received_at = letter.received_at;
    }
    match process_webhook(&state, &letter.connector_id, request, false).await {
        Ok(response) => {
            state.store.record_replay(id, Ok(())).await?;
            Ok(Json(Replayed { id, replayed: true, status: response.status }))
        }
        Err(error) => {
            let message = error.to_string();
            state.store.record_replay(id, Err(&message)).await?;
            Err(ApiError::BadGateway(format!("replay of dead letter {id} failed: {message}")))
        }
    }
}
