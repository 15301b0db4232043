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
        [Identifier::External { namespace: "web:visitor".into(), value: "v-8f3a2c91".into() }]
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
    assert!(order.contact.identifiers.contains(&Identifier::External {
        namespace: "loyalty:card".into(),
        value: "LC-0042-7781".into()
    }));
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
