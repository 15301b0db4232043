//! The bundled Stripe connector: `Stripe-Signature` with its tolerance, the three payment
//! events, and payments attached to the shop's order (before or after it arrives) without
//! becoming a second order.

mod common;

use hmac::{Hmac, Mac};
use switchboard::model::{Event, HttpRequest, Identifier, Payment, PaymentStatus};
use switchboard::runtime::LoadedConnector;
use switchboard_test_artifacts as artifacts;

const SECRET: &str = "whsec_fixture0stripe0signing0secret";

async fn stripe(tolerance: Option<&str>) -> LoadedConnector {
    let mut config = vec![("webhook_secret", SECRET)];
    if let Some(tolerance) = tolerance {
        config.push(("tolerance_secs", tolerance));
    }
    common::plugin(artifacts::STRIPE, "stripe", &config, &[]).await
}

/// The fixtures were signed when they were recorded; these tests accept any age unless they
/// test the tolerance.
async fn lenient() -> LoadedConnector {
    stripe(Some("2000000000")).await
}

async fn payment(connector: &LoadedConnector, name: &str) -> Payment {
    match connector.handle_webhook(common::fixture("stripe", name)).await.unwrap().events.as_slice()
    {
        [Event::Payment(p)] => p.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

/// `request` re-signed at `t` with `v1` signatures under each of `secrets`.
fn signed_at(mut request: HttpRequest, t: i64, secrets: &[&str]) -> HttpRequest {
    let mut header = format!("t={t}");
    for secret in secrets {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(&request.body);
        header.push_str(&format!(",v1={}", hex::encode(mac.finalize().into_bytes())));
    }
    request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("stripe-signature"));
    request.headers.push(("Stripe-Signature".into(), header));
    request
}

fn now() -> i64 {
    switchboard::store::now_millis() / 1000
}

#[tokio::test]
async fn payment_events_become_payments_of_one_payment_intent() {
    let connector = lenient().await;
    let paid = payment(&connector, "payment-intent-succeeded.http").await;
    assert_eq!(paid.provider_id, "pi_3SXc9hLkdIwHu7ix0Ann1001");
    assert_eq!(paid.order_ref.as_deref(), Some("#1001"));
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    assert_eq!((paid.amount.amount_minor, paid.amount.currency.as_str()), (2598, "EUR"));
    assert_eq!(paid.refunded_minor, 0);
    assert_eq!(paid.occurred_at, 1_795_511_712_000);
    assert!(
        paid.contact.identifiers.contains(&Identifier::email("ann.lee@example.com").declared())
    );
    assert!(
        paid.contact
            .identifiers
            .contains(&Identifier::external("stripe:customer", "cus_TAnnLee0Stripe").verified())
    );
    assert!(
        !paid.attributes.iter().any(|a| a.key.starts_with("switchboard.")),
        "the v0.1.0 convention stays in the bindings: {:?}",
        paid.attributes
    );

    let refund = payment(&connector, "charge-refunded.http").await;
    assert_eq!(refund.provider_id, paid.provider_id, "the refund amends the payment");
    assert_eq!(refund.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(refund.refunded_minor, 1299);
    assert!(refund.attributes.iter().any(|a| a.key == "card_last4" && a.value == "4242"));

    let checkout = payment(&connector, "checkout-session-completed.http").await;
    assert_eq!(checkout.provider_id, "pi_3SXdBobLkdIwHu7ix0Bob1002");
    assert_eq!(checkout.order_ref.as_deref(), Some("#1002"), "client_reference_id");
    assert_eq!(checkout.amount.amount_minor, 4200);
    assert_eq!(checkout.contact.display_name.as_deref(), Some("Bob Martin"));
}

#[tokio::test]
async fn signatures_and_their_age_are_checked() {
    for (name, kind) in [
        ("payment-intent-wrong-signature.http", "unauthorized"),
        ("payment-intent-malformed.http", "bad_request"),
    ] {
        let error =
            lenient().await.handle_webhook(common::fixture("stripe", name)).await.unwrap_err();
        assert_eq!(common::kind(&error), kind, "{name}: {error}");
    }
    let strict = stripe(None).await;
    // Recorded a day ago: outside the default 300 s.
    let error = strict
        .handle_webhook(common::fixture("stripe", "payment-intent-succeeded.http"))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&error), "unauthorized");
    assert!(error.to_string().contains("300 s tolerance"), "{error}");
    let fixture = common::fixture("stripe", "payment-intent-succeeded.http");
    // Fresh, with the current secret among rolled ones: accepted.
    let fresh = signed_at(fixture.clone(), now() - 10, &["whsec_old_secret", SECRET]);
    assert_eq!(strict.handle_webhook(fresh).await.unwrap().events.len(), 1);
    // Five minutes and a bit old, or no matching signature: refused.
    for request in [
        signed_at(fixture.clone(), now() - 301, &[SECRET]),
        signed_at(fixture.clone(), now(), &["whsec_old_secret"]),
        signed_at(fixture.clone(), now(), &[]),
    ] {
        let error = strict.handle_webhook(request).await.unwrap_err();
        assert_eq!(common::kind(&error), "unauthorized", "{error}");
    }
    // The tolerance is the operator's to widen.
    let wide = stripe(Some("600")).await;
    assert!(wide.handle_webhook(signed_at(fixture, now() - 301, &[SECRET])).await.is_ok());
}

#[tokio::test]
async fn payments_attach_to_the_shop_order_and_are_not_orders() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let stripe = lenient().await;
    // The payment arrives first: kept on its payer, waiting for its order.
    let paid = stripe
        .handle_webhook(common::fixture("stripe", "payment-intent-succeeded.http"))
        .await
        .unwrap();
    let customer = store.ingest("stripe", &paid.events).await.unwrap().events[0].0.unwrap();
    let shopify = common::plugin(
        artifacts::SHOPIFY,
        "shopify",
        &[("client_secret", "fixture-shopify-client-secret")],
        &[],
    )
    .await;
    let order =
        shopify.handle_webhook(common::fixture("shopify", "orders-create.http")).await.unwrap();
    assert_eq!(store.ingest("shopify", &order.events).await.unwrap().events[0].0, Some(customer));
    let refund =
        stripe.handle_webhook(common::fixture("stripe", "charge-refunded.http")).await.unwrap();
    store.ingest("stripe", &refund.events).await.unwrap();

    let orders = store
        .orders(&switchboard::store::OrderQuery { customer: Some(customer), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(orders.len(), 1, "a payment is not a second order: {orders:?}");
    assert_eq!(orders[0].payments.len(), 1, "{orders:?}");
    let p = &orders[0].payments[0];
    assert_eq!(
        (p["status"].as_str(), p["refunded_minor"].as_i64()),
        (Some("partially_refunded"), Some(1299))
    );
    let timeline = store.timeline(customer, None, 50).await.unwrap();
    let mut kinds: Vec<&str> = timeline.entries.iter().map(|e| e.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["order", "payment"]);
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.customers, 1);
    assert_eq!((stats.connectors["stripe"].orders, stats.connectors["stripe"].payments), (0, 1));
    assert_eq!(stats.connectors["shopify"].orders, 1);
}

/// The body of a recorded event.
fn body(name: &str) -> serde_json::Value {
    serde_json::from_slice(&common::fixture("stripe", name).body).unwrap()
}

/// `event` as Stripe sends it now, signed with the endpoint's secret.
fn fresh(event: &serde_json::Value) -> HttpRequest {
    let mut request = common::fixture("stripe", "payment-intent-succeeded.http");
    request.body = serde_json::to_vec(event).unwrap();
    signed_at(request, now(), &[SECRET])
}

#[tokio::test]
async fn a_guest_checkouts_payment_intent_is_left_to_its_session() {
    let connector = stripe(None).await;
    // Checkout in payment mode without a Customer: the PaymentIntent it creates names no
    // customer, no receipt e-mail and carries none of the shop's metadata.
    let mut event = body("payment-intent-succeeded.http");
    let intent = &mut event["data"]["object"];
    intent["customer"] = serde_json::Value::Null;
    intent["receipt_email"] = serde_json::Value::Null;
    intent["description"] = serde_json::Value::Null;
    intent["metadata"] = serde_json::json!({});
    let outcome = connector.handle_webhook(fresh(&event)).await.unwrap();
    assert_eq!(outcome.response.status, 200);
    assert!(outcome.events.is_empty(), "{:?}", outcome.events);
}

#[tokio::test]
async fn a_delayed_checkout_payment_is_reported_when_it_succeeds() {
    let connector = stripe(None).await;
    // SEPA Direct Debit: the session completes unpaid, and is paid days later.
    let mut completed = body("checkout-session-completed.http");
    completed["data"]["object"]["payment_status"] = serde_json::json!("unpaid");
    completed["data"]["object"]["payment_method_types"] = serde_json::json!(["sepa_debit"]);
    let outcome = connector.handle_webhook(fresh(&completed)).await.unwrap();
    assert!(outcome.events.is_empty(), "not paid yet: {:?}", outcome.events);

    let mut succeeded = completed.clone();
    succeeded["id"] = serde_json::json!("evt_1SXdBobLkdIwHu7ixAs1002");
    succeeded["type"] = serde_json::json!("checkout.session.async_payment_succeeded");
    succeeded["created"] = serde_json::json!(1_795_774_203);
    succeeded["data"]["object"]["payment_status"] = serde_json::json!("paid");
    let outcome = connector.handle_webhook(fresh(&succeeded)).await.unwrap();
    let [Event::Payment(paid)] = outcome.events.as_slice() else { panic!("{:?}", outcome.events) };
    assert_eq!(paid.provider_id, "pi_3SXdBobLkdIwHu7ix0Bob1002", "the session's PaymentIntent");
    assert_eq!(paid.order_ref.as_deref(), Some("#1002"));
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    assert_eq!((paid.amount.amount_minor, paid.amount.currency.as_str()), (4200, "EUR"));
    assert_eq!(paid.occurred_at, 1_795_774_203_000);
    assert!(
        paid.contact.identifiers.contains(&Identifier::email("bob.martin@example.com").declared())
    );
    assert!(paid.attributes.iter().any(|a| a.key == "payment_method" && a.value == "sepa_debit"));
}

#[tokio::test]
async fn a_payment_naming_only_its_order_waits_for_it_and_becomes_its_buyers() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    let stripe = stripe(None).await;
    // A refund of a guest payment: no customer, no e-mail, only the shop's order number.
    let mut refunded = body("charge-refunded.http");
    let charge = &mut refunded["data"]["object"];
    charge["customer"] = serde_json::Value::Null;
    charge["receipt_email"] = serde_json::Value::Null;
    charge["billing_details"] = serde_json::json!({
        "address": {"city": null, "country": null, "line1": null, "line2": null,
                    "postal_code": null, "state": null},
        "email": null, "name": null, "phone": null
    });
    let outcome = stripe.handle_webhook(fresh(&refunded)).await.unwrap();
    let [Event::Payment(p)] = outcome.events.as_slice() else { panic!("{:?}", outcome.events) };
    assert!(p.contact.identifiers.is_empty());
    assert_eq!(p.order_ref.as_deref(), Some("#1001"));
    // Kept, on no one yet: the order is not there.
    let report = store.ingest("stripe", &outcome.events).await.unwrap();
    assert_eq!(report.events[0].0, None, "{report:?}");
    assert_eq!(store.stats().await.unwrap().customers, 0);

    // The Shopify order arrives: the payment is its, and its buyer's.
    let shopify = common::plugin(
        artifacts::SHOPIFY,
        "shopify",
        &[("client_secret", "fixture-shopify-client-secret")],
        &[],
    )
    .await;
    let order =
        shopify.handle_webhook(common::fixture("shopify", "orders-create.http")).await.unwrap();
    let ann = store.ingest("shopify", &order.events).await.unwrap().events[0].0.unwrap();
    let query = switchboard::store::OrderQuery { customer: Some(ann), ..Default::default() };
    let orders = store.orders(&query).await.unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].customer_id, ann);
    let [p] = orders[0].payments.as_slice() else { panic!("{orders:?}") };
    assert_eq!(p["provider_id"], "pi_3SXc9hLkdIwHu7ix0Ann1001");
    assert_eq!(
        (p["status"].as_str(), p["refunded_minor"].as_i64()),
        (Some("partially_refunded"), Some(1299))
    );
    assert_eq!(p["order_id"].as_i64(), Some(orders[0].id));
    let timeline = store.timeline(ann, None, 50).await.unwrap();
    assert!(timeline.entries.iter().any(|e| e.kind == "payment"), "{:?}", timeline.entries);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.customers, stats.connectors["stripe"].payments), (1, 1));

    // The rest refunded later, by an event that names the payer but not the order: the
    // payment keeps its order.
    let mut rest = body("charge-refunded.http");
    rest["id"] = serde_json::json!("evt_3SXc9hLkdIwHu7ix0Rf1002");
    rest["created"] = serde_json::json!(1_795_603_600);
    rest["data"]["object"]["amount_refunded"] = serde_json::json!(2598);
    rest["data"]["object"]["refunded"] = serde_json::json!(true);
    rest["data"]["object"]["metadata"] = serde_json::json!({});
    let outcome = stripe.handle_webhook(fresh(&rest)).await.unwrap();
    let [Event::Payment(p)] = outcome.events.as_slice() else { panic!("{:?}", outcome.events) };
    assert_eq!(p.order_ref, None);
    assert_eq!(store.ingest("stripe", &outcome.events).await.unwrap().events[0].0, Some(ann));
    let orders = store.orders(&query).await.unwrap();
    let [p] = orders[0].payments.as_slice() else { panic!("{orders:?}") };
    assert_eq!(
        (p["status"].as_str(), p["refunded_minor"].as_i64()),
        (Some("refunded"), Some(2598))
    );
    assert_eq!(
        (p["order_ref"].as_str(), p["order_id"].as_i64()),
        (Some("#1001"), Some(orders[0].id))
    );
    assert_eq!(store.stats().await.unwrap().customers, 1);
}
