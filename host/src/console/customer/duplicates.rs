//! Possible duplicates: pairs resolution kept apart on strong evidence, for an agent to merge
//! or dismiss.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use crate::console::format;
use crate::console::layout::{self, Nav, PageError};
use crate::console::session::{Empty, Flash, Submitted, Viewer, redirect_with};
use crate::http::AppState;
use crate::store::Verdict;

/// The possible-duplicates list's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DuplicatesQuery {
    status: Option<String>,
    cursor: Option<String>,
}

/// `GET /duplicates`: pairs resolution kept apart on strong evidence.
pub(crate) async fn duplicates(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DuplicatesQuery>,
) -> Result<Response, PageError> {
    let status = query
        .status
        .as_deref()
        .filter(|s| matches!(*s, "open" | "merged" | "dismissed"))
        .unwrap_or("open");
    let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| PageError::BadRequest("The page address is invalid.".into()))?,
        ),
        None => None,
    };
    let (pairs, next) = state.store.possible_duplicates(status, cursor, 50).await?;
    let body = html! {
        h1 { "Possible duplicates" }
        p class="muted" { "Customers identity resolution kept apart although they share strong evidence. Merge them if they are one person (it can be undone), or dismiss the pair to keep them apart for good." }
        nav class="tabs" aria-label="Which pairs" {
            @for (value, label) in [("open", "To decide"), ("merged", "Merged"), ("dismissed", "Dismissed")] {
                a href=(format!("/duplicates?status={value}")) aria-current=[(status == value).then_some("page")] { (label) }
            }
        }
        @if pairs.is_empty() {
            p class="empty" { @if status == "open" { "Nothing to decide: no pair is waiting." } @else { "No pair here yet." } }
        } @else {
            ul class="plain pairs" {
                @for pair in &pairs {
                    li class="pair" {
                        p {
                            a href=(format!("/customers/{}", pair.customer_a)) { (pair.name_a.clone().unwrap_or_else(|| format!("Customer #{}", pair.customer_a))) }
                            " and "
                            a href=(format!("/customers/{}", pair.customer_b)) { (pair.name_b.clone().unwrap_or_else(|| format!("Customer #{}", pair.customer_b))) }
                        }
                        p class="muted" { (pair.evidence) " · found by " (pair.connector_id) " " (format::time(pair.created_at)) }
                        @if pair.status == "open" {
                            div class="actions" {
                                form method="post" action=(format!("/duplicates/{}/merge", pair.id)) class="inline" {
                                    input type="hidden" name="_csrf" value=(viewer.csrf);
                                    button type="submit" { "Merge: one person" }
                                }
                                form method="post" action=(format!("/duplicates/{}/dismiss", pair.id)) class="inline" {
                                    input type="hidden" name="_csrf" value=(viewer.csrf);
                                    button type="submit" { "Dismiss: two people" }
                                }
                            }
                        } @else {
                            p { span class="badge" { (pair.status) } @if let Some(at) = pair.decided_at { " " (format::time(at)) } }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p class="pager" { a href=(format!("/duplicates?status={status}&cursor={next}")) rel="next" { "More →" } }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::Duplicates, "Possible duplicates", body))
}

/// `POST /duplicates/{id}/merge|dismiss`.
pub(crate) async fn decide_duplicate(
    State(state): State<AppState>,
    Path((id, verdict)): Path<(i64, String)>,
    submitted: Submitted<Empty>,
) -> Result<Response, PageError> {
    let verdict = match verdict.as_str() {
        "merge" => Verdict::Merge,
        "dismiss" => Verdict::Dismiss,
        other => return Err(PageError::NotFound(format!("There is no decision `{other}`."))),
    };
    let who = submitted.viewer.principal().key();
    Ok(match state.store.decide_duplicate(id, verdict, &who).await {
        Ok(pair) => redirect_with(
            "/duplicates",
            Flash::Done(match verdict {
                Verdict::Merge => format!(
                    "Merged: customer #{} is now one with #{}.",
                    pair.customer_b, pair.customer_a
                ),
                Verdict::Dismiss => "Dismissed: they stay two customers.".to_string(),
            }),
        ),
        Err(error) => redirect_with(
            "/duplicates",
            Flash::Failed(format!("Not decided. {}", PageError::from(error))),
        ),
    })
}
