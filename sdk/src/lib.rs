//! Write Switchboard connectors.
//!
//! A connector is a WebAssembly component that turns one channel's traffic (webhooks, polled
//! APIs) into normalized contacts, interactions, orders, shipments and consents. Implement
//! [`Connector`], export it with [`export_connector!`], and build for `wasm32-wasip2`:
//!
//! ```ignore
//! use switchboard_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Connector for Hello {
//!     fn manifest() -> Manifest {
//!         Manifest::new("hello", "0.1.0", "Hello").channel("web").webhook()
//!     }
//!     fn handle_webhook(req: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
//!         let form = req.form()?;
//!         let contact = Contact::new().email(form.require("email")?);
//!         let hello = Interaction::message("web", form.require("id")?, contact).text("hi");
//!         Ok(WebhookOutcome::ok([hello]))
//!     }
//! }
//!
//! export_connector!(Hello);
//! ```
//!
//! The contract is the WIT package `switchboard:connector@0.3.0`, shipped inside this crate
//! (`wit/`, the same files as `wit/v0.3.0/` of the repository); this crate generates its
//! bindings privately and re-exports a curated API.
#![deny(missing_docs)]

mod builders;
pub mod form;
pub mod geo;
pub mod host;
pub mod http;
#[cfg(not(target_arch = "wasm32"))]
mod native;
pub mod signature;
#[cfg(all(any(test, feature = "testing"), not(target_arch = "wasm32")))]
pub mod testing;
pub mod time;

/// Generated bindings of the `plugin` world. Private: the public API re-exports what a
/// connector author needs, so a regenerated binding never breaks connectors by accident.
#[doc(hidden)]
pub mod wit {
    #![allow(missing_docs)]
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
        pub_export_macro: true,
        additional_derives: [PartialEq],
        default_bindings_module: "switchboard_sdk::__private::wit",
        with: {
            "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
            "wasi:http/types@0.2.12": wasip2::http::types,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        },
    });
}

pub use form::Form;
/// Who a connector is: id, version, display name, channels and capabilities.
pub use wit::switchboard::connector::types::ConnectorManifest as Manifest;
pub use wit::switchboard::connector::types::{
    Address, Attachment, Attribute, Capabilities, ConnectorError, Consent, ConsentState, Contact,
    ContactPoint, ContactUpdate, Direction, Event, ExternalId, GeoPoint, Header, HttpRequest,
    HttpResponse, Identifier, Interaction, InteractionKind, Money, Order, OrderLine, OrderStatus,
    OutboundMessage, Payment, PaymentStatus, PhoneFormat, PhoneNumber, PollOutcome, Provenance,
    Receipt, Shipment, ShipmentStatus, Timestamp, WebhookOutcome,
};

/// Standard base64 (with padding), e.g. for HTTP basic authentication.
pub fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes base64 in any of the usual spellings: standard or URL-safe alphabet, padded or not
/// (Pub/Sub message data, JWT parts, basic-auth headers). `None` if it is not base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

/// The version of the WIT contract this SDK builds connectors for.
pub const WIT_VERSION: &str = "0.3.0";

/// A connector: one channel's traffic in, normalized events out.
///
/// Only [`manifest`](Connector::manifest) is required; the other methods answer
/// [`ConnectorError::Unsupported`] unless implemented, and the manifest's capabilities should say
/// which ones are.
pub trait Connector {
    /// Who the connector is. Called once when the host loads the component.
    fn manifest() -> Manifest;

    /// Handles one webhook call from the provider.
    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let _ = request;
        Err(ConnectorError::Unsupported("this connector does not receive webhooks".into()))
    }

    /// Fetches what is new since `cursor`.
    fn poll(cursor: Option<String>) -> Result<PollOutcome, ConnectorError> {
        let _ = cursor;
        Err(ConnectorError::Unsupported("this connector does not poll".into()))
    }

    /// Sends a message to a customer.
    fn send(message: OutboundMessage) -> Result<Receipt, ConnectorError> {
        let _ = message;
        Err(ConnectorError::Unsupported("this connector does not send messages".into()))
    }

    /// Places an address (latitude, longitude); `None` when no such place is known.
    fn geocode(address: Address) -> Result<Option<GeoPoint>, ConnectorError> {
        let _ = address;
        Err(ConnectorError::Unsupported("this connector does not geocode".into()))
    }
}

/// Exports a [`Connector`] implementation as the component's `connector` interface.
///
/// Use it once per connector crate, at the crate root: `export_connector!(MyConnector);`.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        const _: () = {
            struct __SwitchboardGuest;

            impl $crate::__private::Guest for __SwitchboardGuest {
                fn manifest() -> $crate::Manifest {
                    <$connector as $crate::Connector>::manifest()
                }

                fn handle_webhook(
                    request: $crate::HttpRequest,
                ) -> ::core::result::Result<$crate::WebhookOutcome, $crate::ConnectorError>
                {
                    <$connector as $crate::Connector>::handle_webhook(request)
                        .and_then($crate::__private::check_webhook)
                }

                fn poll(
                    cursor: ::core::option::Option<::std::string::String>,
                ) -> ::core::result::Result<$crate::PollOutcome, $crate::ConnectorError> {
                    <$connector as $crate::Connector>::poll(cursor)
                }

                fn send(
                    message: $crate::OutboundMessage,
                ) -> ::core::result::Result<$crate::Receipt, $crate::ConnectorError> {
                    <$connector as $crate::Connector>::send(message)
                }

                fn geocode(
                    address: $crate::Address,
                ) -> ::core::result::Result<
                    ::core::option::Option<$crate::GeoPoint>,
                    $crate::ConnectorError,
                > {
                    <$connector as $crate::Connector>::geocode(address)
                }
            }

            // Exported from the component only: a native build (`cargo test`) calls the
            // connector's functions directly, with the SDK's mock host.
            #[cfg(target_arch = "wasm32")]
    $crate::__export_plugin_impl!(__SwitchboardGuest with_types_in $crate::__private::wit);
        };
        // Natively nothing exports the connector; naming its functions here keeps them (and
        // what they use) from reading as dead code.
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            let _ = <$connector as $crate::Connector>::manifest as fn() -> $crate::Manifest;
            let _ = <$connector as $crate::Connector>::handle_webhook
                as fn(
                    $crate::HttpRequest,
                )
                    -> ::core::result::Result<$crate::WebhookOutcome, $crate::ConnectorError>;
            let _ = <$connector as $crate::Connector>::poll
                as fn(
                    ::core::option::Option<::std::string::String>,
                )
                    -> ::core::result::Result<$crate::PollOutcome, $crate::ConnectorError>;
            let _ = <$connector as $crate::Connector>::send
                as fn(
                    $crate::OutboundMessage,
                ) -> ::core::result::Result<$crate::Receipt, $crate::ConnectorError>;
            let _ = <$connector as $crate::Connector>::geocode
                as fn(
                    $crate::Address,
                ) -> ::core::result::Result<
                    ::core::option::Option<$crate::GeoPoint>,
                    $crate::ConnectorError,
                >;
        };
    };
}

/// Not public API: used by [`export_connector!`].
#[doc(hidden)]
pub mod __private {
    pub use crate::wit;
    pub use crate::wit::exports::switchboard::connector::connector::Guest;
    use crate::{ConnectorError, Event, WebhookOutcome};

    /// Refuses, as the bad request it is, a webhook whose events lack the provider's id (a
    /// payload with `"id": ""`): the host could not recognise its redelivery, and would keep
    /// it as a dead letter that no replay can fix.
    pub fn check_webhook(outcome: WebhookOutcome) -> Result<WebhookOutcome, ConnectorError> {
        for event in &outcome.events {
            let (what, id) = match event {
                Event::Contact(e) => ("contact", &e.provider_id),
                Event::Interaction(e) => ("interaction", &e.provider_id),
                Event::Order(e) => ("order", &e.provider_id),
                Event::Payment(e) => ("payment", &e.provider_id),
                Event::Shipment(e) => ("shipment", &e.provider_id),
                Event::Consent(e) => ("consent", &e.provider_id),
            };
            if id.trim().is_empty() {
                return Err(ConnectorError::BadRequest(format!(
                    "the request's {what} has an empty id; the provider's id is required"
                )));
            }
        }
        Ok(outcome)
    }
}

/// The serde the SDK builds with, for connectors that parse provider JSON without a serde
/// dependency of their own: `#[derive(Deserialize)] #[serde(crate = "switchboard_sdk::serde")]`.
pub use serde;
/// serde_json, likewise.
pub use serde_json;

/// Everything a typical connector uses, in one import.
pub mod prelude {
    pub use crate::host::{config, config_or, log, require_config};
    pub use crate::{
        Address, Attachment, Attribute, Capabilities, Connector, ConnectorError, Consent,
        ConsentState, Contact, ContactPoint, ContactUpdate, Direction, Event, ExternalId, Form,
        GeoPoint, Header, HttpRequest, HttpResponse, Identifier, Interaction, InteractionKind,
        Manifest, Money, Order, OrderLine, OrderStatus, OutboundMessage, Payment, PaymentStatus,
        PhoneFormat, PhoneNumber, PollOutcome, Provenance, Receipt, Shipment, ShipmentStatus,
        WebhookOutcome, export_connector,
    };
    pub use crate::{Timestamp, http, signature, time};
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{Value, json};
}
