//! The bundled courier connectors, AfterShip and EasyPost, on their fixtures: signatures,
//! shipment events, and shipments linked to their order by order number or tracking number.

mod common;

use switchboard::model::{Event, Shipment, ShipmentStatus};
use switchboard::runtime::LoadedConnector;
use switchboard_test_artifacts as artifacts;

async fn aftership() -> LoadedConnector {
    common::plugin(
        artifacts::AFTERSHIP,
        "aftership",
        &[("webhook_secret", "fixture-aftership-secret")],
        &[],
    )
    .await
}

async fn easypost() -> LoadedConnector {
    common::plugin(
        artifacts::EASYPOST,
        "easypost",
        &[("webhook_secret", "fixture-easypost-secret")],
        &[],
    )
    .await
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
            identifiers: vec![switchboard::model::Identifier::Email {
                value: "ann.lee@example.com".into(),
            }],
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
