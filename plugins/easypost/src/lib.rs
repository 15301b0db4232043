//! EasyPost `tracker.updated` webhooks → shipments.
//!
//! EasyPost signs the raw body: `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256>` under the
//! webhook secret (`webhook_secret`), which EasyPost's own libraries normalize to Unicode NFKD
//! first (so a secret with, say, a ligature or a full-width letter verifies the same way here).
//! Events other than `tracker.created` / `tracker.updated` (batches, refunds, invoices…) are
//! acknowledged and ignored, so EasyPost does not retry them; a status this connector does not
//! know yet is kept as `carrier_status` on an in-transit shipment rather than refused. Events
//! from EasyPost's test mode are marked `easypost_mode = test`.
//!
//! There is no replay window: EasyPost signs only the body and retries a failed delivery for
//! days; a replayed body changes nothing, since the store recognises the same tracker state. The tracker becomes a shipment event (provider id: the
//! tracker id, so later updates amend it) with carrier, tracking code, status, estimated
//! delivery and the latest tracking detail's location and time. EasyPost knows no order: the
//! store links the shipment to an order through another report of the same tracking number.
use serde::Deserialize;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::{Algorithm, Encoding, verify};
use switchboard_sdk::time;
use unicode_normalization::UnicodeNormalization;

struct EasyPost;

#[derive(Deserialize)]
struct EventBody {
    description: String,
    /// `production` or `test`.
    mode: Option<String>,
    result: Value,
}

#[derive(Deserialize)]
struct Tracker {
    id: String,
    tracking_code: String,
    status: String,
    carrier: String,
    est_delivery_date: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    tracking_details: Vec<Detail>,
}

#[derive(Deserialize)]
struct Detail {
    message: Option<String>,
    datetime: Option<String>,
    tracking_location: Option<Location>,
}

#[derive(Deserialize)]
struct Location {
    city: Option<String>,
    state: Option<String>,
    country: Option<String>,
}

/// The shipment status for EasyPost's tracker status; `None` for one it does not document.
fn status(value: &str) -> Option<ShipmentStatus> {
    Some(match value {
        "unknown" | "pre_transit" => ShipmentStatus::LabelCreated,
        "in_transit" | "available_for_pickup" => ShipmentStatus::InTransit,
        "out_for_delivery" => ShipmentStatus::OutForDelivery,
        "delivered" => ShipmentStatus::Delivered,
        "return_to_sender" => ShipmentStatus::Returned,
        "failure" | "cancelled" | "error" => ShipmentStatus::Exception,
        _ => return None,
    })
}

impl Connector for EasyPost {
    fn manifest() -> Manifest {
        Manifest::new("easypost", "0.2.0", "EasyPost").channel("shipping").webhook()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let secret = require_config("webhook_secret")?;
        let signature = request
            .header("x-hmac-signature")
            .and_then(|s| s.strip_prefix("hmac-sha256-hex="))
            .ok_or_else(|| {
                ConnectorError::Unauthorized("missing X-Hmac-Signature: hmac-sha256-hex=…".into())
            })?;
        let secret: String = secret.nfkd().collect();
        verify(Algorithm::Sha256, secret.as_bytes(), &request.body, signature, Encoding::Hex)?;
        let event: EventBody = request.json()?;
        if event.description != "tracker.updated" && event.description != "tracker.created" {
            return Ok(WebhookOutcome::ok(Vec::<Event>::new()));
        }
        let t: Tracker = serde_json::from_value(event.result).map_err(|e| {
            ConnectorError::BadRequest(format!(
                "{} `result` is not a Tracker: {e}",
                event.description
            ))
        })?;
        let known = status(&t.status);
        let mut shipment = Shipment::new(
            &t.id,
            &t.carrier,
            &t.tracking_code,
            known.unwrap_or(ShipmentStatus::InTransit),
        );
        if known.is_none() {
            shipment
                .attributes
                .push(Attribute { key: "carrier_status".into(), value: t.status.clone() });
        }
        if let Some(eta) = &t.est_delivery_date {
            shipment = shipment.eta(time::parse_rfc3339(eta)?);
        }
        let latest = t.tracking_details.last();
        let at = match latest.and_then(|d| d.datetime.as_deref()).or(t.updated_at.as_deref()) {
            Some(value) => time::parse_rfc3339(value)?,
            None => time::now_millis(),
        };
        shipment = shipment.at(at);
        if let Some(detail) = latest {
            if let Some(location) = &detail.tracking_location {
                let place: Vec<&str> = [
                    location.city.as_deref(),
                    location.state.as_deref(),
                    location.country.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect();
                if !place.is_empty() {
                    shipment.attributes.push(Attribute {
                        key: "checkpoint_location".into(),
                        value: place.join(", "),
                    });
                }
            }
            if let Some(message) = &detail.message {
                shipment
                    .attributes
                    .push(Attribute { key: "checkpoint_message".into(), value: message.clone() });
            }
        }
        if event.mode.as_deref() == Some("test") {
            shipment = shipment.attr("easypost_mode", "test");
        }
        Ok(WebhookOutcome::ok([shipment]))
    }
}

export_connector!(EasyPost);
