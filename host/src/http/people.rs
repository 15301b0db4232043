//! People: the caller's own account, users (admin), personal API tokens, teams and routing
//! rules (supervisor).

use super::extract::Json;
use super::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::auth::{Access, Principal, check_password, hash_password_async};
use crate::store::{ApiToken, Policy, RoutingRule, Team, User, UserChange, UserRole};

type Caller = axum::Extension<Principal>;

fn me(principal: &Principal) -> Result<&User, ApiError> {
    principal
        .user()
        .ok_or_else(|| ApiError::BadRequest("this needs a user, not a machine token".into()))
}

/// `PATCH /api/me` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeChange {
    /// Away: not assigned new conversations.
    away: Option<bool>,
    /// Name for people.
    name: Option<String>,
}

/// The caller's account.
#[utoipa::path(get, path = "/api/me", responses((status = 200, body = User), (status = 400, body = super::error::ErrorBody)))]
pub async fn get_me(axum::Extension(principal): Caller) -> Result<Json<User>, ApiError> {
    Ok(Json(me(&principal)?.clone()))
}

/// Goes away or comes back, or changes one's name.
#[utoipa::path(patch, path = "/api/me", request_body = MeChange, responses((status = 200, body = User)))]
pub async fn patch_me(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Json(body): Json<MeChange>,
) -> Result<Json<User>, ApiError> {
    let user = me(&principal)?;
    let name = body.name.map(|n| checked_name(&n)).transpose()?;
    let change = UserChange { away: body.away, name, ..UserChange::default() };
    Ok(Json(state.store.change_user(user.id, change).await?))
}

/// `POST /api/me/password` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    current: String,
    /// The new one (at least 10 characters).
    new: String,
}

/// Changes one's password; other sessions end.
#[utoipa::path(post, path = "/api/me/password", request_body = PasswordChange,
    responses((status = 204, description = "Changed"), (status = 403, body = super::error::ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Json(body): Json<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let user = me(&principal)?;
    let (_, hash) =
        state.store.user(user.id).await?.ok_or_else(|| ApiError::NotFound("user".into()))?;
    let current = body.current.clone();
    let matches = tokio::task::spawn_blocking(move || {
        hash.is_some_and(|hash| crate::auth::verify_password(&current, &hash))
    })
    .await
    .unwrap_or(false);
    if !matches {
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    let hash = hash_password_async(body.new).await?;
    state
        .store
        .change_user(user.id, UserChange { password_hash: Some(Some(hash)), ..Default::default() })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn checked_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "`name` must be 1 to 200 bytes without control characters".into(),
        ));
    }
    Ok(name.to_string())
}

fn checked_email(email: &str) -> Result<String, ApiError> {
    crate::auth::checked_email(email).map_err(|m| ApiError::BadRequest(format!("`email`: {m}")))
}

/// The users.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserList {
    /// Every user, by id.
    pub users: Vec<User>,
}

/// Every user (admin).
#[utoipa::path(get, path = "/api/users", responses((status = 200, body = UserList)))]
pub async fn list_users(State(state): State<AppState>) -> Result<Json<UserList>, ApiError> {
    Ok(Json(UserList { users: state.store.users().await? }))
}

/// `POST /api/users` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// E-mail address: how the user logs in.
    email: String,
    /// Name.
    name: String,
    /// `agent`, `supervisor` or `admin`.
    role: UserRole,
    /// A password (at least 10 characters); without one the user logs in after a reset.
    password: Option<String>,
}

/// Adds a user (admin).
#[utoipa::path(post, path = "/api/users", request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)))]
pub async fn add_user(
    State(state): State<AppState>,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let email = checked_email(&body.email)?;
    let name = checked_name(&body.name)?;
    let hash = match body.password {
        Some(password) => Some(hash_password_async(password).await?),
        None => None,
    };
    let user = state.store.add_user(&email, &name, body.role, hash).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// `PATCH /api/users/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Name.
    name: Option<String>,
    /// Role.
    role: Option<UserRole>,
    /// Enabled (a disabled user's sessions end and tokens stop working).
    active: Option<bool>,
    /// Away.
    away: Option<bool>,
    /// Open conversations at most (`least-open` routing); `0` clears it.
    capacity: Option<i64>,
    /// A new password (at least 10 characters); the user's sessions end.
    password: Option<String>,
}

/// Changes a user (admin).
#[utoipa::path(patch, path = "/api/users/{id}", params(("id" = i64, Path)), request_body = UserPatch,
    responses((status = 200, body = User), (status = 404, body = super::error::ErrorBody)))]
pub async fn patch_user(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    Json(body): Json<UserPatch>,
) -> Result<Json<User>, ApiError> {
    if principal.user_id() == Some(id)
        && (body.active == Some(false) || body.role.is_some_and(|r| r != UserRole::Admin))
    {
        return Err(ApiError::Conflict(
            "an admin cannot disable or demote themselves; ask another admin".into(),
        ));
    }
    if let Some(capacity) = body.capacity
        && !(0..=10_000).contains(&capacity)
    {
        return Err(ApiError::BadRequest("`capacity` must be 0 to 10000".into()));
    }
    let password_hash = match body.password {
        Some(password) => {
            check_password(&password)?;
            Some(Some(hash_password_async(password).await?))
        }
        None => None,
    };
    let change = UserChange {
        name: body.name.map(|n| checked_name(&n)).transpose()?,
        role: body.role,
        active: body.active,
        away: body.away,
        capacity: body.capacity.map(|c| (c > 0).then_some(c)),
        password_hash,
    };
    Ok(Json(state.store.change_user(id, change).await?))
}

/// The caller's tokens (an admin sees everyone's).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenList {
    /// Tokens, newest first.
    pub tokens: Vec<ApiToken>,
}

/// Personal API tokens: the caller's, or everyone's for an admin.
#[utoipa::path(get, path = "/api/tokens", responses((status = 200, body = TokenList)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
) -> Result<Json<TokenList>, ApiError> {
    let user = if principal.access() == Access::Admin { None } else { Some(me(&principal)?.id) };
    Ok(Json(TokenList { tokens: state.store.tokens(user).await? }))
}

/// `POST /api/tokens` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for, e.g. `reporting script`.
    name: String,
}

/// A new token: shown once, never again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// The stored token.
    #[serde(flatten)]
    pub stored: ApiToken,
    /// The token itself: send it as `Authorization: Bearer …`. It is not stored.
    pub token: String,
}

/// Issues a personal token acting with the caller's role.
#[utoipa::path(post, path = "/api/tokens", request_body = NewToken, responses((status = 201, body = IssuedToken)))]
pub async fn issue_token(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    let user = me(&principal)?;
    let name = checked_name(&body.name)?;
    let (stored, token) = state.auth.issue_token(user.id, &name).await?;
    Ok((StatusCode::CREATED, Json(IssuedToken { stored, token })))
}

/// Revokes a token: the caller's own, or anyone's for an admin.
#[utoipa::path(delete, path = "/api/tokens/{id}", params(("id" = i64, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = super::error::ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let token = state
        .store
        .token(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("token {id} not found")))?;
    if principal.access() != Access::Admin && Some(token.user_id) != principal.user_id() {
        return Err(ApiError::NotFound(format!("token {id} not found")));
    }
    state.store.revoke_token(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The teams.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamList {
    /// Every team, by name.
    pub teams: Vec<Team>,
}

/// Every team with its members.
#[utoipa::path(get, path = "/api/teams", responses((status = 200, body = TeamList)))]
pub async fn list_teams(State(state): State<AppState>) -> Result<Json<TeamList>, ApiError> {
    Ok(Json(TeamList { teams: state.store.teams().await? }))
}

/// `POST /api/teams` and `PATCH /api/teams/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamChange {
    /// Name.
    name: Option<String>,
    /// Members' user ids, replacing the old ones.
    members: Option<Vec<i64>>,
}

/// Creates a team (supervisor).
#[utoipa::path(post, path = "/api/teams", request_body = TeamChange,
    responses((status = 201, body = Team), (status = 400, body = super::error::ErrorBody)))]
pub async fn add_team(
    State(state): State<AppState>,
    Json(body): Json<TeamChange>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    let name = checked_name(body.name.as_deref().unwrap_or(""))?;
    if state.store.teams().await?.iter().any(|t| t.name == name) {
        return Err(ApiError::Conflict(format!("a team named {name} exists")));
    }
    Ok((
        StatusCode::CREATED,
        Json(state.store.put_team(&name, Some(body.members.unwrap_or_default())).await?),
    ))
}

/// Renames a team or sets its members (supervisor).
#[utoipa::path(patch, path = "/api/teams/{id}", params(("id" = i64, Path)), request_body = TeamChange,
    responses((status = 200, body = Team), (status = 404, body = super::error::ErrorBody)))]
pub async fn patch_team(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<TeamChange>,
) -> Result<Json<Team>, ApiError> {
    let name = body.name.map(|n| checked_name(&n)).transpose()?;
    Ok(Json(state.store.change_team(id, name, body.members).await?))
}

/// Deletes a team (supervisor); its conversations keep their assignees and lose the team.
#[utoipa::path(delete, path = "/api/teams/{id}", params(("id" = i64, Path)), responses((status = 204, description = "Deleted")))]
pub async fn delete_team(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_team(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routing rules.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleList {
    /// Every rule, by scope.
    pub rules: Vec<RoutingRule>,
}

/// Who is responsible for each connector and channel.
#[utoipa::path(get, path = "/api/routing", responses((status = 200, body = RuleList)))]
pub async fn list_rules(State(state): State<AppState>) -> Result<Json<RuleList>, ApiError> {
    Ok(Json(RuleList { rules: state.store.routing_rules().await? }))
}

/// `PUT /api/routing` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleChange {
    /// `connector:<id>` or `channel:<name>`.
    scope: String,
    /// The responsible team.
    team_id: Option<i64>,
    /// The responsible agent.
    user_id: Option<i64>,
    /// `manual` (default), `round-robin` or `least-open`.
    policy: Option<Policy>,
    /// Open conversations an agent carries at most.
    capacity: Option<i64>,
}

/// Sets the rule of a connector or channel (supervisor).
#[utoipa::path(put, path = "/api/routing", request_body = RuleChange,
    responses((status = 200, body = RoutingRule), (status = 400, body = super::error::ErrorBody)))]
pub async fn put_rule(
    State(state): State<AppState>,
    Json(body): Json<RuleChange>,
) -> Result<Json<RoutingRule>, ApiError> {
    let rule = checked_rule(&state, body).await?;
    Ok(Json(state.store.put_routing_rule(rule).await?))
}

async fn checked_rule(state: &AppState, body: RuleChange) -> Result<RoutingRule, ApiError> {
    let valid_scope = body.scope.split_once(':').is_some_and(|(kind, name)| {
        matches!(kind, "connector" | "channel")
            && !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    });
    if !valid_scope {
        return Err(ApiError::BadRequest(format!(
            "`scope` `{}` is not `connector:<id>` or `channel:<name>`, e.g. `channel:sms`",
            body.scope
        )));
    }
    if body.team_id.is_none() && body.user_id.is_none() {
        return Err(ApiError::BadRequest("a rule needs a `team_id`, a `user_id` or both".into()));
    }
    let policy = body.policy.unwrap_or(Policy::Manual);
    if policy != Policy::Manual && body.team_id.is_none() {
        return Err(ApiError::BadRequest(format!(
            "`policy` {} picks among a team: it needs a `team_id`",
            policy.as_str()
        )));
    }
    if let Some(team) = body.team_id
        && !state.store.teams().await?.iter().any(|t| t.id == team)
    {
        return Err(ApiError::BadRequest(format!("`team_id` {team} is not a team")));
    }
    if let Some(user) = body.user_id
        && state.store.user(user).await?.is_none()
    {
        return Err(ApiError::BadRequest(format!("`user_id` {user} is not a user")));
    }
    if body.capacity.is_some_and(|c| !(1..=10_000).contains(&c)) {
        return Err(ApiError::BadRequest("`capacity` must be 1 to 10000".into()));
    }
    Ok(RoutingRule {
        scope: body.scope,
        team_id: body.team_id,
        user_id: body.user_id,
        policy,
        capacity: body.capacity,
        source: "api".into(),
    })
}

/// Removes the rule of a connector or channel (supervisor).
#[utoipa::path(delete, path = "/api/routing/{scope}", params(("scope" = String, Path, description = "e.g. `channel:sms`")),
    responses((status = 204, description = "Removed"), (status = 404, body = super::error::ErrorBody)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    Path(scope): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.store.delete_routing_rule(&scope).await? {
        return Err(ApiError::NotFound(format!("no rule for `{scope}`")));
    }
    Ok(StatusCode::NO_CONTENT)
}
