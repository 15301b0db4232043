//! Search: one box that finds customers by name, e-mail, phone in any written form (normalized
//! as the store normalizes it) or external id; without a query, every customer page by page.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::layout::{self, Nav, PageError};
use super::session::Viewer;
use crate::http::AppState;
use crate::store::CustomerQuery;

/// Longest query: the API takes as much.
const MAX_QUERY: usize = 256;

/// The search's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchQuery {
    q: Option<String>,
    cursor: Option<String>,
}

/// `GET /search`.
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.len() > MAX_QUERY || q.contains('\0')) {
        return Err(PageError::BadRequest(format!("A search is at most {MAX_QUERY} characters.")));
    }
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) => Some(cursor.parse::<i64>().map_err(|_| {
            PageError::BadRequest("The page address is invalid; start the search again.".into())
        })?),
        None => None,
    };
    let page = state
        .store
        .customer_page(&CustomerQuery {
            q: q.map(str::to_string),
            after,
            limit: 50,
            ..Default::default()
        })
        .await?;
    let title = match q {
        Some(q) => format!("Customers matching “{q}”"),
        None => "Customers".to_string(),
    };
    let next = page.next_cursor.as_ref().map(|cursor| {
        let mut href = form_urlencoded::Serializer::new(String::new());
        if let Some(q) = q {
            href.append_pair("q", q);
        }
        href.append_pair("cursor", cursor);
        format!("/search?{}", href.finish())
    });
    let body = html! {
        h1 { (title) }
        form method="get" action="/search" role="search" class="search-page" {
            label for="search-q" { "Find a customer by name, e-mail address, phone number (any way it is written) or an id such as " code { "telegram:user:42" } }
            div class="inline" {
                input id="search-q" name="q" type="search" value=(q.unwrap_or("")) autofocus[q.is_none()] maxlength=(MAX_QUERY);
                button type="submit" class="primary" { "Search" }
            }
        }
        @if page.customers.is_empty() {
            div class="empty" role="status" {
                @match q {
                    Some(q) => {
                        p { strong { "No customer matches “" (q) "”." } }
                        p { "Try part of the name, the whole e-mail address, the phone number in any form (" code { "06 12 34 56 78" } ", " code { "+33612345678" } "), or an id like " code { "telegram:user:42" } "." }
                    },
                    None => p { "No customers yet: they appear as connectors receive messages, orders and payments." },
                }
            }
        } @else {
            p class="muted" role="status" { (page.customers.len()) @if next.is_some() { "+" } " found" }
            div class="table-wrap" {
                table class="results" {
                    caption class="visually-hidden" { (title) }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "E-mail" } th scope="col" { "Phone" } } }
                    tbody {
                        @for customer in &page.customers {
                            tr {
                                th scope="row" {
                                    a href=(format!("/customers/{}", customer.id)) {
                                        (customer.display_name.clone().unwrap_or_else(|| format!("Customer #{}", customer.id)))
                                    }
                                }
                                td { (customer.emails.join(", ")) }
                                td { (customer.phones.join(", ")) }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = &next {
                p class="pager" { a href=(next) rel="next" { "More →" } }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::Customers, &title, body))
}
