//! Constructors and builder methods on the contract's types, so that a connector reads as what
//! it reports rather than as record literals.

use crate::form::{self, Form, FormError, Part};
use crate::time::now_millis;
use crate::{
    Address, Attachment, Attribute, Capabilities, ConnectorError, Consent, ConsentState, Contact,
    ContactPoint, ContactUpdate, Direction, Event, ExternalId, Header, HttpRequest, HttpResponse,
    Identifier, Interaction, InteractionKind, Manifest, Money, Order, OrderLine, OrderStatus,
    OutboundMessage, Payment, PaymentStatus, PhoneFormat, PhoneNumber, PollOutcome, Provenance,
    Receipt, Shipment, ShipmentStatus, Timestamp, WebhookOutcome,
};

impl Manifest {
    /// A manifest with no channels and no capabilities yet.
    pub fn new(id: &str, version: &str, display_name: &str) -> Self {
        Manifest {
            id: id.into(),
            version: version.into(),
            display_name: display_name.into(),
            channels: Vec::new(),
            capabilities: Capabilities::empty(),
            namespaces: Vec::new(),
        }
    }

    /// Declares a namespace of the external ids the connector issues, e.g. `telegram:user`:
    /// the host accepts ids in it only from connectors that declare it, and sends to them only
    /// through such a connector.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespaces.push(namespace.into());
        self
    }

    /// Adds a channel the connector handles, e.g. `sms`.
    pub fn channel(mut self, channel: &str) -> Self {
        self.channels.push(channel.into());
        self
    }

    /// Declares that the connector receives webhooks.
    pub fn webhook(mut self) -> Self {
        self.capabilities |= Capabilities::WEBHOOK;
        self
    }

    /// Declares that the connector polls.
    pub fn poll(mut self) -> Self {
        self.capabilities |= Capabilities::POLL;
        self
    }

    /// Declares that the connector sends messages.
    pub fn send(mut self) -> Self {
        self.capabilities |= Capabilities::SEND;
        self
    }

    /// Declares that the connector places addresses ([`Connector::geocode`](crate::Connector::geocode)).
    pub fn geocode(mut self) -> Self {
        self.capabilities |= Capabilities::GEOCODE;
        self
    }
}

impl From<FormError> for ConnectorError {
    fn from(error: FormError) -> Self {
        ConnectorError::BadRequest(error.to_string())
    }
}

impl Identifier {
    /// An external id: `Identifier::external("telegram:user", "123")`.
    pub fn external(namespace: &str, value: &str) -> Self {
        Identifier::External(ExternalId { namespace: namespace.into(), value: value.into() })
    }

    /// A phone number as people write it (`06 12 34 56 78`, `+33 6 12 34 56 78`).
    pub fn phone(number: &str) -> Self {
        Identifier::Phone(PhoneNumber { number: number.into(), format: PhoneFormat::AsWritten })
    }

    /// A phone number in international digits without `+` (`4915112345678`).
    pub fn international_phone(number: &str) -> Self {
        Identifier::Phone(PhoneNumber { number: number.into(), format: PhoneFormat::International })
    }
}

impl OutboundMessage {
    /// The e-mail addresses the host gave, best first.
    pub fn emails(&self) -> impl Iterator<Item = &str> {
        self.to.iter().filter_map(|i| match i {
            Identifier::Email(address) => Some(address.as_str()),
            _ => None,
        })
    }

    /// The phone numbers the host gave (E.164, with `+`), best first.
    pub fn phones(&self) -> impl Iterator<Item = &str> {
        self.to.iter().filter_map(|i| match i {
            Identifier::Phone(phone) => Some(phone.number.as_str()),
            _ => None,
        })
    }

    /// The ids in `namespace` the host gave, best first.
    pub fn external_ids<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a str> {
        self.to.iter().filter_map(move |i| match i {
            Identifier::External(id) if id.namespace == namespace => Some(id.value.as_str()),
            _ => None,
        })
    }
}

impl Default for Contact {
    fn default() -> Self {
        Self::new()
    }
}

impl Contact {
    /// A contact with no identifiers yet.
    pub fn new() -> Self {
        Contact {
            identifiers: Vec::new(),
            display_name: None,
            given_name: None,
            family_name: None,
            locale: None,
            attributes: Vec::new(),
        }
    }

    /// Adds an e-mail address the person gave, as received (the host normalizes it). Blank
    /// values are skipped.
    pub fn email(self, email: &str) -> Self {
        self.email_with(email, Provenance::Declared)
    }

    /// Adds the e-mail address the provider says this came from (a message's sender): the host
    /// may reply to it.
    pub fn verified_email(self, email: &str) -> Self {
        self.email_with(email, Provenance::Verified)
    }

    /// Adds an e-mail address found in what the person wrote: it links, it is never sent to.
    pub fn mentioned_email(self, email: &str) -> Self {
        self.email_with(email, Provenance::Mentioned)
    }

    /// Adds an e-mail address with how the connector knows it. Blank values are skipped.
    pub fn email_with(self, email: &str, provenance: Provenance) -> Self {
        self.point_if_present(email, provenance, |v| Identifier::Email(v.into()))
    }

    /// Adds a phone number the person gave, as written (the host converts it to E.164, reading
    /// a national number in its default region). Blank values are skipped.
    pub fn phone(self, phone: &str) -> Self {
        self.phone_with(phone, PhoneFormat::AsWritten, Provenance::Declared)
    }

    /// Adds the phone number the provider says this came from (an SMS's or a call's sender).
    pub fn verified_phone(self, phone: &str) -> Self {
        self.phone_with(phone, PhoneFormat::AsWritten, Provenance::Verified)
    }

    /// Adds a phone number found in what the person wrote (a signature line).
    pub fn mentioned_phone(self, phone: &str) -> Self {
        self.phone_with(phone, PhoneFormat::AsWritten, Provenance::Mentioned)
    }

    /// Adds a phone number written in a given format with how the connector knows it, e.g. a
    /// WhatsApp `wa_id`: `phone_with(wa_id, PhoneFormat::International, Provenance::Verified)`.
    pub fn phone_with(self, phone: &str, format: PhoneFormat, provenance: Provenance) -> Self {
        self.point_if_present(phone, provenance, |v| {
            Identifier::Phone(PhoneNumber { number: v.into(), format })
        })
    }

    /// Adds an id in the channel's namespace, e.g. `("telegram:user", "42")`: the provider's
    /// own account id, verified by nature. Blank values are skipped.
    pub fn external(self, namespace: &str, value: &str) -> Self {
        self.point_if_present(value.trim(), Provenance::Verified, |v| {
            Identifier::external(namespace, v)
        })
    }

    /// Adds an identifier as it is.
    pub fn point(mut self, point: ContactPoint) -> Self {
        self.identifiers.push(point);
        self
    }

    /// Sets the full name as the channel shows it.
    pub fn name(mut self, display_name: &str) -> Self {
        self.display_name = non_blank(display_name);
        self
    }

    /// Sets given and family names.
    pub fn names(mut self, given: &str, family: &str) -> Self {
        self.given_name = non_blank(given);
        self.family_name = non_blank(family);
        self
    }

    /// Sets the BCP 47 locale, e.g. `fr-FR`.
    pub fn locale(mut self, locale: &str) -> Self {
        self.locale = non_blank(locale);
        self
    }

    /// Adds a free-form attribute.
    pub fn attr(mut self, key: &str, value: &str) -> Self {
        push_attribute(&mut self.attributes, key, value);
        self
    }

    fn point_if_present(
        mut self,
        value: &str,
        provenance: Provenance,
        make: impl FnOnce(&str) -> Identifier,
    ) -> Self {
        if !value.trim().is_empty() {
            self.identifiers.push(ContactPoint { identifier: make(value), provenance });
        }
        self
    }

    /// Reports this contact as seen, with the provider's id of the update, now (see
    /// [`ContactUpdate::at`]).
    pub fn update(self, provider_id: &str) -> ContactUpdate {
        ContactUpdate { provider_id: provider_id.into(), contact: self, occurred_at: now_millis() }
    }
}

impl ContactUpdate {
    /// When the provider says the contact changed.
    pub fn at(mut self, occurred_at: Timestamp) -> Self {
        self.occurred_at = occurred_at;
        self
    }
}

impl Attachment {
    /// A file of `content_type` and `size_bytes` that came with a message (its content is not
    /// stored); name it and say where the provider keeps it with the builder methods.
    pub fn new(content_type: &str, size_bytes: u64) -> Self {
        Attachment { name: None, content_type: content_type.into(), size_bytes, url: None }
    }

    /// The file's name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = non_blank(name);
        self
    }

    /// Where the provider keeps it (Twilio's `MediaUrl0`).
    pub fn url(mut self, url: &str) -> Self {
        self.url = non_blank(url);
        self
    }
}

impl Interaction {
    /// An inbound interaction of any kind, occurring now; refine it with the builder methods.
    pub fn new(kind: InteractionKind, channel: &str, provider_id: &str, contact: Contact) -> Self {
        Interaction {
            provider_id: provider_id.into(),
            kind,
            direction: Direction::Inbound,
            contact,
            channel: channel.into(),
            thread_id: None,
            subject: None,
            text: None,
            occurred_at: now_millis(),
            status: None,
            attachments: Vec::new(),
            attributes: Vec::new(),
        }
    }

    /// An inbound message.
    pub fn message(channel: &str, provider_id: &str, contact: Contact) -> Self {
        Self::new(InteractionKind::Message, channel, provider_id, contact)
    }

    /// An inbound call.
    pub fn call(channel: &str, provider_id: &str, contact: Contact) -> Self {
        Self::new(InteractionKind::Call, channel, provider_id, contact)
    }

    /// Marks it as started by the company.
    pub fn outbound(mut self) -> Self {
        self.direction = Direction::Outbound;
        self
    }

    /// Sets the conversation it belongs to.
    pub fn thread(mut self, thread_id: &str) -> Self {
        self.thread_id = non_blank(thread_id);
        self
    }

    /// Sets the subject.
    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = non_blank(subject);
        self
    }

    /// Sets the plain-text content.
    pub fn text(mut self, text: &str) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Sets when it happened, in milliseconds since the Unix epoch.
    pub fn at(mut self, occurred_at: Timestamp) -> Self {
        self.occurred_at = occurred_at;
        self
    }

    /// Sets the provider's status, e.g. `completed`.
    pub fn status(mut self, status: &str) -> Self {
        self.status = non_blank(status);
        self
    }

    /// Records an attachment (its content is not stored).
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Adds a free-form attribute.
    pub fn attr(mut self, key: &str, value: &str) -> Self {
        push_attribute(&mut self.attributes, key, value);
        self
    }
}

impl Money {
    /// An amount in the currency's minor unit, e.g. `Money::new(1999, "EUR")` for 19.99 €.
    pub fn new(amount_minor: i64, currency: &str) -> Self {
        Money { amount_minor, currency: currency.to_ascii_uppercase() }
    }

    /// Parses a decimal amount as providers send it (`"19.99"`, `"-5"`, `"1500"` yen) into the
    /// currency's minor unit, exactly (no floating point), using the ISO 4217 exponent of
    /// `currency`: 2 for EUR, 0 for JPY, 3 for KWD. Refuses unknown currencies and amounts more
    /// precise than the currency allows (`"1.005"` EUR), rather than rounding money silently.
    pub fn from_decimal(amount: &str, currency: &str) -> Result<Self, ConnectorError> {
        let code = currency.trim().to_ascii_uppercase();
        let exponent = iso_currency::Currency::from_code(&code)
            .ok_or_else(|| ConnectorError::BadRequest(format!("unknown currency `{currency}`")))?
            .exponent()
            .unwrap_or(0) as usize;
        let bad = || ConnectorError::BadRequest(format!("`{amount}` is not an amount of {code}"));
        let text = amount.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(bad());
        }
        let (kept, dropped) = fraction.split_at(fraction.len().min(exponent));
        if dropped.bytes().any(|b| b != b'0') {
            return Err(ConnectorError::BadRequest(format!(
                "`{amount}` has more decimals than {code} allows ({exponent})"
            )));
        }
        let minor = format!("{whole}{kept:0<exponent$}");
        let value: i64 = minor.parse().map_err(|_| bad())?;
        Ok(Money { amount_minor: if negative { -value } else { value }, currency: code })
    }
}

impl OrderLine {
    /// A line of `quantity` units at `unit_price` each.
    pub fn new(name: &str, quantity: u32, unit_price: Money) -> Self {
        OrderLine { sku: None, name: name.into(), quantity, unit_price }
    }

    /// Sets the stock keeping unit.
    pub fn sku(mut self, sku: &str) -> Self {
        self.sku = non_blank(sku);
        self
    }
}

impl Order {
    /// A pending order placed now, with no lines yet.
    pub fn new(provider_id: &str, contact: Contact, total: Money) -> Self {
        let now = now_millis();
        Order {
            provider_id: provider_id.into(),
            contact,
            number: None,
            status: OrderStatus::Pending,
            lines: Vec::new(),
            total,
            placed_at: now,
            updated_at: now,
            delivery_address: None,
            billing_address: None,
            attributes: Vec::new(),
        }
    }

    /// Sets the number the customer sees.
    pub fn number(mut self, number: &str) -> Self {
        self.number = non_blank(number);
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: OrderStatus) -> Self {
        self.status = status;
        self
    }

    /// Adds a line.
    pub fn line(mut self, line: OrderLine) -> Self {
        self.lines.push(line);
        self
    }

    /// Sets when it was placed and when this state was reached.
    pub fn at(mut self, placed_at: Timestamp, updated_at: Timestamp) -> Self {
        self.placed_at = placed_at;
        self.updated_at = updated_at;
        self
    }

    /// Sets the delivery address. Its name, phone and e-mail are the recipient's: they stay on
    /// the order and never join the buyer's profile.
    pub fn deliver_to(mut self, address: Address) -> Self {
        self.delivery_address = Some(address);
        self
    }

    /// Sets the billing address: the payer's details, kept on the order.
    pub fn bill_to(mut self, address: Address) -> Self {
        self.billing_address = Some(address);
        self
    }

    /// Adds a free-form attribute.
    pub fn attr(mut self, key: &str, value: &str) -> Self {
        push_attribute(&mut self.attributes, key, value);
        self
    }
}

impl Payment {
    /// `amount` received now from `contact`, for no known order yet. The contact may be empty
    /// when the payment names its order: the host then attaches it to the order's buyer.
    pub fn new(provider_id: &str, contact: Contact, amount: Money) -> Self {
        let now = now_millis();
        Payment {
            provider_id: provider_id.into(),
            contact,
            order_ref: None,
            status: PaymentStatus::Succeeded,
            amount,
            refunded_minor: 0,
            occurred_at: now,
            attributes: Vec::new(),
        }
    }

    /// The order it pays, as the shop reports it: its provider id or the number the customer
    /// sees (`#1001`).
    pub fn for_order(mut self, reference: &str) -> Self {
        self.order_ref = non_blank(reference);
        self
    }

    /// How much of it was refunded so far, in minor units; sets the status to match.
    pub fn refunded(mut self, amount_minor: i64) -> Self {
        self.refunded_minor = amount_minor.max(0);
        self.status = if self.refunded_minor == 0 {
            PaymentStatus::Succeeded
        } else if self.refunded_minor < self.amount.amount_minor {
            PaymentStatus::PartiallyRefunded
        } else {
            PaymentStatus::Refunded
        };
        self
    }

    /// Sets when this state was reached.
    pub fn at(mut self, occurred_at: Timestamp) -> Self {
        self.occurred_at = occurred_at;
        self
    }

    /// Adds a free-form attribute (payment method, processor's customer id…).
    pub fn attr(mut self, key: &str, value: &str) -> Self {
        push_attribute(&mut self.attributes, key, value);
        self
    }
}

impl From<Payment> for Event {
    fn from(value: Payment) -> Self {
        Event::Payment(value)
    }
}

impl Shipment {
    /// A shipment reported now.
    pub fn new(
        provider_id: &str,
        carrier: &str,
        tracking_number: &str,
        status: ShipmentStatus,
    ) -> Self {
        Shipment {
            provider_id: provider_id.into(),
            order_provider_id: None,
            contact: None,
            carrier: carrier.into(),
            tracking_number: tracking_number.into(),
            status,
            eta: None,
            occurred_at: now_millis(),
            attributes: Vec::new(),
        }
    }

    /// Links it to an order by the order's provider id.
    pub fn for_order(mut self, order_provider_id: &str) -> Self {
        self.order_provider_id = non_blank(order_provider_id);
        self
    }

    /// Sets the recipient.
    pub fn contact(mut self, contact: Contact) -> Self {
        self.contact = Some(contact);
        self
    }

    /// Sets the estimated delivery time.
    pub fn eta(mut self, eta: Timestamp) -> Self {
        self.eta = Some(eta);
        self
    }

    /// Sets when this status was reached.
    pub fn at(mut self, occurred_at: Timestamp) -> Self {
        self.occurred_at = occurred_at;
        self
    }

    /// Adds a free-form attribute (checkpoint, the carrier's own status…).
    pub fn attr(mut self, key: &str, value: &str) -> Self {
        push_attribute(&mut self.attributes, key, value);
        self
    }
}

impl Consent {
    /// A consent change on `channel`, occurring now.
    pub fn new(provider_id: &str, contact: Contact, channel: &str, state: ConsentState) -> Self {
        Consent {
            provider_id: provider_id.into(),
            contact,
            channel: channel.into(),
            state,
            occurred_at: now_millis(),
            reason: None,
        }
    }

    /// Says what the person did.
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = non_blank(reason);
        self
    }

    /// When the person did it.
    pub fn at(mut self, occurred_at: Timestamp) -> Self {
        self.occurred_at = occurred_at;
        self
    }
}

impl From<ContactUpdate> for Event {
    fn from(value: ContactUpdate) -> Self {
        Event::Contact(value)
    }
}
impl From<Interaction> for Event {
    fn from(value: Interaction) -> Self {
        Event::Interaction(value)
    }
}
impl From<Order> for Event {
    fn from(value: Order) -> Self {
        Event::Order(value)
    }
}
impl From<Shipment> for Event {
    fn from(value: Shipment) -> Self {
        Event::Shipment(value)
    }
}
impl From<Consent> for Event {
    fn from(value: Consent) -> Self {
        Event::Consent(value)
    }
}

impl HttpRequest {
    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, ConnectorError> {
        std::str::from_utf8(&self.body)
            .map_err(|e| ConnectorError::BadRequest(format!("body is not UTF-8: {e}")))
    }

    /// The body parsed as JSON into `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ConnectorError::BadRequest(format!("body is not the expected JSON: {e}")))
    }

    /// The body parsed as `application/x-www-form-urlencoded`.
    pub fn form(&self) -> Result<Form, ConnectorError> {
        Ok(Form::parse(&self.body))
    }

    /// The query string parameters of [`url`](HttpRequest::url).
    pub fn query(&self) -> Form {
        let query = self.url.split_once('?').map(|(_, q)| q).unwrap_or("");
        let query = query.split('#').next().unwrap_or("");
        Form::parse(query.as_bytes())
    }

    /// The body parsed as `multipart/form-data`, using the request's `Content-Type` boundary.
    pub fn multipart(&self) -> Result<Vec<Part>, ConnectorError> {
        let content_type = self.header("content-type").ok_or(FormError::MissingContentType)?;
        Ok(form::parse_multipart(content_type, &self.body)?)
    }
}

impl HttpResponse {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        HttpResponse { status, headers: Vec::new(), body: Vec::new() }
    }

    /// `200 OK` with an empty body.
    pub fn ok() -> Self {
        Self::new(200)
    }

    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status).header("content-type", "application/json").body(value.to_string())
    }

    /// A plain-text response.
    pub fn text(status: u16, text: &str) -> Self {
        Self::new(status).header("content-type", "text/plain; charset=utf-8").body(text)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(Header { name: name.into(), value: value.into() });
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

impl WebhookOutcome {
    /// `200 OK` with these events.
    pub fn ok<E: Into<Event>>(events: impl IntoIterator<Item = E>) -> Self {
        Self::respond(HttpResponse::ok(), events)
    }

    /// A custom response with these events.
    pub fn respond<E: Into<Event>>(
        response: HttpResponse,
        events: impl IntoIterator<Item = E>,
    ) -> Self {
        WebhookOutcome { response, events: events.into_iter().map(Into::into).collect() }
    }
}

impl PollOutcome {
    /// These events, continuing at `next_cursor` next time.
    pub fn new<E: Into<Event>>(
        events: impl IntoIterator<Item = E>,
        next_cursor: Option<String>,
    ) -> Self {
        PollOutcome { events: events.into_iter().map(Into::into).collect(), next_cursor }
    }
}

impl Receipt {
    /// A receipt for the message the provider knows as `provider_id`, sent now.
    pub fn new(provider_id: &str) -> Self {
        Receipt {
            provider_id: provider_id.into(),
            thread_id: None,
            status: None,
            sent_at: now_millis(),
        }
    }

    /// When the provider says it sent the message.
    pub fn at(mut self, sent_at: Timestamp) -> Self {
        self.sent_at = sent_at;
        self
    }

    /// The provider's thread (chat, conversation) the message went to.
    pub fn thread(mut self, thread_id: &str) -> Self {
        self.thread_id = non_blank(thread_id);
        self
    }

    /// The provider's status of the message, e.g. `queued`.
    pub fn status(mut self, status: &str) -> Self {
        self.status = non_blank(status);
        self
    }
}

/// Adds an attribute unless its value is blank, as every builder skips blank values.
fn push_attribute(attributes: &mut Vec<Attribute>, key: &str, value: &str) {
    if !value.trim().is_empty() {
        attributes.push(Attribute { key: key.into(), value: value.into() });
    }
}

fn non_blank(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_takes_its_time_and_skips_blank_attributes() {
        let who = || Contact::new().email("ann@example.com");
        assert_eq!(who().update("u-1").at(5).occurred_at, 5);
        assert_eq!(Consent::new("k-1", who(), "sms", ConsentState::OptOut).at(6).occurred_at, 6);
        let receipt = Receipt::new("m-1").at(7).thread("t-1").status("queued");
        assert_eq!(
            (receipt.sent_at, receipt.thread_id.as_deref(), receipt.status.as_deref()),
            (7, Some("t-1"), Some("queued"))
        );
        assert_eq!(Receipt::new("m-2").thread(" ").status("").thread_id, None);
        let message =
            Interaction::message("web", "w-1", who()).attr("source", "form").attr("utm", "  ");
        assert_eq!(
            message.attributes,
            vec![Attribute { key: "source".into(), value: "form".into() }]
        );
        let file = Attachment::new("image/jpeg", 2048).name("parcel.jpg").url(" ");
        assert_eq!(
            (file.name.as_deref(), file.url.as_deref(), file.size_bytes),
            (Some("parcel.jpg"), None, 2048)
        );
        assert_eq!(message.attachment(file).attachments.len(), 1);
    }

    #[test]
    fn contact_skips_blank_identifiers() {
        let contact = Contact::new().email(" ").phone("+33 6 12 34 56 78").name("  ");
        assert_eq!(
            contact.identifiers,
            vec![ContactPoint {
                identifier: Identifier::phone("+33 6 12 34 56 78"),
                provenance: Provenance::Declared
            }]
        );
        assert_eq!(contact.display_name, None);
        let sender = Contact::new().verified_email("a@b.fr").external("telegram:user", " ");
        assert_eq!(sender.identifiers.len(), 1);
        assert_eq!(sender.identifiers[0].provenance, Provenance::Verified);
    }

    #[test]
    fn request_header_lookup_ignores_case() {
        let request = HttpRequest {
            method: "POST".into(),
            url: "https://crm.example.com/hooks/x?a=1&b=two%20words".into(),
            route: "/".into(),
            headers: vec![Header {
                name: "X-Telegram-Bot-Api-Secret-Token".into(),
                value: "s3cret".into(),
            }],
            body: b"{\"n\":1}".to_vec(),
            received_at: 0,
        };
        assert_eq!(request.header("x-telegram-bot-api-secret-token"), Some("s3cret"));
        assert_eq!(request.query().get("b"), Some("two words"));
        let value: serde_json::Value = request.json().unwrap();
        assert_eq!(value["n"], 1);
        assert!(matches!(request.multipart(), Err(ConnectorError::BadRequest(_))));
    }

    #[test]
    fn money_currency_is_upper_case() {
        assert_eq!(Money::new(1999, "eur").currency, "EUR");
    }

    #[test]
    fn decimal_amounts_use_the_currency_exponent() {
        let minor = |a: &str, c: &str| Money::from_decimal(a, c).map(|m| m.amount_minor);
        assert_eq!(minor("19.99", "eur").unwrap(), 1999);
        assert_eq!(minor("19.9", "EUR").unwrap(), 1990);
        assert_eq!(minor("20", "EUR").unwrap(), 2000);
        assert_eq!(minor("1.50000", "USD").unwrap(), 150);
        assert_eq!(minor("-5.25", "EUR").unwrap(), -525);
        assert_eq!(minor("1500", "JPY").unwrap(), 1500);
        assert_eq!(minor("1.250", "KWD").unwrap(), 1250);
        assert_eq!(Money::from_decimal("1", "kwd").unwrap().currency, "KWD");
        for (amount, currency) in
            [("1.005", "EUR"), ("12,50", "EUR"), ("", "EUR"), ("1.5", "JPY"), ("1", "XYZ")]
        {
            assert!(
                matches!(Money::from_decimal(amount, currency), Err(ConnectorError::BadRequest(_))),
                "{amount} {currency}"
            );
        }
    }
}
