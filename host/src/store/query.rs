//! Reading the store: finding customers, their profile, their cross-channel timeline, orders.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::sql::{Conn, params};
use super::{Backend, Store, StoreError, read_job};
use crate::identity::{Kind, Normalizer, email};

/// What to look customers up by; every given field must match.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    /// Free text: a name fragment, an e-mail address or a phone number.
    pub q: Option<String>,
    /// An e-mail address, in any case or spacing.
    pub email: Option<String>,
    /// A phone number, in any format the default region understands.
    pub phone: Option<String>,
    /// An external id, `namespace:value` (`telegram:user:42`).
    pub external: Option<String>,
    /// Only customers with a greater id (the cursor of the previous page).
    pub after: Option<i64>,
    /// At most this many results.
    pub limit: u32,
}

/// What kinds of entries a timeline shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// Messages, calls, reviews, carts, wishlists, page views, till sales.
    Interaction,
    /// Orders.
    Order,
    /// Shipments.
    Shipment,
    /// Payments.
    Payment,
    /// Changes to the customer's conversations.
    ConversationEvent,
}

impl TimelineKind {
    /// Every kind.
    pub const ALL: [TimelineKind; 5] = [
        TimelineKind::Interaction,
        TimelineKind::Order,
        TimelineKind::Shipment,
        TimelineKind::Payment,
        TimelineKind::ConversationEvent,
    ];

    /// Parses a name (`interaction`, `order`, `shipment`, `payment`, `conversation_event`).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.trim() {
            "interaction" => TimelineKind::Interaction,
            "order" => TimelineKind::Order,
            "shipment" => TimelineKind::Shipment,
            "payment" => TimelineKind::Payment,
            "conversation_event" => TimelineKind::ConversationEvent,
            _ => return None,
        })
    }
}

/// Which entries of a timeline to show; the default shows the customer's records (every kind
/// but conversation events).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineFilter {
    /// Only these kinds (none: every kind but [`TimelineKind::ConversationEvent`]).
    pub kinds: Vec<TimelineKind>,
    /// Only entries that came through this connector (`switchboard` for conversation events).
    pub connector: Option<String>,
}

/// A page of customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CustomerPage {
    /// Customers, oldest first.
    pub customers: Vec<CustomerSummary>,
    /// Pass as `cursor` for the next page; none at the end.
    pub next_cursor: Option<String>,
}

/// A customer in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CustomerSummary {
    /// Id.
    pub id: i64,
    /// Name.
    pub display_name: Option<String>,
    /// E-mail addresses.
    pub emails: Vec<String>,
    /// Phone numbers (E.164).
    pub phones: Vec<String>,
}

/// One identifier on a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ContactPointView {
    /// `email`, `phone`, `external`.
    pub kind: String,
    /// Normalized value.
    pub value: String,
    /// As first received.
    pub raw: String,
    /// Whether a provider verified it (the sender of a message): only verified identifiers
    /// are sent to.
    pub verified: bool,
    /// `verified`, `declared` or `mentioned`: how the connector that reported it knew it (the
    /// strongest, when several did).
    pub provenance: String,
    /// `usable` (it links records), `shared` (a role address, kept to reach the customer),
    /// `blocked` (a placeholder) or `invalid` (does not parse): only usable ones link.
    pub status: String,
    /// Why it is not usable.
    pub reason: Option<String>,
    /// Connector that first reported it.
    pub source_connector: String,
    /// First seen (ms).
    pub first_seen: i64,
    /// Last seen (ms).
    pub last_seen: i64,
}

/// The current consent on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    /// Channel, e.g. `sms`.
    pub channel: String,
    /// `opt_in` or `opt_out`.
    pub state: String,
    /// When (ms).
    pub at: i64,
    /// What the person did.
    pub reason: Option<String>,
    /// Through which connector.
    pub connector: String,
}

/// Revenue in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Revenue {
    /// ISO 4217.
    pub currency: String,
    /// Sum of order totals in minor units.
    pub amount_minor: i64,
    /// Orders counted.
    pub orders: i64,
}

/// A customer's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Profile {
    /// Id.
    pub id: i64,
    /// Name.
    pub display_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// BCP 47.
    pub locale: Option<String>,
    /// When the customer was created (ms).
    pub created_at: i64,
    /// Identifiers.
    pub contact_points: Vec<ContactPointView>,
    /// Attributes (including identifiers that could not be matched), key → values.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Connectors the customer has come through.
    pub channels: Vec<String>,
    /// Current consent per channel.
    pub consents: Vec<ConsentView>,
    /// First and last interaction or order (ms).
    pub first_contact: Option<i64>,
    /// Last contact.
    pub last_contact: Option<i64>,
    /// Number of orders.
    pub order_count: i64,
    /// Revenue per currency (paid, processing, shipped, delivered and completed orders).
    pub revenue: Vec<Revenue>,
}

/// One item of a customer's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    /// `interaction`, `order`, `shipment`, `payment` or `conversation_event` (a change to one of
    /// the customer's conversations: assigned, status, reply, note, merged…).
    pub kind: String,
    /// Id in the store.
    pub id: i64,
    /// The connector it came through.
    pub connector: String,
    /// When (ms): an interaction's time, an order's placement, a shipment's latest status.
    pub at: i64,
    /// The record.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A page of a timeline, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimelinePage {
    /// Entries.
    pub entries: Vec<TimelineEntry>,
    /// Pass as `cursor` to get the next (older) page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// Order filters.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    /// Orders of this customer.
    pub customer: Option<i64>,
    /// In this status (`paid`, `cancelled`, …).
    pub status: Option<String>,
    /// Through one of these connectors (`None`: any).
    pub connectors: Option<Vec<String>>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// An order with its lines.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    /// Id in the store.
    pub id: i64,
    /// Connector.
    pub connector: String,
    /// The provider's id.
    pub provider_id: String,
    /// Customer.
    pub customer_id: i64,
    /// Number the customer sees.
    pub number: Option<String>,
    /// Status.
    pub status: String,
    /// Total in minor units.
    pub total_minor: i64,
    /// Currency.
    pub currency: String,
    /// Placed (ms).
    pub placed_at: i64,
    /// Last state change (ms).
    pub updated_at: i64,
    /// Delivery address as reported.
    #[schema(value_type = Option<Object>)]
    pub delivery_address: Option<serde_json::Value>,
    /// Lines.
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<serde_json::Value>,
    /// Attributes.
    #[schema(value_type = Vec<Object>)]
    pub attributes: serde_json::Value,
    /// Payments and refunds reported for it (by a payment processor's connector), oldest first.
    #[schema(value_type = Vec<Object>)]
    pub payments: Vec<serde_json::Value>,
    /// Its shipments (a carrier's latest report of each), oldest first.
    #[schema(value_type = Vec<Object>)]
    pub shipments: Vec<serde_json::Value>,
    /// Where the delivery address is, once a geocoding connector answered for it.
    pub location: Option<super::LocationView>,
}

/// An online cart as its connector last reported it, for the till to load (QR hand-off).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CartView {
    /// The cart's token (the cart interaction's thread id).
    pub token: String,
    /// The connector that reported it, e.g. `web`.
    pub connector: String,
    /// The live customer it belongs to.
    pub customer_id: i64,
    /// The customer's name, if known.
    pub customer_name: Option<String>,
    /// The customer's identifiers, strongest first, for the till's sale to carry.
    pub identifiers: Vec<crate::model::Identifier>,
    /// e.g. `active`, `checkout_started`.
    pub status: Option<String>,
    /// Last update (ms).
    pub updated_at: i64,
    /// Items: sku, name, quantity, unit_price_minor.
    #[schema(value_type = Vec<Object>)]
    pub items: serde_json::Value,
    /// Total in minor units, when the items had prices.
    pub total_minor: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
}

/// Statuses whose total counts as revenue.
const REVENUE_STATUSES: &str = "('paid', 'processing', 'shipped', 'delivered', 'completed')";

type OrderRow = (
    i64,
    String,
    String,
    i64,
    Option<String>,
    String,
    i64,
    String,
    i64,
    i64,
    Option<String>,
    String,
);

impl Store {
    /// Follows merges from `customer` to the live customer it is now part of.
    pub async fn live_customer(&self, customer: i64) -> Result<i64, StoreError> {
        self.read(read_job!(|conn| async move { live_customer(conn, customer).await })).await
    }

    /// Live customers matching the query, oldest first.
    pub async fn find_customers(
        &self,
        query: &CustomerQuery,
    ) -> Result<Vec<CustomerSummary>, StoreError> {
        Ok(self.customer_page(query).await?.customers)
    }

    /// A page of the live customers matching the query, oldest first, with the cursor of the
    /// next page.
    pub async fn customer_page(&self, query: &CustomerQuery) -> Result<CustomerPage, StoreError> {
        let (query, normalizer) = (query.clone(), self.normalizer_arc());
        self.read(read_job!(|conn| async move { find_customers(conn, &normalizer, &query).await }))
            .await
    }

    /// The profile of a live customer.
    pub async fn profile(&self, customer: i64) -> Result<Profile, StoreError> {
        self.read(read_job!(|conn| async move { profile(conn, customer).await })).await
    }

    /// The current consent of `customer` on `channel`, if any was recorded.
    pub async fn current_consent(
        &self,
        customer: i64,
        channel: &str,
    ) -> Result<Option<ConsentView>, StoreError> {
        let channel = channel.to_string();
        self.read(read_job!(|conn| async move {
            Ok(consents(conn, customer).await?.into_iter().find(|c| c.channel == channel))
        }))
        .await
    }

    /// A page of the customer's timeline across every channel, newest first.
    pub async fn timeline(
        &self,
        customer: i64,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<TimelinePage, StoreError> {
        self.timeline_filtered(customer, cursor, limit, &TimelineFilter::default()).await
    }

    /// A page of the customer's timeline, only the entries `filter` lets through.
    pub async fn timeline_filtered(
        &self,
        customer: i64,
        cursor: Option<&str>,
        limit: u32,
        filter: &TimelineFilter,
    ) -> Result<TimelinePage, StoreError> {
        let limit = i64::from(limit.clamp(1, 200));
        let (at, rank, id) = match cursor {
            None => (i64::MAX, i64::MAX, i64::MAX),
            Some(cursor) => decode_cursor(cursor)?,
        };
        let filter = filter.clone();
        self.read(read_job!(|conn| async move {
            timeline(conn, customer, (at, rank, id), limit, &filter).await
        }))
        .await
    }

    /// The cart with this token (the latest state of the cart interaction whose thread id it
    /// is), or `None`.
    pub async fn cart(&self, token: &str) -> Result<Option<CartView>, StoreError> {
        let token = token.to_string();
        let wanted = token.clone();
        let row: Option<(String, i64, Option<String>, i64, String)> = self
            .read(read_job!(|conn| async move {
                conn.optional(
                    "SELECT connector_id, customer_id, status, COALESCE(updated_at, occurred_at), attributes \
                     FROM interactions WHERE kind = 'cart' AND thread_id = $1 \
                     ORDER BY COALESCE(updated_at, occurred_at) DESC, id DESC LIMIT 1",
                    params![wanted],
                )
                .await
            }))
            .await?;
        let Some((connector, customer_id, status, updated_at, attributes)) = row else {
            return Ok(None);
        };
        let attributes: Vec<crate::model::Attribute> =
            serde_json::from_str(&attributes).unwrap_or_default();
        let attribute =
            |key: &str| attributes.iter().find(|a| a.key == key).map(|a| a.value.clone());
        let reach = self.reach(customer_id).await?;
        let profile = self.profile(customer_id).await?;
        Ok(Some(CartView {
            token: token.to_string(),
            connector,
            customer_id,
            customer_name: profile.display_name,
            identifiers: reach.identifiers,
            status,
            updated_at,
            items: attribute("cart_items")
                .and_then(|items| serde_json::from_str(&items).ok())
                .unwrap_or_else(|| serde_json::json!([])),
            total_minor: attribute("cart_total_minor").and_then(|t| t.parse().ok()),
            currency: attribute("currency"),
        }))
    }

    /// The tokens of a customer's carts (the cart interactions' thread ids), most recently
    /// changed first.
    pub async fn cart_tokens(&self, customer: i64, limit: u32) -> Result<Vec<String>, StoreError> {
        let limit = i64::from(limit.clamp(1, 50));
        let rows: Vec<(String, i64)> = self
            .read(read_job!(|conn| async move {
                conn.all(
                    "SELECT thread_id, MAX(COALESCE(updated_at, occurred_at)) FROM interactions \
                     WHERE customer_id = $1 AND kind = 'cart' AND thread_id IS NOT NULL \
                     GROUP BY thread_id ORDER BY 2 DESC, 1 LIMIT $2",
                    params![customer, limit],
                )
                .await
            }))
            .await?;
        Ok(rows.into_iter().map(|(token, _)| token).collect())
    }

    /// The names of customers, by id (merged ones too).
    pub async fn customer_names(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Option<String>>, StoreError> {
        let ids = ids.to_vec();
        self.read(read_job!(|conn| async move {
            super::conversations::names(conn, "customers", &ids).await
        }))
        .await
    }

    /// Orders matching the filters, newest first.
    pub async fn orders(&self, query: &OrderQuery) -> Result<Vec<OrderView>, StoreError> {
        let query = query.clone();
        self.read(read_job!(|conn| async move { orders(conn, &query).await })).await
    }
}

/// Follows merges from `customer` to the live customer it is now part of.
pub(crate) async fn live_customer(conn: &mut Conn<'_>, customer: i64) -> Result<i64, StoreError> {
    let mut current = customer;
    for _ in 0..64 {
        let row: Option<(Option<i64>,)> = conn
            .optional("SELECT merged_into FROM customers WHERE id = $1", params![current])
            .await?;
        match row {
            None => return Err(StoreError::CustomerNotFound(customer)),
            Some((None,)) => return Ok(current),
            Some((Some(next),)) => current = next,
        }
    }
    Err(StoreError::Conflict(format!("customer {customer} is in a merge cycle")))
}

async fn find_customers(
    conn: &mut Conn<'_>,
    normalizer: &Normalizer,
    query: &CustomerQuery,
) -> Result<CustomerPage, StoreError> {
    let limit = i64::from(if query.limit == 0 { 50 } else { query.limit.min(500) });
    let after = query.after.unwrap_or(0);
    let mut ids: Option<Vec<i64>> = None;
    let mut narrow = |found: Vec<i64>| {
        ids = Some(match ids.take() {
            None => found,
            Some(previous) => previous.into_iter().filter(|id| found.contains(id)).collect(),
        });
    };
    if let Some(value) = &query.email {
        let normalized = email(value).unwrap_or_else(|| value.trim().to_lowercase());
        narrow(by_identifier(conn, Kind::Email, &normalized, limit).await?);
    }
    if let Some(value) = &query.phone {
        let normalized = normalizer.phone(value).unwrap_or_else(|| value.trim().to_string());
        narrow(by_identifier(conn, Kind::Phone, &normalized, limit).await?);
    }
    if let Some(value) = &query.external {
        narrow(by_identifier(conn, Kind::External, &external(value), limit).await?);
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let mut found = Vec::new();
        if q.contains(':') && !q.contains(char::is_whitespace) {
            found.extend(by_identifier(conn, Kind::External, &external(q), limit).await?);
        }
        if let Some(address) = email(q) {
            found.extend(by_identifier(conn, Kind::Email, &address, limit).await?);
        }
        if let Some(phone) = normalizer.phone(q) {
            found.extend(by_identifier(conn, Kind::Phone, &phone, limit).await?);
        }
        // An address, a phone number or an id is not looked for among names (a pass over every
        // customer): a name has no `@`, is not six digits and punctuation, and is not `a:b`.
        let external_like = q.contains(':') && !q.contains(char::is_whitespace);
        let phone_like = q.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
            && q.chars().filter(char::is_ascii_digit).count() >= 6;
        if !q.contains('@') && !phone_like && !external_like {
            let pattern = format!(
                "%{}%",
                q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
            );
            let named: Vec<(i64,)> = conn
                .all(
                    "SELECT id FROM customers WHERE merged_into IS NULL AND lower(display_name) LIKE $1 ESCAPE '\\' \
                     AND id > $3 ORDER BY id LIMIT $2",
                    params![pattern, limit + 1, after],
                )
                .await?;
            found.extend(named.into_iter().map(|(id,)| id));
        }
        found.sort_unstable();
        found.dedup();
        narrow(found);
    }
    let ids = match ids {
        Some(ids) => ids,
        None => conn
            .all::<(i64,)>(
                "SELECT id FROM customers WHERE merged_into IS NULL AND id > $2 ORDER BY id LIMIT $1",
                params![limit + 1, after],
            )
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect(),
    };
    let mut ids: Vec<i64> = ids.into_iter().filter(|id| *id > after).collect();
    ids.sort_unstable();
    ids.dedup();
    let more = ids.len() as i64 > limit;
    ids.truncate(limit as usize);
    let next_cursor = more.then(|| ids.last().map(|id| id.to_string())).flatten();
    let mut summaries = Vec::new();
    for id in ids {
        let (display_name,): (Option<String>,) =
            conn.one("SELECT display_name FROM customers WHERE id = $1", params![id]).await?;
        let points: Vec<(String, String)> = conn
            .all(
                "SELECT DISTINCT kind, value FROM contact_points WHERE customer_id = $1 AND kind IN ('email', 'phone') \
                 ORDER BY kind, value",
                params![id],
            )
            .await?;
        let pick =
            |kind: &str| points.iter().filter(|(k, _)| k == kind).map(|(_, v)| v.clone()).collect();
        summaries.push(CustomerSummary {
            id,
            display_name,
            emails: pick("email"),
            phones: pick("phone"),
        });
    }
    Ok(CustomerPage { customers: summaries, next_cursor })
}

/// An external id as the store keeps it: the namespace (everything before the last `:`) in lower
/// case, the value as given, trimmed.
fn external(query: &str) -> String {
    let query = query.trim();
    match query.rsplit_once(':') {
        Some((namespace, value)) => {
            format!("{}:{}", namespace.trim().to_ascii_lowercase(), value.trim())
        }
        None => query.to_string(),
    }
}

async fn profile(conn: &mut Conn<'_>, customer: i64) -> Result<Profile, StoreError> {
    type Row =
        (i64, i64, Option<String>, Option<String>, Option<String>, Option<String>, Option<i64>);
    let row: Option<Row> = conn
        .optional(
            "SELECT id, created_at, display_name, given_name, family_name, locale, merged_into FROM customers WHERE id = $1",
            params![customer],
        )
        .await?;
    let Some((id, created_at, display_name, given_name, family_name, locale, None)) = row else {
        return Err(StoreError::CustomerNotFound(customer));
    };
    type Point = (String, String, String, i64, String, String, Option<String>, String, i64, i64);
    // `usable` sorts last, so MAX prefers it; `declared` < `mentioned` < `verified`, likewise.
    let points: Vec<Point> = conn
        .all(
            "SELECT kind, value, MIN(raw), MAX(verified), MAX(provenance), MAX(status), MAX(reason), \
             MIN(source_connector), MIN(first_seen), MAX(last_seen) \
             FROM contact_points WHERE customer_id = $1 GROUP BY kind, value ORDER BY kind, MIN(first_seen), value",
            params![id],
        )
        .await?;
    let contact_points = points
        .into_iter()
        .map(
            |(
                kind,
                value,
                raw,
                verified,
                provenance,
                status,
                reason,
                source_connector,
                first_seen,
                last_seen,
            )| {
                let provenance = if verified != 0 { "verified".to_string() } else { provenance };
                let reason = reason.filter(|_| status != "usable");
                ContactPointView {
                    kind,
                    value,
                    raw,
                    verified: verified != 0,
                    provenance,
                    status,
                    reason,
                    source_connector,
                    first_seen,
                    last_seen,
                }
            },
        )
        .collect();
    let attribute_rows: Vec<(String, String)> = conn
        .all(
            "SELECT key, value FROM customer_attributes WHERE customer_id = $1 ORDER BY key, id",
            params![id],
        )
        .await?;
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in attribute_rows {
        let values = attributes.entry(key).or_default();
        if !values.contains(&value) {
            values.push(value);
        }
    }
    let channels: Vec<(String,)> = conn
        .all(
            "SELECT connector_id FROM channel_accounts WHERE customer_id = $1 \
             UNION SELECT connector_id FROM interactions WHERE customer_id = $1 \
             UNION SELECT connector_id FROM orders WHERE customer_id = $1 \
             UNION SELECT connector_id FROM shipments WHERE customer_id = $1 \
             UNION SELECT connector_id FROM consents WHERE customer_id = $1 \
             UNION SELECT connector_id FROM payments WHERE customer_id = $1 ORDER BY 1",
            params![id],
        )
        .await?;
    let consents = consents(conn, id).await?;
    let (first_contact, last_contact): (Option<i64>, Option<i64>) = conn
        .one(
            "SELECT MIN(at), MAX(at) FROM (SELECT occurred_at AS at FROM interactions WHERE customer_id = $1 \
             UNION ALL SELECT placed_at AS at FROM orders WHERE customer_id = $1) AS contacts",
            params![id],
        )
        .await?;
    let (order_count,): (i64,) =
        conn.one("SELECT COUNT(*) FROM orders WHERE customer_id = $1", params![id]).await?;
    let revenue: Vec<(String, i64, i64)> = conn
        .all(
            &format!(
                "SELECT currency, CAST(SUM(total_minor) AS BIGINT), COUNT(*) FROM orders \
                 WHERE customer_id = $1 AND status IN {REVENUE_STATUSES} GROUP BY currency ORDER BY currency"
            ),
            params![id],
        )
        .await?;
    Ok(Profile {
        id,
        display_name,
        given_name,
        family_name,
        locale,
        created_at,
        contact_points,
        attributes,
        channels: channels.into_iter().map(|(c,)| c).collect(),
        consents,
        first_contact,
        last_contact,
        order_count,
        revenue: revenue
            .into_iter()
            .map(|(currency, amount_minor, orders)| Revenue { currency, amount_minor, orders })
            .collect(),
    })
}

/// The latest consent per channel.
pub(crate) async fn consents(
    conn: &mut Conn<'_>,
    customer: i64,
) -> Result<Vec<ConsentView>, StoreError> {
    let rows: Vec<(String, String, i64, Option<String>, String)> = conn
        .all(
            "SELECT channel, state, occurred_at, reason, connector_id FROM consents WHERE customer_id = $1 \
             ORDER BY channel, occurred_at DESC, id DESC",
            params![customer],
        )
        .await?;
    let mut latest: Vec<ConsentView> = Vec::new();
    for (channel, state, at, reason, connector) in rows {
        if latest.last().is_none_or(|c| c.channel != channel) {
            latest.push(ConsentView { channel, state, at, reason, connector });
        }
    }
    Ok(latest)
}

async fn timeline(
    conn: &mut Conn<'_>,
    customer: i64,
    (at, rank, id): (i64, i64, i64),
    limit: i64,
    filter: &TimelineFilter,
) -> Result<TimelinePage, StoreError> {
    // Each kind's rows, as (time, rank, id, connector); the rank orders entries of one instant.
    let parts = [
        (
            TimelineKind::Interaction,
            "SELECT occurred_at AS at, 3 AS rank, id, connector_id FROM interactions WHERE customer_id = $1",
        ),
        (
            TimelineKind::Order,
            "SELECT placed_at AS at, 2 AS rank, id, connector_id FROM orders WHERE customer_id = $1",
        ),
        (
            TimelineKind::Shipment,
            "SELECT occurred_at AS at, 1 AS rank, id, connector_id FROM shipments WHERE customer_id = $1",
        ),
        (
            TimelineKind::Payment,
            "SELECT occurred_at AS at, 0 AS rank, id, connector_id FROM payments WHERE customer_id = $1",
        ),
        // Its messages are on the timeline already, as interactions.
        (
            TimelineKind::ConversationEvent,
            "SELECT created_at AS at, -1 AS rank, id, 'switchboard' AS connector_id FROM conversation_events WHERE customer_id = $1 AND kind <> 'message'",
        ),
    ];
    let union: Vec<&str> = parts
        .iter()
        .filter(|(kind, _)| {
            if filter.kinds.is_empty() {
                *kind != TimelineKind::ConversationEvent
            } else {
                filter.kinds.contains(kind)
            }
        })
        .map(|(_, sql)| *sql)
        .collect();
    if union.is_empty() {
        return Ok(TimelinePage { entries: vec![], next_cursor: None });
    }
    let sql = format!(
        "SELECT at, rank, id, connector_id FROM ({}) AS items \
         WHERE ($6 IS NULL OR connector_id = $6) \
         AND (at < $2 OR (at = $2 AND rank < $3) OR (at = $2 AND rank = $3 AND id < $4)) \
         ORDER BY at DESC, rank DESC, id DESC LIMIT $5",
        union.join(" UNION ALL ")
    );
    let rows: Vec<(i64, i64, i64, String)> = conn
        .all(&sql, params![customer, at, rank, id, limit + 1, filter.connector.clone()])
        .await?;
    let more = rows.len() as i64 > limit;
    let mut entries = Vec::new();
    for (at, rank, id, connector) in rows.iter().take(limit as usize).cloned() {
        let (kind, data) = match rank {
            3 => ("interaction", interaction_json(conn, id).await?),
            2 => ("order", serde_json::to_value(order_view(conn, id).await?).unwrap_or_default()),
            1 => ("shipment", shipment_json(conn, id).await?),
            0 => ("payment", payment_json(conn, id).await?),
            _ => ("conversation_event", conversation_event_json(conn, id).await?),
        };
        entries.push(TimelineEntry { kind: kind.into(), id, connector, at, data });
    }
    let next_cursor = more.then(|| {
        let last = &rows[limit as usize - 1];
        encode_cursor(last.0, last.1, last.2)
    });
    Ok(TimelinePage { entries, next_cursor })
}

/// A change to a conversation (its messages are on the timeline already, as interactions).
async fn conversation_event_json(
    conn: &mut Conn<'_>,
    id: i64,
) -> Result<serde_json::Value, StoreError> {
    let (conversation, kind, actor, data): (i64, String, Option<i64>, String) = conn
        .one(
            "SELECT conversation_id, kind, actor_id, data FROM conversation_events WHERE id = $1",
            params![id],
        )
        .await?;
    Ok(serde_json::json!({
        "conversation_id": conversation,
        "kind": kind,
        "actor_id": actor,
        "data": serde_json::from_str::<serde_json::Value>(&data).unwrap_or_default(),
    }))
}

async fn orders(conn: &mut Conn<'_>, query: &OrderQuery) -> Result<Vec<OrderView>, StoreError> {
    let limit = i64::from(if query.limit == 0 { 100 } else { query.limit.min(1000) });
    let within = match (&query.connectors, conn.backend()) {
        (None, _) => "",
        (Some(_), Backend::Sqlite) => " AND connector_id IN (SELECT value FROM json_each($4))",
        (Some(_), Backend::Postgres) => " AND connector_id = ANY($4)",
    };
    let sql = format!(
        "SELECT id FROM orders WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR status = $2){within} \
         ORDER BY placed_at DESC, id DESC LIMIT $3"
    );
    let connectors = query.connectors.clone().unwrap_or_default();
    let ids: Vec<(i64,)> = if query.connectors.is_some() {
        conn.all(&sql, params![query.customer, query.status, limit, connectors]).await?
    } else {
        conn.all(&sql, params![query.customer, query.status, limit]).await?
    };
    let mut orders = Vec::new();
    for (id,) in ids {
        orders.push(order_view(conn, id).await?);
    }
    Ok(orders)
}

async fn by_identifier(
    conn: &mut Conn<'_>,
    kind: Kind,
    value: &str,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = conn
        .all(
            "SELECT DISTINCT c.id FROM contact_points cp JOIN customers c ON c.id = cp.customer_id \
         WHERE cp.kind = $1 AND cp.value = $2 AND c.merged_into IS NULL ORDER BY c.id LIMIT $3",
            // Identifier lookups find a handful: the page is cut after the cursor.
            params![kind.as_str(), value, limit.max(500) + 1],
        )
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

async fn interaction_json(conn: &mut Conn<'_>, id: i64) -> Result<serde_json::Value, StoreError> {
    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
        String,
        String,
        String,
    );
    let (provider_id, kind, direction, channel, thread_id, subject, body, status, occurred_at, attachments, attributes, linked_by): Row =
        conn.one("SELECT provider_id, kind, direction, channel, thread_id, subject, body, status, occurred_at, attachments, \
             attributes, linked_by FROM interactions WHERE id = $1", params![id])
        .await?;
    Ok(serde_json::json!({
        "provider_id": provider_id, "kind": kind, "direction": direction, "channel": channel,
        "thread_id": thread_id, "subject": subject, "text": body, "status": status,
        "occurred_at": occurred_at, "attachments": parse_json(&attachments),
        "attributes": parse_json(&attributes), "linked_by": linked_by,
    }))
}

async fn shipment_json(conn: &mut Conn<'_>, id: i64) -> Result<serde_json::Value, StoreError> {
    type Row = (
        String,
        Option<String>,
        Option<i64>,
        String,
        String,
        String,
        Option<i64>,
        i64,
        String,
        Option<String>,
    );
    let (provider_id, order_ref, order_id, carrier, tracking_number, status, eta, occurred_at, attributes, linked_by): Row =
        conn.one("SELECT provider_id, order_ref, order_id, carrier, tracking_number, status, eta, occurred_at, attributes, \
             linked_by FROM shipments WHERE id = $1", params![id])
        .await?;
    Ok(serde_json::json!({
        "provider_id": provider_id, "order_ref": order_ref, "order_id": order_id, "carrier": carrier,
        "tracking_number": tracking_number, "status": status, "eta": eta, "occurred_at": occurred_at,
        "attributes": parse_json(&attributes), "linked_by": linked_by,
    }))
}

async fn payment_json(conn: &mut Conn<'_>, id: i64) -> Result<serde_json::Value, StoreError> {
    type Row = (
        String,
        Option<String>,
        Option<i64>,
        String,
        i64,
        i64,
        String,
        i64,
        String,
        Option<String>,
    );
    let (provider_id, order_ref, order_id, status, amount, refunded, currency, at, attributes, linked_by): Row =
        conn.one("SELECT provider_id, order_ref, order_id, status, amount_minor, refunded_minor, currency, occurred_at, \
             attributes, linked_by FROM payments WHERE id = $1", params![id])
        .await?;
    Ok(serde_json::json!({
        "provider_id": provider_id, "order_ref": order_ref, "order_id": order_id, "status": status,
        "amount_minor": amount, "refunded_minor": refunded, "currency": currency, "occurred_at": at,
        "attributes": parse_json(&attributes), "linked_by": linked_by,
    }))
}

async fn order_view(conn: &mut Conn<'_>, id: i64) -> Result<OrderView, StoreError> {
    let row: OrderRow = conn.one("SELECT id, connector_id, provider_id, customer_id, number, status, total_minor, currency, placed_at, \
         updated_at, delivery_address, attributes FROM orders WHERE id = $1", params![id])
    .await?;
    let (
        id,
        connector,
        provider_id,
        customer_id,
        number,
        status,
        total_minor,
        currency,
        placed_at,
        updated_at,
        address,
        attributes,
    ) = row;
    let lines: Vec<(Option<String>, String, i64, i64, String)> = conn.all("SELECT sku, name, quantity, unit_price_minor, currency FROM order_lines WHERE order_id = $1 ORDER BY position", params![id])
    .await?;
    let location = super::locations::location_view(&mut *conn, id).await?;
    let payment_ids: Vec<(i64,)> = conn
        .all("SELECT id FROM payments WHERE order_id = $1 ORDER BY occurred_at, id", params![id])
        .await?;
    let mut payments = Vec::new();
    for (payment,) in payment_ids {
        payments.push(payment_json(conn, payment).await?);
    }
    let shipment_ids: Vec<(i64,)> = conn
        .all("SELECT id FROM shipments WHERE order_id = $1 ORDER BY occurred_at, id", params![id])
        .await?;
    let mut shipments = Vec::new();
    for (shipment,) in shipment_ids {
        shipments.push(shipment_json(conn, shipment).await?);
    }
    Ok(OrderView {
        id,
        connector,
        provider_id,
        customer_id,
        number,
        status,
        total_minor,
        currency,
        placed_at,
        updated_at,
        delivery_address: address.as_deref().map(parse_json),
        lines: lines
            .into_iter()
            .map(|(sku, name, quantity, unit_price_minor, currency)| {
                serde_json::json!({"sku": sku, "name": name, "quantity": quantity,
                    "unit_price_minor": unit_price_minor, "currency": currency})
            })
            .collect(),
        attributes: parse_json(&attributes),
        payments,
        shipments,
        location,
    })
}

fn encode_cursor(at: i64, rank: i64, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{at}:{rank}:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(i64, i64, i64), StoreError> {
    let bad = || StoreError::BadCursor(cursor.to_string());
    let text =
        String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let mut parts = text.split(':').map(|p| p.parse::<i64>());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Ok(at)), Some(Ok(rank)), Some(Ok(id)), None) => Ok((at, rank, id)),
        _ => Err(bad()),
    }
}

/// Where a provider's record landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RecordRef {
    /// `interaction`, `order`, `shipment`, `payment`, `consent` or `contact`.
    pub kind: String,
    /// Its id in the store (none for a contact update).
    pub id: Option<i64>,
    /// The live customer it belongs to now (none while a shipment or payment waits).
    pub customer_id: Option<i64>,
    /// Its conversation (interactions).
    pub conversation_id: Option<i64>,
}

impl Store {
    /// The records a connector stored under a provider id.
    pub async fn records(
        &self,
        connector: &str,
        provider_id: &str,
    ) -> Result<Vec<RecordRef>, StoreError> {
        let (connector, provider_id) = (connector.to_string(), provider_id.to_string());
        self.read(read_job!(|conn| async move {
            type Row = (String, Option<i64>, Option<i64>, Option<i64>);
            let rows: Vec<Row> = conn
                .all(
                    "SELECT 'interaction', id, customer_id, conversation_id FROM interactions WHERE connector_id = $1 AND provider_id = $2 \
                     UNION ALL SELECT 'order', id, customer_id, NULL FROM orders WHERE connector_id = $1 AND provider_id = $2 \
                     UNION ALL SELECT 'shipment', id, customer_id, NULL FROM shipments WHERE connector_id = $1 AND provider_id = $2 \
                     UNION ALL SELECT 'payment', id, customer_id, NULL FROM payments WHERE connector_id = $1 AND provider_id = $2 \
                     UNION ALL SELECT 'consent', id, customer_id, NULL FROM consents WHERE connector_id = $1 AND provider_id = $2 \
                     UNION ALL SELECT 'contact', NULL, customer_id, NULL FROM contact_events WHERE connector_id = $1 AND provider_id = $2",
                    params![connector, provider_id],
                )
                .await?;
            let mut found = Vec::new();
            for (kind, id, customer, conversation_id) in rows {
                let customer_id = match customer {
                    Some(customer) => Some(live_customer(conn, customer).await?),
                    None => None,
                };
                found.push(RecordRef { kind, id, customer_id, conversation_id });
            }
            Ok(found)
        }))
        .await
    }

    /// Sets (or clears) the connector a customer prefers to be answered on, as an agent
    /// said; clearing it lets the customer's behaviour set it again.
    pub async fn set_preferred_channel(
        &self,
        customer: i64,
        connector: Option<String>,
    ) -> Result<(), StoreError> {
        self.write(
            vec![],
            super::write_job!(|tx| {
                let connector = connector.clone();
                async move {
                    let by = connector.as_ref().map(|_| "agent");
                    tx.execute(
                        "UPDATE customers SET preferred_channel = $2, preferred_set_by = $3 WHERE id = $1",
                        params![customer, connector, by],
                    )
                    .await?;
                    Ok(())
                }
            }),
        )
        .await
    }

    /// The connector a customer prefers, and who set it (`agent` or `customer`).
    pub async fn preferred_channel(
        &self,
        customer: i64,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        self.read(read_job!(
            |conn| async move { super::conversations::preferred(conn, customer).await }
        ))
        .await
    }
}
