//! Bindings of `switchboard:connector@0.3.0` (`wit/v0.3.0/`) and their conversions.

#![allow(missing_docs)]

use crate::model;

/// The version of this module's contract.
pub const VERSION: &str = "0.3.0";

wasmtime::component::bindgen!({
    path: "../wit/v0.3.0",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    require_store_data_send: true,
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
});

include!("common.rs");
include!("since_v0_2.rs");

pub use self::switchboard::connector::host::HostError;
pub use self::switchboard::connector::types::Address;

impl From<wit::Identifier> for model::Identifier {
    fn from(value: wit::Identifier) -> Self {
        match value {
            wit::Identifier::Email(value) => model::Identifier::Email { value },
            wit::Identifier::Phone(phone) => model::Identifier::Phone {
                value: match phone.format {
                    wit::PhoneFormat::AsWritten => phone.number,
                    // The connector says the number is international: it is read as such,
                    // never in the host's default region.
                    wit::PhoneFormat::International => international(&phone.number),
                },
            },
            wit::Identifier::External(id) => {
                model::Identifier::External { namespace: id.namespace, value: id.value }
            }
        }
    }
}

/// `4915112345678`, `+49 151 1234 5678` or `0049…` written as `+4915112345678`; anything that
/// is not digits (and the usual separators) is left for the normalizer to refuse.
fn international(number: &str) -> String {
    let trimmed = number.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let separators_only = trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
    if !separators_only || digits.is_empty() {
        return trimmed.to_string();
    }
    let digits = digits.strip_prefix("00").unwrap_or(&digits);
    format!("+{digits}")
}

impl From<model::Identifier> for wit::Identifier {
    fn from(value: model::Identifier) -> Self {
        match value {
            model::Identifier::Email { value } => wit::Identifier::Email(value),
            // The host gives phones in E.164, `+` included.
            model::Identifier::Phone { value } => wit::Identifier::Phone(wit::PhoneNumber {
                number: value,
                format: wit::PhoneFormat::AsWritten,
            }),
            model::Identifier::External { namespace, value } => {
                wit::Identifier::External(wit::ExternalId { namespace, value })
            }
        }
    }
}

impl From<wit::Provenance> for model::Provenance {
    fn from(p: wit::Provenance) -> Self {
        match p {
            wit::Provenance::Verified => model::Provenance::Verified,
            wit::Provenance::Declared => model::Provenance::Declared,
            wit::Provenance::Mentioned => model::Provenance::Mentioned,
        }
    }
}

impl From<wit::Contact> for model::Contact {
    fn from(c: wit::Contact) -> Self {
        model::Contact {
            identifiers: c
                .identifiers
                .into_iter()
                .map(|point| model::ContactPoint {
                    identifier: point.identifier.into(),
                    provenance: point.provenance.into(),
                })
                .collect(),
            display_name: c.display_name,
            given_name: c.given_name,
            family_name: c.family_name,
            locale: c.locale,
            attributes: attributes(c.attributes),
        }
    }
}

fn address(a: wit::Address) -> model::Address {
    model::Address {
        name: a.name,
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        region: a.region,
        postal_code: a.postal_code,
        country: a.country,
        phone: a.phone,
        email: a.email,
    }
}

fn order(o: wit::Order) -> model::Order {
    model::Order {
        provider_id: o.provider_id,
        contact: o.contact.into(),
        number: o.number,
        status: order_status(o.status),
        lines: order_lines(o.lines),
        total: o.total.into(),
        placed_at: o.placed_at,
        updated_at: o.updated_at,
        delivery_address: o.delivery_address.map(address),
        billing_address: o.billing_address.map(address),
        attributes: attributes(o.attributes),
    }
}

impl From<model::HttpRequest> for wit::HttpRequest {
    fn from(r: model::HttpRequest) -> Self {
        wit::HttpRequest {
            method: r.method,
            url: r.url,
            route: r.route,
            headers: r
                .headers
                .into_iter()
                .map(|(name, value)| wit::Header { name, value })
                .collect(),
            body: r.body,
            received_at: r.received_at,
        }
    }
}

impl From<wit::Event> for model::Event {
    fn from(event: wit::Event) -> Self {
        match event {
            wit::Event::Contact(e) => model::Event::Contact(contact_update(e)),
            wit::Event::Interaction(i) => model::Event::Interaction(interaction(i)),
            wit::Event::Order(o) => model::Event::Order(order(o)),
            wit::Event::Shipment(s) => model::Event::Shipment(shipment(s)),
            wit::Event::Consent(c) => model::Event::Consent(consent(c)),
            wit::Event::Payment(p) => model::Event::Payment(payment(p)),
        }
    }
}

impl From<guest::ConnectorManifest> for model::Manifest {
    fn from(m: guest::ConnectorManifest) -> Self {
        model::Manifest {
            id: m.id,
            version: m.version,
            display_name: m.display_name,
            channels: m.channels,
            namespaces: m.namespaces,
            capabilities: model::Capabilities {
                webhook: m.capabilities.contains(wit::Capabilities::WEBHOOK),
                poll: m.capabilities.contains(wit::Capabilities::POLL),
                send: m.capabilities.contains(wit::Capabilities::SEND),
                geocode: m.capabilities.contains(wit::Capabilities::GEOCODE),
            },
        }
    }
}

impl From<model::Address> for wit::Address {
    fn from(a: model::Address) -> Self {
        wit::Address {
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
            email: a.email,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::international;

    #[test]
    fn international_numbers_get_their_plus() {
        assert_eq!(international("4915112345678"), "+4915112345678");
        assert_eq!(international("+49 151 1234 5678"), "+4915112345678");
        assert_eq!(international("0044 7400 123456"), "+447400123456");
        assert_eq!(international("call me"), "call me");
    }
}
