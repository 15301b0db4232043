//! Merging customers, undoing a merge exactly, and explaining why a customer is who they are.
//!
//! A merge moves every row of the absorbed customer to the survivor and records in the ledger
//! the ids of what moved and both customers' fields as they were. Undo moves exactly those rows
//! back (and records created since that only the absorbed customer's identifiers linked),
//! restores both customers' fields, and remembers that the operator separated the two, so
//! resolution never merges them again.

use serde::{Deserialize, Serialize};

use super::sql::{Conn, params};
use super::{Backend, Store, StoreError, Tx, now_millis, read_job, write_job};

/// Tables whose rows belong to a customer and move with a merge.
const OWNED: &[&str] = &[
    "contact_points",
    "customer_attributes",
    "channel_accounts",
    "interactions",
    "orders",
    "shipments",
    "consents",
    "payments",
    "conversations",
    "conversation_events",
];

/// A customer's own fields, as a merge found them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Fields {
    display_name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    locale: Option<String>,
}

/// What a merge moved, kept in the ledger so the merge can be undone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Moved {
    /// Table name → ids of the rows moved.
    rows: std::collections::BTreeMap<String, Vec<i64>>,
    /// Contact events (connector, provider id) moved.
    contact_events: Vec<(String, String)>,
    survivor_before: Option<Fields>,
    absorbed_before: Option<Fields>,
    /// The absorbed customer's identifiers (`kind value`), to route later records on undo.
    identifiers: Vec<String>,
    /// The customers' open conversations, merged into one.
    #[serde(default)]
    conversation: Option<ConversationMerge>,
}

/// The absorbed customer's open conversation merged into the survivor's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ConversationMerge {
    /// The survivor's conversation.
    into: i64,
    /// The absorbed customer's, as it was.
    from: super::conversations::Row,
    /// The survivor's conversation's labels before.
    into_labels: Vec<String>,
    /// The messages that moved.
    interactions: Vec<i64>,
}

/// One merge ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MergeEntry {
    /// Ledger id.
    pub id: i64,
    /// The customer that remained.
    pub survivor_id: i64,
    /// The customer merged into it.
    pub absorbed_id: i64,
    /// `auto` (identity resolution) or `manual` (an operator).
    pub actor: String,
    /// Why, e.g. `email ann@example.com (event m-1 from email)`.
    pub reason: String,
    /// When (ms since the epoch).
    pub created_at: i64,
    /// When it was undone, if it was.
    pub undone_at: Option<i64>,
    /// How many rows of each kind moved.
    pub moved: std::collections::BTreeMap<String, usize>,
}

/// Why a customer is who they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Explanation {
    /// The customer explained.
    pub customer_id: i64,
    /// Each identifier: where it came from and which records it linked.
    pub identifiers: Vec<ExplainedIdentifier>,
    /// Records whose link is not one of the identifiers above (e.g. a shipment linked by its
    /// order).
    pub other_records: Vec<ExplainedRecord>,
    /// Merges into this customer, oldest first, undone ones included.
    pub merges: Vec<MergeEntry>,
}

/// One identifier of an explained customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExplainedIdentifier {
    /// `email`, `phone` or `external`.
    pub kind: String,
    /// Normalized value.
    pub value: String,
    /// As first received.
    pub raw: String,
    /// The connector that first reported it.
    pub source_connector: String,
    /// First and last seen (ms since the epoch).
    pub first_seen: i64,
    /// Last seen.
    pub last_seen: i64,
    /// `usable` (it links records), `shared` (a role address: it reaches the customer, never
    /// links), `blocked` or `invalid` (kept, never used).
    pub status: String,
    /// Why it does not link, unless it is usable.
    pub reason: Option<String>,
    /// The records this identifier linked to the customer.
    pub records: Vec<ExplainedRecord>,
}

/// A record and the connector it came through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExplainedRecord {
    /// `interaction`, `order`, `shipment` or `consent`.
    pub kind: String,
    /// Its id in the store.
    pub id: i64,
    /// The connector it came through.
    pub connector: String,
    /// The provider's id.
    pub provider_id: String,
    /// The identifier (or order) that linked it.
    pub linked_by: String,
}

fn fields_query() -> &'static str {
    "SELECT display_name, given_name, family_name, locale, merged_into FROM customers WHERE id = $1"
}

type FieldsRow = (Option<String>, Option<String>, Option<String>, Option<String>, Option<i64>);

async fn fields(tx: &mut Conn<'_>, customer: i64) -> Result<(Fields, Option<i64>), StoreError> {
    let row: Option<FieldsRow> = tx.optional(fields_query(), params![customer]).await?;
    let (display_name, given_name, family_name, locale, merged_into) =
        row.ok_or(StoreError::CustomerNotFound(customer))?;
    Ok((Fields { display_name, given_name, family_name, locale }, merged_into))
}

async fn set_fields(
    tx: &mut Conn<'_>,
    customer: i64,
    f: &Fields,
    merged_into: Option<i64>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE customers SET display_name = $2, given_name = $3, family_name = $4, locale = $5, merged_into = $6 \
         WHERE id = $1",
        params![customer, f.display_name, f.given_name, f.family_name, f.locale, merged_into],
    )
    .await?;
    Ok(())
}

/// Locks both customers of a merge, in id order (PostgreSQL), so that a concurrent write to
/// either waits for the merge to commit.
async fn lock_pair(tx: &mut Conn<'_>, a: i64, b: i64) -> Result<(), StoreError> {
    if tx.backend() == Backend::Postgres {
        tx.execute(
            "SELECT id FROM customers WHERE id IN ($1, $2) ORDER BY id FOR UPDATE",
            params![a.min(b), a.max(b)],
        )
        .await?;
    }
    Ok(())
}

/// Merges `absorbed` into `survivor` inside `tx` and writes the ledger entry; both must be live.
pub(crate) async fn merge_in_tx(
    tx: &mut Tx<'_>,
    survivor: i64,
    absorbed: i64,
    actor: &str,
    reason: &str,
) -> Result<i64, StoreError> {
    if survivor == absorbed {
        return Err(StoreError::Conflict(format!("cannot merge customer {survivor} with itself")));
    }
    lock_pair(tx, survivor, absorbed).await?;
    let (survivor_before, survivor_merged) = fields(tx, survivor).await?;
    let (absorbed_before, absorbed_merged) = fields(tx, absorbed).await?;
    for (id, merged) in [(survivor, survivor_merged), (absorbed, absorbed_merged)] {
        if let Some(into) = merged {
            return Err(StoreError::Conflict(format!(
                "customer {id} was already merged into customer {into}"
            )));
        }
    }
    let mut moved = Moved {
        survivor_before: Some(survivor_before.clone()),
        absorbed_before: Some(absorbed_before.clone()),
        ..Moved::default()
    };
    // One person has one open conversation: theirs merge before the rows move (at most one
    // per customer is open).
    if let (Some(into), Some(from)) = (
        super::conversations::active(tx, survivor).await?,
        super::conversations::active(tx, absorbed).await?,
    ) {
        let into_labels = super::conversations::labels(tx, into.id).await?;
        let interactions: Vec<i64> = super::conversations::interactions_of(tx, from.id)
            .await?
            .into_iter()
            .map(|m| m.0)
            .collect();
        let record =
            ConversationMerge { into: into.id, from: from.clone(), into_labels, interactions };
        super::conversations::merge_into(tx, into, from, None).await?;
        moved.conversation = Some(record);
    }
    for table in OWNED {
        let ids: Vec<(i64,)> = tx
            .all(
                &format!("SELECT id FROM {table} WHERE customer_id = $1 ORDER BY id"),
                params![absorbed],
            )
            .await?;
        tx.execute(
            &format!("UPDATE {table} SET customer_id = $1 WHERE customer_id = $2"),
            params![survivor, absorbed],
        )
        .await?;
        moved.rows.insert(table.to_string(), ids.into_iter().map(|(id,)| id).collect());
    }
    let events: Vec<(String, String)> = tx
        .all(
            "SELECT connector_id, provider_id FROM contact_events WHERE customer_id = $1",
            params![absorbed],
        )
        .await?;
    tx.execute(
        "UPDATE contact_events SET customer_id = $1 WHERE customer_id = $2",
        params![survivor, absorbed],
    )
    .await?;
    moved.contact_events = events;
    // The identifiers only the absorbed customer had: records arriving through them after
    // the merge follow it back on undo.
    let points: Vec<(i64, String, String)> = tx
        .all("SELECT id, kind, value FROM contact_points WHERE customer_id = $1", params![survivor])
        .await?;
    let moved_points = &moved.rows["contact_points"];
    let mut identifiers: Vec<(String, String)> = points
        .iter()
        .filter(|(_, kind, value)| {
            points
                .iter()
                .filter(|(_, k, v)| k == kind && v == value)
                .all(|(id, ..)| moved_points.contains(id))
        })
        .map(|(_, kind, value)| (kind.clone(), value.clone()))
        .collect();
    identifiers.sort();
    identifiers.dedup();
    moved.identifiers =
        identifiers.into_iter().map(|(kind, value)| format!("{kind} {value}")).collect();
    let merged = Fields {
        display_name: survivor_before.display_name.or(absorbed_before.display_name),
        given_name: survivor_before.given_name.or(absorbed_before.given_name),
        family_name: survivor_before.family_name.or(absorbed_before.family_name),
        locale: survivor_before.locale.or(absorbed_before.locale),
    };
    set_fields(tx, survivor, &merged, None).await?;
    tx.execute("UPDATE customers SET merged_into = $1 WHERE id = $2", params![survivor, absorbed])
        .await?;
    let details = serde_json::to_string(&moved).unwrap_or_default();
    let (id,): (i64,) = tx
        .one(
            "INSERT INTO merges (survivor_id, absorbed_id, actor, reason, details, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            params![survivor, absorbed, actor, reason, details, now_millis()],
        )
        .await?;
    tracing::info!(merge = id, survivor, absorbed, actor, reason, "customers merged");
    Ok(id)
}

type MergeRow = (i64, i64, i64, String, String, String, i64, Option<i64>);

const MERGE_COLUMNS: &str =
    "id, survivor_id, absorbed_id, actor, reason, details, created_at, undone_at";

fn entry(row: MergeRow) -> MergeEntry {
    let (id, survivor_id, absorbed_id, actor, reason, details, created_at, undone_at) = row;
    let moved: Moved = serde_json::from_str(&details).unwrap_or_default();
    let mut counts: std::collections::BTreeMap<String, usize> =
        moved.rows.iter().map(|(table, ids)| (table.clone(), ids.len())).collect();
    counts.insert("contact_events".into(), moved.contact_events.len());
    MergeEntry { id, survivor_id, absorbed_id, actor, reason, created_at, undone_at, moved: counts }
}

impl Store {
    /// An operator merges `other` into `customer`: everything `other` had moves to `customer`.
    pub async fn merge(
        &self,
        customer: i64,
        other: i64,
        reason: &str,
    ) -> Result<MergeEntry, StoreError> {
        let reason = reason.to_string();
        self.write(
            vec![],
            write_job!(|tx| {
                let reason = reason.clone();
                async move {
                    let (a, b) = (customer.min(other), customer.max(other));
                    // An explicit merge overrides an earlier separation.
                    tx.execute(
                        "DELETE FROM merge_blocks WHERE customer_a = $1 AND customer_b = $2",
                        params![a, b],
                    )
                    .await?;
                    let id = merge_in_tx(tx, customer, other, "manual", &reason).await?;
                    merge_entry(tx, id).await
                }
            }),
        )
        .await
    }

    /// Undoes a merge exactly: the absorbed customer, its identifiers and its records come
    /// back as they were, and the two are never merged automatically again.
    pub async fn undo_merge(&self, merge: i64) -> Result<MergeEntry, StoreError> {
        self.write(vec![], write_job!(|tx| async move { undo_in_tx(tx, merge).await })).await
    }

    /// One ledger entry.
    pub async fn merge_entry(&self, id: i64) -> Result<MergeEntry, StoreError> {
        self.read(read_job!(|conn| async move { merge_entry(conn, id).await })).await
    }

    /// The merge ledger, newest first, after the cursor (`before` an id), at most `limit`.
    pub async fn merges(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MergeEntry>, StoreError> {
        let limit = i64::from(limit.clamp(1, 500));
        let before = before.unwrap_or(i64::MAX);
        self.read(read_job!(|conn| async move {
            let rows: Vec<MergeRow> = conn
                .all(
                    &format!(
                        "SELECT {MERGE_COLUMNS} FROM merges WHERE id < $1 ORDER BY id DESC LIMIT $2"
                    ),
                    params![before, limit],
                )
                .await?;
            Ok(rows.into_iter().map(entry).collect())
        }))
        .await
    }

    /// Which identifiers linked which records to `customer`, and the merges into it.
    pub async fn explain(&self, customer: i64) -> Result<Explanation, StoreError> {
        self.read(read_job!(|conn| async move { explain(conn, customer).await })).await
    }
}

async fn undo_in_tx(tx: &mut Tx<'_>, merge: i64) -> Result<MergeEntry, StoreError> {
    let row: Option<MergeRow> = tx
        .optional(&format!("SELECT {MERGE_COLUMNS} FROM merges WHERE id = $1"), params![merge])
        .await?;
    let (id, survivor, absorbed, _, _, details, created_at, undone_at) =
        row.ok_or(StoreError::MergeNotFound(merge))?;
    if undone_at.is_some() {
        return Err(StoreError::Conflict(format!("merge {id} was already undone")));
    }
    lock_pair(tx, survivor, absorbed).await?;
    let (_, survivor_merged) = fields(tx, survivor).await?;
    if let Some(into) = survivor_merged {
        let later: Option<(i64,)> = tx
            .optional(
                "SELECT id FROM merges WHERE absorbed_id = $1 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                params![survivor],
            )
            .await?;
        return Err(StoreError::Conflict(format!(
            "customer {survivor} was merged into customer {into} since (merge {}); undo that merge first",
            later.map(|(id,)| id.to_string()).unwrap_or_else(|| "?".into())
        )));
    }
    let moved: Moved = serde_json::from_str(&details).map_err(|e| {
        StoreError::Conflict(format!("merge {id} has an unreadable ledger entry: {e}"))
    })?;
    for (table, ids) in &moved.rows {
        if !OWNED.contains(&table.as_str()) {
            continue;
        }
        for chunk in ids.chunks(500) {
            let sql = match tx.backend() {
                Backend::Sqlite => format!(
                    "UPDATE {table} SET customer_id = $1 WHERE id IN (SELECT value FROM json_each($2))"
                ),
                Backend::Postgres => {
                    format!("UPDATE {table} SET customer_id = $1 WHERE id = ANY($2)")
                }
            };
            tx.execute(&sql, params![absorbed, chunk.to_vec()]).await?;
        }
        // Records that arrived after the merge through one of the absorbed customer's own
        // identifiers follow it back.
        if matches!(
            table.as_str(),
            "interactions" | "orders" | "shipments" | "consents" | "payments"
        ) {
            for identifier in &moved.identifiers {
                tx.execute(
                    &format!(
                        "UPDATE {table} SET customer_id = $1 WHERE customer_id = $2 AND linked_by = $3 AND created_at >= $4"
                    ),
                    params![absorbed, survivor, identifier, created_at],
                )
                .await?;
            }
        }
    }
    for (connector, provider_id) in &moved.contact_events {
        tx.execute(
            "UPDATE contact_events SET customer_id = $1 WHERE connector_id = $2 AND provider_id = $3",
            params![absorbed, connector, provider_id],
        )
        .await?;
    }
    if let Some(merge) = &moved.conversation {
        split_conversation(tx, absorbed, merge).await?;
    }
    if let Some(before) = &moved.survivor_before {
        set_fields(tx, survivor, before, None).await?;
    }
    if let Some(before) = &moved.absorbed_before {
        set_fields(tx, absorbed, before, None).await?;
    }
    tx.execute("UPDATE merges SET undone_at = $2 WHERE id = $1", params![id, now_millis()]).await?;
    let (a, b) = (survivor.min(absorbed), survivor.max(absorbed));
    tx.execute(
        "INSERT INTO merge_blocks (customer_a, customer_b, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (customer_a, customer_b) DO NOTHING",
        params![a, b, now_millis()],
    )
    .await?;
    tracing::info!(merge = id, survivor, absorbed, "merge undone");
    merge_entry(tx, id).await
}

/// Gives the absorbed customer's conversation back its messages — those that moved, and those
/// that arrived since through the absorbed customer's own identifiers — and its state.
async fn split_conversation(
    tx: &mut Tx<'_>,
    absorbed: i64,
    merge: &ConversationMerge,
) -> Result<(), StoreError> {
    use super::conversations;
    let mut back = merge.interactions.clone();
    let since: Vec<(i64,)> = tx
        .all(
            "SELECT id FROM interactions WHERE conversation_id = $1 AND customer_id = $2",
            params![merge.into, absorbed],
        )
        .await?;
    back.extend(since.into_iter().map(|(id,)| id));
    back.sort_unstable();
    back.dedup();
    conversations::move_interactions(tx, &back, Some(merge.from.id)).await?;
    let mut from = merge.from.clone();
    from.customer_id = absorbed;
    conversations::save(tx, &from).await?;
    let from = conversations::refresh(tx, from).await?;
    if let Some(into) = conversations::get(tx, merge.into, true).await? {
        let labels: Vec<String> = conversations::labels(tx, into.id)
            .await?
            .into_iter()
            .filter(|label| merge.into_labels.contains(label))
            .collect();
        conversations::set_labels(tx, into.id, &labels).await?;
        let into = conversations::refresh(tx, into).await?;
        let data = serde_json::json!({"from": from.id, "into": into.id, "interactions": back});
        conversations::event(tx, &into, "split", None, data.clone()).await?;
        conversations::event(tx, &from, "split", None, data).await?;
    }
    Ok(())
}

async fn explain(conn: &mut Conn<'_>, customer: i64) -> Result<Explanation, StoreError> {
    fields(conn, customer).await?;
    type Point = (String, String, String, String, i64, i64, String, Option<String>);
    // `usable` sorts last, so MAX prefers it.
    let points: Vec<Point> = conn
        .all(
            "SELECT kind, value, MIN(raw), MIN(source_connector), MIN(first_seen), MAX(last_seen), \
             MAX(status), MAX(reason) \
             FROM contact_points WHERE customer_id = $1 GROUP BY kind, value ORDER BY MIN(first_seen), kind, value",
            params![customer],
        )
        .await?;
    let records: Vec<(String, i64, String, String, Option<String>)> = conn
        .all(
            "SELECT 'interaction', id, connector_id, provider_id, linked_by FROM interactions WHERE customer_id = $1 \
             UNION ALL SELECT 'order', id, connector_id, provider_id, linked_by FROM orders WHERE customer_id = $1 \
             UNION ALL SELECT 'shipment', id, connector_id, provider_id, linked_by FROM shipments WHERE customer_id = $1 \
             UNION ALL SELECT 'consent', id, connector_id, provider_id, linked_by FROM consents WHERE customer_id = $1 \
             UNION ALL SELECT 'payment', id, connector_id, provider_id, linked_by FROM payments WHERE customer_id = $1 \
             ORDER BY 1, 2",
            params![customer],
        )
        .await?;
    let mut identifiers: Vec<ExplainedIdentifier> = points
        .into_iter()
        .map(|(kind, value, raw, source_connector, first_seen, last_seen, status, reason)| {
            let reason = reason.filter(|_| status != "usable");
            ExplainedIdentifier {
                kind,
                value,
                raw,
                source_connector,
                first_seen,
                last_seen,
                status,
                reason,
                records: Vec::new(),
            }
        })
        .collect();
    let mut other_records = Vec::new();
    for (kind, id, connector, provider_id, linked_by) in records {
        let linked_by = linked_by.unwrap_or_default();
        let record =
            ExplainedRecord { kind, id, connector, provider_id, linked_by: linked_by.clone() };
        match identifiers.iter_mut().find(|i| format!("{} {}", i.kind, i.value) == linked_by) {
            Some(identifier) => identifier.records.push(record),
            None => other_records.push(record),
        }
    }
    let merges: Vec<MergeRow> = conn
        .all(
            &format!("SELECT {MERGE_COLUMNS} FROM merges WHERE survivor_id = $1 ORDER BY id"),
            params![customer],
        )
        .await?;
    Ok(Explanation {
        customer_id: customer,
        identifiers,
        other_records,
        merges: merges.into_iter().map(entry).collect(),
    })
}

async fn merge_entry(conn: &mut Conn<'_>, id: i64) -> Result<MergeEntry, StoreError> {
    let row: Option<MergeRow> = conn
        .optional(&format!("SELECT {MERGE_COLUMNS} FROM merges WHERE id = $1"), params![id])
        .await?;
    row.map(entry).ok_or(StoreError::MergeNotFound(id))
}
