//! The web console: the pages where agents work the inbox and serve customers, supervisors read
//! reports and admins watch connectors, served at `/` by `switchboard serve`.
//!
//! Pages are rendered on the server from compile-time checked templates ([`maud`]) and work
//! without JavaScript; a small script (`assets/console.js`) adds live updates over the API's
//! event stream, keyboard navigation and local times. Every page reads through the same
//! functions the REST API's handlers call, and every change goes through them too, so the
//! console can do nothing an integrator with a token cannot. Roles are checked here on every
//! page and every form, as the API checks them on every route; links a role may not follow
//! are not shown.
//!
//! Forms are plain `POST`s carrying the session's CSRF token in a hidden field; they answer
//! with a redirect (post/redirect/get) and a one-time notice, or with the page again showing
//! the error in words and what was typed.

mod assets;
mod charts;
mod connectors;
mod conversation;
mod customer;
mod format;
mod icons;
mod inbox;
mod layout;
mod reports;
mod search;
mod session;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::http::AppState;

pub(crate) use layout::PageError;

/// The console's routes. Mounted beside the API; `/api`, `/admin` and `/hooks` are not theirs.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/inbox", get(inbox::page))
        .route("/inbox/live", get(inbox::live))
        .route("/conversations/{id}", get(conversation::page))
        .route("/conversations/{id}/live", get(conversation::live))
        .route("/conversations/{id}/reply", post(conversation::reply))
        .route("/conversations/{id}/note", post(conversation::note))
        .route("/conversations/{id}/change", post(conversation::change))
        .route("/customers/{id}", get(customer::page))
        .route("/customers/{id}/identity", get(customer::identity))
        .route("/customers/{id}/merge", post(customer::merge))
        .route("/customers/{id}/preferred", post(customer::preferred))
        .route("/customers/{id}/cart/{token}/qr.svg", get(customer::cart_qr))
        .route("/merges/{id}/undo", post(customer::undo_merge))
        .route("/duplicates", get(customer::duplicates))
        .route("/duplicates/{id}/{verdict}", post(customer::decide_duplicate))
        .route("/search", get(search::page))
        .route("/connectors", get(connectors::page))
        .route("/connectors/{id}/{action}", post(connectors::act))
        .route("/dead-letters", get(connectors::dead_letters))
        .route("/dead-letters/{id}/{action}", post(connectors::act_on_dead_letter))
        .route("/reports", get(reports::page))
        .route("/assets/{file}", get(assets::serve))
        .layer(middleware::from_fn(security_headers))
}

/// Headers every console answer carries: only the console's own scripts and styles run, it is
/// never framed, and nothing it shows is cached by a shared proxy.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
             object-src 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    response
}

/// A page that is not there: the console's own "not found", with a way back.
pub(crate) async fn not_found() -> Response {
    PageError::NotFound("There is no page at this address.".into()).into_response()
}
