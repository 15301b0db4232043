//! The customer store: SQLite by default (a file, WAL, foreign keys on, synchronous commits),
//! PostgreSQL from a `postgres://` URL, with the same schema and behaviour.
//!
//! Every write runs as one transaction that behaves as if it ran alone: on SQLite writers take
//! the database's write lock up front (`BEGIN IMMEDIATE`, and one writer at a time in this
//! process); on PostgreSQL transactions are `SERIALIZABLE` and retried when the server reports
//! a serialization conflict. Identity invariants therefore hold under any number of
//! concurrent writers, in one process or several.

mod ingest;
mod locations;
mod merge;
mod outbound;
mod query;
mod state;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Executor, SqlSafeStr, Transaction};

use crate::identity::{Normalizer, SettingsError};

pub use ingest::{IngestReport, Ingested};
pub use locations::{GeocodeResult, LocationView, PendingAddress};
pub use merge::{ExplainedIdentifier, ExplainedRecord, Explanation, MergeEntry};
pub use query::{
    CartView, ConsentView, ContactPointView, CustomerQuery, CustomerSummary, OrderQuery, OrderView,
    Profile, Revenue, TimelineEntry, TimelinePage,
};
pub use state::DeadLetter;

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
    /// The database could not be reached or refused a statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("failed to migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// No such customer (or it was merged away, for operations that need a live one).
    #[error("customer {0} not found")]
    CustomerNotFound(i64),
    /// No such merge ledger entry.
    #[error("merge {0} not found")]
    MergeNotFound(i64),
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
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://switchboard.db` or `postgres://user@host/db`.
    pub url: String,
    /// Region for phone numbers written without a country code, e.g. `FR`.
    pub default_region: Option<String>,
    /// Values that never identify anyone, in addition to the built-in ones.
    pub blocked: Vec<String>,
    /// Per-kind sharing limits.
    pub limits: IdentifierLimits,
    /// Pool size.
    pub max_connections: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: "sqlite://switchboard.db".into(),
            default_region: None,
            blocked: Vec::new(),
            limits: IdentifierLimits::default(),
            // Writes are serialized; the rest serve reads (API) concurrently.
            max_connections: 8,
        }
    }
}

/// The customer store.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    normalizer: std::sync::Arc<Normalizer>,
    limits: IdentifierLimits,
    /// SQLite has one writer at a time anyway; queueing them here instead of in SQLite's busy
    /// handler keeps latency fair and avoids `SQLITE_BUSY`.
    write_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// Serialization failures and deadlocks are retried this many times before giving up.
pub(crate) const MAX_ATTEMPTS: u32 = 30;

impl Store {
    /// Connects (creating a SQLite file if needed) and applies migrations.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let store = Self::connect(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(config: &StoreConfig) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = parse_url(&config.url)?;
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL makes a commit durable
                        // before it returns, which is what acknowledging a webhook promises.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 30000",
                        ] {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let normalizer = Normalizer::new(config.default_region.as_deref(), &config.blocked)?;
        Ok(Store {
            pool,
            backend,
            normalizer: std::sync::Arc::new(normalizer),
            limits: config.limits,
            write_lock: Default::default(),
        })
    }

    /// Applies the migrations this version has and the database lacks.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::with_migrations(migrations(self.backend)).run(&self.pool).await?;
        Ok(())
    }

    /// Which database it runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The normalizer it matches identifiers with.
    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Waits for this process's turn to write (SQLite only: one writer at a time).
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        }
    }

    /// Starts a write transaction that behaves as if it ran alone.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        };
        Ok(self.pool.begin_with(begin).await?)
    }
}

/// Runs `$body` (an expression of type `Result<T, StoreError>` using `$tx`, a
/// `&mut Transaction<'static, Any>`) in a write transaction of `$store`, committing it, and
/// running it again from scratch when PostgreSQL reports a serialization conflict. A macro
/// rather than a function taking an async closure: the futures it makes must be `Send` for
/// the server, which async closures cannot promise yet.
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let store: &$crate::store::Store = $store;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let turn = store.write_turn().await;
            let result: Result<_, $crate::store::StoreError> = async {
                let mut transaction = store.begin_write().await?;
                let value = {
                    let $tx = &mut transaction;
                    let value: Result<_, $crate::store::StoreError> = $body;
                    value
                }?;
                transaction.commit().await?;
                Ok(value)
            }
            .await;
            drop(turn);
            match result {
                Err(error)
                    if attempt < $crate::store::MAX_ATTEMPTS
                        && $crate::store::is_retryable(&error) =>
                {
                    $crate::store::backoff(attempt).await;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use write_tx;

/// Waits a little before retrying, differently for each attempt and process, so that colliding
/// writers do not collide again in lockstep.
pub(crate) async fn backoff(attempt: u32) {
    let jitter = (u64::from(std::process::id()) * 7 + u64::from(attempt) * 13) % 17;
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 3 + jitter)).await;
}

/// The migrations, in order, with the backend's spelling of the few types that differ. Kept
/// as one template so the two schemas cannot drift apart.
fn migrations(backend: Backend) -> Vec<Migration> {
    const SCHEMA: &[(i64, &str, &str)] = &[
        (1, "customer store", include_str!("../../migrations/0001_customer_store.sql")),
        (
            2,
            "payments and order locations",
            include_str!("../../migrations/0002_payments_and_locations.sql"),
        ),
    ];
    let (id, blob) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
        Backend::Postgres => ("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA"),
    };
    SCHEMA
        .iter()
        .map(|(version, description, sql)| {
            let sql = sql.replace("__ID__", id).replace("__BLOB__", blob);
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                sqlx::AssertSqlSafe(sql).into_sql_str(),
                false,
            )
        })
        .collect()
}

pub(crate) fn is_retryable(error: &StoreError) -> bool {
    let StoreError::Database(sqlx::Error::Database(db)) = error else { return false };
    // 40001 serialization_failure, 40P01 deadlock_detected (PostgreSQL); SQLITE_BUSY (5).
    matches!(db.code().as_deref(), Some("40001" | "40P01" | "5" | "517"))
}

fn parse_url(url: &str) -> Result<(Backend, String), StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        // Create the file on first start unless the operator chose a mode.
        let url = if rest.contains("mode=") {
            url.to_string()
        } else if rest.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        return Ok((Backend::Sqlite, url));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    Err(StoreError::UnsupportedUrl(url.to_string()))
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            parse_url("sqlite://x.db").unwrap(),
            (Backend::Sqlite, "sqlite://x.db?mode=rwc".into())
        );
        assert_eq!(parse_url("sqlite::memory:").unwrap().0, Backend::Sqlite);
        assert_eq!(parse_url("sqlite://x.db?mode=ro").unwrap().1, "sqlite://x.db?mode=ro");
        assert_eq!(parse_url("postgres://u@h/db").unwrap().0, Backend::Postgres);
        assert!(matches!(parse_url("mysql://h/db"), Err(StoreError::UnsupportedUrl(_))));
    }
}
