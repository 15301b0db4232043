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

use switchboard::auth::{Access, Principal};
use switchboard::desk::{Desk, InboxParams};
use switchboard::metrics::Metrics;
use switchboard::registry::Registry;
use switchboard::runtime::{MemoryKv, Runtime, RuntimeConfig};
use switchboard::store::{Order, Store, StoreConfig, View};

const SAMPLES: usize = 200;
const AGENTS: i64 = 20;

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let targets = support::databases("desk", dir.path()).await;
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
            support::bulk_load(store.backend(), &url, customers, AGENTS).await;
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
