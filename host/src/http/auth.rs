//! Who is calling, and whether they may: the authentication middleware (bearer tokens, or the
//! console's session cookie with a CSRF token on every change), the per-route access check,
//! and the session endpoints (log in, who am I, log out).

use super::extract::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::auth::{Access, AuthError, CSRF_HEADER, Principal, SESSION_COOKIE, secrets_equal};
use crate::store::User;

/// The bearer token of a request, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The value of cookie `name` of a request, if it has one.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthenticated(m) => ApiError::Unauthorized(m),
            AuthError::Forbidden(m) => ApiError::Forbidden(m),
            AuthError::TooManyAttempts(wait) => {
                ApiError::TooManyRequests(error_message(wait), wait)
            }
            AuthError::BadPassword(m) => ApiError::BadRequest(m),
            AuthError::Store(error) => error.into(),
        }
    }
}

fn error_message(wait: std::time::Duration) -> String {
    format!("too many failed logins; try again in {} minutes", wait.as_secs().div_ceil(60).max(1))
}

/// Finds the caller (a bearer token, else the session cookie) and puts the [`Principal`] in
/// the request; a change made with the cookie must carry the session's CSRF token.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let principal = if let Some(token) = bearer(headers) {
        match state.auth.bearer(token).await {
            Ok(Some(principal)) => principal,
            Ok(None) => {
                return ApiError::Unauthorized("unknown or revoked token".into()).into_response();
            }
            Err(error) => return ApiError::from(error).into_response(),
        }
    } else if let Some(cookie) = cookie(headers, SESSION_COOKIE) {
        match state.auth.session(cookie).await {
            Ok(Some((user, session))) => {
                if changes_state(request.method()) {
                    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    if !secrets_equal(sent, &session.csrf_token) {
                        return ApiError::Forbidden(format!(
                            "a change made with the session cookie needs its CSRF token in `{CSRF_HEADER}`"
                        ))
                        .into_response();
                    }
                }
                Principal::User { user, session: Some(session) }
            }
            Ok(None) => {
                return ApiError::Unauthorized("the session expired or ended; log in again".into())
                    .into_response();
            }
            Err(error) => return ApiError::from(error).into_response(),
        }
    } else {
        return ApiError::Unauthorized(
            "missing credentials: a bearer token or the session cookie".into(),
        )
        .into_response();
    };
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Refuses a request whose caller's access is below `level`. A read token reaches GETs up
/// to supervisor level, never an admin route and never a change.
pub async fn require(level: Access, request: Request, next: Next) -> Response {
    let Some(principal) = request.extensions().get::<Principal>() else {
        return ApiError::Unauthorized("missing credentials".into()).into_response();
    };
    let access = principal.access();
    let allowed = match access {
        Access::Read => request.method() == Method::GET && level <= Access::Supervisor,
        _ => access >= level,
    };
    if !allowed {
        let need = match level {
            Access::Read | Access::Agent => "an agent",
            Access::Supervisor => "a supervisor",
            Access::Admin => "an admin",
        };
        let detail = if access == Access::Read && level <= Access::Supervisor {
            "this token may only read; changes need an agent, a supervisor or an admin".to_string()
        } else {
            format!("this needs {need}")
        };
        return ApiError::Forbidden(detail).into_response();
    }
    next.run(request).await
}

/// `POST /api/session` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// E-mail address.
    email: String,
    /// Password.
    password: String,
}

/// Who is logged in, and the CSRF token to send with changes (`X-CSRF-Token`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The user.
    pub user: User,
    /// What the user may reach.
    pub access: Access,
    /// Send it in `X-CSRF-Token` with every change made with the session cookie.
    pub csrf_token: Option<String>,
}

pub(crate) fn client_address(headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> String {
    // The proxy's view of the client when there is one; the socket's otherwise.
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| peer.map(|p| p.ip().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// The `Set-Cookie` value of a session cookie (`""` with `max_age` 0 clears it).
pub(crate) fn session_cookie_header(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.auth.settings().secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Logs in with an e-mail address and a password: sets the session cookie (HttpOnly,
/// SameSite=Lax, Secure over HTTPS) and answers the CSRF token. Too many failures answer 429.
#[utoipa::path(post, path = "/api/session", request_body = LoginRequest, security(()),
    responses((status = 200, body = SessionView), (status = 401, body = super::error::ErrorBody),
        (status = 403, body = super::error::ErrorBody), (status = 429, body = super::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    if body.email.len() > 320 || body.password.len() > crate::auth::MAX_PASSWORD_BYTES {
        return Err(ApiError::BadRequest("`email` or `password` is too long".into()));
    }
    let client = client_address(&headers, peer.map(|p| p.0.0));
    let login = state.auth.login(&body.email, &body.password, &client).await?;
    let max_age = (login.expires_at - crate::store::now_millis()) / 1000;
    let view = SessionView {
        access: login.user.role.into(),
        user: login.user,
        csrf_token: Some(login.csrf_token),
    };
    let mut response = Json(view).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie_header(&state, &login.session_token, max_age));
    Ok(response)
}

/// Who is calling; with the session cookie, its CSRF token too.
#[utoipa::path(get, path = "/api/session", responses((status = 200, body = SessionView), (status = 401, body = super::error::ErrorBody)))]
pub async fn current(
    axum::Extension(principal): axum::Extension<Principal>,
) -> Result<Json<SessionView>, ApiError> {
    match principal {
        Principal::User { user, session } => Ok(Json(SessionView {
            access: user.role.into(),
            user,
            csrf_token: session.map(|s| s.csrf_token),
        })),
        Principal::Machine { .. } => {
            Err(ApiError::NotFound("a machine token has no session".into()))
        }
    }
}

/// Logs out: the session ends and the cookie is cleared.
#[utoipa::path(delete, path = "/api/session", responses((status = 204, description = "Logged out"), (status = 401, body = super::error::ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<Principal>,
) -> Result<Response, ApiError> {
    if let Principal::User { session: Some(session), .. } = &principal {
        state.auth.logout(session).await?;
    }
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie_header(&state, "", 0));
    Ok(response)
}
