//! The frame of every page (header with search and the user, the navigation a role may
//! follow, the notice a form left) and the error page, which says what went wrong in words.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::session::{Flash, Viewer, clear_flash};
use super::{assets, icons};
use crate::auth::Access;
use crate::http::ApiError;

/// Where a page sits in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Inbox,
    Customers,
    Duplicates,
    Reports,
    Connectors,
    DeadLetters,
}

const LINKS: &[(Nav, &str, &str, Access)] = &[
    (Nav::Inbox, "/inbox", "Inbox", Access::Agent),
    (Nav::Customers, "/search", "Customers", Access::Agent),
    (Nav::Duplicates, "/duplicates", "Possible duplicates", Access::Agent),
    (Nav::Reports, "/reports", "Reports", Access::Supervisor),
    (Nav::Connectors, "/connectors", "Connectors", Access::Admin),
    (Nav::DeadLetters, "/dead-letters", "Dead letters", Access::Admin),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light";
            title { (title) " · Switchboard" }
            link rel="stylesheet" href=(assets::url("console.css"));
            link rel="icon" href=(assets::url("favicon.svg")) type="image/svg+xml";
            script src=(assets::url("console.js")) defer {}
        }
    }
}

/// The notice a form left, if any: a status for success, an alert for a failure.
pub(crate) fn notice(flash: Option<&Flash>) -> Markup {
    html! {
        @match flash {
            Some(Flash::Done(text)) => p class="notice done" role="status" { (text) },
            Some(Flash::Failed(text)) => p class="notice failed" role="alert" { (text) },
            None => {},
        }
    }
}

/// A whole page for `viewer`: header, navigation (only what their role may open), the
/// notice a form left, then `body`.
pub(crate) fn page(viewer: &Viewer, current: Nav, title: &str, body: Markup) -> Response {
    page_with_status(viewer, current, title, body, StatusCode::OK)
}

/// [`page`] with another status (a form's refusal shows the page again with a 4xx).
pub(crate) fn page_with_status(
    viewer: &Viewer,
    current: Nav,
    title: &str,
    body: Markup,
    status: StatusCode,
) -> Response {
    let access = viewer.access();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/inbox" { "Switchboard" }
                    form class="search" role="search" method="get" action="/search" {
                        label for="global-search" class="visually-hidden" { "Search customers" }
                        input id="global-search" name="q" type="search" autocomplete="off"
                            placeholder="Search: name, e-mail, phone, id  ( / )";
                        button type="submit" class="icon-button" aria-label="Search" {
                            (icons::glyph("search"))
                        }
                    }
                    div class="who" {
                        span class="name" { (viewer.user.name) }
                        span class="role" { (format!("{:?}", viewer.user.role).to_lowercase()) }
                        form method="post" action="/logout" {
                            input type="hidden" name="_csrf" value=(viewer.csrf);
                            button type="submit" class="link" { "Log out" }
                        }
                    }
                }
                nav class="side" aria-label="Main" {
                    ul {
                        @for (nav, href, label, level) in LINKS {
                            @if access >= *level {
                                li {
                                    a href=(href) aria-current=[(*nav == current).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    p class="shortcuts muted" { "Press " kbd { "?" } " for keyboard shortcuts" }
                }
                main id="main" tabindex="-1" {
                    (notice(viewer.flash.as_ref()))
                    (body)
                }
                div id="live-status" class="visually-hidden" role="status" aria-live="polite" {}
                (shortcuts_dialog())
                (icons::sprite())
            }
        }
    };
    let mut response = (status, markup).into_response();
    if viewer.flash.is_some() {
        clear_flash(&mut response);
    }
    response
}

fn shortcuts_dialog() -> Markup {
    let keys = [
        ("j / k", "next / previous conversation in the inbox"),
        ("Enter", "open the selected conversation"),
        ("e", "resolve the selected (or open) conversation"),
        ("r", "write a reply (in a conversation)"),
        ("/", "search customers"),
        ("g i", "go to the inbox"),
        ("?", "show this list"),
    ];
    html! {
        dialog id="shortcuts" aria-labelledby="shortcuts-title" {
            h2 id="shortcuts-title" { "Keyboard shortcuts" }
            dl class="keys" {
                @for (key, what) in keys { dt { kbd { (key) } } dd { (what) } }
            }
            form method="dialog" { button type="submit" { "Close" } }
        }
    }
}

/// A page without the frame (login, errors).
pub(crate) fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body class="bare" { (body) }
        }
    }
}

/// Why a page could not be shown, in words; answered as an HTML page with the matching status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// Another refusal of the API, with its status.
    #[error("{1}")]
    Api(StatusCode, String),
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Api(status, _) => *status,
        }
    }

    fn title(&self) -> &'static str {
        match self.status().as_u16() {
            400 => "That did not work",
            401 => "Log in again",
            403 => "Not for your role",
            404 => "Not found",
            409 => "Not possible now",
            502 | 422 => "A connector refused",
            503 => "The store is unavailable",
            _ => "Something went wrong",
        }
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        let status = error.status();
        let message = match &error {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error on a console page");
                "An internal error happened; it is in the server's log. Try again, or tell your admin."
                    .to_string()
            }
            ApiError::Unavailable(_) => {
                "The store is unavailable right now; try again in a moment.".to_string()
            }
            _ => sentence(&error.to_string()),
        };
        PageError::Api(status, message)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<crate::desk::DeskError> for PageError {
    fn from(error: crate::desk::DeskError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<crate::auth::AuthError> for PageError {
    fn from(error: crate::auth::AuthError) -> Self {
        ApiError::from(error).into()
    }
}

/// An API message as a sentence: a capital first letter and a full stop.
pub(crate) fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        let title = self.title();
        let body = html! {
            main id="main" class="error-page" {
                h1 { (title) }
                p role="alert" { (self.to_string()) }
                p { a href="/inbox" { "Back to the inbox" } }
            }
        };
        (status, bare(title, body)).into_response()
    }
}
