//! A customer's timeline: every kind of record across channels, newest first, filtered by kind
//! and channel, page by page; each entry in words (a till sale, an order with its payments,
//! shipments and delivery point, a call with its duration).

use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::channel_of;
use crate::console::layout::PageError;
use crate::console::{format, icons};
use crate::store::{Profile, TimelineFilter, TimelineKind, TimelinePage};

/// The customer page's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TimelineQuery {
    kind: Option<String>,
    connector: Option<String>,
    pub(super) cursor: Option<String>,
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
    pub(super) fn filter(&self) -> Result<TimelineFilter, PageError> {
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

pub(super) fn timeline_section(
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
