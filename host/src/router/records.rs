//! Which record an event is, and whether it changes anything: records are upserted by
//! (connector, provider id), so a redelivery changes nothing, a newer state amends the record,
//! and an older state delivered late is ignored.

use serde::Serialize;

use super::Prepared;
use super::conversations::{Arrival, place};
use super::identity::{Resolved, resolve};
use crate::model::{Consent, ContactUpdate, Event, Interaction, Order, Payment, Shipment};
use crate::store::records::{
    self as sql, ConsentRow, InteractionRow, LineRow, OrderRow, PaymentRow, ShipmentRow, Table,
};
use crate::store::{IdentifierLimits, Ingested, StoreError, Tx};

/// What every event of one ingest shares.
pub(crate) struct Ctx<'a> {
    pub connector: &'a str,
    pub limits: IdentifierLimits,
    pub desk: &'a crate::sla::DeskSettings,
    pub normalizer: &'a crate::identity::Normalizer,
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn enum_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Writes one prepared event; the customer it belongs to and what happened.
pub(crate) async fn event(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    prepared: &Prepared,
    merges: &mut Vec<i64>,
) -> Result<(Option<i64>, Ingested), StoreError> {
    match &prepared.event {
        Event::Contact(update) => contact_update(tx, ctx, prepared, update, merges).await,
        Event::Interaction(interaction) => {
            self::interaction(tx, ctx, prepared, interaction, merges).await
        }
        Event::Order(order) => self::order(tx, ctx, prepared, order, merges).await,
        Event::Shipment(shipment) => self::shipment(tx, ctx, prepared, shipment, merges).await,
        Event::Payment(payment) => self::payment(tx, ctx, prepared, payment, merges).await,
        Event::Consent(consent) => self::consent(tx, ctx, prepared, consent, merges).await,
    }
}

/// Resolves the prepared event's contact.
async fn who(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    prepared: &Prepared,
    contact: &crate::model::Contact,
    at: i64,
    merges: &mut Vec<i64>,
) -> Result<Resolved, StoreError> {
    let who = prepared.who.as_ref().cloned().unwrap_or_default();
    resolve(tx, ctx, prepared.event.provider_id(), contact, &who, at, merges, None).await
}

async fn contact_update(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    prepared: &Prepared,
    update: &ContactUpdate,
    merges: &mut Vec<i64>,
) -> Result<(Option<i64>, Ingested), StoreError> {
    let stored = sql::contact_event(tx, ctx.connector, &update.provider_id).await?;
    if stored.as_deref() == Some(prepared.hash.as_str()) {
        return Ok((None, Ingested::Unchanged));
    }
    let resolved = who(tx, ctx, prepared, &update.contact, update.occurred_at, merges).await?;
    sql::put_contact_event(
        tx,
        ctx.connector,
        &update.provider_id,
        resolved.customer,
        &prepared.hash,
        update.occurred_at,
    )
    .await?;
    Ok((Some(resolved.customer), Ingested::amended(stored.is_some())))
}

async fn interaction(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    prepared: &Prepared,
    i: &Interaction,
    merges: &mut Vec<i64>,
) -> Result<(Option<i64>, Ingested), StoreError> {
    let stored = sql::stored(tx, Table::Interactions, ctx.connector, &i.provider_id).await?;
    if let Some(stored) = &stored
        // A redelivery, or an older state delivered after a newer one (a retried cart
        // update), changes nothing.
        && (stored.hash == prepared.hash || i.occurred_at < stored.at)
    {
        return Ok((stored.customer, Ingested::Unchanged));
    }
    let resolved = who(tx, ctx, prepared, &i.contact, i.occurred_at, merges).await?;
    let (kind, direction) = (enum_name(&i.kind), enum_name(&i.direction));
    let (attachments, attributes) = (json(&i.attachments), json(&i.attributes));
    let row = InteractionRow {
        customer: resolved.customer,
        linked_by: &resolved.linked_by,
        kind: &kind,
        direction: &direction,
        channel: &i.channel,
        thread_id: i.thread_id.as_deref(),
        subject: i.subject.as_deref(),
        body: i.text.as_deref(),
        status: i.status.as_deref(),
        attachments: &attachments,
        attributes: &attributes,
        hash: &prepared.hash,
        at: i.occurred_at,
    };
    match &stored {
        Some(stored) => sql::update_interaction(tx, stored.id, &row).await?,
        None => {
            let arrival = Arrival {
                connector: ctx.connector,
                channel: &i.channel,
                kind: i.kind,
                direction: i.direction,
                at: i.occurred_at,
                text: i.text.as_deref(),
                subject: i.subject.as_deref(),
                author: None,
            };
            let conversation = place(tx, ctx.desk, resolved.customer, &arrival).await?;
            sql::insert_interaction(tx, ctx.connector, &i.provider_id, &row, conversation).await?;
        }
    }
    Ok((Some(resolved.customer), Ingested::amended(stored.is_some())))
}

async fn order(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    prepared: &Prepared,
    o: &Order,
    merges: &mut Vec<i64>,
) -> Result<(Option<i64>, Ingested), StoreError> {
    check_currency(&o.provider_id, &o.total.currency)?;
    let stored = sql::stored_order(tx, ctx.connector, &o.provider_id).await?;
    if let Some(stored) = &stored
        // A redelivery, or an older state arriving after a newer one, changes nothing.
        && (stored.hash == prepared.hash || o.updated_at < stored.updated_at)
    {
        return Ok((Some(stored.customer), Ingested::Unchanged));
    }
    let resolved = who(tx, ctx, prepared, &o.contact, o.updated_at, merges).await?;
    let address = o.delivery_address.as_ref().map(json);
    let (status, attributes) = (enum_name(&o.status), json(&o.attributes));
    let row = OrderRow {
        customer: resolved.customer,
        linked_by: &resolved.linked_by,
        number: o.number.as_deref(),
        status: &status,
        total_minor: o.total.amount_minor,
        currency: &o.total.currency,
        placed_at: o.placed_at,
        updated_at: o.updated_at,
        address: address.as_deref(),
        attributes: &attributes,
        hash: &prepared.hash,
    };
    let order_id = match &stored {
        Some(stored) => {
            // Delivered elsewhere now: the old point is wrong, and the new address joins the
            // geocoding queue.
            let moved = stored.address != address;
            sql::update_order(tx, stored.id, &row, moved).await?;
            stored.id
        }
        None => sql::insert_order(tx, ctx.connector, &o.provider_id, &row).await?,
    };
    let lines: Vec<LineRow<'_>> = o
        .lines
        .iter()
        .map(|line| LineRow {
            sku: line.sku.as_deref(),
            name: &line.name,
            quantity: i64::from(line.quantity),
            unit_price_minor: line.unit_price.amount_minor,
            currency: &line.unit_price.currency,
        })
        .collect();
    sql::insert_lines(tx, order_id, &lines).await?;
    let mut references = vec![o.provider_id.clone()];
    if let Some(number) = &o.number {
        references.push(number.clone());
        references.push(number.trim_start_matches('#').to_string());
    }
    let linked_by = format!("order {}", o.number.as_deref().unwrap_or(&o.provider_id));
    sql::attach_waiting(tx, order_id, resolved.customer, &linked_by, &references).await?;
    Ok((Some(resolved.customer), Ingested::amended(stored.is_some())))
}

/// The order a shipment or payment names: (id, customer, how to name it).
async fn order_of(
    tx: &mut Tx<'_>,
    reference: Option<&str>,
) -> Result<Option<(i64, i64, String)>, StoreError> {
    let Some(reference) = reference else { return Ok(None) };
    let found = sql::order_by_reference(tx, reference, None).await?;
    Ok(found.into_iter().next().map(|(id, customer, name, _)| (id, customer, name)))
}

async fn shipment(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    prepared: &Prepared,
    s: &Shipment,
    merges: &mut Vec<i64>,
) -> Result<(Option<i64>, Ingested), StoreError> {
    let stored = sql::stored(tx, Table::Shipments, ctx.connector, &s.provider_id).await?;
    if let Some(stored) = &stored
        && (stored.hash == prepared.hash || s.occurred_at < stored.at)
    {
        return Ok((stored.customer, Ingested::Unchanged));
    }
    let order = order_of(tx, s.order_provider_id.as_deref()).await?;
    // A parcel of a known order is the buyer's, whoever the carrier notifies: the contact a
    // tracking service reports is the recipient's (a gift's), so it is resolved only when no
    // order is known.
    let (mut customer, mut linked_by) = match (&s.contact, &order) {
        (_, Some((_, customer, number))) => (Some(*customer), Some(format!("order {number}"))),
        (Some(contact), None) if !contact.identifiers.is_empty() => {
            let resolved = who(tx, ctx, prepared, contact, s.occurred_at, merges).await?;
            (Some(resolved.customer), Some(resolved.linked_by))
        }
        _ => (None, None),
    };
    let mut order_id = order.map(|(id, ..)| id);
    if order_id.is_none() {
        // A carrier that knows no order (EasyPost): another report of the same parcel may.
        if let Some((sibling_order, sibling_customer)) =
            sql::sibling_shipment(tx, &s.tracking_number).await?
        {
            order_id = Some(sibling_order);
            customer = customer.or(sibling_customer);
            linked_by =
                linked_by.or_else(|| Some(format!("tracking number {}", s.tracking_number)));
        }
    }
    let (status, attributes) = (enum_name(&s.status), json(&s.attributes));
    let row = ShipmentRow {
        order_ref: s.order_provider_id.as_deref(),
        order: order_id,
        customer,
        linked_by: linked_by.as_deref(),
        carrier: &s.carrier,
        tracking_number: &s.tracking_number,
        status: &status,
        eta: s.eta,
        at: s.occurred_at,
        attributes: &attributes,
        hash: &prepared.hash,
    };
    sql::put_shipment(tx, ctx.connector, &s.provider_id, stored.as_ref().map(|s| s.id), &row)
        .await?;
    Ok((customer, Ingested::amended(stored.is_some())))
}

async fn payment(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    prepared: &Prepared,
    p: &Payment,
    merges: &mut Vec<i64>,
) -> Result<(Option<i64>, Ingested), StoreError> {
    check_currency(&p.provider_id, &p.amount.currency)?;
    let stored = sql::stored(tx, Table::Payments, ctx.connector, &p.provider_id).await?;
    if let Some(stored) = &stored
        && stored.hash == prepared.hash
    {
        return Ok((stored.customer, Ingested::Unchanged));
    }
    let order = order_of(tx, p.order_ref.as_deref()).await?;
    // Who paid: the payer's identifiers when the processor gave any, else the order's buyer;
    // else nobody yet: it is kept until a state of it, or its order, names them.
    // A payer the store does not know otherwise (a processor's customer id, a card holder's
    // name) paying for a known order is its buyer: their identifiers are recorded there.
    let (customer, linked_by) = match (&order, p.contact.identifiers.is_empty()) {
        (_, false) => {
            let who = prepared.who.as_ref().cloned().unwrap_or_default();
            let buyer =
                order.as_ref().map(|(_, customer, number)| (*customer, format!("order {number}")));
            let provider_id = prepared.event.provider_id();
            let resolved =
                resolve(tx, ctx, provider_id, &p.contact, &who, p.occurred_at, merges, buyer)
                    .await?;
            (Some(resolved.customer), Some(resolved.linked_by))
        }
        (Some((_, customer, number)), true) => (Some(*customer), Some(format!("order {number}"))),
        (None, true) => (None, None),
    };
    let (status, attributes) = (enum_name(&p.status), json(&p.attributes));
    let row = PaymentRow {
        customer,
        linked_by: linked_by.as_deref(),
        order_ref: p.order_ref.as_deref(),
        order: order.map(|(id, ..)| id),
        status: &status,
        amount_minor: p.amount.amount_minor,
        refunded_minor: p.refunded_minor,
        currency: &p.amount.currency,
        at: p.occurred_at,
        attributes: &attributes,
        hash: &prepared.hash,
    };
    if let Some(stored) = &stored
        && p.occurred_at < stored.at
    {
        // An older state delivered late changes nothing it reports, but may name the payer
        // or the order where the stored state does not (a refund seen before its payment).
        sql::fill_payment(tx, stored.id, &row).await?;
        let named = stored.customer.is_none() && customer.is_some();
        let ingested = if named { Ingested::Updated } else { Ingested::Unchanged };
        return Ok((stored.customer.or(customer), ingested));
    }
    sql::put_payment(tx, ctx.connector, &p.provider_id, stored.as_ref().map(|s| s.id), &row)
        .await?;
    let customer = match (customer, &stored) {
        (None, Some(stored)) => stored.customer,
        (customer, _) => customer,
    };
    Ok((customer, Ingested::amended(stored.is_some())))
}

async fn consent(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    prepared: &Prepared,
    c: &Consent,
    merges: &mut Vec<i64>,
) -> Result<(Option<i64>, Ingested), StoreError> {
    let stored = sql::stored(tx, Table::Consents, ctx.connector, &c.provider_id).await?;
    if let Some(stored) = &stored
        && stored.hash == prepared.hash
    {
        return Ok((stored.customer, Ingested::Unchanged));
    }
    let resolved = who(tx, ctx, prepared, &c.contact, c.occurred_at, merges).await?;
    let state = enum_name(&c.state);
    let row = ConsentRow {
        customer: resolved.customer,
        linked_by: &resolved.linked_by,
        channel: &c.channel,
        state: &state,
        reason: c.reason.as_deref(),
        at: c.occurred_at,
        hash: &prepared.hash,
    };
    sql::put_consent(tx, ctx.connector, &c.provider_id, stored.as_ref().map(|s| s.id), &row)
        .await?;
    Ok((Some(resolved.customer), Ingested::amended(stored.is_some())))
}

fn check_currency(provider_id: &str, currency: &str) -> Result<(), StoreError> {
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(StoreError::InvalidEvent {
            provider_id: provider_id.to_string(),
            reason: format!("currency `{currency}` is not an ISO 4217 code such as EUR"),
        });
    }
    Ok(())
}
