//! The bundled Google Business Profile connector: Pub/Sub pushes authenticated by the shared
//! token, reviews fetched from a local server that answers like the Business Profile API, and
//! calls forwarded from the map listing.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use switchboard::model::{
    ContactPoint, Event, HttpRequest, Identifier, Interaction, InteractionKind, Provenance,
};
use switchboard::runtime::LoadedConnector;
use switchboard_test_artifacts as artifacts;

const REVIEW: &str =
    "accounts/108374512345678901234/locations/3456789012345678901/reviews/AbFvOqmB7xK2pQ9sLzR4tW";
const LOCATION: &str = "accounts/108374512345678901234/locations/3456789012345678901";
/// The access token the simulated API accepts (and the simulated token endpoint grants).
const ACCESS_TOKEN: &str = "ya29.fixture-access-token";
/// The OAuth client and refresh token the simulated token endpoint knows.
const CLIENT_ID: &str = "402615963748-fixture0switchboard.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "GOCSPX-fixtureClientSecret0000";
const REFRESH_TOKEN: &str = "1//09fixtureRefreshTokenCgYIARAAGAkSNwF-L9Ir";

/// A request to the token endpoint: its content type and form fields.
type TokenRequest = (String, Vec<(String, String)>);

/// What the simulated Google saw, and the other reviews it knows.
#[derive(Default)]
struct Api {
    /// Names of the reviews fetched, in order.
    fetches: Mutex<Vec<String>>,
    /// Each token request: its content type and form fields.
    token_requests: Mutex<Vec<TokenRequest>>,
    /// Reviews other than [`REVIEW`], by name.
    others: Mutex<HashMap<String, Value>>,
}

fn api_error(status: StatusCode, message: &str, reason: &str) -> Response {
    let error = json!({"error": {"code": status.as_u16(), "message": message, "status": reason}});
    (status, axum::Json(error)).into_response()
}

/// The review as `GET /v4/{name}` returns it (Business Profile API v4 `Review`); the second
/// fetch sees the owner's reply and an edited text. Every authenticated fetch is recorded,
/// including those of reviews it does not know (404).
async fn review(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if headers.get("authorization").map(|v| v.as_bytes())
        != Some(format!("Bearer {ACCESS_TOKEN}").as_bytes())
    {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "Request had invalid authentication credentials.",
            "UNAUTHENTICATED",
        );
    }
    let updated = {
        let mut fetches = api.fetches.lock().unwrap();
        fetches.push(name.clone());
        fetches.iter().filter(|n| *n == REVIEW).count() > 1
    };
    if let Some(other) = api.others.lock().unwrap().get(&name) {
        return axum::Json(other.clone()).into_response();
    }
    if name != REVIEW {
        return api_error(StatusCode::NOT_FOUND, "Requested entity was not found.", "NOT_FOUND");
    }
    axum::Json(json!({
        "name": name,
        "reviewId": "AbFvOqmB7xK2pQ9sLzR4tW",
        "reviewer": {
            "profilePhotoUrl": "https://lh3.googleusercontent.com/a-/ALV-UjXq0fixtureReviewer=s120-c-rp-mo-br100",
            "displayName": "Claire D.",
            "isAnonymous": false
        },
        "starRating": if updated { "FIVE" } else { "FOUR" },
        "comment": if updated { "Très beaux mugs, accueil adorable. Merci !" } else { "Très beaux mugs, un peu d'attente." },
        "createTime": "2026-11-26T14:58:02.118Z",
        "updateTime": if updated { "2026-11-27T08:01:40.204Z" } else { "2026-11-26T14:58:02.118Z" },
        "reviewReply": if updated { json!({"comment": "Merci Claire !", "updateTime": "2026-11-26T18:00:00Z"}) } else { Value::Null }
    }))
    .into_response()
}

/// Google's OAuth token endpoint for the refresh-token grant: a form in, the documented JSON
/// out (`access_token`, `expires_in`, `token_type`, `scope`), or `invalid_grant` for a refresh
/// token it does not know.
async fn token(State(api): State<Arc<Api>>, headers: HeaderMap, body: String) -> Response {
    let form: Vec<(String, String)> =
        form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let content_type =
        headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    api.token_requests.lock().unwrap().push((content_type, form.clone()));
    let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    if field("grant_type") == Some("refresh_token")
        && field("refresh_token") == Some(REFRESH_TOKEN)
        && field("client_id") == Some(CLIENT_ID)
        && field("client_secret") == Some(CLIENT_SECRET)
    {
        axum::Json(json!({
            "access_token": ACCESS_TOKEN,
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/business.manage"
        }))
        .into_response()
    } else {
        let error = json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."});
        (StatusCode::BAD_REQUEST, axum::Json(error)).into_response()
    }
}

/// The simulated Business Profile API and token endpoint, and what they see.
async fn api() -> (String, Arc<Api>) {
    let api = Arc::new(Api::default());
    let router = axum::Router::new()
        .route("/v4/{*name}", axum::routing::get(review))
        .route("/token", axum::routing::post(token))
        .with_state(api.clone());
    (common::serve(router).await, api)
}

/// The connector with the push token, `config` and the simulated API (`api_base` unless
/// `config` gives one) allowed.
async fn google_with(base: &str, config: &[(&str, &str)]) -> LoadedConnector {
    let mut settings = vec![("push_token", "fixture-push-token")];
    if !config.iter().any(|(k, _)| *k == "api_base") {
        settings.push(("api_base", base));
    }
    settings.extend_from_slice(config);
    common::plugin(artifacts::GOOGLE_BUSINESS, "google-business", &settings, &[base]).await
}

async fn google() -> (LoadedConnector, Arc<Api>) {
    let (base, api) = api().await;
    (google_with(&base, &[("access_token", ACCESS_TOKEN)]).await, api)
}

async fn interaction(connector: &LoadedConnector, name: &str) -> Interaction {
    match connector
        .handle_webhook(common::fixture("google-business", name))
        .await
        .unwrap()
        .events
        .as_slice()
    {
        [Event::Interaction(i)] => i.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn attr<'a>(i: &'a Interaction, key: &str) -> Option<&'a str> {
    i.attributes.iter().find(|a| a.key == key).map(|a| a.value.as_str())
}

#[tokio::test]
async fn review_notifications_fetch_the_review() {
    let (connector, api) = google().await;
    let fetches = &api.fetches;
    // API v4 field names (notificationType, reviewName, locationName).
    let new = interaction(&connector, "new-review.http").await;
    assert_eq!(fetches.lock().unwrap().as_slice(), [REVIEW]);
    assert_eq!((new.kind, new.channel.as_str()), (InteractionKind::Review, "maps"));
    assert_eq!(new.provider_id, REVIEW);
    assert_eq!(attr(&new, "rating"), Some("4"));
    assert_eq!(new.text.as_deref(), Some("Très beaux mugs, un peu d'attente."));
    assert_eq!(new.contact.display_name.as_deref(), Some("Claire D."));
    let [ContactPoint { identifier: Identifier::External { namespace, value }, provenance }] =
        new.contact.identifiers.as_slice()
    else {
        panic!("{:?}", new.contact.identifiers)
    };
    assert_eq!(*provenance, Provenance::Verified);
    assert_eq!(namespace, "google:reviewer");
    assert!(value.starts_with("photo-"), "{value}");
    // The other field spelling (type, review_name): the same review, amended.
    let updated = interaction(&connector, "updated-review.http").await;
    assert_eq!(updated.provider_id, new.provider_id);
    assert_eq!(updated.contact.identifiers, new.contact.identifiers, "the same reviewer");
    assert_eq!((attr(&updated, "rating"), updated.status.as_deref()), (Some("5"), Some("replied")));
    assert!(updated.occurred_at > new.occurred_at);
    // Other notification types are acknowledged without a fetch.
    let question = connector
        .handle_webhook(common::fixture("google-business", "new-question.http"))
        .await
        .unwrap();
    assert_eq!((question.response.status, question.events.len()), (200, 0));
    assert_eq!(fetches.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn pushes_and_leads_are_authenticated_and_checked() {
    let (connector, _) = google().await;
    for (name, kind) in [
        ("wrong-token.http", "unauthorized"),
        ("malformed-data.http", "bad_request"),
        ("lead-missing-phone.http", "bad_request"),
    ] {
        let error =
            connector.handle_webhook(common::fixture("google-business", name)).await.unwrap_err();
        assert_eq!(common::kind(&error), kind, "{name}: {error}");
    }
    // A wrong access token is the operator's to fix: the API answers 401 (the host lets the
    // call through), and the push is retried by Pub/Sub.
    let (base, api) = api().await;
    let stale = google_with(&base, &[("access_token", "expired")]).await;
    let error = stale
        .handle_webhook(common::fixture("google-business", "new-review.http"))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&error), "config", "{error}");
    assert!(error.to_string().contains("401"), "the API's own refusal: {error}");
    assert!(api.fetches.lock().unwrap().is_empty());
}

/// A Pub/Sub push of the Business Profile notification `notification`, as the push
/// subscription delivers it.
fn push(notification: Value) -> HttpRequest {
    let data = base64::engine::general_purpose::STANDARD.encode(notification.to_string());
    let body = json!({
        "message": {
            "attributes": {},
            "data": data,
            "messageId": "13277890011799104",
            "message_id": "13277890011799104",
            "publishTime": "2026-11-27T09:12:40.551Z",
            "publish_time": "2026-11-27T09:12:40.551Z"
        },
        "subscription": "projects/atelier-lumiere-crm/subscriptions/gbp-notifications"
    });
    HttpRequest {
        method: "POST".into(),
        url: "https://crm.example.com/hooks/google-business?token=fixture-push-token".into(),
        route: "/".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
        received_at: switchboard::store::now_millis(),
    }
}

fn new_review(name: &str) -> HttpRequest {
    push(json!({"notificationType": "NEW_REVIEW", "reviewName": name, "locationName": LOCATION}))
}

#[tokio::test]
async fn access_tokens_are_refreshed_through_oauth_and_kept() {
    let (base, api) = api().await;
    let token_url = format!("{base}/token");
    let oauth = [
        ("refresh_token", REFRESH_TOKEN),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("token_url", token_url.as_str()),
    ];
    // No `access_token` configured: the only bearer the API accepts is the one granted.
    let connector = google_with(&base, &oauth).await;
    let new = interaction(&connector, "new-review.http").await;
    assert_eq!(new.provider_id, REVIEW);
    assert_eq!(api.fetches.lock().unwrap().as_slice(), [REVIEW]);
    {
        let requests = api.token_requests.lock().unwrap();
        let [(content_type, form)] = requests.as_slice() else { panic!("{requests:?}") };
        assert!(content_type.starts_with("application/x-www-form-urlencoded"), "{content_type}");
        let mut form = form.clone();
        form.sort();
        let expected = [
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", REFRESH_TOKEN),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(form, expected);
    }
    // The granted token lasts an hour: the next notification uses it without asking again.
    let updated = interaction(&connector, "updated-review.http").await;
    assert_eq!(attr(&updated, "rating"), Some("5"));
    assert_eq!(api.fetches.lock().unwrap().len(), 2);
    assert_eq!(api.token_requests.lock().unwrap().len(), 1, "the token is kept");

    // A revoked refresh token is the operator's to fix.
    let revoked_oauth = [
        ("refresh_token", "1//09revokedRefreshToken"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("token_url", token_url.as_str()),
    ];
    let revoked = google_with(&base, &revoked_oauth).await;
    let error = revoked
        .handle_webhook(common::fixture("google-business", "new-review.http"))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&error), "config", "{error}");
    assert_eq!(api.token_requests.lock().unwrap().len(), 2);
    assert_eq!(api.fetches.lock().unwrap().len(), 2, "no fetch without a token");
}

#[tokio::test]
async fn a_review_deleted_before_its_fetch_is_acknowledged() {
    let (connector, api) = google().await;
    let deleted = format!("{LOCATION}/reviews/AbFvOqmDeletedBeforeFetch9x");
    let outcome = connector.handle_webhook(new_review(&deleted)).await.unwrap();
    assert_eq!((outcome.response.status, outcome.events.len()), (200, 0));
    // It was asked for, and the API answered 404.
    assert_eq!(api.fetches.lock().unwrap().as_slice(), [deleted]);
}

#[tokio::test]
async fn an_api_base_ending_in_v4_is_accepted() {
    let (base, api) = api().await;
    for api_base in [format!("{base}/v4"), format!("{base}/v4/")] {
        let connector =
            google_with(&base, &[("access_token", ACCESS_TOKEN), ("api_base", api_base.as_str())])
                .await;
        let review = interaction(&connector, "new-review.http").await;
        assert_eq!(review.provider_id, REVIEW, "{api_base}");
    }
    assert_eq!(api.fetches.lock().unwrap().as_slice(), [REVIEW, REVIEW]);
}

#[tokio::test]
async fn reviewers_sharing_the_default_avatar_are_kept_apart() {
    let (connector, api) = google().await;
    // Google's default profile photo, the same URL for everyone who never set one.
    let avatar = "https://lh3.googleusercontent.com/-XdUIqdMkCWA/AAAAAAAAAAI/AAAAAAAAAAA/4252rscbv5M/photo.jpg";
    let names = [
        (format!("{LOCATION}/reviews/AbFvOqnR2mK8sT4uVwX6yZ"), "Marc T."),
        (format!("{LOCATION}/reviews/AbFvOqpL9nB3cD5eFgH7jK"), "Sophie B."),
    ];
    for (id, (name, reviewer)) in names.iter().enumerate() {
        api.others.lock().unwrap().insert(
            name.clone(),
            json!({
                "name": name,
                "reviewId": name.rsplit('/').next(),
                "reviewer": {"profilePhotoUrl": avatar, "displayName": reviewer, "isAnonymous": false},
                "starRating": if id == 0 { "THREE" } else { "FIVE" },
                "comment": "Joli magasin.",
                "createTime": "2026-11-27T09:10:00.000Z",
                "updateTime": "2026-11-27T09:10:00.000Z"
            }),
        );
    }
    let mut ids = Vec::new();
    for (name, reviewer) in &names {
        let outcome = connector.handle_webhook(new_review(name)).await.unwrap();
        let [Event::Interaction(review)] = outcome.events.as_slice() else {
            panic!("{:?}", outcome.events)
        };
        assert_eq!(review.contact.display_name.as_deref(), Some(*reviewer));
        let [ContactPoint { identifier: Identifier::External { namespace, value }, .. }] =
            review.contact.identifiers.as_slice()
        else {
            panic!("{:?}", review.contact.identifiers)
        };
        assert_eq!(namespace, "google:reviewer");
        assert!(value.starts_with("photo-"), "known by name and photo: {value}");
        ids.push(value.clone());
    }
    assert_ne!(ids[0], ids[1], "two people, two contacts");
}

#[tokio::test]
async fn a_call_from_the_listing_is_a_call_interaction() {
    let (connector, _) = google().await;
    let call = interaction(&connector, "lead-call.http").await;
    assert_eq!((call.kind, call.channel.as_str()), (InteractionKind::Call, "maps"));
    assert_eq!(call.contact.identifiers, [Identifier::phone("+33 6 12 34 56 78").verified()]);
    assert_eq!(attr(&call, "duration_secs"), Some("142"));
    assert_eq!(attr(&call, "source"), Some("maps"));
    assert_eq!(call.subject.as_deref(), Some("Atelier Lumière – Lyon Presqu'île"));
}

/// A Nominatim-compatible `/search` that knows one street, and checks the structured query.
async fn nominatim() -> String {
    let search = |axum::extract::Query(query): axum::extract::Query<
        std::collections::HashMap<String, String>,
    >| async move {
        assert_eq!(query.get("format").map(String::as_str), Some("jsonv2"), "{query:?}");
        if query.get("street").map(String::as_str) == Some("12 rue de la République, 3e étage")
            && query.get("city").map(String::as_str) == Some("Lyon")
            && query.get("countrycodes").map(String::as_str) == Some("fr")
        {
            axum::Json(json!([{
                "place_id": 98211467, "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
                "osm_type": "node", "osm_id": 3_620_581_226_u64, "lat": "45.7605432", "lon": "4.8357809",
                "category": "place", "type": "house", "place_rank": 30, "importance": 0.00000999999999995449,
                "addresstype": "place", "name": "",
                "display_name": "12, Rue de la République, Cordeliers, Lyon 2e Arrondissement, Lyon, Métropole de Lyon, Rhône, Auvergne-Rhône-Alpes, France métropolitaine, 69002, France",
                "boundingbox": ["45.7604932", "45.7605932", "4.8357309", "4.8358309"]
            }]))
        } else {
            axum::Json(json!([]))
        }
    };
    common::serve(axum::Router::new().route("/search", axum::routing::get(search))).await
}

fn address(street: &str) -> switchboard::model::Address {
    switchboard::model::Address {
        name: Some("Ann Lee".into()),
        line1: Some(street.into()),
        line2: Some("3e étage".into()),
        city: Some("Lyon".into()),
        region: None,
        postal_code: Some("69002".into()),
        country: Some("FR".into()),
        phone: None,
        email: None,
    }
}

#[tokio::test]
async fn addresses_are_placed_through_the_configured_geocoder() {
    let geocoder = nominatim().await;
    let connector = common::plugin(
        artifacts::GOOGLE_BUSINESS,
        "google-business",
        &[("push_token", "fixture-push-token"), ("geocoder_url", &geocoder)],
        &[&geocoder],
    )
    .await;
    assert!(connector.manifest().capabilities.geocode);
    let point = connector.geocode(address("12 rue de la République")).await.unwrap().unwrap();
    assert_eq!((point.latitude, point.longitude), (45.7605432, 4.8357809));
    assert!(point.display_name.unwrap().contains("Lyon"));
    assert_eq!(connector.geocode(address("1 impasse Inconnue")).await.unwrap(), None);
    // Without a geocoder configured, it does not geocode (the host then asks no one).
    let unconfigured = common::plugin(
        artifacts::GOOGLE_BUSINESS,
        "google-business",
        &[("push_token", "fixture-push-token")],
        &[],
    )
    .await;
    let error = unconfigured.geocode(address("12 rue de la République")).await.unwrap_err();
    assert_eq!(common::kind(&error), "unsupported", "{error}");
}
