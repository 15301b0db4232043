//! Stripe: payments and refunds, attached to the order they pay and to the customer.
//!
//! Events `payment_intent.succeeded`, `charge.refunded`, `checkout.session.completed` (and
//! `checkout.session.async_payment_succeeded`, for delayed payment methods) are verified with `Stripe-Signature` (`t=…,v1=…`): HMAC-SHA256 under the endpoint's signing
//! secret (`webhook_secret`, `whsec_…`) of `"{t}.{raw body}"`, hex; any `v1` may match (Stripe
//! sends several while a secret is rolled), and `t` must be within `tolerance_secs` (default
//! 300) of now, so a captured request cannot be replayed later.
//!
//! These events describe one PaymentIntent, so they share its id as provider id: the refund
//! amends the payment instead of adding one. The paid order is named by the metadata the shop
//! set on the payment (`order_number`, `order_id` or `order`) or the Checkout Session's
//! `client_reference_id`; the payer by e-mail, phone and Stripe customer id
//! (`stripe:customer`). A payment naming an order but no payer is the order's buyer's (the
//! host keeps it until the order arrives); a guest Checkout's PaymentIntent, which names
//! neither, is acknowledged and left to its Checkout Session's event. Other event types are
//! acknowledged and ignored.
use serde::Deserialize;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::verify_timestamped_request;
use switchboard_sdk::time;

/// Stripe's customer id namespace.
const CUSTOMER: &str = "stripe:customer";

struct Stripe;

#[derive(Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Value,
}

/// The fields of a PaymentIntent, Charge or Checkout Session this connector reads.
#[derive(Deserialize)]
struct PaymentObject {
    id: String,
    currency: String,
    /// PaymentIntent and Charge.
    amount: Option<i64>,
    /// PaymentIntent.
    amount_received: Option<i64>,
    /// Checkout Session.
    amount_total: Option<i64>,
    /// Charge.
    amount_refunded: Option<i64>,
    /// An id, or the expanded Customer object.
    customer: Option<Value>,
    receipt_email: Option<String>,
    /// Checkout Session: the e-mail typed at checkout when no Customer was created.
    customer_email: Option<String>,
    /// Charge and Checkout Session: the PaymentIntent, as an id or expanded.
    payment_intent: Option<Value>,
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, String>,
    client_reference_id: Option<String>,
    billing_details: Option<Details>,
    customer_details: Option<Details>,
    #[serde(default)]
    payment_method_types: Vec<String>,
    payment_method_details: Option<Value>,
}

#[derive(Deserialize)]
struct Details {
    email: Option<String>,
    name: Option<String>,
    phone: Option<String>,
}

fn verify(request: &HttpRequest) -> Result<(), ConnectorError> {
    let secret = require_config("webhook_secret")?;
    let tolerance = config_or("tolerance_secs", 300_i64)?;
    verify_timestamped_request(request, "Stripe-Signature", secret.as_bytes(), tolerance)?;
    Ok(())
}

fn id_of(value: &Option<Value>) -> Option<String> {
    match value.as_ref()? {
        Value::String(id) => Some(id.clone()),
        Value::Object(object) => object.get("id")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// The payment an event reports, or `None` when it names neither payer nor order.
fn payment(event: &StripeEvent) -> Result<Option<Payment>, ConnectorError> {
    let object: PaymentObject = serde_json::from_value(event.data.object.clone()).map_err(|e| {
        ConnectorError::BadRequest(format!(
            "{} `{}` is not a payment object: {e}",
            event.kind, event.id
        ))
    })?;
    let details = object.customer_details.as_ref().or(object.billing_details.as_ref());
    let email = details
        .and_then(|d| d.email.as_deref())
        .or(object.receipt_email.as_deref())
        .or(object.customer_email.as_deref())
        .unwrap_or("");
    // The payer's own details. The shipping block names whoever receives the goods (a gift's
    // recipient): it is not the payer and does not identify them.
    let phone = details.and_then(|d| d.phone.as_deref());
    let name = details.and_then(|d| d.name.as_deref());
    let mut contact =
        Contact::new().email(email).phone(phone.unwrap_or("")).name(name.unwrap_or(""));
    let customer = id_of(&object.customer);
    if let Some(customer) = &customer {
        contact = contact.external(CUSTOMER, customer);
    }
    let amount = match event.kind.as_str() {
        "payment_intent.succeeded" => object.amount_received.or(object.amount),
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            object.amount_total
        }
        _ => object.amount,
    }
    .ok_or_else(|| {
        ConnectorError::BadRequest(format!("{} `{}` has no amount", event.kind, event.id))
    })?;
    let provider_id = match event.kind.as_str() {
        "payment_intent.succeeded" => object.id.clone(),
        _ => id_of(&object.payment_intent).unwrap_or_else(|| object.id.clone()),
    };
    let mut payment = Payment::new(&provider_id, contact, Money::new(amount, &object.currency))
        .at(time::from_unix_seconds(event.created))
        .attr("stripe_event", &event.id);
    let reference = ["order_number", "order_id", "order"]
        .iter()
        .find_map(|key| object.metadata.get(*key))
        .or(object.client_reference_id.as_ref());
    match reference {
        Some(reference) => payment = payment.for_order(reference),
        // A guest Checkout's PaymentIntent names no one and no order: its Checkout Session's
        // event (same PaymentIntent, same provider id) carries both. (A refund is kept: it
        // amends the payment that event reported.)
        None if payment.contact.identifiers.is_empty()
            && event.kind == "payment_intent.succeeded" =>
        {
            log(
                switchboard_sdk::host::LogLevel::Info,
                &format!(
                    "{} `{}` names neither payer nor order; its Checkout Session will",
                    event.kind, event.id
                ),
            );
            return Ok(None);
        }
        None => {}
    }
    if let Some(refunded) = object.amount_refunded.filter(|r| *r > 0) {
        payment = payment.refunded(refunded);
    }
    let method = object
        .payment_method_details
        .as_ref()
        .and_then(|d| d.get("type"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| object.payment_method_types.first().cloned());
    if let Some(method) = method {
        payment = payment.attr("payment_method", &method);
    }
    if let Some(card) = object.payment_method_details.as_ref().and_then(|d| d.get("card")) {
        for key in ["brand", "last4"] {
            if let Some(value) = card.get(key).and_then(Value::as_str) {
                payment = payment.attr(&format!("card_{key}"), value);
            }
        }
    }
    if let Some(customer) = &customer {
        payment = payment.attr("stripe_customer", customer);
    }
    Ok(Some(payment))
}

impl Connector for Stripe {
    fn manifest() -> Manifest {
        Manifest::new("stripe", "0.2.0", "Stripe").channel("payments").namespace(CUSTOMER).webhook()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        verify(&request)?;
        let event: StripeEvent = request.json()?;
        let payment = match event.kind.as_str() {
            "payment_intent.succeeded" | "charge.refunded" => payment(&event)?,
            "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
                // An unpaid session (delayed payment methods) is paid later:
                // `checkout.session.async_payment_succeeded` then reports it.
                if event.data.object.get("payment_status").and_then(Value::as_str) == Some("paid") {
                    payment(&event)?
                } else {
                    None
                }
            }
            _ => None,
        };
        let events: Vec<Event> = payment.into_iter().map(Into::into).collect();
        Ok(WebhookOutcome::ok(events))
    }
}

export_connector!(Stripe);
