//! The router: what a connector's events mean for the store. In order, for each event: who
//! the contact is ([`identity`]), which record it is and whether it changes anything
//! ([`records`]). The store executes the SQL; this module decides.
//!
//! Events are prepared before they reach a writer — validated, their identifiers normalized,
//! their content hashed — so the writer's transaction does only the lookups and writes.

pub(crate) mod conversations;
mod identity;
mod records;
pub mod timers;
pub(crate) mod validate;

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::identity::{Kind, Normalizer};
use crate::model::{Contact, Event, Provenance};
use crate::runtime::KvWrites;
use crate::sla::DeskSettings;
use crate::store::records as sql;
use crate::store::{IdentifierLimits, IngestReport, Store, StoreError, Tx, lock_key, write_job};

/// An identifier as the router matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Point {
    pub kind: Kind,
    /// Normalized.
    pub value: String,
    /// As received.
    pub raw: String,
    pub provenance: Provenance,
}

/// An identifier that is recorded but does not link records, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unusable {
    pub kind: Kind,
    pub value: String,
    pub raw: String,
    /// `blocked`, `invalid` or `shared`.
    pub status: &'static str,
    pub reason: String,
}

/// A shared address (a role mailbox): recorded on the customer and usable to reach them, never
/// used to find or merge customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shared {
    pub point: Point,
    pub reason: String,
}

/// A contact, normalized.
#[derive(Debug, Clone, Default)]
pub(crate) struct Who {
    pub usable: Vec<Point>,
    pub shared: Vec<Shared>,
    pub unusable: Vec<Unusable>,
}

impl Who {
    /// Normalizes a contact's identifiers; the same identifier given twice counts once.
    fn of(contact: &Contact, normalizer: &Normalizer) -> Who {
        let mut who = Who::default();
        // The strongest provenance given for an identifier stands.
        fn add(points: &mut Vec<Point>, point: Point) {
            match points.iter_mut().find(|p| p.kind == point.kind && p.value == point.value) {
                Some(seen) => seen.provenance = seen.provenance.min(point.provenance),
                None => points.push(point),
            }
        }
        for given in &contact.identifiers {
            let c = normalizer.classify(&given.identifier);
            let point =
                Point { kind: c.kind, value: c.value, raw: c.raw, provenance: given.provenance };
            match (c.status, c.reason) {
                ("usable", _) => add(&mut who.usable, point),
                ("shared", reason) => {
                    match who.shared.iter_mut().find(|s| s.point.value == point.value) {
                        Some(seen) => {
                            seen.point.provenance = seen.point.provenance.min(point.provenance)
                        }
                        None => {
                            who.shared.push(Shared { point, reason: reason.unwrap_or_default() })
                        }
                    }
                }
                (status, reason) => {
                    if !who.unusable.iter().any(|p| p.kind == point.kind && p.value == point.value)
                    {
                        who.unusable.push(Unusable {
                            kind: point.kind,
                            value: point.value,
                            raw: point.raw,
                            status,
                            reason: reason.unwrap_or_default(),
                        });
                    }
                }
            }
        }
        who.usable.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
        who
    }

    fn is_empty(&self) -> bool {
        self.usable.is_empty() && self.shared.is_empty() && self.unusable.is_empty()
    }
}

/// An event ready for a writer.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub event: Event,
    /// The hash of the event's content: a redelivery has the same.
    pub hash: String,
    /// Its contact, normalized (a shipment may have none).
    pub who: Option<Who>,
}

/// What one ingest writes, prepared.
struct Job {
    connector: String,
    events: Vec<Prepared>,
    kv: KvWrites,
    cursor: Option<String>,
    limits: IdentifierLimits,
    desk: Arc<DeskSettings>,
    normalizer: Arc<Normalizer>,
}

fn hash<T: Serialize>(value: &T) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(value).unwrap_or_default()))
}

/// The first external id among `events` in a namespace `manifest` does not declare (and the
/// operator did not allow with `extra_namespaces`), if any.
/// A connector speaks only for the ids it issues: one configured as `impostor` that reports
/// `telegram:user:4242` would otherwise join the Telegram customer (and be chosen to answer
/// them).
pub fn foreign_namespace(
    manifest: &crate::model::Manifest,
    extra: &[String],
    events: &[Event],
) -> Option<String> {
    events.iter().filter_map(Event::contact).flat_map(|contact| &contact.identifiers).find_map(
        |point| match &point.identifier {
            crate::model::Identifier::External { namespace, .. } => {
                let namespace = namespace.trim().to_ascii_lowercase();
                let allowed = manifest.owns_namespace(&namespace) || extra.contains(&namespace);
                (!allowed).then_some(namespace)
            }
            _ => None,
        },
    )
}

/// Why [`foreign_namespace`] refused a call's events.
pub fn foreign_namespace_error(manifest: &crate::model::Manifest, namespace: &str) -> String {
    format!(
        "the connector reported an id in namespace `{namespace}`, which its manifest does not declare \
         (it declares: {}; `extra_namespaces` in its [[connector]] can allow more); nothing of the call was stored",
        if manifest.namespaces.is_empty() {
            "none".to_string()
        } else {
            manifest.namespaces.join(", ")
        }
    )
}

/// Prepares events for a writer: each event's content hash and normalized contact.
pub(crate) fn prepare(
    normalizer: &Normalizer,
    events: Vec<Event>,
) -> Result<Vec<Prepared>, StoreError> {
    let now = crate::store::now_millis();
    events
        .into_iter()
        .map(|event| {
            validate::event(&event, now)?;
            if event.provider_id().trim().is_empty() {
                return Err(StoreError::InvalidEvent {
                    provider_id: String::new(),
                    reason: "the provider id is empty; every event needs one so redelivery is recognised"
                        .into(),
                });
            }
            let who = event.contact().map(|contact| Who::of(contact, normalizer));
            Ok(Prepared { hash: hash(&event), who, event })
        })
        .collect()
}

/// The advisory keys of every identifier the events resolve.
fn locks(events: &[Prepared]) -> Vec<i64> {
    events
        .iter()
        .filter_map(|p| p.who.as_ref())
        // A shared address is locked too: two hosts seeing a new mailbox make one customer.
        .flat_map(|who| who.usable.iter().chain(who.shared.iter().map(|s| &s.point)))
        .map(|p| lock_key(p.kind.as_str(), &p.value))
        .collect()
}

impl Store {
    /// Stores the events of one webhook or poll in one transaction: all of them or none.
    pub async fn ingest(
        &self,
        connector: &str,
        events: &[Event],
    ) -> Result<IngestReport, StoreError> {
        self.ingest_call(connector, events.to_vec(), KvWrites::default(), None).await
    }

    /// Stores polled events and the connector's next cursor in one transaction.
    pub async fn ingest_polled(
        &self,
        connector: &str,
        events: &[Event],
        next_cursor: Option<&str>,
    ) -> Result<IngestReport, StoreError> {
        self.ingest_call(
            connector,
            events.to_vec(),
            KvWrites::default(),
            next_cursor.map(str::to_string),
        )
        .await
    }

    /// Stores a connector call's outcome in one transaction: its events, what it wrote to its
    /// key-value state, and (a poll) its next cursor. Nothing is stored if any of it fails.
    pub async fn ingest_call(
        &self,
        connector: &str,
        events: Vec<Event>,
        kv: KvWrites,
        cursor: Option<String>,
    ) -> Result<IngestReport, StoreError> {
        let events = prepare(self.normalizer(), events)?;
        let locks = locks(&events);
        let job = Arc::new(Job {
            connector: connector.to_string(),
            events,
            kv,
            cursor,
            limits: self.limits(),
            desk: self.desk(),
            normalizer: self.normalizer_arc(),
        });
        self.write(
            locks,
            write_job!(|tx| {
                let job = job.clone();
                async move { run(tx, &job).await }
            }),
        )
        .await
    }

    /// Stores several webhooks' events, each its own job; the writers commit them together.
    /// The reports come back in order.
    pub async fn ingest_batch(
        &self,
        batch: &[(&str, &[Event])],
    ) -> Result<Vec<IngestReport>, StoreError> {
        let jobs = batch.iter().map(|(connector, events)| self.ingest(connector, events));
        futures_util::future::try_join_all(jobs).await
    }
}

async fn run(tx: &mut Tx<'_>, job: &Job) -> Result<IngestReport, StoreError> {
    let mut report = IngestReport::default();
    let ctx = records::Ctx {
        connector: &job.connector,
        limits: job.limits,
        desk: &job.desk,
        normalizer: &job.normalizer,
    };
    for prepared in &job.events {
        let outcome = records::event(tx, &ctx, prepared, &mut report.merges).await?;
        report.events.push(outcome);
    }
    sql::apply_kv(tx, &job.connector, &job.kv).await?;
    if let Some(cursor) = &job.cursor {
        sql::set_cursor(tx, &job.connector, cursor).await?;
    }
    Ok(report)
}
