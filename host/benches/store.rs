//! Store benchmark: events ingested per second with durable commits (a contact update and an
//! interaction per webhook, 20% returning customers), one transaction per webhook against
//! group commits of many webhooks; and the latency of resolving one contact with a million
//! customers in the store.
//!
//! `cargo bench -p switchboard --bench store` runs on SQLite, and on PostgreSQL too when
//! `SWITCHBOARD_TEST_DATABASE_URL` is set (a fresh database is created on that server).
//! `SWITCHBOARD_BENCH_CUSTOMERS` changes the size of the big store (default 1,000,000).

mod support;

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};
use switchboard::model::*;
use switchboard::store::{Backend, Store, StoreConfig};

const WEBHOOKS: usize = 2000;

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let targets = support::databases("store", dir.path()).await;
        let customers: usize = std::env::var("SWITCHBOARD_BENCH_CUSTOMERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        for (name, url) in targets {
            println!("== {name}");
            let writers = std::env::var("SWITCHBOARD_BENCH_WRITERS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(StoreConfig::default().writers);
            let store = Store::open(&StoreConfig {
                url: url.clone(),
                default_region: Some("FR".into()),
                writers,
                ..Default::default()
            })
            .await
            .unwrap();
            // A store in use, as the planner knows it after autovacuum's ANALYZE: measured on
            // an empty database, PostgreSQL keeps the plans it chose for empty tables.
            let started = Instant::now();
            bulk_load(store.backend(), &url, customers).await;
            println!("bulk-loaded {customers} customers in {:.1?}", started.elapsed());
            throughput(&store).await;
            resolve_latency(&store, customers).await;
            store.close().await;
        }
    });
}

fn contact(person: usize) -> Contact {
    Contact {
        identifiers: vec![
            Identifier::email(format!("person{person}@bench.example")).declared(),
            Identifier::Phone {
                value: format!(
                    "06 {:02} {:02} {:02} {:02}",
                    person / 1_000_000 % 100,
                    person / 10_000 % 100,
                    person / 100 % 100,
                    person % 100
                ),
            }
            .declared(),
        ],
        display_name: Some(format!("Person {person}")),
        given_name: None,
        family_name: None,
        locale: None,
        attributes: vec![],
    }
}

/// One webhook's events: the contact as seen, and their message.
fn webhook(tag: &str, n: usize, person: usize) -> Vec<Event> {
    vec![
        Event::Contact(ContactUpdate {
            provider_id: format!("{tag}-c{n}"),
            contact: contact(person),
            occurred_at: n as i64,
        }),
        Event::Interaction(Interaction {
            provider_id: format!("{tag}-m{n}"),
            kind: InteractionKind::Message,
            direction: Direction::Inbound,
            contact: contact(person),
            channel: "email".into(),
            thread_id: None,
            subject: Some("Order question".into()),
            text: Some("Hello, where is my parcel?".into()),
            occurred_at: n as i64,
            status: None,
            attachments: vec![],
            attributes: vec![],
        }),
    ]
}

/// Person for the n-th webhook: 20% come back (one of the people seen so far), 80% are new.
fn person(tag_offset: usize, n: usize) -> usize {
    if n % 5 == 4 { tag_offset + n / 2 } else { tag_offset + n }
}

async fn throughput(store: &Store) {
    let mut last = (0, 0, 0);
    // One durable transaction per webhook, one at a time.
    let started = Instant::now();
    for n in 0..WEBHOOKS {
        store.ingest("bench", &webhook("seq", n, person(10_000_000, n))).await.unwrap();
    }
    let sequential = started.elapsed();
    report("one transaction per webhook, sequential", sequential);
    writers(store, &mut last);

    // The same from 16 concurrent senders.
    let started = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (t..WEBHOOKS).step_by(16) {
                    store
                        .ingest("bench", &webhook("conc", n, person(20_000_000, n)))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let concurrent = started.elapsed();
    report("16 concurrent senders, group-committed by the writers", concurrent);
    writers(store, &mut last);

    // Group commit: the webhooks waiting at the same time share one durable commit.
    for batch_size in [16, 64] {
        let started = Instant::now();
        let all: Vec<Vec<Event>> = (0..WEBHOOKS)
            .map(|n| {
                webhook(
                    &format!("batch{batch_size}"),
                    n,
                    person(30_000_000 + batch_size * 1_000_000, n),
                )
            })
            .collect();
        for chunk in all.chunks(batch_size) {
            let batch: Vec<(&str, &[Event])> =
                chunk.iter().map(|events| ("bench", events.as_slice())).collect();
            store.ingest_batch(&batch).await.unwrap();
        }
        let elapsed = started.elapsed();
        report(&format!("group commit, {batch_size} webhooks submitted together"), elapsed);
        writers(store, &mut last);
        println!(
            "  ratio vs one transaction per webhook: {:.1}x",
            sequential.as_secs_f64() / elapsed.as_secs_f64()
        );
    }
}

fn report(name: &str, elapsed: Duration) {
    let events = WEBHOOKS * 2;
    println!(
        "{name}: {WEBHOOKS} webhooks ({events} events) in {elapsed:.2?} = {:.0} events/s",
        events as f64 / elapsed.as_secs_f64()
    );
}

/// What the writers did since the last call: commits, jobs per commit, batches retried.
fn writers(store: &Store, last: &mut (u64, u64, u64)) {
    use std::sync::atomic::Ordering::Relaxed;
    let metrics = store.metrics();
    let now =
        (metrics.commits.load(Relaxed), metrics.jobs.load(Relaxed), metrics.retries.load(Relaxed));
    let (commits, jobs, retries) = (now.0 - last.0, now.1 - last.1, now.2 - last.2);
    println!(
        "  writers: {commits} commits, {:.1} jobs per commit, {retries} batches retried",
        jobs as f64 / commits.max(1) as f64
    );
    *last = now;
}

/// Fills the store with `customers` customers (an e-mail and a phone each) in bulk, then
/// measures single-contact ingestion (resolution + write + durable commit) against it.
async fn resolve_latency(store: &Store, customers: usize) {
    let mut returning = Vec::new();
    let mut fresh = Vec::new();
    let mut rng = 0x2545F4914F6CDD1Du64;
    for n in 0..1000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let known = (rng as usize) % customers;
        let (person, into) =
            if n % 5 == 0 { (known, &mut returning) } else { (90_000_000 + n, &mut fresh) };
        let started = Instant::now();
        store.ingest("bench", &webhook("resolve", n, person)[1..]).await.unwrap();
        into.push(started.elapsed());
    }
    let mut all: Vec<_> = returning.iter().chain(fresh.iter()).copied().collect();
    for (name, samples) in [("returning", &mut returning), ("new", &mut fresh), ("all", &mut all)] {
        samples.sort();
        let p = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
        println!(
            "resolve + store one contact with {customers} customers ({name}, n={}): p50 {:.2?}, p99 {:.2?}",
            samples.len(),
            p(0.5),
            p(0.99)
        );
    }
}

async fn bulk_load(backend: Backend, url: &str, customers: usize) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let series = match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {customers}) SELECT n FROM s"
        ),
        Backend::Postgres => format!("SELECT n FROM generate_series(1, {customers}) AS s(n)"),
    };
    let (base,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM customers")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let statements = [
        format!(
            "INSERT INTO customers (id, created_at, display_name) SELECT {base} + n, 0, 'Bulk ' || n FROM ({series}) AS g"
        ),
        format!(
            "INSERT INTO contact_points (customer_id, kind, value, raw, source_connector, first_seen, last_seen) \
             SELECT {base} + n, 'email', 'person' || n || '@bench.example', 'person' || n || '@bench.example', 'bulk', 0, 0 FROM ({series}) AS g"
        ),
        format!(
            "INSERT INTO contact_points (customer_id, kind, value, raw, source_connector, first_seen, last_seen) \
             SELECT {base} + n, 'phone', '+336' || CAST(10000000 + n AS TEXT), 'bulk', 'bulk', 0, 0 FROM ({series}) AS g"
        ),
    ];
    let mut tx = conn.begin().await.unwrap();
    for statement in statements {
        tx.execute(sqlx::AssertSqlSafe(statement)).await.unwrap();
    }
    tx.commit().await.unwrap();
    if backend == Backend::Postgres {
        conn.execute("SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT MAX(id) FROM customers))").await.unwrap();
    }
    // As an operator's periodic maintenance would (`PRAGMA optimize` / autovacuum).
    conn.execute("ANALYZE").await.unwrap();
}
