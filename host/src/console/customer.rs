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
use serde_json::Value;

use super::layout::{self, Nav, PageError};
use super::session::{Flash, Submitted, Viewer, redirect_with};
use super::{format, icons};
use crate::auth::Access;
use crate::http::AppState;
use crate::store::{
    CartView, CustomerQuery, MergeEntry, Profile, TimelineFilter, TimelineKind, TimelinePage,
    Verdict, now_millis,
};

/// The customer page's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TimelineQuery {
    kind: Option<String>,
    connector: Option<String>,
    cursor: Option<String>,
}

const KINDS: &[(&str, &str)] = &[
    ("", "Everything the customer did"),
    ("interaction", "Messages, calls, reviews, carts"),
    ("order", "Orders and till sales"),
    ("shipment", "Shipments"),
    ("payment", "Payments"),
    ("conversation_event", "Conversation changes"),
    ("all", "All, with conversation changes"),
];

impl TimelineQuery {
    fn filter(&self) -> Result<TimelineFilter, PageError> {
        let mut filter = TimelineFilter::default();
        match self.kind.as_deref().map(str::trim).unwrap_or("") {
            "" => {}
            "all" => filter.kinds.extend(TimelineKind::ALL),
            kind => filter.kinds.push(TimelineKind::parse(kind).ok_or_else(|| {
                PageError::BadRequest(format!("The timeline has no kind `{kind}`."))
            })?),
        }
        filter.connector =
            self.connector.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_string);
        Ok(filter)
    }

    fn href(&self, id: i64, cursor: Option<&str>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("kind", self.kind.as_deref()),
            ("connector", self.connector.as_deref()),
            ("cursor", cursor),
        ] {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        let query = query.finish();
        if query.is_empty() {
            format!("/customers/{id}")
        } else {
            format!("/customers/{id}?{query}#timeline")
        }
    }
}

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

fn timeline_section(
    id: i64,
    profile: &Profile,
    query: &TimelineQuery,
    page: &TimelinePage,
    connectors: &[(String, String)],
) -> Markup {
    let kind = query.kind.as_deref().unwrap_or("");
    let connector = query.connector.as_deref().unwrap_or("");
    html! {
        section id="timeline" aria-labelledby="timeline-title" {
            h2 id="timeline-title" { "Timeline " span class="muted" { "(newest first, every channel)" } }
            form method="get" action=(format!("/customers/{id}")) class="filters" {
                label for="kind" { "Show" }
                select id="kind" name="kind" {
                    @for (value, label) in KINDS { option value=(value) selected[kind == *value] { (label) } }
                }
                label for="connector" { "Channel" }
                select id="connector" name="connector" {
                    option value="" selected[connector.is_empty()] { "Every channel" }
                    @for channel in &profile.channels {
                        option value=(channel) selected[connector == channel] {
                            (channel) " (" (format::channel(channel_of(connectors, channel))) ")"
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            @if page.entries.is_empty() {
                p class="empty" { @if query.cursor.is_some() { "Nothing older." } @else { "Nothing here with these filters." } }
            } @else {
                ol class="timeline" {
                    @for entry in &page.entries {
                        li class=(format!("entry {}", entry.kind)) {
                            div class="when" { (icons::channel(channel_of(connectors, &entry.connector))) (format::time(entry.at)) }
                            div class="what" { (entry_body(&entry.kind, &entry.connector, &entry.data, connectors)) }
                        }
                    }
                }
            }
            @if let Some(cursor) = &page.next_cursor {
                p class="pager" { a href=(query.href(id, Some(cursor))) rel="next" { "Older →" } }
            }
            @if query.cursor.is_some() {
                p class="pager" { a href=(query.href(id, None)) { "← Newest" } }
            }
        }
    }
}

fn text(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.trim().is_empty())
}

fn attribute<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .and_then(|a| a["value"].as_str())
}

fn entry_body(
    kind: &str,
    connector: &str,
    data: &Value,
    connectors: &[(String, String)],
) -> Markup {
    let channel = channel_of(connectors, connector);
    match kind {
        "interaction" => interaction(connector, data),
        "order" => order(connector, channel, data),
        "shipment" => html! {
            p { strong { "Shipment" } " " (data["carrier"].as_str().unwrap_or("")) " " code { (data["tracking_number"].as_str().unwrap_or("")) }
                " · " span class="badge" { (data["status"].as_str().unwrap_or("")) }
                @if let Some(eta) = data["eta"].as_i64() { " · expected " (format::time(eta)) }
                @if let Some(order) = text(&data["order_ref"]) { " · order " (order) }
                " · through " (connector) }
        },
        "payment" => html! {
            p { strong { "Payment" } " "
                (format::money(data["amount_minor"].as_i64().unwrap_or(0) as i128, data["currency"].as_str().unwrap_or("")))
                " · " span class="badge" { (data["status"].as_str().unwrap_or("")) }
                @if data["refunded_minor"].as_i64().unwrap_or(0) > 0 {
                    " · refunded " (format::money(data["refunded_minor"].as_i64().unwrap_or(0) as i128, data["currency"].as_str().unwrap_or("")))
                }
                @if let Some(order) = text(&data["order_ref"]) { " · order " (order) }
                " · through " (connector) }
        },
        "conversation_event" => html! {
            p class="muted" {
                "Conversation "
                a href=(format!("/conversations/{}", data["conversation_id"].as_i64().unwrap_or(0))) { "#" (data["conversation_id"].as_i64().unwrap_or(0)) }
                ": " (data["kind"].as_str().unwrap_or("").replace('_', " "))
            }
        },
        other => html! { p { (other) } },
    }
}

fn interaction(connector: &str, data: &Value) -> Markup {
    let kind = data["kind"].as_str().unwrap_or("message");
    let inbound = data["direction"] == "inbound";
    let channel = data["channel"].as_str().unwrap_or(connector);
    let label = match kind {
        "call" => {
            if inbound {
                "Call from the customer"
            } else {
                "Call to the customer"
            }
        }
        "review" => "Review",
        "cart" => "Cart",
        "wishlist" => "Wishlist",
        "page_view" => "Page view",
        "callback_request" => "Callback request",
        _ => {
            if inbound {
                "Message from the customer"
            } else {
                "Message to the customer"
            }
        }
    };
    let attachments = data["attachments"].as_array().cloned().unwrap_or_default();
    html! {
        p {
            strong { (label) } " on " (format::channel(channel))
            @if let Some(status) = text(&data["status"]) { " · " span class="badge" { (status) } }
            @if kind == "call" {
                @if let Some(duration) = attribute(data, "duration_seconds").or(attribute(data, "duration_secs")).and_then(|d| d.parse::<i64>().ok()) {
                    " · " (format::span(duration * 1000))
                }
            }
            @if kind == "review" {
                @if let Some(rating) = attribute(data, "rating").or(attribute(data, "star_rating")) { " · " (rating) " stars" }
            }
        }
        @if let Some(subject) = text(&data["subject"]) { p { strong { (subject) } } }
        @if let Some(body) = text(&data["text"]) { p class="text" { (body) } }
        @if kind == "cart" || kind == "wishlist" {
            @if let Some(items) = attribute(data, "cart_items").or(attribute(data, "wishlist_items")).and_then(|i| serde_json::from_str::<Value>(i).ok()) {
                ul class="plain" {
                    @for item in items.as_array().cloned().unwrap_or_default() {
                        li { (item["quantity"].as_i64().unwrap_or(1)) " × " (item["name"].as_str().or(item["sku"].as_str()).unwrap_or("item")) }
                    }
                }
            }
        }
        @if !attachments.is_empty() {
            p class="muted" { (icons::glyph("attachment")) " "
                @for (i, a) in attachments.iter().enumerate() {
                    @if i > 0 { ", " }
                    (a["name"].as_str().unwrap_or("attachment"))
                }
            }
        }
    }
}

fn order(connector: &str, channel: &str, data: &Value) -> Markup {
    let currency = data["currency"].as_str().unwrap_or("");
    let what = if channel == "store" { "Till sale" } else { "Order" };
    let lines = data["lines"].as_array().cloned().unwrap_or_default();
    let payments = data["payments"].as_array().cloned().unwrap_or_default();
    let shipments = data["shipments"].as_array().cloned().unwrap_or_default();
    let address = &data["delivery_address"];
    let location = &data["location"];
    html! {
        p {
            strong { (what) " " (text(&data["number"]).or(data["provider_id"].as_str()).unwrap_or("")) }
            " · " span class="badge" { (data["status"].as_str().unwrap_or("")) }
            " · " (format::money(data["total_minor"].as_i64().unwrap_or(0) as i128, currency))
            " · through " (connector)
        }
        @if !lines.is_empty() {
            ul class="plain lines" {
                @for line in &lines {
                    li { (line["quantity"].as_i64().unwrap_or(1)) " × " (line["name"].as_str().unwrap_or(""))
                        " · " (format::money(line["unit_price_minor"].as_i64().unwrap_or(0) as i128, line["currency"].as_str().unwrap_or(currency))) }
                }
            }
        }
        @for payment in &payments {
            p class="sub" { "Payment " span class="badge" { (payment["status"].as_str().unwrap_or("")) } " "
                (format::money(payment["amount_minor"].as_i64().unwrap_or(0) as i128, payment["currency"].as_str().unwrap_or(currency)))
                @if payment["refunded_minor"].as_i64().unwrap_or(0) > 0 {
                    ", refunded " (format::money(payment["refunded_minor"].as_i64().unwrap_or(0) as i128, payment["currency"].as_str().unwrap_or(currency)))
                }
                @if let Some(at) = payment["occurred_at"].as_i64() { " · " (format::time(at)) } }
        }
        @for shipment in &shipments {
            p class="sub" { "Shipment " (shipment["carrier"].as_str().unwrap_or("")) " "
                code { (shipment["tracking_number"].as_str().unwrap_or("")) } " "
                span class="badge" { (shipment["status"].as_str().unwrap_or("")) }
                @if let Some(eta) = shipment["eta"].as_i64() { " · expected " (format::time(eta)) } }
        }
        @if address.is_object() {
            p class="sub" {
                "Delivery to "
                (["name", "line1", "line2", "postal_code", "city", "region", "country"].iter()
                    .filter_map(|k| text(&address[*k])).collect::<Vec<_>>().join(", "))
                @match location["status"].as_str() {
                    Some("placed") => {
                        " · " (icons::glyph("maps")) " "
                        (format!("{:.5}, {:.5}", location["latitude"].as_f64().unwrap_or(0.0), location["longitude"].as_f64().unwrap_or(0.0)))
                        @if let Some(place) = text(&location["place_name"]) { " (" (place) ")" }
                    },
                    Some("not_found") => " · the geocoder did not find this address",
                    Some("failed") => " · the address could not be placed",
                    _ => " · not placed yet",
                }
            }
        }
    }
}

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
    submitted: Submitted<super::session::Empty>,
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
