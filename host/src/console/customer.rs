//! A customer: the profile with every contact point, consents, preferred channel and
//! attributes; their carts with the QR code the till scans; their conversations; the whole
//! cross-channel timeline, filtered and paged. "Why is this one customer" reads the merge
//! ledger and which identifier linked what, with undo and "merge with…". Possible duplicates
//! are listed for agents to merge or dismiss.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

mod duplicates;
mod identity;
mod timeline;

pub(crate) use duplicates::{decide_duplicate, duplicates};
pub(crate) use identity::{identity, merge, undo_merge};
use timeline::{TimelineQuery, timeline_section};

use super::layout::{self, Nav, PageError};
use super::session::{Flash, Submitted, Viewer, redirect_with};
use super::{format, icons};
use crate::http::AppState;
use crate::store::{CartView, Profile, now_millis};

/// The live customer an id stands for now, or the page that says it does not exist.
async fn live(state: &AppState, id: i64) -> Result<i64, PageError> {
    state.store.live_customer(id).await.map_err(|error| match error {
        crate::store::StoreError::CustomerNotFound(_) => {
            PageError::NotFound(format!("There is no customer #{id}."))
        }
        other => other.into(),
    })
}

fn name_of(profile: &Profile) -> String {
    profile.display_name.clone().unwrap_or_else(|| format!("Customer #{}", profile.id))
}

/// The public address the till reads a cart from (what its QR code holds).
fn cart_url(state: &AppState, headers: &HeaderMap, token: &str) -> String {
    let base = state.public_url.clone().unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}")
    });
    let token: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    format!("{}/api/carts/{token}", base.trim_end_matches('/'))
}

/// `GET /customers/{id}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(query): Query<TimelineQuery>,
) -> Result<Response, PageError> {
    let live = live(&state, id).await?;
    if live != id {
        let to = format!("/customers/{live}");
        return Ok(redirect_with(
            &to,
            Flash::Done(format!("Customer #{id} was merged into this one.")),
        ));
    }
    let filter = query.filter()?;
    let profile = state.store.profile(id).await?;
    let (preferred, preferred_by) = state.store.preferred_channel(id).await?;
    let timeline = state
        .store
        .timeline_filtered(id, query.cursor.as_deref().filter(|c| !c.is_empty()), 25, &filter)
        .await?;
    let conversations = state.desk.of_customer(&viewer.principal(), id, 5).await?;
    let mut carts = Vec::new();
    for token in state.store.cart_tokens(id, 2).await? {
        if let Some(cart) = state.store.cart(&token).await? {
            let url = cart_url(&state, &headers, &token);
            carts.push((cart, url));
        }
    }
    let connectors = connectors(&state);
    let name = name_of(&profile);
    let now = now_millis();
    let body = html! {
        p class="crumbs" { a href="/search" { "Customers" } " / #" (id) }
        h1 { (name) }
        p class="facts" {
            "Customer #" (id) " · created " (format::time(profile.created_at))
            @if let Some(last) = profile.last_contact { " · last contact " (format::ago(last, now)) }
            " · " (format::count(profile.order_count, "order", "orders"))
            @for revenue in &profile.revenue { " · " (format::money(revenue.amount_minor as i128, &revenue.currency)) }
        }
        nav class="tabs" aria-label="Customer" {
            a href=(format!("/customers/{id}")) aria-current="page" { "Profile and timeline" }
            a href=(format!("/customers/{id}/identity")) { "Why is this one customer" }
        }
        (contact_points(&profile))
        div class="customer" {
            div class="profile" {
                (consents_and_preference(&viewer, &profile, preferred.as_deref(), preferred_by.as_deref(), &connectors))
                @if !profile.attributes.is_empty() {
                    section aria-labelledby="attributes-title" {
                        h2 id="attributes-title" { "Attributes" }
                        dl class="attributes" {
                            @for (key, values) in &profile.attributes {
                                dt { (key) } dd { (values.join(", ")) }
                            }
                        }
                    }
                }
                @if !carts.is_empty() {
                    section aria-labelledby="carts-title" {
                        h2 id="carts-title" { "Carts" }
                        @for (cart, url) in &carts { (cart_card(id, cart, url)) }
                    }
                }
                section aria-labelledby="conversations-title" {
                    h2 id="conversations-title" { "Conversations" }
                    @if conversations.is_empty() {
                        p class="muted" { "No conversation you may see." }
                    } @else {
                        ul class="plain" {
                            @for c in &conversations {
                                li {
                                    a href=(format!("/conversations/{}", c.id)) {
                                        "#" (c.id) " · " (c.status.as_str())
                                    }
                                    " "
                                    @for channel in &c.channels { (icons::channel(&channel.channel)) }
                                    " " (c.last_message.preview.clone().unwrap_or_default())
                                    " · " (format::ago(c.last_message.at, now))
                                }
                            }
                        }
                    }
                }
            }
            div class="history" {
                (timeline_section(id, &profile, &query, &timeline, &connectors))
            }
        }
    };
    Ok(layout::page(&viewer, Nav::Customers, &name, body))
}

/// Each configured connector's id with its first channel (for icons and till sales).
fn connectors(state: &AppState) -> Vec<(String, String)> {
    state
        .registry
        .all()
        .iter()
        .map(|slot| {
            let channel = slot
                .loaded()
                .and_then(|c| c.manifest().channels.first().cloned())
                .unwrap_or_else(|| slot.id.clone());
            (slot.id.clone(), channel)
        })
        .collect()
}

fn channel_of<'a>(connectors: &'a [(String, String)], connector: &'a str) -> &'a str {
    connectors.iter().find(|(id, _)| id == connector).map_or(connector, |(_, c)| c.as_str())
}

fn contact_points(profile: &Profile) -> Markup {
    html! {
        section aria-labelledby="points-title" {
            h2 id="points-title" { "Contact points" }
            @if profile.contact_points.is_empty() {
                p class="muted" { "No identifier: this customer was made from a record that named nobody yet." }
            } @else {
                div class="table-wrap" {
                    table {
                        caption class="visually-hidden" { "Every identifier of the customer" }
                        thead { tr { th scope="col" { "Kind" } th scope="col" { "Value" } th scope="col" { "Source" }
                            th scope="col" { "First seen" } th scope="col" { "Last seen" } th scope="col" { "Links?" } } }
                        tbody {
                            @for point in &profile.contact_points {
                                tr {
                                    td { (point.kind) }
                                    td {
                                        span title=(format!("as received: {}", point.raw)) { (point.value) }
                                        @if point.verified { " " span class="badge ok" title="a provider verified it" { "verified" } }
                                        @else { " " span class="badge" { (point.provenance) } }
                                    }
                                    td { (point.source_connector) }
                                    td { (format::time(point.first_seen)) }
                                    td { (format::time(point.last_seen)) }
                                    td {
                                        @if point.status == "usable" { "yes" }
                                        @else {
                                            span class="badge" { (point.status) }
                                            @if let Some(reason) = &point.reason { " " span class="muted" { (reason) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn consents_and_preference(
    viewer: &Viewer,
    profile: &Profile,
    preferred: Option<&str>,
    preferred_by: Option<&str>,
    connectors: &[(String, String)],
) -> Markup {
    html! {
        section aria-labelledby="consent-title" {
            h2 id="consent-title" { "Consent" }
            @if profile.consents.is_empty() {
                p class="muted" { "No consent recorded on any channel." }
            } @else {
                ul class="plain" {
                    @for consent in &profile.consents {
                        li {
                            (icons::channel_named(&consent.channel)) ": "
                            span class=(format!("consent {}", consent.state)) {
                                (if consent.state == "opt_in" { "opted in" } else { "opted out" })
                            }
                            " through " (consent.connector) ", " (format::time(consent.at))
                            @if let Some(reason) = &consent.reason { " (" (reason) ")" }
                        }
                    }
                }
            }
            h2 id="preferred-title" { "Preferred channel" }
            form method="post" action=(format!("/customers/{}/preferred", profile.id)) class="inline" {
                input type="hidden" name="_csrf" value=(viewer.csrf);
                label for="preferred" class="visually-hidden" { "Preferred channel" }
                select id="preferred" name="channel" {
                    option value="" selected[preferred.is_none()] { "None: where they wrote last" }
                    @for (id, channel) in connectors {
                        option value=(id) selected[preferred == Some(id.as_str())] { (id) " (" (format::channel(channel)) ")" }
                    }
                }
                button type="submit" { "Save" }
                @if let Some(by) = preferred_by {
                    span class="muted" { " set by " (if by == "agent" { "an agent" } else { "the customer's choice" }) }
                }
            }
        }
    }
}

fn cart_card(customer: i64, cart: &CartView, url: &str) -> Markup {
    let token: String = form_urlencoded::byte_serialize(cart.token.as_bytes()).collect();
    let items = cart.items.as_array().cloned().unwrap_or_default();
    html! {
        div class="cart" {
            img class="qr" src=(format!("/customers/{customer}/cart/{token}/qr.svg")) width="148" height="148"
                alt=(format!("QR code of cart {} for the till", cart.token));
            div {
                p { strong { "Cart " (cart.token) } " · " (cart.status.clone().unwrap_or_else(|| "active".into()))
                    " · " (format::time(cart.updated_at)) " · through " (cart.connector) }
                ul class="plain" {
                    @for item in &items {
                        li { (item["quantity"].as_i64().unwrap_or(1)) " × " (item["name"].as_str().or(item["sku"].as_str()).unwrap_or("item"))
                            @if let (Some(price), Some(currency)) = (item["unit_price_minor"].as_i64(), cart.currency.as_deref()) {
                                " · " (format::money(price as i128, currency))
                            }
                        }
                    }
                }
                @if let (Some(total), Some(currency)) = (cart.total_minor, cart.currency.as_deref()) {
                    p { "Total " strong { (format::money(total as i128, currency)) } }
                }
                p class="muted" { "The till scans the code to load this cart: " code { (url) } }
            }
        }
    }
}

/// `GET /customers/{id}/cart/{token}/qr.svg`: the QR code the till scans to load a cart.
pub(crate) async fn cart_qr(
    State(state): State<AppState>,
    _viewer: Viewer,
    headers: HeaderMap,
    Path((id, token)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    let live = live(&state, id).await?;
    let cart = state.store.cart(&token).await?.filter(|c| c.customer_id == live);
    if cart.is_none() {
        return Err(PageError::NotFound(format!("Customer #{id} has no cart `{token}`.")));
    }
    let url = cart_url(&state, &headers, &token);
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| {
            PageError::BadRequest(format!("The cart's address cannot be put in a QR code: {e}."))
        })?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(148, 148)
        .quiet_zone(true)
        .build();
    let mut response = svg.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    Ok(response)
}

/// The preferred-channel form.
#[derive(Debug, Deserialize)]
pub(crate) struct PreferredForm {
    #[serde(default)]
    channel: String,
}

/// `POST /customers/{id}/preferred`.
pub(crate) async fn preferred(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    submitted: Submitted<PreferredForm>,
) -> Result<Response, PageError> {
    let Submitted { form, .. } = submitted;
    let live = live(&state, id).await?;
    let back = format!("/customers/{live}");
    let channel = Some(form.channel.trim().to_string()).filter(|c| !c.is_empty());
    if let Some(connector) = &channel
        && state.registry.get(connector).is_none()
    {
        return Ok(redirect_with(
            &back,
            Flash::Failed(format!("`{connector}` is not a configured connector.")),
        ));
    }
    state.store.set_preferred_channel(live, channel.clone()).await?;
    Ok(redirect_with(
        &back,
        Flash::Done(match channel {
            Some(c) => format!("Replies asked for the preferred channel now go out on {c}."),
            None => "No preferred channel: replies follow where the customer wrote last.".into(),
        }),
    ))
}
