//! `GET /api/reports`: conversations, response times, SLA and revenue per channel, team or
//! agent over a period (supervisor).

use super::extract::Json;
use super::extract::Query;
use axum::extract::State;
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::reports::{Group, Report};

/// `GET /api/reports` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// From (ms since the epoch, inclusive); default 30 days before `to`.
    from: Option<i64>,
    /// To (ms, exclusive); default now.
    to: Option<i64>,
    /// `channel` (default), `team` or `agent`.
    group: Option<Group>,
}

/// A report over a period: at most a year.
#[utoipa::path(get, path = "/api/reports", params(ReportParams),
    responses((status = 200, body = Report), (status = 400, body = super::error::ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    Query(p): Query<ReportParams>,
) -> Result<Json<Report>, ApiError> {
    const DAY: i64 = 24 * 3600 * 1000;
    let to = p.to.unwrap_or_else(crate::store::now_millis);
    let from = p.from.unwrap_or(to - 30 * DAY);
    if from >= to {
        return Err(ApiError::BadRequest("`from` must be before `to`".into()));
    }
    if to - from > 366 * DAY {
        return Err(ApiError::BadRequest("a report covers at most a year (`to` - `from`)".into()));
    }
    Ok(Json(state.store.report(from, to, p.group.unwrap_or_default()).await?))
}
