//! End-to-end webhook benchmark over real HTTP: a load generator with 16 keep-alive
//! connections posts unique web-form webhooks to `/hooks/hello` (the hello-world connector),
//! each acknowledged only after its event is durably committed; reports throughput and
//! p50/p99 latency on SQLite and PostgreSQL, then the time a hot reload takes to load and to
//! swap.
//!
//! `cargo bench -p switchboard --bench http` (PostgreSQL too when
//! `SWITCHBOARD_TEST_DATABASE_URL` is set). The load generator shares the machine's two cores
//! with the server, as any local generator (wrk, oha) would.

mod support;

use std::time::{Duration, Instant};

use switchboard_test_artifacts as artifacts;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const CONNECTIONS: usize = 16;
const REQUESTS_PER_CONNECTION: usize = 400;

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(artifacts::HELLO, dir.path().join("hello.wasm")).unwrap();
        let targets = support::databases("http", dir.path()).await;
        for (name, url) in targets {
            println!("== {name}");
            let config_path = dir.path().join(format!("{name}.toml"));
            std::fs::write(
                &config_path,
                format!(
                    "[server]\nlisten = \"127.0.0.1:0\"\n[store]\nurl = \"{url}\"\n[runtime]\ncache_dir = \"cache\"\n\
                     [[connector]]\nid = \"hello\"\nplugin = \"./hello.wasm\"\n"
                ),
            )
            .unwrap();
            let config = switchboard::config::load(&config_path, &|_| None).unwrap();
            let server = switchboard::server::start(config, false).await.unwrap();
            load(&server.address.to_string(), name).await;
            reload(&server).await;
            server.shutdown().await;
        }
    });
}

async fn load(address: &str, tag: &str) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let address = address.to_string();
            let tag = tag.to_string();
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut stream = BufReader::new(stream);
                let mut latencies = Vec::with_capacity(REQUESTS_PER_CONNECTION);
                for n in 0..REQUESTS_PER_CONNECTION {
                    // 20% of the senders are people seen before.
                    let person = if n % 5 == 4 { n / 2 } else { c * 100_000 + n };
                    let body = format!("id={tag}-{c}-{n}&email=p{person}%40bench.example&name=P+{person}&text=Where+is+my+parcel%3F");
                    let request = format!(
                        "POST /hooks/hello HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let sent = Instant::now();
                    stream.get_mut().write_all(request.as_bytes()).await.unwrap();
                    let status = read_response(&mut stream).await;
                    latencies.push(sent.elapsed());
                    assert_eq!(status, 200);
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "webhooks over HTTP, {CONNECTIONS} connections: {} in {elapsed:.2?} = {:.0}/s; latency p50 {:.2?}, p99 {:.2?}",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        p(0.5),
        p(0.99)
    );
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns its status.
async fn read_response(stream: &mut BufReader<tokio::net::TcpStream>) -> u16 {
    let mut line = String::new();
    stream.read_line(&mut line).await.unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut length = 0usize;
    loop {
        line.clear();
        stream.read_line(&mut line).await.unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
    status
}

async fn reload(server: &switchboard::server::Server) {
    let mut loads = Vec::new();
    let mut swaps = Vec::new();
    for _ in 0..20 {
        let report = server.state.registry.reload("hello").await.unwrap();
        loads.push(Duration::from_secs_f64(report.load_ms / 1000.0));
        swaps.push(Duration::from_secs_f64(report.swap_us / 1e6));
    }
    loads.sort();
    swaps.sort();
    println!(
        "hot reload (n=20): load + check median {:.2?} (from the compile cache), swap median {:.2?}, max {:.2?}",
        loads[10], swaps[10], swaps[19]
    );
}
