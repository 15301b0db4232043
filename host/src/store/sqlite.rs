//! SQLite through rusqlite: one writer thread that owns the write connection and commits jobs
//! in batches, and a small pool of read-only connections used from blocking threads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, broadcast, mpsc};

use super::sql::{Conn, sqlite_error};
use super::writer::{Job, Writer};
use super::{LiveEvent, Migration, ReadFn, StoreConfig, StoreError, StoreMetrics};

/// Jobs waiting for the writer at most; a webhook beyond that waits for room (backpressure)
/// rather than growing the queue without bound.
const QUEUE: usize = 8192;

/// Where the database is.
#[derive(Debug, Clone)]
pub(crate) enum Location {
    /// A file, created unless `create` is false (`?mode=ro` or `?mode=rw`).
    File { path: PathBuf, create: bool, read_only: bool },
    /// In memory, shared by this store's connections under a unique name.
    Memory(String),
}

impl Location {
    /// The part of a `sqlite:` URL after the scheme: `//path/to.db[?mode=…]`, `path.db`, or
    /// `:memory:`.
    pub fn parse(rest: &str) -> Location {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path == ":memory:" || path == "//:memory:" || query.contains("mode=memory") {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            return Location::Memory(format!(
                "switchboard-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
        }
        let path = path.strip_prefix("//").unwrap_or(path);
        let mode = query.split('&').find_map(|p| p.strip_prefix("mode=")).unwrap_or("rwc");
        Location::File { path: PathBuf::from(path), create: mode == "rwc", read_only: mode == "ro" }
    }

    fn open(&self, writer: bool) -> Result<rusqlite::Connection, StoreError> {
        use rusqlite::OpenFlags;
        let connection = match self {
            Location::File { path, create, read_only } => {
                let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
                if *read_only || !writer {
                    flags |= OpenFlags::SQLITE_OPEN_READ_ONLY;
                } else {
                    flags |= OpenFlags::SQLITE_OPEN_READ_WRITE;
                    if *create {
                        flags |= OpenFlags::SQLITE_OPEN_CREATE;
                    }
                }
                rusqlite::Connection::open_with_flags(path, flags)
            }
            Location::Memory(name) => rusqlite::Connection::open_with_flags(
                format!("file:{name}?mode=memory&cache=shared"),
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            ),
        }
        .map_err(sqlite_error)?;
        // WAL lets readers run beside the writer; FULL makes a commit durable before it
        // returns, which is what acknowledging a webhook promises.
        let mut pragmas = String::from(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;",
        );
        if writer && matches!(self, Location::File { read_only: false, .. }) {
            pragmas.push_str(" PRAGMA journal_mode = WAL;");
        }
        if !writer {
            // A reader cannot write by mistake.
            pragmas.push_str(" PRAGMA query_only = ON;");
        }
        connection.execute_batch(&pragmas).map_err(sqlite_error)?;
        // Every statement the store runs stays prepared.
        connection.set_prepared_statement_cache_capacity(512);
        Ok(connection)
    }
}

/// A SQLite store: its writer and its readers.
pub(crate) struct Sqlite {
    location: Location,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Arc<Readers>,
}

struct Readers {
    idle: Mutex<Vec<rusqlite::Connection>>,
    permits: Semaphore,
}

impl Sqlite {
    /// Opens the write connection (creating the file) and starts the writer thread.
    pub fn open(
        location: Location,
        config: &StoreConfig,
        metrics: Arc<StoreMetrics>,
        live: broadcast::Sender<Arc<LiveEvent>>,
    ) -> Result<Self, StoreError> {
        let mut connection = location.open(true)?;
        let (queue, mut jobs) = mpsc::channel::<Job>(QUEUE);
        let writer = Writer { metrics, live, max_batch: config.max_batch.max(1), notify_as: None };
        let thread = std::thread::Builder::new()
            .name("switchboard-sqlite-writer".into())
            .spawn(move || {
                // The jobs' futures never wait on anything but SQLite, which answers on this
                // thread: a current-thread runtime drives them.
                let runtime =
                    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(runtime) => runtime,
                        Err(error) => {
                            tracing::error!(%error, "the SQLite writer could not start");
                            return;
                        }
                    };
                runtime.block_on(async move {
                    while let Some(first) = jobs.recv().await {
                        let batch = writer.gather(first, &mut jobs);
                        writer.run(&mut Conn::Sqlite(&mut connection), batch).await;
                    }
                });
            })
            .map_err(|e| {
                StoreError::Sqlite(format!("cannot start the writer thread: {e}"), None)
            })?;
        Ok(Sqlite {
            location,
            queue: Mutex::new(Some(queue)),
            writer: Mutex::new(Some(thread)),
            readers: Arc::new(Readers {
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(config.max_connections.max(2) as usize),
            }),
        })
    }

    /// Queues a job for the writer; waits for room when the queue is full.
    pub async fn submit(&self, job: Job) -> Result<(), StoreError> {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let queue = queue.ok_or(StoreError::Closed)?;
        queue.send(job).await.map_err(|_| StoreError::Closed)
    }

    /// Runs a read on a pooled read-only connection, on a blocking thread.
    pub async fn read<T: Send + 'static>(&self, work: Box<ReadFn<T>>) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let _permit = readers.permits.acquire().await.map_err(|_| StoreError::Closed)?;
        let pooled = readers.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut connection = match pooled {
            Some(connection) => connection,
            None => self.location.open(false)?,
        };
        let handle = tokio::runtime::Handle::current();
        let (connection, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = handle.block_on(work(&mut Conn::Sqlite(&mut connection)));
            (connection, outcome)
        })
        .await
        .map_err(|e| StoreError::Sqlite(format!("a read failed to run: {e}"), None))?;
        readers.idle.lock().unwrap_or_else(|e| e.into_inner()).push(connection);
        outcome
    }

    /// Applies the migrations the database lacks, each in its own transaction, recording them
    /// in `_sqlx_migrations` as sqlx does (so a store created by an earlier version, which
    /// used sqlx's migrator, is recognised).
    pub async fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
        let mut connection = self.location.open(true)?;
        let migrations: Vec<(i64, String, String)> = migrations
            .iter()
            .map(|m| (m.version, m.description.to_string(), m.sql.clone()))
            .collect();
        tokio::task::spawn_blocking(move || migrate(&mut connection, &migrations))
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?
    }

    /// Lets the writer finish the jobs queued, then stops it.
    pub async fn close(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        self.readers.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn migrate(
    connection: &mut rusqlite::Connection,
    migrations: &[(i64, String, String)],
) -> Result<(), StoreError> {
    use sha2::{Digest, Sha384};
    let failed = |e: rusqlite::Error| StoreError::Migrate(e.to_string());
    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
                version BIGINT PRIMARY KEY,
                description TEXT NOT NULL,
                installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                success BOOLEAN NOT NULL,
                checksum BLOB NOT NULL,
                execution_time BIGINT NOT NULL
            );",
        )
        .map_err(failed)?;
    let applied: Vec<(i64, Vec<u8>, bool)> = {
        let mut statement = connection
            .prepare("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .map_err(failed)?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)?
    };
    for (version, description, sql) in migrations {
        let checksum = Sha384::digest(sql.as_bytes()).to_vec();
        if let Some((_, stored, success)) = applied.iter().find(|(v, ..)| v == version) {
            if !success {
                return Err(StoreError::Migrate(format!(
                    "migration {version} ({description}) was left half-applied; restore a backup"
                )));
            }
            if *stored != checksum {
                return Err(StoreError::Migrate(format!(
                    "migration {version} ({description}) was applied from different SQL than this \
                     version has"
                )));
            }
            continue;
        }
        let started = std::time::Instant::now();
        let tx = connection.transaction().map_err(failed)?;
        tx.execute_batch(sql).map_err(|e| {
            StoreError::Migrate(format!("migration {version} ({description}): {e}"))
        })?;
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?1, ?2, TRUE, ?3, ?4)",
            rusqlite::params![version, description, checksum, started.elapsed().as_nanos() as i64],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!(version, description, "store migrated");
    }
    Ok(())
}
