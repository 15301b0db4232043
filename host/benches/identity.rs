//! Identity-quality benchmark: how well the store tells people apart and puts each person's
//! records together, on a labelled synthetic population driven through the real ingest path.
//!
//! `cargo bench -p switchboard --bench identity` runs on SQLite, and on PostgreSQL too when
//! `SWITCHBOARD_TEST_DATABASE_URL` is set (a fresh database is created on that server).
//! `SWITCHBOARD_BENCH_SEED` (default 1) changes the population, `SWITCHBOARD_BENCH_PEOPLE`
//! (default 400) its size; `SWITCHBOARD_BENCH_DUMP=DIR` writes every request it sends there as
//! a `.http` file (`# pN` names its person) and keeps the SQLite database there
//! (`identity.db`), to look into. It prints figures, never asserts on them.
//!
//! **The population** (`identity/population.rs`) is seeded and deterministic. Besides plain
//! customers it holds the cases real CRMs meet, each person labelled with their classes:
//! colleagues writing from their company's info@/contact@ mailbox (their own mobile in the
//! signature, mostly) and from their own phones; gift orders (Shopify, Stripe, Ozon) whose
//! delivery name and phone are the recipient's, who later shops with their own details;
//! foreign mobiles seen as Telegram's and WhatsApp's international digits without `+` and
//! with `+` on SMS; people with a work and a private address and one mobile; households
//! sharing a fixed landline (and sometimes a mailbox); namesakes; people who change their
//! number (and, sometimes, the person who gets the old one later); placeholders typed into
//! forms ("n/a", "0000000000", "test@example.com"); numbers from DE, GB, RU, US, IT, ES, CH,
//! BE besides France (the store's default region); IDN domains written in Unicode or
//! punycode; names reordered, abbreviated or without accents.
//!
//! **The ingest path**: every request is what the provider sends — the payload shaped like the
//! connector's fixtures and signed the way that provider signs (Telegram's secret token,
//! WhatsApp's `X-Hub-Signature-256`, Twilio's HMAC-SHA1 of the URL and sorted parameters,
//! Postmark's and SendGrid's basic auth, Mailgun's HMAC, Shopify's, Stripe's and the
//! `Switchboard-Signature` of the web site and the till, Google's push token, AfterShip's and
//! EasyPost's HMACs) — handed to the real bundled connector (the wasm component) and its events
//! to `Store::ingest`, one request at a time in the order of the timeline. Ozon is polled: a
//! local server on 127.0.0.1 answers `/v3/posting/fbs/list` with the posting of the moment,
//! and the events go to `Store::ingest_polled`.
//!
//! **Ground truth.** Each request is tagged with its person; the records its events make (an
//! interaction, order, payment, shipment or contact update, by connector and provider id; a
//! consent is part of the message that carries it and is not counted) are that person's. A
//! record's customer is read from the database and followed through merges to the live one
//! (`Store::live_customer`); a record without a customer (an anonymous sale) is left out.
//!
//! **Metrics**, from contingency counts. Predicted pairs = Σ over customers of C(n, 2); true
//! pairs = Σ over persons of C(n, 2); TP = Σ over (customer, person) of C(n, 2); precision =
//! TP / predicted pairs. Two records of one person are *linkable* when they are connected,
//! transitively, through identifiers that truly are that person's and that a careful resolver
//! could use: their own external ids, their own e-mail addresses (case and IDN form aside),
//! their own phones compared in E.164 (in a signature, on a delivery address to themselves);
//! and the references that tie a payment or a shipment to its order or a tracker to its
//! parcel. Not linkable through: a role mailbox, a company's switchboard line or shared
//! account, a household's landline or mailbox, a placeholder, a gift recipient's details on
//! the buyer's order. Components are computed per person with union-find; recall =
//! Σ over (customer, component) of C(n, 2) / Σ over components of C(n, 2). An over-merged
//! customer holds records of more than one person; a split person has linkable records on
//! more than one customer. *Attributable precision* is precision over the records that carry
//! something of their person's own (one of the identifiers above, an order reference): a call
//! from a household's landline or mail from a role mailbox without a signature says nothing of
//! who it is, so whichever customer it joins counts as wrong in the plain figure. Per class: the over-merged customers holding someone of the class,
//! its split persons, the false pairs involving its records and its recall.
//!
//! **Why.** For each person whose records joined another's customer, the identifiers (as the
//! store normalizes them) their records share with the other people's there, named by what
//! they are; for each split person, the identifiers that should have joined their records,
//! with where each was in the requests, and whether the store could match it there.

#[path = "identity/people.rs"]
mod people;
#[path = "identity/population.rs"]
mod population;
#[path = "identity/requests.rs"]
mod requests;
#[path = "identity/score.rs"]
mod score;
#[path = "identity/spec.rs"]
mod spec;
mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};
use sqlx::Connection;
use switchboard::model::{Contact, Event};
use switchboard::runtime::{ConnectorSettings, LoadedConnector, MemoryKv, Runtime, RuntimeConfig};
use switchboard::store::{Store, StoreConfig};
use switchboard_test_artifacts as artifacts;

use population::{Link, Population};
use spec::Spec;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn main() {
    let seed = env_or("SWITCHBOARD_BENCH_SEED", 1);
    let size = env_or("SWITCHBOARD_BENCH_PEOPLE", 400).max(20) as usize;
    assert!(requests::sha1_self_check(), "the bench's HMAC-SHA1 disagrees with Twilio's example");
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let population = population::generate(seed, size);
        let ozon = Arc::new(Mutex::new(Vec::new()));
        let ozon_base = ozon_api(ozon.clone()).await;
        let loading = Instant::now();
        let connectors = load(&ozon_base).await;
        println!("({} connectors loaded in {:.1?})", connectors.len(), loading.elapsed());
        let dir = tempfile::tempdir().unwrap();
        let keep = std::env::var_os("SWITCHBOARD_BENCH_DUMP").map(std::path::PathBuf::from);
        let database_file = match &keep {
            Some(dir) => {
                std::fs::create_dir_all(dir).unwrap();
                let file = dir.join("identity.db");
                for stale in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{stale}", file.display()));
                }
                file
            }
            None => dir.path().join("identity.db"),
        };
        let mut targets = vec![("sqlite", format!("sqlite://{}", database_file.display()))];
        let postgres = std::env::var("SWITCHBOARD_TEST_DATABASE_URL").ok();
        let database = format!("switchboard_bench_identity_{}", std::process::id());
        match &postgres {
            Some(base) => {
                targets.push(("postgres", support::fresh_postgres(base, &database).await))
            }
            None => println!("(PostgreSQL skipped: SWITCHBOARD_TEST_DATABASE_URL is not set)"),
        }
        for (index, (backend, url)) in targets.iter().enumerate() {
            let started = Instant::now();
            let store = Store::open(&StoreConfig {
                url: url.clone(),
                default_region: Some("FR".into()),
                ..StoreConfig::default()
            })
            .await
            .unwrap();
            let run = replay(&population, &connectors, &ozon, &store, index as u64).await;
            let scored = collect(&store, url, run.truth).await;
            let report = score::score(&population, &scored.records);
            let header = Header {
                seed,
                size,
                backend,
                requests: run.requests,
                events: run.events,
                without_customer: scored.without_customer,
                not_stored: scored.not_stored,
                failures: &run.failures,
                elapsed: started.elapsed(),
            };
            print(&header, &report);
            store.close().await;
        }
        if let Some(base) = &postgres {
            use sqlx::Executor;
            let mut admin = sqlx::AnyConnection::connect(base).await.unwrap();
            let drop = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
            admin.execute(sqlx::AssertSqlSafe(drop)).await.unwrap();
        }
    });
}

/// A connector to load: its id, component, config and extra namespaces.
type Setup<'a> = (&'static str, &'a str, Vec<(&'a str, &'a str)>, Vec<String>);

/// Every bundled connector the population reaches, configured with the secrets the
/// requests are signed with.
async fn load(ozon_base: &str) -> HashMap<&'static str, LoadedConnector> {
    use requests::*;
    let runtime =
        Runtime::new(RuntimeConfig::default(), Arc::new(MemoryKv::new())).expect("a runtime");
    let connectors: Vec<Setup> = vec![
        ("telegram", artifacts::TELEGRAM, vec![("secret_token", TELEGRAM_SECRET)], vec![]),
        ("whatsapp", artifacts::WHATSAPP, vec![("app_secret", WHATSAPP_SECRET)], vec![]),
        ("twilio", artifacts::TWILIO, vec![("auth_token", TWILIO_TOKEN)], vec![]),
        (
            "email",
            artifacts::EMAIL,
            vec![
                ("mailgun_signing_key", MAILGUN_KEY),
                ("postmark_username", POSTMARK.0),
                ("postmark_password", POSTMARK.1),
                ("sendgrid_username", SENDGRID.0),
                ("sendgrid_password", SENDGRID.1),
            ],
            vec![],
        ),
        (
            "shopify",
            artifacts::SHOPIFY,
            vec![("client_secret", SHOPIFY_SECRET), ("shop_domain", SHOP_DOMAIN)],
            vec![],
        ),
        ("stripe", artifacts::STRIPE, vec![("webhook_secret", STRIPE_SECRET)], vec![]),
        ("web", artifacts::WEB, vec![("signing_secret", WEB_SECRET)], vec![]),
        // The till reports the web visitor of a cart scanned from its QR code.
        (
            "till",
            artifacts::TILL,
            vec![("signing_secret", TILL_SECRET)],
            vec!["web:visitor".into()],
        ),
        ("google-business", artifacts::GOOGLE_BUSINESS, vec![("push_token", GOOGLE_TOKEN)], vec![]),
        ("aftership", artifacts::AFTERSHIP, vec![("webhook_secret", AFTERSHIP_SECRET)], vec![]),
        ("easypost", artifacts::EASYPOST, vec![("webhook_secret", EASYPOST_SECRET)], vec![]),
        (
            "ozon",
            artifacts::OZON,
            vec![
                ("client_id", "836251"),
                ("api_key", "bench-ozon-api-key"),
                ("api_base", ozon_base),
                ("backfill_days", "1"),
                ("max_window_hours", "48"),
            ],
            vec![],
        ),
    ];
    let mut loaded = HashMap::new();
    for (id, path, config, extra_namespaces) in connectors {
        let allowed = if id == "ozon" { vec![ozon_base.parse().unwrap()] } else { vec![] };
        let settings = ConnectorSettings {
            id: Some(id.into()),
            config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            allowed_hosts: allowed,
            extra_namespaces,
            ..ConnectorSettings::default()
        };
        let connector = runtime
            .load_file(path.as_ref(), settings)
            .await
            .unwrap_or_else(|e| panic!("failed to load the {id} connector: {e}"));
        loaded.insert(id, connector);
    }
    loaded
}

/// Ozon's Seller API on 127.0.0.1: `/v3/posting/fbs/list` answers the postings of the moment
/// in one page.
async fn ozon_api(postings: Arc<Mutex<Vec<Value>>>) -> String {
    // The body is read before answering: hyper resets a connection whose request body is
    // left unread, which the connector sees as a protocol error.
    let list = move |headers: axum::http::HeaderMap, _body: axum::body::Bytes| {
        let postings = postings.clone();
        async move {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
            if header("client-id") != "836251" || header("api-key") != "bench-ozon-api-key" {
                let error =
                    json!({"code": 16, "message": "Client-Id and Api-Key headers are required"});
                return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(error));
            }
            let page = postings.lock().unwrap().clone();
            let body = json!({"result": {"postings": page, "has_next": false}});
            (axum::http::StatusCode::OK, axum::Json(body))
        }
    };
    let router = axum::Router::new().route("/v3/posting/fbs/list", axum::routing::post(list));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// A record as the ground truth knows it.
struct Truth {
    person: usize,
    connector: &'static str,
    links: Vec<Link>,
    matched: BTreeSet<String>,
    unmatched: Vec<String>,
}

/// (table, connector, provider id).
type RecordKey = (&'static str, &'static str, String);

struct Run {
    truth: HashMap<RecordKey, Truth>,
    requests: usize,
    events: usize,
    failures: Vec<String>,
}

fn table(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::Contact(_) => "contact_events",
        Event::Interaction(_) => "interactions",
        Event::Order(_) => "orders",
        Event::Payment(_) => "payments",
        Event::Shipment(_) => "shipments",
        Event::Consent(_) => return None,
    })
}

fn contact(event: &Event) -> Option<&Contact> {
    match event {
        Event::Contact(e) => Some(&e.contact),
        Event::Interaction(e) => Some(&e.contact),
        Event::Order(e) => Some(&e.contact),
        Event::Payment(e) => Some(&e.contact),
        Event::Shipment(e) => e.contact.as_ref(),
        Event::Consent(e) => Some(&e.contact),
    }
}

/// Sends the timeline through the connectors into the store, one request at a time.
async fn replay(
    population: &Population,
    connectors: &HashMap<&'static str, LoadedConnector>,
    ozon: &Mutex<Vec<Value>>,
    store: &Store,
    run: u64,
) -> Run {
    let mut out = Run { truth: HashMap::new(), requests: 0, events: 0, failures: Vec::new() };
    let dump = std::env::var_os("SWITCHBOARD_BENCH_DUMP")
        .filter(|_| run == 0)
        .map(std::path::PathBuf::from);
    let dump = dump.as_deref();
    for (n, item) in population.items.iter().enumerate() {
        let id = item.spec.connector();
        let connector = &connectors[id];
        let (events, cursor) = if let Spec::Ozon(posting) = &item.spec {
            *ozon.lock().unwrap() = vec![requests::posting(posting, item.at)];
            match connector.poll(None).await {
                Ok(outcome) => (outcome.events, outcome.next_cursor),
                Err(e) => {
                    out.failures.push(format!("{id} poll for posting {}: {e}", posting.number));
                    continue;
                }
            }
        } else {
            let serial = run << 32 | n as u64;
            let request = requests::request(&item.spec, item.at, serial);
            if let Some(dir) = dump {
                dump_request(dir, n, item.person, &request);
            }
            match connector.handle_webhook(request).await {
                Ok(outcome) => (outcome.events, None),
                Err(e) => {
                    out.failures.push(format!("{id}: {e}"));
                    continue;
                }
            }
        };
        out.requests += 1;
        out.events += events.len();
        let stored = match &cursor {
            Some(cursor) => store.ingest_polled(id, &events, Some(cursor)).await.map(|_| ()),
            None if events.is_empty() => Ok(()),
            None => store.ingest(id, &events).await.map(|_| ()),
        };
        if let Err(e) = stored {
            out.failures.push(format!("{id} ingest: {e}"));
            continue;
        }
        for event in &events {
            let Some(table) = table(event) else { continue };
            let truth = out
                .truth
                .entry((table, id, event.provider_id().to_string()))
                .or_insert_with(|| Truth {
                    person: item.person,
                    connector: id,
                    links: Vec::new(),
                    matched: BTreeSet::new(),
                    unmatched: Vec::new(),
                });
            if truth.person != item.person {
                out.failures.push(format!(
                    "generator: {table} {id} {} is both p{} and p{}'s",
                    event.provider_id(),
                    truth.person,
                    item.person
                ));
            }
            truth.links.extend(item.links.iter().cloned());
            for point in contact(event).map(|c| c.identifiers.as_slice()).unwrap_or_default() {
                match store.normalizer().normalize(&point.identifier) {
                    Ok(n) => {
                        truth.matched.insert(format!("{} {}", n.kind.as_str(), n.value));
                    }
                    Err(u) => {
                        truth.unmatched.push(format!("{} {}: {}", u.kind.as_str(), u.raw, u.reason))
                    }
                }
            }
        }
    }
    out
}

/// Writes `request` as a recorded `.http` file (`switchboard plugin test` replays those).
fn dump_request(
    dir: &std::path::Path,
    n: usize,
    person: usize,
    request: &switchboard::model::HttpRequest,
) {
    std::fs::create_dir_all(dir).unwrap();
    let path_and_query = request.url.splitn(4, '/').nth(3).unwrap_or("");
    let mut text = format!("# p{person}\n{} /{path_and_query} HTTP/1.1\n", request.method);
    for (name, value) in &request.headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push('\n');
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(&request.body);
    let connector =
        request.url.split("/hooks/").nth(1).and_then(|r| r.split(['/', '?']).next()).unwrap_or("x");
    std::fs::write(dir.join(format!("{n:05}-{connector}.http")), bytes).unwrap();
}

struct Collected {
    records: Vec<score::Scored>,
    without_customer: usize,
    not_stored: usize,
}

/// Where each record landed: its live customer, read from the database.
async fn collect(store: &Store, url: &str, truth: HashMap<RecordKey, Truth>) -> Collected {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let mut stored: HashMap<(String, String, String), Option<i64>> = HashMap::new();
    for table in ["interactions", "orders", "payments", "shipments", "contact_events"] {
        let sql = format!("SELECT connector_id, provider_id, customer_id FROM {table}");
        let rows: Vec<(String, String, Option<i64>)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap();
        for (connector, provider_id, customer) in rows {
            stored.insert((table.to_string(), connector, provider_id), customer);
        }
    }
    let mut live: HashMap<i64, i64> = HashMap::new();
    let mut collected = Collected { records: Vec::new(), without_customer: 0, not_stored: 0 };
    let mut keys: Vec<RecordKey> = truth.keys().cloned().collect();
    // The same order on every run, so that examples are reproducible.
    keys.sort();
    let mut truth = truth;
    for key in keys {
        let record = truth.remove(&key).unwrap();
        let (table, connector, provider_id) = key;
        let customer = match stored.get(&(table.to_string(), connector.to_string(), provider_id)) {
            None => {
                collected.not_stored += 1;
                continue;
            }
            Some(None) => {
                collected.without_customer += 1;
                continue;
            }
            Some(Some(customer)) => *customer,
        };
        let customer = match live.get(&customer) {
            Some(id) => *id,
            None => {
                let id = store.live_customer(customer).await.unwrap();
                live.insert(customer, id);
                id
            }
        };
        collected.records.push(score::Scored {
            person: record.person,
            customer,
            connector: record.connector,
            table,
            links: record.links,
            matched: record.matched,
            unmatched: record.unmatched,
        });
    }
    conn.close().await.unwrap();
    collected
}

struct Header<'a> {
    seed: u64,
    size: usize,
    backend: &'a str,
    requests: usize,
    events: usize,
    without_customer: usize,
    not_stored: usize,
    failures: &'a [String],
    elapsed: std::time::Duration,
}

fn print(header: &Header<'_>, report: &score::Report) {
    let Header { seed, size, backend, requests, events, elapsed, .. } = header;
    // Examples of each kind of error, and twice as many rows of each tally of causes.
    let shown = env_or("SWITCHBOARD_BENCH_EXAMPLES", 3) as usize;
    println!();
    println!(
        "identity quality (seed {seed}, {size} people, {requests} requests, {events} events, {backend}) in {elapsed:.1?}"
    );
    let database = if *backend == "postgres" { "SWITCHBOARD_TEST_DATABASE_URL=… " } else { "" };
    println!(
        "  reproduce: {database}SWITCHBOARD_BENCH_SEED={seed} SWITCHBOARD_BENCH_PEOPLE={size} cargo bench -p switchboard --bench identity"
    );
    println!(
        "  {} records scored on {} customers ({} stored without a customer, {} not stored: left out)",
        report.records, report.customers, header.without_customer, header.not_stored
    );
    if !header.failures.is_empty() {
        println!(
            "  {} requests failed (a bug in the bench or a connector):",
            header.failures.len()
        );
        for failure in header.failures.iter().take(5) {
            println!("    {failure}");
        }
    }
    println!(
        "  precision {:.4}  recall {:.4}  over-merged customers {}  split persons {}",
        report.precision(),
        report.recall(),
        report.over_merged.len(),
        report.split_people.len()
    );
    println!(
        "  precision over the {} records that say whose they are {:.4} (the others carry only a shared, household or placeholder identifier)",
        report.attributable,
        report.attributable_precision()
    );
    println!(
        "  pairs: predicted {}, true {}, correct {}, linkable {}, linkable and together {} (recall of all same-person pairs {:.4})",
        report.predicted_pairs,
        report.true_pairs,
        report.true_positive,
        report.linkable_pairs,
        report.linked_pairs,
        report.recall_all()
    );
    println!(
        "  {:<16} {:>6} {:>8} {:>12} {:>6} {:>12} {:>8}",
        "class", "people", "records", "over-merged", "split", "false pairs", "recall"
    );
    for (class, f) in &report.classes {
        println!(
            "  {:<16} {:>6} {:>8} {:>12} {:>6} {:>12} {:>8.4}",
            class.name(),
            f.people,
            f.records,
            f.over_merged,
            f.split,
            f.false_pairs,
            score::ratio(f.linked_pairs, f.linkable_pairs)
        );
    }
    let tally = |title: &str, rows: &[(String, usize, String)]| {
        println!("  {title}:");
        for (what, n, classes) in rows.iter().take(shown * 2) {
            println!("    {n:>4}  {what}  [{classes}]");
        }
        if rows.len() > shown * 2 {
            let rest: usize = rows[shown * 2..].iter().map(|(_, n, _)| n).sum();
            println!("          … {} more causes ({rest} people)", rows.len() - shown * 2);
        }
    };
    tally("what joined other people's records to a customer (people so joined)", &report.glue);
    tally("what should have joined a person's records (people split by it)", &report.missed);
    println!("  over-merged customers, for example (SWITCHBOARD_BENCH_EXAMPLES=N shows more):");
    for example in report.over_merge_examples.iter().take(shown) {
        println!("    {example}");
    }
    println!("  split persons, for example:");
    for example in report.split_examples.iter().take(shown) {
        println!("    {example}");
    }
}
