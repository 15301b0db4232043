//! The HTTP server: provider webhooks, the REST API, the admin API, the live stream, health and
//! metrics.
//!
//! `app(state)` builds the whole router, so tests drive it with `oneshot` and no socket. Every
//! route under `/api` and `/admin` (but logging in) needs credentials, and each route names the
//! least access it needs; handlers only translate requests and responses.

pub(crate) mod admin;
mod api;
mod auth;
mod conversations;
mod error;
mod extract;
mod hooks;
mod people;
mod reports;
mod stream;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, patch, post, put};
use utoipa::OpenApi;

pub(crate) use admin::{mask_request, replay_dead_letter};
pub(crate) use auth::{client_address, cookie, session_cookie_header};
pub use error::{ApiError, ErrorBody};
pub use hooks::process_webhook;

use crate::auth::{Access, Auth};
use crate::desk::Desk;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The customer store.
    pub store: Store,
    /// The connectors.
    pub registry: Arc<Registry>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Who is calling: users, sessions, tokens.
    pub auth: Auth,
    /// Conversations: the inbox, replies, assignment.
    pub desk: Desk,
    /// Public base URL providers call, e.g. `https://crm.example.com`; `None` uses the Host
    /// header.
    pub public_url: Option<String>,
    /// Places stored orders' delivery addresses.
    pub geocoder: crate::geocoding::Geocoder,
}

/// The OpenAPI document of the REST and admin APIs. Schemas of every request and response
/// body are collected from the paths.
#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard", description = "One customer record across every channel, and the desk where people serve them."),
    paths(
        auth::login, auth::current, auth::logout,
        people::get_me, people::patch_me, people::change_password,
        people::list_users, people::add_user, people::patch_user,
        people::list_tokens, people::issue_token, people::revoke_token,
        people::list_teams, people::add_team, people::patch_team, people::delete_team,
        people::list_rules, people::put_rule, people::delete_rule,
        conversations::inbox, conversations::conversation, conversations::change,
        conversations::reply, conversations::reply_channels, conversations::note, conversations::merge, conversations::move_interaction,
        conversations::canned_replies, conversations::put_canned_reply, conversations::change_canned_reply,
        conversations::delete_canned_reply, conversations::render_canned_reply,
        stream::stream, reports::report,
        api::find_customers, api::get_customer, api::patch_customer, api::timeline, api::explain,
        api::merge, api::undo_merge, api::merges, api::duplicates, api::merge_duplicate,
        api::dismiss_duplicate, api::send_message, api::records,
        api::cart, api::orders, api::stats,
        admin::list_connectors, admin::reload, admin::enable, admin::disable, admin::dead_letters, admin::delete_dead_letter, admin::replay,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "The console's session cookie; changes also need the `X-CSRF-Token` header",
            ))),
        );
        openapi.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
        for item in openapi.paths.paths.values_mut() {
            let operations =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                common_errors(operation);
            }
        }
    }
}

/// The errors any operation may answer besides its own: refused credentials, bad parameters
/// or bodies, and a store that is down.
fn common_errors(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let public = operation.security.as_ref().is_some_and(|requirements| {
        requirements
            .iter()
            .all(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
    });
    let mut add = |status: &str, description: &str| {
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
            )
            .build();
        operation.responses.responses.entry(status.to_string()).or_insert(response.into());
    };
    if !public {
        add("401", "No credentials, or an unknown, revoked or expired one");
        add(
            "403",
            "The caller's role may not do this, or a cookie's change came without its CSRF token",
        );
    }
    let has_body = operation.request_body.is_some();
    let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    if has_body || has_parameters {
        add("400", "A parameter or a field of the body is missing or invalid; `detail` names it");
    }
    if has_body {
        add("413", "The body is larger than the server takes");
        add("415", "The body is not JSON");
    }
    add("500", "An internal error (logged; not detailed)");
    add("503", "The store is unavailable; try again");
}

/// A router whose every route needs at least `level`.
fn needs(level: Access, routes: Router<AppState>) -> Router<AppState> {
    routes.route_layer(middleware::from_fn(move |request: Request, next: Next| {
        auth::require(level, request, next)
    }))
}

/// The whole router. `body_limit` bounds request bodies (413 beyond it).
pub fn app(state: AppState, body_limit: usize) -> Router {
    let agent = Router::new()
        .route("/api/session", get(auth::current).delete(auth::logout))
        .route("/api/me", get(people::get_me).patch(people::patch_me))
        .route("/api/me/password", post(people::change_password))
        .route("/api/tokens", get(people::list_tokens).post(people::issue_token))
        .route("/api/tokens/{id}", delete(people::revoke_token))
        .route("/api/users", get(people::list_users))
        .route("/api/teams", get(people::list_teams))
        .route("/api/conversations", get(conversations::inbox))
        .route(
            "/api/conversations/{id}",
            get(conversations::conversation).patch(conversations::change),
        )
        .route("/api/conversations/{id}/replies", post(conversations::reply))
        .route("/api/conversations/{id}/reply-channels", get(conversations::reply_channels))
        .route("/api/conversations/{id}/notes", post(conversations::note))
        .route("/api/conversations/{id}/merge", post(conversations::merge))
        .route("/api/interactions/{id}/move", post(conversations::move_interaction))
        .route("/api/canned-replies", get(conversations::canned_replies))
        .route("/api/canned-replies/{id}/render", get(conversations::render_canned_reply))
        .route("/api/stream", get(stream::stream))
        .route("/api/customers", get(api::find_customers))
        .route("/api/customers/{id}", get(api::get_customer).patch(api::patch_customer))
        .route("/api/customers/{id}/timeline", get(api::timeline))
        .route("/api/customers/{id}/explain", get(api::explain))
        .route("/api/duplicates", get(api::duplicates))
        .route("/api/duplicates/{id}/merge", post(api::merge_duplicate))
        .route("/api/duplicates/{id}/dismiss", post(api::dismiss_duplicate))
        .route("/api/customers/{id}/messages", post(api::send_message))
        .route("/api/records", get(api::records))
        .route("/api/carts/{token}", get(api::cart))
        .route("/api/orders", get(api::orders))
        .route("/api/stats", get(api::stats));
    let supervisor = Router::new()
        .route("/api/customers/{id}/merge", post(api::merge))
        .route("/api/merges", get(api::merges))
        .route("/api/merges/{id}/undo", post(api::undo_merge))
        .route("/api/teams", post(people::add_team))
        .route("/api/teams/{id}", patch(people::patch_team).delete(people::delete_team))
        .route("/api/routing", get(people::list_rules).put(people::put_rule))
        .route("/api/routing/{scope}", delete(people::delete_rule))
        .route("/api/reports", get(reports::report))
        .route("/api/canned-replies", post(conversations::put_canned_reply))
        .route(
            "/api/canned-replies/{id}",
            put(conversations::change_canned_reply).delete(conversations::delete_canned_reply),
        );
    let admin = Router::new()
        .route("/api/users", post(people::add_user))
        .route("/api/users/{id}", patch(people::patch_user))
        .route("/admin/connectors", get(admin::list_connectors))
        .route("/admin/connectors/{id}/reload", post(admin::reload))
        .route("/admin/connectors/{id}/enable", post(admin::enable))
        .route("/admin/connectors/{id}/disable", post(admin::disable))
        .route("/admin/dead-letters", get(admin::dead_letters))
        .route("/admin/dead-letters/{id}", delete(admin::delete_dead_letter))
        .route("/admin/dead-letters/{id}/replay", post(admin::replay));
    let protected = needs(Access::Agent, agent)
        .merge(needs(Access::Supervisor, supervisor))
        .merge(needs(Access::Admin, admin))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::authenticate));
    Router::new()
        .route("/hooks/{connector}", any(hooks::webhook))
        .route("/hooks/{connector}/{*rest}", any(hooks::webhook))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(|| async { axum::Json(ApiDoc::openapi()) }))
        .route("/api/session", post(auth::login))
        .merge(protected)
        .merge(crate::console::routes())
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// A route that does not exist: the API's JSON error under `/api`, `/admin` and `/hooks`, the
/// console's page anywhere else.
async fn fallback(uri: axum::http::Uri) -> Response {
    let path = uri.path();
    if ["/api", "/admin", "/hooks"].iter().any(|prefix| path.starts_with(prefix)) {
        return ApiError::NotFound("no such route".into()).into_response();
    }
    crate::console::not_found().await
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(error) => ApiError::Unavailable(format!("store unavailable: {error}")).into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
        .into_response()
}
