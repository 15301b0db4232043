//! The customer store and identity resolution, on SQLite and (when configured) PostgreSQL.

mod common;

use std::collections::BTreeMap;

use sqlx::{Column, Row};
use switchboard::model::*;
use switchboard::runtime::{KvStore, KvWrites};
use switchboard::store::{
    CustomerQuery, Ingested, OrderQuery, Store, StoreError, TimelineFilter, TimelineKind,
};

use common::TestDb;

pub fn contact(ids: &[Identifier]) -> Contact {
    Contact {
        identifiers: ids.iter().cloned().map(Into::into).collect(),
        display_name: None,
        given_name: None,
        family_name: None,
        locale: None,
        attributes: vec![],
    }
}

pub fn email(v: &str) -> Identifier {
    Identifier::Email { value: v.into() }
}

pub fn phone(v: &str) -> Identifier {
    Identifier::Phone { value: v.into() }
}

pub fn external(ns: &str, v: &str) -> Identifier {
    Identifier::External { namespace: ns.into(), value: v.into() }
}

pub fn message(id: &str, who: Contact, at: i64) -> Event {
    Event::Interaction(Interaction {
        provider_id: id.into(),
        kind: InteractionKind::Message,
        direction: Direction::Inbound,
        contact: who,
        channel: "email".into(),
        thread_id: None,
        subject: Some(format!("subject {id}")),
        text: Some(format!("text {id}")),
        occurred_at: at,
        status: None,
        attachments: vec![],
        attributes: vec![],
    })
}

fn order(
    id: &str,
    number: &str,
    who: Contact,
    status: OrderStatus,
    total: i64,
    currency: &str,
    at: i64,
) -> Event {
    Event::Order(Order {
        provider_id: id.into(),
        contact: who,
        number: Some(number.into()),
        status,
        lines: vec![OrderLine {
            sku: Some("MUG".into()),
            name: "Mug".into(),
            quantity: 2,
            unit_price: Money { amount_minor: total / 2, currency: currency.into() },
        }],
        total: Money { amount_minor: total, currency: currency.into() },
        placed_at: at,
        updated_at: at,
        delivery_address: None,
        billing_address: None,
        attributes: vec![],
    })
}

fn shipment(id: &str, order_ref: &str, status: ShipmentStatus, at: i64) -> Event {
    Event::Shipment(Shipment {
        provider_id: id.into(),
        order_provider_id: Some(order_ref.into()),
        contact: None,
        carrier: "colissimo".into(),
        tracking_number: format!("TRK-{id}"),
        status,
        eta: None,
        occurred_at: at,
        attributes: vec![],
    })
}

fn consent(id: &str, who: Contact, channel: &str, state: ConsentState, at: i64) -> Event {
    Event::Consent(Consent {
        provider_id: id.into(),
        contact: who,
        channel: channel.into(),
        state,
        occurred_at: at,
        reason: Some("replied STOP".into()),
    })
}

async fn customer_of(store: &Store, connector: &str, event: Event) -> i64 {
    let report = store.ingest(connector, &[event]).await.unwrap();
    report.events[0].0.expect("the event belongs to a customer")
}

async fn live_count(store: &Store) -> usize {
    store.find_customers(&CustomerQuery { limit: 500, ..Default::default() }).await.unwrap().len()
}

/// Every table but the merge ledger, rows sorted, as text: what an exact unmerge must restore.
async fn snapshot(db: &TestDb) -> BTreeMap<String, Vec<String>> {
    use sqlx::Connection;
    let mut conn = {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&db.url).await.unwrap()
    };
    let mut state = BTreeMap::new();
    for table in common::RECORD_TABLES {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let mut lines: Vec<String> = rows
            .iter()
            .map(|row| {
                (0..row.columns().len())
                    .map(|i| {
                        let name = row.column(i).name().to_string();
                        let value = row
                            .try_get::<Option<i64>, _>(i)
                            .map(|v| format!("{v:?}"))
                            .or_else(|_| {
                                row.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}"))
                            })
                            .unwrap_or_else(|_| "<blob>".into());
                        format!("{name}={value}")
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        lines.sort();
        state.insert(table.to_string(), lines);
    }
    state
}

async fn same_person_across_formats(store: Store, _: &TestDb) {
    let a =
        customer_of(&store, "twilio", message("m1", contact(&[phone("06 12 34 56 78")]), 1_000))
            .await;
    let b = customer_of(
        &store,
        "whatsapp",
        message("m2", contact(&[phone("+33 6 12 34 56 78")]), 2_000),
    )
    .await;
    let c = customer_of(
        &store,
        "email",
        message("m3", contact(&[email(" Ann.Lee@Example.COM ")]), 3_000),
    )
    .await;
    let d =
        customer_of(&store, "web", message("m4", contact(&[email("ann.lee@example.com")]), 4_000))
            .await;
    assert_eq!(a, b, "a French number in national and international form is one person");
    assert_eq!(c, d, "e-mail case and spaces do not matter");
    assert_ne!(a, c);
    let profile = store.profile(a).await.unwrap();
    let phones: Vec<_> =
        profile.contact_points.iter().map(|p| (p.kind.as_str(), p.value.as_str())).collect();
    assert_eq!(phones, [("phone", "+33612345678")]);
    assert_eq!(profile.contact_points[0].raw, "06 12 34 56 78");
    // An unparseable phone is kept as an attribute and never used to match.
    let e = customer_of(&store, "twilio", message("m5", contact(&[phone("call me maybe")]), 5_000))
        .await;
    let f = customer_of(&store, "twilio", message("m6", contact(&[phone("call me maybe")]), 6_000))
        .await;
    assert_ne!(e, f);
    // Kept on the profile, with why it does not link.
    let profile = store.profile(e).await.unwrap();
    let kept = profile.contact_points.iter().find(|p| p.raw == "call me maybe").expect("kept");
    assert_eq!((kept.kind.as_str(), kept.status.as_str()), ("phone", "invalid"), "{profile:?}");
    assert_eq!(kept.reason.as_deref(), Some("not a valid phone number"));
}
on_both_backends!(same_person_across_formats_, same_person_across_formats);

async fn a_shared_identifier_merges_into_the_oldest(store: Store, _: &TestDb) {
    let by_email =
        customer_of(&store, "email", message("m1", contact(&[email("ann@example.com")]), 1_000))
            .await;
    let by_phone =
        customer_of(&store, "twilio", message("m2", contact(&[phone("0612345678")]), 2_000)).await;
    assert_ne!(by_email, by_phone);
    let report = store
        .ingest(
            "shopify",
            &[order(
                "o1",
                "#1001",
                contact(&[email("ann@example.com"), phone("+33612345678")]),
                OrderStatus::Paid,
                2598,
                "EUR",
                3_000,
            )],
        )
        .await
        .unwrap();
    assert_eq!(report.events[0].0, Some(by_email), "the oldest customer survives");
    assert_eq!(report.merges.len(), 1);
    let entry = store.merge_entry(report.merges[0]).await.unwrap();
    assert_eq!(
        (entry.survivor_id, entry.absorbed_id, entry.actor.as_str()),
        (by_email, by_phone, "auto")
    );
    assert!(
        entry.reason.contains("phone +33612345678") && entry.reason.contains("shopify"),
        "{}",
        entry.reason
    );
    assert_eq!(store.live_customer(by_phone).await.unwrap(), by_email);
    assert!(matches!(store.profile(by_phone).await, Err(StoreError::CustomerNotFound(_))));
    let timeline = store.timeline(by_email, None, 50).await.unwrap();
    assert_eq!(timeline.entries.len(), 3);
    assert_eq!(live_count(&store).await, 1);
}
on_both_backends!(
    a_shared_identifier_merges_into_the_oldest_,
    a_shared_identifier_merges_into_the_oldest
);

async fn guardrails_keep_different_people_apart(store: Store, _: &TestDb) {
    // Two people with different e-mails give the same phone (a family, a shop's number).
    let ann = customer_of(
        &store,
        "email",
        message("m1", contact(&[email("ann@example.com"), phone("0612345678")]), 1_000),
    )
    .await;
    let bob = customer_of(
        &store,
        "email",
        message("m2", contact(&[email("bob@example.com"), phone("0612345678")]), 2_000),
    )
    .await;
    assert_ne!(ann, bob, "a phone alone never merges customers whose e-mails conflict");
    let explanation = store.explain(bob).await.unwrap();
    assert!(explanation.identifiers.iter().any(|i| i.value == "+33612345678"));
    // A message from that phone alone goes to the oldest customer that has it.
    assert_eq!(
        customer_of(&store, "twilio", message("m3", contact(&[phone("0612345678")]), 3_000)).await,
        ann
    );

    // Blocked values never match.
    let x = customer_of(
        &store,
        "web",
        message("m4", contact(&[email("test@example.com"), external("web:visitor", "v1")]), 4_000),
    )
    .await;
    let y = customer_of(
        &store,
        "web",
        message("m5", contact(&[email("TEST@example.com"), external("web:visitor", "v2")]), 5_000),
    )
    .await;
    assert_ne!(x, y);

    // A number shared by more customers than the limit (5 for phones) stops being used to merge.
    let switchboard = "01 23 45 67 89";
    let mut owners = Vec::new();
    for i in 0..6 {
        let who = contact(&[email(&format!("c{i}@example.com")), phone(switchboard)]);
        owners.push(customer_of(&store, "web", message(&format!("s{i}"), who, 10_000 + i)).await);
    }
    owners.sort();
    owners.dedup();
    assert_eq!(owners.len(), 6);
    let lone =
        customer_of(&store, "twilio", message("s-lone", contact(&[phone(switchboard)]), 20_000))
            .await;
    assert!(!owners.contains(&lone), "a saturated identifier matches nobody");
}
on_both_backends!(guardrails_keep_different_people_apart_, guardrails_keep_different_people_apart);

async fn writes_are_idempotent_and_orders_amend(store: Store, db: &TestDb) {
    let ann = contact(&[email("ann@example.com")]);
    let events = vec![
        message("m1", ann.clone(), 1_000),
        order("o1", "#1001", ann.clone(), OrderStatus::Pending, 2598, "EUR", 2_000),
        consent("k1", ann.clone(), "sms", ConsentState::OptOut, 3_000),
        Event::Contact(ContactUpdate {
            provider_id: "c1".into(),
            contact: ann.clone(),
            occurred_at: 500,
        }),
    ];
    let first = store.ingest("shopify", &events).await.unwrap();
    assert!(first.events.iter().all(|(_, i)| *i == Ingested::Created), "{first:?}");
    let before = snapshot(db).await;
    let again = store.ingest("shopify", &events).await.unwrap();
    assert!(again.events.iter().all(|(_, i)| *i == Ingested::Unchanged), "{again:?}");
    assert_eq!(snapshot(db).await, before, "a redelivery changes nothing");

    // The same provider id from another connector is another record.
    store.ingest("email", &events[..1]).await.unwrap();

    // A status update amends the order; an older state arriving late is ignored.
    let customer = first.events[0].0.unwrap();
    let paid = order("o1", "#1001", ann.clone(), OrderStatus::Paid, 2598, "EUR", 2_000);
    let Event::Order(mut paid) = paid else { unreachable!() };
    paid.updated_at = 5_000;
    assert_eq!(
        store.ingest("shopify", &[Event::Order(paid.clone())]).await.unwrap().events[0].1,
        Ingested::Updated
    );
    let stale = order("o1", "#1001", ann.clone(), OrderStatus::Pending, 2598, "EUR", 2_000);
    assert_eq!(store.ingest("shopify", &[stale]).await.unwrap().events[0].1, Ingested::Unchanged);
    let orders =
        store.orders(&OrderQuery { customer: Some(customer), ..Default::default() }).await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, "paid");
    assert_eq!(orders[0].lines.len(), 1);

    // A shipment for an order not seen yet is kept, then attached when the order arrives.
    let early = store
        .ingest("aftership", &[shipment("t1", "1002", ShipmentStatus::InTransit, 6_000)])
        .await
        .unwrap();
    assert_eq!(early.events[0].0, None);
    store
        .ingest(
            "shopify",
            &[order("o2", "#1002", ann.clone(), OrderStatus::Paid, 1000, "EUR", 5_500)],
        )
        .await
        .unwrap();
    let timeline = store.timeline(customer, None, 50).await.unwrap();
    let kinds: Vec<_> =
        timeline.entries.iter().map(|e| (e.kind.as_str(), e.connector.as_str())).collect();
    assert_eq!(kinds[0], ("shipment", "aftership"), "{kinds:?}");
    assert_eq!(timeline.entries[0].data["order_ref"], "1002");
    // A later shipment event for a known order links at once.
    let delivered = store
        .ingest("aftership", &[shipment("t1", "1002", ShipmentStatus::Delivered, 7_000)])
        .await
        .unwrap();
    assert_eq!(delivered.events[0], (Some(customer), Ingested::Updated));

    // An event without any identifier, or with a bad currency, is refused and stores nothing.
    let before = snapshot(db).await;
    let nobody = store.ingest("email", &[message("m-x", contact(&[]), 1)]).await;
    assert!(matches!(nobody, Err(StoreError::InvalidEvent { .. })));
    let bad = store
        .ingest(
            "shopify",
            &[
                message("m-y", ann.clone(), 1),
                order("o9", "#9", ann, OrderStatus::Paid, 1, "euro", 1),
            ],
        )
        .await;
    assert!(
        matches!(&bad, Err(StoreError::InvalidEvent { reason, .. }) if reason.contains("ISO 4217")),
        "{bad:?}"
    );
    assert_eq!(
        snapshot(db).await,
        before,
        "a refused batch stores nothing, not even its valid events"
    );
}
on_both_backends!(writes_are_idempotent_and_orders_amend_, writes_are_idempotent_and_orders_amend);

async fn unmerge_is_exact(store: Store, db: &TestDb) {
    let mut ann = contact(&[email("ann@example.com"), external("telegram:user", "42")]);
    ann.display_name = Some("Ann".into());
    let mut lee = contact(&[phone("0612345678")]);
    lee.display_name = Some("A. Lee".into());
    lee.locale = Some("fr-FR".into());
    let a = customer_of(&store, "telegram", message("m1", ann.clone(), 1_000)).await;
    store
        .ingest("shopify", &[order("o1", "#1", ann.clone(), OrderStatus::Paid, 500, "EUR", 1_500)])
        .await
        .unwrap();
    let b = customer_of(&store, "twilio", message("m2", lee.clone(), 2_000)).await;
    store
        .ingest("twilio", &[consent("k1", lee.clone(), "sms", ConsentState::OptOut, 2_500)])
        .await
        .unwrap();
    store
        .ingest("aftership", &[shipment("t1", "o1", ShipmentStatus::Delivered, 3_000)])
        .await
        .unwrap();
    let before = snapshot(db).await;

    let entry = store.merge(a, b, "same person, confirmed by phone").await.unwrap();
    assert_eq!((entry.survivor_id, entry.absorbed_id, entry.actor.as_str()), (a, b, "manual"));
    assert_eq!(entry.moved["interactions"], 1);
    assert_eq!(entry.moved["consents"], 1);
    let merged = store.profile(a).await.unwrap();
    assert_eq!(merged.locale.as_deref(), Some("fr-FR"), "the survivor takes what it lacked");
    assert_eq!(merged.contact_points.len(), 3);
    assert_ne!(snapshot(db).await, before);

    let undone = store.undo_merge(entry.id).await.unwrap();
    assert!(undone.undone_at.is_some());
    assert_eq!(
        snapshot(db).await,
        before,
        "undo restores customers, identifiers and records exactly"
    );
    assert!(matches!(store.undo_merge(entry.id).await, Err(StoreError::Conflict(_))));

    // The separation sticks: an event carrying both identities does not merge them again.
    let both = contact(&[email("ann@example.com"), phone("0612345678")]);
    let report = store.ingest("web", &[message("m3", both, 4_000)]).await.unwrap();
    assert!(report.merges.is_empty());
    assert_eq!(live_count(&store).await, 2);

    // An undo that later merges depend on is refused with a reason.
    let c = customer_of(&store, "web", message("m4", contact(&[email("carl@example.com")]), 5_000))
        .await;
    let first = store.merge(b, c, "test").await.unwrap();
    store.merge(a, b, "test").await.unwrap();
    let refused = store.undo_merge(first.id).await.unwrap_err();
    assert!(refused.to_string().contains("undo that merge first"), "{refused}");
    assert!(matches!(store.merge(a, a, "x").await, Err(StoreError::Conflict(_))));
}
on_both_backends!(unmerge_is_exact_, unmerge_is_exact);

async fn automatic_merges_can_be_undone(store: Store, db: &TestDb) {
    let a =
        customer_of(&store, "email", message("m1", contact(&[email("ann@example.com")]), 1_000))
            .await;
    let b =
        customer_of(&store, "twilio", message("m2", contact(&[phone("0612345678")]), 2_000)).await;
    let before = snapshot(db).await;
    let report = store
        .ingest(
            "web",
            &[message("m3", contact(&[email("ann@example.com"), phone("0612345678")]), 3_000)],
        )
        .await
        .unwrap();
    assert_eq!(report.merges.len(), 1);
    // A later message through the absorbed customer's phone lands on the survivor...
    store.ingest("twilio", &[message("m4", contact(&[phone("0612345678")]), 4_000)]).await.unwrap();
    store.undo_merge(report.merges[0]).await.unwrap();
    // ...and goes back with the phone when the merge is undone.
    let b_timeline = store.timeline(b, None, 50).await.unwrap();
    let ids: Vec<_> =
        b_timeline.entries.iter().map(|e| e.data["provider_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["m4", "m2"]);
    let after = snapshot(db).await;
    assert_eq!(after["customers"], before["customers"]);
    assert_eq!(store.live_customer(b).await.unwrap(), b);
    assert_eq!(store.live_customer(a).await.unwrap(), a);
}
on_both_backends!(automatic_merges_can_be_undone_, automatic_merges_can_be_undone);

async fn explain_lists_what_linked_each_record(store: Store, _: &TestDb) {
    let a =
        customer_of(&store, "email", message("m1", contact(&[email("ann@example.com")]), 1_000))
            .await;
    store
        .ingest(
            "telegram",
            &[message(
                "m2",
                contact(&[external("telegram:user", "42"), phone("0612345678")]),
                2_000,
            )],
        )
        .await
        .unwrap();
    store
        .ingest(
            "shopify",
            &[order(
                "o1",
                "#1",
                contact(&[email("ann@example.com"), phone("0612345678")]),
                OrderStatus::Paid,
                100,
                "EUR",
                3_000,
            )],
        )
        .await
        .unwrap();
    store
        .ingest("aftership", &[shipment("t1", "#1", ShipmentStatus::InTransit, 4_000)])
        .await
        .unwrap();
    let explanation = store.explain(a).await.unwrap();
    let by_value: BTreeMap<_, _> = explanation
        .identifiers
        .iter()
        .map(|i| {
            (
                i.value.as_str(),
                i.records
                    .iter()
                    .map(|r| (r.kind.as_str(), r.connector.as_str()))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(by_value["ann@example.com"], [("interaction", "email"), ("order", "shopify")]);
    assert_eq!(by_value["telegram:user:42"], [("interaction", "telegram")]);
    assert_eq!(
        explanation
            .identifiers
            .iter()
            .find(|i| i.value == "telegram:user:42")
            .unwrap()
            .source_connector,
        "telegram"
    );
    assert_eq!(explanation.other_records[0].linked_by, "order #1");
    assert_eq!(explanation.merges.len(), 1);
    assert!(
        explanation.merges[0].reason.contains("phone +33612345678"),
        "{}",
        explanation.merges[0].reason
    );
}
on_both_backends!(explain_lists_what_linked_each_record_, explain_lists_what_linked_each_record);

async fn queries_find_profile_and_timeline(store: Store, _: &TestDb) {
    let mut ann = contact(&[
        email("Ann.Lee@example.com"),
        phone("06 12 34 56 78"),
        external("telegram:user", "42"),
    ]);
    ann.display_name = Some("Ann Lee".into());
    let a = customer_of(&store, "telegram", message("m1", ann.clone(), 1_000)).await;
    customer_of(&store, "email", message("b1", contact(&[email("bob@example.com")]), 1_100)).await;
    store
        .ingest(
            "shopify",
            &[
                order("o1", "#1", ann.clone(), OrderStatus::Paid, 2000, "EUR", 2_000),
                order("o2", "#2", ann.clone(), OrderStatus::Delivered, 1000, "USD", 3_000),
                order("o3", "#3", ann.clone(), OrderStatus::Cancelled, 9999, "EUR", 4_000),
            ],
        )
        .await
        .unwrap();
    store
        .ingest("twilio", &[consent("k1", ann.clone(), "sms", ConsentState::OptIn, 5_000)])
        .await
        .unwrap();
    store
        .ingest("twilio", &[consent("k2", ann.clone(), "sms", ConsentState::OptOut, 6_000)])
        .await
        .unwrap();
    for i in 0..25 {
        store.ingest("email", &[message(&format!("e{i}"), ann.clone(), 10_000 + i)]).await.unwrap();
    }

    let find = async |q: CustomerQuery| store.find_customers(&q).await;
    let ids = |found: Vec<switchboard::store::CustomerSummary>| {
        found.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(find(CustomerQuery {
            email: Some(" ANN.LEE@Example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap()),
        [a]
    );
    assert_eq!(
        ids(find(CustomerQuery { phone: Some("+33 6 12 34 56 78".into()), ..Default::default() })
            .await
            .unwrap()),
        [a]
    );
    assert_eq!(
        ids(find(CustomerQuery { q: Some("lee".into()), ..Default::default() }).await.unwrap()),
        [a]
    );
    assert_eq!(
        ids(find(CustomerQuery { q: Some("0612345678".into()), ..Default::default() })
            .await
            .unwrap()),
        [a]
    );
    assert!(
        find(CustomerQuery { q: Some("nobody".into()), ..Default::default() })
            .await
            .unwrap()
            .is_empty()
    );
    let summary =
        &find(CustomerQuery { q: Some("ann".into()), ..Default::default() }).await.unwrap()[0];
    assert_eq!(
        (summary.emails.clone(), summary.phones.clone()),
        (vec!["ann.lee@example.com".to_string()], vec!["+33612345678".to_string()])
    );

    let profile = store.profile(a).await.unwrap();
    assert_eq!(profile.display_name.as_deref(), Some("Ann Lee"));
    assert_eq!(profile.channels, ["email", "shopify", "telegram", "twilio"]);
    assert_eq!(profile.order_count, 3);
    let revenue: Vec<_> =
        profile.revenue.iter().map(|r| (r.currency.as_str(), r.amount_minor, r.orders)).collect();
    assert_eq!(revenue, [("EUR", 2000, 1), ("USD", 1000, 1)], "cancelled orders are not revenue");
    assert_eq!(profile.consents.len(), 1);
    assert_eq!(profile.consents[0].state, "opt_out", "the latest consent wins");
    assert_eq!((profile.first_contact, profile.last_contact), (Some(1_000), Some(10_024)));

    // The timeline pages newest first without gaps or repeats.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.timeline(a, cursor.as_deref(), 7).await.unwrap();
        seen.extend(page.entries.iter().map(|e| (e.at, e.kind.clone(), e.id)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1 + 3 + 25);
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());
    assert!(matches!(store.timeline(a, Some("garbage!"), 5).await, Err(StoreError::BadCursor(_))));
    // Regression: a timeline of one kind other than interactions failed (its lone query named
    // no `at` column for the outer one to order by).
    for (kind, name, expected) in [
        (TimelineKind::Order, "order", 3),
        (TimelineKind::Payment, "payment", 0),
        (TimelineKind::Shipment, "shipment", 0),
        (TimelineKind::ConversationEvent, "conversation_event", 1),
    ] {
        let filter = TimelineFilter { kinds: vec![kind], connector: None };
        let page = store.timeline_filtered(a, None, 50, &filter).await.unwrap();
        assert_eq!(page.entries.len(), expected, "{kind:?}");
        assert!(page.entries.iter().all(|e| e.kind == name), "{kind:?}");
    }
    let filter =
        TimelineFilter { kinds: vec![TimelineKind::Order], connector: Some("shopify".into()) };
    let orders = store.timeline_filtered(a, None, 2, &filter).await.unwrap();
    assert_eq!(orders.entries.len(), 2);
    let rest = store.timeline_filtered(a, orders.next_cursor.as_deref(), 2, &filter).await.unwrap();
    assert_eq!(rest.entries.len(), 1, "orders alone page too");

    let cancelled = store
        .orders(&OrderQuery { status: Some("cancelled".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].number.as_deref(), Some("#3"));
    assert_eq!(
        store
            .orders(&OrderQuery { connectors: Some(vec!["nope".into()]), ..Default::default() })
            .await
            .unwrap()
            .len(),
        0
    );
}
on_both_backends!(queries_find_profile_and_timeline_, queries_find_profile_and_timeline);

async fn connector_state_cursors_leases_and_dead_letters(store: Store, _: &TestDb) {
    let write = |key: &str, value: Option<&[u8]>| {
        KvWrites([(key.to_string(), value.map(<[u8]>::to_vec))].into_iter().collect())
    };
    store.apply("telegram", &write("offset", Some(b"41"))).await.unwrap();
    store.apply("telegram", &write("offset", Some(b"42"))).await.unwrap();
    assert_eq!(store.get("telegram", "offset").await.unwrap(), Some(b"42".to_vec()));
    assert_eq!(store.get("shopify", "offset").await.unwrap(), None);
    let (usage, sizes) = store.usage("telegram", &["offset".to_string()]).await.unwrap();
    assert_eq!((usage.keys, usage.bytes, sizes["offset"]), (1, 8, 8));
    store.apply("telegram", &write("offset", None)).await.unwrap();
    assert_eq!(store.get("telegram", "offset").await.unwrap(), None);

    let events = [message("p1", contact(&[email("poll@example.com")]), 1)];
    store.ingest_polled("shop", &events, Some("cursor-1")).await.unwrap();
    assert_eq!(store.cursor("shop").await.unwrap().as_deref(), Some("cursor-1"));
    store.ingest_polled("shop", &[], None).await.unwrap();
    assert_eq!(store.cursor("shop").await.unwrap().as_deref(), Some("cursor-1"));

    assert!(store.acquire_lease("shop", "host-a", 60_000).await.unwrap());
    assert!(!store.acquire_lease("shop", "host-b", 60_000).await.unwrap());
    assert!(store.acquire_lease("shop", "host-a", 60_000).await.unwrap());
    store.release_lease("shop", "host-a").await.unwrap();
    assert!(store.acquire_lease("shop", "host-b", 1).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert!(
        store.acquire_lease("shop", "host-a", 60_000).await.unwrap(),
        "an expired lease is taken over"
    );

    let request = serde_json::json!({"method": "POST", "body": "x"});
    let id = store.add_dead_letter("shop", &request, "trapped").await.unwrap();
    assert_eq!(store.dead_letters(true, 10).await.unwrap()[0].id, id);
    store.record_replay(id, Err("still broken")).await.unwrap();
    let letter = store.dead_letter(id).await.unwrap().unwrap();
    assert_eq!(
        (letter.attempts, letter.error.as_str(), letter.request["body"].as_str()),
        (2, "still broken", Some("x"))
    );
    store.record_replay(id, Ok(())).await.unwrap();
    assert!(store.dead_letters(true, 10).await.unwrap().is_empty());
    assert_eq!(store.dead_letters(false, 10).await.unwrap().len(), 1);
}
on_both_backends!(
    connector_state_cursors_leases_and_dead_letters_,
    connector_state_cursors_leases_and_dead_letters
);

fn payment(id: &str, who: Contact, order_ref: Option<&str>, refunded: i64, at: i64) -> Event {
    Event::Payment(Payment {
        provider_id: id.into(),
        contact: who,
        order_ref: order_ref.map(Into::into),
        status: if refunded > 0 { PaymentStatus::Refunded } else { PaymentStatus::Succeeded },
        amount: Money { amount_minor: 2598, currency: "EUR".into() },
        refunded_minor: refunded,
        occurred_at: at,
        attributes: vec![],
    })
}

/// A refund delivered before the payment it amends names no one: it is kept, and the older
/// state arriving late names the payer and the order without undoing the refund.
async fn a_payment_state_delivered_late_still_names_payer_and_order(store: Store, _: &TestDb) {
    let refund = store.ingest("stripe", &[payment("pi_1", contact(&[]), None, 2598, 200)]).await;
    let refund = refund.unwrap().events;
    assert_eq!(refund[0], (None, Ingested::Created), "kept, though it names no one yet");
    let ann = contact(&[email("ann@example.com")]);
    let late = [payment("pi_1", ann.clone(), Some("#1001"), 0, 100)];
    let (customer, ingested) = store.ingest("stripe", &late).await.unwrap().events[0];
    let customer = customer.expect("the late state names the payer");
    assert_eq!(ingested, Ingested::Updated);
    let timeline = store.timeline(customer, None, 10).await.unwrap();
    let paid = timeline.entries.iter().find(|e| e.kind == "payment").expect("on the timeline");
    assert_eq!(
        (paid.data["status"].as_str(), paid.data["order_ref"].as_str()),
        (Some("refunded"), Some("#1001")),
        "the newer state stands; the older one only filled in what it lacked: {:?}",
        paid.data
    );
    // The order arrives: the payment attaches to it.
    let order = order("o-1", "#1001", ann, OrderStatus::Paid, 2598, "EUR", 50);
    assert_eq!(customer_of(&store, "shop", order).await, customer);
    let orders =
        store.orders(&OrderQuery { customer: Some(customer), ..Default::default() }).await.unwrap();
    assert_eq!(orders[0].payments[0]["provider_id"], "pi_1", "{:?}", orders[0]);
}
on_both_backends!(
    a_payment_state_delivered_late_still_names_payer_and_order_,
    a_payment_state_delivered_late_still_names_payer_and_order
);

/// Regression: a "not found" answer bound its missing latitude as an untyped NULL, and
/// PostgreSQL then refused the next point recorded through the same prepared statement
/// ("incorrect binary data format in bind parameter 3").
async fn geocoding_answers_of_both_kinds_are_recorded(store: Store, _: &TestDb) {
    use switchboard::store::GeocodeResult;
    let Event::Order(mut o) = order(
        "o-geo",
        "#7",
        contact(&[email("geo@example.com")]),
        OrderStatus::Paid,
        1000,
        "EUR",
        10,
    ) else {
        unreachable!()
    };
    o.delivery_address = Some(Address {
        name: None,
        line1: Some("5 rue de Rivoli".into()),
        line2: None,
        city: Some("Paris".into()),
        region: None,
        postal_code: None,
        country: Some("FR".into()),
        phone: None,
        email: None,
    });
    store.ingest("shop", &[Event::Order(o)]).await.unwrap();
    let pending = store.addresses_to_geocode(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    let point = GeoPoint { latitude: 48.8556288, longitude: 2.3591652, display_name: None };
    // "Not found" first, so that the statement is prepared with it; then both kinds in an
    // irregular order, so that every pooled connection sees both, whatever the pool's size;
    // a point last.
    const KINDS: u64 = 0b1011_0010_1110_0011_0101_1001_1100_0110_1010_0111_0001_1011;
    for round in 0..49 {
        let result = if round < 48 && KINDS >> round & 1 == 1 {
            GeocodeResult::NotFound
        } else {
            GeocodeResult::Found(point.clone())
        };
        let recorded =
            store.record_geocode(pending[0].order_id, &pending[0].stored, "geo", &result).await;
        assert!(recorded.unwrap(), "round {round}");
    }
    assert!(store.addresses_to_geocode(10).await.unwrap().is_empty(), "answered, so not queued");
    let orders = store.orders(&OrderQuery::default()).await.unwrap();
    let location = orders[0].location.as_ref().expect("placed");
    assert_eq!((location.status, location.latitude), ("placed", Some(48.8556288)));
}
on_both_backends!(
    geocoding_answers_of_both_kinds_are_recorded_,
    geocoding_answers_of_both_kinds_are_recorded
);

/// Dead letters past their retention are deleted; newer ones stay; a claimed one is not handed
/// out twice.
async fn dead_letters_expire_and_are_claimed_once(store: Store, _db: &TestDb) {
    let request = serde_json::json!({"method": "POST", "url": "https://crm.example.com/hooks/x"});
    let old = store.add_dead_letter("x", &request, "boom").await.unwrap();
    let claimed = store.claim_replay(old).await.unwrap();
    assert!(matches!(claimed, switchboard::store::ReplayClaim::Claimed(_)), "{claimed:?}");
    let again = store.claim_replay(old).await.unwrap();
    assert!(matches!(again, switchboard::store::ReplayClaim::InProgress), "{again:?}");
    store.record_replay(old, Err("still broken")).await.unwrap();
    assert!(matches!(
        store.claim_replay(old).await.unwrap(),
        switchboard::store::ReplayClaim::Claimed(_)
    ));
    store.record_replay(old, Ok(())).await.unwrap();
    assert!(matches!(
        store.claim_replay(old).await.unwrap(),
        switchboard::store::ReplayClaim::Replayed
    ));
    assert!(matches!(
        store.claim_replay(999_999).await.unwrap(),
        switchboard::store::ReplayClaim::NotFound
    ));
    let cutoff = switchboard::store::now_millis() + 1;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let recent = store.add_dead_letter("x", &request, "boom").await.unwrap();
    assert_eq!(store.purge_dead_letters(cutoff).await.unwrap(), 1);
    let left: Vec<i64> =
        store.dead_letters(false, 100).await.unwrap().iter().map(|d| d.id).collect();
    assert_eq!(left, vec![recent]);
}

on_both_backends!(
    dead_letters_expire_and_are_claimed_once_,
    dead_letters_expire_and_are_claimed_once
);

/// Issue 14 #4: a name search takes `%`, `_`, `'` and `\` literally.
async fn name_search_takes_sql_metacharacters_literally(store: Store, _db: &TestDb) {
    let names = [
        "100% Cotton Ltd",
        "100 Cotton Ltd",
        "Ann_Lee",
        "AnnXLee",
        "O'Brien",
        "Back\\slash",
        "Backslash",
    ];
    for (n, name) in names.iter().enumerate() {
        let mut who = contact(&[email(&format!("p{n}@example.com"))]);
        who.display_name = Some(name.to_string());
        store
            .ingest("email", &[message(&format!("m{n}"), who, 1_700_000_000_000 + n as i64)])
            .await
            .unwrap();
    }
    let find = |q: &str| {
        let store = store.clone();
        let q = q.to_string();
        async move {
            let found = store
                .find_customers(&CustomerQuery { q: Some(q), limit: 50, ..Default::default() })
                .await
                .unwrap();
            found.into_iter().map(|c| c.display_name.unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(find("100%").await, ["100% Cotton Ltd"]);
    assert_eq!(find("ann_").await, ["Ann_Lee"]);
    assert_eq!(find("o'b").await, ["O'Brien"]);
    assert_eq!(find("k\\s").await, ["Back\\slash"]);
    assert_eq!(find("%").await, ["100% Cotton Ltd"]);
}

on_both_backends!(
    name_search_takes_sql_metacharacters_literally_,
    name_search_takes_sql_metacharacters_literally
);

fn named(mut who: Contact, given: &str, family: &str) -> Contact {
    who.given_name = Some(given.into());
    who.family_name = Some(family.into());
    who
}

async fn role_mailboxes_never_glue_colleagues(store: Store, _: &TestDb) {
    // Two colleagues write from their company's info@, each with their own mobile.
    let ann = customer_of(
        &store,
        "email",
        message("m1", contact(&[email("info@acme.fr"), phone("06 12 34 56 78")]), 1_000),
    )
    .await;
    let bob = customer_of(
        &store,
        "email",
        message("m2", contact(&[email("INFO@acme.fr"), phone("07 81 22 33 44")]), 2_000),
    )
    .await;
    assert_ne!(ann, bob, "a role address is shared, not a reason to merge");
    // It is recorded on both, shared, and says why.
    for customer in [ann, bob] {
        let profile = store.profile(customer).await.unwrap();
        let info = profile.contact_points.iter().find(|p| p.value == "info@acme.fr").unwrap();
        assert_eq!(info.status, "shared", "{profile:?}");
        assert!(info.reason.as_deref().unwrap().contains("role address"), "{info:?}");
        let explained = store.explain(customer).await.unwrap();
        let info = explained.identifiers.iter().find(|i| i.value == "info@acme.fr").unwrap();
        assert_eq!(info.status, "shared");
    }
    // Mail from the mailbox alone is the mailbox itself, one customer, neither colleague.
    let first =
        customer_of(&store, "email", message("m3", contact(&[email("info@acme.fr")]), 3_000)).await;
    let again =
        customer_of(&store, "email", message("m4", contact(&[email("info@acme.fr")]), 4_000)).await;
    assert_eq!(first, again);
    assert!(first != ann && first != bob);
    assert_eq!(live_count(&store).await, 3);
    // The person's own address still links as before.
    let ann_again = customer_of(
        &store,
        "twilio",
        message("m5", contact(&[phone("+33 6 12 34 56 78"), email("ann@acme.fr")]), 5_000),
    )
    .await;
    assert_eq!(ann_again, ann);
}
on_both_backends!(role_mailboxes_never_glue_colleagues_, role_mailboxes_never_glue_colleagues);

#[tokio::test]
async fn an_operator_can_empty_or_extend_the_role_list() {
    let db = common::sqlite();
    let store = Store::open(&switchboard::store::StoreConfig {
        role_addresses: Some(vec![]),
        more_role_addresses: vec!["team@acme.fr".into()],
        ..common::config(&db.url)
    })
    .await
    .unwrap();
    let a = customer_of(&store, "email", message("m1", contact(&[email("info@acme.fr")]), 1)).await;
    let b = customer_of(
        &store,
        "email",
        message("m2", contact(&[email("info@acme.fr"), phone("0612345678")]), 2),
    )
    .await;
    assert_eq!(a, b, "with the list emptied, info@ is a person's address");
    let c = customer_of(
        &store,
        "email",
        message("m3", contact(&[email("team@acme.fr"), phone("0781223344")]), 3),
    )
    .await;
    let d = customer_of(
        &store,
        "email",
        message("m4", contact(&[email("team@acme.fr"), phone("0799887766")]), 4),
    )
    .await;
    assert_ne!(c, d, "an address the operator named is shared");
}

async fn a_personal_mobile_and_the_name_join_two_addresses(store: Store, db: &TestDb) {
    let home = named(contact(&[email("ann@home.example"), phone("06 12 34 56 78")]), "Ann", "Lee");
    let ann = customer_of(&store, "shopify", message("o1", home, 1_000)).await;
    let work = named(contact(&[email("a.lee@work.example"), phone("+33612345678")]), "Ann", "Lée");
    let report = store.ingest("email", &[message("m1", work, 2_000)]).await.unwrap();
    assert_eq!(report.events[0].0, Some(ann), "one person's work and private addresses");
    assert_eq!(live_count(&store).await, 1);
    // When the work identity existed on its own first, the mobile and the name merge them.
    let work_first = named(contact(&[email("bo@work.example")]), "Bo", "Stone");
    let bo_work = customer_of(&store, "email", message("m2", work_first, 3_000)).await;
    let bo_home =
        named(contact(&[email("bo@home.example"), phone("07 81 22 33 44")]), "Bo", "Stone");
    let bo_home = customer_of(&store, "shopify", message("o2", bo_home, 4_000)).await;
    assert_ne!(bo_work, bo_home);
    let before_merge = snapshot(db).await;
    let both = named(contact(&[email("bo@work.example"), phone("0781223344")]), "B.", "Stone");
    let report = store.ingest("email", &[message("m3", both, 5_000)]).await.unwrap();
    assert_eq!(report.merges.len(), 1, "{report:?}");
    let entry = store.merge_entry(report.merges[0]).await.unwrap();
    assert!(entry.reason.contains("a mobile no other customer has"), "{}", entry.reason);
    // The rule's merge undoes exactly like any other: both customers come back as they were.
    store.undo_merge(entry.id).await.unwrap();
    assert_eq!(snapshot(db).await["customers"], before_merge["customers"]);
    assert_eq!(live_count(&store).await, 3);
    for (customer, address) in [(bo_work, "bo@work.example"), (bo_home, "bo@home.example")] {
        let profile = store.profile(customer).await.unwrap();
        let values: Vec<&str> = profile.contact_points.iter().map(|p| p.value.as_str()).collect();
        assert!(values.contains(&address), "{values:?}");
    }
}
on_both_backends!(
    a_personal_mobile_and_the_name_join_two_addresses_,
    a_personal_mobile_and_the_name_join_two_addresses
);

async fn weak_evidence_is_listed_for_an_agent(store: Store, _: &TestDb) {
    use switchboard::store::Verdict;
    // A household landline with the same name on two addresses: not merged, listed.
    let a = named(contact(&[email("marie@home.example"), phone("01 42 68 53 00")]), "Marie", "Roy");
    let a = customer_of(&store, "shopify", message("o1", a, 1_000)).await;
    let b = named(contact(&[email("m.roy@work.example"), phone("+33142685300")]), "Marie", "Roy");
    let b = customer_of(&store, "email", message("m1", b, 2_000)).await;
    assert_ne!(a, b);
    // A mobile on two addresses, a first name only on one side: not enough, but listed.
    let c = named(contact(&[email("ann@home.example"), phone("06 12 34 56 78")]), "Ann", "Lee");
    let c = customer_of(&store, "shopify", message("o2", c, 3_000)).await;
    let mut d = contact(&[email("annie@other.example"), phone("+33612345678")]);
    d.display_name = Some("Ann".into());
    let d = customer_of(&store, "web", message("w1", d, 4_000)).await;
    assert_ne!(c, d);
    // A household: another member's name on the landline, not listed.
    let e = named(contact(&[phone("01 42 68 53 00")]), "Jean", "Roy");
    let e = customer_of(&store, "twilio", message("t1", e, 4_500)).await;
    assert!(e != a && e != b);
    let (open, next) = store.possible_duplicates("open", None, 50).await.unwrap();
    assert_eq!(next, None);
    let pairs: Vec<(i64, i64)> = open.iter().map(|p| (p.customer_a, p.customer_b)).collect();
    assert_eq!(pairs, [(a, b), (c, d)], "{open:?}");
    assert!(open[0].evidence.contains("a fixed line"), "{}", open[0].evidence);
    assert_eq!(open[0].name_a.as_deref(), Some("Marie Roy"));

    // Dismissed: they stay apart, even when an event carries both identities.
    let dismissed = store.decide_duplicate(open[0].id, Verdict::Dismiss, "user:1").await.unwrap();
    assert_eq!(
        (dismissed.status.as_str(), dismissed.decided_by.as_deref()),
        ("dismissed", Some("user:1"))
    );
    let both = contact(&[email("marie@home.example"), email("m.roy@work.example")]);
    let report = store.ingest("web", &[message("x1", both, 5_000)]).await.unwrap();
    assert!(report.merges.is_empty(), "a dismissed pair is separated");
    let again = store.decide_duplicate(open[0].id, Verdict::Merge, "user:1").await.unwrap_err();
    assert!(again.to_string().contains("already dismissed"), "{again}");

    // Merged: one customer, with a ledger entry an operator can undo.
    let merged = store.decide_duplicate(open[1].id, Verdict::Merge, "user:2").await.unwrap();
    assert_eq!(merged.status, "merged");
    assert_eq!(store.live_customer(d).await.unwrap(), c);
    let entry = &store.merges(None, 1).await.unwrap()[0];
    assert!(entry.reason.contains("possible duplicate"), "{}", entry.reason);
    assert!(store.possible_duplicates("open", None, 50).await.unwrap().0.is_empty());
    assert_eq!(store.possible_duplicates("merged", None, 50).await.unwrap().0.len(), 1);
    assert!(matches!(
        store.decide_duplicate(999_999, Verdict::Merge, "user:1").await,
        Err(StoreError::NotFound(_))
    ));
}
on_both_backends!(weak_evidence_is_listed_for_an_agent_, weak_evidence_is_listed_for_an_agent);

async fn a_parcel_of_a_known_order_is_the_buyers(store: Store, _: &TestDb) {
    let ann = contact(&[email("ann@example.com")]);
    let report = store
        .ingest("shopify", &[order("o1", "#1001", ann, OrderStatus::Paid, 500, "EUR", 1_000)])
        .await
        .unwrap();
    let buyer = report.events[0].0.unwrap();
    // The carrier notifies the gift's recipient: the parcel is still the buyer's order's.
    let Event::Shipment(mut parcel) = shipment("t1", "#1001", ShipmentStatus::InTransit, 2_000)
    else {
        unreachable!()
    };
    parcel.contact = Some(named(contact(&[phone("06 11 11 22 22")]), "Chloé", "Petit"));
    let report = store.ingest("aftership", &[Event::Shipment(parcel.clone())]).await.unwrap();
    assert_eq!(report.events[0].0, Some(buyer));
    assert_eq!(live_count(&store).await, 1, "the recipient is not made the buyer, nor a customer");
    // Without a known order, the contact is who the parcel is for.
    parcel.provider_id = "t2".into();
    parcel.order_provider_id = Some("#unknown".into());
    parcel.tracking_number = "TRK-other".into();
    let report = store.ingest("aftership", &[Event::Shipment(parcel)]).await.unwrap();
    assert_ne!(report.events[0].0, Some(buyer));
}
on_both_backends!(
    a_parcel_of_a_known_order_is_the_buyers_,
    a_parcel_of_a_known_order_is_the_buyers
);

async fn an_unknown_payer_of_a_known_order_is_its_buyer(store: Store, _: &TestDb) {
    let ann = contact(&[email("ann@example.com")]);
    let report = store
        .ingest("shopify", &[order("o1", "#1001", ann, OrderStatus::Paid, 500, "EUR", 1_000)])
        .await
        .unwrap();
    let buyer = report.events[0].0.unwrap();
    // The processor names its own customer id only: the payer is the order's buyer, and the id
    // is theirs from now on.
    let payer = contact(&[external("stripe:customer", "cus_1")]);
    let report = store
        .ingest("stripe", &[payment("pi_1", payer.clone(), Some("o1"), 0, 2_000)])
        .await
        .unwrap();
    assert_eq!(report.events[0].0, Some(buyer));
    assert_eq!(live_count(&store).await, 1);
    let profile = store.profile(buyer).await.unwrap();
    assert!(profile.contact_points.iter().any(|p| p.value == "stripe:customer:cus_1"));
    let later = customer_of(&store, "stripe", payment("pi_2", payer, None, 0, 3_000)).await;
    assert_eq!(later, buyer);
    // A payer the store knows as someone else stays who they are.
    let bob =
        customer_of(&store, "email", message("m1", contact(&[email("bob@example.com")]), 4_000))
            .await;
    let report = store
        .ingest(
            "stripe",
            &[payment("pi_3", contact(&[email("bob@example.com")]), Some("o1"), 0, 5_000)],
        )
        .await
        .unwrap();
    assert_eq!(report.events[0].0, Some(bob));
    // A placeholder number typed into a form links nobody.
    let x = customer_of(
        &store,
        "web",
        message("w1", contact(&[phone("06 00 00 00 00"), external("web:visitor", "v1")]), 6_000),
    )
    .await;
    let y = customer_of(
        &store,
        "web",
        message("w2", contact(&[phone("0600000000"), external("web:visitor", "v2")]), 7_000),
    )
    .await;
    assert_ne!(x, y);
}
on_both_backends!(
    an_unknown_payer_of_a_known_order_is_its_buyer_,
    an_unknown_payer_of_a_known_order_is_its_buyer
);
