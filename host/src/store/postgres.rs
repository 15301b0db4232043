//! PostgreSQL through sqlx: a pool for reads, and a few writer tasks per host, each with a
//! connection of its own, that share one queue of jobs and group-commit them.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use tokio::sync::{broadcast, mpsc};

use super::sql::Conn;
use super::writer::{Job, Writer};
use super::{LiveEvent, Migration, ReadFn, StoreConfig, StoreError, StoreMetrics};

/// Jobs waiting for a writer at most (backpressure beyond).
const QUEUE: usize = 8192;

/// A PostgreSQL store.
pub(crate) struct Postgres {
    pool: PgPool,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    writers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Postgres {
    /// Connects the read pool and starts the writers (they connect on their own, and again
    /// after losing their connection).
    pub async fn connect(
        url: &str,
        config: &StoreConfig,
        metrics: Arc<StoreMetrics>,
        live: broadcast::Sender<Arc<LiveEvent>>,
    ) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?
            // Statement logging at debug would put every parameter (identifiers, message text)
            // into the log.
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        let (queue, jobs) = mpsc::channel::<Job>(QUEUE);
        let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
        let host = crate::auth::new_secret("host-");
        let mut writers = Vec::new();
        for n in 0..config.writers.max(1) {
            let writer = Writer {
                metrics: metrics.clone(),
                live: live.clone(),
                max_batch: config.max_batch.max(1),
                notify_as: Some(host.clone()),
            };
            writers.push(tokio::spawn(write_loop(n, options.clone(), jobs.clone(), writer)));
        }
        let listener = tokio::spawn(listen(pool.clone(), host, live));
        Ok(Postgres {
            pool,
            queue: Mutex::new(Some(queue)),
            writers: Mutex::new(writers),
            listener: Mutex::new(Some(listener)),
        })
    }

    /// Queues a job for the writers; waits for room when the queue is full.
    pub async fn submit(&self, job: Job) -> Result<(), StoreError> {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let queue = queue.ok_or(StoreError::Closed)?;
        queue.send(job).await.map_err(|_| StoreError::Closed)
    }

    /// Runs a read on a pooled connection.
    pub async fn read<T: Send + 'static>(&self, work: Box<ReadFn<T>>) -> Result<T, StoreError> {
        let mut connection = self.pool.acquire().await?;
        work(&mut Conn::Postgres(&mut connection)).await
    }

    /// Applies the migrations the database lacks (sqlx's migrator, which locks against other
    /// hosts migrating at the same time).
    pub async fn migrate(&self, migrations: Vec<Migration>) -> Result<(), StoreError> {
        use sqlx::SqlSafeStr;
        use sqlx::migrate::{Migration as SqlxMigration, MigrationType, Migrator};
        let migrations = migrations
            .into_iter()
            .map(|m| {
                SqlxMigration::new(
                    m.version,
                    std::borrow::Cow::Borrowed(m.description),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(m.sql).into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations)
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))
    }

    /// Stops the writers after the queued jobs, and closes the pool.
    pub async fn close(&self) {
        if let Some(listener) = self.listener.lock().unwrap_or_else(|e| e.into_inner()).take() {
            listener.abort();
        }
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        let writers: Vec<_> =
            std::mem::take(&mut *self.writers.lock().unwrap_or_else(|e| e.into_inner()));
        for writer in writers {
            let _ = writer.await;
        }
        self.pool.close().await;
    }
}

async fn write_loop(
    n: u32,
    options: PgConnectOptions,
    jobs: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    writer: Writer,
) {
    let mut connection: Option<sqlx::PgConnection> = None;
    let mut failures = 0u32;
    loop {
        let batch = {
            let mut queue = jobs.lock().await;
            let Some(first) = queue.recv().await else { break };
            writer.gather(first, &mut queue)
        };
        let conn = match &mut connection {
            Some(conn) => conn,
            None => match options.connect().await {
                Ok(conn) => {
                    failures = 0;
                    connection.insert(conn)
                }
                Err(error) => {
                    failures += 1;
                    tracing::error!(writer = n, %error, "store writer cannot connect");
                    for job in batch {
                        job.fail(StoreError::Database(sqlx::Error::PoolTimedOut));
                    }
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(failures.min(50))))
                        .await;
                    continue;
                }
            },
        };
        // A connection that broke is replaced before the next batch.
        if !writer.run(&mut Conn::Postgres(conn), batch).await {
            tracing::warn!(writer = n, "store writer lost its connection; reconnecting");
            connection = None;
        }
    }
    if let Some(conn) = connection {
        let _ = sqlx::Connection::close(conn).await;
    }
}

/// Delivers the conversation events other hosts committed to this host's live stream: they
/// announce the ids at commit (`pg_notify`), this host reads the rows. A listener that loses
/// its connection reconnects; events committed meanwhile are not pushed (a console that
/// reconnects its stream catches up from the store by its last event id).
async fn listen(pool: PgPool, host: String, live: broadcast::Sender<Arc<LiveEvent>>) {
    use sqlx::postgres::PgListener;
    let mut failures = 0u32;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                failures += 1;
                tracing::warn!(%error, "live-event listener cannot connect; retrying");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(failures.min(25)))).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(super::writer::LIVE_CHANNEL).await {
            tracing::warn!(%error, "live-event listener cannot listen; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        failures = 0;
        loop {
            let notification = match listener.recv().await {
                Ok(notification) => notification,
                Err(error) => {
                    tracing::warn!(%error, "live-event listener lost its connection; reconnecting");
                    break;
                }
            };
            let Ok(message) = serde_json::from_str::<serde_json::Value>(notification.payload())
            else {
                continue;
            };
            if message["host"].as_str() == Some(host.as_str()) {
                continue;
            }
            let ids: Vec<i64> = message["ids"]
                .as_array()
                .map(|ids| ids.iter().filter_map(|v| v.as_i64()).collect())
                .unwrap_or_default();
            match events(&pool, &ids).await {
                Ok(events) => {
                    for event in events {
                        let _ = live.send(Arc::new(event));
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not read live events another host announced")
                }
            }
        }
    }
}

async fn events(pool: &PgPool, ids: &[i64]) -> Result<Vec<LiveEvent>, StoreError> {
    type EventRow = (i64, String, i64, i64, Option<i64>, String, i64, Option<i64>, Option<i64>);
    let mut connection = pool.acquire().await?;
    let mut conn = Conn::Postgres(&mut connection);
    let rows: Vec<EventRow> = conn
        .all(
            "SELECT e.id, e.kind, e.conversation_id, e.customer_id, e.actor_id, e.data, e.created_at, \
             c.team_id, c.assignee_id FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id \
             WHERE e.id = ANY($1) ORDER BY e.id",
            super::params![ids.to_vec()],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, conversation_id, customer_id, actor_id, data, at, team_id, assignee_id)| {
                LiveEvent {
                    id,
                    kind,
                    conversation_id,
                    customer_id,
                    team_id,
                    assignee_id,
                    actor_id,
                    data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                    at,
                }
            },
        )
        .collect())
}
