//! Bad input to every commerce connector that takes webhooks (shopify, stripe, aftership,
//! easypost, google-business and its `/lead` route, web, till), over a real server: a malformed
//! body, a missing field, a wrong signature, a missing signature header and, where the scheme
//! has a timestamp (stripe, web, till), a stale one, each get the right 4xx with a message that
//! says what is wrong, and nothing is stored (no customer, no record, no dead letter). Then one
//! freshly signed valid request per connector is accepted and stored, which proves that the
//! signing helpers here are right and so that the refusals above are the ones claimed.
//!
//! The signature tolerances keep their defaults (300 s): every request is signed when the test
//! runs, from the fixtures' bodies.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use switchboard::client;
use switchboard::recorded::Recorded;
use switchboard_test_artifacts as artifacts;

use common::ADMIN;
const SHOPIFY_SECRET: &str = "fixture-shopify-client-secret";
const SHOP_DOMAIN: &str = "atelier-lumiere.myshopify.com";
const STRIPE_SECRET: &str = "whsec_fixture0stripe0signing0secret";
const AFTERSHIP_SECRET: &str = "fixture-aftership-secret";
const EASYPOST_SECRET: &str = "fixture-easypost-secret";
const PUSH_TOKEN: &str = "fixture-push-token";
const WEB_SECRET: &str = "fixture-web-signing-secret";
const TILL_SECRET: &str = "fixture-till-signing-secret";
/// What an attacker (or a misconfigured sender) signs with.
const WRONG_SECRET: &str = "not-the-shared-secret";
/// Twice the default tolerance.
const TEN_MINUTES: i64 = 600;

/// The tables a webhook writes to: all must stay empty while only bad input arrives (dead
/// letters are checked through the admin API).
fn record_tables() -> impl Iterator<Item = &'static str> {
    common::RECORD_TABLES.iter().copied().chain(["merges", "merge_blocks", "connector_kv"])
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn hmac_sha256(key: &str, message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Stripe's scheme (also the web's and the till's): `t=<unix secs>,v1=<hex HMAC of "{t}.{body}">`.
fn timestamped(secret: &str, t: i64, body: &[u8]) -> String {
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    format!("t={t},v1={}", hex::encode(hmac_sha256(secret, &signed)))
}

/// How a test request proves where it comes from.
#[derive(Clone, Copy, Debug)]
enum Auth {
    /// Signed (or tokened) with the configured secret, now.
    Valid,
    /// Signed with another secret (another token), now.
    WrongSecret,
    /// No signature header (no token).
    Missing,
    /// Signed with the configured secret, with a timestamp this many seconds from now.
    SignedAt(i64),
    /// The signature header holds exactly this.
    Raw(&'static str),
}

/// The signature header of `connector`, and its secret.
fn scheme(connector: &str) -> (&'static str, &'static str) {
    match connector {
        "shopify" => ("X-Shopify-Hmac-Sha256", SHOPIFY_SECRET),
        "stripe" => ("Stripe-Signature", STRIPE_SECRET),
        "aftership" => ("aftership-hmac-sha256", AFTERSHIP_SECRET),
        "easypost" => ("X-Hmac-Signature", EASYPOST_SECRET),
        "google-business" => ("Authorization", PUSH_TOKEN),
        "web" => ("Switchboard-Signature", WEB_SECRET),
        "till" => ("Switchboard-Signature", TILL_SECRET),
        other => panic!("no signing scheme for `{other}`"),
    }
}

/// The signature header value of `body` for `connector` under `secret`, timestamped `t` where
/// the scheme has a timestamp.
fn signature(connector: &str, secret: &str, t: i64, body: &[u8]) -> String {
    match connector {
        "shopify" | "aftership" => base64(&hmac_sha256(secret, body)),
        "easypost" => format!("hmac-sha256-hex={}", hex::encode(hmac_sha256(secret, body))),
        "stripe" | "web" | "till" => timestamped(secret, t, body),
        other => panic!("`{other}` does not sign bodies"),
    }
}

/// One request the server must refuse (or, for the controls, accept).
struct Case {
    name: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    status: u16,
    message: &'static str,
}

impl Case {
    fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    fn with_header(self, name: &str, value: &str) -> Self {
        let mut case = self.without_header(name);
        case.headers.push((name.to_string(), value.to_string()));
        case
    }

    /// Sends `body` instead of what was signed.
    fn sending(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }
}

/// A good request of a connector, from one of its fixtures: what the bad ones are made from.
struct Template {
    connector: &'static str,
    method: String,
    /// Below `/hooks/{connector}`, without the query.
    route: String,
    /// The fixture's headers without Host, Content-Length and any credentials.
    headers: Vec<(String, String)>,
    body: Value,
}

impl Template {
    fn load(connector: &'static str, fixture: &str) -> Self {
        let path = common::fixture_path(connector, fixture);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let recorded = Recorded::parse(&bytes).unwrap();
        let path = recorded.target.split('?').next().unwrap_or_default();
        let mount = format!("/hooks/{connector}");
        let route = path.strip_prefix(&mount).unwrap_or_else(|| panic!("{fixture}: {path}"));
        let (signature_header, _) = scheme(connector);
        let headers = recorded
            .forwardable_headers()
            .into_iter()
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case(signature_header)
                    && !n.eq_ignore_ascii_case("authorization")
            })
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let body = serde_json::from_slice(&recorded.body)
            .unwrap_or_else(|e| panic!("{connector}/{fixture} has no JSON body: {e}"));
        Template { connector, method: recorded.method, route: route.to_string(), headers, body }
    }

    /// The fixture's body as sent.
    fn good(&self) -> Vec<u8> {
        self.body.to_string().into_bytes()
    }

    /// The body without the field at the JSON `pointer`.
    fn without(&self, pointer: &str) -> Vec<u8> {
        let mut body = self.body.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let removed = body
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .and_then(|object| object.remove(key));
        assert!(removed.is_some(), "{}: the fixture has no {pointer}", self.connector);
        body.to_string().into_bytes()
    }

    /// The body with the field at the JSON `pointer` set to `value`.
    fn with(&self, pointer: &str, value: Value) -> Vec<u8> {
        let mut body = self.body.clone();
        *body.pointer_mut(pointer).unwrap_or_else(|| panic!("{}: no {pointer}", self.connector)) =
            value;
        body.to_string().into_bytes()
    }

    /// The good body cut in the middle: not JSON.
    fn truncated(&self) -> Vec<u8> {
        let mut body = self.good();
        body.truncate(body.len() / 2);
        body
    }

    /// A request with `body`, authenticated as `auth` says, expected to get `status` with a
    /// message containing `message`.
    fn case(
        &self,
        what: &str,
        body: Vec<u8>,
        auth: Auth,
        status: u16,
        message: &'static str,
    ) -> Case {
        let mut path = format!("/hooks/{}{}", self.connector, self.route);
        let mut headers = self.headers.clone();
        let (header, secret) = scheme(self.connector);
        if self.connector == "google-business" {
            // A shared push token in the query string.
            match auth {
                Auth::Valid => path.push_str(&format!("?token={PUSH_TOKEN}")),
                Auth::WrongSecret => path.push_str(&format!("?token={WRONG_SECRET}")),
                Auth::Missing => {}
                Auth::Raw(value) => headers.push((header.to_string(), value.to_string())),
                Auth::SignedAt(_) => panic!("the push token has no timestamp"),
            }
        } else {
            let value = match auth {
                Auth::Valid => Some(signature(self.connector, secret, now(), &body)),
                Auth::WrongSecret => Some(signature(self.connector, WRONG_SECRET, now(), &body)),
                Auth::Missing => None,
                Auth::SignedAt(offset) => {
                    Some(signature(self.connector, secret, now() + offset, &body))
                }
                Auth::Raw(value) => Some(value.to_string()),
            };
            if let Some(value) = value {
                headers.push((header.to_string(), value));
            }
        }
        Case {
            name: format!("{}{}: {what}", self.connector, self.route),
            method: self.method.clone(),
            path,
            headers,
            body,
            status,
            message,
        }
    }
}

const NOT_JSON: &str = "body is not the expected JSON";
const MISMATCH: &str = "signature does not match";
const STALE: &str = "outside the 300 s tolerance";

/// Every bad request, with the status and (part of) the message it must get.
fn bad_cases() -> Vec<Case> {
    let mut cases = Vec::new();

    // Shopify: base64 HMAC-SHA256 of the body in X-Shopify-Hmac-Sha256.
    let order = Template::load("shopify", "orders-create.http");
    cases.extend([
        order.case("wrong signature", order.good(), Auth::WrongSecret, 401, MISMATCH),
        order.case(
            "missing X-Shopify-Hmac-Sha256",
            order.good(),
            Auth::Missing,
            401,
            "missing X-Shopify-Hmac-Sha256",
        ),
        order.case(
            "signature not base64",
            order.good(),
            Auth::Raw("%%not base64%%"),
            401,
            "not valid Base64",
        ),
        order
            .case("body changed after signing", order.good(), Auth::Valid, 401, MISMATCH)
            .sending(order.with("/total_price", json!("0.01"))),
        order
            .case("another shop's domain", order.good(), Auth::Valid, 401, "this connector serves")
            .with_header("X-Shopify-Shop-Domain", "someone-else.myshopify.com"),
        order.case("truncated JSON, signed", order.truncated(), Auth::Valid, 400, NOT_JSON),
        order.case(
            "order without `currency`, signed",
            order.without("/currency"),
            Auth::Valid,
            400,
            "missing field `currency`",
        ),
        order.case(
            // Not bad input (a guest POS sale): acknowledged, so Shopify does not retry it,
            // and not stored — the check after the cases proves it.
            "order without buyer (no customer, e-mail, phone), signed: acknowledged",
            {
                let mut body = order.body.clone();
                for key in [
                    "customer",
                    "email",
                    "contact_email",
                    "phone",
                    "shipping_address",
                    "billing_address",
                ] {
                    body.as_object_mut().unwrap().remove(key);
                }
                body.to_string().into_bytes()
            },
            Auth::Valid,
            200,
            "",
        ),
        order.case(
            "total `25,98`, signed",
            order.with("/total_price", json!("25,98")),
            Auth::Valid,
            400,
            "`25,98` is not an amount of EUR",
        ),
        order
            .case(
                "missing X-Shopify-Topic, signed",
                order.good(),
                Auth::Valid,
                400,
                "X-Shopify-Topic",
            )
            .without_header("X-Shopify-Topic"),
    ]);
    let customer = Template::load("shopify", "customers-update.http");
    cases.push(customer.case(
        "customer without `id`, signed",
        customer.without("/id"),
        Auth::Valid,
        400,
        "missing field `id`",
    ));

    // Stripe: `Stripe-Signature: t=…,v1=…`, 300 s tolerance.
    let paid = Template::load("stripe", "payment-intent-succeeded.http");
    cases.extend([
        paid.case("wrong signature", paid.good(), Auth::WrongSecret, 401, MISMATCH),
        paid.case(
            "missing Stripe-Signature",
            paid.good(),
            Auth::Missing,
            401,
            "missing Stripe-Signature",
        ),
        paid.case("signed 10 minutes ago", paid.good(), Auth::SignedAt(-TEN_MINUTES), 401, STALE),
        paid.case("signed 10 minutes ahead", paid.good(), Auth::SignedAt(TEN_MINUTES), 401, STALE),
        {
            // A request captured 10 minutes ago, replayed with `t` rewritten to now.
            let body = paid.good();
            let old = timestamped(STRIPE_SECRET, now() - TEN_MINUTES, &body);
            let v1 = old.split_once(",v1=").unwrap().1;
            let replayed = format!("t={},v1={v1}", now());
            paid.case("old signature with `t` rewritten to now", body, Auth::Valid, 401, MISMATCH)
                .with_header("Stripe-Signature", &replayed)
        },
        paid.case(
            "header without `t=`",
            paid.good(),
            Auth::Raw("v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"),
            401,
            "no `t=` timestamp",
        ),
        paid.case("truncated JSON, signed", paid.truncated(), Auth::Valid, 400, NOT_JSON),
        paid.case(
            "event without `type`, signed",
            paid.without("/type"),
            Auth::Valid,
            400,
            "missing field `type`",
        ),
        paid.case(
            "payment object without `currency`, signed",
            paid.without("/data/object/currency"),
            Auth::Valid,
            400,
            "is not a payment object: missing field `currency`",
        ),
        paid.case(
            "payment without any amount, signed",
            {
                let mut body = paid.body.clone();
                let object = body.pointer_mut("/data/object").unwrap().as_object_mut().unwrap();
                object.remove("amount");
                object.remove("amount_received");
                body.to_string().into_bytes()
            },
            Auth::Valid,
            400,
            "has no amount",
        ),
        paid.case(
            "payment object with a blank `id`, signed",
            paid.with("/data/object/id", json!("")),
            Auth::Valid,
            400,
            "has an empty id",
        ),
    ]);

    // AfterShip: base64 HMAC-SHA256 in aftership-hmac-sha256.
    let tracking = Template::load("aftership", "in-transit.http");
    cases.extend([
        tracking.case("wrong signature", tracking.good(), Auth::WrongSecret, 401, MISMATCH),
        tracking.case(
            "missing aftership-hmac-sha256",
            tracking.good(),
            Auth::Missing,
            401,
            "missing aftership-hmac-sha256",
        ),
        tracking.case("truncated JSON, signed", tracking.truncated(), Auth::Valid, 400, NOT_JSON),
        tracking.case(
            "tracking without `tracking_number`, signed",
            tracking.without("/msg/tracking_number"),
            Auth::Valid,
            400,
            "missing field `tracking_number`",
        ),
        tracking.case(
            "tracking with a blank `id`, signed",
            tracking.with("/msg/id", json!("")),
            Auth::Valid,
            400,
            "has an empty id",
        ),
    ]);

    // EasyPost: `X-Hmac-Signature: hmac-sha256-hex=<hex>`.
    let tracker = Template::load("easypost", "tracker-updated.http");
    cases.extend([
        tracker.case("wrong signature", tracker.good(), Auth::WrongSecret, 401, MISMATCH),
        tracker.case(
            "missing X-Hmac-Signature",
            tracker.good(),
            Auth::Missing,
            401,
            "missing X-Hmac-Signature",
        ),
        {
            let bare = hex::encode(hmac_sha256(EASYPOST_SECRET, &tracker.good()));
            tracker
                .case(
                    "signature without `hmac-sha256-hex=`",
                    tracker.good(),
                    Auth::Valid,
                    401,
                    "hmac-sha256-hex=",
                )
                .with_header("X-Hmac-Signature", &bare)
        },
        tracker.case("truncated JSON, signed", tracker.truncated(), Auth::Valid, 400, NOT_JSON),
        tracker.case(
            "tracker without `tracking_code`, signed",
            tracker.without("/result/tracking_code"),
            Auth::Valid,
            400,
            "missing field `tracking_code`",
        ),
        tracker.case(
            "tracker with a blank `id`, signed",
            tracker.with("/result/id", json!("")),
            Auth::Valid,
            400,
            "has an empty id",
        ),
    ]);

    // Google Business Profile, Pub/Sub pushes: `?token=`.
    let push = Template::load("google-business", "new-review.http");
    let notification =
        |value: Value| push.with("/message/data", json!(base64(value.to_string().as_bytes())));
    cases.extend([
        push.case("wrong token", push.good(), Auth::WrongSecret, 401, "push token does not match"),
        push.case("missing token", push.good(), Auth::Missing, 401, "missing push token"),
        push.case("truncated JSON, token", push.truncated(), Auth::Valid, 400, NOT_JSON),
        push.case(
            "message without `data`, token",
            push.without("/message/data"),
            Auth::Valid,
            400,
            "Pub/Sub message has no `data`",
        ),
        push.case(
            "`data` not base64, token",
            push.with("/message/data", json!("%%% not base64 %%%")),
            Auth::Valid,
            400,
            "is not base64",
        ),
        push.case(
            "notification without type, token",
            notification(json!({"reviewName": "accounts/1/locations/2/reviews/3"})),
            Auth::Valid,
            400,
            "notification has no type",
        ),
        push.case(
            "NEW_REVIEW naming no review, token",
            notification(json!({"notificationType": "NEW_REVIEW"})),
            Auth::Valid,
            400,
            "names no review",
        ),
    ]);

    // Google Business Profile, leads: `?token=` or `Authorization: Bearer`.
    let lead = Template::load("google-business", "lead-call.http");
    cases.extend([
        lead.case("wrong token", lead.good(), Auth::WrongSecret, 401, "push token does not match"),
        lead.case("missing token", lead.good(), Auth::Missing, 401, "missing push token"),
        lead.case(
            "wrong bearer token",
            lead.good(),
            Auth::Raw("Bearer not-the-push-token"),
            401,
            "push token does not match",
        ),
        lead.case("truncated JSON, token", lead.truncated(), Auth::Valid, 400, NOT_JSON),
        lead.case(
            "lead without `lead_id`, token",
            lead.without("/lead_id"),
            Auth::Valid,
            400,
            "missing field `lead_id`",
        ),
        lead.case(
            "lead without phone or e-mail, token",
            lead.without("/phone"),
            Auth::Valid,
            400,
            "has no phone or e-mail",
        ),
        lead.case(
            "lead of kind `fax`, token",
            lead.with("/kind", json!("fax")),
            Auth::Valid,
            400,
            "expected `call` or `message`",
        ),
        lead.case(
            "lead with a blank `lead_id`, token",
            lead.with("/lead_id", json!("")),
            Auth::Valid,
            400,
            "has an empty id",
        ),
    ]);

    // The web site and the till: `Switchboard-Signature: t=…,v1=…`, 300 s tolerance.
    let web = Template::load("web", "cart-updated.http");
    cases.extend([
        web.case("wrong signature", web.good(), Auth::WrongSecret, 401, MISMATCH),
        web.case(
            "missing Switchboard-Signature",
            web.good(),
            Auth::Missing,
            401,
            "missing Switchboard-Signature",
        ),
        web.case("signed 10 minutes ago", web.good(), Auth::SignedAt(-TEN_MINUTES), 401, STALE),
        web.case("signed 10 minutes ahead", web.good(), Auth::SignedAt(TEN_MINUTES), 401, STALE),
        web.case(
            "header without `v1=`",
            web.good(),
            Auth::Raw("t=1795507121"),
            401,
            "no `v1=` signature",
        ),
        web.case("truncated JSON, signed", web.truncated(), Auth::Valid, 400, NOT_JSON),
        web.case(
            "event without `visitor_id`, signed",
            web.without("/visitor_id"),
            Auth::Valid,
            400,
            "missing field `visitor_id`",
        ),
        web.case(
            "cart_updated without `cart`, signed",
            web.without("/cart"),
            Auth::Valid,
            400,
            "a `cart_updated` event needs `cart`",
        ),
        web.case(
            "`occurred_at` not a date, signed",
            web.with("/occurred_at", json!("yesterday")),
            Auth::Valid,
            400,
            "`yesterday` is not an RFC 3339 date",
        ),
        web.case(
            "event with a blank `visitor_id`, signed",
            web.with("/visitor_id", json!(" ")),
            Auth::Valid,
            400,
            "`visitor_id` is empty",
        ),
    ]);
    let sale = Template::load("till", "sale.http");
    cases.extend([
        sale.case("wrong signature", sale.good(), Auth::WrongSecret, 401, MISMATCH),
        sale.case(
            "missing Switchboard-Signature",
            sale.good(),
            Auth::Missing,
            401,
            "missing Switchboard-Signature",
        ),
        sale.case("signed 10 minutes ago", sale.good(), Auth::SignedAt(-TEN_MINUTES), 401, STALE),
        sale.case("signed 10 minutes ahead", sale.good(), Auth::SignedAt(TEN_MINUTES), 401, STALE),
        sale.case("truncated JSON, signed", sale.truncated(), Auth::Valid, 400, NOT_JSON),
        sale.case("empty body, signed", Vec::new(), Auth::Valid, 400, NOT_JSON),
        sale.case(
            "sale without `sale_id`, signed",
            sale.without("/sale_id"),
            Auth::Valid,
            400,
            "missing field `sale_id`",
        ),
        sale.case(
            "tenders short of the total, signed",
            sale.with("/tenders", json!([{"method": "card", "amount": "30.00"}])),
            Auth::Valid,
            400,
            "tenders add up to 3000, less than the total 3897",
        ),
        sale.case(
            "sale with a blank `sale_id`, signed",
            sale.with("/sale_id", json!("")),
            Auth::Valid,
            400,
            "`sale_id` and `store_id` must not be empty",
        ),
    ]);
    cases
}

/// One valid request per connector (and route), freshly signed: each must be stored.
fn valid_cases() -> Vec<Case> {
    [
        ("shopify", "orders-create.http"),
        ("stripe", "payment-intent-succeeded.http"),
        ("aftership", "in-transit.http"),
        ("easypost", "tracker-updated.http"),
        ("google-business", "new-review.http"),
        ("google-business", "lead-call.http"),
        ("web", "cart-updated.http"),
        ("till", "sale.http"),
    ]
    .into_iter()
    .map(|(connector, fixture)| {
        let template = Template::load(connector, fixture);
        template.case(&format!("valid {fixture}"), template.good(), Auth::Valid, 200, "")
    })
    .collect()
}

/// Sends `case` and says what is wrong with the answer, if anything.
async fn check(base: &str, case: &Case) -> Option<String> {
    let headers: Vec<(&str, &str)> =
        case.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let answer = match client::send(base, &case.method, &case.path, &headers, &case.body).await {
        Ok(answer) => answer,
        Err(error) => return Some(format!("{}: no answer: {error}", case.name)),
    };
    let text = String::from_utf8_lossy(&answer.body);
    let detail = answer.json()["detail"].as_str().unwrap_or_default().to_string();
    if answer.status != case.status || !detail.contains(case.message) {
        return Some(format!(
            "{}: expected {} with a message containing “{}”, got {} {text}",
            case.name, case.status, case.message, answer.status
        ));
    }
    None
}

async fn api(base: &str, path: &str) -> Value {
    let answer = client::request(base, "GET", path, Some(ADMIN), None).await.unwrap();
    assert_eq!(answer.status, 200, "GET {path}: {}", String::from_utf8_lossy(&answer.body));
    answer.json()
}

/// Every dead letter (replayed or not), as `connector: error`.
async fn dead_letters(base: &str) -> Vec<String> {
    let letters = api(base, "/admin/dead-letters?all=true").await;
    letters["dead_letters"]
        .as_array()
        .unwrap_or_else(|| panic!("no dead letter list: {letters}"))
        .iter()
        .map(|l| format!("{}: {}", l["connector_id"].as_str().unwrap_or("?"), l["error"]))
        .collect()
}

/// The rows of each of [`record_tables`] that are not empty.
async fn stored_rows(url: &str) -> Vec<(&'static str, i64)> {
    use sqlx::Connection;
    let mut conn = {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(url).await.unwrap()
    };
    let mut rows = Vec::new();
    for table in record_tables() {
        let (count,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        if count > 0 {
            rows.push((table, count));
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_webhooks_get_a_clear_4xx_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite();
    let google = common::google_reviews_api().await;
    // No `tolerance_secs`: the default 300 s applies.
    let config = common::config_head(&db.url)
        + &format!(
            r#"
[[connector]]
id = "shopify"
plugin = "./shopify.wasm"
[connector.config]
client_secret = "{SHOPIFY_SECRET}"
shop_domain = "{SHOP_DOMAIN}"

[[connector]]
id = "stripe"
plugin = "./stripe.wasm"
[connector.config]
webhook_secret = "{STRIPE_SECRET}"

[[connector]]
id = "aftership"
plugin = "./aftership.wasm"
[connector.config]
webhook_secret = "{AFTERSHIP_SECRET}"

[[connector]]
id = "easypost"
plugin = "./easypost.wasm"
[connector.config]
webhook_secret = "{EASYPOST_SECRET}"

[[connector]]
id = "google-business"
plugin = "./google-business.wasm"
allowed_hosts = ["{google}"]
[connector.config]
push_token = "{PUSH_TOKEN}"
access_token = "ya29.fixture-access-token"
api_base = "{google}"

[[connector]]
id = "web"
plugin = "./web.wasm"
[connector.config]
signing_secret = "{WEB_SECRET}"

[[connector]]
id = "till"
plugin = "./till.wasm"
extra_namespaces = ["web:visitor"]
[connector.config]
signing_secret = "{TILL_SECRET}"
"#
        );
    let plugins = [
        ("shopify.wasm", artifacts::SHOPIFY),
        ("stripe.wasm", artifacts::STRIPE),
        ("aftership.wasm", artifacts::AFTERSHIP),
        ("easypost.wasm", artifacts::EASYPOST),
        ("google-business.wasm", artifacts::GOOGLE_BUSINESS),
        ("web.wasm", artifacts::WEB),
        ("till.wasm", artifacts::TILL),
    ];
    let (server, base) = common::start_server(dir.path(), &plugins, &config).await;
    let mut failures = Vec::new();

    // Every bad request: the right status and message.
    let cases = bad_cases();
    for case in &cases {
        failures.extend(check(&base, case).await);
    }

    // Nothing stored, nothing kept for replay.
    let stats = api(&base, "/api/stats").await;
    if stats != json!({"customers": 0, "merges": 0, "connectors": {}}) {
        failures.push(format!("after the bad requests, /api/stats is not empty: {stats}"));
    }
    let kept = dead_letters(&base).await;
    if !kept.is_empty() {
        failures.push(format!("after the bad requests, dead letters: {}", kept.join("; ")));
    }
    let rows = stored_rows(&db.url).await;
    if !rows.is_empty() {
        failures.push(format!("after the bad requests, the store holds rows: {rows:?}"));
    }

    // The control: the same connectors accept and store a correctly signed request.
    for case in valid_cases() {
        failures.extend(check(&base, &case).await);
    }
    let stats = api(&base, "/api/stats").await;
    for (connector, field) in [
        ("shopify", "orders"),
        ("stripe", "payments"),
        ("aftership", "customers"),
        ("google-business", "interactions"),
        ("web", "interactions"),
        ("till", "orders"),
        ("till", "payments"),
    ] {
        if stats["connectors"][connector][field].as_i64().unwrap_or(0) < 1 {
            failures.push(format!("after the valid requests, no {connector} {field}: {stats}"));
        }
    }
    if stats["connectors"]["google-business"]["interactions"].as_i64() != Some(2) {
        failures.push(format!("the review and the lead are two google-business records: {stats}"));
    }
    // EasyPost names no customer, so its shipment shows in no statistic: count it in the store.
    {
        use sqlx::Connection;
        let mut conn = {
            sqlx::any::install_default_drivers();
            sqlx::AnyConnection::connect(&db.url).await.unwrap()
        };
        let (shipments,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM shipments WHERE connector_id = 'easypost'")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        if shipments != 1 {
            failures.push(format!("the valid easypost tracker stored {shipments} shipments"));
        }
    }
    let added = dead_letters(&base).await.len() - kept.len();
    if added > 0 {
        failures.push(format!("the valid requests left {added} dead letter(s)"));
    }
    server.shutdown().await;

    assert!(
        failures.is_empty(),
        "{} problem(s) over {} bad requests and their controls:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
