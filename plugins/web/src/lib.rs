//! The shop's own web site: visitor events posted by the site's back end.
//!
//! `POST /hooks/web` with one JSON event, signed with the secret shared with the site
//! (`signing_secret`): `Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "{t}.{raw body}">`, accepted within `tolerance_secs` (default 300) — the same scheme as
//! Stripe's, so any Stripe signing snippet works.
//!
//! ```json
//! {"event_id": "e-1", "type": "cart_updated", "visitor_id": "v-8f3a", "occurred_at": "2026-11-24T08:59:00Z",
//!  "email": null, "phone": null, "name": null,
//!  "cart": {"token": "c-77ab", "currency": "EUR", "items": [{"sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price": "12.99"}]}}
//! ```
//!
//! Types: `product_viewed` (`product`: sku, name, url, price) → a page view; `cart_updated` and
//! `checkout_started` (`cart`) → the cart, one interaction per cart token that each update
//! amends (thread id = the token); `wishlist_changed` (`wishlist`: items) → the visitor's
//! wishlist; `chat_message` (`message`: text, conversation_id) → a message; `identified` → a
//! contact update. Every event names the anonymous `visitor_id` (`web:visitor`); once the
//! visitor logs in or types an e-mail or phone, the events carry it too, and the host joins
//! the anonymous history to the customer it belongs to.
//!
//! A cart interaction carries its content as attributes (`cart_items`, JSON; `cart_total_minor`;
//! `currency`), which the host serves at `GET /api/carts/{token}` for the till (QR hand-off).
use serde::Deserialize;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::verify_switchboard_signature;
use switchboard_sdk::time;

/// The web shop's anonymous visitor id namespace.
const VISITOR: &str = "web:visitor";

struct Web;

#[derive(Deserialize)]
struct WebEvent {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    visitor_id: String,
    occurred_at: String,
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    locale: Option<String>,
    cart: Option<Cart>,
    product: Option<Product>,
    wishlist: Option<Wishlist>,
    message: Option<ChatMessage>,
    page: Option<Page>,
}

#[derive(Deserialize)]
struct Cart {
    token: String,
    currency: String,
    #[serde(default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    sku: Option<String>,
    name: String,
    #[serde(default = "one")]
    quantity: u32,
    unit_price: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct Product {
    sku: Option<String>,
    name: String,
    url: Option<String>,
    price: Option<String>,
    currency: Option<String>,
}

#[derive(Deserialize)]
struct Wishlist {
    #[serde(default)]
    items: Vec<Item>,
    /// Needed when items carry a `unit_price`.
    currency: Option<String>,
}

#[derive(Deserialize)]
struct ChatMessage {
    text: String,
    conversation_id: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    url: Option<String>,
    title: Option<String>,
}

fn bad(message: String) -> ConnectorError {
    ConnectorError::BadRequest(message)
}

fn item_line(item: &Item, currency: Option<&str>) -> Result<(String, Value), ConnectorError> {
    let price = match (&item.unit_price, currency) {
        (Some(price), Some(currency)) => Some(Money::from_decimal(price, currency)?),
        (Some(_), None) => {
            return Err(bad(format!("item `{}` has a price but no currency", item.name)));
        }
        _ => None,
    };
    let text = match (&price, &item.sku) {
        (Some(p), Some(sku)) => format!(
            "{} × {} ({sku}) at {} {}",
            item.quantity, item.name, p.amount_minor, p.currency
        ),
        (Some(p), None) => {
            format!("{} × {} at {} {}", item.quantity, item.name, p.amount_minor, p.currency)
        }
        (None, Some(sku)) => format!("{} × {} ({sku})", item.quantity, item.name),
        (None, None) => format!("{} × {}", item.quantity, item.name),
    };
    let json = json!({
        "sku": item.sku, "name": item.name, "quantity": item.quantity,
        "unit_price_minor": price.as_ref().map(|p| p.amount_minor),
    });
    Ok((text, json))
}

fn contact(event: &WebEvent) -> Contact {
    let mut contact = Contact::new()
        .external(VISITOR, &event.visitor_id)
        .email(event.email.as_deref().unwrap_or(""))
        .phone(event.phone.as_deref().unwrap_or(""))
        .name(event.name.as_deref().unwrap_or(""));
    if let Some(locale) = &event.locale {
        contact = contact.locale(locale);
    }
    contact
}

fn to_event(event: WebEvent) -> Result<Event, ConnectorError> {
    if event.visitor_id.trim().is_empty() {
        return Err(bad("`visitor_id` is empty".into()));
    }
    let at = time::parse_rfc3339(&event.occurred_at)?;
    let who = contact(&event);
    let need = |what: &str| bad(format!("a `{}` event needs `{what}`", event.kind));
    let interaction = match event.kind.as_str() {
        "identified" => {
            let mut update = who.update(&event.event_id);
            update.occurred_at = at;
            return Ok(update.into());
        }
        "product_viewed" => {
            let product = event.product.as_ref().ok_or_else(|| need("product"))?;
            let mut view = Interaction::new(InteractionKind::PageView, "web", &event.event_id, who)
                .subject(&product.name)
                .at(at);
            if let Some(url) =
                product.url.as_ref().or(event.page.as_ref().and_then(|p| p.url.as_ref()))
            {
                view = view.attr("url", url);
            }
            if let Some(sku) = &product.sku {
                view = view.attr("sku", sku);
            }
            if let (Some(price), Some(currency)) = (&product.price, &product.currency) {
                let price = Money::from_decimal(price, currency)?;
                view = view
                    .attr("price_minor", &price.amount_minor.to_string())
                    .attr("currency", &price.currency);
            }
            view
        }
        "cart_updated" | "checkout_started" => {
            let cart = event.cart.as_ref().ok_or_else(|| need("cart"))?;
            if cart.token.trim().is_empty() {
                return Err(bad("`cart.token` is empty".into()));
            }
            let currency = Money::from_decimal("0", &cart.currency)?.currency;
            let mut lines = Vec::new();
            let mut items = Vec::new();
            let mut total = 0_i64;
            for item in &cart.items {
                let (text, json) = item_line(item, Some(&currency))?;
                let unit = json["unit_price_minor"].as_i64().unwrap_or(0);
                total = unit
                    .checked_mul(i64::from(item.quantity))
                    .and_then(|line| total.checked_add(line))
                    .ok_or_else(|| bad(format!("cart `{}`: the total overflows", cart.token)))?;
                lines.push(text);
                items.push(json);
            }
            let status =
                if event.kind == "checkout_started" { "checkout_started" } else { "active" };
            let text = if lines.is_empty() { "empty cart".to_string() } else { lines.join("\n") };
            // One interaction per cart: each update amends it.
            Interaction::new(InteractionKind::Cart, "web", &format!("cart:{}", cart.token), who)
                .thread(&cart.token)
                .text(&text)
                .status(status)
                .at(at)
                .attr("cart_token", &cart.token)
                .attr("cart_items", &Value::Array(items).to_string())
                .attr("cart_total_minor", &total.to_string())
                .attr("currency", &currency)
        }
        "wishlist_changed" => {
            let wishlist = event.wishlist.as_ref().ok_or_else(|| need("wishlist"))?;
            let mut lines = Vec::new();
            let mut items = Vec::new();
            for item in &wishlist.items {
                let (text, json) = item_line(item, wishlist.currency.as_deref())?;
                lines.push(text);
                items.push(json);
            }
            let provider_id = format!("wishlist:{}", event.visitor_id);
            Interaction::new(InteractionKind::Wishlist, "web", &provider_id, who)
                .text(&if lines.is_empty() {
                    "empty wishlist".to_string()
                } else {
                    lines.join("\n")
                })
                .at(at)
                .attr("wishlist_items", &Value::Array(items).to_string())
        }
        "chat_message" => {
            let message = event.message.as_ref().ok_or_else(|| need("message"))?;
            let thread = message
                .conversation_id
                .clone()
                .unwrap_or_else(|| format!("visitor:{}", event.visitor_id));
            Interaction::message("web-chat", &event.event_id, who)
                .thread(&thread)
                .text(&message.text)
                .at(at)
        }
        other => {
            return Err(bad(format!(
                "unknown event type `{other}`; expected product_viewed, cart_updated, checkout_started, \
                 wishlist_changed, chat_message or identified"
            )));
        }
    };
    let mut interaction = interaction;
    if let Some(title) = event.page.as_ref().and_then(|p| p.title.as_ref()) {
        interaction = interaction.attr("page_title", title);
    }
    Ok(interaction.into())
}

impl Connector for Web {
    fn manifest() -> Manifest {
        Manifest::new("web", "0.2.0", "Web shop")
            .channel("web")
            .channel("web-chat")
            .namespace(VISITOR)
            .webhook()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        verify_switchboard_signature(&request)?;
        let event: WebEvent = request.json()?;
        Ok(WebhookOutcome::ok([to_event(event)?]))
    }
}

export_connector!(Web);

/// Native unit tests with the SDK's mock host: the signature window is checked at the time the
/// host received the request.
#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::testing::{MockHost, recorded};

    /// The cart fixture is signed with `t=1795507121`.
    const SIGNED_AT_MS: i64 = 1_795_507_121_000;

    fn cart() -> HttpRequest {
        recorded(include_str!("../fixtures/cart-updated.http"))
    }

    /// Replayed a day later from a dead letter: checked at the time it was first received.
    #[test]
    fn a_cart_received_within_the_window_is_taken_even_when_replayed_later() {
        let _host = MockHost::new()
            .config("signing_secret", "fixture-web-signing-secret")
            .now(SIGNED_AT_MS + 86_400_000)
            .install();
        let mut request = cart();
        request.received_at = SIGNED_AT_MS + 10_000;
        let outcome = Web::handle_webhook(request).unwrap();
        assert_eq!(outcome.events.len(), 1);
    }

    #[test]
    fn a_cart_received_after_the_window_is_refused() {
        let _host = MockHost::new()
            .config("signing_secret", "fixture-web-signing-secret")
            .now(SIGNED_AT_MS + 301_000)
            .install();
        let mut request = cart();
        request.received_at = SIGNED_AT_MS + 301_000;
        assert!(matches!(Web::handle_webhook(request), Err(ConnectorError::Unauthorized(_))));
    }
}
