//! AfterShip tracking webhooks → shipments.
//!
//! AfterShip signs the raw body: `aftership-hmac-sha256` = base64 HMAC-SHA256 under the webhook
//! secret (`webhook_secret`). Each `tracking_update` becomes a shipment event for the tracking
//! (provider id: AfterShip's tracking id, so later updates amend it), with carrier, tracking
//! number, status from the tag, the latest checkpoint's location and time, the estimated
//! delivery, and the order it belongs to (`order_id`, else `order_number`); one person's e-mail
//! and phone when AfterShip has them: the `buyer` of `customers[]` (never the `receiver`), or the
//! first notification e-mail, with the SMS number only when there is one of each.
//!
//! Field names differ between API versions and are read either way: `emails`, `smses` and
//! `customer_name` (up to 2024-10) or `customers[]` with `name`, `email`, `phone_number`
//! (2025-01 on); `expected_delivery` or `latest_estimated_delivery.datetime` /
//! `courier_estimated_delivery_date.estimated_delivery_date`. The shipment is ordered by the
//! tracking's `updated_at` (it carries an offset), while checkpoint times — local to the
//! checkpoint and often without an offset — are kept as `checkpoint_time`. A tag this connector
//! does not know is kept as `aftership_tag` on an in-transit shipment rather than refused, so a
//! new tag never makes AfterShip retry.
//!
//! There is no replay window: AfterShip signs only the body and redelivers a failed webhook for
//! days, so an age limit would refuse its own retries; a replayed body changes nothing, since the
//! store recognises the same state of the same tracking.
use serde::Deserialize;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::{Algorithm, Encoding, verify};
use switchboard_sdk::time;

struct AfterShip;

#[derive(Deserialize)]
struct Webhook {
    event: String,
    msg: Tracking,
}

#[derive(Deserialize)]
struct Tracking {
    id: String,
    tracking_number: String,
    slug: String,
    tag: String,
    order_id: Option<String>,
    order_number: Option<String>,
    customer_name: Option<String>,
    emails: Option<Vec<String>>,
    smses: Option<Vec<String>>,
    customers: Option<Vec<Customer>>,
    expected_delivery: Option<String>,
    latest_estimated_delivery: Option<Value>,
    courier_estimated_delivery_date: Option<Value>,
    updated_at: Option<String>,
    checkpoints: Option<Vec<Checkpoint>>,
}

#[derive(Deserialize)]
struct Customer {
    /// `buyer` or `receiver` (2025-01).
    role: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
}

#[derive(Deserialize)]
struct Checkpoint {
    checkpoint_time: Option<String>,
    location: Option<String>,
    city: Option<String>,
    country_iso3: Option<String>,
    message: Option<String>,
}

/// The shipment status for an AfterShip tag; `None` for one it does not document.
fn status(tag: &str) -> Option<ShipmentStatus> {
    Some(match tag {
        "Pending" | "InfoReceived" => ShipmentStatus::LabelCreated,
        "InTransit" | "AvailableForPickup" => ShipmentStatus::InTransit,
        "OutForDelivery" => ShipmentStatus::OutForDelivery,
        "AttemptFail" => ShipmentStatus::FailedAttempt,
        "Delivered" => ShipmentStatus::Delivered,
        "Exception" | "Expired" => ShipmentStatus::Exception,
        _ => return None,
    })
}

/// The estimated delivery, under whichever name this API version gives it.
fn eta(t: &Tracking) -> Option<&str> {
    fn nested<'a>(value: &'a Option<Value>, key: &str) -> Option<&'a str> {
        value.as_ref().and_then(|v| v.get(key)).and_then(Value::as_str)
    }
    t.expected_delivery
        .as_deref()
        .or_else(|| nested(&t.latest_estimated_delivery, "datetime"))
        .or_else(|| nested(&t.latest_estimated_delivery, "datetime_max"))
        .or_else(|| nested(&t.courier_estimated_delivery_date, "estimated_delivery_date"))
        .filter(|v| !v.trim().is_empty())
}

/// AfterShip times are ISO 8601, with or without an offset (then local to the checkpoint; taken
/// as UTC), or a bare date for expected deliveries.
fn timestamp(value: &str) -> Result<i64, ConnectorError> {
    time::parse_rfc3339(value)
        .or_else(|_| time::parse_rfc3339(&format!("{value}Z")))
        .or_else(|_| time::parse_rfc3339(&format!("{value}T00:00:00Z")))
}

impl Connector for AfterShip {
    fn manifest() -> Manifest {
        Manifest::new("aftership", "0.2.0", "AfterShip").channel("shipping").webhook()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let secret = require_config("webhook_secret")?;
        let signature = request
            .header("aftership-hmac-sha256")
            .ok_or_else(|| ConnectorError::Unauthorized("missing aftership-hmac-sha256".into()))?;
        verify(Algorithm::Sha256, secret.as_bytes(), &request.body, signature, Encoding::Base64)?;
        let webhook: Webhook = request.json()?;
        if webhook.event != "tracking_update" {
            return Ok(WebhookOutcome::ok(Vec::<Event>::new()));
        }
        let t = webhook.msg;
        let status = status(&t.tag).unwrap_or(ShipmentStatus::InTransit);
        let mut shipment = Shipment::new(&t.id, &t.slug, &t.tracking_number, status);
        if let Some(order) = t.order_id.as_deref().or(t.order_number.as_deref()) {
            shipment = shipment.for_order(order);
        }
        if let (Some(_), Some(number)) = (&t.order_id, &t.order_number) {
            shipment = shipment.attr("order_number", number);
        }
        // One person's details: the buyer among `customers` (the receiver of a gift is someone
        // else), or the notification e-mail and SMS of the older fields when they name one
        // address each. The host uses them only when it knows no order for the parcel.
        let customers = t.customers.as_deref().unwrap_or_default();
        let buyer = customers
            .iter()
            .find(|c| c.role.as_deref() == Some("buyer"))
            .or_else(|| customers.iter().find(|c| c.role.is_none()));
        let mut contact = Contact::new();
        if let Some(buyer) = buyer {
            contact = contact
                .name(buyer.name.as_deref().unwrap_or(""))
                .email(buyer.email.as_deref().unwrap_or(""))
                .phone(buyer.phone_number.as_deref().unwrap_or(""));
        } else {
            let emails = t.emails.as_deref().unwrap_or_default();
            let smses = t.smses.as_deref().unwrap_or_default();
            contact = contact.name(t.customer_name.as_deref().unwrap_or(""));
            if let Some(email) = emails.first() {
                contact = contact.email(email);
            }
            if smses.len() == 1 && emails.len() <= 1 {
                contact = contact.phone(&smses[0]);
            }
        }
        if !contact.identifiers.is_empty() {
            shipment = shipment.contact(contact);
        }
        if let Some(eta) = eta(&t) {
            shipment = shipment.eta(timestamp(eta)?);
        }
        let latest = t.checkpoints.as_deref().unwrap_or_default().last();
        let checkpoint_time = latest.and_then(|c| c.checkpoint_time.as_deref());
        let at = match t.updated_at.as_deref().or(checkpoint_time) {
            Some(value) => timestamp(value)?,
            None => time::now_millis(),
        };
        shipment = shipment.at(at);
        if let Some(value) = checkpoint_time {
            shipment = shipment.attr("checkpoint_time", value);
        }
        if let Some(checkpoint) = latest {
            let place = checkpoint.location.clone().or_else(|| {
                let parts: Vec<&str> =
                    [checkpoint.city.as_deref(), checkpoint.country_iso3.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            });
            if let Some(place) = place {
                shipment
                    .attributes
                    .push(Attribute { key: "checkpoint_location".into(), value: place });
            }
            if let Some(message) = &checkpoint.message {
                shipment
                    .attributes
                    .push(Attribute { key: "checkpoint_message".into(), value: message.clone() });
            }
        }
        shipment.attributes.push(Attribute { key: "aftership_tag".into(), value: t.tag.clone() });
        Ok(WebhookOutcome::ok([shipment]))
    }
}

export_connector!(AfterShip);
