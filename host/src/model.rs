//! The host's own types for what connectors report and receive.
//!
//! Generated WIT bindings exist once per contract version (`runtime::bindings`); everything past
//! the runtime — router, store, API — works on these types, so supporting a new WIT version
//! means one more conversion, not a change everywhere.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC (the contract's `timestamp`).
pub type Timestamp = i64;

/// Something that identifies a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Identifier {
    /// An e-mail address as received.
    Email {
        /// The address.
        value: String,
    },
    /// A phone number as received.
    Phone {
        /// The number.
        value: String,
    },
    /// An id in a channel's namespace, e.g. `telegram:user`.
    External {
        /// Who issued it, e.g. `telegram:user`.
        namespace: String,
        /// The id.
        value: String,
    },
}

/// How a connector knows that an identifier is the person's (contract 0.3.0; identifiers from
/// older connectors are taken as [`Provenance::Declared`], their external ids as verified).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// The provider vouches for it: where a message or call came from, a messenger account id.
    /// Only verified identifiers are sent to.
    Verified,
    /// The person gave it, unconfirmed (a checkout form).
    #[default]
    Declared,
    /// Found in what the person wrote (a signature line).
    Mentioned,
}

impl Provenance {
    /// The name stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Verified => "verified",
            Provenance::Declared => "declared",
            Provenance::Mentioned => "mentioned",
        }
    }

    /// Parses a stored name; anything unknown is the cautious `declared`.
    pub fn parse(value: &str) -> Self {
        match value {
            "verified" => Provenance::Verified,
            "mentioned" => Provenance::Mentioned,
            _ => Provenance::Declared,
        }
    }
}

/// One identifier of a contact, with how the connector knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactPoint {
    /// The identifier.
    #[serde(flatten)]
    pub identifier: Identifier,
    /// How the connector knows it is the person's.
    #[serde(default)]
    pub provenance: Provenance,
}

impl Identifier {
    /// An e-mail address as received.
    pub fn email(value: impl Into<String>) -> Self {
        Identifier::Email { value: value.into() }
    }

    /// A phone number as received.
    pub fn phone(value: impl Into<String>) -> Self {
        Identifier::Phone { value: value.into() }
    }

    /// An id in a namespace, e.g. `("telegram:user", "42")`.
    pub fn external(namespace: impl Into<String>, value: impl Into<String>) -> Self {
        Identifier::External { namespace: namespace.into(), value: value.into() }
    }

    /// This identifier as the provider vouches for it.
    pub fn verified(self) -> ContactPoint {
        ContactPoint { identifier: self, provenance: Provenance::Verified }
    }

    /// This identifier as the person gave it.
    pub fn declared(self) -> ContactPoint {
        ContactPoint { identifier: self, provenance: Provenance::Declared }
    }

    /// This identifier as found in what the person wrote.
    pub fn mentioned(self) -> ContactPoint {
        ContactPoint { identifier: self, provenance: Provenance::Mentioned }
    }
}

impl From<Identifier> for ContactPoint {
    /// An identifier of unknown provenance: declared, but an external id is the provider's own.
    fn from(identifier: Identifier) -> Self {
        let provenance = match identifier {
            Identifier::External { .. } => Provenance::Verified,
            _ => Provenance::Declared,
        };
        ContactPoint { identifier, provenance }
    }
}

/// A free-form key/value pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// A person as one channel knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Every identifier the channel gave, with how it knows each.
    pub identifiers: Vec<ContactPoint>,
    /// Full name as shown by the channel.
    pub display_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// BCP 47 language tag.
    pub locale: Option<String>,
    /// Anything else.
    pub attributes: Vec<Attribute>,
}

/// A contact seen or updated without an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactUpdate {
    /// The provider's id of this update.
    pub provider_id: String,
    /// The contact.
    pub contact: Contact,
    /// When it happened.
    pub occurred_at: Timestamp,
}

/// Who started an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the customer.
    Inbound,
    /// From the company.
    Outbound,
}

/// What kind of interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// A message (e-mail, SMS, chat).
    Message,
    /// A phone call.
    Call,
    /// A review.
    Review,
    /// A request to be called back.
    CallbackRequest,
    /// A shopping cart.
    Cart,
    /// A wishlist.
    Wishlist,
    /// A page view.
    PageView,
}

/// A file that came with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name.
    pub name: Option<String>,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Where the provider keeps it.
    pub url: Option<String>,
}

/// A message, call, review, callback request, cart, wishlist or page view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// The provider's own id.
    pub provider_id: String,
    /// What kind.
    pub kind: InteractionKind,
    /// Who started it.
    pub direction: Direction,
    /// Who the company talked with.
    pub contact: Contact,
    /// The medium, e.g. `sms`.
    pub channel: String,
    /// The conversation.
    pub thread_id: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Plain text.
    pub text: Option<String>,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// Provider status.
    pub status: Option<String>,
    /// Attachments (not their content).
    pub attachments: Vec<Attachment>,
    /// Anything else.
    pub attributes: Vec<Attribute>,
}

/// Money in the currency's minor unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Stock keeping unit.
    pub sku: Option<String>,
    /// Product name.
    pub name: String,
    /// Units.
    pub quantity: u32,
    /// Price of one unit.
    pub unit_price: Money,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum OrderStatus {
    Pending,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
    Refunded,
    Returned,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
#[serde(default)]
pub struct Address {
    pub name: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub phone: Option<String>,
    /// Whoever is at this address (contract 0.3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The provider's own id.
    pub provider_id: String,
    /// The buyer.
    pub contact: Contact,
    /// The number the customer sees.
    pub number: Option<String>,
    /// Status.
    pub status: OrderStatus,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Total.
    pub total: Money,
    /// When it was placed.
    pub placed_at: Timestamp,
    /// When this state was reached.
    pub updated_at: Timestamp,
    /// Delivery address: the recipient's name, phone and e-mail are theirs, not the buyer's.
    pub delivery_address: Option<Address>,
    /// Billing address (contract 0.3.0): the payer's details, kept on the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    /// Anything else.
    pub attributes: Vec<Attribute>,
}

/// Where a parcel stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ShipmentStatus {
    LabelCreated,
    InTransit,
    OutForDelivery,
    Delivered,
    FailedAttempt,
    Returned,
    Exception,
}

/// A parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// The provider's own id.
    pub provider_id: String,
    /// The order's provider id.
    pub order_provider_id: Option<String>,
    /// The recipient.
    pub contact: Option<Contact>,
    /// Carrier name.
    pub carrier: String,
    /// Tracking number.
    pub tracking_number: String,
    /// Status.
    pub status: ShipmentStatus,
    /// Estimated delivery.
    pub eta: Option<Timestamp>,
    /// When this status was reached.
    pub occurred_at: Timestamp,
    /// Anything else.
    pub attributes: Vec<Attribute>,
}

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum PaymentStatus {
    Succeeded,
    PartiallyRefunded,
    Refunded,
}

/// Money received for an order (or, when the processor knows no order, from a customer), and
/// what of it was refunded.
///
/// Contract 0.2.0 carries it as its own `payment` event. Contract 0.1.0 had none: a 0.1.0
/// connector reports a payment as an `order` event carrying the attribute [`PAYMENT_FOR`], and
/// the 0.1.0 bindings turn it into this type, so nothing past the runtime sees the convention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The processor's id, e.g. a Stripe PaymentIntent `pi_…`.
    pub provider_id: String,
    /// Who paid.
    pub contact: Contact,
    /// The order it pays, as the shop reports it (provider id or the number the customer sees).
    pub order_ref: Option<String>,
    /// Succeeded, or (partially) refunded.
    pub status: PaymentStatus,
    /// The amount received.
    pub amount: Money,
    /// Of which refunded, in the same currency's minor unit.
    pub refunded_minor: i64,
    /// When this state was reached.
    pub occurred_at: Timestamp,
    /// Anything else (payment method, processor's customer id…).
    pub attributes: Vec<Attribute>,
}

/// The order attribute that marks an `order` event of contract v0.1.0 as a payment; its value
/// is the paid order's reference, empty when the processor knows none.
pub const PAYMENT_FOR: &str = "switchboard.payment-for";
/// With [`PAYMENT_FOR`]: the amount refunded so far, in minor units.
pub const PAYMENT_REFUNDED_MINOR: &str = "switchboard.refunded-minor";

impl Payment {
    /// The event an order event of contract v0.1.0 stands for: a payment if it carries
    /// [`PAYMENT_FOR`], the order otherwise.
    pub fn from_order(mut order: Order) -> Event {
        let Some(at) = order.attributes.iter().position(|a| a.key == PAYMENT_FOR) else {
            return Event::Order(order);
        };
        let reference = order.attributes.remove(at).value;
        let refunded_minor = order
            .attributes
            .iter()
            .position(|a| a.key == PAYMENT_REFUNDED_MINOR)
            .map(|i| order.attributes.remove(i).value)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0)
            .clamp(0, order.total.amount_minor.max(0));
        let status = match order.status {
            OrderStatus::Refunded | OrderStatus::Returned if refunded_minor == 0 => {
                PaymentStatus::Refunded
            }
            _ if refunded_minor == 0 => PaymentStatus::Succeeded,
            _ if refunded_minor < order.total.amount_minor => PaymentStatus::PartiallyRefunded,
            _ => PaymentStatus::Refunded,
        };
        let refunded_minor = if status == PaymentStatus::Refunded && refunded_minor == 0 {
            order.total.amount_minor
        } else {
            refunded_minor
        };
        Event::Payment(Payment {
            provider_id: order.provider_id,
            contact: order.contact,
            order_ref: Some(reference.trim().to_string()).filter(|r| !r.is_empty()),
            status,
            amount: order.total,
            refunded_minor,
            occurred_at: order.updated_at,
            attributes: order.attributes,
        })
    }
}

/// A point on Earth (WGS 84), as a geocoder placed an address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
    /// How the geocoder names the place.
    pub display_name: Option<String>,
}

/// Opt-in or opt-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ConsentState {
    OptIn,
    OptOut,
}

/// A person's permission to be contacted on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// The provider's own id.
    pub provider_id: String,
    /// Who.
    pub contact: Contact,
    /// Which channel, e.g. `sms`.
    pub channel: String,
    /// Opt-in or opt-out.
    pub state: ConsentState,
    /// When.
    pub occurred_at: Timestamp,
    /// What the person did.
    pub reason: Option<String>,
}

/// Everything a connector can report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)]
// An order with two addresses is the largest event; events live in short `Vec`s that are
// built once per call, so boxing it would cost an allocation for no measurable gain.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    Contact(ContactUpdate),
    Interaction(Interaction),
    Order(Order),
    Shipment(Shipment),
    Consent(Consent),
    Payment(Payment),
}

impl Event {
    /// What kind of event it is: `contact`, `interaction`, `order`, `shipment`, `consent`,
    /// `payment`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Contact(_) => "contact",
            Event::Interaction(_) => "interaction",
            Event::Order(_) => "order",
            Event::Shipment(_) => "shipment",
            Event::Consent(_) => "consent",
            Event::Payment(_) => "payment",
        }
    }

    /// Whether it is an order with a delivery address (which the geocoder places).
    pub fn has_delivery_address(&self) -> bool {
        matches!(self, Event::Order(order) if order.delivery_address.is_some())
    }

    /// The contact it names (a shipment may name none).
    pub fn contact(&self) -> Option<&Contact> {
        match self {
            Event::Contact(e) => Some(&e.contact),
            Event::Interaction(e) => Some(&e.contact),
            Event::Order(e) => Some(&e.contact),
            Event::Consent(e) => Some(&e.contact),
            Event::Payment(e) => Some(&e.contact),
            Event::Shipment(e) => e.contact.as_ref(),
        }
    }

    /// The provider's id of the event: with the connector id, what makes a redelivery
    /// recognisable.
    pub fn provider_id(&self) -> &str {
        match self {
            Event::Contact(e) => &e.provider_id,
            Event::Interaction(e) => &e.provider_id,
            Event::Order(e) => &e.provider_id,
            Event::Shipment(e) => &e.provider_id,
            Event::Consent(e) => &e.provider_id,
            Event::Payment(e) => &e.provider_id,
        }
    }
}

/// A webhook call as the provider made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Upper case method.
    pub method: String,
    /// The full public URL the provider called.
    pub url: String,
    /// The path below `/hooks/{connector}`, `/` at the mount point.
    pub route: String,
    /// Headers in the order received.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
    /// When the host first received it (ms); a replay keeps it, and the connector's wall clock
    /// starts there. Requests kept before this field existed read as 0: the dead letter's own
    /// receipt time stands in.
    #[serde(default)]
    pub received_at: Timestamp,
}

/// What the host answers the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
}

/// The result of a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookOutcome {
    /// The answer for the provider.
    pub response: HttpResponse,
    /// What happened.
    pub events: Vec<Event>,
}

/// The result of a poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollOutcome {
    /// New events.
    pub events: Vec<Event>,
    /// Where to continue; `None` keeps the previous cursor.
    pub next_cursor: Option<String>,
}

/// A message an operator sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// Identifiers of the recipient.
    pub to: Vec<Identifier>,
    /// Subject.
    pub subject: Option<String>,
    /// Text.
    pub text: String,
    /// The conversation to continue.
    pub thread_id: Option<String>,
    /// The provider id of the message answered.
    pub in_reply_to: Option<String>,
    /// Earlier messages of the thread, oldest first.
    #[serde(default)]
    pub references: Vec<String>,
    /// Anything else.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

/// The provider's acknowledgement of a sent message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The provider's id of the message.
    pub provider_id: String,
    /// The conversation.
    pub thread_id: Option<String>,
    /// Provider status.
    pub status: Option<String>,
    /// When it was sent.
    pub sent_at: Timestamp,
}

/// What a connector can do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Receives webhooks.
    pub webhook: bool,
    /// Polls.
    pub poll: bool,
    /// Sends messages.
    pub send: bool,
    /// Places addresses (contract 0.2.0 and later).
    #[serde(default)]
    pub geocode: bool,
}

impl Capabilities {
    /// The names of the capabilities it has: `webhook`, `poll`, `send`.
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.webhook, "webhook"),
            (self.poll, "poll"),
            (self.send, "send"),
            (self.geocode, "geocode"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// Who a connector is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Lower case id, e.g. `telegram`.
    pub id: String,
    /// Semantic version.
    pub version: String,
    /// Name for people.
    pub display_name: String,
    /// Media handled.
    pub channels: Vec<String>,
    /// What it can do.
    pub capabilities: Capabilities,
    /// Namespaces of the external ids it issues (contract 0.3.0; an older connector owns the
    /// namespaces that start with its manifest id and a colon).
    #[serde(default)]
    pub namespaces: Vec<String>,
}

impl Manifest {
    /// Whether this connector issues ids in `namespace`. An entry `name:*` (how a connector
    /// built before contract 0.3.0 is read) owns every namespace `name:…`.
    pub fn owns_namespace(&self, namespace: &str) -> bool {
        self.namespaces.iter().any(|owned| match owned.strip_suffix('*') {
            Some(prefix) => namespace.starts_with(prefix) && namespace.len() > prefix.len(),
            None => owned == namespace,
        })
    }
}

/// An error a connector returned on purpose, saying whether to retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum ConnectorError {
    /// Malformed input; do not retry.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A signature or credential check failed.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Temporary; retry later.
    #[error("transient: {0}")]
    Transient(String),
    /// The connector's configuration is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Not something this connector does.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl ConnectorError {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ConnectorError::Transient(_))
    }

    /// The status the host answers a provider with when a webhook ends in this error.
    pub fn http_status(&self) -> u16 {
        match self {
            ConnectorError::BadRequest(_) => 400,
            ConnectorError::Unauthorized(_) => 401,
            ConnectorError::Unsupported(_) => 404,
            // The operator must fix the config; until then the provider should retry.
            ConnectorError::Config(_) => 500,
            ConnectorError::Transient(_) => 503,
        }
    }
}

/// Bodies serialize as text when they are UTF-8 (what people read in `plugin test` and dead
/// letters) and as `{"base64": …}` otherwise, so no byte is lost.
mod body_text {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Body {
        Text(String),
        Binary { base64: String },
    }

    pub fn serialize<S: Serializer>(body: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(body) {
            Ok(text) => Body::Text(text.to_string()),
            Err(_) => Body::Binary { base64: STANDARD.encode(body) },
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        match Body::deserialize(deserializer)? {
            Body::Text(text) => Ok(text.into_bytes()),
            Body::Binary { base64 } => STANDARD.decode(base64).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_bodies_survive_json() {
        let response = HttpResponse { status: 200, headers: vec![], body: vec![0xff, 0x00, 0x41] };
        let json = serde_json::to_string(&response).unwrap();
        assert!(json.contains("base64"), "{json}");
        assert_eq!(serde_json::from_str::<HttpResponse>(&json).unwrap(), response);
        let text = HttpResponse { status: 200, headers: vec![], body: b"<Response/>".to_vec() };
        assert!(serde_json::to_string(&text).unwrap().contains("\"<Response/>\""));
    }

    #[test]
    fn events_are_tagged_by_type() {
        let event = Event::Consent(Consent {
            provider_id: "k-1".into(),
            contact: Contact {
                identifiers: vec![Identifier::phone("+33612345678").verified()],
                display_name: None,
                given_name: None,
                family_name: None,
                locale: None,
                attributes: vec![],
            },
            channel: "sms".into(),
            state: ConsentState::OptOut,
            occurred_at: 0,
            reason: None,
        });
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "consent");
        assert_eq!(json["state"], "opt_out");
        assert_eq!(json["contact"]["identifiers"][0]["kind"], "phone");
        assert_eq!(json["contact"]["identifiers"][0]["provenance"], "verified");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert_eq!(event.provider_id(), "k-1");
    }
}
