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
    /// 500: details are logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Unprocessable(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "rejected_by_connector")
            }
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "connector_failed"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
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
        (status, Json(ErrorBody { error: code.into(), detail: self.to_string() })).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::CustomerNotFound(_) | StoreError::MergeNotFound(_) => {
                ApiError::NotFound(error.to_string())
            }
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
