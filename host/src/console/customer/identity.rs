//! "Why is this one customer": the merge ledger in words with undo, what each identifier linked,
//! and "merge with…" by search.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{live, name_of};
use crate::auth::Access;
use crate::console::format;
use crate::console::layout::{self, Nav, PageError};
use crate::console::session::{Flash, Submitted, Viewer, redirect_with};
use crate::http::AppState;
use crate::store::{CustomerQuery, MergeEntry};

/// The "merge with…" search's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct IdentityQuery {
    q: Option<String>,
}

/// `GET /customers/{id}/identity`: why this is one customer.
pub(crate) async fn identity(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(query): Query<IdentityQuery>,
) -> Result<Response, PageError> {
    let live = live(&state, id).await?;
    if live != id {
        return Ok(redirect_with(
            &format!("/customers/{live}/identity"),
            Flash::Done(format!("Customer #{id} was merged into this one.")),
        ));
    }
    let profile = state.store.profile(id).await?;
    let explanation = state.store.explain(id).await?;
    let mut others: Vec<i64> = explanation.merges.iter().map(|m| m.absorbed_id).collect();
    others.sort_unstable();
    others.dedup();
    let names = state.store.customer_names(&others).await?;
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let candidates = match q {
        Some(q) if q.len() <= 256 => {
            state
                .store
                .find_customers(&CustomerQuery {
                    q: Some(q.to_string()),
                    limit: 10,
                    ..Default::default()
                })
                .await?
        }
        _ => Vec::new(),
    };
    let supervisor = viewer.access() >= Access::Supervisor;
    let name = name_of(&profile);
    let back = format!("/customers/{id}/identity");
    let body = html! {
        p class="crumbs" { a href="/search" { "Customers" } " / " a href=(format!("/customers/{id}")) { (name) } }
        h1 { "Why is " (name) " one customer" }
        nav class="tabs" aria-label="Customer" {
            a href=(format!("/customers/{id}")) { "Profile and timeline" }
            a href=(back) aria-current="page" { "Why is this one customer" }
        }
        section aria-labelledby="merges-title" {
            h2 id="merges-title" { "Merges" }
            @if explanation.merges.is_empty() {
                p class="muted" { "No other customer was merged into this one: everything below came through its own identifiers." }
            } @else {
                ol class="ledger" {
                    @for merge in &explanation.merges {
                        (merge_item(&viewer, merge, names.get(&merge.absorbed_id).cloned().flatten(), supervisor, &back))
                    }
                }
            }
        }
        section aria-labelledby="identifiers-title" {
            h2 id="identifiers-title" { "Identifiers and what each linked" }
            ul class="identifiers" {
                @for identifier in &explanation.identifiers {
                    li {
                        p {
                            strong { (identifier.kind) " " (identifier.value) }
                            " — first reported by " (identifier.source_connector) " " (format::time(identifier.first_seen))
                            @if identifier.status != "usable" {
                                " · " span class="badge" { (identifier.status) }
                                @if let Some(reason) = &identifier.reason { " " (reason) }
                                " (kept on the profile, never used to link)"
                            }
                        }
                        @if identifier.records.is_empty() {
                            p class="muted" { "It linked no record." }
                        } @else {
                            p { "Linked " (summary(&identifier.records)) }
                            details {
                                summary { "The " (identifier.records.len()) " records" }
                                ul class="plain" {
                                    @for record in &identifier.records {
                                        li { (record.kind) " " code { (record.provider_id) } " from " (record.connector) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !explanation.other_records.is_empty() {
                p { "Also linked through their order or cart: " (summary(&explanation.other_records)) }
            }
        }
        section aria-labelledby="merge-with-title" {
            h2 id="merge-with-title" { "Merge with…" }
            @if supervisor {
                p class="muted" { "Find another customer who is the same person and merge them into this one. Every merge can be undone above." }
            } @else {
                p class="muted" { "Merging customers needs a supervisor; you can look them up here." }
            }
            form method="get" action=(back) role="search" class="inline" {
                label for="merge-q" { "Find a customer" }
                input id="merge-q" name="q" type="search" value=(q.unwrap_or("")) placeholder="name, e-mail, phone, id";
                button type="submit" { "Find" }
            }
            @if q.is_some() {
                @let others: Vec<_> = candidates.iter().filter(|c| c.id != id).collect();
                @if others.is_empty() {
                    p class="empty" { "No other customer matches." }
                } @else {
                    ul class="plain candidates" {
                        @for candidate in others {
                            li {
                                a href=(format!("/customers/{}", candidate.id)) { (candidate.display_name.clone().unwrap_or_else(|| format!("Customer #{}", candidate.id))) }
                                " #" (candidate.id) " · " (candidate.emails.join(", ")) " " (candidate.phones.join(", "))
                                @if supervisor {
                                    form method="post" action=(format!("/customers/{id}/merge")) class="inline" data-confirm=(format!("Merge customer #{} into {}?", candidate.id, name)) {
                                        input type="hidden" name="_csrf" value=(viewer.csrf);
                                        input type="hidden" name="other" value=(candidate.id);
                                        button type="submit" { "Merge into " (name) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::Customers, &format!("Why is {name} one customer"), body))
}

fn summary(records: &[crate::store::ExplainedRecord]) -> String {
    let mut counts: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for record in records {
        *counts.entry((record.kind.clone(), record.connector.clone())).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((kind, connector), n)| {
            format!("{n} {kind}{} from {connector}", if n == 1 { "" } else { "s" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn merge_item(
    viewer: &Viewer,
    merge: &MergeEntry,
    absorbed: Option<String>,
    supervisor: bool,
    back: &str,
) -> Markup {
    let absorbed = absorbed.unwrap_or_else(|| "a customer".into());
    html! {
        li class=(if merge.undone_at.is_some() { "merge undone" } else { "merge" }) {
            p {
                (format::time(merge.created_at)) ": "
                a href=(format!("/customers/{}", merge.absorbed_id)) { (absorbed) " (#" (merge.absorbed_id) ")" }
                " joined this customer — "
                (if merge.actor == "auto" { "identity resolution: " } else { "an operator: " })
                (merge.reason)
            }
            p class="muted" {
                "Moved " (merge.moved.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", "))
            }
            @if let Some(undone) = merge.undone_at {
                p { span class="badge" { "undone" } " " (format::time(undone)) }
            } @else if supervisor {
                form method="post" action=(format!("/merges/{}/undo", merge.id)) class="inline"
                    data-confirm=(format!("Undo this merge? {absorbed} becomes a customer of their own again.")) {
                    input type="hidden" name="_csrf" value=(viewer.csrf);
                    input type="hidden" name="back" value=(back);
                    button type="submit" { "Undo this merge" }
                }
            }
        }
    }
}

/// The "merge with" form.
#[derive(Debug, Deserialize)]
pub(crate) struct MergeForm {
    other: String,
}

/// `POST /customers/{id}/merge` (supervisor): merges `other` into this customer.
pub(crate) async fn merge(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    submitted: Submitted<MergeForm>,
) -> Result<Response, PageError> {
    let Submitted { viewer, form } = submitted;
    viewer.require(Access::Supervisor)?;
    let other: i64 =
        form.other.trim().parse().map_err(|_| {
            PageError::BadRequest(format!("`{}` is not a customer id.", form.other))
        })?;
    let back = format!("/customers/{id}/identity");
    let reason =
        format!("merged in the console by {} ({})", viewer.user.name, viewer.principal().key());
    Ok(match state.store.merge(id, other, &reason).await {
        Ok(entry) => redirect_with(
            &back,
            Flash::Done(format!(
                "Customer #{} is now part of this one (merge {}); it can be undone below.",
                entry.absorbed_id, entry.id
            )),
        ),
        Err(error) => {
            redirect_with(&back, Flash::Failed(format!("Not merged. {}", PageError::from(error))))
        }
    })
}

/// The undo form.
#[derive(Debug, Deserialize)]
pub(crate) struct UndoForm {
    back: Option<String>,
}

/// `POST /merges/{id}/undo` (supervisor).
pub(crate) async fn undo_merge(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    submitted: Submitted<UndoForm>,
) -> Result<Response, PageError> {
    let Submitted { viewer, form } = submitted;
    viewer.require(Access::Supervisor)?;
    let back = form
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or_else(|| "/search".into());
    Ok(match state.store.undo_merge(id).await {
        Ok(entry) => redirect_with(
            &back,
            Flash::Done(format!(
                "Merge undone: customer #{} is a customer of their own again.",
                entry.absorbed_id
            )),
        ),
        Err(error) => {
            redirect_with(&back, Flash::Failed(format!("Not undone. {}", PageError::from(error))))
        }
    })
}
