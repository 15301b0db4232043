//! The bundled Google Business Profile connector: Pub/Sub pushes authenticated by the shared
//! token, reviews fetched from a local server that answers like the Business Profile API, and
//! calls forwarded from the map listing.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard::model::{Event, Identifier, Interaction, InteractionKind};
use switchboard::runtime::LoadedConnector;
use switchboard_test_artifacts as artifacts;

const REVIEW: &str =
    "accounts/108374512345678901234/locations/3456789012345678901/reviews/AbFvOqmB7xK2pQ9sLzR4tW";

/// The review as `GET /v4/{name}` returns it (Business Profile API v4 `Review`); the second
/// fetch sees the owner's reply and an edited text.
async fn review(
    State(fetches): State<Arc<Mutex<Vec<String>>>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if headers.get("authorization").map(|v| v.as_bytes())
        != Some(b"Bearer ya29.fixture-access-token")
    {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}))).into_response();
    }
    if name != REVIEW {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}))).into_response();
    }
    let mut fetches = fetches.lock().unwrap();
    fetches.push(name.clone());
    let updated = fetches.len() > 1;
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
        "reviewReply": if updated { json!({"comment": "Merci Claire !", "updateTime": "2026-11-26T18:00:00Z"}) } else { serde_json::Value::Null }
    }))
    .into_response()
}

async fn google() -> (LoadedConnector, Arc<Mutex<Vec<String>>>) {
    let fetches = Arc::new(Mutex::new(Vec::new()));
    let router = axum::Router::new()
        .route("/v4/{*name}", axum::routing::get(review))
        .with_state(fetches.clone());
    let base = common::serve(router).await;
    let connector = common::plugin(
        artifacts::GOOGLE_BUSINESS,
        "google-business",
        &[
            ("push_token", "fixture-push-token"),
            ("access_token", "ya29.fixture-access-token"),
            ("api_base", &base),
        ],
        &[&base],
    )
    .await;
    (connector, fetches)
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
    let (connector, fetches) = google().await;
    // API v4 field names (notificationType, reviewName, locationName).
    let new = interaction(&connector, "new-review.http").await;
    assert_eq!(fetches.lock().unwrap().as_slice(), [REVIEW]);
    assert_eq!((new.kind, new.channel.as_str()), (InteractionKind::Review, "maps"));
    assert_eq!(new.provider_id, REVIEW);
    assert_eq!(attr(&new, "rating"), Some("4"));
    assert_eq!(new.text.as_deref(), Some("Très beaux mugs, un peu d'attente."));
    assert_eq!(new.contact.display_name.as_deref(), Some("Claire D."));
    let [Identifier::External { namespace, value }] = new.contact.identifiers.as_slice() else {
        panic!("{:?}", new.contact.identifiers)
    };
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
    // A wrong access token is the operator's to fix: the push is retried by Pub/Sub.
    let stale = common::plugin(
        artifacts::GOOGLE_BUSINESS,
        "google-business",
        &[("push_token", "fixture-push-token"), ("access_token", "expired")],
        &[],
    )
    .await;
    let error = stale
        .handle_webhook(common::fixture("google-business", "new-review.http"))
        .await
        .unwrap_err();
    assert_eq!(common::kind(&error), "config", "{error}");
}

#[tokio::test]
async fn a_call_from_the_listing_is_a_call_interaction() {
    let (connector, _) = google().await;
    let call = interaction(&connector, "lead-call.http").await;
    assert_eq!((call.kind, call.channel.as_str()), (InteractionKind::Call, "maps"));
    assert_eq!(call.contact.identifiers, [Identifier::Phone { value: "+33 6 12 34 56 78".into() }]);
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
