//! The one error type of the HTTP API: each variant has its status code, and clients get
//! `{ "error": …, "detail": … }` without internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// The JSON body of an error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A short machine-readable code, e.g. `not_found`.
    pub error: String,
    /// What happened, for people.
    pub detail: String,
}

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 401.
    #[error("{0}")]
    Unauthorized(String),
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 413: the body is larger than the server takes.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 422: the connector refused the request.
    #[error("{0}")]
    Unprocessable(String),
    /// 502: a connector failed.
    #[error("{0}")]
    BadGateway(String),
    /// 503.
    #[error("{0}")]
    Unavailable(String),
    /// 429, with how long to wait (`Retry-After`).
    #[error("{0}")]
    TooManyRequests(String, std::time::Duration),
    /// 500: details are logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status it answers.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Unprocessable(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "rejected_by_connector")
            }
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "connector_failed"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::TooManyRequests(..) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut response =
            (status, Json(ErrorBody { error: code.into(), detail: self.to_string() }))
                .into_response();
        if let ApiError::TooManyRequests(_, wait) = &self
            && let Ok(value) = axum::http::HeaderValue::from_str(&wait.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::CustomerNotFound(_)
            | StoreError::MergeNotFound(_)
            | StoreError::NotFound(_) => ApiError::NotFound(error.to_string()),
            StoreError::Conflict(_) => ApiError::Conflict(error.to_string()),
            StoreError::BadCursor(_) | StoreError::InvalidEvent { .. } => {
                ApiError::BadRequest(error.to_string())
            }
            StoreError::Database(_) => {
                ApiError::Unavailable("the store is unavailable; retry later".into())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}
