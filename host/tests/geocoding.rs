//! Orders' delivery addresses placed on the map by the bundled `google-business` connector
//! through a Nominatim-compatible geocoder (simulated on 127.0.0.1), over a real server: the
//! queue is the store, so orders stored before any geocoder was configured are placed after a
//! restart; an unavailable geocoder is retried; an unchanged address is never asked twice; a
//! changed one is placed again; an unknown one is recorded as not found.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use switchboard::client;
use switchboard_test_artifacts as artifacts;

use common::ADMIN;
const SHOPIFY_SECRET: &str = "fixture-shopify-client-secret";

/// What the simulated geocoder was asked, and how many requests it still fails with 503.
#[derive(Default)]
struct Nominatim {
    asked: Mutex<Vec<String>>,
    fail: AtomicU32,
}

impl Nominatim {
    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

/// A Nominatim `/search` (structured query, `format=jsonv2`) that knows two streets.
async fn nominatim(state: Arc<Nominatim>) -> String {
    let search = move |axum::extract::Query(query): axum::extract::Query<
        std::collections::HashMap<String, String>,
    >| {
        let state = state.clone();
        async move {
            let street = query.get("street").cloned().unwrap_or_default();
            state.asked.lock().unwrap().push(street.clone());
            if state.fail.load(Ordering::SeqCst) > 0 {
                state.fail.fetch_sub(1, Ordering::SeqCst);
                return (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({"error": "overloaded"})),
                );
            }
            let place = |lat: &str, lon: &str, name: &str| {
                json!([{"place_id": 1, "osm_type": "node", "lat": lat, "lon": lon,
                        "category": "place", "type": "house", "display_name": name}])
            };
            let body = if street.starts_with("12 rue de la République") {
                place("45.7605432", "4.8357809", "12, Rue de la République, Lyon, France")
            } else if street.starts_with("5 rue de Rivoli") {
                place("48.8556288", "2.3591652", "5, Rue de Rivoli, Paris, France")
            } else {
                json!([])
            };
            (axum::http::StatusCode::OK, axum::Json(body))
        }
    };
    common::serve(axum::Router::new().route("/search", axum::routing::get(search))).await
}

/// The fixture's `orders/create` body, as order `id` updated at `updated_at`, delivered to
/// `street` in `city`.
fn order(id: u64, updated_at: &str, street: &str, city: &str) -> Value {
    let fixture = common::fixture("shopify", "orders-create.http");
    let mut order: Value = serde_json::from_slice(&fixture.body).unwrap();
    order["id"] = json!(id);
    order["name"] = json!(format!("#{id}"));
    order["updated_at"] = json!(updated_at);
    order["shipping_address"]["address1"] = json!(street);
    order["shipping_address"]["city"] = json!(city);
    order
}

/// Posts `order` as a signed Shopify webhook of `topic`.
async fn post(base: &str, topic: &str, order: &Value) {
    let body = order.to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SHOPIFY_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let webhook_id = format!("{topic}-{}-{}", order["id"], order["updated_at"]);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Shopify-Topic", topic),
        ("X-Shopify-Hmac-Sha256", signature.as_str()),
        ("X-Shopify-Shop-Domain", "atelier-lumiere.myshopify.com"),
        ("X-Shopify-Webhook-Id", webhook_id.as_str()),
    ];
    let answer =
        client::send(base, "POST", "/hooks/shopify", &headers, body.as_bytes()).await.unwrap();
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
}

/// The stored order whose provider id is `id`.
async fn stored(base: &str, id: u64) -> Value {
    let answer =
        client::request(base, "GET", "/api/orders?channel=shopify&limit=100", Some(ADMIN), None)
            .await
            .unwrap();
    let orders = answer.json();
    orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["provider_id"].as_str().and_then(|p| p.parse::<u64>().ok()) == Some(id))
        .cloned()
        .unwrap_or_else(|| panic!("order {id} not stored: {orders}"))
}

/// Waits until order `id`'s location satisfies `done`, and returns it.
async fn location_when(base: &str, id: u64, done: impl Fn(&Value) -> bool) -> Value {
    let mut location = Value::Null;
    for _ in 0..150 {
        location = stored(base, id).await["location"].clone();
        if done(&location) {
            return location;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("order {id}: location still {location}");
}

async fn start(
    dir: &std::path::Path,
    db: &str,
    geocoder: Option<&str>,
) -> (switchboard::server::Server, String) {
    let google = match geocoder {
        Some(url) => format!(
            r#"
[[connector]]
id = "google-business"
plugin = "./google-business.wasm"
allowed_hosts = ["{url}"]
[connector.config]
push_token = "fixture-push-token"
geocoder_url = "{url}"
"#
        ),
        None => String::new(),
    };
    let config = common::config_head(db)
        + &format!(
            r#"
[geocoding]
interval = "20ms"

[[connector]]
id = "shopify"
plugin = "./shopify.wasm"
[connector.config]
client_secret = "{SHOPIFY_SECRET}"
shop_domain = "atelier-lumiere.myshopify.com"
{google}"#
        );
    let plugins = [
        ("shopify.wasm", artifacts::SHOPIFY),
        ("google-business.wasm", artifacts::GOOGLE_BUSINESS),
    ];
    common::start_server(dir, &plugins, &config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_addresses_are_placed_once_each_and_survive_restarts_and_outages_sqlite() {
    scenario(&common::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_addresses_are_placed_once_each_and_survive_restarts_and_outages_postgres() {
    if let Some(db) = common::postgres().await {
        scenario(&db).await;
    }
}

async fn scenario(db: &common::TestDb) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("switchboard=debug")
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let geocoder = Arc::new(Nominatim::default());
    let url = nominatim(geocoder.clone()).await;
    let lyon = "12 rue de la République";

    // No geocoder yet: the order is stored, unplaced.
    let (server, base) = start(dir.path(), &db.url, None).await;
    post(&base, "orders/create", &order(1001, "2026-11-24T10:15:04+01:00", lyon, "Lyon")).await;
    assert_eq!(stored(&base, 1001).await["location"], Value::Null);
    server.shutdown().await;

    // With one configured (after a restart), the waiting order is placed, through an outage
    // of the geocoder: its 503 pauses the worker, and the same address is asked again.
    geocoder.fail.store(1, Ordering::SeqCst);
    let (server, base) = start(dir.path(), &db.url, Some(&url)).await;
    let location = location_when(&base, 1001, |l| !l.is_null()).await;
    assert_eq!(location["status"], "placed", "{location}");
    assert_eq!(
        (location["latitude"].as_f64(), location["longitude"].as_f64()),
        (Some(45.7605432), Some(4.8357809))
    );
    assert_eq!(location["geocoded_by"], "google-business");
    assert_eq!(location["place_name"], "12, Rue de la République, Lyon, France");
    let street = format!("{lyon}, 3e étage");
    assert_eq!(geocoder.asked(), [street.clone(), street.clone()], "one failure, one retry");

    // A new state of the order at the same address is not geocoded again; an unknown street
    // is recorded as not found.
    post(&base, "orders/updated", &order(1001, "2026-11-24T11:00:00+01:00", lyon, "Lyon")).await;
    post(
        &base,
        "orders/create",
        &order(1002, "2026-11-24T12:00:00+01:00", "1 impasse Inconnue", "Lyon"),
    )
    .await;
    let unknown = location_when(&base, 1002, |l| !l.is_null()).await;
    assert_eq!(unknown["status"], "not_found", "{unknown}");
    assert_eq!(unknown["latitude"], Value::Null);
    assert_eq!(geocoder.asked().len(), 3, "{:?}", geocoder.asked());
    assert_eq!(
        stored(&base, 1001).await["location"],
        location,
        "unchanged address, unchanged point"
    );

    // Delivered elsewhere: placed again, at the new address.
    post(
        &base,
        "orders/updated",
        &order(1001, "2026-11-24T13:00:00+01:00", "5 rue de Rivoli", "Paris"),
    )
    .await;
    let moved = location_when(&base, 1001, |l| l["latitude"].as_f64() == Some(48.8556288)).await;
    assert_eq!(moved["status"], "placed", "{moved}");
    assert_eq!(geocoder.asked().len(), 4, "{:?}", geocoder.asked());
    // Operators see it in the metrics (this run of the server: the restart reset them).
    let metrics = client::request(&base, "GET", "/metrics", None, None).await.unwrap();
    let metrics = String::from_utf8_lossy(&metrics.body).to_string();
    for line in [
        r#"switchboard_geocoded_total{result="placed"} 2"#,
        r#"switchboard_geocoded_total{result="not_found"} 1"#,
        r#"switchboard_geocoded_total{result="unavailable"} 1"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing from:\n{metrics}");
    }
    server.shutdown().await;
}
