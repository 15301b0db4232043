//! The HTTP server: provider webhooks, the REST API, the admin API, health and metrics.
//!
//! `app(state)` builds the whole router, so tests drive it with `oneshot` and no socket.

mod admin;
mod api;
mod error;
mod hooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use utoipa::OpenApi;

pub use error::ApiError;
pub use hooks::process_webhook;

use crate::config::{Role, Secret};
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
    /// API tokens and their roles.
    pub tokens: Arc<Vec<(Secret, Role)>>,
    /// Public base URL providers call, e.g. `https://crm.example.com`; `None` uses the Host
    /// header.
    pub public_url: Option<String>,
    /// Places stored orders' delivery addresses.
    pub geocoder: crate::geocoding::Geocoder,
}

/// The OpenAPI document of the REST and admin APIs.
#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard", description = "One customer record across every channel."),
    paths(
        api::find_customers, api::get_customer, api::timeline, api::explain, api::merge, api::undo_merge,
        api::send_message, api::cart, api::orders, api::stats,
        admin::list_connectors, admin::reload, admin::enable, admin::disable, admin::dead_letters, admin::replay,
    ),
    components(schemas(error::ErrorBody, api::MergeRequest, api::SendRequest, crate::registry::SlotStatus, crate::registry::ReloadReport)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The whole router. `body_limit` bounds webhook bodies (413 beyond it).
pub fn app(state: AppState, body_limit: usize) -> Router {
    let protected = Router::new()
        .route("/api/customers", get(api::find_customers))
        .route("/api/customers/{id}", get(api::get_customer))
        .route("/api/customers/{id}/timeline", get(api::timeline))
        .route("/api/customers/{id}/explain", get(api::explain))
        .route("/api/customers/{id}/merge", post(api::merge))
        .route("/api/customers/{id}/messages", post(api::send_message))
        .route("/api/merges/{id}/undo", post(api::undo_merge))
        .route("/api/carts/{token}", get(api::cart))
        .route("/api/orders", get(api::orders))
        .route("/api/stats", get(api::stats))
        .route("/admin/connectors", get(admin::list_connectors))
        .route("/admin/connectors/{id}/reload", post(admin::reload))
        .route("/admin/connectors/{id}/enable", post(admin::enable))
        .route("/admin/connectors/{id}/disable", post(admin::disable))
        .route("/admin/dead-letters", get(admin::dead_letters))
        .route("/admin/dead-letters/{id}/replay", post(admin::replay))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/hooks/{connector}", any(hooks::webhook))
        .route("/hooks/{connector}/{*rest}", any(hooks::webhook))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(|| async { axum::Json(ApiDoc::openapi()) }))
        .merge(protected)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.stats().await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(error) => ApiError::Unavailable(format!("store unavailable: {error}")).into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
        .into_response()
}

/// Bearer tokens: read tokens may GET, admin tokens may do everything.
async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(presented) = presented else {
        return ApiError::Unauthorized("missing bearer token".into()).into_response();
    };
    let role = state
        .tokens
        .iter()
        .find(|(token, _)| constant_time_eq(token.expose().as_bytes(), presented.as_bytes()))
        .map(|(_, role)| *role);
    match role {
        None => ApiError::Unauthorized("unknown token".into()).into_response(),
        Some(Role::Read) if request.method() != Method::GET => {
            ApiError::Forbidden("this token may only read; changes need an admin token".into())
                .into_response()
        }
        Some(_) => next.run(request).await,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    // Compare digests so that neither the length nor a common prefix shows in the timing.
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    x.iter().zip(y.iter()).fold(0u8, |acc, (p, q)| acc | (p ^ q)) == 0
}
