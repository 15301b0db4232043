//! Provider webhooks: `/hooks/{connector}/…` → the connector → all its events committed in one
//! transaction → the connector's answer. The 2xx goes out only after the commit; a connector
//! failure or a store failure keeps the raw request in dead letters for replay.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::model::{self, ConnectorError, HttpRequest, HttpResponse};
use crate::recorded;
use crate::runtime::CallError;
use crate::store::StoreError;

/// `ANY /hooks/{connector}` and `/hooks/{connector}/{*rest}`.
pub async fn webhook(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let connector = params.first().map(|(_, v)| v.clone()).unwrap_or_default();
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(super::error::ErrorBody {
                    error: "payload_too_large".into(),
                    detail: "the request body is larger than the server's body_limit".into(),
                }),
            )
                .into_response();
        }
        Err(rejection) => return ApiError::BadRequest(rejection.body_text()).into_response(),
    };
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let base = match &state.public_url {
        Some(base) => base.clone(),
        None => {
            let host =
                headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    let url = format!("{base}{path_and_query}");
    let request = HttpRequest {
        method: method.as_str().to_ascii_uppercase(),
        route: recorded::route(&url, &connector),
        url,
        headers: headers
            .iter()
            .map(|(name, value)| {
                (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
            })
            .collect(),
        body: body.to_vec(),
        received_at: crate::store::now_millis(),
    };
    match process_webhook(&state, &connector, request, true).await {
        Ok(response) => to_response(response),
        Err(error) => error.into_response(),
    }
}

/// Runs one webhook through `connector` and commits its events; with `dead_letter`, a request
/// the host could not process (connector failure, store failure) is kept for replay.
pub async fn process_webhook(
    state: &AppState,
    connector: &str,
    request: HttpRequest,
    dead_letter: bool,
) -> Result<HttpResponse, ApiError> {
    let slot = state
        .registry
        .get(connector)
        .ok_or_else(|| ApiError::NotFound(format!("no connector `{connector}`")))?;
    let Some(loaded) = slot.serving() else {
        let why = if slot.is_enabled() { "has no working component" } else { "is disabled" };
        return Err(ApiError::Unavailable(format!("connector `{connector}` {why}")));
    };
    slot.counters.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    // Kept for a dead letter, serialized only if one is needed.
    let kept = dead_letter.then(|| request.clone());
    let keep = async |error: &str| {
        slot.counters.errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        slot.record_error(error);
        if let Some(request) = &kept {
            let request = serde_json::to_value(request).unwrap_or_default();
            let request = &request;
            state
                .metrics
                .dead_letters
                .get_or_create(&crate::metrics::ConnectorLabels { connector: connector.into() })
                .inc();
            match state.store.add_dead_letter(connector, request, error).await {
                Ok(id) => {
                    tracing::warn!(connector, dead_letter = id, %error, "webhook kept in dead letters")
                }
                Err(store_error) => {
                    tracing::error!(connector, %error, %store_error, "webhook failed and could not be kept")
                }
            }
        }
    };
    let outcome = loaded.handle_webhook_staged(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let (outcome, kv) = match outcome {
        Ok(staged) => staged,
        Err(CallError::Connector { error, .. }) => {
            state.metrics.call(connector, "webhook", "rejected", seconds);
            slot.counters.errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            slot.record_error(&error.to_string());
            if matches!(error, ConnectorError::Config(_)) {
                // The request is fine; the operator must fix the connector's config, then replay.
                keep(&error.to_string()).await;
            }
            return Err(connector_error(error));
        }
        Err(failure) => {
            state.metrics.call(connector, "webhook", "failed", seconds);
            keep(&failure.to_string()).await;
            return Err(if failure.is_retryable() {
                ApiError::Unavailable(failure.to_string())
            } else {
                ApiError::Internal(failure.to_string())
            });
        }
    };
    state.metrics.call(connector, "webhook", "ok", seconds);
    let committing = Instant::now();
    let model::WebhookOutcome { response, events } = outcome;
    if let Some(namespace) = crate::router::foreign_namespace(
        loaded.manifest(),
        &loaded.settings().extra_namespaces,
        &events,
    ) {
        let message = crate::router::foreign_namespace_error(loaded.manifest(), &namespace);
        keep(&message).await;
        return Err(ApiError::Internal(message));
    }
    let kinds: Vec<&'static str> = events.iter().map(model::Event::kind).collect();
    let addressed = events.iter().any(model::Event::has_delivery_address);
    // The events and what the connector wrote to its state commit together: a webhook that
    // cannot be stored leaves no trace of having been seen (a single-use token, say).
    match state.store.ingest_call(connector, events, kv, None).await {
        Ok(_) => {
            state.metrics.commit_seconds.observe(committing.elapsed().as_secs_f64());
            state.metrics.stored(connector, &kinds);
            if addressed {
                state.geocoder.address_stored();
            }
            Ok(response)
        }
        Err(error @ StoreError::InvalidEvent { .. }) => {
            let message = format!("the connector reported an invalid event: {error}");
            keep(&message).await;
            Err(ApiError::Internal(message))
        }
        Err(error) if error.is_transient() => {
            let message = format!("the store failed: {error}");
            keep(&message).await;
            Err(ApiError::Unavailable("the store is unavailable; retry later".into()))
        }
        // The same request would fail the same way: the provider should not retry it; the
        // dead letter waits for a fix and a replay.
        Err(error) => {
            let message = format!("the store refused the events: {error}");
            keep(&message).await;
            Err(ApiError::Internal(message))
        }
    }
}

fn connector_error(error: ConnectorError) -> ApiError {
    match error {
        ConnectorError::BadRequest(m) => ApiError::BadRequest(m),
        ConnectorError::Unauthorized(m) => ApiError::Unauthorized(m),
        ConnectorError::Unsupported(m) => ApiError::NotFound(m),
        ConnectorError::Transient(m) => ApiError::Unavailable(m),
        ConnectorError::Config(m) => ApiError::Internal(format!("connector configuration: {m}")),
    }
}

fn to_response(response: HttpResponse) -> Response {
    let mut builder =
        Response::builder().status(StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK));
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str()))
        {
            builder = builder.header(name, value);
        }
    }
    builder.body(Body::from(response.body)).unwrap_or_else(|_| StatusCode::OK.into_response())
}
