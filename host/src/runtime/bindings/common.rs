// Conversions shared by every contract version: `include!`d into each version's module, where
// `wit`, `guest` and `model` name that version's generated types and the host's model. What
// differs between versions (events, manifests) stays in the version's own module.

use self::switchboard::connector::types as wit;
use exports::switchboard::connector::connector as guest;

pub use self::switchboard::connector::host::{Host, LogLevel};
pub use self::switchboard::connector::types::Host as TypesHost;
pub use self::switchboard::connector::types::{HttpRequest, OutboundMessage};

/// Adds the contract's own imports (`host`, `types`); WASI and `wasi:http` come from their
/// crates.
pub fn add_host_to_linker<T: Host + TypesHost + Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
) -> wasmtime::Result<()> {
    use wasmtime::component::HasSelf;
    self::switchboard::connector::types::add_to_linker::<T, HasSelf<T>>(linker, |state| state)?;
    self::switchboard::connector::host::add_to_linker::<T, HasSelf<T>>(linker, |state| state)
}

fn attributes(list: Vec<wit::Attribute>) -> Vec<model::Attribute> {
    list.into_iter().map(|a| model::Attribute { key: a.key, value: a.value }).collect()
}

fn wit_attributes(list: Vec<model::Attribute>) -> Vec<wit::Attribute> {
    list.into_iter().map(|a| wit::Attribute { key: a.key, value: a.value }).collect()
}

impl From<wit::Money> for model::Money {
    fn from(m: wit::Money) -> Self {
        model::Money { amount_minor: m.amount_minor, currency: m.currency }
    }
}

// The events every version shares; each version maps its own `event` variant onto these.

fn contact_update(e: wit::ContactUpdate) -> model::ContactUpdate {
    model::ContactUpdate {
        provider_id: e.provider_id,
        contact: e.contact.into(),
        occurred_at: e.occurred_at,
    }
}

fn interaction(i: wit::Interaction) -> model::Interaction {
    model::Interaction {
        provider_id: i.provider_id,
        kind: match i.kind {
            wit::InteractionKind::Message => model::InteractionKind::Message,
            wit::InteractionKind::Call => model::InteractionKind::Call,
            wit::InteractionKind::Review => model::InteractionKind::Review,
            wit::InteractionKind::CallbackRequest => {
                model::InteractionKind::CallbackRequest
            }
            wit::InteractionKind::Cart => model::InteractionKind::Cart,
            wit::InteractionKind::Wishlist => model::InteractionKind::Wishlist,
            wit::InteractionKind::PageView => model::InteractionKind::PageView,
        },
        direction: match i.direction {
            wit::Direction::Inbound => model::Direction::Inbound,
            wit::Direction::Outbound => model::Direction::Outbound,
        },
        contact: i.contact.into(),
        channel: i.channel,
        thread_id: i.thread_id,
        subject: i.subject,
        text: i.text,
        occurred_at: i.occurred_at,
        status: i.status,
        attachments: i
            .attachments
            .into_iter()
            .map(|a| model::Attachment {
                name: a.name,
                content_type: a.content_type,
                size_bytes: a.size_bytes,
                url: a.url,
            })
            .collect(),
        attributes: attributes(i.attributes),
    }
}

fn order_status(status: wit::OrderStatus) -> model::OrderStatus {
    match status {
        wit::OrderStatus::Pending => model::OrderStatus::Pending,
        wit::OrderStatus::Paid => model::OrderStatus::Paid,
        wit::OrderStatus::Processing => model::OrderStatus::Processing,
        wit::OrderStatus::Shipped => model::OrderStatus::Shipped,
        wit::OrderStatus::Delivered => model::OrderStatus::Delivered,
        wit::OrderStatus::Completed => model::OrderStatus::Completed,
        wit::OrderStatus::Cancelled => model::OrderStatus::Cancelled,
        wit::OrderStatus::Refunded => model::OrderStatus::Refunded,
        wit::OrderStatus::Returned => model::OrderStatus::Returned,
    }
}

fn order_lines(lines: Vec<wit::OrderLine>) -> Vec<model::OrderLine> {
    lines
        .into_iter()
        .map(|l| model::OrderLine {
            sku: l.sku,
            name: l.name,
            quantity: l.quantity,
            unit_price: l.unit_price.into(),
        })
        .collect()
}

fn shipment(s: wit::Shipment) -> model::Shipment {
    model::Shipment {
        provider_id: s.provider_id,
        order_provider_id: s.order_provider_id,
        contact: s.contact.map(Into::into),
        carrier: s.carrier,
        tracking_number: s.tracking_number,
        status: match s.status {
            wit::ShipmentStatus::LabelCreated => model::ShipmentStatus::LabelCreated,
            wit::ShipmentStatus::InTransit => model::ShipmentStatus::InTransit,
            wit::ShipmentStatus::OutForDelivery => model::ShipmentStatus::OutForDelivery,
            wit::ShipmentStatus::Delivered => model::ShipmentStatus::Delivered,
            wit::ShipmentStatus::FailedAttempt => model::ShipmentStatus::FailedAttempt,
            wit::ShipmentStatus::Returned => model::ShipmentStatus::Returned,
            wit::ShipmentStatus::Exception => model::ShipmentStatus::Exception,
        },
        eta: s.eta,
        occurred_at: s.occurred_at,
        attributes: attributes(s.attributes),
    }
}

fn consent(c: wit::Consent) -> model::Consent {
    model::Consent {
        provider_id: c.provider_id,
        contact: c.contact.into(),
        channel: c.channel,
        state: match c.state {
            wit::ConsentState::OptIn => model::ConsentState::OptIn,
            wit::ConsentState::OptOut => model::ConsentState::OptOut,
        },
        occurred_at: c.occurred_at,
        reason: c.reason,
    }
}

fn headers(list: Vec<wit::Header>) -> Vec<(String, String)> {
    list.into_iter().map(|h| (h.name, h.value)).collect()
}

impl From<guest::WebhookOutcome> for model::WebhookOutcome {
    fn from(o: guest::WebhookOutcome) -> Self {
        model::WebhookOutcome {
            response: model::HttpResponse {
                status: o.response.status,
                headers: headers(o.response.headers),
                body: o.response.body,
            },
            events: o.events.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<guest::PollOutcome> for model::PollOutcome {
    fn from(o: guest::PollOutcome) -> Self {
        model::PollOutcome {
            events: o.events.into_iter().map(Into::into).collect(),
            next_cursor: o.next_cursor,
        }
    }
}

impl From<model::OutboundMessage> for guest::OutboundMessage {
    fn from(m: model::OutboundMessage) -> Self {
        guest::OutboundMessage {
            to: m.to.into_iter().map(Into::into).collect(),
            subject: m.subject,
            text: m.text,
            thread_id: m.thread_id,
            in_reply_to: m.in_reply_to,
            references: m.references,
            attributes: wit_attributes(m.attributes),
        }
    }
}

impl From<guest::Receipt> for model::Receipt {
    fn from(r: guest::Receipt) -> Self {
        model::Receipt {
            provider_id: r.provider_id,
            thread_id: r.thread_id,
            status: r.status,
            sent_at: r.sent_at,
        }
    }
}

impl From<guest::ConnectorError> for model::ConnectorError {
    fn from(e: guest::ConnectorError) -> Self {
        match e {
            guest::ConnectorError::BadRequest(m) => model::ConnectorError::BadRequest(m),
            guest::ConnectorError::Unauthorized(m) => model::ConnectorError::Unauthorized(m),
            guest::ConnectorError::Transient(m) => model::ConnectorError::Transient(m),
            guest::ConnectorError::Config(m) => model::ConnectorError::Config(m),
            guest::ConnectorError::Unsupported(m) => model::ConnectorError::Unsupported(m),
        }
    }
}
