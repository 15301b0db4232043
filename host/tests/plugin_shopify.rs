//! The bundled Shopify connector: signed webhooks on fixtures shaped like Shopify's payloads,
//! and the Admin REST backfill against a local server that filters, paginates (`Link` +
//! `page_info`) and authenticates like Shopify's.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use switchboard::model::{ConsentState, Event, HttpRequest, Identifier, Order, OrderStatus};
use switchboard::runtime::LoadedConnector;
use switchboard::store::Ingested;
use switchboard_test_artifacts as artifacts;

const SECRET: &str = "fixture-shopify-client-secret";

async fn shopify(extra: &[(&str, &str)], allowed: &[&str]) -> LoadedConnector {
    let mut config =
        vec![("client_secret", SECRET), ("shop_domain", "atelier-lumiere.myshopify.com")];
    config.extend_from_slice(extra);
    common::plugin(artifacts::SHOPIFY, "shopify", &config, allowed).await
}

async fn events(connector: &LoadedConnector, name: &str) -> Vec<Event> {
    connector.handle_webhook(common::fixture("shopify", name)).await.unwrap().events
}

fn order(events: &[Event]) -> &Order {
    match events {
        [Event::Order(order)] => order,
        other => panic!("expected one order: {other:?}"),
    }
}

#[tokio::test]
async fn order_webhooks_become_orders() {
    let connector = shopify(&[], &[]).await;
    let created = events(&connector, "orders-create.http").await;
    let o = order(&created);
    assert_eq!(o.provider_id, "820982911946154508");
    assert_eq!(o.number.as_deref(), Some("#1001"));
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!((o.total.amount_minor, o.total.currency.as_str()), (2598, "EUR"));
    assert_eq!(o.lines.len(), 1);
    assert_eq!(o.lines[0].sku.as_deref(), Some("MUG-LUM-BLUE"));
    assert_eq!((o.lines[0].quantity, o.lines[0].unit_price.amount_minor), (2, 1299));
    assert_eq!(o.placed_at, 1_795_511_702_000);
    let address = o.delivery_address.as_ref().unwrap();
    assert_eq!(address.city.as_deref(), Some("Lyon"));
    assert_eq!(address.country.as_deref(), Some("FR"));
    assert_eq!(address.phone.as_deref(), Some("+33 6 12 34 56 78"));
    assert!(o.contact.identifiers.contains(&Identifier::email("ann.lee@example.com").declared()));
    assert!(
        o.contact
            .identifiers
            .contains(&Identifier::external("shopify:customer", "115310627314723954").verified())
    );
    assert_eq!(o.contact.locale.as_deref(), Some("fr"));

    let cancelled = events(&connector, "orders-cancelled.http").await;
    let c = order(&cancelled);
    assert_eq!(c.provider_id, o.provider_id, "a later state amends the same order");
    assert_eq!(c.status, OrderStatus::Cancelled);
    assert!(c.updated_at > o.updated_at);
    assert!(c.attributes.iter().any(|a| a.key == "cancel_reason" && a.value == "customer"));
}

#[tokio::test]
async fn customer_webhooks_carry_marketing_consent() {
    let connector = shopify(&[], &[]).await;
    let events = events(&connector, "customers-update.http").await;
    let [Event::Contact(update), Event::Consent(consent)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(update.provider_id, "7a1c5e02-41a0-4f43-9c55-1c6a0d2b7e11", "the webhook id");
    assert_eq!(update.contact.given_name.as_deref(), Some("Ann"));
    assert_eq!((consent.channel.as_str(), consent.state), ("email", ConsentState::OptIn));
}

#[tokio::test]
async fn bad_requests_are_refused_and_nothing_is_stored() {
    let connector = shopify(&[], &[]).await;
    for (name, kind) in [
        ("orders-create-wrong-signature.http", "unauthorized"),
        ("orders-create-malformed.http", "bad_request"),
    ] {
        let error = connector.handle_webhook(common::fixture("shopify", name)).await.unwrap_err();
        assert_eq!(common::kind(&error), kind, "{name}: {error}");
    }
    let mut request = common::fixture("shopify", "orders-create.http");
    request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("x-shopify-topic"));
    let error = connector.handle_webhook(request).await.unwrap_err();
    assert_eq!(common::kind(&error), "bad_request");
    assert!(error.to_string().contains("X-Shopify-Topic"), "{error}");
    // Signed correctly, but for another shop.
    let other = shopify(&[("shop_domain", "someone-else.myshopify.com")], &[]).await;
    let error =
        other.handle_webhook(common::fixture("shopify", "orders-create.http")).await.unwrap_err();
    assert_eq!(common::kind(&error), "unauthorized");
    assert!(error.to_string().contains("someone-else"), "{error}");
}

#[tokio::test]
async fn a_redelivered_webhook_changes_nothing() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let connector = shopify(&[], &[]).await;
    for name in ["orders-create.http", "customers-update.http"] {
        let first = events(&connector, name).await;
        store.ingest("shopify", &first).await.unwrap();
        let before = store.stats().await.unwrap();
        let again = events(&connector, name).await;
        let outcome = store.ingest("shopify", &again).await.unwrap();
        assert!(
            outcome.events.iter().all(|(_, change)| *change == Ingested::Unchanged),
            "{name}: {outcome:?}"
        );
        assert_eq!(store.stats().await.unwrap(), before, "{name}");
    }
}

/// Shopify's orders endpoint as documented: `updated_at_min`/`updated_at_max` inclusive,
/// `limit`, and a `Link` header with `page_info`, which must be used alone.
#[derive(Clone, Default)]
struct FakeShop {
    orders: Arc<Mutex<Vec<Value>>>,
    requests: Arc<Mutex<Vec<String>>>,
    /// The origin its `Link` header names (`None`: its own, as Shopify does).
    link_origin: Arc<Mutex<Option<String>>>,
}

fn at(value: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(value).unwrap().timestamp_millis()
}

async fn orders_json(
    State(shop): State<FakeShop>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if headers.get("x-shopify-access-token").map(|v| v.as_bytes()) != Some(b"shpat_fixture") {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}))).into_response();
    }
    let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    shop.requests.lock().unwrap().push(serde_json::to_string(&query).unwrap());
    let (min, max, after, limit) = match get("page_info") {
        Some(info) => {
            if query.iter().any(|(k, _)| k != "page_info" && k != "limit") {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(
                        json!({"errors": {"page_info": "Cannot be used with other params"}}),
                    ),
                )
                    .into_response();
            }
            // A page link Shopify no longer honours (expired, or from another walk).
            let Some(state) = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&info)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            else {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"errors": {"page_info": "Invalid value."}})),
                )
                    .into_response();
            };
            (
                state["min"].as_i64(),
                state["max"].as_i64(),
                state["after"].as_u64().unwrap(),
                state["limit"].as_u64().unwrap() as usize,
            )
        }
        None => (
            get("updated_at_min").map(|v| at(&v)),
            get("updated_at_max").map(|v| at(&v)),
            0,
            get("limit").map(|l| l.parse().unwrap()).unwrap_or(50),
        ),
    };
    let mut matching: Vec<Value> = shop
        .orders
        .lock()
        .unwrap()
        .iter()
        .filter(|o| {
            let updated = at(o["updated_at"].as_str().unwrap());
            min.is_none_or(|m| updated >= m) && max.is_none_or(|m| updated <= m)
        })
        .filter(|o| o["id"].as_u64().unwrap() > after)
        .cloned()
        .collect();
    matching.sort_by_key(|o| o["id"].as_u64().unwrap());
    let more = matching.len() > limit;
    matching.truncate(limit);
    let mut response = axum::Json(json!({ "orders": matching })).into_response();
    if more {
        let last = matching.last().unwrap()["id"].as_u64().unwrap();
        let info = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"min": min, "max": max, "after": last, "limit": limit}).to_string());
        let host = headers.get("host").unwrap().to_str().unwrap();
        let origin =
            shop.link_origin.lock().unwrap().clone().unwrap_or_else(|| format!("http://{host}"));
        let link = format!(
            "<{origin}/admin/api/2025-10/orders.json?limit={limit}&page_info={info}>; rel=\"next\""
        );
        response.headers_mut().insert("link", link.parse().unwrap());
    }
    response
}

fn shop_order(id: u64, updated_at: &str, email: &str) -> Value {
    json!({
        "id": id, "name": format!("#{}", 1000 + id % 1000), "email": email, "phone": null,
        "created_at": "2026-11-20T08:00:00Z", "updated_at": updated_at, "cancelled_at": null,
        "currency": "EUR", "total_price": "10.00", "financial_status": "paid",
        "fulfillment_status": null, "line_items": [], "customer": null, "shipping_address": null
    })
}

fn ids(events: &[Event]) -> Vec<String> {
    let mut ids: Vec<String> = events.iter().map(|e| e.provider_id().to_string()).collect();
    ids.sort();
    ids
}

/// The connector polling `shop`'s Admin API two orders a page, `max_pages` pages a poll, and
/// the API's base URL.
async fn backfilling(shop: &FakeShop, max_pages: u32) -> (LoadedConnector, String) {
    let router = axum::Router::new()
        .route("/admin/api/2025-10/orders.json", axum::routing::get(orders_json))
        .with_state(shop.clone());
    let base = common::serve(router).await;
    let max_pages = max_pages.to_string();
    let config = [
        ("access_token", "shpat_fixture"),
        ("api_base", base.as_str()),
        ("page_limit", "2"),
        ("max_pages", max_pages.as_str()),
    ];
    (shopify(&config, &[&base]).await, base)
}

#[tokio::test]
async fn backfill_walks_pages_and_never_misses_the_boundary_second() {
    let shop = FakeShop::default();
    let now = chrono::DateTime::from_timestamp_millis(switchboard::store::now_millis()).unwrap();
    let stamp = |minutes_ago: i64| (now - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
    *shop.orders.lock().unwrap() =
        (1..=5).map(|i| shop_order(i, &stamp(60 - i as i64), "a@example.com")).collect();
    let (connector, base) = backfilling(&shop, 2).await;

    // Five orders, two per page, two pages per poll: the walk stops after page two and goes on
    // from the stored page at the next poll.
    let first = connector.poll(None).await.unwrap();
    assert_eq!(ids(&first.events), ["1", "2", "3", "4"]);
    let cursor: Value = serde_json::from_str(first.next_cursor.as_deref().unwrap()).unwrap();
    assert!(cursor["next"].as_str().unwrap().contains("page_info="), "{cursor}");
    let second = connector.poll(first.next_cursor.clone()).await.unwrap();
    assert_eq!(ids(&second.events), ["5"]);
    let cursor: Value = serde_json::from_str(second.next_cursor.as_deref().unwrap()).unwrap();
    let boundary = cursor["since"].as_str().unwrap().to_string();
    assert!(cursor.get("next").is_none(), "{cursor}");
    {
        let requests = shop.requests.lock().unwrap();
        assert!(
            requests[0].contains("updated_at_max") && requests[0].contains("\"status\",\"any\""),
            "{requests:?}"
        );
        assert!(!requests[0].contains("updated_at_min"), "the first walk has no lower bound");
    }

    // An order that Shopify saves with exactly the boundary second, after the walk read past
    // it, and a later one: the next walk starts at the boundary, inclusive.
    shop.orders.lock().unwrap().push(shop_order(6, &boundary, "b@example.com"));
    shop.orders.lock().unwrap().push(shop_order(7, &stamp(0), "c@example.com"));
    // The later order is inside the lag (60 s by default), so only the boundary one is due now.
    let third = connector.poll(second.next_cursor.clone()).await.unwrap();
    assert_eq!(ids(&third.events), ["6"]);
    assert!(shop.requests.lock().unwrap().last().unwrap().contains(&boundary));

    // Wrong credentials are the operator's to fix, not a retry.
    let locked = shopify(&[("access_token", "wrong"), ("api_base", &base)], &[&base]).await;
    let error = locked.poll(None).await.unwrap_err();
    assert_eq!(common::kind(&error), "config", "{error}");
    // A cursor from something else is refused clearly.
    let error = connector.poll(Some("not json".into())).await.unwrap_err();
    assert!(error.to_string().contains("cursor"), "{error}");
}

/// `body` as Shopify delivers `topic` to the shop's subscription: signed with the client
/// secret, from the configured shop, as webhook `webhook_id`.
fn signed(topic: &str, webhook_id: &str, body: &Value) -> HttpRequest {
    let mut request = common::fixture("shopify", "orders-create.http");
    request.body = serde_json::to_vec(body).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&request.body);
    let hmac = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    request.headers.retain(|(name, _)| {
        !["x-shopify-topic", "x-shopify-webhook-id", "x-shopify-hmac-sha256"]
            .contains(&name.to_ascii_lowercase().as_str())
    });
    request.headers.push(("X-Shopify-Topic".into(), topic.into()));
    request.headers.push(("X-Shopify-Webhook-Id".into(), webhook_id.into()));
    request.headers.push(("X-Shopify-Hmac-Sha256".into(), hmac));
    request
}

/// The `orders/create` fixture's order.
fn fixture_order() -> Value {
    serde_json::from_slice(&common::fixture("shopify", "orders-create.http").body).unwrap()
}

fn attribute<'a>(order: &'a Order, key: &str) -> Option<&'a str> {
    order.attributes.iter().find(|a| a.key == key).map(|a| a.value.as_str())
}

fn phones(order: &Order) -> Vec<&str> {
    order
        .contact
        .identifiers
        .iter()
        .filter_map(|i| match &i.identifier {
            Identifier::Phone { value } => Some(value.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_edited_or_refunded_order_reports_what_is_left() {
    let connector = shopify(&[], &[]).await;
    // One of the two mugs refunded: Shopify keeps `total_price` and `quantity` as placed and
    // reports what is left in `current_total_price` and `current_quantity`.
    let mut edited = fixture_order();
    edited["updated_at"] = json!("2026-11-25T11:00:00+01:00");
    edited["financial_status"] = json!("partially_refunded");
    edited["current_subtotal_price"] = json!("12.99");
    edited["current_total_price"] = json!("12.99");
    edited["line_items"][0]["current_quantity"] = json!(1);
    let reported = connector
        .handle_webhook(signed("orders/updated", "0b4e-edited", &edited))
        .await
        .unwrap()
        .events;
    let o = order(&reported);
    assert_eq!((o.total.amount_minor, o.total.currency.as_str()), (1299, "EUR"));
    assert_eq!(attribute(o, "original_total_minor"), Some("2598"), "{:?}", o.attributes);
    assert_eq!((o.lines[0].quantity, o.lines[0].unit_price.amount_minor), (1, 1299));

    // Unedited (current = total): no original total to keep.
    let created = events(&connector, "orders-create.http").await;
    assert_eq!(attribute(order(&created), "original_total_minor"), None);
    // An older API version without the current fields: the totals as placed.
    let mut older = fixture_order();
    older.as_object_mut().unwrap().remove("current_total_price");
    let reported = connector
        .handle_webhook(signed("orders/create", "0b4e-older", &older))
        .await
        .unwrap()
        .events;
    let o = order(&reported);
    assert_eq!((o.total.amount_minor, o.lines[0].quantity), (2598, 2));
    assert_eq!(attribute(o, "original_total_minor"), None);
}

// Regression (identity precision): a gift order's shipping phone, the recipient's, was taken
// as the buyer's, and the recipient's own later purchases joined the buyer.
#[tokio::test]
async fn the_phones_of_the_addresses_stay_on_the_order() {
    let connector = shopify(&[], &[]).await;
    // A guest checkout: no customer, an e-mail, and a phone only on the shipping address.
    let mut guest = fixture_order();
    guest["customer"] = Value::Null;
    guest["phone"] = Value::Null;
    guest["billing_address"]["phone"] = json!("+33 7 98 76 54 32");
    let events = connector
        .handle_webhook(signed("orders/create", "5c1d-ship", &guest))
        .await
        .unwrap()
        .events;
    let o = order(&events);
    assert!(phones(o).is_empty(), "{:?}", o.contact.identifiers);
    assert!(o.contact.identifiers.contains(&Identifier::email("ann.lee@example.com").declared()));
    let shipping = o.delivery_address.as_ref().expect("the recipient's address");
    assert_eq!(shipping.phone.as_deref(), Some("+33 6 12 34 56 78"));
    let billing = o.billing_address.as_ref().expect("the payer's address");
    assert_eq!(billing.phone.as_deref(), Some("+33 7 98 76 54 32"));

    // The order's own phone is the buyer's.
    let mut with_phone = guest.clone();
    with_phone["phone"] = json!("+33611111111");
    let events = connector
        .handle_webhook(signed("orders/create", "5c1d-own", &with_phone))
        .await
        .unwrap()
        .events;
    assert_eq!(phones(order(&events)), ["+33611111111"]);

    // Only addresses name anyone (no e-mail, no customer): nobody is the buyer, so the order
    // is acknowledged and nothing is stored.
    let mut nobody = guest.clone();
    nobody["email"] = Value::Null;
    nobody["contact_email"] = Value::Null;
    let outcome =
        connector.handle_webhook(signed("orders/create", "5c1d-none", &nobody)).await.unwrap();
    assert_eq!(outcome.response.status, 200);
    assert!(outcome.events.is_empty(), "{:?}", outcome.events);
}

#[tokio::test]
async fn a_webhook_without_the_shop_header_is_refused_when_a_shop_is_configured() {
    let connector = shopify(&[], &[]).await;
    let mut request = common::fixture("shopify", "orders-create.http");
    request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("x-shopify-shop-domain"));
    // Signed correctly: the secret alone does not say which shop sent it.
    let error = connector.handle_webhook(request.clone()).await.unwrap_err();
    assert_eq!(common::kind(&error), "unauthorized", "{error}");
    assert!(error.to_string().contains("X-Shopify-Shop-Domain"), "{error}");
    // Without a configured shop there is nothing to compare it with.
    let any_shop =
        common::plugin(artifacts::SHOPIFY, "shopify", &[("client_secret", SECRET)], &[]).await;
    assert_eq!(any_shop.handle_webhook(request).await.unwrap().events.len(), 1);
}

#[tokio::test]
async fn a_redelivered_customer_update_without_dates_keeps_its_consent_id() {
    let connector = shopify(&[], &[]).await;
    let mut customer: Value =
        serde_json::from_slice(&common::fixture("shopify", "customers-update.http").body).unwrap();
    customer["created_at"] = Value::Null;
    customer["updated_at"] = Value::Null;
    customer["email_marketing_consent"]["consent_updated_at"] = Value::Null;
    let consent_id = |events: Vec<Event>| {
        events
            .iter()
            .find_map(|e| match e {
                Event::Consent(c) => Some(c.provider_id.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no consent: {events:?}"))
    };
    let first = connector
        .handle_webhook(signed("customers/update", "9d0f-dateless", &customer))
        .await
        .unwrap()
        .events;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let again = connector
        .handle_webhook(signed("customers/update", "9d0f-dateless", &customer))
        .await
        .unwrap()
        .events;
    let id = consent_id(first);
    assert_eq!(id, consent_id(again), "a redelivery is the same consent");
    // Another webhook is another change of consent.
    let other = connector
        .handle_webhook(signed("customers/update", "9d0f-later", &customer))
        .await
        .unwrap()
        .events;
    assert_ne!(consent_id(other), id);
}

#[tokio::test]
async fn page_links_are_followed_on_the_configured_api_base_only() {
    let shop = FakeShop::default();
    let now = chrono::DateTime::from_timestamp_millis(switchboard::store::now_millis()).unwrap();
    let stamp = |minutes_ago: i64| (now - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
    *shop.orders.lock().unwrap() =
        (1..=3).map(|i| shop_order(i, &stamp(60 - i as i64), "a@example.com")).collect();
    // A `Link` naming another origin (a tampered or misrouted response): the access token must
    // not go there.
    *shop.link_origin.lock().unwrap() = Some("https://evil.example".into());
    let (connector, base) = backfilling(&shop, 1).await;

    // One page per poll: the stored next page is on the API base.
    let first = connector.poll(None).await.unwrap();
    assert_eq!(ids(&first.events), ["1", "2"]);
    let cursor: Value = serde_json::from_str(first.next_cursor.as_deref().unwrap()).unwrap();
    let next = cursor["next"].as_str().unwrap();
    assert!(next.starts_with(&format!("{base}/admin/api/2025-10/orders.json?")), "{cursor}");
    assert!(next.contains("page_info=") && !next.contains("evil"), "{cursor}");
    let second = connector.poll(first.next_cursor.clone()).await.unwrap();
    assert_eq!(ids(&second.events), ["3"]);

    // Within one poll too: both pages asked of the API base, with the access token (the fake
    // records only authenticated requests).
    let walker = shopify(
        &[("access_token", "shpat_fixture"), ("api_base", &base), ("page_limit", "2")],
        &[&base],
    )
    .await;
    shop.requests.lock().unwrap().clear();
    let walk = walker.poll(None).await.unwrap();
    assert_eq!(ids(&walk.events), ["1", "2", "3"]);
    let requests = shop.requests.lock().unwrap();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[1].contains("page_info"), "{requests:?}");
}

#[tokio::test]
async fn an_expired_page_link_restarts_the_walk_from_its_lower_bound() {
    let shop = FakeShop::default();
    let now = chrono::DateTime::from_timestamp_millis(switchboard::store::now_millis()).unwrap();
    let stamp = |minutes_ago: i64| (now - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
    *shop.orders.lock().unwrap() =
        (1..=3).map(|i| shop_order(i, &stamp(60 - i as i64), "a@example.com")).collect();
    let router = axum::Router::new()
        .route("/admin/api/2025-10/orders.json", axum::routing::get(orders_json))
        .with_state(shop.clone());
    let base = common::serve(router).await;
    let connector =
        shopify(&[("access_token", "shpat_fixture"), ("api_base", &base)], &[&base]).await;

    // A walk stored days ago, its page link no longer valid: Shopify answers 400.
    let since = stamp(120);
    let stale = json!({
        "since": since,
        "until": stamp(90),
        "next": format!("{base}/admin/api/2025-10/orders.json?limit=250&page_info=expired0link"),
    })
    .to_string();
    let restarted = connector.poll(Some(stale)).await.unwrap();
    assert!(restarted.events.is_empty(), "{:?}", restarted.events);
    let cursor: Value = serde_json::from_str(restarted.next_cursor.as_deref().unwrap()).unwrap();
    assert_eq!(cursor, json!({ "since": since }), "the same lower bound, no page link");
    assert!(shop.requests.lock().unwrap()[0].contains("expired0link"));

    // The next poll walks again from that bound and finds what the lost pages held.
    let walk = connector.poll(restarted.next_cursor.clone()).await.unwrap();
    assert_eq!(ids(&walk.events), ["1", "2", "3"]);
    let requests = shop.requests.lock().unwrap();
    assert!(
        requests.last().unwrap().contains("updated_at_min")
            && !requests.last().unwrap().contains("page_info"),
        "{requests:?}"
    );
}
