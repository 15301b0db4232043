//! Conversations: the inbox, a conversation, what agents change in it, replies, notes,
//! merges and moves, and canned replies. Each handler translates the request for the desk.

use super::extract::Json;
use super::extract::{Path, Query};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::auth::Principal;
use crate::desk::{
    CannedReply, ConversationChange, ConversationDetail, ConversationSummary, DeskError, Inbox,
    InboxParams, NoteView, ReplyChannels, ReplyOutcome, SendRequest,
};

type Caller = axum::Extension<Principal>;

impl From<DeskError> for ApiError {
    fn from(error: DeskError) -> Self {
        match error {
            DeskError::NotFound(_) => ApiError::NotFound(error.to_string()),
            DeskError::Forbidden(m) => ApiError::Forbidden(m),
            DeskError::BadRequest(m) => ApiError::BadRequest(m),
            DeskError::Conflict(m) => ApiError::Conflict(m),
            DeskError::Refused(m) => ApiError::Unprocessable(m),
            DeskError::Failed(m) => ApiError::BadGateway(m),
            DeskError::Store(error) => error.into(),
        }
    }
}

/// The `Idempotency-Key` header, if any.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_string())
}

/// An inbox page: `view=mine|unassigned|all`, filters, newest or oldest waiting first, with
/// the count of each view.
#[utoipa::path(get, path = "/api/conversations", params(InboxParams),
    responses((status = 200, body = Inbox), (status = 400, body = super::error::ErrorBody)))]
pub async fn inbox(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Query(params): Query<InboxParams>,
) -> Result<Json<Inbox>, ApiError> {
    Ok(Json(state.desk.inbox(&principal, params).await?))
}

/// A conversation with its messages across channels, notes and events.
#[utoipa::path(get, path = "/api/conversations/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = ConversationDetail), (status = 404, body = super::error::ErrorBody)))]
pub async fn conversation(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
) -> Result<Json<ConversationDetail>, ApiError> {
    Ok(Json(state.desk.conversation(&principal, id).await?))
}

/// Assigns, changes status (snooze needs `snoozed_until`), priority, labels or team.
#[utoipa::path(patch, path = "/api/conversations/{id}", params(("id" = i64, Path)), request_body = ConversationChange,
    responses((status = 200, body = ConversationSummary), (status = 400, body = super::error::ErrorBody),
        (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn change(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    Json(change): Json<ConversationChange>,
) -> Result<Json<ConversationSummary>, ApiError> {
    Ok(Json(state.desk.change(&principal, id, change).await?))
}

/// Replies on the channel of the customer's latest message in the conversation, or the one
/// named (`channel`: a connector id, or `preferred`); never where they opted out. With an
/// `Idempotency-Key`, a retry answers the first outcome instead of sending again.
#[utoipa::path(post, path = "/api/conversations/{id}/replies", params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")), request_body = SendRequest,
    responses((status = 200, body = ReplyOutcome), (status = 400, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody), (status = 502, body = super::error::ErrorBody)))]
pub async fn reply(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(request): Json<SendRequest>,
) -> Result<Json<ReplyOutcome>, ApiError> {
    Ok(Json(state.desk.reply(&principal, id, request, idempotency_key(&headers)).await?))
}

/// Where a reply could go out: each connector that sends, the customer's consent on its
/// channels, why it cannot be used if it cannot, and the one a reply goes out on by default.
#[utoipa::path(get, path = "/api/conversations/{id}/reply-channels", params(("id" = i64, Path)),
    responses((status = 200, body = ReplyChannels), (status = 404, body = super::error::ErrorBody)))]
pub async fn reply_channels(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
) -> Result<Json<ReplyChannels>, ApiError> {
    Ok(Json(state.desk.reply_channels(&principal, id).await?))
}

/// `POST /api/conversations/{id}/notes` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note; `@name` mentions a user.
    text: String,
}

/// Adds a private note (never sent to the customer).
#[utoipa::path(post, path = "/api/conversations/{id}/notes", params(("id" = i64, Path)), request_body = NoteRequest,
    responses((status = 201, body = NoteView), (status = 404, body = super::error::ErrorBody)))]
pub async fn note(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    Json(body): Json<NoteRequest>,
) -> Result<(StatusCode, Json<NoteView>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.desk.note(&principal, id, &body.text).await?)))
}

/// `POST /api/conversations/{id}/merge` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationMergeRequest {
    /// The conversation (of the same customer) to merge into this one.
    other: i64,
}

/// Merges another conversation of the same customer into this one.
#[utoipa::path(post, path = "/api/conversations/{id}/merge", params(("id" = i64, Path)), request_body = ConversationMergeRequest,
    responses((status = 200, body = ConversationSummary), (status = 409, body = super::error::ErrorBody)))]
pub async fn merge(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    Json(body): Json<ConversationMergeRequest>,
) -> Result<Json<ConversationSummary>, ApiError> {
    Ok(Json(state.desk.merge(&principal, id, body.other).await?))
}

/// `POST /api/interactions/{id}/move` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The conversation (of the same customer) the message moves to.
    conversation: i64,
}

/// Moves one message to another conversation of the same customer.
#[utoipa::path(post, path = "/api/interactions/{id}/move", params(("id" = i64, Path)), request_body = MoveRequest,
    responses((status = 200, body = ConversationSummary), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn move_interaction(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    Json(body): Json<MoveRequest>,
) -> Result<Json<ConversationSummary>, ApiError> {
    Ok(Json(state.desk.move_interaction(&principal, id, body.conversation).await?))
}

/// The canned replies.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CannedReplyList {
    /// Every canned reply, by name.
    pub canned_replies: Vec<CannedReply>,
    /// The placeholders a body may use.
    pub placeholders: Vec<String>,
}

/// Every canned reply.
#[utoipa::path(get, path = "/api/canned-replies", responses((status = 200, body = CannedReplyList)))]
pub async fn canned_replies(
    State(state): State<AppState>,
) -> Result<Json<CannedReplyList>, ApiError> {
    Ok(Json(CannedReplyList {
        canned_replies: state.desk.canned_replies().await?,
        placeholders: crate::desk::PLACEHOLDERS.iter().map(|p| p.to_string()).collect(),
    }))
}

/// `POST /api/canned-replies` and `PUT /api/canned-replies/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedReplyChange {
    /// Name.
    name: String,
    /// Text, with placeholders such as `{{customer.first_name | there}}`.
    body: String,
}

/// Creates a canned reply, or replaces the one with that name (supervisor).
#[utoipa::path(post, path = "/api/canned-replies", request_body = CannedReplyChange,
    responses((status = 200, body = CannedReply), (status = 400, body = super::error::ErrorBody)))]
pub async fn put_canned_reply(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Json(body): Json<CannedReplyChange>,
) -> Result<Json<CannedReply>, ApiError> {
    Ok(Json(state.desk.put_canned_reply(&principal, None, &body.name, &body.body).await?))
}

/// Changes a canned reply (supervisor).
#[utoipa::path(put, path = "/api/canned-replies/{id}", params(("id" = i64, Path)), request_body = CannedReplyChange,
    responses((status = 200, body = CannedReply), (status = 404, body = super::error::ErrorBody)))]
pub async fn change_canned_reply(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    Json(body): Json<CannedReplyChange>,
) -> Result<Json<CannedReply>, ApiError> {
    Ok(Json(state.desk.put_canned_reply(&principal, Some(id), &body.name, &body.body).await?))
}

/// Deletes a canned reply (supervisor).
#[utoipa::path(delete, path = "/api/canned-replies/{id}", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = super::error::ErrorBody)))]
pub async fn delete_canned_reply(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if !state.desk.delete_canned_reply(id).await? {
        return Err(ApiError::NotFound(format!("canned reply {id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/canned-replies/{id}/render` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenderParams {
    /// The conversation to fill the placeholders for.
    conversation: i64,
}

/// A canned reply as it would go out in a conversation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rendered {
    /// The text.
    pub text: String,
}

/// A canned reply with its placeholders filled for a conversation.
#[utoipa::path(get, path = "/api/canned-replies/{id}/render", params(("id" = i64, Path), RenderParams),
    responses((status = 200, body = Rendered), (status = 400, body = super::error::ErrorBody)))]
pub async fn render_canned_reply(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    Query(params): Query<RenderParams>,
) -> Result<Json<Rendered>, ApiError> {
    Ok(Json(Rendered {
        text: state.desk.render_canned_reply(&principal, id, params.conversation).await?,
    }))
}
