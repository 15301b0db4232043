//! In-store tills (POS): each completed sale, posted by the till as signed JSON, becomes an
//! order of channel `store` and one payment per tender (cash, card…).
//!
//! `POST /hooks/till`, signed like the web connector: `Switchboard-Signature: t=…,v1=…` with
//! the till's shared secret (`signing_secret`), within `tolerance_secs` (default 300).
//!
//! ```json
//! {"sale_id": "PAR01-3-000187", "store_id": "PAR01", "till_id": "3", "occurred_at": "2026-11-24T17:42:10+01:00",
//!  "currency": "EUR", "total": "25.98",
//!  "lines": [{"sku": "MUG-LUM-BLUE", "name": "Mug Lumière - Bleu", "quantity": 2, "unit_price": "12.99"}],
//!  "tenders": [{"method": "card", "amount": "20.00", "card_last4": "4242"}, {"method": "cash", "amount": "5.98"}],
//!  "customer": {"phone": "+33 6 12 34 56 78", "email": null, "loyalty_card": "LC-0042-7781", "name": "Ann Lee"},
//!  "cart_token": "c-77ab"}
//! ```
//!
//! The buyer is linked by phone, e-mail or loyalty card (`loyalty:card`), whichever the cashier
//! took; a till that loaded an online cart (`GET /api/carts/{token}`, the QR hand-off) sends the
//! cart's identifiers and its `cart_token`, kept on the order. A sale without any customer is
//! not a customer's history: once checked like any other, it is acknowledged and not stored.
//!
//! Tenders must cover the total. Cash handed back is `change` (a decimal string, default 0):
//! it comes off the cash tenders, so the payments record what the shop kept.
use serde::Deserialize;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::verify_switchboard_signature;
use switchboard_sdk::time;

/// The shop's loyalty card numbers.
const LOYALTY_CARD: &str = "loyalty:card";

struct Till;

#[derive(Deserialize)]
struct Sale {
    sale_id: String,
    store_id: String,
    till_id: Option<String>,
    occurred_at: String,
    currency: String,
    total: String,
    #[serde(default)]
    lines: Vec<Line>,
    #[serde(default)]
    tenders: Vec<Tender>,
    customer: Option<Buyer>,
    cart_token: Option<String>,
    #[serde(default)]
    refund: bool,
    /// Cash handed back to the customer.
    change: Option<String>,
}

#[derive(Deserialize)]
struct Line {
    sku: Option<String>,
    name: String,
    quantity: u32,
    unit_price: String,
}

#[derive(Deserialize)]
struct Tender {
    method: String,
    amount: String,
    card_last4: Option<String>,
}

#[derive(Deserialize, Default)]
struct Buyer {
    phone: Option<String>,
    email: Option<String>,
    loyalty_card: Option<String>,
    name: Option<String>,
    /// The anonymous web visitor of a cart loaded through the QR hand-off.
    web_visitor: Option<String>,
}

fn events(sale: Sale) -> Result<Vec<Event>, ConnectorError> {
    if sale.sale_id.trim().is_empty() || sale.store_id.trim().is_empty() {
        return Err(ConnectorError::BadRequest(
            "`sale_id` and `store_id` must not be empty".into(),
        ));
    }
    let buyer = sale.customer.unwrap_or_default();
    let mut contact = Contact::new()
        .phone(buyer.phone.as_deref().unwrap_or(""))
        .email(buyer.email.as_deref().unwrap_or(""))
        .name(buyer.name.as_deref().unwrap_or(""));
    if let Some(card) = buyer.loyalty_card.as_deref().filter(|c| !c.trim().is_empty()) {
        contact = contact.external(LOYALTY_CARD, card.trim());
    }
    // The web shop's visitor id, read from the cart's QR code: the web connector owns that
    // namespace, so the operator must let the till report it (`extra_namespaces`).
    if let Some(visitor) = buyer.web_visitor.as_deref().filter(|v| !v.trim().is_empty()) {
        contact = contact.external("web:visitor", visitor.trim());
    }
    let at = time::parse_rfc3339(&sale.occurred_at)?;
    let total = Money::from_decimal(&sale.total, &sale.currency)?;
    let mut lines_total = 0_i64;
    let mut order = Order::new(&sale.sale_id, contact.clone(), total.clone())
        .number(&sale.sale_id)
        .status(if sale.refund { OrderStatus::Refunded } else { OrderStatus::Completed })
        .at(at, at)
        .attr("channel", "store")
        .attr("store_id", &sale.store_id);
    let overflow =
        || ConnectorError::BadRequest(format!("sale {}: amounts overflow", sale.sale_id));
    for line in &sale.lines {
        let price = Money::from_decimal(&line.unit_price, &sale.currency)?;
        lines_total = price
            .amount_minor
            .checked_mul(i64::from(line.quantity))
            .and_then(|amount| lines_total.checked_add(amount))
            .ok_or_else(overflow)?;
        let mut item = OrderLine::new(&line.name, line.quantity, price);
        if let Some(sku) = &line.sku {
            item = item.sku(sku);
        }
        order = order.line(item);
    }
    if !sale.lines.is_empty() && lines_total != total.amount_minor && !sale.refund {
        // Discounts make this legitimate; it is kept visible rather than refused.
        order = order.attr("lines_total_minor", &lines_total.to_string());
    }
    if let Some(till) = &sale.till_id {
        order = order.attr("till_id", till);
    }
    if let Some(token) = sale.cart_token.as_deref().filter(|t| !t.trim().is_empty()) {
        order = order.attr("cart_token", token);
    }
    let methods: Vec<&str> = sale.tenders.iter().map(|t| t.method.as_str()).collect();
    if !methods.is_empty() {
        order = order.attr("payment_methods", &methods.join(","));
    }
    let mut events: Vec<Event> = vec![order.into()];
    let change = match &sale.change {
        Some(change) => Money::from_decimal(change, &sale.currency)?.amount_minor,
        None => 0,
    };
    let cash: i64 = sale
        .tenders
        .iter()
        .filter(|t| t.method == "cash")
        .map(|t| Money::from_decimal(&t.amount, &sale.currency).map(|m| m.amount_minor))
        .sum::<Result<i64, _>>()?;
    if change < 0 || change > cash {
        return Err(ConnectorError::BadRequest(format!(
            "sale {}: change {change} is not covered by the cash tendered ({cash})",
            sale.sale_id
        )));
    }
    let mut change_left = change;
    let mut tendered = 0_i64;
    for (index, tender) in sale.tenders.iter().enumerate() {
        let mut amount = Money::from_decimal(&tender.amount, &sale.currency)?;
        if tender.method == "cash" {
            let given_back = change_left.min(amount.amount_minor);
            amount.amount_minor -= given_back;
            change_left -= given_back;
        }
        tendered = tendered.checked_add(amount.amount_minor).ok_or_else(overflow)?;
        let mut payment = Payment::new(
            &format!("{}:{}", sale.sale_id, index + 1),
            contact.clone(),
            amount.clone(),
        )
        .for_order(&sale.sale_id)
        .at(at)
        .attr("payment_method", &tender.method);
        if sale.refund {
            payment = payment.refunded(amount.amount_minor);
        }
        if let Some(last4) = &tender.card_last4 {
            payment = payment.attr("card_last4", last4);
        }
        events.push(payment.into());
    }
    if !sale.tenders.is_empty() && tendered < total.amount_minor {
        return Err(ConnectorError::BadRequest(format!(
            "sale {}: tenders add up to {tendered}, less than the total {}",
            sale.sale_id, total.amount_minor
        )));
    }
    if contact.identifiers.is_empty() {
        log(
            switchboard_sdk::host::LogLevel::Debug,
            &format!("sale {} has no customer: not stored", sale.sale_id),
        );
        return Ok(Vec::new());
    }
    Ok(events)
}

impl Connector for Till {
    fn manifest() -> Manifest {
        Manifest::new("till", "0.2.0", "In-store till")
            .channel("store")
            .namespace(LOYALTY_CARD)
            .webhook()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        verify_switchboard_signature(&request)?;
        let sale: Sale = request.json()?;
        Ok(WebhookOutcome::ok(events(sale)?))
    }
}

export_connector!(Till);
