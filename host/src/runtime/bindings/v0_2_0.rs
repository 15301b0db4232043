//! Bindings of `switchboard:connector@0.2.0` (`wit/v0.2.0/`) and their conversions.

#![allow(missing_docs)]

use crate::model;

/// The version of this module's contract.
pub const VERSION: &str = "0.2.0";

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
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
include!("before_v0_3.rs");
include!("since_v0_2.rs");

pub use self::switchboard::connector::types::Address;

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
            // Contracts before 0.3.0 declare no namespaces: such a connector owns those
            // named after its manifest id (`legacy:…` for a connector `legacy`).
            namespaces: vec![format!("{}:*", m.id)],
            id: m.id,
            version: m.version,
            display_name: m.display_name,
            channels: m.channels,
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
        }
    }
}
