//! Bindings of `switchboard:connector@0.1.0` (`wit/v0.1.0/`) and their conversions.

#![allow(missing_docs)]

use crate::model;

/// The version of this module's contract.
pub const VERSION: &str = "0.1.0";

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
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

impl From<wit::Event> for model::Event {
    fn from(event: wit::Event) -> Self {
        match event {
            wit::Event::Contact(e) => model::Event::Contact(contact_update(e)),
            wit::Event::Interaction(i) => model::Event::Interaction(interaction(i)),
            // Payments travel as marked orders in this version (see `model::PAYMENT_FOR`).
            wit::Event::Order(o) => model::Payment::from_order(order(o)),
            wit::Event::Shipment(s) => model::Event::Shipment(shipment(s)),
            wit::Event::Consent(c) => model::Event::Consent(consent(c)),
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
                geocode: false,
            },
        }
    }
}
