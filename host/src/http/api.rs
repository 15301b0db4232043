//! The REST API over the customer store, and sending messages to customers.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::model::{Direction, Interaction, InteractionKind, OutboundMessage};
use crate::runtime::CallError;
use crate::store::{CustomerQuery, OrderQuery};

/// `GET /api/customers` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FindParams {
    /// Free text: name, e-mail or phone.
    q: Option<String>,
    /// E-mail address (any case).
    email: Option<String>,
    /// Phone number (any format).
    phone: Option<String>,
    /// At most this many (default 50).
    limit: Option<u32>,
}

/// Finds customers by name, e-mail or phone.
#[utoipa::path(get, path = "/api/customers", params(FindParams), responses((status = 200, description = "Matching live customers")))]
pub async fn find_customers(
    State(state): State<AppState>,
    Query(p): Query<FindParams>,
) -> Result<Json<Value>, ApiError> {
    let found = state
        .store
        .find_customers(&CustomerQuery {
            q: p.q,
            email: p.email,
            phone: p.phone,
            limit: p.limit.unwrap_or(50),
        })
        .await?;
    Ok(Json(json!({ "customers": found })))
}

/// A customer's profile. A merged-away id answers the profile of the customer it became.
#[utoipa::path(get, path = "/api/customers/{id}", params(("id" = i64, Path, description = "Customer id")),
    responses((status = 200, description = "Profile"), (status = 404, body = super::error::ErrorBody)))]
pub async fn get_customer(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let live = state.store.live_customer(id).await?;
    let mut profile = serde_json::to_value(state.store.profile(live).await?).unwrap_or_default();
    if live != id {
        profile["merged_from"] = json!(id);
    }
    Ok(Json(profile))
}

/// `GET /api/customers/{id}/timeline` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TimelineParams {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (default 50, at most 200).
    limit: Option<u32>,
}

/// The customer's interactions, orders and shipments across channels, newest first.
#[utoipa::path(get, path = "/api/customers/{id}/timeline", params(("id" = i64, Path), TimelineParams),
    responses((status = 200, description = "A page of the timeline")))]
pub async fn timeline(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(p): Query<TimelineParams>,
) -> Result<Json<Value>, ApiError> {
    let live = state.store.live_customer(id).await?;
    let page = state.store.timeline(live, p.cursor.as_deref(), p.limit.unwrap_or(50)).await?;
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

/// Which identifiers linked which records, and the merges.
#[utoipa::path(get, path = "/api/customers/{id}/explain", params(("id" = i64, Path)), responses((status = 200, description = "Explanation")))]
pub async fn explain(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let live = state.store.live_customer(id).await?;
    Ok(Json(serde_json::to_value(state.store.explain(live).await?).unwrap_or_default()))
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

/// Merges `other` into the customer; answers the ledger entry (its `id` undoes it).
#[utoipa::path(post, path = "/api/customers/{id}/merge", params(("id" = i64, Path)), request_body = MergeRequest,
    responses((status = 200, description = "Merge ledger entry"), (status = 409, body = super::error::ErrorBody)))]
pub async fn merge(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<MergeRequest>,
) -> Result<Json<Value>, ApiError> {
    let reason = body.reason.unwrap_or_else(|| "merged by an operator".into());
    let entry = state.store.merge(id, body.other, &reason).await?;
    Ok(Json(serde_json::to_value(entry).unwrap_or_default()))
}

/// Undoes a merge exactly.
#[utoipa::path(post, path = "/api/merges/{id}/undo", params(("id" = i64, Path)),
    responses((status = 200, description = "The undone ledger entry"), (status = 409, body = super::error::ErrorBody)))]
pub async fn undo_merge(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(serde_json::to_value(state.store.undo_merge(id).await?).unwrap_or_default()))
}

/// `POST /api/customers/{id}/messages` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The message.
    text: String,
    /// Subject (e-mail).
    subject: Option<String>,
    /// The connector to send through; by default the customer's most recent inbound channel
    /// that can send and whose consent allows it.
    channel: Option<String>,
}

/// Sends a message to the customer and records it on the timeline.
#[utoipa::path(post, path = "/api/customers/{id}/messages", params(("id" = i64, Path)), request_body = SendRequest,
    responses((status = 200, description = "Receipt"), (status = 409, description = "Opted out or no channel", body = super::error::ErrorBody)))]
pub async fn send_message(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<SendRequest>,
) -> Result<Json<Value>, ApiError> {
    if body.text.trim().is_empty() {
        return Err(ApiError::BadRequest("`text` is empty".into()));
    }
    let customer = state.store.live_customer(id).await?;
    let reach = state.store.reach(customer).await?;
    let candidates: Vec<String> = match &body.channel {
        Some(channel) => vec![channel.clone()],
        None => reach.inbound_connectors.clone(),
    };
    let mut refusals = Vec::new();
    let mut chosen = None;
    for connector_id in candidates {
        let Some(slot) = state.registry.get(&connector_id) else {
            refusals.push(format!("`{connector_id}` is not a configured connector"));
            continue;
        };
        let Some(connector) = slot.serving() else {
            refusals.push(format!("`{connector_id}` is not serving"));
            continue;
        };
        let manifest = connector.manifest().clone();
        if !manifest.capabilities.send {
            refusals.push(format!("`{connector_id}` cannot send"));
            continue;
        }
        let mut opted_out = None;
        for channel in &manifest.channels {
            if let Some(consent) = state.store.current_consent(customer, channel).await?
                && consent.state == "opt_out"
            {
                opted_out = Some(format!(
                    "the customer opted out of {channel} through {} ({})",
                    consent.connector,
                    consent.reason.as_deref().unwrap_or("no reason given")
                ));
            }
        }
        if let Some(reason) = opted_out {
            refusals.push(reason);
            continue;
        }
        chosen = Some((connector_id, connector, manifest));
        break;
    }
    let Some((connector_id, connector, manifest)) = chosen else {
        let detail = if refusals.is_empty() {
            "the customer has not written through any connector that can send; name a `channel`"
                .to_string()
        } else {
            format!("no channel can reach the customer: {}", refusals.join("; "))
        };
        return Err(ApiError::Conflict(detail));
    };
    let thread = state.store.thread(customer, &connector_id).await?;
    let message = OutboundMessage {
        to: reach.identifiers.clone(),
        subject: body.subject.clone(),
        text: body.text.clone(),
        thread_id: thread.thread_id.clone(),
        in_reply_to: thread.in_reply_to.clone(),
        references: thread.references.clone(),
        attributes: vec![],
    };
    let started = std::time::Instant::now();
    let receipt = match connector.send(message).await {
        Ok(receipt) => {
            state.metrics.call(&connector_id, "send", "ok", started.elapsed().as_secs_f64());
            receipt
        }
        Err(CallError::Connector { error, .. }) => {
            state.metrics.call(&connector_id, "send", "rejected", started.elapsed().as_secs_f64());
            return Err(ApiError::Unprocessable(format!(
                "`{connector_id}` refused to send: {error}"
            )));
        }
        Err(failure) => {
            state.metrics.call(&connector_id, "send", "failed", started.elapsed().as_secs_f64());
            return Err(ApiError::BadGateway(failure.to_string()));
        }
    };
    let channel = manifest.channels.first().cloned().unwrap_or_else(|| connector_id.clone());
    let interaction = Interaction {
        provider_id: receipt.provider_id.clone(),
        kind: InteractionKind::Message,
        direction: Direction::Outbound,
        // The customer is known: `record_outbound` files it under them without resolving.
        contact: crate::model::Contact::default(),
        channel,
        thread_id: receipt.thread_id.clone().or(thread.thread_id),
        subject: body.subject,
        text: Some(body.text),
        occurred_at: receipt.sent_at,
        status: receipt.status.clone(),
        attachments: vec![],
        attributes: vec![],
    };
    let recorded = state.store.record_outbound(customer, &connector_id, &interaction).await?;
    Ok(Json(json!({ "connector": connector_id, "receipt": receipt, "interaction_id": recorded })))
}

/// An online cart by its token, for the till to load it (the QR hand-off): items, total and
/// the customer's identifiers, which the till's sale then carries.
#[utoipa::path(get, path = "/api/carts/{token}", params(("token" = String, Path, description = "The cart token, e.g. from the QR code")),
    responses((status = 200, description = "The cart"), (status = 404, body = super::error::ErrorBody)))]
pub async fn cart(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let cart = state
        .store
        .cart(&token)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no cart with token `{token}`")))?;
    Ok(Json(serde_json::to_value(cart).unwrap_or_default()))
}

/// `GET /api/orders` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
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

/// Orders, newest first; each names the channel its connector serves.
#[utoipa::path(get, path = "/api/orders", params(OrderParams), responses((status = 200, description = "Orders")))]
pub async fn orders(
    State(state): State<AppState>,
    Query(p): Query<OrderParams>,
) -> Result<Json<Value>, ApiError> {
    let customer = match p.customer {
        Some(id) => Some(state.store.live_customer(id).await?),
        None => None,
    };
    // Which channel each serving connector declares first.
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
    let orders: Vec<Value> = orders
        .into_iter()
        .map(|order| {
            let channel = channels.get(&order.connector).and_then(|c| c.first()).cloned();
            let mut value = serde_json::to_value(order).unwrap_or_default();
            value["channel"] = json!(channel);
            value
        })
        .collect();
    Ok(Json(json!({ "orders": orders })))
}

/// Customers, interactions, orders, revenue and merges per connector.
#[utoipa::path(get, path = "/api/stats", responses((status = 200, description = "Statistics")))]
pub async fn stats(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(serde_json::to_value(state.store.stats().await?).unwrap_or_default()))
}
