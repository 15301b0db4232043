//! The customer store: SQLite by default (a file, WAL, foreign keys on, durable commits),
//! PostgreSQL from a `postgres://` URL, with the same schema and behaviour. The store executes
//! SQL; deciding what to write (who a contact is, which conversation a message joins) is the
//! router's.
//!
//! **Writes are group-committed.** Every write is a job sent to a writer: SQLite has one, on a
//! thread of its own that owns the write connection; PostgreSQL has a few per host, each with
//! its own connection. A writer takes whatever jobs are waiting (one, when the host is idle:
//! no added latency), runs each inside a savepoint of one transaction, commits once, and only
//! then answers each job. A job that fails rolls back to its savepoint and fails alone; its
//! neighbours commit. So one durable commit (one fsync) serves a whole burst of webhooks.
//!
//! **Consistency under concurrent writers.** SQLite has one writer, so every transaction runs
//! alone. On PostgreSQL transactions are `READ COMMITTED`, and a job names the identifiers it
//! will resolve: the writer takes their advisory locks for the whole batch at once, in one
//! order (so batches cannot deadlock on them), and the router locks the customers it writes to
//! (`FOR UPDATE`). Two hosts resolving the same identifier therefore take turns, with no
//! serializable retries on hot rows; what retries remain (a deadlock PostgreSQL broke) rerun
//! the batch and are counted in `/metrics`.

pub(crate) mod conversations;
mod duplicates;
mod locations;
mod merge;
mod outbound;
pub(crate) mod people;
mod postgres;
mod query;
pub(crate) mod records;
pub(crate) mod sql;
mod sqlite;
mod state;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::identity::{Normalizer, SettingsError};

pub use conversations::{Order, Status, View};
pub use duplicates::{PossibleDuplicate, Verdict};
pub use locations::{GeocodeResult, LocationView, PendingAddress};
pub(crate) use merge::merge_in_tx;
pub use merge::{ExplainedIdentifier, ExplainedRecord, Explanation, MergeEntry};
pub use outbound::{ConnectorStats, Reach, Stats, Thread};
pub use people::{ApiToken, Policy, RoutingRule, SessionRow, Team, User, UserChange, UserRole};
pub(crate) use query::consents as consents_of;
pub use query::{
    CartView, ConsentView, ContactPointView, CustomerPage, CustomerQuery, CustomerSummary,
    OrderQuery, OrderView, Profile, RecordRef, Revenue, TimelineEntry, TimelineFilter,
    TimelineKind, TimelinePage,
};
pub use records::{IngestReport, Ingested};
pub(crate) use sql::{Conn, params};
pub use state::{DeadLetter, REPLAY_CLAIM, ReplayClaim};
pub(crate) use writer::Tx;

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("store url `{0}` is not supported; expected sqlite://FILE or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The identity settings are invalid.
    #[error(transparent)]
    Identity(#[from] SettingsError),
    /// PostgreSQL could not be reached or refused a statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite refused a statement (with its extended result code).
    #[error("database error: {0}")]
    Sqlite(String, Option<i32>),
    /// Migrations failed.
    #[error("failed to migrate the database: {0}")]
    Migrate(String),
    /// No such customer (or it was merged away, for operations that need a live one).
    #[error("customer {0} not found")]
    CustomerNotFound(i64),
    /// No such merge ledger entry.
    #[error("merge {0} not found")]
    MergeNotFound(i64),
    /// No such thing (a user, a team, a conversation): the message names it.
    #[error("{0} not found")]
    NotFound(String),
    /// The request contradicts the current state, e.g. merging a customer with itself.
    #[error("{0}")]
    Conflict(String),
    /// An event is not valid, e.g. a contact with no identifier.
    #[error("invalid event {provider_id}: {reason}")]
    InvalidEvent {
        /// The event's provider id.
        provider_id: String,
        /// What is wrong.
        reason: String,
    },
    /// A pagination cursor the store did not issue.
    #[error("invalid cursor `{0}`")]
    BadCursor(String),
    /// A customer this write was about to change was changed by another writer meanwhile (a
    /// merge on another host): the write is run again from the start.
    #[error("a concurrent write changed customer {0}; retrying")]
    Concurrent(i64),
    /// The store is shutting down or its writer stopped.
    #[error("the store's writer is not running")]
    Closed,
}

impl StoreError {
    /// Whether the same write may succeed if run again (a conflict with another writer, a
    /// database that is momentarily unreachable), as opposed to one that will fail again.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(error) => !matches!(
                error,
                sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22") || c.starts_with("23"))
            ),
            StoreError::Sqlite(_, code) => {
                matches!(code.map(|c| c & 0xff), Some(5 | 6 | 10 | 13 | 14))
            }
            StoreError::Concurrent(_) | StoreError::Closed => true,
            _ => false,
        }
    }
}

/// Whether a batch that failed with `error` is run again: deadlocks and serialization
/// failures PostgreSQL reports, SQLite's busy database, and concurrent merges.
pub(crate) fn is_retryable(error: &StoreError) -> bool {
    match error {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40001" | "40P01"))
        }
        StoreError::Sqlite(_, code) => matches!(code.map(|c| c & 0xff), Some(5 | 6)),
        StoreError::Concurrent(_) => true,
        _ => false,
    }
}

/// How many live customers may share one identifier of a kind before it stops being used to
/// match: a shop's own phone number typed into every form must not merge its customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentifierLimits {
    /// External ids (a channel's user id).
    pub external: u32,
    /// E-mail addresses.
    pub email: u32,
    /// Phone numbers.
    pub phone: u32,
}

impl Default for IdentifierLimits {
    fn default() -> Self {
        // An external id or an address shared by several people is rare and suspicious; a phone
        // shared by a family is normal, by ten customers it is a switchboard.
        IdentifierLimits { external: 3, email: 3, phone: 5 }
    }
}

/// The store's settings.
#[derive(Clone)]
pub struct StoreConfig {
    /// `sqlite://switchboard.db` or `postgres://user@host/db`.
    pub url: String,
    /// Region for phone numbers written without a country code, e.g. `FR`.
    pub default_region: Option<String>,
    /// Values that never identify anyone, in addition to the built-in ones.
    pub blocked: Vec<String>,
    /// Shared (role) addresses in place of the built-in list, when set.
    pub role_addresses: Option<Vec<String>>,
    /// Shared (role) addresses in addition to the list.
    pub more_role_addresses: Vec<String>,
    /// Per-kind sharing limits.
    pub limits: IdentifierLimits,
    /// Connections for reads (and, on PostgreSQL, for the writers too).
    pub max_connections: u32,
    /// PostgreSQL writers per host (SQLite always has one).
    pub writers: u32,
    /// Jobs a writer commits together at most.
    pub max_batch: usize,
    /// What conversations do with messages.
    pub desk: crate::sla::DeskSettings,
}

impl std::fmt::Debug for StoreConfig {
    // The URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &redact_url(&self.url))
            .field("default_region", &self.default_region)
            .field("blocked", &self.blocked)
            .field("role_addresses", &self.role_addresses)
            .field("more_role_addresses", &self.more_role_addresses)
            .field("limits", &self.limits)
            .field("max_connections", &self.max_connections)
            .field("writers", &self.writers)
            .field("max_batch", &self.max_batch)
            .field("desk", &self.desk)
            .finish()
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: "sqlite://switchboard.db".into(),
            default_region: None,
            blocked: Vec::new(),
            role_addresses: None,
            more_role_addresses: Vec::new(),
            limits: IdentifierLimits::default(),
            // Reads run beside the writer; a 2-core host gains nothing from more.
            max_connections: 8,
            // Enough to hide PostgreSQL's round trips behind each other.
            writers: 4,
            // A burst of webhooks commits in a handful of transactions; a bigger batch would
            // hold the first request's answer back for longer.
            max_batch: 128,
            desk: crate::sla::DeskSettings::default(),
        }
    }
}

/// A store URL with its password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((credentials, host)) = rest.rsplit_once('@') else { return url.to_string() };
    let user = credentials.split(':').next().unwrap_or("");
    if credentials.contains(':') {
        format!("{scheme}://{user}:***@{host}")
    } else {
        format!("{scheme}://{user}@{host}")
    }
}

/// Figures the store keeps about itself, for `/metrics`.
#[derive(Debug, Default)]
pub struct StoreMetrics {
    /// Transactions committed by the writers.
    pub commits: AtomicU64,
    /// Jobs those transactions carried.
    pub jobs: AtomicU64,
    /// Batches run again after a deadlock, a serialization failure or a concurrent merge.
    pub retries: AtomicU64,
    /// Jobs that failed alone inside a batch that committed.
    pub failed_jobs: AtomicU64,
}

/// A change to a conversation, as the live stream delivers it (see the router).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveEvent {
    /// The event's id in the store (monotonic per host, not across hosts).
    pub id: i64,
    /// What happened, e.g. `message`, `assigned`.
    pub kind: String,
    /// The conversation.
    pub conversation_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// The conversation's team, for who may see it.
    pub team_id: Option<i64>,
    /// Its assignee.
    pub assignee_id: Option<i64>,
    /// Who did it: a user id, or none for the system.
    pub actor_id: Option<i64>,
    /// The event's details.
    pub data: serde_json::Value,
    /// When (ms).
    pub at: i64,
}

/// The customer store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    backend: Backend,
    normalizer: Arc<Normalizer>,
    limits: IdentifierLimits,
    desk: Arc<crate::sla::DeskSettings>,
    metrics: Arc<StoreMetrics>,
    live: tokio::sync::broadcast::Sender<Arc<LiveEvent>>,
}

enum Db {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.inner.backend).finish_non_exhaustive()
    }
}

/// Serialization failures, deadlocks and concurrent merges are retried this many times before
/// giving up.
pub(crate) const MAX_ATTEMPTS: u32 = 30;

/// A write job's work: run inside the writer's transaction, possibly more than once (a batch
/// that PostgreSQL aborted on a deadlock runs again).
pub(crate) type WriteFn<T> =
    dyn for<'t, 'c> Fn(&'t mut Tx<'c>) -> BoxFuture<'t, Result<T, StoreError>> + Send + Sync;

/// A read's work, run once on a connection of the read pool.
pub(crate) type ReadFn<T> =
    dyn for<'t, 'c> FnOnce(&'t mut Conn<'c>) -> BoxFuture<'t, Result<T, StoreError>> + Send;

impl Store {
    /// Connects (creating a SQLite file if needed) and applies migrations.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let store = Self::connect(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(config: &StoreConfig) -> Result<Self, StoreError> {
        let mut normalizer = Normalizer::new(config.default_region.as_deref(), &config.blocked)?;
        if let Some(roles) = &config.role_addresses {
            normalizer = normalizer.with_role_addresses(roles.iter().map(String::as_str));
        }
        let normalizer = normalizer
            .with_more_role_addresses(config.more_role_addresses.iter().map(String::as_str));
        let metrics = Arc::new(StoreMetrics::default());
        let (live, _) = tokio::sync::broadcast::channel(4096);
        let (backend, db) = match parse_url(&config.url)? {
            Location::Sqlite(location) => (
                Backend::Sqlite,
                Db::Sqlite(sqlite::Sqlite::open(location, config, metrics.clone(), live.clone())?),
            ),
            Location::Postgres(url) => (
                Backend::Postgres,
                Db::Postgres(
                    postgres::Postgres::connect(&url, config, metrics.clone(), live.clone())
                        .await?,
                ),
            ),
        };
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                backend,
                normalizer: Arc::new(normalizer),
                limits: config.limits,
                desk: Arc::new(config.desk.clone()),
                metrics,
                live,
            }),
        })
    }

    /// Applies the migrations this version has and the database lacks.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.inner.db {
            Db::Sqlite(db) => db.migrate(&migrations(Backend::Sqlite)).await,
            Db::Postgres(db) => db.migrate(migrations(Backend::Postgres)).await,
        }
    }

    /// Which database it runs on.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The normalizer it matches identifiers with.
    pub fn normalizer(&self) -> &Normalizer {
        &self.inner.normalizer
    }

    /// The normalizer, shared.
    pub(crate) fn normalizer_arc(&self) -> Arc<Normalizer> {
        self.inner.normalizer.clone()
    }

    /// Per-kind sharing limits.
    pub fn limits(&self) -> IdentifierLimits {
        self.inner.limits
    }

    /// What conversations do with messages.
    pub fn desk(&self) -> Arc<crate::sla::DeskSettings> {
        self.inner.desk.clone()
    }

    /// The store's own figures.
    pub fn metrics(&self) -> &StoreMetrics {
        &self.inner.metrics
    }

    /// Conversation changes as they are committed, on this host and (PostgreSQL) on others.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<LiveEvent>> {
        self.inner.live.subscribe()
    }

    /// Answers whether the database answers a trivial query (for `/readyz`): no table is read,
    /// so it costs the same on an empty store and on a large one.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(read_job!(|conn| async move {
            let (_one,): (i64,) = conn.one("SELECT 1", &[]).await?;
            Ok(())
        }))
        .await
    }

    /// Stops the writers after the jobs already queued, and closes the connections.
    pub async fn close(&self) {
        match &self.inner.db {
            Db::Sqlite(db) => db.close().await,
            Db::Postgres(db) => db.close().await,
        }
    }

    /// Runs `work` in a writer's transaction, committed with whatever other jobs are waiting;
    /// answers after the commit. `locks` are the advisory keys (PostgreSQL) the job needs: see
    /// [`lock_key`].
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        locks: Vec<i64>,
        work: Box<WriteFn<T>>,
    ) -> Result<T, StoreError> {
        let (job, answer) = writer::Job::new(locks, work);
        match &self.inner.db {
            Db::Sqlite(db) => db.submit(job).await?,
            Db::Postgres(db) => db.submit(job).await?,
        }
        answer.wait().await
    }

    /// Runs `work` on a read connection.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        work: Box<ReadFn<T>>,
    ) -> Result<T, StoreError> {
        match &self.inner.db {
            Db::Sqlite(db) => db.read(work).await,
            Db::Postgres(db) => db.read(work).await,
        }
    }
}

/// Boxes a write job's closure, giving it the higher-ranked signature [`Store::write`] needs.
macro_rules! write_job {
    (|$tx:ident| $body:expr) => {
        Box::new(move |$tx: &mut $crate::store::Tx<'_>| -> futures_util::future::BoxFuture<'_, _> {
            Box::pin($body)
        })
    };
}
pub(crate) use write_job;

/// Boxes a read's closure likewise.
macro_rules! read_job {
    (|$conn:ident| $body:expr) => {
        Box::new(
            move |$conn: &mut $crate::store::Conn<'_>| -> futures_util::future::BoxFuture<'_, _> {
                Box::pin($body)
            },
        )
    };
}
pub(crate) use read_job;

/// The advisory lock key of an identifier (PostgreSQL): the same on every host.
pub(crate) fn lock_key(kind: &str, value: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{kind}\u{0}{value}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]))
}

/// The migrations, in order, with the backend's spelling of the few types that differ. Kept
/// as one template so the two schemas cannot drift apart.
pub(crate) struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sql: String,
}

fn migrations(backend: Backend) -> Vec<Migration> {
    const SCHEMA: &[(i64, &str, &str)] = &[
        (1, "customer store", include_str!("../../migrations/0001_customer_store.sql")),
        (
            2,
            "payments and order locations",
            include_str!("../../migrations/0002_payments_and_locations.sql"),
        ),
        (
            3,
            "indexes of the write path and identifier status",
            include_str!("../../migrations/0003_write_path.sql"),
        ),
        (
            4,
            "people and conversations",
            include_str!("../../migrations/0004_people_and_conversations.sql"),
        ),
        (
            5,
            "dead letter claims and retention, inbox count index",
            include_str!("../../migrations/0005_dead_letter_claims.sql"),
        ),
        (6, "possible duplicates", include_str!("../../migrations/0006_possible_duplicates.sql")),
        (7, "inbox team counts", include_str!("../../migrations/0007_inbox_team_counts.sql")),
    ];
    let (id, blob) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
        Backend::Postgres => ("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA"),
    };
    SCHEMA
        .iter()
        .map(|(version, description, sql)| Migration {
            version: *version,
            description,
            sql: sql.replace("__ID__", id).replace("__BLOB__", blob),
        })
        .collect()
}

/// Where a store is.
enum Location {
    Sqlite(sqlite::Location),
    Postgres(String),
}

fn parse_url(url: &str) -> Result<Location, StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        return Ok(Location::Sqlite(sqlite::Location::parse(rest)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Location::Postgres(url.to_string()));
    }
    Err(StoreError::UnsupportedUrl(redact_url(url)))
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Counts a commit of `jobs` jobs (the writers call it).
pub(crate) fn count_commit(metrics: &StoreMetrics, jobs: usize) {
    metrics.commits.fetch_add(1, Ordering::Relaxed);
    metrics.jobs.fetch_add(jobs as u64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert!(matches!(parse_url("sqlite://x.db").unwrap(), Location::Sqlite(_)));
        assert!(matches!(parse_url("sqlite::memory:").unwrap(), Location::Sqlite(_)));
        assert!(matches!(parse_url("postgres://u@h/db").unwrap(), Location::Postgres(_)));
        assert!(matches!(parse_url("mysql://h/db"), Err(StoreError::UnsupportedUrl(_))));
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/crm"),
            "postgres://app:***@db:5432/crm"
        );
        assert_eq!(redact_url("postgres://app@db/crm"), "postgres://app@db/crm");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        let config =
            StoreConfig { url: "postgres://app:s3cret@db/crm".into(), ..Default::default() };
        assert!(!format!("{config:?}").contains("s3cret"));
        let error = parse_url("mysql://root:s3cret@h/db").err().unwrap();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn lock_keys_are_stable() {
        assert_eq!(lock_key("email", "a@b.fr"), lock_key("email", "a@b.fr"));
        assert_ne!(lock_key("email", "a@b.fr"), lock_key("phone", "a@b.fr"));
    }
}
