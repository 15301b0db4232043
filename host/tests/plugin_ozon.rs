//! The bundled Ozon connector (poll only) against a local server that answers
//! `POST /v3/posting/fbs/list` like the Seller API: credentials in `Client-Id`/`Api-Key`, the
//! status-change window inclusive at both ends, `limit`/`offset` and `has_next`.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard::model::{Event, Identifier, OrderStatus};
use switchboard::runtime::LoadedConnector;
use switchboard_test_artifacts as artifacts;

/// Postings with the time their status last changed (which Ozon filters on but does not
/// return), and every request body seen.
#[derive(Clone, Default)]
struct FakeOzon {
    postings: Arc<Mutex<Vec<(i64, Value)>>>,
    requests: Arc<Mutex<Vec<Value>>>,
}

fn ms(value: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(value).unwrap().timestamp_millis()
}

async fn fbs_list(
    State(ozon): State<FakeOzon>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    if header("client-id") != "836251" || header("api-key") != "fixture-ozon-api-key" {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": 16, "message": "Client-Id and Api-Key headers are required", "details": []}))).into_response();
    }
    let body = body.0;
    ozon.requests.lock().unwrap().push(body.clone());
    let filter = &body["filter"];
    if filter["since"].as_str().is_none() || filter["to"].as_str().is_none() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": 3, "message": "filter.since and filter.to are required"})),
        )
            .into_response();
    }
    let window = &filter["last_changed_status_date"];
    let (from, to) = (ms(window["from"].as_str().unwrap()), ms(window["to"].as_str().unwrap()));
    let (limit, offset) =
        (body["limit"].as_u64().unwrap() as usize, body["offset"].as_u64().unwrap() as usize);
    assert!((1..=1000).contains(&limit), "{body}");
    let mut matching: Vec<(i64, Value)> = ozon
        .postings
        .lock()
        .unwrap()
        .iter()
        .filter(|(changed, _)| (from..=to).contains(changed))
        .cloned()
        .collect();
    matching
        .sort_by_key(|(changed, p)| (*changed, p["posting_number"].as_str().unwrap().to_string()));
    let page: Vec<Value> =
        matching.iter().skip(offset).take(limit).map(|(_, p)| p.clone()).collect();
    let has_next = matching.len() > offset + limit;
    axum::Json(json!({"result": {"postings": page, "has_next": has_next}})).into_response()
}

fn documented() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/ozon/fixtures/fbs-list.json");
    let page: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    page["result"]["postings"].as_array().unwrap().clone()
}

/// The first documented posting under another number and buyer.
fn posting(number: &str, buyer: u64) -> Value {
    let mut p = documented()[0].clone();
    p["posting_number"] = json!(number);
    p["order_number"] = json!(number.trim_end_matches("-1"));
    p["customer"]["customer_id"] = json!(buyer);
    p["customer"]["phone"] = json!(format!("+7916{buyer:07}"));
    p["addressee"]["phone"] = p["customer"]["phone"].clone();
    p
}

async fn ozon(extra: &[(&str, &str)]) -> (LoadedConnector, FakeOzon) {
    let fake = FakeOzon::default();
    let router = axum::Router::new()
        .route("/v3/posting/fbs/list", axum::routing::post(fbs_list))
        .with_state(fake.clone());
    let base = common::serve(router).await;
    let mut config = vec![
        ("client_id", "836251"),
        ("api_key", "fixture-ozon-api-key"),
        ("api_base", base.as_str()),
    ];
    config.extend_from_slice(extra);
    (common::plugin(artifacts::OZON, "ozon", &config, &[&base]).await, fake)
}

fn now() -> i64 {
    switchboard::store::now_millis()
}

fn numbers(events: &[Event]) -> Vec<String> {
    let mut n: Vec<String> = events.iter().map(|e| e.provider_id().to_string()).collect();
    n.sort();
    n
}

#[tokio::test]
async fn documented_postings_become_orders() {
    let (connector, fake) = ozon(&[("backfill_days", "1"), ("max_window_hours", "48")]).await;
    for p in documented() {
        fake.postings.lock().unwrap().push((now() - 3_600_000, p));
    }
    let outcome = connector.poll(None).await.unwrap();
    // The second posting hides its buyer (FBS): no one's history, skipped.
    let [Event::Order(order)] = outcome.events.as_slice() else { panic!("{:?}", outcome.events) };
    assert_eq!(order.provider_id, "05708065-0029-1");
    assert_eq!(order.number.as_deref(), Some("05708065-0029"));
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!((order.total.amount_minor, order.total.currency.as_str()), (278_000, "RUB"));
    assert_eq!(order.lines[0].sku.as_deref(), Some("MUG-LUM-BLUE"));
    assert!(
        order
            .contact
            .identifiers
            .contains(&Identifier::external("ozon:buyer", "108974293").verified())
    );
    assert_eq!(order.delivery_address.as_ref().unwrap().country.as_deref(), Some("RU"));
    assert_eq!(order.updated_at, ms("2026-11-22T12:31:06Z"));
    let request = fake.requests.lock().unwrap()[0].clone();
    assert_eq!(request["dir"], "ASC");
    assert!(request["filter"]["last_changed_status_date"]["from"].is_string(), "{request}");
    // Wrong credentials are the operator's to fix.
    let (locked, _) = ozon(&[("api_key", "wrong")]).await;
    assert_eq!(common::kind(&locked.poll(None).await.unwrap_err()), "config");
}

#[tokio::test]
async fn full_windows_are_halved_never_paged_and_the_boundary_is_fetched_again() {
    let (connector, fake) = ozon(&[
        ("backfill_days", "1"),
        ("max_window_hours", "48"),
        ("page_limit", "2"),
        ("poll_lag_secs", "0"),
    ])
    .await;
    let start = now();
    for (i, hours_ago) in [20, 16, 12, 8, 4].into_iter().enumerate() {
        fake.postings.lock().unwrap().push((
            start - hours_ago * 3_600_000,
            posting(&format!("1000{i}-0001-1"), 100 + i as u64),
        ));
    }
    // Poll until caught up: every posting arrives, and no request ever used an offset.
    let mut cursor = None;
    let mut seen = Vec::new();
    for _ in 0..20 {
        let outcome = connector.poll(cursor.clone()).await.unwrap();
        seen.extend(numbers(&outcome.events));
        match outcome.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        let from = serde_json::from_str::<Value>(cursor.as_deref().unwrap()).unwrap()["from"]
            .as_i64()
            .unwrap();
        if from >= start - 1000 {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        ["10000-0001-1", "10001-0001-1", "10002-0001-1", "10003-0001-1", "10004-0001-1"]
    );
    assert!(fake.requests.lock().unwrap().iter().all(|r| r["offset"] == 0));
    assert!(fake.requests.lock().unwrap().len() > 3, "windows were halved");

    // A posting whose status changes exactly at the boundary second, seen by Ozon only now.
    let from = serde_json::from_str::<Value>(cursor.as_deref().unwrap()).unwrap()["from"]
        .as_i64()
        .unwrap();
    fake.postings.lock().unwrap().push((from, posting("20000-0001-1", 900)));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let outcome = connector.poll(cursor).await.unwrap();
    assert!(
        numbers(&outcome.events).contains(&"20000-0001-1".to_string()),
        "{:?}",
        numbers(&outcome.events)
    );
}

fn rfc3339(at: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn from(cursor: Option<&str>) -> i64 {
    serde_json::from_str::<Value>(cursor.expect("a cursor")).unwrap()["from"].as_i64().unwrap()
}

#[tokio::test]
async fn a_posting_the_connector_cannot_read_is_skipped_and_the_page_still_arrives() {
    let mut unreadable_price = posting("30000-0001-1", 301);
    unreadable_price["products"][0]["price"] = json!("abc");
    // Two currencies in one posting: no single total to report.
    let mut mixed = posting("30001-0001-1", 302);
    let mut dollars = mixed["products"][0].clone();
    dollars["offer_id"] = json!("VASE-OPAL-S");
    dollars["price"] = json!("19.000000");
    dollars["currency_code"] = json!("USD");
    mixed["products"].as_array_mut().unwrap().push(dollars);
    for (case, unreadable) in [("price `abc`", unreadable_price), ("mixed currencies", mixed)] {
        let (connector, fake) = ozon(&[("backfill_days", "1"), ("max_window_hours", "48")]).await;
        let changed = now() - 3_600_000;
        fake.postings.lock().unwrap().push((changed, posting("30002-0001-1", 303)));
        fake.postings.lock().unwrap().push((changed, unreadable));
        fake.postings.lock().unwrap().push((changed, posting("30003-0001-1", 304)));
        let outcome = connector.poll(None).await.unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(numbers(&outcome.events), ["30002-0001-1", "30003-0001-1"], "{case}");
        // The window moved past it: the next poll does not ask for it again, forever.
        assert!(from(outcome.next_cursor.as_deref()) > changed, "{case}");
    }
}

#[tokio::test]
async fn the_ship_by_deadline_is_not_when_the_order_changed() {
    let (connector, fake) = ozon(&[("backfill_days", "1"), ("max_window_hours", "48")]).await;
    let start = now();
    let accepted = start - 2 * 3_600_000;
    let accepted = accepted - accepted.rem_euclid(1000);
    // Waiting to be packed, to ship by the day after tomorrow.
    let ship_by = rfc3339(start + 2 * 24 * 3_600_000);
    let mut p = posting("40000-0001-1", 401);
    p["status"] = json!("awaiting_packaging");
    p["in_process_at"] = json!(rfc3339(accepted));
    p["shipment_date"] = json!(ship_by);
    p["delivering_date"] = Value::Null;
    fake.postings.lock().unwrap().push((accepted, p));
    let outcome = connector.poll(None).await.unwrap();
    let [Event::Order(order)] = outcome.events.as_slice() else { panic!("{:?}", outcome.events) };
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!((order.placed_at, order.updated_at), (accepted, accepted));
    assert!(order.updated_at <= now(), "never in the future");
    assert!(
        order.attributes.iter().any(|a| a.key == "ship_by" && a.value == ship_by),
        "{:?}",
        order.attributes
    );
}

/// What the Seller API answers when it fails is an error of the poll, named after what went
/// wrong; the host then keeps the cursor and backs off, so the window is asked again.
#[tokio::test]
async fn failing_answers_fail_the_poll_and_say_why() {
    let answer = |status: u16, body: &'static str| {
        axum::Router::new().route(
            "/v3/posting/fbs/list",
            axum::routing::post(move || async move {
                (StatusCode::from_u16(status).unwrap(), body).into_response()
            }),
        )
    };
    for (status, body, kind, says) in [
        (
            429,
            r#"{"code": 8, "message": "You have reached request rate limit per second", "details": []}"#,
            "transient",
            "429",
        ),
        (500, r#"{"code": 13, "message": "internal error", "details": []}"#, "transient", "500"),
        (
            401,
            r#"{"code": 16, "message": "Client-Id and Api-Key headers are required", "details": []}"#,
            "config",
            "401",
        ),
        (200, "<html>maintenance</html>", "transient", "unexpected JSON"),
        (200, r#"{"result": {"has_next": false}, "postings": "elsewhere"}"#, "ok", ""),
    ] {
        let base = common::serve(answer(status, body)).await;
        let connector = common::plugin(
            artifacts::OZON,
            "ozon",
            &[("client_id", "836251"), ("api_key", "fixture-ozon-api-key"), ("api_base", &base)],
            &[&base],
        )
        .await;
        let cursor = format!(r#"{{"from": {}}}"#, now() - 3_600_000);
        match connector.poll(Some(cursor)).await {
            Ok(outcome) => {
                assert_eq!(kind, "ok", "{status} {body}: {outcome:?}");
                assert!(outcome.events.is_empty(), "no postings in that answer");
            }
            Err(error) => {
                assert_eq!(common::kind(&error), kind, "{status} {body}: {error}");
                assert!(error.to_string().contains(says), "{status}: {error}");
            }
        }
    }
}
