//! Google Business Profile (the shop's listing on Google Maps): reviews, and the calls and
//! messages the listing forwards.
//!
//! **Reviews.** Business Profile publishes notifications to a Pub/Sub topic; a push
//! subscription posts them to `/hooks/google-business?token=<push_token>` as
//! `{"message": {"data": "<base64 JSON>", "messageId": …, "publishTime": …}, "subscription": …}`.
//! The push is authenticated by that shared token, compared in constant time (Pub/Sub's
//! documented pattern for endpoints that do not verify Google's OIDC JWT; verifying the JWT
//! would need Google's signing keys fetched at run time, which this connector does not do).
//! The notification names its type and the review's resource name; field names differ between
//! the API generations (`type`/`notificationType`, `review`/`reviewName`/`review_name`…), so
//! all are accepted. For `NEW_REVIEW` and `UPDATED_REVIEW` the connector fetches the review
//! (`GET {api_base}/v4/{reviewName}`, bearer `access_token`) and reports a `review`
//! interaction with the star rating and text; the reviewer becomes a contact
//! `google:reviewer:<id>`. Google does not expose a reviewer id: the id is the reviewer's own
//! when a payload carries one, else a digest of their display name and profile photo URL
//! (stable per Google account; the name keeps two people with Google's default avatar apart),
//! else — anonymous reviewers — the review's id. A review deleted before it could be fetched
//! (404) is acknowledged, so Pub/Sub stops redelivering it. Other notification types are
//! acknowledged and logged. `api_base` defaults to `https://mybusiness.googleapis.com` (a
//! trailing `/v4` is accepted too).
//!
//! **API credentials.** Google access tokens last an hour, so for a long-running deployment set
//! `refresh_token`, `client_id` and `client_secret` (an OAuth client with the
//! `business.manage` scope): the connector then gets access tokens from `token_url` (default
//! `https://oauth2.googleapis.com/token`, which must be in `allowed_hosts`) and keeps each in
//! its state until a minute before it expires. Without them, `access_token` is used as is.
//!
//! **Geocoding.** With `geocoder_url` set (a Nominatim-compatible API, e.g.
//! `https://nominatim.openstreetmap.org`, listed in `allowed_hosts`), the connector places
//! addresses for the host, which asks it for the delivery address of every order any
//! connector reports and stores the point on the order.
//!
//! **Leads.** `POST /hooks/google-business/lead?token=<push_token>` (or `Authorization:
//! Bearer <push_token>`) with `{"lead_id", "kind": "call"|"message", "name", "phone", "listing",
//! "source": "maps", "occurred_at", "duration_secs", "message"}` — what a call-tracking number
//! or messaging integration on the listing forwards — becomes a `call` (or `message`)
//! interaction with the caller, found or created by phone.
use serde::Deserialize;
use switchboard_sdk::host::kv;
use switchboard_sdk::http;
use switchboard_sdk::prelude::*;
use switchboard_sdk::signature::{secrets_equal, sha256_hex};
use switchboard_sdk::time;

/// Google reviewers, as Google shows them.
const REVIEWER: &str = "google:reviewer";

struct GoogleBusiness;

const API_BASE: &str = "https://mybusiness.googleapis.com";
/// Google's OAuth token endpoint, for the refresh-token grant.
const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Where the current access token and its expiry are kept between calls.
const TOKEN_KEY: &str = "oauth_access_token";

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; Google grants 3599.
    expires_in: Option<i64>,
}

/// A Pub/Sub push body. Pub/Sub sends `messageId` *and* `message_id` (and both publish
/// times), so the message stays a loose JSON object read with [`field`].
#[derive(Deserialize)]
struct Push {
    message: Value,
}

#[derive(Deserialize)]
struct Review {
    name: String,
    #[serde(rename = "reviewId")]
    review_id: Option<String>,
    reviewer: Option<Reviewer>,
    #[serde(rename = "starRating")]
    star_rating: Option<String>,
    comment: Option<String>,
    #[serde(rename = "createTime")]
    create_time: Option<String>,
    #[serde(rename = "updateTime")]
    update_time: Option<String>,
    #[serde(rename = "reviewReply")]
    review_reply: Option<Value>,
}

#[derive(Deserialize)]
struct Reviewer {
    #[serde(alias = "reviewerId", alias = "id")]
    id: Option<String>,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
    #[serde(rename = "profilePhotoUrl")]
    profile_photo_url: Option<String>,
    #[serde(rename = "isAnonymous", default)]
    is_anonymous: bool,
}

#[derive(Deserialize)]
struct Lead {
    lead_id: String,
    #[serde(default = "call")]
    kind: String,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    listing: Option<String>,
    source: Option<String>,
    occurred_at: String,
    duration_secs: Option<u64>,
    message: Option<String>,
}

fn call() -> String {
    "call".into()
}

/// The shared token, from `?token=` or `Authorization: Bearer`.
fn authenticate(request: &HttpRequest) -> Result<(), ConnectorError> {
    let expected = require_config("push_token")?;
    let query = request.query();
    let given = query
        .get("token")
        .map(str::to_string)
        .or_else(|| {
            request
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(str::to_string)
        })
        .ok_or_else(|| ConnectorError::Unauthorized("missing push token (`?token=`)".into()))?;
    if !secrets_equal(given.trim().as_bytes(), expected.trim().as_bytes()) {
        return Err(ConnectorError::Unauthorized("push token does not match `push_token`".into()));
    }
    Ok(())
}

/// The first of `keys` that is a string in `object`.
fn field<'a>(object: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| object.get(*k).and_then(Value::as_str)).filter(|v| !v.is_empty())
}

fn rating(star: &str) -> Option<u8> {
    Some(match star {
        "ONE" => 1,
        "TWO" => 2,
        "THREE" => 3,
        "FOUR" => 4,
        "FIVE" => 5,
        _ => return None,
    })
}

/// A bearer token for the Business Profile API: refreshed through OAuth when a refresh token
/// is configured (cached until a minute before it expires), else the configured one.
fn access_token() -> Result<String, ConnectorError> {
    let Some(refresh_token) = config("refresh_token").filter(|t| !t.trim().is_empty()) else {
        return require_config("access_token");
    };
    let now = time::now_millis();
    if let Some(cached) = kv::get_string(TOKEN_KEY)?
        && let Some((expires, token)) = cached.split_once(' ')
        && expires.parse::<i64>().is_ok_and(|expires| expires - 60_000 > now)
    {
        return Ok(token.to_string());
    }
    let client_id = require_config("client_id")?;
    let client_secret = require_config("client_secret")?;
    let url = config("token_url").unwrap_or_else(|| TOKEN_URL.into());
    let response = http::post(&url)
        .form([
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.trim()),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
        ])
        .send()?;
    if response.status == 400 || response.status == 401 {
        // `invalid_grant` (revoked or expired refresh token) or `invalid_client`.
        return Err(ConnectorError::Config(format!(
            "Google refused the refresh token: {}",
            response.text()
        )));
    }
    let token: TokenResponse = response.error_for_status()?.json()?;
    let expires = now + token.expires_in.unwrap_or(3599) * 1000;
    kv::set(TOKEN_KEY, format!("{expires} {}", token.access_token))?;
    Ok(token.access_token)
}

/// The review, or `None` when it was deleted since the notification.
fn fetch_review(name: &str) -> Result<Option<Review>, ConnectorError> {
    let segments: Vec<&str> = name.split('/').collect();
    let well_formed = matches!(segments.as_slice(), ["accounts", a, "locations", l, "reviews", r]
        if [a, l, r].iter().all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')));
    if !well_formed {
        return Err(ConnectorError::BadRequest(format!(
            "`{name}` is not a review resource name (accounts/…/locations/…/reviews/…)"
        )));
    }
    let token = access_token()?;
    let base = config("api_base").unwrap_or_else(|| API_BASE.into());
    let base = base.trim_end_matches('/');
    let base = base.strip_suffix("/v4").unwrap_or(base);
    let response = http::get(&format!("{base}/v4/{name}")).bearer(&token).send()?;
    match response.status {
        404 => {
            log(
                switchboard_sdk::host::LogLevel::Info,
                &format!("review `{name}` no longer exists: acknowledged, nothing recorded"),
            );
            Ok(None)
        }
        401 if config("refresh_token").is_some() => {
            // Revoked early: the next delivery gets a new token.
            kv::delete(TOKEN_KEY)?;
            Err(ConnectorError::Transient("the access token was refused; it is renewed".into()))
        }
        _ => Ok(Some(response.error_for_status()?.json()?)),
    }
}

fn review_event(review: Review, location: Option<&str>) -> Result<Interaction, ConnectorError> {
    let review_id = review
        .review_id
        .clone()
        .unwrap_or_else(|| review.name.rsplit('/').next().unwrap_or(&review.name).to_string());
    let reviewer = review.reviewer.as_ref();
    let reviewer_id = match reviewer {
        Some(r) if r.id.is_some() => r.id.clone().unwrap_or_default(),
        Some(r) if !r.is_anonymous && r.profile_photo_url.is_some() => {
            let url = r.profile_photo_url.as_deref().unwrap_or_default();
            // The photo URL's size suffix (`=s120-c…`) varies; the account part does not.
            let account = url.split('=').next().unwrap_or(url);
            let name = r.display_name.as_deref().unwrap_or_default();
            format!("photo-{}", &sha256_hex(format!("{name}\n{account}").as_bytes())[..24])
        }
        _ => format!("review-{review_id}"),
    };
    let mut contact = Contact::new().external(REVIEWER, &reviewer_id);
    if let Some(name) = reviewer
        .and_then(|r| r.display_name.as_deref())
        .filter(|_| !reviewer.is_some_and(|r| r.is_anonymous))
    {
        contact = contact.name(name);
    }
    let at = match review.update_time.as_deref().or(review.create_time.as_deref()) {
        Some(at) => time::parse_rfc3339(at)?,
        None => time::now_millis(),
    };
    let mut interaction = Interaction::new(InteractionKind::Review, "maps", &review.name, contact)
        .at(at)
        .status(if review.review_reply.is_some() { "replied" } else { "unanswered" })
        .attr("review_id", &review_id);
    if let Some(comment) = review.comment.as_deref().filter(|c| !c.trim().is_empty()) {
        interaction = interaction.text(comment);
    }
    if let Some(stars) = review.star_rating.as_deref().and_then(rating) {
        interaction = interaction.attr("rating", &stars.to_string());
    }
    if let Some(location) = location {
        interaction = interaction.attr("location", location);
    }
    Ok(interaction)
}

fn notification(request: &HttpRequest) -> Result<Vec<Event>, ConnectorError> {
    let push: Push = request.json()?;
    let data = field(&push.message, &["data"])
        .ok_or_else(|| ConnectorError::BadRequest("Pub/Sub message has no `data`".into()))?;
    let decoded = switchboard_sdk::base64_decode(data)
        .ok_or_else(|| ConnectorError::BadRequest("Pub/Sub `message.data` is not base64".into()))?;
    let notification: Value = serde_json::from_slice(&decoded).map_err(|e| {
        ConnectorError::BadRequest(format!(
            "Pub/Sub `message.data` is not a JSON notification: {e}"
        ))
    })?;
    let kind = field(&notification, &["notificationType", "type", "notification_type"])
        .ok_or_else(|| {
            ConnectorError::BadRequest(format!("notification has no type: {notification}"))
        })?;
    let location = field(&notification, &["locationName", "location", "location_name"]);
    match kind {
        "NEW_REVIEW" | "UPDATED_REVIEW" => {
            let name =
                field(&notification, &["reviewName", "review", "review_name", "resourceName"])
                    .ok_or_else(|| {
                        ConnectorError::BadRequest(format!(
                            "{kind} notification names no review: {notification}"
                        ))
                    })?;
            match fetch_review(name)? {
                Some(review) => Ok(vec![review_event(review, location)?.into()]),
                None => Ok(Vec::new()),
            }
        }
        other => {
            log(
                switchboard_sdk::host::LogLevel::Info,
                &format!(
                    "acknowledged {other} notification {} (not recorded)",
                    field(&push.message, &["messageId", "message_id"]).unwrap_or("?")
                ),
            );
            Ok(Vec::new())
        }
    }
}

fn lead(request: &HttpRequest) -> Result<Vec<Event>, ConnectorError> {
    let lead: Lead = request.json()?;
    // A call's number is the caller's line as the phone network gave it; a message form's
    // fields are whatever the visitor typed.
    let phone = if lead.kind == "call" { Provenance::Verified } else { Provenance::Declared };
    let contact = Contact::new()
        .phone_with(lead.phone.as_deref().unwrap_or(""), PhoneFormat::AsWritten, phone)
        .email(lead.email.as_deref().unwrap_or(""))
        .name(lead.name.as_deref().unwrap_or(""));
    if contact.identifiers.is_empty() {
        return Err(ConnectorError::BadRequest(format!(
            "lead `{}` has no phone or e-mail to know the customer by",
            lead.lead_id
        )));
    }
    let at = time::parse_rfc3339(&lead.occurred_at)?;
    let mut interaction = match lead.kind.as_str() {
        "call" => Interaction::call("maps", &lead.lead_id, contact),
        "message" => Interaction::message("maps", &lead.lead_id, contact),
        other => {
            return Err(ConnectorError::BadRequest(format!(
                "lead kind `{other}`: expected `call` or `message`"
            )));
        }
    }
    .at(at)
    .attr("source", lead.source.as_deref().unwrap_or("maps"));
    if let Some(listing) = &lead.listing {
        interaction = interaction.subject(listing).attr("listing", listing);
    }
    if let Some(text) = lead.message.as_deref().filter(|m| !m.trim().is_empty()) {
        interaction = interaction.text(text);
    }
    if let Some(duration) = lead.duration_secs {
        interaction = interaction.attr("duration_secs", &duration.to_string()).status("completed");
    }
    Ok(vec![interaction.into()])
}

impl Connector for GoogleBusiness {
    fn manifest() -> Manifest {
        Manifest::new("google-business", "0.3.0", "Google Business Profile")
            .channel("maps")
            .namespace(REVIEWER)
            .webhook()
            .geocode()
    }

    fn geocode(address: Address) -> Result<Option<GeoPoint>, ConnectorError> {
        match config("geocoder_url").filter(|url| !url.trim().is_empty()) {
            Some(url) => switchboard_sdk::geo::nominatim(&url, &address),
            None => Err(ConnectorError::Unsupported("`geocoder_url` is not set".into())),
        }
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        authenticate(&request)?;
        let events = match request.route.as_str() {
            "/" | "/pubsub" => notification(&request)?,
            "/lead" | "/leads" => lead(&request)?,
            other => {
                return Err(ConnectorError::Unsupported(format!(
                    "no route `{other}`: Pub/Sub pushes go to `/`, leads to `/lead`"
                )));
            }
        };
        Ok(WebhookOutcome::ok(events))
    }
}

export_connector!(GoogleBusiness);
