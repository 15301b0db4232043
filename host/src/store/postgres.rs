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
        let mut writers = Vec::new();
        for n in 0..config.writers.max(1) {
            let writer = Writer {
                metrics: metrics.clone(),
                live: live.clone(),
                max_batch: config.max_batch.max(1),
            };
            writers.push(tokio::spawn(write_loop(n, options.clone(), jobs.clone(), writer)));
        }
        Ok(Postgres { pool, queue: Mutex::new(Some(queue)), writers: Mutex::new(writers) })
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
