//! Console benchmark: the server time of the console's pages (request in, whole HTML body out,
//! through the real router with a session cookie) on a store of 100,000 customers, each with
//! an e-mail address and a mobile, 1,000,000 interactions in 100,000 conversations, 10,000
//! orders, 20 agents in one team. Reports p50 and p99 per page; the target is p99 ≤ 100 ms for
//! the inbox, a conversation, a customer and a search.
//!
//! `cargo bench -p switchboard --bench console` runs on SQLite, and on PostgreSQL too when
//! `SWITCHBOARD_TEST_DATABASE_URL` is set (a fresh database is created on that server).
//! `SWITCHBOARD_BENCH_CUSTOMERS` changes the size.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt as _;
use switchboard::auth::{Auth, AuthSettings, new_secret, secret_hash};
use switchboard::desk::Desk;
use switchboard::http::AppState;
use switchboard::metrics::Metrics;
use switchboard::registry::Registry;
use switchboard::runtime::{MemoryKv, Runtime, RuntimeConfig};
use switchboard::store::{Store, StoreConfig, UserRole};
use tower::ServiceExt as _;

const SAMPLES: usize = 200;
const AGENTS: i64 = 20;
/// The page target of the issue, in milliseconds (p99).
const TARGET_MS: u128 = 100;

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let targets = support::databases("console", dir.path()).await;
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
                "loaded {customers} customers, {} interactions, {customers} conversations, {} orders in {:.1?}",
                customers * 10,
                customers / 10,
                started.elapsed()
            );
            measure(&store, customers).await;
            store.close().await;
        }
    });
}

/// A session cookie for `user`, opened in the store as a login would.
async fn session(store: &Store, user: i64) -> String {
    let token = new_secret("sbs_");
    let week = 7 * 24 * 3600 * 1000;
    store
        .open_session(
            user,
            &secret_hash(&token),
            &new_secret("sbc_"),
            switchboard::store::now_millis() + week,
        )
        .await
        .unwrap();
    format!("{}={token}", switchboard::auth::SESSION_COOKIE)
}

async fn measure(store: &Store, customers: i64) {
    let runtime = Runtime::new(RuntimeConfig::default(), Arc::new(MemoryKv::new())).unwrap();
    let registry = Arc::new(Registry::new(runtime, None));
    let metrics = Arc::new(Metrics::default());
    let desk = Desk::new(store.clone(), registry.clone(), metrics.clone());
    let state = AppState {
        store: store.clone(),
        registry: registry.clone(),
        metrics: metrics.clone(),
        auth: Auth::new(store.clone(), AuthSettings::default(), vec![]),
        desk: desk.clone(),
        public_url: Some("https://crm.example.com".into()),
        geocoder: switchboard::geocoding::Geocoder::new(),
    };
    let app = switchboard::http::app(state, 1 << 20);
    let admin =
        store.add_user("admin@bench.example", "Bench Admin", UserRole::Admin, None).await.unwrap();
    let admin = session(store, admin.id).await;
    // Agent 3 belongs to the team: the inbox restricts to their teams' conversations.
    let agent = session(store, 3).await;

    let mut rng = 0x2545F4914F6CDD1Du64;
    let mut random = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        1 + (rng % customers as u64) as i64
    };
    type Page = Box<dyn FnMut() -> String>;
    // The inbox keeps its team and connector counts until a conversation changes; the
    // "counted afresh" cases forget them before each request, as a change would.
    let mut cases: Vec<(&str, &str, Page)> = vec![
        ("inbox, all, newest (counted afresh)", &admin, Box::new(|| "/inbox".to_string())),
        (
            "inbox, mine (an agent, counted afresh)",
            &agent,
            Box::new(|| "/inbox?view=mine".to_string()),
        ),
        ("inbox, all, newest", &admin, Box::new(|| "/inbox".to_string())),
        ("inbox, oldest waiting", &admin, Box::new(|| "/inbox?order=oldest_waiting".to_string())),
        ("inbox, mine (an agent)", &agent, Box::new(|| "/inbox?view=mine".to_string())),
        ("inbox, channel whatsapp", &admin, Box::new(|| "/inbox?channel=whatsapp".to_string())),
        ("inbox, live refresh", &admin, Box::new(|| "/inbox/live".to_string())),
    ];
    let pages: Vec<(&str, &str, Page)> = vec![
        ("conversation", &admin, Box::new(move || format!("/conversations/{}", random()))),
        (
            "customer (profile + timeline)",
            &admin,
            Box::new(move || format!("/customers/{}", random())),
        ),
        (
            "customer, orders only",
            &admin,
            Box::new(move || format!("/customers/{}?kind=order", random() / 10 * 10 + 10)),
        ),
        (
            "why is this one customer",
            &admin,
            Box::new(move || format!("/customers/{}/identity", random())),
        ),
        ("search by name", &admin, Box::new(move || format!("/search?q=Bulk+{}", random()))),
        (
            "search by e-mail",
            &admin,
            Box::new(move || format!("/search?q=bulk{}%40example.com", random())),
        ),
        (
            "search by phone, written 06 …",
            &admin,
            Box::new(move || format!("/search?q=06+{}", 10_000_000 + random())),
        ),
        ("reports, 30 days", &admin, Box::new(|| "/reports".to_string())),
    ];
    cases.extend(pages);
    let mut worst = 0;
    for (name, cookie, mut path) in cases {
        let mut samples = Vec::with_capacity(SAMPLES);
        for i in 0..SAMPLES + 5 {
            let path = path();
            if name.contains("counted afresh") {
                desk.forget_counts();
            }
            let request =
                Request::get(&path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
            let started = Instant::now();
            let response = app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let elapsed = started.elapsed();
            assert!(status.is_success(), "{path}: {status} {}", String::from_utf8_lossy(&body));
            std::hint::black_box(&body);
            // The first few warm the caches, as a running server's are.
            if i >= 5 {
                samples.push(elapsed);
            }
        }
        let p99 = report(name, &mut samples);
        if !name.starts_with("reports") {
            worst = worst.max(p99.as_millis());
        }
    }
    println!(
        "slowest p99 of the inbox, conversation, customer and search pages: {worst} ms (target {TARGET_MS} ms: {})",
        if worst <= TARGET_MS { "met" } else { "NOT met" }
    );
}

fn report(name: &str, samples: &mut [Duration]) -> Duration {
    samples.sort();
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!("{name} (n={}): p50 {:.2?}, p99 {:.2?}", samples.len(), p(0.5), p(0.99));
    p(0.99)
}
