//! The SQL of the write path: identifiers and customers, and the records (interactions, orders,
//! shipments, payments, consents) upserted by (connector, provider id). Only SQL: the router
//! decides what to write.

use serde::Serialize;

use super::sql::{Conn, Value, params};
use super::{Backend, StoreError, now_millis};

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ingested {
    /// A new record.
    Created,
    /// An existing record was amended (a status change, say).
    Updated,
    /// The same event was seen before: nothing changed.
    Unchanged,
}

impl Ingested {
    /// What writing an event did: it amended a record seen before, or created one.
    pub fn amended(seen_before: bool) -> Self {
        if seen_before { Ingested::Updated } else { Ingested::Created }
    }
}

/// What one ingest did, event by event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Per event, in order: the customer it belongs to (none for a shipment whose order is not
    /// known yet) and what happened.
    pub events: Vec<(Option<i64>, Ingested)>,
    /// Merge ledger entries written while resolving identities.
    pub merges: Vec<i64>,
}

/// A live customer that owns one of the identifiers looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub kind: String,
    pub value: String,
    pub customer: i64,
    /// The contact point's row.
    pub point: i64,
    pub last_seen: i64,
    pub verified: bool,
    /// `usable` links records; any other status (`shared`, `blocked`, `invalid`) does not.
    pub status: String,
}

/// The live customers owning any of `identifiers` ((kind, value), normalized), by identifier.
/// On PostgreSQL the customers are locked (`FOR UPDATE`) until the transaction ends, so a
/// concurrent merge on another host waits, or is waited for; an owner that such a merge
/// absorbed meanwhile is [`StoreError::Concurrent`] (the write runs again, on fresh data).
pub(crate) async fn owners(
    conn: &mut Conn<'_>,
    identifiers: &[(String, String)],
) -> Result<Vec<Owner>, StoreError> {
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let sql = match conn.backend() {
        // The list drives the join (CROSS JOIN keeps that order), each entry one lookup in
        // the (kind, value) index.
        Backend::Sqlite => {
            "SELECT cp.kind, cp.value, cp.customer_id, cp.id, cp.last_seen, cp.verified, cp.status, c.merged_into \
             FROM json_each($1) AS k CROSS JOIN contact_points AS cp JOIN customers AS c ON c.id = cp.customer_id \
             WHERE cp.kind = json_extract(k.value, '$[0]') AND cp.value = json_extract(k.value, '$[1]') \
             ORDER BY cp.customer_id, cp.kind, cp.value, cp.id"
        }
        // `FOR UPDATE` returns the customer as a concurrent merge left it.
        Backend::Postgres => {
            "SELECT cp.kind, cp.value, cp.customer_id, cp.id, cp.last_seen, cp.verified, cp.status, c.merged_into \
             FROM unnest($1::text[], $2::text[]) AS k (kind, value) \
             JOIN contact_points cp ON cp.kind = k.kind AND cp.value = k.value \
             JOIN customers c ON c.id = cp.customer_id \
             ORDER BY cp.customer_id, cp.kind, cp.value, cp.id FOR UPDATE OF c"
        }
    };
    type Row = (String, String, i64, i64, i64, bool, String, Option<i64>);
    let rows: Vec<Row> = match conn.backend() {
        Backend::Sqlite => {
            let pairs: Vec<[&str; 2]> =
                identifiers.iter().map(|(k, v)| [k.as_str(), v.as_str()]).collect();
            let pairs = serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into());
            conn.all(sql, params![pairs]).await?
        }
        Backend::Postgres => {
            let kinds: Vec<String> = identifiers.iter().map(|(k, _)| k.clone()).collect();
            let values: Vec<String> = identifiers.iter().map(|(_, v)| v.clone()).collect();
            conn.all(sql, params![kinds, values]).await?
        }
    };
    // A merge moves every identifier of the customer it absorbs: one still pointing at an
    // absorbed customer was read before a concurrent merge committed.
    if let Some(row) = rows.iter().find(|r| r.7.is_some()) {
        return Err(StoreError::Concurrent(row.2));
    }
    Ok(rows
        .into_iter()
        .map(|(kind, value, customer, point, last_seen, verified, status, _)| Owner {
            kind,
            value,
            customer,
            point,
            last_seen,
            verified,
            status,
        })
        .collect())
}

/// Every usable e-mail address of `customers` (a blocked or invalid value is no identity).
pub(crate) async fn emails_of(
    conn: &mut Conn<'_>,
    customers: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT customer_id, value FROM contact_points WHERE kind = 'email' AND status = 'usable' \
             AND customer_id IN (SELECT value FROM json_each($1))"
        }
        Backend::Postgres => {
            "SELECT customer_id, value FROM contact_points WHERE kind = 'email' AND status = 'usable' \
             AND customer_id = ANY($1)"
        }
    };
    conn.all(sql, params![customers.to_vec()]).await
}

/// The names of `customers` that have one: given and family name when both are known, else
/// the display name.
pub(crate) async fn names_of(
    conn: &mut Conn<'_>,
    customers: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT id, display_name, given_name, family_name FROM customers \
             WHERE id IN (SELECT value FROM json_each($1))"
        }
        Backend::Postgres => {
            "SELECT id, display_name, given_name, family_name FROM customers WHERE id = ANY($1)"
        }
    };
    type Row = (i64, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = conn.all(sql, params![customers.to_vec()]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, display, given, family)| {
            let name =
                crate::identity::full_name(display.as_deref(), given.as_deref(), family.as_deref());
            name.map(|name| (id, name))
        })
        .collect())
}

/// The usable phones of `customers`: (customer, value, first seen, last seen).
pub(crate) async fn phones_of(
    conn: &mut Conn<'_>,
    customers: &[i64],
) -> Result<Vec<(i64, String, i64, i64)>, StoreError> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT customer_id, value, MIN(first_seen), MAX(last_seen) FROM contact_points \
             WHERE kind = 'phone' AND status = 'usable' \
             AND customer_id IN (SELECT value FROM json_each($1)) GROUP BY customer_id, value"
        }
        Backend::Postgres => {
            "SELECT customer_id, value, MIN(first_seen), MAX(last_seen) FROM contact_points \
             WHERE kind = 'phone' AND status = 'usable' AND customer_id = ANY($1) \
             GROUP BY customer_id, value"
        }
    };
    conn.all(sql, params![customers.to_vec()]).await
}

/// The live customer that is a shared mailbox: it has the shared address (`kind`, `value`) and
/// no usable identifier of a person; the oldest such.
pub(crate) async fn mailbox_customer(
    conn: &mut Conn<'_>,
    kind: &str,
    value: &str,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = conn
        .optional(
            "SELECT cp.customer_id FROM contact_points cp JOIN customers c ON c.id = cp.customer_id \
             WHERE cp.kind = $1 AND cp.value = $2 AND c.merged_into IS NULL \
             AND NOT EXISTS (SELECT 1 FROM contact_points o \
                             WHERE o.customer_id = cp.customer_id AND o.status = 'usable') \
             ORDER BY cp.customer_id LIMIT 1",
            params![kind, value],
        )
        .await?;
    Ok(row.map(|(id,)| id))
}

/// Lists `a` and `b` as a possible duplicate for an agent, with the evidence they share; a pair
/// listed before keeps its first evidence and its state (a dismissed pair stays dismissed).
pub(crate) async fn add_possible_duplicate(
    conn: &mut Conn<'_>,
    a: i64,
    b: i64,
    evidence: &str,
    connector: &str,
    at: i64,
) -> Result<(), StoreError> {
    let (a, b) = (a.min(b), a.max(b));
    conn.execute(
        "INSERT INTO possible_duplicates (customer_a, customer_b, evidence, connector_id, status, created_at) \
         VALUES ($1, $2, $3, $4, 'open', $5) ON CONFLICT (customer_a, customer_b) DO NOTHING",
        params![a, b, evidence, connector, at],
    )
    .await?;
    Ok(())
}

/// Pairs (lower id first) an operator separated, among those involving `customers`.
pub(crate) async fn blocks_of(
    conn: &mut Conn<'_>,
    customers: &[i64],
) -> Result<Vec<(i64, i64)>, StoreError> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT customer_a, customer_b FROM merge_blocks \
             WHERE customer_a IN (SELECT value FROM json_each($1)) \
             OR customer_b IN (SELECT value FROM json_each($1))"
        }
        Backend::Postgres => {
            "SELECT customer_a, customer_b FROM merge_blocks \
             WHERE customer_a = ANY($1) OR customer_b = ANY($1)"
        }
    };
    conn.all(sql, params![customers.to_vec()]).await
}

/// A customer's own fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Names<'a> {
    pub display_name: Option<&'a str>,
    pub given_name: Option<&'a str>,
    pub family_name: Option<&'a str>,
    pub locale: Option<&'a str>,
}

/// A new customer; its id.
pub(crate) async fn insert_customer(
    conn: &mut Conn<'_>,
    names: &Names<'_>,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = conn
        .one(
            "INSERT INTO customers (created_at, display_name, given_name, family_name, locale) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            params![
                now_millis(),
                names.display_name,
                names.given_name,
                names.family_name,
                names.locale
            ],
        )
        .await?;
    Ok(id)
}

/// Fills the fields a customer lacks from `names`.
pub(crate) async fn fill_names(
    conn: &mut Conn<'_>,
    customer: i64,
    names: &Names<'_>,
) -> Result<(), StoreError> {
    if *names == Names::default() {
        return Ok(());
    }
    conn.execute(
        "UPDATE customers SET display_name = COALESCE(display_name, $2), given_name = COALESCE(given_name, $3), \
         family_name = COALESCE(family_name, $4), locale = COALESCE(locale, $5) WHERE id = $1 \
         AND (display_name IS NULL OR given_name IS NULL OR family_name IS NULL OR locale IS NULL)",
        params![customer, names.display_name, names.given_name, names.family_name, names.locale],
    )
    .await?;
    Ok(())
}

/// An identifier to record on a customer.
#[derive(Debug, Clone)]
pub(crate) struct NewPoint<'a> {
    pub kind: &'a str,
    pub value: &'a str,
    pub raw: &'a str,
    pub provenance: &'a str,
    /// `usable`, `shared`, `blocked` or `invalid`.
    pub status: &'a str,
    pub reason: Option<&'a str>,
}

/// Records identifiers a customer does not have yet (the caller looked them up).
pub(crate) async fn add_points(
    conn: &mut Conn<'_>,
    customer: i64,
    connector: &str,
    points: &[NewPoint<'_>],
    at: i64,
) -> Result<(), StoreError> {
    for chunk in points.chunks(32) {
        let mut sql = String::from(
            "INSERT INTO contact_points (customer_id, kind, value, raw, verified, source_connector, \
             first_seen, last_seen, status, reason, provenance, verified_by) VALUES ",
        );
        let mut values: Vec<Value<'_>> =
            vec![Value::Int(Some(customer)), Value::Text(Some(connector)), Value::Int(Some(at))];
        for (i, point) in chunk.iter().enumerate() {
            let base = 4 + i * 6;
            let verified = point.provenance == "verified";
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "($1, ${}, ${}, ${}, {}, $2, $3, $3, ${}, ${}, ${}, {})",
                base,
                base + 1,
                base + 2,
                i64::from(verified),
                base + 3,
                base + 4,
                base + 5,
                if verified { "$2" } else { "NULL" }
            ));
            values.extend([
                Value::Text(Some(point.kind)),
                Value::Text(Some(point.value)),
                Value::Text(Some(point.raw)),
                Value::Text(Some(point.status)),
                Value::Text(point.reason),
                Value::Text(Some(point.provenance)),
            ]);
        }
        conn.execute(&sql, &values).await?;
    }
    Ok(())
}

/// Whether `customer` has the identifier already (whatever its status).
pub(crate) async fn has_point(
    conn: &mut Conn<'_>,
    customer: i64,
    kind: &str,
    value: &str,
) -> Result<bool, StoreError> {
    let row: Option<(i64,)> = conn
        .optional(
            "SELECT id FROM contact_points WHERE customer_id = $1 AND kind = $2 AND value = $3 LIMIT 1",
            params![customer, kind, value],
        )
        .await?;
    Ok(row.is_some())
}

/// Marks contact points seen at `at` (never earlier than they were), and verified when a
/// provider vouched for them now (`verified_by`).
pub(crate) async fn touch_points(
    conn: &mut Conn<'_>,
    points: &[i64],
    at: i64,
    verified_by: Option<&str>,
) -> Result<(), StoreError> {
    if points.is_empty() {
        return Ok(());
    }
    let sql = match (conn.backend(), verified_by.is_some()) {
        (Backend::Sqlite, false) => {
            "UPDATE contact_points SET last_seen = $2 \
             WHERE id IN (SELECT value FROM json_each($1)) AND last_seen < $2"
        }
        (Backend::Postgres, false) => {
            "UPDATE contact_points SET last_seen = $2 WHERE id = ANY($1) AND last_seen < $2"
        }
        (Backend::Sqlite, true) => {
            "UPDATE contact_points SET last_seen = MAX(last_seen, $2), verified = 1, \
             provenance = 'verified', verified_by = COALESCE(verified_by, $3) \
             WHERE id IN (SELECT value FROM json_each($1))"
        }
        (Backend::Postgres, true) => {
            "UPDATE contact_points SET last_seen = GREATEST(last_seen, $2), verified = 1, \
             provenance = 'verified', verified_by = COALESCE(verified_by, $3) WHERE id = ANY($1)"
        }
    };
    let values = [Value::Ints(points), Value::Int(Some(at)), Value::Text(verified_by)];
    let used = if verified_by.is_some() { &values[..] } else { &values[..2] };
    conn.execute(sql, used).await?;
    Ok(())
}

/// Records that `connector` knows `customer` by `external_id`, seen at `at`.
pub(crate) async fn touch_channel_account(
    conn: &mut Conn<'_>,
    connector: &str,
    external_id: &str,
    customer: i64,
    at: i64,
) -> Result<(), StoreError> {
    let updated = conn
        .execute(
            "UPDATE channel_accounts SET last_seen = $4 \
             WHERE connector_id = $1 AND external_id = $2 AND customer_id = $3 AND last_seen < $4",
            params![connector, external_id, customer, at],
        )
        .await?;
    if updated > 0 {
        return Ok(());
    }
    let known: Option<(i64,)> = conn
        .optional(
            "SELECT id FROM channel_accounts WHERE connector_id = $1 AND external_id = $2 AND customer_id = $3 LIMIT 1",
            params![connector, external_id, customer],
        )
        .await?;
    if known.is_none() {
        conn.execute(
            "INSERT INTO channel_accounts (connector_id, external_id, customer_id, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $4)",
            params![connector, external_id, customer, at],
        )
        .await?;
    }
    Ok(())
}

/// Sets an attribute, one value per key and source.
pub(crate) async fn set_attribute(
    conn: &mut Conn<'_>,
    customer: i64,
    key: &str,
    value: &str,
    connector: &str,
    at: i64,
) -> Result<(), StoreError> {
    let updated = conn
        .execute(
            "UPDATE customer_attributes SET value = $3, updated_at = $5 \
             WHERE customer_id = $1 AND key = $2 AND source_connector = $4",
            params![customer, key, value, connector, at],
        )
        .await?;
    if updated == 0 {
        conn.execute(
            "INSERT INTO customer_attributes (customer_id, key, value, source_connector, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
            params![customer, key, value, connector, at],
        )
        .await?;
    }
    Ok(())
}

/// A record's stored state, by its provider id.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub id: i64,
    pub hash: String,
    pub customer: Option<i64>,
    /// When its stored state was reached: an interaction's latest amendment, else when it
    /// occurred.
    pub at: i64,
}

/// The tables whose records are upserted by (connector, provider id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Interactions,
    Shipments,
    Payments,
    Consents,
}

impl Table {
    fn state_sql(self) -> &'static str {
        match self {
            Table::Interactions => {
                "SELECT id, content_hash, customer_id, COALESCE(updated_at, occurred_at) FROM interactions \
                 WHERE connector_id = $1 AND provider_id = $2"
            }
            Table::Shipments => {
                "SELECT id, content_hash, customer_id, occurred_at FROM shipments \
                 WHERE connector_id = $1 AND provider_id = $2"
            }
            Table::Payments => {
                "SELECT id, content_hash, customer_id, occurred_at FROM payments \
                 WHERE connector_id = $1 AND provider_id = $2"
            }
            Table::Consents => {
                "SELECT id, content_hash, customer_id, occurred_at FROM consents \
                 WHERE connector_id = $1 AND provider_id = $2"
            }
        }
    }
}

/// The stored state of a record of `table`.
pub(crate) async fn stored(
    conn: &mut Conn<'_>,
    table: Table,
    connector: &str,
    provider_id: &str,
) -> Result<Option<Stored>, StoreError> {
    let row: Option<(i64, String, Option<i64>, i64)> =
        conn.optional(table.state_sql(), params![connector, provider_id]).await?;
    Ok(row.map(|(id, hash, customer, at)| Stored { id, hash, customer, at }))
}

/// The content hash a contact update was stored with, if it was.
pub(crate) async fn contact_event(
    conn: &mut Conn<'_>,
    connector: &str,
    provider_id: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = conn
        .optional(
            "SELECT content_hash FROM contact_events WHERE connector_id = $1 AND provider_id = $2",
            params![connector, provider_id],
        )
        .await?;
    Ok(row.map(|(hash,)| hash))
}

/// Records a contact update (or its new content).
pub(crate) async fn put_contact_event(
    conn: &mut Conn<'_>,
    connector: &str,
    provider_id: &str,
    customer: i64,
    hash: &str,
    at: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO contact_events (connector_id, provider_id, customer_id, content_hash, occurred_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (connector_id, provider_id) \
         DO UPDATE SET customer_id = excluded.customer_id, content_hash = excluded.content_hash, \
         occurred_at = excluded.occurred_at",
        params![connector, provider_id, customer, hash, at],
    )
    .await?;
    Ok(())
}

/// An interaction's columns.
pub(crate) struct InteractionRow<'a> {
    pub customer: i64,
    pub linked_by: &'a str,
    pub kind: &'a str,
    pub direction: &'a str,
    pub channel: &'a str,
    pub thread_id: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub body: Option<&'a str>,
    pub status: Option<&'a str>,
    pub attachments: &'a str,
    pub attributes: &'a str,
    pub hash: &'a str,
    pub at: i64,
}

/// A new interaction; its id.
pub(crate) async fn insert_interaction(
    conn: &mut Conn<'_>,
    connector: &str,
    provider_id: &str,
    row: &InteractionRow<'_>,
    conversation: Option<i64>,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = conn
        .one(
            "INSERT INTO interactions (customer_id, linked_by, kind, direction, channel, thread_id, \
             subject, body, status, attachments, attributes, content_hash, updated_at, connector_id, \
             provider_id, occurred_at, created_at, conversation_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $13, $16, $17) RETURNING id",
            params![
                row.customer,
                row.linked_by,
                row.kind,
                row.direction,
                row.channel,
                row.thread_id,
                row.subject,
                row.body,
                row.status,
                row.attachments,
                row.attributes,
                row.hash,
                row.at,
                connector,
                provider_id,
                now_millis(),
                conversation
            ],
        )
        .await?;
    Ok(id)
}

/// A later state of an interaction: what it does not carry (a delivery status has no text)
/// is kept; the first time it was seen stays its place on the timeline.
pub(crate) async fn update_interaction(
    conn: &mut Conn<'_>,
    id: i64,
    row: &InteractionRow<'_>,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE interactions SET customer_id = $2, linked_by = $3, kind = $4, direction = $5, \
         channel = $6, thread_id = COALESCE($7, thread_id), subject = COALESCE($8, subject), \
         body = COALESCE($9, body), status = COALESCE($10, status), attachments = $11, \
         attributes = $12, content_hash = $13, updated_at = $14 WHERE id = $1",
        params![
            id,
            row.customer,
            row.linked_by,
            row.kind,
            row.direction,
            row.channel,
            row.thread_id,
            row.subject,
            row.body,
            row.status,
            row.attachments,
            row.attributes,
            row.hash,
            row.at
        ],
    )
    .await?;
    Ok(())
}

/// An order's stored state.
pub(crate) struct StoredOrder {
    pub id: i64,
    pub hash: String,
    pub customer: i64,
    pub updated_at: i64,
    pub address: Option<String>,
}

/// The stored state of an order.
pub(crate) async fn stored_order(
    conn: &mut Conn<'_>,
    connector: &str,
    provider_id: &str,
) -> Result<Option<StoredOrder>, StoreError> {
    let row: Option<(i64, String, i64, i64, Option<String>)> = conn
        .optional(
            "SELECT id, content_hash, customer_id, updated_at, delivery_address FROM orders \
             WHERE connector_id = $1 AND provider_id = $2",
            params![connector, provider_id],
        )
        .await?;
    Ok(row.map(|(id, hash, customer, updated_at, address)| StoredOrder {
        id,
        hash,
        customer,
        updated_at,
        address,
    }))
}

/// An order's columns.
pub(crate) struct OrderRow<'a> {
    pub customer: i64,
    pub linked_by: &'a str,
    pub number: Option<&'a str>,
    pub status: &'a str,
    pub total_minor: i64,
    pub currency: &'a str,
    pub placed_at: i64,
    pub updated_at: i64,
    pub address: Option<&'a str>,
    pub attributes: &'a str,
    pub hash: &'a str,
}

/// A new order; its id.
pub(crate) async fn insert_order(
    conn: &mut Conn<'_>,
    connector: &str,
    provider_id: &str,
    row: &OrderRow<'_>,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = conn
        .one(
            "INSERT INTO orders (connector_id, provider_id, customer_id, linked_by, number, status, \
             total_minor, currency, placed_at, updated_at, delivery_address, attributes, content_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
            params![
                connector,
                provider_id,
                row.customer,
                row.linked_by,
                row.number,
                row.status,
                row.total_minor,
                row.currency,
                row.placed_at,
                row.updated_at,
                row.address,
                row.attributes,
                row.hash,
                now_millis()
            ],
        )
        .await?;
    Ok(id)
}

/// A newer state of an order; a new delivery address clears the old point, so the address
/// joins the geocoding queue again.
pub(crate) async fn update_order(
    conn: &mut Conn<'_>,
    id: i64,
    row: &OrderRow<'_>,
    moved: bool,
) -> Result<(), StoreError> {
    if moved {
        conn.execute(
            "UPDATE orders SET latitude = NULL, longitude = NULL, place_name = NULL, \
             geocoded_by = NULL, geocoded_at = NULL, geocode_error = NULL, \
             geocode_attempts = 0 WHERE id = $1",
            params![id],
        )
        .await?;
    }
    conn.execute(
        "UPDATE orders SET customer_id = $2, linked_by = $3, number = $4, status = $5, total_minor = $6, \
         currency = $7, placed_at = $8, updated_at = $9, delivery_address = $10, attributes = $11, \
         content_hash = $12 WHERE id = $1",
        params![
            id,
            row.customer,
            row.linked_by,
            row.number,
            row.status,
            row.total_minor,
            row.currency,
            row.placed_at,
            row.updated_at,
            row.address,
            row.attributes,
            row.hash
        ],
    )
    .await?;
    conn.execute("DELETE FROM order_lines WHERE order_id = $1", params![id]).await?;
    Ok(())
}

/// One line of an order.
pub(crate) struct LineRow<'a> {
    pub sku: Option<&'a str>,
    pub name: &'a str,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub currency: &'a str,
}

/// The lines of an order (after [`update_order`] removed the old ones).
pub(crate) async fn insert_lines(
    conn: &mut Conn<'_>,
    order: i64,
    lines: &[LineRow<'_>],
) -> Result<(), StoreError> {
    for (chunk_index, chunk) in lines.chunks(64).enumerate() {
        let mut sql = String::from(
            "INSERT INTO order_lines (order_id, position, sku, name, quantity, unit_price_minor, currency) VALUES ",
        );
        let mut values: Vec<Value<'_>> = vec![Value::Int(Some(order))];
        for (i, line) in chunk.iter().enumerate() {
            let base = 2 + i * 6;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "($1, ${}, ${}, ${}, ${}, ${}, ${})",
                base,
                base + 1,
                base + 2,
                base + 3,
                base + 4,
                base + 5
            ));
            values.extend([
                Value::Int(Some((chunk_index * 64 + i) as i64)),
                Value::Text(line.sku),
                Value::Text(Some(line.name)),
                Value::Int(Some(line.quantity)),
                Value::Int(Some(line.unit_price_minor)),
                Value::Text(Some(line.currency)),
            ]);
        }
        conn.execute(&sql, &values).await?;
    }
    Ok(())
}

/// Shipments and payments that arrived before their order attach to it now (by any of the
/// order's references); a record keeps the customer its own identifiers resolved to, and one
/// that named nobody becomes the buyer's. Carriers' reports naming no order (EasyPost) join it
/// through another report of the same parcel.
pub(crate) async fn attach_waiting(
    conn: &mut Conn<'_>,
    order: i64,
    customer: i64,
    linked_by: &str,
    references: &[String],
) -> Result<(), StoreError> {
    let (shipments, payments) = match conn.backend() {
        Backend::Sqlite => (
            "UPDATE shipments SET order_id = $1, customer_id = COALESCE(customer_id, $2), \
             linked_by = COALESCE(linked_by, $3) WHERE order_id IS NULL \
             AND order_ref IN (SELECT value FROM json_each($4))",
            "UPDATE payments SET order_id = $1, customer_id = COALESCE(customer_id, $2), \
             linked_by = COALESCE(linked_by, $3) WHERE order_id IS NULL \
             AND order_ref IN (SELECT value FROM json_each($4))",
        ),
        Backend::Postgres => (
            "UPDATE shipments SET order_id = $1, customer_id = COALESCE(customer_id, $2), \
             linked_by = COALESCE(linked_by, $3) WHERE order_id IS NULL AND order_ref = ANY($4)",
            "UPDATE payments SET order_id = $1, customer_id = COALESCE(customer_id, $2), \
             linked_by = COALESCE(linked_by, $3) WHERE order_id IS NULL AND order_ref = ANY($4)",
        ),
    };
    let references = references.to_vec();
    conn.execute(shipments, params![order, customer, linked_by, references]).await?;
    conn.execute(payments, params![order, customer, linked_by, references]).await?;
    conn.execute(
        "UPDATE shipments SET order_id = $1, customer_id = COALESCE(customer_id, $2), \
         linked_by = COALESCE(linked_by, $3) WHERE order_id IS NULL AND tracking_number IN \
         (SELECT tracking_number FROM shipments WHERE order_id = $1)",
        params![order, customer, linked_by],
    )
    .await?;
    Ok(())
}

/// The order a shipment or payment names — by the shop's provider id, or by the number the
/// customer sees, with or without its `#` — as (id, customer, how to name it), among the
/// orders of `connectors` (all orders when `None`).
pub(crate) async fn order_by_reference(
    conn: &mut Conn<'_>,
    reference: &str,
    connectors: Option<&[String]>,
) -> Result<Vec<(i64, i64, String, String)>, StoreError> {
    let hashed = format!("#{}", reference.trim_start_matches('#'));
    let bare = reference.trim_start_matches('#');
    let all: Vec<(i64, i64, String, String)> = conn
        .all(
            "SELECT id, customer_id, COALESCE(number, provider_id), connector_id FROM orders \
             WHERE provider_id = $1 OR number = $1 OR number = $2 OR number = $3 ORDER BY id LIMIT 20",
            params![reference, hashed, bare],
        )
        .await?;
    Ok(match connectors {
        None => all,
        Some(allowed) => all.into_iter().filter(|(.., c)| allowed.contains(c)).collect(),
    })
}

/// The first report of the same parcel that names its order: (order, customer).
pub(crate) async fn sibling_shipment(
    conn: &mut Conn<'_>,
    tracking_number: &str,
) -> Result<Option<(i64, Option<i64>)>, StoreError> {
    conn.optional(
        "SELECT order_id, customer_id FROM shipments \
         WHERE tracking_number = $1 AND order_id IS NOT NULL ORDER BY id LIMIT 1",
        params![tracking_number],
    )
    .await
}

/// A shipment's columns.
pub(crate) struct ShipmentRow<'a> {
    pub order_ref: Option<&'a str>,
    pub order: Option<i64>,
    pub customer: Option<i64>,
    pub linked_by: Option<&'a str>,
    pub carrier: &'a str,
    pub tracking_number: &'a str,
    pub status: &'a str,
    pub eta: Option<i64>,
    pub at: i64,
    pub attributes: &'a str,
    pub hash: &'a str,
}

/// Inserts a shipment, or amends the stored one (`existing`).
pub(crate) async fn put_shipment(
    conn: &mut Conn<'_>,
    connector: &str,
    provider_id: &str,
    existing: Option<i64>,
    row: &ShipmentRow<'_>,
) -> Result<(), StoreError> {
    match existing {
        Some(id) => {
            conn.execute(
                "UPDATE shipments SET order_ref = $2, order_id = COALESCE($3, order_id), \
                 customer_id = COALESCE($4, customer_id), linked_by = COALESCE($5, linked_by), carrier = $6, \
                 tracking_number = $7, status = $8, eta = $9, occurred_at = $10, attributes = $11, \
                 content_hash = $12 WHERE id = $1",
                params![
                    id,
                    row.order_ref,
                    row.order,
                    row.customer,
                    row.linked_by,
                    row.carrier,
                    row.tracking_number,
                    row.status,
                    row.eta,
                    row.at,
                    row.attributes,
                    row.hash
                ],
            )
            .await?;
        }
        None => {
            conn.execute(
                "INSERT INTO shipments (connector_id, provider_id, order_ref, order_id, customer_id, linked_by, \
                 carrier, tracking_number, status, eta, occurred_at, attributes, content_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                params![
                    connector,
                    provider_id,
                    row.order_ref,
                    row.order,
                    row.customer,
                    row.linked_by,
                    row.carrier,
                    row.tracking_number,
                    row.status,
                    row.eta,
                    row.at,
                    row.attributes,
                    row.hash,
                    now_millis()
                ],
            )
            .await?;
        }
    }
    if let Some(order) = row.order {
        conn.execute(
            "UPDATE shipments SET order_id = $1, customer_id = COALESCE(customer_id, $2), \
             linked_by = COALESCE(linked_by, $3) WHERE order_id IS NULL AND tracking_number = $4",
            params![
                order,
                row.customer,
                format!("tracking number {}", row.tracking_number),
                row.tracking_number
            ],
        )
        .await?;
    }
    Ok(())
}

/// A payment's columns.
pub(crate) struct PaymentRow<'a> {
    pub customer: Option<i64>,
    pub linked_by: Option<&'a str>,
    pub order_ref: Option<&'a str>,
    pub order: Option<i64>,
    pub status: &'a str,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub currency: &'a str,
    pub at: i64,
    pub attributes: &'a str,
    pub hash: &'a str,
}

/// An older state of a payment delivered late: it changes nothing it reports, but names the
/// payer or the order where the stored state does not.
pub(crate) async fn fill_payment(
    conn: &mut Conn<'_>,
    id: i64,
    row: &PaymentRow<'_>,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE payments SET customer_id = COALESCE(customer_id, $2), linked_by = COALESCE(linked_by, $3), \
         order_ref = COALESCE(order_ref, $4), order_id = COALESCE(order_id, $5) WHERE id = $1",
        params![id, row.customer, row.linked_by, row.order_ref, row.order],
    )
    .await?;
    Ok(())
}

/// Inserts a payment, or amends the stored one (`existing`).
pub(crate) async fn put_payment(
    conn: &mut Conn<'_>,
    connector: &str,
    provider_id: &str,
    existing: Option<i64>,
    row: &PaymentRow<'_>,
) -> Result<(), StoreError> {
    match existing {
        Some(id) => conn.execute(
            "UPDATE payments SET customer_id = COALESCE($2, customer_id), linked_by = COALESCE($3, linked_by), \
             order_ref = COALESCE($4, order_ref), order_id = COALESCE($5, order_id), status = $6, \
             amount_minor = $7, refunded_minor = $8, currency = $9, occurred_at = $10, attributes = $11, \
             content_hash = $12 WHERE id = $1",
            params![
                id,
                row.customer,
                row.linked_by,
                row.order_ref,
                row.order,
                row.status,
                row.amount_minor,
                row.refunded_minor,
                row.currency,
                row.at,
                row.attributes,
                row.hash
            ],
        )
        .await?,
        None => conn.execute(
            "INSERT INTO payments (connector_id, provider_id, customer_id, linked_by, order_ref, order_id, \
             status, amount_minor, refunded_minor, currency, occurred_at, attributes, content_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            params![
                connector,
                provider_id,
                row.customer,
                row.linked_by,
                row.order_ref,
                row.order,
                row.status,
                row.amount_minor,
                row.refunded_minor,
                row.currency,
                row.at,
                row.attributes,
                row.hash,
                now_millis()
            ],
        )
        .await?,
    };
    Ok(())
}

/// A consent's columns.
pub(crate) struct ConsentRow<'a> {
    pub customer: i64,
    pub linked_by: &'a str,
    pub channel: &'a str,
    pub state: &'a str,
    pub reason: Option<&'a str>,
    pub at: i64,
    pub hash: &'a str,
}

/// Inserts a consent, or amends the stored one (`existing`).
pub(crate) async fn put_consent(
    conn: &mut Conn<'_>,
    connector: &str,
    provider_id: &str,
    existing: Option<i64>,
    row: &ConsentRow<'_>,
) -> Result<(), StoreError> {
    match existing {
        Some(id) => conn.execute(
            "UPDATE consents SET customer_id = $2, linked_by = $3, channel = $4, state = $5, reason = $6, \
             occurred_at = $7, content_hash = $8 WHERE id = $1",
            params![id, row.customer, row.linked_by, row.channel, row.state, row.reason, row.at, row.hash],
        )
        .await?,
        None => conn.execute(
            "INSERT INTO consents (customer_id, linked_by, channel, state, reason, occurred_at, content_hash, \
             connector_id, provider_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            params![
                row.customer,
                row.linked_by,
                row.channel,
                row.state,
                row.reason,
                row.at,
                row.hash,
                connector,
                provider_id,
                now_millis()
            ],
        )
        .await?,
    };
    Ok(())
}

/// Stores what a connector's call wrote to its key-value state, in the caller's transaction.
pub(crate) async fn apply_kv(
    conn: &mut Conn<'_>,
    connector: &str,
    writes: &crate::runtime::KvWrites,
) -> Result<(), StoreError> {
    for (key, value) in &writes.0 {
        match value {
            Some(value) => {
                conn.execute(
                    "INSERT INTO connector_kv (connector_id, key, value, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (connector_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    params![connector, key.as_str(), value.as_slice(), now_millis()],
                )
                .await?;
            }
            None => {
                conn.execute(
                    "DELETE FROM connector_kv WHERE connector_id = $1 AND key = $2",
                    params![connector, key.as_str()],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Stores a poll's next cursor, in the caller's transaction.
pub(crate) async fn set_cursor(
    conn: &mut Conn<'_>,
    connector: &str,
    cursor: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO poll_cursors (connector_id, cursor, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (connector_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        params![connector, cursor, now_millis()],
    )
    .await?;
    Ok(())
}
