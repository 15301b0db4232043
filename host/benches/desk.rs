//! Desk benchmark: the inbox query (each view and order, a second page, a channel filter) and
//! a conversation's detail, p50 and p99, on a store of 100,000 customers with 1,000,000
//! interactions in 100,000 conversations (30 % open, 10 % pending, 60 % resolved; 20 agents;
//! one in five open ones unassigned).
//!
//! `cargo bench -p switchboard --bench desk` runs on SQLite, and on PostgreSQL too when
//! `SWITCHBOARD_TEST_DATABASE_URL` is set (a fresh database is created on that server).
//! `SWITCHBOARD_BENCH_CUSTOMERS` changes the size (interactions are ten per customer).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};
use switchboard::auth::{Access, Principal};
use switchboard::desk::{Desk, InboxParams};
use switchboard::metrics::Metrics;
use switchboard::registry::Registry;
use switchboard::runtime::{MemoryKv, Runtime, RuntimeConfig};
use switchboard::store::{Backend, Order, Store, StoreConfig, View};

const SAMPLES: usize = 200;
const AGENTS: i64 = 20;

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut targets =
            vec![("sqlite", format!("sqlite://{}", dir.path().join("desk.db").display()))];
        if let Ok(base) = std::env::var("SWITCHBOARD_TEST_DATABASE_URL") {
            let name = format!("switchboard_bench_desk_{}", std::process::id());
            targets.push(("postgres", support::fresh_postgres(&base, &name).await));
        } else {
            println!("(PostgreSQL skipped: SWITCHBOARD_TEST_DATABASE_URL is not set)");
        }
        let customers: i64 = std::env::var("SWITCHBOARD_BENCH_CUSTOMERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        for (name, url) in targets {
            println!("== {name}");
            let store = Store::open(&StoreConfig {
                url: url.clone(),
                default_region: Some("FR".into()),
                ..Default::default()
            })
            .await
            .unwrap();
            let started = Instant::now();
            bulk_load(store.backend(), &url, customers).await;
            println!(
                "loaded {customers} customers, {} interactions, {customers} conversations in {:.1?}",
                customers * 10,
                started.elapsed()
            );
            let runtime = Runtime::new(RuntimeConfig::default(), Arc::new(MemoryKv::new())).unwrap();
            let desk = Desk::new(
                store.clone(),
                Arc::new(Registry::new(runtime, None)),
                Arc::new(Metrics::default()),
            );
            measure(&store, &desk, customers).await;
            store.close().await;
        }
    });
}

async fn measure(store: &Store, desk: &Desk, customers: i64) {
    let admin = Principal::Machine { access: Access::Admin };
    let (agent, _) = store.user(3).await.unwrap().expect("agent 3");
    let agent = Principal::User { user: agent, session: None };
    let params = |view: View, order: Order, channel: Option<&str>| InboxParams {
        view: Some(view),
        order: Some(order),
        channel: channel.map(str::to_string),
        limit: Some(50),
        ..InboxParams::default()
    };
    let cases: Vec<(&str, &Principal, InboxParams)> = vec![
        ("inbox all, newest", &admin, params(View::All, Order::Newest, None)),
        ("inbox all, oldest waiting", &admin, params(View::All, Order::OldestWaiting, None)),
        ("inbox mine (an agent)", &agent, params(View::Mine, Order::Newest, None)),
        ("inbox unassigned", &admin, params(View::Unassigned, Order::Newest, None)),
        ("inbox channel=whatsapp", &admin, params(View::All, Order::Newest, Some("whatsapp"))),
    ];
    for (name, who, params) in cases {
        let first = desk.inbox(who, params.clone()).await.unwrap();
        assert_eq!(first.conversations.len(), 50, "{name}: a full page");
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let started = Instant::now();
            std::hint::black_box(desk.inbox(who, params.clone()).await.unwrap());
            samples.push(started.elapsed());
        }
        report(name, &mut samples);
        let second = InboxParams { cursor: first.next_cursor.clone(), ..params.clone() };
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let started = Instant::now();
            std::hint::black_box(desk.inbox(who, second.clone()).await.unwrap());
            samples.push(started.elapsed());
        }
        report(&format!("{name}, second page"), &mut samples);
    }
    let mut rng = 0x2545F4914F6CDD1Du64;
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let id = 1 + (rng % customers as u64) as i64;
        let started = Instant::now();
        let detail = desk.conversation(&admin, id).await.unwrap();
        samples.push(started.elapsed());
        assert_eq!(detail.messages.len(), 10);
    }
    report("conversation detail (10 messages)", &mut samples);
}

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!("{name} (n={}): p50 {:.2?}, p99 {:.2?}", samples.len(), p(0.5), p(0.99));
}

/// Customers, users and a team, then per customer one conversation with ten interactions over
/// one to three channels, all in a few set-based statements.
async fn bulk_load(backend: Backend, url: &str, customers: i64) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let series = |n: i64| match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s"
        ),
        Backend::Postgres => format!("SELECT n FROM generate_series(1, {n}) AS s(n)"),
    };
    let customers_series = series(customers);
    let interactions_series = series(customers * 10);
    let agents = series(AGENTS);
    // Conversation n belongs to customer n; status by n % 10: 0-2 open, 3 pending, else
    // resolved; assignee 1 + n % 20, none for every fifth open one.
    let status =
        "CASE WHEN n % 10 < 3 THEN 'open' WHEN n % 10 = 3 THEN 'pending' ELSE 'resolved' END";
    let assignee =
        format!("CASE WHEN n % 10 < 3 AND n % 5 = 0 THEN NULL ELSE 1 + n % {AGENTS} END");
    let channel = "CASE n % 3 WHEN 0 THEN 'email' WHEN 1 THEN 'whatsapp' ELSE 'telegram' END";
    let base_ms: i64 = 1_790_000_000_000;
    let statements = [
        format!(
            "INSERT INTO users (id, email, name, role, active, away, created_at, updated_at) \
             SELECT n, 'agent' || n || '@bench.example', 'Agent ' || n, 'agent', 1, 0, 0, 0 FROM ({agents}) AS g"
        ),
        "INSERT INTO teams (id, name, created_at) VALUES (1, 'Support', 0)".to_string(),
        format!("INSERT INTO team_members (team_id, user_id) SELECT 1, n FROM ({agents}) AS g"),
        format!(
            "INSERT INTO customers (id, created_at, display_name) SELECT n, 0, 'Bulk ' || n FROM ({customers_series}) AS g"
        ),
        format!(
            "INSERT INTO conversations (id, customer_id, status, priority, assignee_id, team_id, opened_connector, \
             opened_channel, created_at, updated_at, last_message_at, last_message_preview, last_message_direction, \
             last_message_channel, last_inbound_at, waiting_since, resolved_at, reopened_count) \
             SELECT n, n, {status}, 'normal', {assignee}, 1, {channel}, {channel}, {base_ms} + n * 1000, {base_ms} + n * 1000, \
             {base_ms} + n * 1000 + 9000, 'Message 10', 'inbound', {channel}, {base_ms} + n * 1000 + 9000, \
             CASE WHEN n % 10 < 3 THEN {base_ms} + n * 1000 ELSE NULL END, \
             CASE WHEN n % 10 > 3 THEN {base_ms} + n * 1000 + 10000 ELSE NULL END, 0 \
             FROM ({customers_series}) AS g"
        ),
        format!(
            "INSERT INTO conversation_channels (conversation_id, connector_id, channel) \
             SELECT n, {channel}, {channel} FROM ({customers_series}) AS g"
        ),
        // Interaction i belongs to conversation (and customer) 1 + (i - 1) / 10.
        format!(
            "INSERT INTO interactions (connector_id, provider_id, customer_id, linked_by, kind, direction, channel, \
             body, occurred_at, attachments, attributes, content_hash, created_at, conversation_id) \
             SELECT 'whatsapp', 'wamid.' || n, 1 + (n - 1) / 10, 'bulk', 'message', \
             CASE WHEN n % 2 = 0 THEN 'outbound' ELSE 'inbound' END, 'whatsapp', 'Message ' || (1 + (n - 1) % 10), \
             {base_ms} + (1 + (n - 1) / 10) * 1000 + ((n - 1) % 10) * 1000, '[]', '[]', '', 0, 1 + (n - 1) / 10 \
             FROM ({interactions_series}) AS g"
        ),
    ];
    let mut tx = conn.begin().await.unwrap();
    for statement in statements {
        tx.execute(sqlx::AssertSqlSafe(statement)).await.unwrap();
    }
    tx.commit().await.unwrap();
    if backend == Backend::Postgres {
        for table in ["users", "teams", "customers", "conversations"] {
            conn.execute(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            )))
            .await
            .unwrap();
        }
    }
    // As an operator's periodic maintenance would: `PRAGMA optimize` on SQLite; autovacuum on
    // PostgreSQL, which also marks pages all-visible so that index-only scans stay index-only.
    match backend {
        Backend::Sqlite => conn.execute("ANALYZE").await.unwrap(),
        Backend::Postgres => conn.execute("VACUUM ANALYZE").await.unwrap(),
    };
}
