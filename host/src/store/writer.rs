//! The writers' group commit: jobs that are waiting run in one transaction, each in its own
//! savepoint, and are answered after the commit (see the module documentation of the store).

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{broadcast, oneshot};

use super::sql::Conn;
use super::{Backend, LiveEvent, MAX_ATTEMPTS, StoreError, StoreMetrics, WriteFn, is_retryable};

/// A write job's transaction: the connection, and the live events it produced, published once
/// its batch commits (and dropped if it fails).
pub(crate) struct Tx<'c> {
    conn: Conn<'c>,
    /// Conversation changes to publish after the commit.
    pub published: Vec<LiveEvent>,
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = Conn<'c>;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

type Answer = Box<dyn Any + Send>;

/// One write: its work, the advisory keys it needs, and where its answer goes.
pub(crate) struct Job {
    work: Box<WriteFn<Answer>>,
    locks: Vec<i64>,
    reply: oneshot::Sender<Result<Answer, StoreError>>,
}

/// Where a job's typed answer arrives.
pub(crate) struct Pending<T> {
    receiver: oneshot::Receiver<Result<Answer, StoreError>>,
    _type: std::marker::PhantomData<T>,
}

impl<T: 'static> Pending<T> {
    /// The job's outcome, once its batch committed (or failed).
    pub async fn wait(self) -> Result<T, StoreError> {
        let answer = self.receiver.await.map_err(|_| StoreError::Closed)??;
        answer.downcast::<T>().map(|boxed| *boxed).map_err(|_| StoreError::Closed)
    }
}

impl Job {
    /// Answers the job with an error without running it.
    pub fn fail(self, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }

    /// A job running `work`, and the answer to await.
    pub fn new<T: Send + 'static>(locks: Vec<i64>, work: Box<WriteFn<T>>) -> (Job, Pending<T>) {
        let (reply, receiver) = oneshot::channel();
        let work: Arc<WriteFn<T>> = work.into();
        let erased: Box<WriteFn<Answer>> = Box::new(move |tx| {
            let work = work.clone();
            Box::pin(async move { work(tx).await.map(|value| Box::new(value) as Answer) })
        });
        (Job { work: erased, locks, reply }, Pending { receiver, _type: std::marker::PhantomData })
    }
}

/// What a writer needs besides its connection.
pub(crate) struct Writer {
    pub metrics: Arc<StoreMetrics>,
    pub live: broadcast::Sender<Arc<LiveEvent>>,
    pub max_batch: usize,
    /// PostgreSQL: this host's name in the notifications that tell other hosts of new live
    /// events (delivered at commit, so they never announce what was rolled back).
    pub notify_as: Option<String>,
}

/// The channel PostgreSQL hosts tell each other of new conversation events on.
pub(crate) const LIVE_CHANNEL: &str = "switchboard_live";

impl Writer {
    /// Takes the jobs waiting after `first` (up to the batch size) without waiting for more.
    pub fn gather(&self, first: Job, queue: &mut tokio::sync::mpsc::Receiver<Job>) -> Vec<Job> {
        let mut jobs = vec![first];
        while jobs.len() < self.max_batch {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        jobs
    }

    /// Runs a batch to the end: committed (each job answered with its own outcome), or, when
    /// the batch as a whole cannot commit, each job alone in a transaction of its own so that
    /// one bad job cannot fail the others. `false` when the connection looks lost.
    pub async fn run(&self, conn: &mut Conn<'_>, jobs: Vec<Job>) -> bool {
        let outcomes = self.attempt(conn, &jobs).await;
        match outcomes {
            Ok(outcomes) => self.finish(jobs, outcomes),
            Err(error) if connection_lost(&error) => {
                tracing::error!(%error, jobs = jobs.len(), "the store connection failed");
                for job in jobs {
                    job.fail(StoreError::Database(sqlx::Error::PoolClosed));
                }
                return false;
            }
            Err(error) if jobs.len() == 1 => {
                let job = jobs.into_iter().next().expect("one job");
                let _ = job.reply.send(Err(error));
            }
            Err(error) => {
                tracing::warn!(%error, jobs = jobs.len(), "a batch could not commit; running its jobs one by one");
                for job in jobs {
                    let outcome = self.attempt(conn, std::slice::from_ref(&job)).await;
                    match outcome {
                        Ok(outcomes) => self.finish(vec![job], outcomes),
                        Err(error) => {
                            let lost = connection_lost(&error);
                            let _ = job.reply.send(Err(error));
                            if lost {
                                return false;
                            }
                        }
                    }
                }
            }
        }
        true
    }

    fn finish(&self, jobs: Vec<Job>, outcomes: Vec<Result<(Answer, Vec<LiveEvent>), StoreError>>) {
        super::count_commit(&self.metrics, jobs.len());
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            match outcome {
                Ok((answer, published)) => {
                    for event in published {
                        // Nobody listening is fine: the event is in the store.
                        let _ = self.live.send(Arc::new(event));
                    }
                    let _ = job.reply.send(Ok(answer));
                }
                Err(error) => {
                    self.metrics.failed_jobs.fetch_add(1, Ordering::Relaxed);
                    let _ = job.reply.send(Err(error));
                }
            }
        }
    }

    /// Runs the batch in one transaction until it commits, retrying it as a whole after a
    /// deadlock or a concurrent change. `Err` only when it cannot commit at all.
    async fn attempt(
        &self,
        conn: &mut Conn<'_>,
        jobs: &[Job],
    ) -> Result<Vec<Result<(Answer, Vec<LiveEvent>), StoreError>>, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.transaction(conn, jobs).await {
                Err(error) if attempt < MAX_ATTEMPTS && is_retryable(&error) => {
                    self.metrics.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%error, attempt, "batch retried");
                    backoff(attempt).await;
                }
                other => return other,
            }
        }
    }

    async fn transaction(
        &self,
        conn: &mut Conn<'_>,
        jobs: &[Job],
    ) -> Result<Vec<Result<(Answer, Vec<LiveEvent>), StoreError>>, StoreError> {
        let begin = match conn.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        conn.batch(begin).await?;
        match self.jobs_in_transaction(conn, jobs).await {
            // Nothing to keep: a lone job that failed, or a batch whose every job did.
            Ok(outcomes) if outcomes.iter().all(Result::is_err) => {
                conn.batch("ROLLBACK").await?;
                Ok(outcomes)
            }
            Ok(outcomes) => match self
                .announce(conn, published_ids(&outcomes))
                .await
                .and(conn.batch("COMMIT").await)
            {
                Ok(()) => Ok(outcomes),
                Err(error) => {
                    // SQLite keeps a transaction whose COMMIT failed (busy); PostgreSQL ended it.
                    if conn.backend() == Backend::Sqlite {
                        let _ = conn.batch("ROLLBACK").await;
                    }
                    Err(error)
                }
            },
            Err(error) => {
                if let Err(rollback) = conn.batch("ROLLBACK").await {
                    tracing::error!(%rollback, "rollback failed");
                }
                Err(error)
            }
        }
    }

    /// Tells the other hosts (PostgreSQL) which events this transaction adds.
    async fn announce(&self, conn: &mut Conn<'_>, ids: Vec<i64>) -> Result<(), StoreError> {
        let Some(host) = &self.notify_as else { return Ok(()) };
        if ids.is_empty() {
            return Ok(());
        }
        // A payload is limited to 8000 bytes: ids travel in chunks.
        for chunk in ids.chunks(500) {
            let payload = serde_json::json!({"host": host, "ids": chunk}).to_string();
            conn.execute("SELECT pg_notify($1, $2)", super::params![LIVE_CHANNEL, payload]).await?;
        }
        Ok(())
    }

    async fn jobs_in_transaction(
        &self,
        conn: &mut Conn<'_>,
        jobs: &[Job],
    ) -> Result<Vec<Result<(Answer, Vec<LiveEvent>), StoreError>>, StoreError> {
        if conn.backend() == Backend::Postgres {
            let mut keys: Vec<i64> =
                jobs.iter().flat_map(|job| job.locks.iter().copied()).collect();
            if !keys.is_empty() {
                // One order for every batch on every host: they cannot deadlock on these.
                keys.sort_unstable();
                keys.dedup();
                conn.execute(
                    "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k",
                    super::params![keys],
                )
                .await?;
            }
        }
        // A lone job needs no savepoint: its failure is the transaction's.
        let alone = jobs.len() == 1;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            if !alone {
                conn.batch("SAVEPOINT job").await?;
            }
            let mut tx = Tx { conn: conn.reborrow(), published: Vec::new() };
            let outcome = (job.work)(&mut tx).await;
            let published = std::mem::take(&mut tx.published);
            drop(tx);
            match outcome {
                Ok(answer) => {
                    if !alone {
                        conn.batch("RELEASE SAVEPOINT job").await?;
                    }
                    outcomes.push(Ok((answer, published)));
                }
                // The whole batch runs again.
                Err(error) if is_retryable(&error) => return Err(error),
                Err(error) if alone => outcomes.push(Err(error)),
                Err(error) => {
                    conn.batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job").await?;
                    outcomes.push(Err(error));
                }
            }
        }
        Ok(outcomes)
    }
}

/// Whether an error means the connection itself is gone (PostgreSQL restarted, network down).
fn connection_lost(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Database(
            sqlx::Error::Io(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
        )
    )
}

/// The ids of the live events a batch's jobs produced.
fn published_ids(outcomes: &[Result<(Answer, Vec<LiveEvent>), StoreError>]) -> Vec<i64> {
    outcomes.iter().flatten().flat_map(|(_, events)| events.iter().map(|e| e.id)).collect()
}

/// Waits a little before retrying, differently for each attempt and process, so that colliding
/// writers do not collide again in lockstep.
pub(crate) async fn backoff(attempt: u32) {
    let jitter = (u64::from(std::process::id()) * 7 + u64::from(attempt) * 13) % 17;
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 3 + jitter)).await;
}

impl Conn<'_> {
    /// The same connection for a shorter borrow.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(conn) => Conn::Sqlite(conn),
            Conn::Postgres(conn) => Conn::Postgres(conn),
        }
    }
}
