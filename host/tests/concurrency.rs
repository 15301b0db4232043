//! Concurrent writers feeding overlapping identities: no normalized identifier ever belongs to
//! two live customers, no event is lost, and every person ends up as exactly one customer.
//! SQLite with 8 writers in one process; PostgreSQL with two separate processes.

mod common;

use std::process::Command;

use switchboard::model::*;
use switchboard::store::Store;

const PEOPLE: usize = 6;
const EVENTS_PER_WRITER: usize = 150;

/// A small deterministic generator, so a failure can be reproduced from its seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below
    }
}

fn identifiers(person: usize) -> [Identifier; 3] {
    [
        Identifier::Email { value: format!("Person{person}@Example.com") },
        // Written differently from the other side's events: normalization must unify them.
        Identifier::Phone { value: format!("06 12 34 {:02} {:02}", person / 100, person % 100) },
        Identifier::External {
            namespace: "telegram:user".into(),
            value: format!("{}", 1000 + person),
        },
    ]
}

/// The events of one writer: each names one person by one or two of their identifiers, and the
/// last ones link every pair, so that in the end each person is provably one customer.
fn events(writer: usize) -> Vec<Event> {
    let mut rng = Lcg(writer as u64 + 1);
    let mut events = Vec::new();
    for n in 0..EVENTS_PER_WRITER {
        let person = rng.next(PEOPLE);
        let ids = identifiers(person);
        let first = rng.next(3);
        let mut chosen = vec![ids[first].clone()];
        if rng.next(2) == 0 {
            chosen.push(ids[(first + 1 + rng.next(2)) % 3].clone());
        }
        events.push(message(&format!("w{writer}-{n}"), chosen, n as i64));
    }
    if writer == 0 {
        for person in 0..PEOPLE {
            let ids = identifiers(person);
            events.push(message(&format!("link-{person}"), ids.to_vec(), 1_000_000));
        }
    }
    events
}

fn message(id: &str, identifiers: Vec<Identifier>, at: i64) -> Event {
    Event::Interaction(Interaction {
        provider_id: id.into(),
        kind: InteractionKind::Message,
        direction: Direction::Inbound,
        contact: Contact {
            identifiers: identifiers.into_iter().map(Into::into).collect(),
            display_name: None,
            given_name: None,
            family_name: None,
            locale: None,
            attributes: vec![],
        },
        channel: "test".into(),
        thread_id: None,
        subject: None,
        text: None,
        occurred_at: at,
        status: None,
        attachments: vec![],
        attributes: vec![],
    })
}

async fn write_all(store: &Store, writer: usize) {
    for event in events(writer) {
        store.ingest(&format!("writer-{writer}"), &[event]).await.unwrap();
    }
}

async fn check_invariants(url: &str, writers: usize) {
    use sqlx::Connection;
    let mut conn = {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(url).await.unwrap()
    };
    let shared: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT cp.kind, cp.value, COUNT(DISTINCT cp.customer_id) FROM contact_points cp \
         JOIN customers c ON c.id = cp.customer_id WHERE c.merged_into IS NULL \
         GROUP BY cp.kind, cp.value HAVING COUNT(DISTINCT cp.customer_id) > 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(shared.is_empty(), "identifiers owned by two live customers: {shared:?}");
    let (stored,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM interactions").fetch_one(&mut conn).await.unwrap();
    assert_eq!(stored as usize, writers * EVENTS_PER_WRITER + PEOPLE, "no event may be lost");
    let (live,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM customers WHERE merged_into IS NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(live as usize, PEOPLE, "every person is exactly one customer");
    let (orphans,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM interactions i JOIN customers c ON c.id = i.customer_id WHERE c.merged_into IS NOT NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(orphans, 0, "no record is left on a merged-away customer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_writers_on_sqlite() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move { write_all(&store, writer).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    check_invariants(&db.url, 8).await;
}

#[tokio::test]
async fn two_processes_on_postgres() {
    let Some(db) = common::postgres().await else { return };
    common::open(&db).await.close().await;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|process| {
            Command::new(&exe)
                .args(["--ignored", "--exact", "postgres_writer_process", "--nocapture"])
                .env("SWITCHBOARD_WRITER_URL", &db.url)
                .env("SWITCHBOARD_WRITER_PROCESS", process.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer process failed");
    }
    check_invariants(&db.url, 8).await;
}

/// One of the two writer processes of `two_processes_on_postgres`: four concurrent writers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by two_processes_on_postgres as a separate process"]
async fn postgres_writer_process() {
    let (Ok(url), Ok(process)) =
        (std::env::var("SWITCHBOARD_WRITER_URL"), std::env::var("SWITCHBOARD_WRITER_PROCESS"))
    else {
        return;
    };
    let process: usize = process.parse().unwrap();
    let store = Store::open(&common::config(&url)).await.unwrap();
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { write_all(&store, process * 4 + i).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
}
