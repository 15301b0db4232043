//! A connector built against contract 0.1.0 with plain `wit-bindgen`, as third parties built
//! them before 0.2.0: the host must keep loading and calling it, and read a payment it sends
//! the 0.1.0 way (an order marked `switchboard.payment-for`) as a payment.
wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "plugin",
    generate_all,
});

use exports::switchboard::connector::connector::{
    ConnectorError, ConnectorManifest, Guest, HttpRequest, OutboundMessage, PollOutcome, Receipt,
    WebhookOutcome,
};
use switchboard::connector::types::{
    Attribute, Capabilities, Contact, Event, HttpResponse, Identifier, Money, Order, OrderStatus,
};

struct Legacy;

fn attribute(key: &str, value: &str) -> Attribute {
    Attribute { key: key.into(), value: value.into() }
}

impl Guest for Legacy {
    fn manifest() -> ConnectorManifest {
        ConnectorManifest {
            id: "legacy".into(),
            version: "0.9.0".into(),
            display_name: "Built for 0.1.0".into(),
            channels: vec!["payments".into()],
            capabilities: Capabilities::WEBHOOK,
        }
    }

    fn handle_webhook(_request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let contact = Contact {
            identifiers: vec![Identifier::Email("ann.lee@example.com".into())],
            display_name: None,
            given_name: None,
            family_name: None,
            locale: None,
            attributes: vec![],
        };
        let payment = Order {
            provider_id: "pay-1".into(),
            contact,
            number: None,
            status: OrderStatus::Refunded,
            lines: vec![],
            total: Money { amount_minor: 2598, currency: "EUR".into() },
            placed_at: 1_795_511_712_000,
            updated_at: 1_795_600_000_000,
            delivery_address: None,
            attributes: vec![
                attribute("switchboard.payment-for", "#1001"),
                attribute("switchboard.refunded-minor", "1299"),
                attribute("payment_method", "card"),
            ],
        };
        Ok(WebhookOutcome {
            response: HttpResponse { status: 200, headers: vec![], body: b"ok".to_vec() },
            events: vec![Event::Order(payment)],
        })
    }

    fn poll(_cursor: Option<String>) -> Result<PollOutcome, ConnectorError> {
        Err(ConnectorError::Unsupported("no poll".into()))
    }

    fn send(_message: OutboundMessage) -> Result<Receipt, ConnectorError> {
        Err(ConnectorError::Unsupported("no send".into()))
    }
}

export!(Legacy);
