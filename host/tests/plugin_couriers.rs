//! The bundled courier connectors, AfterShip and EasyPost, on their fixtures: signatures,
//! shipment events, and shipments linked to their order by order number or tracking number.

mod common;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use switchboard::model::{Event, HttpRequest, Identifier, Shipment, ShipmentStatus};
use switchboard::runtime::LoadedConnector;
use switchboard::store::OrderQuery;
use switchboard_test_artifacts as artifacts;

const AFTERSHIP_SECRET: &str = "fixture-aftership-secret";

async fn aftership() -> LoadedConnector {
    common::plugin(artifacts::AFTERSHIP, "aftership", &[("webhook_secret", AFTERSHIP_SECRET)], &[])
        .await
}

async fn easypost() -> LoadedConnector {
    easypost_with_secret("fixture-easypost-secret").await
}

async fn easypost_with_secret(secret: &str) -> LoadedConnector {
    common::plugin(artifacts::EASYPOST, "easypost", &[("webhook_secret", secret)], &[]).await
}

fn hmac_sha256(key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// A webhook POST of `body` to connector `plugin` with the one signature header given.
fn signed(plugin: &str, header: (&str, String), body: &Value) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: format!("https://crm.example.com/hooks/{plugin}"),
        route: "/".into(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (header.0.into(), header.1),
        ],
        body: body.to_string().into_bytes(),
        received_at: switchboard::store::now_millis(),
    }
}

/// An EasyPost event as EasyPost posts it, signed with `key`: `X-Hmac-Signature:
/// hmac-sha256-hex=<hex HMAC-SHA256 of the raw body>`.
fn easypost_event(key: &str, description: &str, result: Value) -> HttpRequest {
    let body = json!({
        "object": "Event",
        "id": "evt_5c1f7e0a8b3d11efa6b1d7c2",
        "mode": "production",
        "description": description,
        "previous_attributes": {},
        "created_at": "2026-11-27T10:02:00Z",
        "updated_at": "2026-11-27T10:02:00Z",
        "pending_urls": [],
        "completed_urls": [],
        "result": result
    });
    let signature = hex::encode(hmac_sha256(key.as_bytes(), body.to_string().as_bytes()));
    signed("easypost", ("X-Hmac-Signature", format!("hmac-sha256-hex={signature}")), &body)
}

/// An EasyPost Tracker in `status`.
fn tracker(status: &str) -> Value {
    json!({
        "object": "Tracker",
        "id": "trk_3f9a1c7d2e5b4a6c8d0e1f2a3b4c5d6e",
        "mode": "production",
        "tracking_code": "6A98765432109",
        "status": status,
        "status_detail": "unknown",
        "created_at": "2026-11-25T09:01:00Z",
        "updated_at": "2026-11-27T10:00:00Z",
        "signed_by": null,
        "weight": null,
        "est_delivery_date": "2026-11-30T00:00:00Z",
        "shipment_id": null,
        "carrier": "DHLExpress",
        "tracking_details": [{
            "object": "TrackingDetail",
            "message": "Customs status updated",
            "description": "",
            "status": status,
            "status_detail": "unknown",
            "datetime": "2026-11-27T09:58:00Z",
            "source": "DHLExpress",
            "tracking_location": {"object": "TrackingLocation", "city": "LEIPZIG", "state": null, "country": "DE", "zip": null}
        }],
        "carrier_detail": null,
        "public_url": "https://track.easypost.com/djE6dHJrXzNmOWExYzdkMmU1YjRhNmM4ZDBlMWYyYTNiNGM1ZDZl",
        "fees": []
    })
}

/// An AfterShip `tracking_update` of the tracking `msg`, signed like AfterShip signs it
/// (`aftership-hmac-sha256`: base64 HMAC-SHA256 of the raw body).
fn aftership_update(msg: Value) -> HttpRequest {
    let body = json!({
        "event": "tracking_update",
        "event_id": "0b5c3a57-8d6e-4f1a-9c2b-7e4d1f0a9b3c",
        "is_tracking_first_tag": false,
        "msg": msg,
        "ts": 1795770000
    });
    let signature = base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256(AFTERSHIP_SECRET.as_bytes(), body.to_string().as_bytes()));
    signed("aftership", ("aftership-hmac-sha256", signature), &body)
}

async fn one_shipment(connector: &LoadedConnector, request: HttpRequest) -> Shipment {
    match connector.handle_webhook(request).await.unwrap().events.as_slice() {
        [Event::Shipment(s)] => s.clone(),
        other => panic!("{other:?}"),
    }
}

async fn shipment(connector: &LoadedConnector, plugin: &str, name: &str) -> Shipment {
    match connector.handle_webhook(common::fixture(plugin, name)).await.unwrap().events.as_slice() {
        [Event::Shipment(s)] => s.clone(),
        other => panic!("{plugin}/{name}: {other:?}"),
    }
}

fn attr<'a>(s: &'a Shipment, key: &str) -> Option<&'a str> {
    s.attributes.iter().find(|a| a.key == key).map(|a| a.value.as_str())
}

#[tokio::test]
async fn aftership_tracking_updates() {
    let connector = aftership().await;
    let moving = shipment(&connector, "aftership", "in-transit.http").await;
    assert_eq!(
        (moving.carrier.as_str(), moving.tracking_number.as_str()),
        ("colissimo", "6A12345678901")
    );
    assert_eq!(moving.status, ShipmentStatus::InTransit);
    assert_eq!(moving.order_provider_id.as_deref(), Some("#1001"));
    assert_eq!(moving.eta, Some(1_795_737_600_000));
    let delivered = shipment(&connector, "aftership", "delivered.http").await;
    assert_eq!(delivered.provider_id, moving.provider_id, "updates amend the same shipment");
    assert_eq!(delivered.status, ShipmentStatus::Delivered);
    assert_eq!(delivered.occurred_at, 1_795_684_500_000);
    assert_eq!(attr(&delivered, "checkpoint_location"), Some("Lyon, FR"));
    assert_eq!(attr(&delivered, "checkpoint_message"), Some("Votre colis est livré"));
    let ids = &delivered.contact.as_ref().unwrap().identifiers;
    assert_eq!(ids.len(), 2, "{ids:?}");
    for (name, expected) in
        [("wrong-signature.http", "unauthorized"), ("malformed.http", "bad_request")]
    {
        let error = connector.handle_webhook(common::fixture("aftership", name)).await.unwrap_err();
        assert_eq!(common::kind(&error), expected, "{name}");
    }
}

#[tokio::test]
async fn easypost_tracker_updated() {
    let connector = easypost().await;
    let parcel = shipment(&connector, "easypost", "tracker-updated.http").await;
    assert_eq!(parcel.provider_id, "trk_c8e0edb5bb284caa934a0d3db23a148z");
    assert_eq!((parcel.carrier.as_str(), parcel.status), ("ColisPrive", ShipmentStatus::Delivered));
    assert_eq!(parcel.occurred_at, 1_795_684_500_000);
    assert_eq!(attr(&parcel, "checkpoint_location"), Some("LYON, FR"));
    assert_eq!(parcel.order_provider_id, None);
    let error = connector
        .handle_webhook(common::fixture("easypost", "wrong-signature.http"))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&error), "unauthorized");
}

#[tokio::test]
async fn shipments_join_their_order_by_number_or_tracking_number() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    // The order, as a shop connector reports it.
    let order = switchboard::model::Order {
        provider_id: "820982911946154508".into(),
        contact: switchboard::model::Contact {
            identifiers: vec![
                switchboard::model::Identifier::email("ann.lee@example.com").declared(),
            ],
            display_name: Some("Ann Lee".into()),
            given_name: None,
            family_name: None,
            locale: None,
            attributes: vec![],
        },
        number: Some("#1001".into()),
        status: switchboard::model::OrderStatus::Paid,
        lines: vec![],
        total: switchboard::model::Money { amount_minor: 2598, currency: "EUR".into() },
        placed_at: 1_795_500_000_000,
        updated_at: 1_795_500_000_000,
        delivery_address: None,
        billing_address: None,
        attributes: vec![],
    };
    // EasyPost reports the parcel first: it knows no order yet.
    let easy = easypost()
        .await
        .handle_webhook(common::fixture("easypost", "tracker-updated.http"))
        .await
        .unwrap();
    assert_eq!(store.ingest("easypost", &easy.events).await.unwrap().events[0].0, None);
    store.ingest("shop", &[Event::Order(order)]).await.unwrap();
    // AfterShip names the order number: it links, and so does EasyPost's report of the same parcel.
    let after = aftership()
        .await
        .handle_webhook(common::fixture("aftership", "delivered.http"))
        .await
        .unwrap();
    let customer = store.ingest("aftership", &after.events).await.unwrap().events[0].0.unwrap();
    let timeline = store.timeline(customer, None, 50).await.unwrap();
    let mut kinds: Vec<_> =
        timeline.entries.iter().map(|e| (e.kind.as_str(), e.connector.as_str())).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [("order", "shop"), ("shipment", "aftership"), ("shipment", "easypost")],
        "{timeline:?}"
    );
    let delivered = timeline.entries.iter().find(|e| e.connector == "easypost").unwrap();
    assert_eq!(delivered.data["status"], "delivered");
    assert!(delivered.data["order_id"].as_i64().is_some());
}

#[tokio::test]
async fn easypost_verifies_with_the_nfkd_normalized_secret() {
    // The secret as pasted from the dashboard, with the `ﬁ` ligature (U+FB01); EasyPost's
    // libraries sign with its NFKD form, `fixture-secret`.
    let connector = easypost_with_secret("\u{FB01}xture-secret").await;
    let request = easypost_event("fixture-secret", "tracker.updated", tracker("in_transit"));
    let parcel = one_shipment(&connector, request).await;
    assert_eq!(parcel.provider_id, "trk_3f9a1c7d2e5b4a6c8d0e1f2a3b4c5d6e");
    assert_eq!(parcel.status, ShipmentStatus::InTransit);
    // Another key is still refused.
    let forged = easypost_event("fixture-secre", "tracker.updated", tracker("in_transit"));
    let error = connector.handle_webhook(forged).await.unwrap_err();
    assert_eq!(common::kind(&error), "unauthorized", "{error}");
}

#[tokio::test]
async fn easypost_acknowledges_events_other_than_trackers() {
    let connector = easypost_with_secret("fixture-secret").await;
    // A Batch, as `batch.updated` carries it.
    let batch = json!({
        "id": "batch_9e1b2c3d4f5a6b7c8d9e0f1a2b3c4d5e",
        "object": "Batch",
        "mode": "production",
        "state": "purchased",
        "num_shipments": 2,
        "reference": "2026-11-27 afternoon",
        "created_at": "2026-11-27T09:40:00Z",
        "updated_at": "2026-11-27T10:01:58Z",
        "scan_form": null,
        "shipments": [
            {"batch_status": "postage_purchased", "batch_message": null, "reference": "#1001", "tracking_code": "6A12345678901", "id": "shp_1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"},
            {"batch_status": "postage_purchased", "batch_message": null, "reference": "#1002", "tracking_code": "6A12345678902", "id": "shp_6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a"}
        ],
        "status": {"created": 0, "queued_for_purchase": 0, "creation_failed": 0, "postage_purchased": 2, "postage_purchase_failed": 0},
        "pickup": null,
        "label_url": null
    });
    let outcome =
        connector.handle_webhook(easypost_event("fixture-secret", "batch.updated", batch)).await;
    let outcome = outcome.unwrap();
    assert_eq!((outcome.response.status, outcome.events.len()), (200, 0));
}

#[tokio::test]
async fn easypost_keeps_a_status_it_does_not_know() {
    let connector = easypost_with_secret("fixture-secret").await;
    let request = easypost_event("fixture-secret", "tracker.updated", tracker("in_customs"));
    let parcel = one_shipment(&connector, request).await;
    assert_eq!(parcel.status, ShipmentStatus::InTransit);
    assert_eq!(attr(&parcel, "carrier_status"), Some("in_customs"));
    assert_eq!(parcel.tracking_number, "6A98765432109");
    // A documented status is not marked.
    let request = easypost_event("fixture-secret", "tracker.updated", tracker("out_for_delivery"));
    let parcel = one_shipment(&connector, request).await;
    assert_eq!(parcel.status, ShipmentStatus::OutForDelivery);
    assert_eq!(attr(&parcel, "carrier_status"), None);
}

/// A tracking as AfterShip's 2025-01 API sends it, with `tag` and the given latest checkpoint.
fn tracking_2025(tag: &str, checkpoint_time: &str, updated_at: &str) -> Value {
    json!({
        "id": "9f2c4e6a8b0d4f1a3c5e7a9b",
        "tracking_number": "6A55512345678",
        "slug": "colissimo",
        "active": true,
        "tag": tag,
        "subtag": format!("{tag}_001"),
        "subtag_message": tag,
        "title": "Order #1002",
        "order_id": "#1002",
        "order_number": "1002",
        "customers": [{
            "role": "buyer",
            "name": "Ben Martin",
            "phone_number": "+33698765432",
            "email": "ben.martin@example.com",
            "language": "fr"
        }],
        "latest_estimated_delivery": {
            "type": "specific",
            "source": "Carrier provided EDD",
            "datetime": "2026-11-27T18:00:00+01:00",
            "datetime_min": null,
            "datetime_max": null
        },
        "origin_country_region": "FRA",
        "destination_country_region": "FRA",
        "shipment_type": "Colissimo Expert",
        "updated_at": updated_at,
        "checkpoints": [{
            "slug": "colissimo",
            "city": "Lyon",
            "created_at": "2026-11-26T09:20:00+00:00",
            "location": "Lyon, FR",
            "country_region": "FRA",
            "country_region_name": "France",
            "message": "Votre colis est en cours d'acheminement",
            "tag": tag,
            "subtag": format!("{tag}_001"),
            "checkpoint_time": checkpoint_time,
            "coordinate": {"latitude": null, "longitude": null},
            "state": null,
            "zip": "69002"
        }]
    })
}

#[tokio::test]
async fn aftership_reads_the_2025_01_field_names() {
    let connector = aftership().await;
    let request = aftership_update(tracking_2025(
        "InTransit",
        "2026-11-26T10:20:00+01:00",
        "2026-11-26T10:20:00+01:00",
    ));
    let parcel = one_shipment(&connector, request).await;
    assert_eq!(parcel.order_provider_id.as_deref(), Some("#1002"));
    // `latest_estimated_delivery.datetime`: 18:00 in Paris.
    assert_eq!(parcel.eta, Some(1_795_798_800_000));
    let contact = parcel.contact.as_ref().expect("the buyer, from `customers`");
    assert_eq!(contact.display_name.as_deref(), Some("Ben Martin"));
    assert!(
        contact.identifiers.contains(&Identifier::email("ben.martin@example.com").declared()),
        "{contact:?}"
    );
    assert!(
        contact.identifiers.contains(&Identifier::phone("+33698765432").declared()),
        "{contact:?}"
    );
}

#[tokio::test]
async fn aftership_names_the_buyer_never_the_receiver_of_a_gift() {
    let connector = aftership().await;
    let mut msg =
        tracking_2025("InTransit", "2026-11-26T10:20:00+01:00", "2026-11-26T10:20:00+01:00");
    msg["customers"] = json!([
        {"role": "receiver", "name": "Chloé Petit", "phone_number": "+33611112222",
         "email": "chloe@example.com", "language": "fr"},
        {"role": "buyer", "name": "Ben Martin", "phone_number": "+33698765432",
         "email": "ben.martin@example.com", "language": "fr"}
    ]);
    let parcel = one_shipment(&connector, aftership_update(msg.clone())).await;
    let contact = parcel.contact.as_ref().unwrap();
    assert_eq!(contact.display_name.as_deref(), Some("Ben Martin"));
    assert_eq!(
        contact.identifiers,
        [
            Identifier::email("ben.martin@example.com").declared(),
            Identifier::phone("+33698765432").declared()
        ]
    );
    // A receiver alone names nobody the shop sold to.
    msg["customers"] =
        json!([{"role": "receiver", "name": "Chloé Petit", "phone_number": "+33611112222"}]);
    let parcel = one_shipment(&connector, aftership_update(msg.clone())).await;
    assert!(parcel.contact.is_none(), "{:?}", parcel.contact);
    // The older fields: two notification addresses and numbers may be two people; only the
    // first address is taken.
    msg["customers"] = Value::Null;
    msg["emails"] = json!(["ben.martin@example.com", "chloe@example.com"]);
    msg["smses"] = json!(["+33698765432", "+33611112222"]);
    let parcel = one_shipment(&connector, aftership_update(msg)).await;
    assert_eq!(
        parcel.contact.unwrap().identifiers,
        [Identifier::email("ben.martin@example.com").declared()]
    );
}

#[tokio::test]
async fn aftership_keeps_a_tag_it_does_not_know() {
    let connector = aftership().await;
    // Not one of the tags AfterShip documents today.
    let request = aftership_update(tracking_2025(
        "CustomsHold",
        "2026-11-26T10:20:00+01:00",
        "2026-11-26T10:20:00+01:00",
    ));
    let parcel = one_shipment(&connector, request).await;
    assert_eq!(parcel.status, ShipmentStatus::InTransit);
    assert_eq!(attr(&parcel, "aftership_tag"), Some("CustomsHold"));
}

#[tokio::test]
async fn aftership_orders_by_updated_at_and_keeps_the_checkpoint_time() {
    let connector = aftership().await;
    // The checkpoint's time is local to Lyon and has no offset; `updated_at` has one.
    let request = aftership_update(tracking_2025(
        "InTransit",
        "2026-11-26T10:20:00",
        "2026-11-26T09:20:31+00:00",
    ));
    let parcel = one_shipment(&connector, request).await;
    assert_eq!(parcel.occurred_at, 1_795_684_831_000, "2026-11-26T09:20:31Z");
    assert_eq!(attr(&parcel, "checkpoint_time"), Some("2026-11-26T10:20:00"));
}

#[tokio::test]
async fn a_parcel_reported_before_its_order_joins_it_when_the_order_arrives() {
    let db = common::sqlite();
    let store = common::open(&db).await;
    // EasyPost first: it knows no order.
    let easy = easypost()
        .await
        .handle_webhook(common::fixture("easypost", "tracker-updated.http"))
        .await
        .unwrap();
    assert_eq!(store.ingest("easypost", &easy.events).await.unwrap().events[0].0, None);
    // AfterShip names the order `#1001`, which is not known yet.
    let after = aftership()
        .await
        .handle_webhook(common::fixture("aftership", "in-transit.http"))
        .await
        .unwrap();
    let buyer = store.ingest("aftership", &after.events).await.unwrap().events[0].0.unwrap();
    let early = store.timeline(buyer, None, 50).await.unwrap();
    let unlinked: Vec<_> =
        early.entries.iter().map(|e| (e.connector.as_str(), &e.data["order_id"])).collect();
    assert_eq!(unlinked, [("aftership", &Value::Null)], "no order yet: {early:?}");
    // The Shopify order last.
    let shopify = common::plugin(
        artifacts::SHOPIFY,
        "shopify",
        &[
            ("client_secret", "fixture-shopify-client-secret"),
            ("shop_domain", "atelier-lumiere.myshopify.com"),
        ],
        &[],
    )
    .await;
    let order = shopify.handle_webhook(common::fixture("shopify", "orders-create.http")).await;
    let order = order.unwrap();
    let customer = store.ingest("shopify", &order.events).await.unwrap().events[0].0.unwrap();
    let customer = store.live_customer(customer).await.unwrap();
    let orders = store
        .orders(&OrderQuery { customer: Some(customer), ..OrderQuery::default() })
        .await
        .unwrap();
    let [order] = orders.as_slice() else { panic!("{orders:?}") };
    assert_eq!(order.number.as_deref(), Some("#1001"));
    let timeline = store.timeline(customer, None, 50).await.unwrap();
    let mut shipments: Vec<(&str, &Value)> = timeline
        .entries
        .iter()
        .filter(|e| e.kind == "shipment")
        .map(|e| (e.connector.as_str(), &e.data["order_id"]))
        .collect();
    shipments.sort_by_key(|(connector, _)| *connector);
    assert_eq!(
        shipments,
        [("aftership", &json!(order.id)), ("easypost", &json!(order.id))],
        "{timeline:?}"
    );
}
