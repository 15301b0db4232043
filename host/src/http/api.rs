//! The REST API over the customer store: customers, their timeline and identity, merges,
//! messages to a customer, records by provider id, carts, orders and statistics.

use super::extract::Json;
use super::extract::{Path, Query};
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::auth::Principal;
use crate::desk::{ReplyOutcome, SendRequest};
use crate::store::{
    CartView, CustomerPage, CustomerQuery, Explanation, MergeEntry, OrderQuery, OrderView,
    PossibleDuplicate, Profile, RecordRef, Stats, TimelineFilter, TimelineKind, TimelinePage,
    Verdict,
};

type Caller = axum::Extension<Principal>;

/// `GET /api/customers` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindParams {
    /// Free text: a name, an e-mail address, a phone number in any written form, or an external
    /// id (`telegram:user:42`).
    q: Option<String>,
    /// E-mail address (any case).
    email: Option<String>,
    /// Phone number (any format).
    phone: Option<String>,
    /// External id, `namespace:value`.
    external: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (default 50, at most 500).
    limit: Option<u32>,
}

const MAX_QUERY: usize = 256;

/// Finds customers by name, e-mail, phone or external id; without a filter, lists them all,
/// page by page.
#[utoipa::path(get, path = "/api/customers", params(FindParams),
    responses((status = 200, body = CustomerPage), (status = 400, body = super::error::ErrorBody)))]
pub async fn find_customers(
    State(state): State<AppState>,
    Query(p): Query<FindParams>,
) -> Result<Json<CustomerPage>, ApiError> {
    for (name, value) in
        [("q", &p.q), ("email", &p.email), ("phone", &p.phone), ("external", &p.external)]
    {
        if value.as_ref().is_some_and(|v| v.len() > MAX_QUERY || v.contains('\0')) {
            return Err(ApiError::BadRequest(format!(
                "`{name}` must be at most {MAX_QUERY} bytes, without NUL"
            )));
        }
    }
    let after = p
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                ApiError::BadRequest(format!("`cursor` `{c}` was not issued by this list"))
            })
        })
        .transpose()?;
    let page = state
        .store
        .customer_page(&CustomerQuery {
            q: p.q,
            email: p.email,
            phone: p.phone,
            external: p.external,
            after,
            limit: p.limit.unwrap_or(50),
        })
        .await?;
    Ok(Json(page))
}

/// A customer's profile, with the connector they prefer to be answered on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    /// The profile.
    #[serde(flatten)]
    pub profile: Profile,
    /// The id asked for, when it was merged into this customer.
    pub merged_from: Option<i64>,
    /// The connector replies go out on when the agent asks for the preferred one.
    pub preferred_channel: Option<String>,
    /// `agent` (an agent chose it) or `customer` (where they started their latest conversation).
    pub preferred_set_by: Option<String>,
}

/// A customer's profile. A merged-away id answers the profile of the customer it became.
#[utoipa::path(get, path = "/api/customers/{id}", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, body = CustomerView), (status = 404, body = super::error::ErrorBody)))]
pub async fn get_customer(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<CustomerView>, ApiError> {
    let live = state.store.live_customer(id).await?;
    let profile = state.store.profile(live).await?;
    let (preferred_channel, preferred_set_by) = state.store.preferred_channel(live).await?;
    Ok(Json(CustomerView {
        profile,
        merged_from: (live != id).then_some(id),
        preferred_channel,
        preferred_set_by,
    }))
}

/// `PATCH /api/customers/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerChange {
    /// The connector to answer on when asked for the preferred one; `null` lets the customer's
    /// behaviour choose again.
    preferred_channel: Option<String>,
}

/// Sets the customer's preferred channel.
#[utoipa::path(patch, path = "/api/customers/{id}", params(("id" = i64, Path)), request_body = CustomerChange,
    responses((status = 200, body = CustomerView), (status = 400, body = super::error::ErrorBody)))]
pub async fn patch_customer(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<CustomerChange>,
) -> Result<Json<CustomerView>, ApiError> {
    let live = state.store.live_customer(id).await?;
    if let Some(connector) = &body.preferred_channel
        && state.registry.get(connector).is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "`preferred_channel` `{connector}` is not a configured connector"
        )));
    }
    state.store.set_preferred_channel(live, body.preferred_channel).await?;
    get_customer(State(state), Path(live)).await
}

/// `GET /api/customers/{id}/timeline` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (default 50, at most 200).
    limit: Option<u32>,
    /// Only these kinds, comma-separated: `interaction`, `order`, `shipment`, `payment`,
    /// `conversation_event`, or `all` (default: every kind but `conversation_event`).
    kind: Option<String>,
    /// Only what came through this connector (`switchboard`: conversation events).
    connector: Option<String>,
}

/// The customer's interactions, orders, shipments, payments and conversation events across
/// channels, newest first.
#[utoipa::path(get, path = "/api/customers/{id}/timeline", params(("id" = i64, Path), TimelineParams),
    responses((status = 200, body = TimelinePage), (status = 400, body = super::error::ErrorBody)))]
pub async fn timeline(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(p): Query<TimelineParams>,
) -> Result<Json<TimelinePage>, ApiError> {
    let mut filter = TimelineFilter::default();
    for name in p.kind.as_deref().unwrap_or("").split(',').filter(|n| !n.trim().is_empty()) {
        if name.trim() == "all" {
            filter.kinds.extend(TimelineKind::ALL);
            continue;
        }
        let kind = TimelineKind::parse(name).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`kind` `{}` is not one of interaction, order, shipment, payment, conversation_event",
                name.trim()
            ))
        })?;
        filter.kinds.push(kind);
    }
    if let Some(connector) = p.connector.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        if connector.len() > 64 {
            return Err(ApiError::BadRequest("`connector` is at most 64 characters".into()));
        }
        filter.connector = Some(connector.to_string());
    }
    let live = state.store.live_customer(id).await?;
    let limit = p.limit.unwrap_or(50);
    Ok(Json(state.store.timeline_filtered(live, p.cursor.as_deref(), limit, &filter).await?))
}

/// Which identifiers linked which records, and the merges.
#[utoipa::path(get, path = "/api/customers/{id}/explain", params(("id" = i64, Path)),
    responses((status = 200, body = Explanation), (status = 404, body = super::error::ErrorBody)))]
pub async fn explain(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Explanation>, ApiError> {
    let live = state.store.live_customer(id).await?;
    Ok(Json(state.store.explain(live).await?))
}

/// `POST /api/customers/{id}/merge` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The customer to merge into `{id}`.
    other: i64,
    /// Why (kept in the ledger).
    reason: Option<String>,
}

/// Merges `other` into the customer (supervisor); answers the ledger entry (its `id` undoes it).
#[utoipa::path(post, path = "/api/customers/{id}/merge", params(("id" = i64, Path)), request_body = MergeRequest,
    responses((status = 200, body = MergeEntry), (status = 409, body = super::error::ErrorBody)))]
pub async fn merge(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    Json(body): Json<MergeRequest>,
) -> Result<Json<MergeEntry>, ApiError> {
    let reason = body.reason.unwrap_or_else(|| "merged by an operator".into());
    if reason.len() > 1000 {
        return Err(ApiError::BadRequest("`reason` must be at most 1000 bytes".into()));
    }
    let reason = format!("{reason} ({})", principal.key());
    Ok(Json(state.store.merge(id, body.other, &reason).await?))
}

/// Undoes a merge exactly (supervisor).
#[utoipa::path(post, path = "/api/merges/{id}/undo", params(("id" = i64, Path)),
    responses((status = 200, body = MergeEntry), (status = 409, body = super::error::ErrorBody)))]
pub async fn undo_merge(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<MergeEntry>, ApiError> {
    Ok(Json(state.store.undo_merge(id).await?))
}

/// `GET /api/merges` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MergeParams {
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Page size (default 100, at most 500).
    limit: Option<u32>,
}

/// The merge ledger.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MergeList {
    /// Merges, newest first, undone ones included.
    pub merges: Vec<MergeEntry>,
    /// Pass as `cursor` for the next page; none at the end.
    pub next_cursor: Option<i64>,
}

/// Every merge, automatic and manual, newest first.
#[utoipa::path(get, path = "/api/merges", params(MergeParams), responses((status = 200, body = MergeList)))]
pub async fn merges(
    State(state): State<AppState>,
    Query(p): Query<MergeParams>,
) -> Result<Json<MergeList>, ApiError> {
    let limit = p.limit.unwrap_or(100).clamp(1, 500);
    let merges = state.store.merges(p.cursor, limit).await?;
    let next_cursor =
        (merges.len() == limit as usize).then(|| merges.last().map(|m| m.id)).flatten();
    Ok(Json(MergeList { merges, next_cursor }))
}

/// `GET /api/duplicates` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateParams {
    /// `open` (the default), `merged` or `dismissed`.
    status: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// Page size (default 50, at most 200).
    limit: Option<u32>,
}

/// A page of possible duplicates.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DuplicateList {
    /// Pairs, oldest first. An open pair that became one customer meanwhile is left out.
    pub duplicates: Vec<PossibleDuplicate>,
    /// Pass as `cursor` for the next page; none at the end.
    pub next_cursor: Option<i64>,
}

/// Pairs of customers resolution kept apart although they share strong evidence (a phone and
/// an agreeing name, say), for an agent to merge or dismiss.
#[utoipa::path(get, path = "/api/duplicates", params(DuplicateParams),
    responses((status = 200, body = DuplicateList)))]
pub async fn duplicates(
    State(state): State<AppState>,
    Query(p): Query<DuplicateParams>,
) -> Result<Json<DuplicateList>, ApiError> {
    let status = p.status.as_deref().unwrap_or("open");
    if !matches!(status, "open" | "merged" | "dismissed") {
        return Err(ApiError::BadRequest(format!(
            "`status` is `{status}`; expected open, merged or dismissed"
        )));
    }
    let (duplicates, next_cursor) =
        state.store.possible_duplicates(status, p.cursor, p.limit.unwrap_or(50)).await?;
    Ok(Json(DuplicateList { duplicates, next_cursor }))
}

/// They are one person: merges the newer customer into the older (undoable from the merge
/// ledger like any merge).
#[utoipa::path(post, path = "/api/duplicates/{id}/merge", params(("id" = i64, Path)),
    responses((status = 200, body = PossibleDuplicate), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn merge_duplicate(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
) -> Result<Json<PossibleDuplicate>, ApiError> {
    Ok(Json(state.store.decide_duplicate(id, Verdict::Merge, &principal.key()).await?))
}

/// They are two people: keeps them apart for good (resolution never merges them, as after an
/// undone merge).
#[utoipa::path(post, path = "/api/duplicates/{id}/dismiss", params(("id" = i64, Path)),
    responses((status = 200, body = PossibleDuplicate), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn dismiss_duplicate(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
) -> Result<Json<PossibleDuplicate>, ApiError> {
    Ok(Json(state.store.decide_duplicate(id, Verdict::Dismiss, &principal.key()).await?))
}

/// Sends a message to the customer through the connector named (`channel`), their preferred
/// one (`preferred`), or by default the one of their latest message; never where they opted
/// out. It joins their open conversation. With an `Idempotency-Key`, a retry answers the
/// first outcome instead of sending again.
#[utoipa::path(post, path = "/api/customers/{id}/messages", params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")), request_body = SendRequest,
    responses((status = 200, body = ReplyOutcome), (status = 400, body = super::error::ErrorBody),
        (status = 409, description = "Opted out or no channel", body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody), (status = 502, body = super::error::ErrorBody)))]
pub async fn send_message(
    State(state): State<AppState>,
    axum::Extension(principal): Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<SendRequest>,
) -> Result<Json<ReplyOutcome>, ApiError> {
    let customer = state.store.live_customer(id).await?;
    let key = super::conversations::idempotency_key(&headers);
    Ok(Json(state.desk.send_to_customer(&principal, customer, body, key).await?))
}

/// `GET /api/records` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordParams {
    /// The connector.
    connector: String,
    /// The provider's id of the event.
    provider_id: String,
}

/// Where a provider's events landed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordList {
    /// The records stored under that provider id.
    pub records: Vec<RecordRef>,
}

/// The records a connector stored under a provider id, and the customer each belongs to now.
#[utoipa::path(get, path = "/api/records", params(RecordParams),
    responses((status = 200, body = RecordList), (status = 400, body = super::error::ErrorBody)))]
pub async fn records(
    State(state): State<AppState>,
    Query(p): Query<RecordParams>,
) -> Result<Json<RecordList>, ApiError> {
    if p.connector.is_empty() || p.provider_id.is_empty() || p.provider_id.len() > 512 {
        return Err(ApiError::BadRequest(
            "`connector` and `provider_id` (at most 512 bytes) are needed".into(),
        ));
    }
    Ok(Json(RecordList { records: state.store.records(&p.connector, &p.provider_id).await? }))
}

/// An online cart by its token, for the till to load it (the QR hand-off): items, total and
/// the customer's identifiers, which the till's sale then carries.
#[utoipa::path(get, path = "/api/carts/{token}", params(("token" = String, Path, description = "The cart token, e.g. from the QR code")),
    responses((status = 200, body = CartView), (status = 404, body = super::error::ErrorBody)))]
pub async fn cart(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<CartView>, ApiError> {
    let cart = state
        .store
        .cart(&token)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no cart with token `{token}`")))?;
    Ok(Json(cart))
}

/// `GET /api/orders` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderParams {
    /// Customer id.
    customer: Option<i64>,
    /// Status, e.g. `paid`.
    status: Option<String>,
    /// A connector id (`shopify`) or a channel that connectors declare (`store`, the tills'):
    /// orders through any of them.
    channel: Option<String>,
    /// At most this many (default 100).
    limit: Option<u32>,
}

/// An order with the channel its connector serves.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelOrder {
    /// The order.
    #[serde(flatten)]
    pub order: OrderView,
    /// The first channel its connector declares.
    pub channel: Option<String>,
}

/// Orders.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderList {
    /// Orders, newest first.
    pub orders: Vec<ChannelOrder>,
}

/// Orders, newest first; each names the channel its connector serves.
#[utoipa::path(get, path = "/api/orders", params(OrderParams), responses((status = 200, body = OrderList)))]
pub async fn orders(
    State(state): State<AppState>,
    Query(p): Query<OrderParams>,
) -> Result<Json<OrderList>, ApiError> {
    let customer = match p.customer {
        Some(id) => Some(state.store.live_customer(id).await?),
        None => None,
    };
    // Which channels each serving connector declares.
    let channels: std::collections::BTreeMap<String, Vec<String>> = state
        .registry
        .all()
        .into_iter()
        .filter_map(|slot| slot.serving().map(|c| (slot.id.clone(), c.manifest().channels.clone())))
        .collect();
    let connectors = p.channel.map(|wanted| {
        let mut ids: Vec<String> = channels
            .iter()
            .filter(|(id, declared)| **id == wanted || declared.contains(&wanted))
            .map(|(id, _)| id.clone())
            .collect();
        // A connector since removed still names its own orders.
        if !ids.contains(&wanted) {
            ids.push(wanted);
        }
        ids
    });
    let orders = state
        .store
        .orders(&OrderQuery {
            customer,
            status: p.status,
            connectors,
            limit: p.limit.unwrap_or(100),
        })
        .await?;
    let orders = orders
        .into_iter()
        .map(|order| {
            let channel = channels.get(&order.connector).and_then(|c| c.first()).cloned();
            ChannelOrder { order, channel }
        })
        .collect();
    Ok(Json(OrderList { orders }))
}

/// Customers, interactions, orders, revenue and merges per connector.
#[utoipa::path(get, path = "/api/stats", responses((status = 200, body = Stats)))]
pub async fn stats(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    Ok(Json(state.store.stats().await?))
}
