//! Possible duplicates: pairs of customers resolution kept apart although they share strong
//! evidence, listed for an agent to merge or dismiss. A dismissed pair is separated like an
//! undone merge, so resolution never merges it later.

use serde::Serialize;

use super::merge::merge_in_tx;
use super::query::live_customer;
use super::sql::{Conn, params};
use super::{Store, StoreError, now_millis, read_job, write_job};

/// One possible duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PossibleDuplicate {
    /// Its id.
    pub id: i64,
    /// The older customer of the pair, as it is now (merges followed).
    pub customer_a: i64,
    /// The other.
    pub customer_b: i64,
    /// The name of each, if they have one.
    pub name_a: Option<String>,
    /// The other's name.
    pub name_b: Option<String>,
    /// What they share, and why resolution kept them apart.
    pub evidence: String,
    /// The connector whose event found the pair.
    pub connector_id: String,
    /// `open`, `merged` or `dismissed`.
    pub status: String,
    /// When it was found (ms since the epoch).
    pub created_at: i64,
    /// When it was merged or dismissed.
    pub decided_at: Option<i64>,
    /// Who merged or dismissed it (`user:ID`, or `machine` for an API token).
    pub decided_by: Option<String>,
}

/// What an agent decides about a possible duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// They are one person: merge the newer into the older.
    Merge,
    /// They are two people: keep them apart for good.
    Dismiss,
}

type Row = (i64, i64, i64, String, String, String, i64, Option<i64>, Option<String>);

const COLUMNS: &str = "id, customer_a, customer_b, evidence, connector_id, status, created_at, \
                       decided_at, decided_by";

async fn name_of(conn: &mut Conn<'_>, customer: i64) -> Result<Option<String>, StoreError> {
    Ok(super::records::names_of(conn, &[customer]).await?.pop().map(|(_, name)| name))
}

/// The row with its customers as they are now; `None` for an open pair that became one
/// customer meanwhile (another event linked them).
async fn view(conn: &mut Conn<'_>, row: Row) -> Result<Option<PossibleDuplicate>, StoreError> {
    let (id, a, b, evidence, connector_id, status, created_at, decided_at, decided_by) = row;
    let (a, b) = (live_customer(conn, a).await?, live_customer(conn, b).await?);
    if a == b && status == "open" {
        return Ok(None);
    }
    let (a, b) = (a.min(b), a.max(b));
    let name_a = name_of(conn, a).await?;
    Ok(Some(PossibleDuplicate {
        id,
        customer_a: a,
        customer_b: b,
        name_b: if a == b { name_a.clone() } else { name_of(conn, b).await? },
        name_a,
        evidence,
        connector_id,
        status,
        created_at,
        decided_at,
        decided_by,
    }))
}

impl Store {
    /// Possible duplicates in `status` (`open`, `merged`, `dismissed`), oldest first, after the
    /// cursor (an id), at most `limit`; with the cursor of the next page.
    pub async fn possible_duplicates(
        &self,
        status: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<PossibleDuplicate>, Option<i64>), StoreError> {
        let status = status.to_string();
        let limit = i64::from(limit.clamp(1, 200));
        self.read(read_job!(|conn| {
            let status = status.clone();
            async move {
                let rows: Vec<Row> = conn
                    .all(
                        &format!(
                            "SELECT {COLUMNS} FROM possible_duplicates WHERE status = $1 AND id > $2 \
                             ORDER BY id LIMIT $3"
                        ),
                        params![status, after.unwrap_or(0), limit],
                    )
                    .await?;
                let next = (rows.len() as i64 == limit).then(|| rows.last().map(|r| r.0)).flatten();
                let mut found = Vec::with_capacity(rows.len());
                for row in rows {
                    if let Some(view) = view(conn, row).await? {
                        found.push(view);
                    }
                }
                Ok((found, next))
            }
        }))
        .await
    }

    /// Merges or dismisses an open possible duplicate, as `actor`.
    pub async fn decide_duplicate(
        &self,
        id: i64,
        verdict: Verdict,
        actor: &str,
    ) -> Result<PossibleDuplicate, StoreError> {
        let actor = actor.to_string();
        self.write(
            vec![],
            write_job!(|tx| {
                let actor = actor.clone();
                async move {
                    let row: Option<Row> = tx
                        .optional(
                            &format!("SELECT {COLUMNS} FROM possible_duplicates WHERE id = $1"),
                            params![id],
                        )
                        .await?;
                    let Some(row) = row else {
                        return Err(StoreError::NotFound(format!("possible duplicate {id}")));
                    };
                    if row.5 != "open" {
                        return Err(StoreError::Conflict(format!(
                            "possible duplicate {id} is already {}",
                            row.5
                        )));
                    }
                    let (a, b) = (live_customer(tx, row.1).await?, live_customer(tx, row.2).await?);
                    let (a, b) = (a.min(b), a.max(b));
                    let status = match verdict {
                        Verdict::Merge if a == b => "merged",
                        Verdict::Merge => {
                            tx.execute(
                                "DELETE FROM merge_blocks WHERE customer_a = $1 AND customer_b = $2",
                                params![a, b],
                            )
                            .await?;
                            let reason =
                                format!("possible duplicate {id} confirmed ({actor}): {}", row.3);
                            merge_in_tx(tx, a, b, "manual", &reason).await?;
                            "merged"
                        }
                        Verdict::Dismiss if a == b => {
                            return Err(StoreError::Conflict(format!(
                                "possible duplicate {id}: the two are one customer ({a}) already; \
                                 undo that merge to separate them"
                            )));
                        }
                        Verdict::Dismiss => {
                            tx.execute(
                                "INSERT INTO merge_blocks (customer_a, customer_b, created_at) \
                                 VALUES ($1, $2, $3) ON CONFLICT (customer_a, customer_b) DO NOTHING",
                                params![a, b, now_millis()],
                            )
                            .await?;
                            "dismissed"
                        }
                    };
                    tx.execute(
                        "UPDATE possible_duplicates SET status = $2, decided_at = $3, decided_by = $4 \
                         WHERE id = $1",
                        params![id, status, now_millis(), actor],
                    )
                    .await?;
                    tracing::info!(duplicate = id, status, customer_a = a, customer_b = b, "possible duplicate decided");
                    let row: Row = tx
                        .one(
                            &format!("SELECT {COLUMNS} FROM possible_duplicates WHERE id = $1"),
                            params![id],
                        )
                        .await?;
                    view(tx, row).await?.ok_or_else(|| {
                        StoreError::Conflict(format!("possible duplicate {id} is still open"))
                    })
                }
            }),
        )
        .await
    }
}
