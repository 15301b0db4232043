//! Ozon Seller API: FBS and rFBS postings, polled, as orders (one order per posting, the unit
//! Ozon ships and reports statuses for).
//!
//! `poll` asks `POST {api_base}/v3/posting/fbs/list` (headers `Client-Id`, `Api-Key`) for the
//! postings whose status last changed inside a window, `filter.last_changed_status_date`
//! `{from, to}`, oldest window first. The method pages by `offset` + `has_next`, and a posting
//! whose status changes while a window is being paged moves out of it and shifts every later
//! offset, which would skip a posting. So a window is never paged: when its first page says
//! `has_next`, the window is halved until one page (`limit` 1000) holds it, and only a window
//! narrowed to one second is paged. (`page_limit` lowers the page size, for tests.) The next window starts *at* the previous one's end
//! (inclusive), so postings changed at the boundary second are fetched twice (the store
//! recognises the repeat) and never missed; the window ends `poll_lag_secs` (default 60)
//! before now. The first poll starts `backfill_days` (default 30) back.
//!
//! Ozon hides the buyer of most FBS postings; a posting with neither a customer id, phone,
//! e-mail nor addressee phone is skipped (logged), since it is no one's history.
use serde::{Deserialize, Serialize};
use switchboard_sdk::http;
use switchboard_sdk::prelude::*;
use switchboard_sdk::time;

/// Ozon's buyer id namespace.
const BUYER: &str = "ozon:buyer";

struct Ozon;

const API_BASE: &str = "https://api-seller.ozon.ru";
/// The most postings `/v3/posting/fbs/list` returns at once (its `limit` maximum).
const PAGE: u32 = 1000;

#[derive(Deserialize)]
struct ListResponse {
    result: ListResult,
}

#[derive(Deserialize)]
struct ListResult {
    #[serde(default)]
    postings: Vec<Posting>,
    #[serde(default)]
    has_next: bool,
}

#[derive(Deserialize)]
struct Posting {
    posting_number: String,
    order_number: Option<String>,
    status: String,
    in_process_at: Option<String>,
    shipment_date: Option<String>,
    delivering_date: Option<String>,
    tracking_number: Option<String>,
    #[serde(default)]
    products: Vec<Product>,
    customer: Option<Customer>,
    addressee: Option<Addressee>,
    delivery_method: Option<Value>,
}

#[derive(Deserialize)]
struct Product {
    name: String,
    offer_id: Option<String>,
    price: String,
    quantity: u32,
    currency_code: String,
}

#[derive(Deserialize)]
struct Customer {
    customer_id: Option<u64>,
    customer_email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    address: Option<OzonAddress>,
}

#[derive(Deserialize)]
struct OzonAddress {
    address_tail: Option<String>,
    city: Option<String>,
    region: Option<String>,
    zip_code: Option<String>,
    country: Option<String>,
}

#[derive(Deserialize)]
struct Addressee {
    name: Option<String>,
    phone: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    /// Start of the next window, inclusive.
    from: i64,
}

fn status(posting: &Posting) -> OrderStatus {
    match posting.status.as_str() {
        "awaiting_registration" | "acceptance_in_progress" | "awaiting_approve" => {
            OrderStatus::Pending
        }
        "awaiting_packaging" => OrderStatus::Paid,
        "awaiting_deliver" | "arbitration" | "client_arbitration" => OrderStatus::Processing,
        "delivering" | "driver_pickup" | "sent_by_seller" => OrderStatus::Shipped,
        "delivered" => OrderStatus::Delivered,
        "cancelled" | "not_accepted" | "cancelled_from_split_pending" => OrderStatus::Cancelled,
        _ => OrderStatus::Processing,
    }
}

/// The posting as an order, as of `seen_until` (the end of the window it was listed in); `None`
/// when it names no buyer.
fn order(posting: &Posting, seen_until: i64) -> Result<Option<Order>, ConnectorError> {
    let mut contact = Contact::new();
    if let Some(customer) = &posting.customer {
        if let Some(id) = customer.customer_id.filter(|id| *id != 0) {
            contact = contact.external(BUYER, &id.to_string());
        }
        contact = contact
            .email(customer.customer_email.as_deref().unwrap_or(""))
            .phone(customer.phone.as_deref().unwrap_or(""))
            .name(customer.name.as_deref().unwrap_or(""));
    }
    // The addressee is whoever receives the parcel (a gift's recipient, say): their name and
    // phone belong to the delivery address, not to the buyer.
    if contact.identifiers.is_empty() {
        return Ok(None);
    }
    let currency = posting.products.first().map(|p| p.currency_code.as_str()).unwrap_or("RUB");
    if let Some(other) = posting.products.iter().find(|p| p.currency_code != currency) {
        return Err(ConnectorError::BadRequest(format!(
            "posting {} mixes currencies ({currency} and {})",
            posting.posting_number, other.currency_code
        )));
    }
    let mut total = 0_i64;
    let mut lines = Vec::new();
    for product in &posting.products {
        let price = Money::from_decimal(&product.price, &product.currency_code)?;
        total = price
            .amount_minor
            .checked_mul(i64::from(product.quantity))
            .and_then(|line| total.checked_add(line))
            .ok_or_else(|| {
                ConnectorError::BadRequest(format!(
                    "posting {}: the total overflows",
                    posting.posting_number
                ))
            })?;
        let mut line = OrderLine::new(&product.name, product.quantity, price);
        if let Some(offer) = &product.offer_id {
            line = line.sku(offer);
        }
        lines.push(line);
    }
    // `shipment_date` is the deadline to ship, often in the future: not a change of state.
    let dates: Vec<i64> = [&posting.in_process_at, &posting.delivering_date]
        .into_iter()
        .flatten()
        .map(|d| time::parse_rfc3339(d))
        .collect::<Result<_, _>>()?;
    let placed = posting.in_process_at.as_deref().map(time::parse_rfc3339).transpose()?;
    let placed = placed.or(dates.iter().copied().min()).unwrap_or(seen_until);
    let updated = dates.iter().copied().max().unwrap_or(placed).min(seen_until).max(placed);
    let mut event = Order::new(&posting.posting_number, contact, Money::new(total, currency))
        .number(posting.order_number.as_deref().unwrap_or(&posting.posting_number))
        .status(status(posting))
        .at(placed, updated)
        .attr("ozon_status", &posting.status)
        .attr("posting_number", &posting.posting_number);
    for line in lines {
        event = event.line(line);
    }
    if let Some(deadline) = posting.shipment_date.as_deref().filter(|d| !d.is_empty()) {
        event = event.attr("ship_by", deadline);
    }
    if let Some(tracking) = posting.tracking_number.as_deref().filter(|t| !t.is_empty()) {
        event = event.attr("tracking_number", tracking);
    }
    if let Some(method) =
        posting.delivery_method.as_ref().and_then(|m| m.get("name")).and_then(Value::as_str)
    {
        event = event.attr("delivery_method", method);
    }
    if let Some(address) = posting.customer.as_ref().and_then(|c| c.address.as_ref()) {
        let addressee = posting.addressee.as_ref();
        let customer = posting.customer.as_ref();
        event = event.deliver_to(Address {
            name: addressee
                .and_then(|a| a.name.clone())
                .or_else(|| customer.and_then(|c| c.name.clone())),
            line1: address.address_tail.clone(),
            line2: None,
            city: address.city.clone(),
            region: address.region.clone(),
            postal_code: address.zip_code.clone(),
            country: address.country.as_deref().map(country_code),
            phone: addressee
                .and_then(|a| a.phone.clone())
                .or_else(|| customer.and_then(|c| c.phone.clone())),
            email: None,
        });
    }
    Ok(Some(event))
}

/// Ozon names countries (`Россия`); the contract wants ISO 3166-1 alpha-2 where it can.
fn country_code(name: &str) -> String {
    match name.trim() {
        "Россия" | "Russia" | "RU" => "RU".into(),
        "Беларусь" | "Belarus" | "BY" => "BY".into(),
        "Казахстан" | "Kazakhstan" | "KZ" => "KZ".into(),
        "Армения" | "Armenia" | "AM" => "AM".into(),
        "Киргизия" | "Кыргызстан" | "Kyrgyzstan" | "KG" => "KG".into(),
        other => other.to_string(),
    }
}

fn list(from: i64, to: i64, offset: u32, limit: u32) -> Result<ListResult, ConnectorError> {
    let client_id = require_config("client_id")?;
    let api_key = require_config("api_key")?;
    let base = config("api_base").unwrap_or_else(|| API_BASE.into());
    // `since`/`to` (processing date, at most a year) are required besides the status window.
    let year = 364 * 24 * 3600 * 1000;
    let body = json!({
        "dir": "ASC",
        "filter": {
            "since": time::format_rfc3339(to - year),
            "to": time::format_rfc3339(to),
            "last_changed_status_date": { "from": time::format_rfc3339(from), "to": time::format_rfc3339(to) },
        },
        "limit": limit,
        "offset": offset,
        "with": { "analytics_data": false, "financial_data": false },
    });
    let response = http::post(&format!("{}/v3/posting/fbs/list", base.trim_end_matches('/')))
        .header("Client-Id", &client_id)
        .header("Api-Key", &api_key)
        .json(&body)
        .send()?
        .error_for_status()?;
    Ok(response.json::<ListResponse>()?.result)
}

impl Connector for Ozon {
    fn manifest() -> Manifest {
        Manifest::new("ozon", "0.2.0", "Ozon").channel("marketplace").namespace(BUYER).poll()
    }

    fn poll(cursor: Option<String>) -> Result<PollOutcome, ConnectorError> {
        let lag = config_or("poll_lag_secs", 60_i64)?.max(0) * 1000;
        let max_window = config_or("max_window_hours", 24_i64)?.max(1) * 3600 * 1000;
        let now = time::now_millis();
        let from = match cursor.as_deref() {
            Some(text) => {
                serde_json::from_str::<Cursor>(text)
                    .map_err(|e| {
                        ConnectorError::Config(format!(
                            "stored cursor `{text}` is not this connector's: {e}"
                        ))
                    })?
                    .from
            }
            None => now - config_or("backfill_days", 30_i64)? * 24 * 3600 * 1000,
        };
        // Whole seconds, as the API takes them.
        let from = from - from.rem_euclid(1000);
        let mut to = (now - lag).min(from + max_window);
        to -= to.rem_euclid(1000);
        if to <= from {
            return Ok(PollOutcome { events: Vec::new(), next_cursor: None });
        }
        let limit = config_or("page_limit", PAGE)?.clamp(1, PAGE);
        let mut page = list(from, to, 0, limit)?;
        while page.has_next && to - from > 1000 {
            to = from + ((to - from) / 2000) * 1000;
            page = list(from, to, 0, limit)?;
        }
        let mut postings = page.postings;
        let mut offset = limit;
        let mut more = page.has_next;
        while more {
            // A one-second window with more than a page of changes: paged, the only way left.
            let next = list(from, to, offset, limit)?;
            postings.extend(next.postings);
            more = next.has_next;
            offset += limit;
        }
        let mut events: Vec<Event> = Vec::new();
        for posting in &postings {
            match order(posting, to) {
                Ok(Some(order)) => events.push(order.into()),
                Ok(None) => log(
                    switchboard_sdk::host::LogLevel::Debug,
                    &format!("posting {} names no buyer: skipped", posting.posting_number),
                ),
                // One posting this connector cannot read must not stop the others, nor every
                // later poll (the cursor moves on).
                Err(error) => log(
                    switchboard_sdk::host::LogLevel::Warn,
                    &format!("posting {} skipped: {error:?}", posting.posting_number),
                ),
            }
        }
        let next = serde_json::to_string(&Cursor { from: to }).unwrap_or_default();
        Ok(PollOutcome { events, next_cursor: Some(next) })
    }
}

export_connector!(Ozon);
