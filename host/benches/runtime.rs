//! Runtime benchmark: compile time, load time from the on-disk cache, the cost of one call
//! (fresh instance + `handle-webhook` on a ~1 KB Shopify-shaped order) against the same parse
//! done natively, throughput on every core, and host RSS with 10 connectors loaded and idle.
//!
//! `cargo bench -p switchboard --bench runtime` (medians; the machine is shared and noisy, so
//! compare ratios measured in the same run rather than absolute figures across runs).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::model::{self, Contact, Event, HttpRequest, Identifier, Money, Order, OrderLine};
use switchboard::runtime::{ConnectorSettings, MemoryKv, Origin, Runtime, RuntimeConfig};
use switchboard_bench_order::{BODY, minor_units, parse};
use switchboard_test_artifacts as artifacts;
use wasmtime::component::Component;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rss-child") {
        let count: usize = args[i + 1].parse().unwrap();
        let keep_resident: usize = args[i + 3].parse().unwrap();
        rss_child(count, Path::new(&args[i + 2]), keep_resident);
        return;
    }
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(bench());
}

async fn bench() {
    let bytes = std::fs::read(artifacts::BENCH_JSON).unwrap();
    println!("component: bench-json, {} bytes; body: {} bytes", bytes.len(), BODY.len());
    let cache_dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(
        RuntimeConfig {
            cache_dir: Some(cache_dir.path().to_path_buf()),
            ..RuntimeConfig::default()
        },
        Arc::new(MemoryKv::new()),
    )
    .unwrap();

    // Compile: what a first load (or a new connector version) costs.
    let compile = sample(10, || {
        let started = Instant::now();
        Component::new(runtime.engine(), &bytes).unwrap();
        started.elapsed()
    });
    report("compile (Component::new)", &compile);

    // Load from cache: read + deserialize + link + manifest check, as after a restart.
    let first = runtime.load(&bytes, ConnectorSettings::default()).await.unwrap();
    assert_eq!(first.origin(), Origin::Compiled);
    let mut cached = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let connector = runtime.load(&bytes, ConnectorSettings::default()).await.unwrap();
        cached.push(started.elapsed());
        assert_eq!(connector.origin(), Origin::Cache);
    }
    report("load from cache (whole load, incl. manifest call)", &cached);
    println!(
        "  ratio compile / cached load: {:.0}x",
        median(&compile).as_secs_f64() / median(&cached).as_secs_f64()
    );

    // One call: fresh store + instantiate + handle-webhook + events converted to host types.
    let connector = runtime.load(&bytes, ConnectorSettings::default()).await.unwrap();
    let request = HttpRequest {
        method: "POST".into(),
        url: "https://crm.example.com/hooks/bench-json".into(),
        route: "/".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: BODY.as_bytes().to_vec(),
        received_at: switchboard::store::now_millis(),
    };
    let native_event = native(BODY.as_bytes());
    let outcome = connector.handle_webhook(request.clone()).await.unwrap();
    let Event::Order(guest_order) = &outcome.events[0] else { panic!() };
    let Event::Order(native_order) = &native_event else { panic!() };
    // Both sides must do the same work to be compared.
    assert_eq!(guest_order.lines, native_order.lines);
    assert_eq!(guest_order.total, native_order.total);
    assert_eq!(guest_order.placed_at, native_order.placed_at);
    for _ in 0..200 {
        connector.handle_webhook(request.clone()).await.unwrap();
    }
    let mut calls = Vec::with_capacity(3000);
    for _ in 0..3000 {
        let request = request.clone();
        let started = Instant::now();
        let outcome = connector.handle_webhook(request).await.unwrap();
        calls.push(started.elapsed());
        std::hint::black_box(outcome);
    }
    report("call: instantiate + handle-webhook (1 KB JSON)", &calls);
    let natives = sample(3000, || {
        let started = Instant::now();
        std::hint::black_box(native(std::hint::black_box(BODY.as_bytes())));
        started.elapsed()
    });
    report("native: the same parse + conversion in the host", &natives);
    println!(
        "  ratio sandboxed call / native parse (medians): {:.1}x",
        median(&calls).as_secs_f64() / median(&natives).as_secs_f64()
    );

    // Throughput with two workers (this machine's cores) and 8 calls in flight, with the
    // default keep-resident setting and without it.
    println!(
        "throughput, default keep_resident: {:.0} calls/s",
        throughput(&connector, &request).await
    );
    let lean = Runtime::new(
        RuntimeConfig {
            cache_dir: Some(cache_dir.path().to_path_buf()),
            keep_resident: 0,
            ..RuntimeConfig::default()
        },
        Arc::new(MemoryKv::new()),
    )
    .unwrap();
    let lean_connector = lean.load(&bytes, ConnectorSettings::default()).await.unwrap();
    println!(
        "throughput, keep_resident 0:       {:.0} calls/s",
        throughput(&lean_connector, &request).await
    );

    // RSS of a fresh process with 0 and with 10 connectors loaded from the cache, idle.
    let exe = std::env::current_exe().unwrap();
    let rss = |count: usize, keep_resident: usize| {
        let output = std::process::Command::new(&exe)
            .args([
                "--rss-child",
                &count.to_string(),
                cache_dir.path().to_str().unwrap(),
                &keep_resident.to_string(),
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().parse::<u64>().unwrap()
    };
    for keep_resident in [RuntimeConfig::default().keep_resident, 0] {
        let (base, loaded) = (rss(0, keep_resident), rss(10, keep_resident));
        println!(
            "host RSS idle (keep_resident {} KiB): {:.1} MiB with no connector, {:.1} MiB with 10 connectors loaded (+{:.1} MiB)",
            keep_resident >> 10,
            base as f64 / 1024.0,
            loaded as f64 / 1024.0,
            (loaded - base) as f64 / 1024.0
        );
    }
}

async fn throughput(
    connector: &switchboard::runtime::LoadedConnector,
    request: &HttpRequest,
) -> f64 {
    let total = 8000;
    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let connector = connector.clone();
            let request = request.clone();
            tokio::spawn(async move {
                for _ in 0..total / 8 {
                    connector.handle_webhook(request.clone()).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// Loads `count` connectors (ten different guests where there are, then copies) from a warm
/// cache (each load calls `manifest` in a fresh instance), lets them idle, and prints VmRSS in KiB.
fn rss_child(count: usize, cache_dir: &Path, keep_resident: usize) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let runtime = Runtime::new(
            RuntimeConfig {
                cache_dir: Some(cache_dir.to_path_buf()),
                keep_resident,
                ..RuntimeConfig::default()
            },
            Arc::new(MemoryKv::new()),
        )
        .unwrap();
        let mut loaded = Vec::new();
        for i in 0..count {
            let settings =
                ConnectorSettings { id: Some(format!("c{i}")), ..ConnectorSettings::default() };
            let path = [artifacts::BENCH_JSON, artifacts::HELLO, artifacts::PROBE][i % 3];
            let connector = runtime.load_file(path.as_ref(), settings).await.unwrap();
            loaded.push(connector);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let rss = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap();
        println!("{}", rss.trim().trim_end_matches("kB").trim());
        drop(loaded);
    });
}

fn native(body: &[u8]) -> Event {
    let order = parse(body).unwrap();
    let mut identifiers = Vec::new();
    identifiers.extend(order.email.clone().map(|value| Identifier::email(value).declared()));
    identifiers.extend(order.phone.clone().map(|value| Identifier::phone(value).declared()));
    let (mut given, mut family) = (None, None);
    if let Some(customer) = &order.customer {
        identifiers
            .push(Identifier::external("shopify:customer", customer.id.to_string()).verified());
        given = customer.first_name.clone();
        family = customer.last_name.clone();
    }
    let money = |price: &str| Money {
        amount_minor: minor_units(price),
        currency: order.currency.to_ascii_uppercase(),
    };
    // The guest parses dates with chrono too.
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis();
    Event::Order(Order {
        provider_id: order.id.to_string(),
        contact: Contact {
            identifiers,
            display_name: None,
            given_name: given,
            family_name: family,
            locale: None,
            attributes: vec![],
        },
        number: Some(order.name.clone()),
        status: model::OrderStatus::Paid,
        lines: order
            .line_items
            .iter()
            .map(|l| OrderLine {
                sku: l.sku.clone(),
                name: l.title.clone(),
                quantity: l.quantity,
                unit_price: money(&l.price),
            })
            .collect(),
        total: money(&order.total_price),
        placed_at: at(&order.created_at),
        updated_at: at(&order.updated_at),
        delivery_address: None,
        billing_address: None,
        attributes: vec![],
    })
}

fn sample(n: usize, mut f: impl FnMut() -> Duration) -> Vec<Duration> {
    (0..n).map(|_| f()).collect()
}

fn median(samples: &[Duration]) -> Duration {
    percentile(samples, 50.0)
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * p / 100.0).round() as usize]
}

fn report(name: &str, samples: &[Duration]) {
    println!(
        "{name}: median {:.2?}, p99 {:.2?}, min {:.2?} (n={})",
        median(samples),
        percentile(samples, 99.0),
        samples.iter().min().unwrap(),
        samples.len()
    );
}
