//! What each provider request says, before it is shaped and signed (`requests.rs`).

use super::people::PRODUCTS;

/// How an e-mail reaches the shop.
#[derive(Debug, Clone, Copy)]
pub enum MailRoute {
    Postmark,
    Mailgun,
    Sendgrid,
}

pub struct Mail {
    pub route: MailRoute,
    pub message_id: String,
    pub from_name: String,
    pub from: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone)]
pub struct ShopCustomer {
    pub id: u64,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first: String,
    pub last: String,
}

#[derive(Clone)]
pub struct Address {
    pub first: String,
    pub last: String,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub line1: String,
    pub city: &'static str,
    pub zip: &'static str,
}

/// Products by index into [`PRODUCTS`], with quantities.
pub type Lines = Vec<(usize, u32)>;

pub struct ShopOrder {
    pub id: u64,
    pub number: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub customer: Option<ShopCustomer>,
    pub ship_to: Option<Address>,
    pub bill_to: Option<Address>,
    pub lines: Lines,
    pub locale: &'static str,
}

pub struct StripePayment {
    /// A Checkout Session event rather than a PaymentIntent's.
    pub session: bool,
    pub intent: String,
    pub event: String,
    pub customer: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub order: Option<String>,
    pub amount: i64,
    /// The PaymentIntent's `shipping`: name and phone of whoever receives the goods.
    pub shipping: Option<(String, Option<String>)>,
}

pub struct WebEvent {
    pub id: String,
    pub kind: &'static str,
    pub visitor: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub cart: Option<(String, Lines)>,
    pub product: Option<usize>,
    pub chat: Option<(String, String)>,
}

pub struct TillSale {
    pub id: String,
    pub lines: Lines,
    pub card: bool,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub loyalty: Option<String>,
    pub name: Option<String>,
    pub visitor: Option<String>,
    pub cart: Option<String>,
}

pub struct Lead {
    pub id: String,
    pub call: bool,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub message: Option<String>,
}

pub struct Tracking {
    /// AfterShip (with the order and the contacts it notifies) or EasyPost (the tracker only).
    pub aftership: bool,
    pub id: String,
    pub code: String,
    pub carrier: &'static str,
    pub order: Option<String>,
    pub name: Option<String>,
    pub emails: Vec<String>,
    pub smses: Vec<String>,
}

pub struct Posting {
    pub number: String,
    pub order_number: String,
    pub buyer: Option<u64>,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Whoever receives the parcel: name and phone.
    pub addressee: Option<(String, String)>,
    pub lines: Lines,
}

/// What one provider request says.
pub enum Spec {
    Telegram {
        user: u64,
        first: String,
        last: Option<String>,
        username: Option<String>,
        locale: &'static str,
        message: u64,
        text: String,
        /// The sender's own number, shared with Telegram's contact button.
        shared: Option<String>,
    },
    WhatsApp {
        wa_id: String,
        name: String,
        id: String,
        text: String,
    },
    Sms {
        sid: String,
        from: String,
        body: String,
    },
    Call {
        sid: String,
        from: String,
        /// The status callback of the finished call, with its duration.
        completed: Option<u32>,
    },
    Callback {
        id: String,
        name: String,
        phone: String,
        preferred: String,
    },
    Mail(Mail),
    Order(Box<ShopOrder>),
    Customer {
        webhook: String,
        customer: ShopCustomer,
    },
    Stripe(StripePayment),
    Web(WebEvent),
    Till(TillSale),
    Lead(Lead),
    Tracking(Tracking),
    Ozon(Posting),
}

impl Spec {
    /// The connector (as configured in the bench) that receives it.
    pub fn connector(&self) -> &'static str {
        match self {
            Spec::Telegram { .. } => "telegram",
            Spec::WhatsApp { .. } => "whatsapp",
            Spec::Sms { .. } | Spec::Call { .. } | Spec::Callback { .. } => "twilio",
            Spec::Mail(_) => "email",
            Spec::Order(_) | Spec::Customer { .. } => "shopify",
            Spec::Stripe(_) => "stripe",
            Spec::Web(_) => "web",
            Spec::Till(_) => "till",
            Spec::Lead(_) => "google-business",
            Spec::Tracking(t) if t.aftership => "aftership",
            Spec::Tracking(_) => "easypost",
            Spec::Ozon(_) => "ozon",
        }
    }
}

/// The total of `lines` in cents.
pub fn total(lines: &Lines) -> i64 {
    lines.iter().map(|(product, quantity)| PRODUCTS[*product].2 * i64::from(*quantity)).sum()
}
