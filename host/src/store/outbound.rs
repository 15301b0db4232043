//! What sending and reporting need from the store: how a customer can be reached, recording an
//! outbound message on the timeline, and per-connector statistics.

use std::collections::BTreeMap;

use serde::Serialize;

use super::sql::params;
use super::{Store, StoreError, now_millis, read_job, write_job};
use crate::model::{Identifier, Interaction};

/// How a customer can be reached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Every identifier of the customer, strongest first: external ids (`namespace`, `value`),
    /// e-mails, phones.
    pub identifiers: Vec<Identifier>,
    /// Connectors the customer wrote in through, most recent first.
    pub inbound_connectors: Vec<String>,
}

/// The conversation to continue on a connector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thread {
    /// The latest thread id.
    pub thread_id: Option<String>,
    /// The latest inbound message's provider id, to answer.
    pub in_reply_to: Option<String>,
    /// Provider ids of the thread, oldest first.
    pub references: Vec<String>,
}

/// Figures of one connector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConnectorStats {
    /// Live customers with at least one record through it.
    pub customers: i64,
    /// Interactions.
    pub interactions: i64,
    /// Orders.
    pub orders: i64,
    /// Payments (of a payment processor's connector).
    pub payments: i64,
    /// Revenue per currency (minor units), paid and later statuses.
    pub revenue: BTreeMap<String, i64>,
    /// Automatic merges its events caused.
    pub merges: i64,
}

/// Figures of the whole store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Stats {
    /// Live customers.
    pub customers: i64,
    /// Merges in effect (not undone).
    pub merges: i64,
    /// Per connector id.
    pub connectors: BTreeMap<String, ConnectorStats>,
}

impl Store {
    /// The identifiers and inbound channels of a live customer.
    pub async fn reach(&self, customer: i64) -> Result<Reach, StoreError> {
        self.read(read_job!(|conn| async move {
        let (merged,): (Option<i64>,) =
            conn.optional("SELECT merged_into FROM customers WHERE id = $1", params![customer])
                .await?
                .ok_or(StoreError::CustomerNotFound(customer))?;
        if merged.is_some() {
            return Err(StoreError::CustomerNotFound(customer));
        }
        let points: Vec<(String, String, String)> = conn.all("SELECT kind, value, MIN(raw) FROM contact_points WHERE customer_id = $1 GROUP BY kind, value \
             ORDER BY CASE kind WHEN 'external' THEN 0 WHEN 'email' THEN 1 ELSE 2 END, MAX(last_seen) DESC, value", params![customer])
        .await?;
        let identifiers = points
            .into_iter()
            .map(|(kind, value, _)| match kind.as_str() {
                "external" => {
                    let (namespace, id) = value.rsplit_once(':').unwrap_or(("", value.as_str()));
                    Identifier::External { namespace: namespace.into(), value: id.into() }
                }
                "email" => Identifier::Email { value },
                _ => Identifier::Phone { value },
            })
            .collect();
        let inbound: Vec<(String, i64)> = conn.all("SELECT connector_id, MAX(occurred_at) FROM interactions WHERE customer_id = $1 AND direction = 'inbound' \
             GROUP BY connector_id ORDER BY MAX(occurred_at) DESC, connector_id", params![customer])
        .await?;
        Ok(Reach { identifiers, inbound_connectors: inbound.into_iter().map(|(c, _)| c).collect() })
        }))
        .await
    }

    /// The latest conversation of `customer` on `connector`.
    pub async fn thread(&self, customer: i64, connector: &str) -> Result<Thread, StoreError> {
        let connector = connector.to_string();
        self.read(read_job!(|conn| async move {
        let latest: Option<(Option<String>,)> = conn.optional("SELECT thread_id FROM interactions WHERE customer_id = $1 AND connector_id = $2 \
             ORDER BY occurred_at DESC, id DESC LIMIT 1", params![customer, connector])
        .await?;
        let Some((Some(thread_id),)) = latest else { return Ok(Thread::default()) };
        let messages: Vec<(String, String)> = conn.all("SELECT provider_id, direction FROM interactions WHERE customer_id = $1 AND connector_id = $2 \
             AND thread_id = $3 ORDER BY occurred_at, id", params![customer, connector, thread_id])
        .await?;
        let in_reply_to =
            messages.iter().rev().find(|(_, d)| d == "inbound").map(|(id, _)| id.clone());
        Ok(Thread {
            thread_id: Some(thread_id),
            in_reply_to,
            references: messages.into_iter().map(|(id, _)| id).collect(),
        })
        }))
        .await
    }

    /// Records a message the company sent to `customer` through `connector`.
    pub async fn record_outbound(
        &self,
        customer: i64,
        connector: &str,
        interaction: &Interaction,
    ) -> Result<i64, StoreError> {
        let (connector, interaction) = (connector.to_string(), interaction.clone());
        self.write(vec![], write_job!(|tx| {
            let (connector, interaction) = (connector.clone(), interaction.clone());
            async move {
            let (id,): (i64,) = tx.one("INSERT INTO interactions (customer_id, linked_by, kind, direction, channel, thread_id, subject, body, \
                 status, attachments, attributes, content_hash, connector_id, provider_id, occurred_at, created_at) \
                 VALUES ($1, 'sent by an operator', 'message', 'outbound', $2, $3, $4, $5, $6, '[]', '[]', '', $7, $8, $9, $10) \
                 RETURNING id", params![customer, interaction.channel, interaction.thread_id, interaction.subject, interaction.text, interaction.status, connector, interaction.provider_id, interaction.occurred_at, now_millis()])
            .await?;
            Ok(id)
            }
        }))
        .await
    }

    /// Customers, records, revenue and merges, per connector.
    pub async fn stats(&self) -> Result<Stats, StoreError> {
        self.read(read_job!(|conn| async move {
        let (customers,): (i64,) =
            conn.one("SELECT COUNT(*) FROM customers WHERE merged_into IS NULL", params![])
                .await?;
        let (merges,): (i64,) =
            conn.one("SELECT COUNT(*) FROM merges WHERE undone_at IS NULL", params![])
                .await?;
        let mut stats = Stats { customers, merges, connectors: BTreeMap::new() };
        let per_connector: Vec<(String, i64)> = conn.all("SELECT connector_id, COUNT(DISTINCT customer_id) FROM ( \
               SELECT connector_id, customer_id FROM interactions UNION ALL SELECT connector_id, customer_id FROM orders \
               UNION ALL SELECT connector_id, customer_id FROM shipments WHERE customer_id IS NOT NULL \
               UNION ALL SELECT connector_id, customer_id FROM consents UNION ALL SELECT connector_id, customer_id FROM contact_events \
               UNION ALL SELECT connector_id, customer_id FROM payments WHERE customer_id IS NOT NULL \
             ) AS records GROUP BY connector_id", params![])
        .await?;
        for (connector, count) in per_connector {
            stats.connectors.entry(connector).or_default().customers = count;
        }
        let interactions: Vec<(String, i64)> =
            conn.all("SELECT connector_id, COUNT(*) FROM interactions GROUP BY connector_id", params![])
                .await?;
        for (connector, count) in interactions {
            stats.connectors.entry(connector).or_default().interactions = count;
        }
        let orders: Vec<(String, i64)> =
            conn.all("SELECT connector_id, COUNT(*) FROM orders GROUP BY connector_id", params![])
                .await?;
        for (connector, count) in orders {
            stats.connectors.entry(connector).or_default().orders = count;
        }
        let payments: Vec<(String, i64)> =
            conn.all("SELECT connector_id, COUNT(*) FROM payments GROUP BY connector_id", params![])
                .await?;
        for (connector, count) in payments {
            stats.connectors.entry(connector).or_default().payments = count;
        }
        let revenue: Vec<(String, String, i64)> = conn.all("SELECT connector_id, currency, CAST(SUM(total_minor) AS BIGINT) FROM orders \
             WHERE status IN ('paid', 'processing', 'shipped', 'delivered', 'completed') GROUP BY connector_id, currency", params![])
        .await?;
        for (connector, currency, amount) in revenue {
            stats.connectors.entry(connector).or_default().revenue.insert(currency, amount);
        }
        let auto: Vec<(String,)> =
            conn.all("SELECT reason FROM merges WHERE undone_at IS NULL AND actor = 'auto'", params![])
                .await?;
        for (reason,) in auto {
            // Reasons end with "(event {id} from {connector})".
            if let Some(connector) = reason.rsplit(" from ").next().map(|r| r.trim_end_matches(')'))
                && let Some(entry) = stats.connectors.get_mut(connector)
            {
                entry.merges += 1;
            }
        }
        Ok(stats)
        }))
        .await
    }
}
