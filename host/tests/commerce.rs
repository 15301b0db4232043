//! End to end over real HTTP with the bundled commerce connectors: a person browses the shop's
//! site, orders on Shopify with their e-mail, pays through Stripe, has the parcel tracked by
//! AfterShip to delivery, calls the shop from its map listing with the phone given on the
//! order, and buys in the shop with the online cart loaded from its QR code → one customer
//! whose timeline shows every step. A Google review by an unknown reviewer stays its own
//! customer until an operator merges it, and that merge can be undone.

mod common;

use serde_json::{Value, json};
use switchboard::client;
use switchboard::recorded::Recorded;
use switchboard_test_artifacts as artifacts;

use common::ADMIN;

/// `t=…,v1=…` over `"{t}.{body}"` (the web and till connectors' scheme, Stripe's), signed now.
fn sign_timestamped(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn api(base: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let answer = client::request(base, method, path, Some(ADMIN), body.as_ref()).await.unwrap();
    assert!(
        (200..300).contains(&answer.status),
        "{method} {path}: {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()
}

/// A Nominatim-compatible geocoder that places the shop's customer's street.
async fn nominatim() -> String {
    let search = |axum::extract::Query(query): axum::extract::Query<
        std::collections::HashMap<String, String>,
    >| async move {
        if query.get("city").map(String::as_str) == Some("Lyon") {
            axum::Json(
                json!([{"lat": "45.7605432", "lon": "4.8357809", "display_name": "12, Rue de la République, Lyon, France"}]),
            )
        } else {
            axum::Json(json!([]))
        }
    };
    common::serve(axum::Router::new().route("/search", axum::routing::get(search))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shopper_across_site_shop_payment_courier_map_and_till() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let google = common::google_reviews_api().await;
    let geocoder = nominatim().await;
    // The recordings are older than the signature tolerances; a real deployment keeps the
    // defaults (300 s).
    let config = common::config_head(&db.url)
        + &format!(
            r#"
[[connector]]
id = "web"
plugin = "./web.wasm"
[connector.config]
signing_secret = "fixture-web-signing-secret"
tolerance_secs = "2000000000"

[[connector]]
id = "shopify"
plugin = "./shopify.wasm"
[connector.config]
client_secret = "fixture-shopify-client-secret"
shop_domain = "atelier-lumiere.myshopify.com"

[[connector]]
id = "stripe"
plugin = "./stripe.wasm"
[connector.config]
webhook_secret = "whsec_fixture0stripe0signing0secret"
tolerance_secs = "2000000000"

[[connector]]
id = "aftership"
plugin = "./aftership.wasm"
[connector.config]
webhook_secret = "fixture-aftership-secret"

[[connector]]
id = "google-business"
plugin = "./google-business.wasm"
allowed_hosts = ["{google}", "{geocoder}"]
[connector.config]
push_token = "fixture-push-token"
access_token = "ya29.fixture-access-token"
api_base = "{google}"
geocoder_url = "{geocoder}"

[[connector]]
id = "till"
plugin = "./till.wasm"
extra_namespaces = ["web:visitor"]
[connector.config]
signing_secret = "fixture-till-signing-secret"
tolerance_secs = "2000000000"
"#
        );
    let plugins = [
        ("web.wasm", artifacts::WEB),
        ("shopify.wasm", artifacts::SHOPIFY),
        ("stripe.wasm", artifacts::STRIPE),
        ("aftership.wasm", artifacts::AFTERSHIP),
        ("google-business.wasm", artifacts::GOOGLE_BUSINESS),
        ("till.wasm", artifacts::TILL),
    ];
    let (server, base) = common::start_server(dir.path(), &plugins, &config).await;

    // Browsing anonymously, then typing the e-mail at checkout.
    common::replay(&base, "web", "product-viewed.http").await;
    common::replay(&base, "web", "cart-updated.http").await;
    common::replay(&base, "web", "checkout-started.http").await;
    // The order on Shopify, its payment on Stripe, the parcel on AfterShip.
    common::replay(&base, "shopify", "orders-create.http").await;
    common::replay(&base, "stripe", "payment-intent-succeeded.http").await;
    common::replay(&base, "aftership", "in-transit.http").await;
    common::replay(&base, "aftership", "delivered.http").await;
    // A call from the map listing, with the phone given on the order.
    common::replay(&base, "google-business", "lead-call.http").await;
    let stats = api(&base, "GET", "/api/stats", None).await;
    assert_eq!(stats["customers"], 1, "one customer, not five: {stats}");

    // In the shop, the till scans the cart's QR code, loads it, and sells it.
    let cart = api(&base, "GET", "/api/carts/c-77ab19e4", None).await;
    assert_eq!(cart["items"][0]["sku"], "MUG-LUM-BLUE", "{cart}");
    let customer = cart["customer_id"].as_i64().unwrap();
    // The till knows the shopper only by what the cart gave it: the anonymous visitor id.
    let visitor = cart["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["namespace"] == "web:visitor")
        .unwrap_or_else(|| panic!("the cart names its visitor: {cart}"))["value"]
        .clone();
    let mut sale: Value = serde_json::from_slice(
        &Recorded::parse(&std::fs::read(common::fixture_path("till", "sale.http")).unwrap())
            .unwrap()
            .body,
    )
    .unwrap();
    sale["customer"] = json!({"web_visitor": visitor});
    sale["cart_token"] = cart["token"].clone();
    let body = sale.to_string();
    let answer = client::send(
        &base,
        "POST",
        "/hooks/till",
        &[
            ("Content-Type", "application/json"),
            ("Switchboard-Signature", &sign_timestamped("fixture-till-signing-secret", &body)),
        ],
        body.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let stats = api(&base, "GET", "/api/stats", None).await;
    assert_eq!(stats["customers"], 1, "{stats}");
    // The sale is an order of channel `store`, the cart's customer's, carrying its token.
    let store_orders = api(&base, "GET", "/api/orders?channel=store", None).await;
    let till_order = &store_orders["orders"][0];
    assert_eq!(
        (&till_order["connector"], &till_order["channel"], till_order["customer_id"].as_i64()),
        (&json!("till"), &json!("store"), Some(customer)),
        "{store_orders}"
    );
    let token = till_order["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "cart_token")
        .map(|a| a["value"].clone());
    assert_eq!(token, Some(json!("c-77ab19e4")), "{till_order}");

    let found = api(&base, "GET", "/api/customers?email=ann.lee%40example.com", None).await;
    assert_eq!(found["customers"][0]["id"], customer, "{found}");
    let timeline =
        api(&base, "GET", &format!("/api/customers/{customer}/timeline?limit=100"), None).await;
    let steps: Vec<String> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let kind = e["data"]["kind"].as_str().unwrap_or(e["kind"].as_str().unwrap());
            format!("{}:{kind}", e["connector"].as_str().unwrap())
        })
        .collect();
    for step in [
        "web:page_view",
        "web:cart",
        "shopify:order",
        "stripe:payment",
        "aftership:shipment",
        "google-business:call",
        "till:order",
        "till:payment",
    ] {
        assert!(steps.contains(&step.to_string()), "{step} missing from {steps:?}");
    }
    let delivered = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["connector"] == "aftership" && e["data"]["status"] == "delivered");
    assert!(delivered.is_some(), "the delivery is on the timeline: {timeline}");
    let orders = api(&base, "GET", &format!("/api/orders?customer={customer}"), None).await;
    let shop_order = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["connector"] == "shopify")
        .unwrap_or_else(|| panic!("{orders}"));
    assert_eq!(shop_order["payments"][0]["status"], "succeeded", "{shop_order}");
    // The map connector placed the Shopify order's delivery address, off the webhook path.
    let mut location = Value::Null;
    for _ in 0..50 {
        let orders = api(&base, "GET", "/api/orders?channel=shopify", None).await;
        location = orders["orders"][0]["location"].clone();
        if !location.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(location["latitude"], 45.7605432, "{location}");
    assert_eq!(location["geocoded_by"], "google-business");

    // A Google review by someone the shop does not know: its own customer.
    common::replay(&base, "google-business", "new-review.http").await;
    let stats = api(&base, "GET", "/api/stats", None).await;
    assert_eq!(stats["customers"], 2, "{stats}");
    let reviewer = api(&base, "GET", "/api/customers?q=A.%20L.", None).await;
    let reviewer = reviewer["customers"][0]["id"].as_i64().unwrap_or_else(|| panic!("{reviewer}"));
    assert_ne!(reviewer, customer);
    // The operator recognises Ann and merges; then thinks better of it and undoes.
    let merge = api(
        &base,
        "POST",
        &format!("/api/customers/{customer}/merge"),
        Some(json!({"other": reviewer, "reason": "Ann signs her reviews A. L."})),
    )
    .await;
    assert_eq!(api(&base, "GET", "/api/stats", None).await["customers"], 1);
    let timeline =
        api(&base, "GET", &format!("/api/customers/{customer}/timeline?limit=100"), None).await;
    assert!(
        timeline["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["connector"] == "google-business" && e["data"]["kind"] == "review")
    );
    api(&base, "POST", &format!("/api/merges/{}/undo", merge["id"]), None).await;
    assert_eq!(api(&base, "GET", "/api/stats", None).await["customers"], 2);
    let back = api(&base, "GET", &format!("/api/customers/{reviewer}/timeline"), None).await;
    assert_eq!(back["entries"][0]["data"]["kind"], "review", "{back}");
    server.shutdown().await;
}
