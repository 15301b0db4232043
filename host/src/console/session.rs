//! Who is looking at the console: the session cookie read into a [`Viewer`] (or a redirect to
//! the login page), the forms they submit checked against their session's CSRF token, the
//! one-time notices a form leaves for the next page, and logging in and out.

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::layout::{self, PageError};
use crate::auth::{Access, AuthError, Principal, SESSION_COOKIE, SessionAuth, secrets_equal};
use crate::http::{AppState, cookie};
use crate::store::User;

/// The cookie a form's outcome rides on to the page it redirects to.
const FLASH_COOKIE: &str = "switchboard_notice";
/// Longest form body: a long reply and its fields (the API takes 64 KiB of text).
const FORM_LIMIT: usize = 256 * 1024;
/// Longest notice kept in the cookie (cookies hold about 4 KiB).
const FLASH_LIMIT: usize = 1000;

/// A notice shown once on the next page: what a form did, or why it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flash {
    /// It worked.
    Done(String),
    /// It did not; the message says why in words.
    Failed(String),
}

impl Flash {
    fn encode(&self) -> String {
        let (kind, text) = match self {
            Flash::Done(text) => ("done", text),
            Flash::Failed(text) => ("failed", text),
        };
        let text: String = text.chars().take(FLASH_LIMIT).collect();
        form_urlencoded::byte_serialize(format!("{kind}:{text}").as_bytes()).collect()
    }

    fn decode(value: &str) -> Option<Flash> {
        let decoded: String = form_urlencoded::parse(format!("x={value}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
        let (kind, text) = decoded.split_once(':')?;
        match kind {
            "done" => Some(Flash::Done(text.to_string())),
            "failed" => Some(Flash::Failed(text.to_string())),
            _ => None,
        }
    }
}

/// A redirect to `to` (a path of the console) that shows `flash` there.
pub(crate) fn redirect_with(to: &str, flash: Flash) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60",
        flash.encode()
    )) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Clears the notice cookie once a page showed it.
pub(crate) fn clear_flash(response: &mut Response) {
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("switchboard_notice=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
}

/// The logged-in person looking at a page.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// Who.
    pub user: User,
    /// The session's CSRF token, put into every form.
    pub csrf: String,
    /// The notice a previous form left, shown once.
    pub flash: Option<Flash>,
    session: SessionAuth,
}

impl Viewer {
    /// What the viewer may reach.
    pub fn access(&self) -> Access {
        self.user.role.into()
    }

    /// The caller the desk and the store's checks know.
    pub fn principal(&self) -> Principal {
        Principal::User { user: self.user.clone(), session: Some(self.session.clone()) }
    }

    /// Refuses a page or form the viewer's role may not reach.
    pub fn require(&self, level: Access) -> Result<(), PageError> {
        if self.access() >= level {
            return Ok(());
        }
        let who = match level {
            Access::Read | Access::Agent => "agents",
            Access::Supervisor => "supervisors and admins",
            Access::Admin => "admins",
        };
        Err(PageError::Forbidden(format!(
            "This page is for {who}; you are logged in as {}.",
            self.user.role_name()
        )))
    }
}

impl User {
    /// The role, for people.
    pub(crate) fn role_name(&self) -> &'static str {
        match self.role {
            crate::store::UserRole::Agent => "an agent",
            crate::store::UserRole::Supervisor => "a supervisor",
            crate::store::UserRole::Admin => "an admin",
        }
    }
}

/// Where a page that needs a login sends the browser: the login page, which brings it back.
fn to_login(parts: &Parts) -> Response {
    // A script's request for a fragment cannot follow a redirect into a form: it is told.
    if parts.headers.get("x-console-fetch").is_some() {
        return (StatusCode::UNAUTHORIZED, "the session ended; log in again").into_response();
    }
    let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/inbox");
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// Whether a form came from a page of this server. Browsers name the page's origin in `Origin`
/// on every form post; one from another site is refused before anything else (the session's
/// CSRF token refuses it too, and logging in has no token). No `Origin` (an old browser, a
/// script) is left to the token.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let authority = |url: &str| {
        url.split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_ascii_lowercase())
    };
    let origin = authority(origin);
    let own_host =
        headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
    let public = state.public_url.as_deref().and_then(authority);
    origin.is_some() && (origin == public || origin == own_host)
}

fn foreign_form() -> Response {
    PageError::Forbidden("This form was sent from another site; nothing was done.".into())
        .into_response()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts));
        };
        match state.auth.session(token).await {
            Ok(Some((user, session))) => Ok(Viewer {
                csrf: session.csrf_token.clone(),
                flash: cookie(&parts.headers, FLASH_COOKIE).and_then(Flash::decode),
                user,
                session,
            }),
            Ok(None) => Err(to_login(parts)),
            Err(error) => Err(PageError::from(error).into_response()),
        }
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// A submitted form of type `T` and who submitted it, after its CSRF token was checked.
pub(crate) struct Submitted<T> {
    /// Who.
    pub viewer: Viewer,
    /// The fields.
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Submitted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        if !same_origin(state, &parts.headers) {
            return Err(foreign_form());
        }
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(PageError::BadRequest(
                "This address takes a form from the console.".into(),
            )
            .into_response());
        }
        let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            PageError::BadRequest(format!(
                "The form is larger than {} KiB; shorten the text.",
                FORM_LIMIT / 1024
            ))
            .into_response()
        })?;
        let token: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            PageError::BadRequest(format!("The form is invalid: {e}.")).into_response()
        })?;
        if !secrets_equal(&token.csrf, &viewer.csrf) {
            return Err(PageError::Forbidden(
                "This form is out of date (it came from an earlier session or another site). \
                 Reload the page and try again."
                    .into(),
            )
            .into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            PageError::BadRequest(format!("The form is invalid: {e}.")).into_response()
        })?;
        Ok(Submitted { viewer, form })
    }
}

/// Where the login page sends the browser afterwards: only a path of this console.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/login")
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/inbox".to_string(),
    }
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

/// The login page.
pub(crate) async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    // Already logged in: on to where they were going.
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = state.auth.session(token).await
    {
        return Redirect::to(&local_path(query.next.as_deref())).into_response();
    }
    let flash = cookie(&headers, FLASH_COOKIE).and_then(Flash::decode);
    let mut response =
        login_form(&local_path(query.next.as_deref()), "", flash.as_ref(), StatusCode::OK);
    if flash.is_some() {
        clear_flash(&mut response);
    }
    response
}

fn login_form(next: &str, email: &str, notice: Option<&Flash>, status: StatusCode) -> Response {
    let body = html! {
        main id="main" class="login" {
            h1 { "Switchboard" }
            p class="muted" { "One customer across every channel. Log in with the e-mail address your admin added." }
            (layout::notice(notice))
            form method="post" action="/login" class="stack" {
                input type="hidden" name="next" value=(next);
                label for="email" { "E-mail address" }
                input id="email" name="email" type="email" autocomplete="username" required
                    autofocus value=(email);
                label for="password" { "Password" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button type="submit" class="primary" { "Log in" }
            }
        }
    };
    let mut response = layout::bare("Log in", body).into_response();
    *response.status_mut() = status;
    response
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Logs in from the form: sets the session cookie and goes on; a refusal shows the form again
/// with the reason.
pub(crate) async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !same_origin(&state, &headers) {
        return foreign_form();
    }
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return login_form(
            "/inbox",
            "",
            Some(&Flash::Failed("Enter your e-mail address and password.".into())),
            StatusCode::BAD_REQUEST,
        );
    };
    let next = local_path(form.next.as_deref());
    if form.email.len() > 320 || form.password.len() > crate::auth::MAX_PASSWORD_BYTES {
        return login_form(
            &next,
            "",
            Some(&Flash::Failed("The e-mail address or the password is too long.".into())),
            StatusCode::BAD_REQUEST,
        );
    }
    let client = crate::http::client_address(&headers, peer.map(|p| p.0.0));
    match state.auth.login(&form.email, &form.password, &client).await {
        Ok(login) => {
            let max_age = (login.expires_at - crate::store::now_millis()) / 1000;
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                crate::http::session_cookie_header(&state, &login.session_token, max_age),
            );
            response
        }
        Err(error) => {
            let (status, message) = match &error {
                AuthError::Unauthenticated(_) => {
                    (StatusCode::UNAUTHORIZED, "Wrong e-mail address or password.".to_string())
                }
                AuthError::Forbidden(_) => (
                    StatusCode::FORBIDDEN,
                    "This account is disabled; ask an admin to enable it.".to_string(),
                ),
                AuthError::TooManyAttempts(wait) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "Too many failed attempts. Try again in {} minutes.",
                        wait.as_secs().div_ceil(60).max(1)
                    ),
                ),
                AuthError::BadPassword(message) => (StatusCode::BAD_REQUEST, message.clone()),
                AuthError::Store(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The store is unavailable; try again in a moment.".to_string(),
                ),
            };
            login_form(&next, &form.email, Some(&Flash::Failed(message)), status)
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Empty {}

/// Logs out: the session ends, the cookie is cleared, and the login page says so.
pub(crate) async fn logout(State(state): State<AppState>, submitted: Submitted<Empty>) -> Response {
    if let Err(error) = state.auth.logout(&submitted.viewer.session).await {
        return PageError::from(error).into_response();
    }
    let mut response = redirect_with("/login", Flash::Done("You are logged out.".into()));
    response
        .headers_mut()
        .append(header::SET_COOKIE, crate::http::session_cookie_header(&state, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_survive_their_cookie() {
        for flash in [
            Flash::Done("Replied on WhatsApp; it went out as wamid.1".into()),
            Flash::Failed("the customer opted out of sms through twilio (STOP: a; b=c)".into()),
        ] {
            assert_eq!(Flash::decode(&flash.encode()), Some(flash));
        }
        assert_eq!(Flash::decode("nonsense"), None);
    }

    #[test]
    fn logins_only_lead_back_into_the_console() {
        assert_eq!(local_path(Some("/customers/4?x=1")), "/customers/4?x=1");
        for foreign in ["//evil.example/", "https://evil.example/", "/\\evil", "/login", "", "x"] {
            assert_eq!(local_path(Some(foreign)), "/inbox", "{foreign}");
        }
        assert_eq!(local_path(None), "/inbox");
    }
}
