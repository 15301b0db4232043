//! Reports: per channel, team or agent over a period — conversations opened and resolved,
//! first response and resolution times (median and 90th percentile), the share of SLA targets
//! met, customers counted once however many channels they used; and per channel the orders,
//! buyers and revenue.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::store::{Conn, Store, StoreError, params, read_job};

/// What a report groups by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// The connector a conversation started on.
    #[default]
    Channel,
    /// The responsible team.
    Team,
    /// The assignee.
    Agent,
}

/// Durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Durations {
    /// How many.
    pub count: i64,
    /// The median.
    pub median_ms: Option<i64>,
    /// The 90th percentile.
    pub p90_ms: Option<i64>,
}

impl Durations {
    fn of(mut samples: Vec<i64>) -> Self {
        samples.sort_unstable();
        let at = |q: f64| -> Option<i64> {
            if samples.is_empty() {
                return None;
            }
            // Nearest rank: the smallest value at or above the q-th share of the samples.
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            Some(samples[rank - 1])
        };
        Durations { count: samples.len() as i64, median_ms: at(0.5), p90_ms: at(0.9) }
    }
}

/// Money in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Amount {
    /// ISO 4217.
    pub currency: String,
    /// Minor units (summed without overflow).
    #[schema(value_type = i64)]
    pub amount_minor: i128,
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    /// The connector id, team id or user id (`none` for conversations of no team or agent).
    pub key: String,
    /// Its name, when it has one.
    pub name: Option<String>,
    /// Conversations opened in the period.
    pub opened: i64,
    /// Conversations resolved in the period.
    pub resolved: i64,
    /// Customers with a conversation opened in the period, each counted once.
    pub customers: i64,
    /// First response time of the conversations opened in the period that got one.
    pub first_response: Durations,
    /// Resolution time of the conversations resolved in the period.
    pub resolution: Durations,
    /// SLA targets that came due in the period (first responses and resolutions).
    pub sla_targets: i64,
    /// Of which met, in percent (none without targets).
    pub sla_met_percent: Option<f64>,
    /// Orders placed in the period (`channel` reports).
    pub orders: Option<i64>,
    /// Buyers of those orders, each counted once.
    pub buyers: Option<i64>,
    /// Their revenue per currency (paid and later statuses).
    pub revenue: Option<Vec<Amount>>,
}

/// A report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// From (ms, inclusive).
    pub from: i64,
    /// To (ms, exclusive).
    pub to: i64,
    /// What the rows are.
    pub group: Group,
    /// One per channel, team or agent, by key.
    pub rows: Vec<ReportRow>,
    /// The whole period: customers and buyers counted once across every row.
    pub total: ReportRow,
}

#[derive(Default)]
struct Tally {
    opened: i64,
    resolved: i64,
    customers: BTreeSet<i64>,
    first_response: Vec<i64>,
    resolution: Vec<i64>,
    targets: i64,
    met: i64,
    orders: i64,
    buyers: BTreeSet<i64>,
    revenue: BTreeMap<String, i128>,
}

impl Tally {
    fn row(self, key: String, name: Option<String>, commerce: bool) -> ReportRow {
        ReportRow {
            key,
            name,
            opened: self.opened,
            resolved: self.resolved,
            customers: self.customers.len() as i64,
            first_response: Durations::of(self.first_response),
            resolution: Durations::of(self.resolution),
            sla_targets: self.targets,
            sla_met_percent: (self.targets > 0)
                .then(|| 100.0 * self.met as f64 / self.targets as f64),
            orders: commerce.then_some(self.orders),
            buyers: commerce.then_some(self.buyers.len() as i64),
            revenue: commerce.then(|| {
                self.revenue
                    .into_iter()
                    .map(|(currency, amount_minor)| Amount { currency, amount_minor })
                    .collect()
            }),
        }
    }
}

type ConversationFacts = (
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    bool,
    bool,
);

impl Store {
    /// The report of `[from, to)` grouped by `group`.
    pub async fn report(&self, from: i64, to: i64, group: Group) -> Result<Report, StoreError> {
        self.read(read_job!(|conn| async move { report(conn, from, to, group).await })).await
    }
}

async fn report(
    conn: &mut Conn<'_>,
    from: i64,
    to: i64,
    group: Group,
) -> Result<Report, StoreError> {
    // Every conversation that opened, was answered, resolved or came due in the period.
    let rows: Vec<ConversationFacts> = conn
        .all(
            "SELECT customer_id, opened_connector, team_id, assignee_id, created_at, first_response_at, resolved_at, \
             first_response_due, resolution_due, first_response_breached, resolution_breached FROM conversations \
             WHERE merged_into IS NULL AND ((created_at >= $1 AND created_at < $2) OR (resolved_at >= $1 AND resolved_at < $2) \
             OR (first_response_at >= $1 AND first_response_at < $2) \
             OR (first_response_due >= $1 AND first_response_due < $2) OR (resolution_due >= $1 AND resolution_due < $2))",
            params![from, to],
        )
        .await?;
    let within = |t: Option<i64>| t.is_some_and(|t| t >= from && t < to);
    let now = crate::store::now_millis();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for (
        customer,
        connector,
        team,
        assignee,
        created,
        responded,
        resolved,
        fr_due,
        res_due,
        fr_breached,
        res_breached,
    ) in rows
    {
        let key = match group {
            Group::Channel => connector.unwrap_or_else(|| "none".into()),
            Group::Team => team.map_or_else(|| "none".into(), |t| t.to_string()),
            Group::Agent => assignee.map_or_else(|| "none".into(), |a| a.to_string()),
        };
        for tally in [tallies.entry(key).or_default(), &mut total] {
            if within(Some(created)) {
                tally.opened += 1;
                tally.customers.insert(customer);
                if let Some(at) = responded {
                    tally.first_response.push(at - created);
                }
            }
            if let Some(at) = resolved.filter(|t| within(Some(*t))) {
                tally.resolved += 1;
                tally.resolution.push(at - created);
            }
            // A target met counts in the period it was met; one missed, in the period it came
            // due; one neither met nor due yet does not count.
            for (due, done, breached) in
                [(fr_due, responded, fr_breached), (res_due, resolved, res_breached)]
            {
                let Some(due) = due else { continue };
                let met = !breached && done.is_some_and(|t| t <= due);
                if met && within(done) {
                    tally.targets += 1;
                    tally.met += 1;
                } else if !met && within(Some(due)) && (breached || done.is_some() || due < now) {
                    tally.targets += 1;
                }
            }
        }
    }
    let commerce = group == Group::Channel;
    if commerce {
        // Revenue summed as two halves that cannot overflow, joined exactly in 128 bits.
        let orders: Vec<(String, i64, String, i64, i64, String)> = conn
            .all(
                &format!(
                    "SELECT connector_id, customer_id, currency, {high}, {low}, status FROM orders \
                     WHERE placed_at >= $1 AND placed_at < $2",
                    high = split("total_minor", true),
                    low = split("total_minor", false)
                ),
                params![from, to],
            )
            .await?;
        for (connector, customer, currency, high, low, status) in orders {
            let amount = i128::from(high) * 1_000_000_000 + i128::from(low);
            let counted = matches!(
                status.as_str(),
                "paid" | "processing" | "shipped" | "delivered" | "completed"
            );
            for tally in [tallies.entry(connector.clone()).or_default(), &mut total] {
                tally.orders += 1;
                tally.buyers.insert(customer);
                if counted {
                    *tally.revenue.entry(currency.clone()).or_default() += amount;
                }
            }
        }
    }
    let names = match group {
        Group::Channel => BTreeMap::new(),
        Group::Team => named(conn, "teams").await?,
        Group::Agent => named(conn, "users").await?,
    };
    let rows = tallies
        .into_iter()
        .map(|(key, tally)| {
            let name = names.get(&key).cloned();
            tally.row(key, name, commerce)
        })
        .collect();
    Ok(Report { from, to, group, rows, total: total.row("all".into(), None, commerce) })
}

/// The billions (`high`) or the rest of a column, each safe to sum.
fn split(column: &str, high: bool) -> String {
    if high { format!("({column} / 1000000000)") } else { format!("({column} % 1000000000)") }
}

async fn named(conn: &mut Conn<'_>, table: &str) -> Result<BTreeMap<String, String>, StoreError> {
    let rows: Vec<(i64, String)> =
        conn.all(&format!("SELECT id, name FROM {table}"), params![]).await?;
    Ok(rows.into_iter().map(|(id, name)| (id.to_string(), name)).collect())
}

#[cfg(test)]
mod tests {
    use super::Durations;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let d = Durations::of(vec![5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
        assert_eq!((d.count, d.median_ms, d.p90_ms), (10, Some(5), Some(9)));
        assert_eq!(Durations::of(vec![]).median_ms, None);
        assert_eq!(Durations::of(vec![7]).p90_ms, Some(7));
    }
}
