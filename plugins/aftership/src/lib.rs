//! AfterShip tracking webhooks → shipments.
//!
//! AfterShip signs the raw body: `aftership-hmac-sha256` = base64 HMAC-SHA256 under the webhook
//! secret (`webhook_secret`). Each `tracking_update` becomes a shipment event for the tracking
//! (provider id: AfterShip's tracking id, so later updates amend it), with carrier, tracking
//! number, status from the tag, the latest checkpoint's location and time, the estimated
//! delivery, and the order it belongs to (`order_id`, else `order_number`); the customer's
//! e-mail and phone (`emails`, `smses`) when AfterShip has them.
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
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    smses: Vec<String>,
    expected_delivery: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    checkpoints: Vec<Checkpoint>,
}

#[derive(Deserialize)]
struct Checkpoint {
    checkpoint_time: Option<String>,
    location: Option<String>,
    city: Option<String>,
    country_iso3: Option<String>,
    message: Option<String>,
}

fn status(tag: &str) -> Result<ShipmentStatus, ConnectorError> {
    Ok(match tag {
        "Pending" | "InfoReceived" => ShipmentStatus::LabelCreated,
        "InTransit" | "AvailableForPickup" => ShipmentStatus::InTransit,
        "OutForDelivery" => ShipmentStatus::OutForDelivery,
        "AttemptFail" => ShipmentStatus::FailedAttempt,
        "Delivered" => ShipmentStatus::Delivered,
        "Exception" | "Expired" => ShipmentStatus::Exception,
        other => {
            return Err(ConnectorError::BadRequest(format!("unknown AfterShip tag `{other}`")));
        }
    })
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
        Manifest::new("aftership", "0.1.0", "AfterShip").channel("shipping").webhook()
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
        let mut shipment = Shipment::new(&t.id, &t.slug, &t.tracking_number, status(&t.tag)?);
        if let Some(order) = t.order_id.as_deref().or(t.order_number.as_deref()) {
            shipment = shipment.for_order(order);
        }
        let mut contact = Contact::new().name(t.customer_name.as_deref().unwrap_or(""));
        for email in &t.emails {
            contact = contact.email(email);
        }
        for phone in &t.smses {
            contact = contact.phone(phone);
        }
        if !contact.identifiers.is_empty() {
            shipment = shipment.contact(contact);
        }
        if let Some(eta) = &t.expected_delivery {
            shipment = shipment.eta(timestamp(eta)?);
        }
        let latest = t.checkpoints.last();
        let at = match latest.and_then(|c| c.checkpoint_time.as_deref()).or(t.updated_at.as_deref())
        {
            Some(value) => timestamp(value)?,
            None => time::now_millis(),
        };
        shipment = shipment.at(at);
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
