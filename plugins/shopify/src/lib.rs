//! Shopify: orders and customers, pushed by webhooks and backfilled through the Admin REST API.
//!
//! **Webhooks** (one subscription URL, `/hooks/shopify`, for every topic; the topic is in
//! `X-Shopify-Topic`): `orders/create`, `orders/updated`, `orders/cancelled` become order events,
//! `customers/create` and `customers/update` a contact update plus the customer's e-mail and
//! SMS marketing consents. Every request must carry `X-Shopify-Hmac-Sha256`, the base64
//! HMAC-SHA256 of the raw body under the app's client secret (`client_secret`); when
//! `shop_domain` is set, `X-Shopify-Shop-Domain` must name that shop.
//!
//! Orders carry money as minor units of their currency (`current_total_price`, which reflects
//! edits and refunds, else `total_price`), line items (`current_quantity` where Shopify gives
//! it), financial and fulfillment status, and the buyer: the customer's id, e-mail and phone,
//! else the order's, else the phone on the shipping or billing address. An order with no buyer
//! at all (a guest POS sale) is acknowledged and not stored, so Shopify does not retry it.
//!
//! Redeliveries (same `X-Shopify-Webhook-Id`) are recognised without connector state: a
//! customer update's provider id *is* the webhook id, and an order event is keyed by the order
//! id and its `updated_at`, so the store finds the same content and changes nothing. (Keeping
//! seen ids in the connector's state would drop a retry whose first delivery the host failed to
//! commit.)
//!
//! **Poll** walks `GET {api_base}/admin/api/{api_version}/orders.json?status=any` between two
//! `updated_at` bounds, page by page through the `Link` header. Both bounds are inclusive in
//! Shopify's API and the next walk starts *at* the previous walk's upper bound, so an order
//! updated at exactly the boundary second is fetched by both walks (the store recognises the
//! repeat) and never by neither. The upper bound is `poll_lag_secs` (default 60) in the past,
//! so orders being written while the walk runs, and clock skew, fall into the next walk. A walk
//! of more than `max_pages` pages (default 4) continues at the next poll from the page it
//! stopped at: the cursor holds the bounds and the next page's URL.
use serde::{Deserialize, Serialize};
use switchboard_sdk::http;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::{Algorithm, Encoding, verify};
use switchboard_sdk::time;

struct Shopify;

/// The Admin API version used unless `api_version` says otherwise.
const API_VERSION: &str = "2025-10";

#[derive(Deserialize)]
struct ShopifyOrder {
    id: u64,
    name: Option<String>,
    email: Option<String>,
    contact_email: Option<String>,
    phone: Option<String>,
    customer_locale: Option<String>,
    created_at: String,
    updated_at: Option<String>,
    cancelled_at: Option<String>,
    cancel_reason: Option<String>,
    currency: String,
    total_price: String,
    current_total_price: Option<String>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    #[serde(default)]
    line_items: Vec<LineItem>,
    customer: Option<Customer>,
    shipping_address: Option<ShopifyAddress>,
    billing_address: Option<ShopifyAddress>,
    source_name: Option<String>,
}

#[derive(Deserialize)]
struct LineItem {
    name: Option<String>,
    title: Option<String>,
    sku: Option<String>,
    quantity: u32,
    /// What is left after edits and refunds (2023-01 and later).
    current_quantity: Option<u32>,
    price: String,
}

#[derive(Deserialize)]
struct Customer {
    id: u64,
    email: Option<String>,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    updated_at: Option<String>,
    created_at: Option<String>,
    email_marketing_consent: Option<MarketingConsent>,
    sms_marketing_consent: Option<MarketingConsent>,
    tags: Option<String>,
}

#[derive(Deserialize)]
struct MarketingConsent {
    state: Option<String>,
    consent_updated_at: Option<String>,
}

#[derive(Deserialize)]
struct ShopifyAddress {
    first_name: Option<String>,
    last_name: Option<String>,
    name: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    province: Option<String>,
    zip: Option<String>,
    country_code: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
struct OrdersPage {
    orders: Vec<ShopifyOrder>,
}

/// Where a backfill walk stands, stored by the host between polls.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// Lower bound of the next walk (inclusive); `None` before the first walk ends.
    since: Option<String>,
    /// Upper bound of the walk in progress (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    /// The next page of the walk in progress, exactly as the `Link` header gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Shopify's customer id namespace.
const CUSTOMER: &str = "shopify:customer";

/// The customer as they gave themselves at checkout or in their account: their own e-mail and
/// phone, declared. An address's phone is whoever is at that address, so it stays there.
fn customer_contact(customer: &Customer) -> Contact {
    let mut contact = Contact::new()
        .external(CUSTOMER, &customer.id.to_string())
        .email(customer.email.as_deref().unwrap_or(""))
        .phone(customer.phone.as_deref().unwrap_or(""))
        .names(
            customer.first_name.as_deref().unwrap_or(""),
            customer.last_name.as_deref().unwrap_or(""),
        );
    if let Some(tags) = non_empty(&customer.tags) {
        contact = contact.attr("shopify_tags", tags);
    }
    contact
}

fn order_status(order: &ShopifyOrder) -> OrderStatus {
    if order.cancelled_at.is_some() {
        return OrderStatus::Cancelled;
    }
    match (order.financial_status.as_deref(), order.fulfillment_status.as_deref()) {
        (Some("refunded"), _) => OrderStatus::Refunded,
        (Some("voided"), _) => OrderStatus::Cancelled,
        (_, Some("fulfilled")) => OrderStatus::Shipped,
        (_, Some("partial")) => OrderStatus::Processing,
        (Some("paid" | "partially_refunded"), _) => OrderStatus::Paid,
        _ => OrderStatus::Pending,
    }
}

fn address(a: &ShopifyAddress) -> Address {
    let joined = [non_empty(&a.first_name), non_empty(&a.last_name)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Address {
        name: non_empty(&a.name)
            .map(str::to_string)
            .or_else(|| (!joined.is_empty()).then_some(joined)),
        line1: non_empty(&a.address1).map(str::to_string),
        line2: non_empty(&a.address2).map(str::to_string),
        city: non_empty(&a.city).map(str::to_string),
        region: non_empty(&a.province).map(str::to_string),
        postal_code: non_empty(&a.zip).map(str::to_string),
        country: non_empty(&a.country_code).map(|c| c.to_ascii_uppercase()),
        phone: non_empty(&a.phone).map(str::to_string),
        email: None,
    }
}

/// The order as an event; `None` when it names no buyer at all.
fn order_event(order: &ShopifyOrder, shop: Option<&str>) -> Result<Option<Order>, ConnectorError> {
    let mut contact = match &order.customer {
        Some(customer) => customer_contact(customer),
        None => Contact::new(),
    };
    // The buyer's own contact fields. The shipping and billing addresses' phones are the
    // recipient's and the payer's (a gift's recipient is someone else): they stay on the order.
    contact = contact
        .email(non_empty(&order.email).or(non_empty(&order.contact_email)).unwrap_or(""))
        .phone(order.phone.as_deref().unwrap_or(""));
    if let Some(locale) = non_empty(&order.customer_locale) {
        contact = contact.locale(locale);
    }
    if contact.identifiers.is_empty() {
        return Ok(None);
    }
    let placed = time::parse_rfc3339(&order.created_at)?;
    let updated = match &order.updated_at {
        Some(at) => time::parse_rfc3339(at)?,
        None => placed,
    };
    let original = Money::from_decimal(&order.total_price, &order.currency)?;
    let total = match non_empty(&order.current_total_price) {
        Some(current) => Money::from_decimal(current, &order.currency)?,
        None => original.clone(),
    };
    let edited = total != original;
    let mut event = Order::new(&order.id.to_string(), contact, total)
        .status(order_status(order))
        .at(placed, updated);
    if let Some(name) = non_empty(&order.name) {
        event = event.number(name);
    }
    for item in &order.line_items {
        let name = non_empty(&item.name).or(non_empty(&item.title)).unwrap_or("item");
        let quantity = item.current_quantity.unwrap_or(item.quantity);
        let mut line =
            OrderLine::new(name, quantity, Money::from_decimal(&item.price, &order.currency)?);
        if let Some(sku) = non_empty(&item.sku) {
            line = line.sku(sku);
        }
        event = event.line(line);
    }
    if let Some(shipping) = &order.shipping_address {
        event = event.deliver_to(address(shipping));
    }
    if let Some(billing) = &order.billing_address {
        event = event.bill_to(address(billing));
    }
    for (key, value) in [
        ("financial_status", &order.financial_status),
        ("fulfillment_status", &order.fulfillment_status),
        ("cancel_reason", &order.cancel_reason),
        ("source_name", &order.source_name),
    ] {
        if let Some(value) = non_empty(value) {
            event = event.attr(key, value);
        }
    }
    if edited {
        event = event.attr("original_total_minor", &original.amount_minor.to_string());
    }
    if let Some(shop) = shop {
        event = event.attr("shop_domain", shop);
    }
    Ok(Some(event))
}

fn customer_events(customer: &Customer, webhook_id: &str) -> Result<Vec<Event>, ConnectorError> {
    let contact = customer_contact(customer);
    let at = match customer.updated_at.as_deref().or(customer.created_at.as_deref()) {
        Some(at) => time::parse_rfc3339(at)?,
        None => time::now_millis(),
    };
    let mut update = contact.clone().update(webhook_id);
    update.occurred_at = at;
    let mut events: Vec<Event> = vec![update.into()];
    for (channel, consent) in
        [("email", &customer.email_marketing_consent), ("sms", &customer.sms_marketing_consent)]
    {
        let Some(consent) = consent else { continue };
        let state = match consent.state.as_deref() {
            Some("subscribed") => ConsentState::OptIn,
            Some("unsubscribed" | "redacted") => ConsentState::OptOut,
            // `not_subscribed`, `pending` (double opt-in not confirmed) say nothing yet.
            _ => continue,
        };
        // Keyed by when the consent changed, so a redelivery is the same consent; without a
        // date, by the webhook itself.
        let (when, key) = match (&consent.consent_updated_at, &customer.updated_at) {
            (Some(at), _) => (time::parse_rfc3339(at)?, at.clone()),
            (None, Some(_)) => (at, at.to_string()),
            (None, None) => (at, webhook_id.to_string()),
        };
        let mut event = Consent::new(
            &format!("{}:{channel}:{key}", customer.id),
            contact.clone(),
            channel,
            state,
        )
        .reason(&format!(
            "Shopify {channel} marketing consent: {}",
            consent.state.as_deref().unwrap_or("")
        ));
        event.occurred_at = when;
        events.push(event.into());
    }
    Ok(events)
}

fn api_base() -> Result<String, ConnectorError> {
    if let Some(base) = config("api_base") {
        return Ok(base.trim_end_matches('/').to_string());
    }
    let shop = config("shop_domain").ok_or_else(|| {
        ConnectorError::Config(
            "set `shop_domain` (e.g. `example.myshopify.com`) or `api_base`".into(),
        )
    })?;
    Ok(format!("https://{}", shop.trim().trim_end_matches('/')))
}

impl Connector for Shopify {
    fn manifest() -> Manifest {
        Manifest::new("shopify", "0.2.0", "Shopify")
            .channel("shop")
            .namespace(CUSTOMER)
            .webhook()
            .poll()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let secret = require_config("client_secret")?;
        let signature = request
            .header("x-shopify-hmac-sha256")
            .ok_or_else(|| ConnectorError::Unauthorized("missing X-Shopify-Hmac-Sha256".into()))?;
        verify(Algorithm::Sha256, secret.as_bytes(), &request.body, signature, Encoding::Base64)?;
        let shop = request.header("x-shopify-shop-domain").map(str::to_string);
        if let Some(expected) = config("shop_domain") {
            let Some(shop) = shop.as_deref() else {
                return Err(ConnectorError::Unauthorized(format!(
                    "missing X-Shopify-Shop-Domain (this connector serves `{}`)",
                    expected.trim()
                )));
            };
            if !expected.trim().eq_ignore_ascii_case(shop) {
                return Err(ConnectorError::Unauthorized(format!(
                    "webhook from shop `{shop}`, this connector serves `{}`",
                    expected.trim()
                )));
            }
        }
        let topic = request
            .header("x-shopify-topic")
            .ok_or_else(|| ConnectorError::BadRequest("missing X-Shopify-Topic".into()))?
            .to_string();
        let webhook_id = request
            .header("x-shopify-webhook-id")
            .ok_or_else(|| ConnectorError::BadRequest("missing X-Shopify-Webhook-Id".into()))?
            .to_string();
        let events: Vec<Event> = match topic.as_str() {
            "orders/create" | "orders/updated" | "orders/cancelled" | "orders/paid"
            | "orders/fulfilled" => {
                let order: ShopifyOrder = request.json()?;
                match order_event(&order, shop.as_deref())? {
                    Some(event) => vec![event.into()],
                    None => {
                        log(
                            switchboard_sdk::host::LogLevel::Info,
                            &format!("order {} names no buyer: acknowledged, not stored", order.id),
                        );
                        Vec::new()
                    }
                }
            }
            "customers/create" | "customers/update" => {
                let customer: Customer = request.json()?;
                customer_events(&customer, &webhook_id)?
            }
            other => {
                // Acknowledged, so Shopify does not retry a topic this connector ignores.
                log(
                    switchboard_sdk::host::LogLevel::Info,
                    &format!("ignoring Shopify topic `{other}` (webhook {webhook_id})"),
                );
                Vec::new()
            }
        };
        Ok(WebhookOutcome::ok(events))
    }

    fn poll(cursor: Option<String>) -> Result<PollOutcome, ConnectorError> {
        let token = require_config("access_token")?;
        let max_pages = config_or("max_pages", 4_u64)?.max(1);
        let lag_ms = config_or("poll_lag_secs", 60_i64)?.max(0) * 1000;
        let limit = config_or("page_limit", 250_u64)?.clamp(1, 250);
        let mut cursor: Cursor = match cursor.as_deref() {
            None => Cursor::default(),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                ConnectorError::Config(format!(
                    "stored cursor `{text}` is not this connector's: {e}"
                ))
            })?,
        };
        let resumed = cursor.next.is_some();
        let mut url = match cursor.next.take() {
            Some(next) => next,
            None => {
                let until = time::format_rfc3339(time::now_millis() - lag_ms);
                if let Some(since) = &cursor.since
                    && time::parse_rfc3339(since)? > time::parse_rfc3339(&until)?
                {
                    // The clock went back (or `poll_lag_secs` grew): nothing can be due yet.
                    return Ok(PollOutcome { events: Vec::new(), next_cursor: None });
                }
                let limit = limit.to_string();
                let mut pairs =
                    vec![("status", "any"), ("limit", limit.as_str()), ("updated_at_max", &until)];
                if let Some(since) = &cursor.since {
                    pairs.push(("updated_at_min", since));
                }
                let query = switchboard_sdk::form::encode(&pairs);
                cursor.until = Some(until);
                let version = config("api_version").unwrap_or_else(|| API_VERSION.into());
                format!("{}/admin/api/{version}/orders.json?{query}", api_base()?)
            }
        };
        let shop = config("shop_domain");
        let mut events: Vec<Event> = Vec::new();
        for page_number in 0..max_pages {
            let response = http::get(&url)
                .header("X-Shopify-Access-Token", &token)
                .header("Accept", "application/json")
                .send()?;
            if resumed && page_number == 0 && matches!(response.status, 400 | 404 | 422) {
                // The stored page link is no longer valid: walk the same bounds again from the
                // start (the store recognises the orders already seen).
                log(
                    switchboard_sdk::host::LogLevel::Warn,
                    &format!("page link refused ({}): restarting the walk", response.status),
                );
                let restart = Cursor { since: cursor.since.take(), until: None, next: None };
                return Ok(PollOutcome { events, next_cursor: Some(to_json(&restart)) });
            }
            let response = response.error_for_status()?;
            let page: OrdersPage = response.json()?;
            for order in &page.orders {
                match order_event(order, shop.as_deref()) {
                    Ok(Some(event)) => events.push(event.into()),
                    Ok(None) => {}
                    // One order without a buyer must not stop the backfill of the others.
                    Err(error) => log(
                        switchboard_sdk::host::LogLevel::Warn,
                        &format!("skipping order {}: {error:?}", order.id),
                    ),
                }
            }
            match response.header("link").and_then(http::next_link) {
                // Followed on the configured base: the access token goes nowhere else.
                Some(next) => url = on_base(&next)?,
                None => {
                    // The walk is complete: the next one starts at its upper bound, inclusive.
                    let next = Cursor { since: cursor.until.take(), until: None, next: None };
                    return Ok(PollOutcome { events, next_cursor: Some(to_json(&next)) });
                }
            }
        }
        cursor.next = Some(url);
        Ok(PollOutcome { events, next_cursor: Some(to_json(&cursor)) })
    }
}

/// `link` (an absolute URL from Shopify's `Link` header) on the configured API base.
fn on_base(link: &str) -> Result<String, ConnectorError> {
    let path = link
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|slash| &rest[slash..]))
        .ok_or_else(|| ConnectorError::BadRequest(format!("`Link` names no page: `{link}`")))?;
    Ok(format!("{}{path}", api_base()?))
}

fn to_json(cursor: &Cursor) -> String {
    serde_json::to_string(cursor).unwrap_or_default()
}

export_connector!(Shopify);

/// Native unit tests with the SDK's mock host: the backfill walks pages through the `Link`
/// header, stops after `max_pages` and resumes from the page it stopped at.
#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::http::Response;
    use switchboard_sdk::testing::{MockHost, recorded};

    const BASE: &str = "https://atelier-lumiere.myshopify.com/admin/api/2025-10/orders.json";

    fn order_json() -> String {
        let request = recorded(include_str!("../fixtures/orders-create.http"));
        String::from_utf8(request.body).unwrap()
    }

    fn page(next: Option<&str>) -> Response {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(next) = next {
            headers.push((
                "link".into(),
                format!("<{BASE}?limit=250&page_info={next}>; rel=\"next\""),
            ));
        }
        Response {
            status: 200,
            headers,
            body: format!("{{\"orders\": [{}]}}", order_json()).into_bytes(),
        }
    }

    #[test]
    fn a_backfill_walks_pages_and_resumes_where_it_stopped() {
        let host = MockHost::new()
            .config("access_token", "shpat_x")
            .config("shop_domain", "atelier-lumiere.myshopify.com")
            .config("max_pages", "2")
            .now(1_795_600_800_000)
            .respond_once("GET", BASE, page(Some("p2")))
            .respond_once("GET", &format!("{BASE}?limit=250&page_info=p2"), page(Some("p3")))
            .respond_once("GET", &format!("{BASE}?limit=250&page_info=p3"), page(None))
            .install();
        let first = Shopify::poll(None).unwrap();
        assert_eq!(first.events.len(), 2, "two pages, then the page limit");
        let cursor = first.next_cursor.unwrap();
        assert!(cursor.contains("page_info=p3"), "{cursor}");
        let second = Shopify::poll(Some(cursor)).unwrap();
        assert_eq!(second.events.len(), 1);
        let done: Cursor = serde_json::from_str(&second.next_cursor.unwrap()).unwrap();
        assert!(done.next.is_none() && done.since.is_some(), "the walk is complete");
        let urls: Vec<String> = host.requests().into_iter().map(|r| r.url).collect();
        assert_eq!(urls.len(), 3);
        assert!(urls[0].contains("updated_at_max=2026-11-25T09%3A59%3A00Z"), "{}", urls[0]);
        assert!(
            host.requests().iter().all(|r| r.header("x-shopify-access-token") == Some("shpat_x"))
        );
    }
}
