//! The shop's own connectors: `web` (signed visitor events; anonymous activity joins the
//! customer once they identify) and `till` (signed in-store sales with cash and card tenders),
//! and the cart the till loads by its token.

mod common;

use switchboard::model::{
    Event, Identifier, Interaction, InteractionKind, OrderStatus, PaymentStatus,
};
use switchboard::runtime::LoadedConnector;
use switchboard::store::Store;
use switchboard_test_artifacts as artifacts;

/// The fixtures were signed when recorded: any age is accepted here.
async fn web() -> LoadedConnector {
    common::plugin(
        artifacts::WEB,
        "web",
        &[("signing_secret", "fixture-web-signing-secret"), ("tolerance_secs", "2000000000")],
        &[],
    )
    .await
}

async fn till() -> LoadedConnector {
    common::plugin(
        artifacts::TILL,
        "till",
        &[("signing_secret", "fixture-till-signing-secret"), ("tolerance_secs", "2000000000")],
        &[],
    )
    .await
}

async fn replay(store: &Store, connector: &LoadedConnector, id: &str, name: &str) -> Option<i64> {
    let outcome = connector.handle_webhook(common::fixture(id, name)).await.unwrap();
    let report = store.ingest(id, &outcome.events).await.unwrap();
    report.events.first().and_then(|(customer, _)| *customer)
}

async fn interaction(web: &LoadedConnector, name: &str) -> Interaction {
    match web.handle_webhook(common::fixture("web", name)).await.unwrap().events.as_slice() {
        [Event::Interaction(i)] => i.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn visitor_events_become_interactions() {
    let web = web().await;
    let view = interaction(&web, "product-viewed.http").await;
    assert_eq!((view.kind, view.channel.as_str()), (InteractionKind::PageView, "web"));
    assert_eq!(view.subject.as_deref(), Some("Mug Lumière - Bleu"));
    assert_eq!(
        view.contact.identifiers,
        [Identifier::external("web:visitor", "v-8f3a2c91").verified()]
    );
    let cart = interaction(&web, "cart-updated.http").await;
    assert_eq!((cart.kind, cart.provider_id.as_str()), (InteractionKind::Cart, "cart:c-77ab19e4"));
    assert_eq!(cart.thread_id.as_deref(), Some("c-77ab19e4"));
    assert!(cart.attributes.iter().any(|a| a.key == "cart_total_minor" && a.value == "2598"));
    let checkout = interaction(&web, "checkout-started.http").await;
    assert_eq!(checkout.provider_id, cart.provider_id, "the checkout amends the cart");
    assert_eq!(checkout.status.as_deref(), Some("checkout_started"));
    let wish = interaction(&web, "wishlist-changed.http").await;
    assert_eq!(wish.kind, InteractionKind::Wishlist);
    let chat = interaction(&web, "chat-message.http").await;
    assert_eq!((chat.kind, chat.channel.as_str()), (InteractionKind::Message, "web-chat"));
    assert_eq!(chat.thread_id.as_deref(), Some("chat-5521"));

    for (name, kind) in [
        ("wrong-signature.http", "unauthorized"),
        ("cart-updated-missing-cart.http", "bad_request"),
    ] {
        let error = web.handle_webhook(common::fixture("web", name)).await.unwrap_err();
        assert_eq!(common::kind(&error), kind, "{name}: {error}");
    }
    let strict = common::plugin(
        artifacts::WEB,
        "web",
        &[("signing_secret", "fixture-web-signing-secret")],
        &[],
    )
    .await;
    let error =
        strict.handle_webhook(common::fixture("web", "product-viewed.http")).await.unwrap_err();
    assert!(error.to_string().contains("tolerance"), "{error}");
}

#[tokio::test]
async fn anonymous_activity_joins_the_customer_who_identifies() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let web = web().await;
    // Ann already exists: she bought before, by e-mail.
    let shopify = common::plugin(
        artifacts::SHOPIFY,
        "shopify",
        &[("client_secret", "fixture-shopify-client-secret")],
        &[],
    )
    .await;
    let ann = replay(&store, &shopify, "shopify", "customers-update.http").await.unwrap();
    // Anonymous visits: a customer of their own until the visitor says who they are.
    let visitor = replay(&store, &web, "web", "product-viewed.http").await.unwrap();
    assert_ne!(visitor, ann);
    assert_eq!(replay(&store, &web, "web", "cart-updated.http").await, Some(visitor));
    assert_eq!(store.stats().await.unwrap().customers, 2);
    // At checkout the visitor types her e-mail: the anonymous history joins Ann.
    assert_eq!(replay(&store, &web, "web", "checkout-started.http").await, Some(ann));
    assert_eq!(store.stats().await.unwrap().customers, 1);
    let timeline = store.timeline(ann, None, 50).await.unwrap();
    let kinds: Vec<&str> = timeline
        .entries
        .iter()
        .map(|e| e.data["kind"].as_str().unwrap_or(e.kind.as_str()))
        .collect();
    assert!(kinds.contains(&"page_view") && kinds.contains(&"cart"), "{kinds:?}");

    // The till loads the cart by its token (the QR code) and sells it in the shop.
    let cart = store.cart("c-77ab19e4").await.unwrap().expect("the cart");
    assert_eq!(cart.customer_id, ann);
    assert_eq!(cart.status.as_deref(), Some("checkout_started"));
    assert_eq!((cart.total_minor, cart.currency.as_deref()), (Some(2598), Some("EUR")));
    assert_eq!(cart.items[0]["sku"], "MUG-LUM-BLUE");
    assert!(cart.identifiers.contains(&Identifier::Email { value: "ann.lee@example.com".into() }));
    assert!(store.cart("no-such-cart").await.unwrap().is_none());
}

#[tokio::test]
async fn till_sales_are_store_orders_with_their_tenders() {
    let till = till().await;
    let events = till.handle_webhook(common::fixture("till", "sale.http")).await.unwrap().events;
    let [Event::Order(order), Event::Payment(card), Event::Payment(cash)] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (order.provider_id.as_str(), order.status),
        ("PAR01-3-000187", OrderStatus::Completed)
    );
    assert!(order.attributes.iter().any(|a| a.key == "channel" && a.value == "store"));
    assert!(order.attributes.iter().any(|a| a.key == "cart_token" && a.value == "c-77ab19e4"));
    assert_eq!(order.total.amount_minor, 3897);
    assert!(
        order
            .contact
            .identifiers
            .contains(&Identifier::external("loyalty:card", "LC-0042-7781").verified())
    );
    assert_eq!((card.amount.amount_minor, card.status), (3000, PaymentStatus::Succeeded));
    assert_eq!(card.order_ref.as_deref(), Some("PAR01-3-000187"));
    assert!(cash.attributes.iter().any(|a| a.key == "payment_method" && a.value == "cash"));

    let anonymous =
        till.handle_webhook(common::fixture("till", "sale-anonymous.http")).await.unwrap();
    assert_eq!(anonymous.response.status, 200);
    assert!(anonymous.events.is_empty(), "a sale without a customer is no one's history");
    for (name, kind) in [
        ("sale-wrong-signature.http", "unauthorized"),
        ("sale-malformed-tenders.http", "bad_request"),
    ] {
        let error = till.handle_webhook(common::fixture("till", name)).await.unwrap_err();
        assert_eq!(common::kind(&error), kind, "{name}: {error}");
    }

    // In the store: one order with two payments, on the customer found by phone.
    let db = common::sqlite();
    let store = common::open(&db).await;
    let report = store.ingest("till", &events).await.unwrap();
    let customer = report.events[0].0.unwrap();
    let orders = store
        .orders(&switchboard::store::OrderQuery { customer: Some(customer), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].payments.len(), 2);
    let found = store
        .find_customers(&switchboard::store::CustomerQuery {
            phone: Some("06 12 34 56 78".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

/// `body` posted by the shop's own back end (`id`: `web` or `till`), signed now with the
/// fixtures' secret.
fn signed(id: &str, body: &serde_json::Value) -> switchboard::model::HttpRequest {
    use hmac::{Hmac, Mac};
    let (fixture, secret) = match id {
        "web" => ("cart-updated.http", "fixture-web-signing-secret"),
        _ => ("sale.http", "fixture-till-signing-secret"),
    };
    let mut request = common::fixture(id, fixture);
    request.body = serde_json::to_vec(body).unwrap();
    let t = switchboard::store::now_millis() / 1000;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&request.body);
    let header = format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()));
    request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("switchboard-signature"));
    request.headers.push(("Switchboard-Signature".into(), header));
    request
}

/// The body of a recorded request.
fn body(id: &str, name: &str) -> serde_json::Value {
    serde_json::from_slice(&common::fixture(id, name).body).unwrap()
}

fn attribute<'a>(attributes: &'a [switchboard::model::Attribute], key: &str) -> Option<&'a str> {
    attributes.iter().find(|a| a.key == key).map(|a| a.value.as_str())
}

#[tokio::test]
async fn cash_handed_back_comes_off_the_cash_payment() {
    let till = till().await;
    // 38.97 paid with 30.00 by card and a 10-euro note: 1.03 handed back.
    let mut sale = body("till", "sale.http");
    sale["tenders"][1]["amount"] = serde_json::json!("10.00");
    sale["change"] = serde_json::json!("1.03");
    let events = till.handle_webhook(signed("till", &sale)).await.unwrap().events;
    let [Event::Order(order), Event::Payment(card), Event::Payment(cash)] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(order.total.amount_minor, 3897);
    assert_eq!(card.amount.amount_minor, 3000);
    assert_eq!(cash.amount.amount_minor, 897, "what the shop kept");
    assert_eq!(attribute(&cash.attributes, "payment_method"), Some("cash"));

    // More change than cash tendered: the till is wrong, not the customer's history.
    for change in ["10.01", "-1.00"] {
        sale["change"] = serde_json::json!(change);
        let error = till.handle_webhook(signed("till", &sale)).await.unwrap_err();
        assert_eq!(common::kind(&error), "bad_request", "change {change}: {error}");
    }
    // Change from a card-only sale is as wrong.
    let mut card_only = body("till", "sale.http");
    card_only["tenders"] = serde_json::json!([{"method": "card", "amount": "38.97"}]);
    card_only["change"] = serde_json::json!("0.50");
    let error = till.handle_webhook(signed("till", &card_only)).await.unwrap_err();
    assert_eq!(common::kind(&error), "bad_request", "{error}");
}

#[tokio::test]
async fn an_anonymous_sale_is_checked_before_it_is_dropped() {
    let till = till().await;
    let anonymous = body("till", "sale-anonymous.http");
    let outcome = till.handle_webhook(signed("till", &anonymous)).await.unwrap();
    assert_eq!(outcome.response.status, 200);
    assert!(outcome.events.is_empty(), "{:?}", outcome.events);

    // Tenders short of the total, or change the cash does not cover: refused, with or
    // without a customer.
    let mut short = anonymous.clone();
    short["tenders"] = serde_json::json!([{"method": "card", "amount": "30.00"}]);
    let mut too_much_change = anonymous.clone();
    too_much_change["change"] = serde_json::json!("40.00");
    let mut unreadable = anonymous.clone();
    unreadable["total"] = serde_json::json!("trente");
    for (case, sale) in [("short", short), ("change", too_much_change), ("total", unreadable)] {
        let error = till.handle_webhook(signed("till", &sale)).await.unwrap_err();
        assert_eq!(common::kind(&error), "bad_request", "{case}: {error}");
    }
}

#[tokio::test]
async fn a_loyalty_card_alone_finds_the_customer() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let till = till().await;
    // The first sale took Ann's phone and loyalty card.
    let first = replay(&store, &till, "till", "sale.http").await.unwrap();
    // The next one only scans the card.
    let mut sale = body("till", "sale.http");
    sale["sale_id"] = serde_json::json!("PAR01-3-000190");
    sale["occurred_at"] = serde_json::json!("2026-11-29T10:05:00+01:00");
    sale["cart_token"] = serde_json::Value::Null;
    sale["customer"] = serde_json::json!({"phone": null, "email": null, "loyalty_card": "LC-0042-7781", "name": null});
    let events = till.handle_webhook(signed("till", &sale)).await.unwrap().events;
    let Event::Order(order) = &events[0] else { panic!("{events:?}") };
    assert_eq!(
        order.contact.identifiers,
        [Identifier::external("loyalty:card", "LC-0042-7781").verified()]
    );
    let report = store.ingest("till", &events).await.unwrap();
    assert!(report.events.iter().all(|(customer, _)| *customer == Some(first)), "{report:?}");
    assert_eq!(store.stats().await.unwrap().customers, 1);
    let orders = store
        .orders(&switchboard::store::OrderQuery { customer: Some(first), ..Default::default() })
        .await
        .unwrap();
    let mut ids: Vec<&str> = orders.iter().map(|o| o.provider_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["PAR01-3-000187", "PAR01-3-000190"]);
}

#[tokio::test]
async fn a_wishlist_with_prices_names_its_currency() {
    let web = web().await;
    let mut event = body("web", "wishlist-changed.http");
    event["wishlist"] = serde_json::json!({
        "currency": "EUR",
        "items": [
            {"sku": "VASE-OPAL-S", "name": "Vase Opale (S)", "unit_price": "12.99"},
            {"sku": "MUG-LUM-BLUE", "name": "Mug Lumière - Bleu", "quantity": 2, "unit_price": "12.99"}
        ]
    });
    let events = web.handle_webhook(signed("web", &event)).await.unwrap().events;
    let [Event::Interaction(wish)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(wish.kind, InteractionKind::Wishlist);
    let items: serde_json::Value =
        serde_json::from_str(attribute(&wish.attributes, "wishlist_items").unwrap()).unwrap();
    assert_eq!(items[0]["unit_price_minor"], 1299);
    assert_eq!(items[1]["quantity"], 2);
    // A price without a currency says nothing: still refused.
    event["wishlist"].as_object_mut().unwrap().remove("currency");
    let error = web.handle_webhook(signed("web", &event)).await.unwrap_err();
    assert_eq!(common::kind(&error), "bad_request", "{error}");
}

#[tokio::test]
async fn a_cart_update_delivered_late_does_not_undo_a_newer_one() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let web = web().await;
    let update = |at: &str, items: serde_json::Value| {
        let mut event = body("web", "cart-updated.http");
        event["event_id"] = serde_json::json!(format!("e-{at}"));
        event["occurred_at"] = serde_json::json!(at);
        event["cart"]["items"] = items;
        event
    };
    let mug = |quantity: u32| {
        serde_json::json!({"sku": "MUG-LUM-BLUE", "name": "Mug Lumière - Bleu",
                           "quantity": quantity, "unit_price": "12.99"})
    };
    let vase = serde_json::json!({"sku": "VASE-OPAL-S", "name": "Vase Opale (S)",
                                  "quantity": 1, "unit_price": "12.99"});
    let first = update("2026-11-24T07:58:40Z", serde_json::json!([mug(2)]));
    let middle = update("2026-11-24T08:01:00Z", serde_json::json!([mug(1)]));
    let latest = update("2026-11-24T08:02:30Z", serde_json::json!([mug(1), vase]));
    // The site's queue retried the middle update: it arrives after the latest.
    for event in [&first, &latest, &middle] {
        let events = web.handle_webhook(signed("web", event)).await.unwrap().events;
        store.ingest("web", &events).await.unwrap();
    }
    let cart = store.cart("c-77ab19e4").await.unwrap().expect("the cart");
    let skus: Vec<&str> =
        cart.items.as_array().unwrap().iter().map(|i| i["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["MUG-LUM-BLUE", "VASE-OPAL-S"], "{:?}", cart.items);
    assert_eq!(cart.items[0]["quantity"], 1);
    assert_eq!((cart.total_minor, cart.currency.as_deref()), (Some(2598), Some("EUR")));
    let latest_at = chrono::DateTime::parse_from_rfc3339("2026-11-24T08:02:30Z").unwrap();
    assert_eq!(cart.updated_at, latest_at.timestamp_millis(), "when it last changed");
}
