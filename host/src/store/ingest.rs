//! Writing events: resolve who the contact is, then upsert the record by (connector, provider
//! id) so that a redelivery changes nothing and a newer state amends the record.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyConnection, Transaction};

use super::{Store, StoreError, now_millis, write_tx};
use crate::identity::{self, Candidate, Kind, Normalized};
use crate::model::{Consent, Contact, ContactUpdate, Event, Interaction, Order, Payment, Shipment};

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ingested {
    /// A new record.
    Created,
    /// An existing record was amended (a status change, say).
    Updated,
    /// The same event was seen before: nothing changed.
    Unchanged,
}

/// What one call to [`Store::ingest`] did, event by event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Per event, in order: the customer it belongs to (none for a shipment whose order is not
    /// known yet) and what happened.
    pub events: Vec<(Option<i64>, Ingested)>,
    /// Merge ledger entries written while resolving identities.
    pub merges: Vec<i64>,
}

/// Who a contact turned out to be.
struct Resolved {
    customer: i64,
    /// The identifier that linked the record, e.g. `email ann@example.com`.
    linked_by: String,
}

/// What writing an event did: it amended a record seen before, or created one.
fn amended(seen_before: bool) -> Ingested {
    if seen_before { Ingested::Updated } else { Ingested::Created }
}

fn hash<T: Serialize>(value: &T) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(value).unwrap_or_default()))
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

impl Store {
    /// Stores the events of one webhook or poll in one transaction: all of them or none.
    pub async fn ingest(
        &self,
        connector: &str,
        events: &[Event],
    ) -> Result<IngestReport, StoreError> {
        write_tx!(self, |tx| self.ingest_all(tx, connector, events).await)
    }

    /// Stores polled events and the connector's next cursor in one transaction.
    pub async fn ingest_polled(
        &self,
        connector: &str,
        events: &[Event],
        next_cursor: Option<&str>,
    ) -> Result<IngestReport, StoreError> {
        write_tx!(self, |tx| {
            let report = self.ingest_all(tx, connector, events).await?;
            if let Some(cursor) = next_cursor {
                super::state::set_cursor(tx, connector, cursor).await?;
            }
            Ok(report)
        })
    }

    /// Stores several webhooks' events in one transaction (group commit): one durable commit
    /// for all of them. Each entry is `(connector, events)`; the reports come back in order.
    pub async fn ingest_batch(
        &self,
        batch: &[(&str, &[Event])],
    ) -> Result<Vec<IngestReport>, StoreError> {
        write_tx!(self, |tx| {
            let mut reports = Vec::with_capacity(batch.len());
            for (connector, events) in batch {
                reports.push(self.ingest_all(tx, connector, events).await?);
            }
            Ok(reports)
        })
    }

    async fn ingest_all(
        &self,
        tx: &mut Transaction<'static, Any>,
        connector: &str,
        events: &[Event],
    ) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        for event in events {
            let outcome = self.ingest_event(tx, connector, event, &mut report.merges).await?;
            report.events.push(outcome);
        }
        Ok(report)
    }

    async fn ingest_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        connector: &str,
        event: &Event,
        merges: &mut Vec<i64>,
    ) -> Result<(Option<i64>, Ingested), StoreError> {
        if event.provider_id().trim().is_empty() {
            return Err(StoreError::InvalidEvent {
                provider_id: String::new(),
                reason:
                    "the provider id is empty; every event needs one so redelivery is recognised"
                        .into(),
            });
        }
        match event {
            Event::Contact(update) => self.contact_update(tx, connector, update, merges).await,
            Event::Interaction(interaction) => {
                self.interaction(tx, connector, interaction, merges).await
            }
            Event::Order(order) => self.order(tx, connector, order, merges).await,
            Event::Shipment(shipment) => self.shipment(tx, connector, shipment, merges).await,
            Event::Payment(payment) => self.payment(tx, connector, payment, merges).await,
            Event::Consent(consent) => self.consent(tx, connector, consent, merges).await,
        }
    }

    async fn contact_update(
        &self,
        tx: &mut Transaction<'static, Any>,
        connector: &str,
        update: &ContactUpdate,
        merges: &mut Vec<i64>,
    ) -> Result<(Option<i64>, Ingested), StoreError> {
        let digest = hash(update);
        let existing: Option<(String,)> = sqlx::query_as(
            "SELECT content_hash FROM contact_events WHERE connector_id = $1 AND provider_id = $2",
        )
        .bind(connector)
        .bind(&update.provider_id)
        .fetch_optional(&mut **tx)
        .await?;
        if existing.as_ref().is_some_and(|(h,)| *h == digest) {
            return Ok((None, Ingested::Unchanged));
        }
        let who = self
            .resolve(
                tx,
                connector,
                &update.provider_id,
                &update.contact,
                update.occurred_at,
                merges,
            )
            .await?;
        if existing.is_some() {
            sqlx::query(
                "UPDATE contact_events SET customer_id = $3, content_hash = $4, occurred_at = $5 \
                 WHERE connector_id = $1 AND provider_id = $2",
            )
        } else {
            sqlx::query(
                "INSERT INTO contact_events (connector_id, provider_id, customer_id, content_hash, occurred_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
        }
        .bind(connector)
        .bind(&update.provider_id)
        .bind(who.customer)
        .bind(&digest)
        .bind(update.occurred_at)
        .execute(&mut **tx)
        .await?;
        Ok((Some(who.customer), amended(existing.is_some())))
    }

    async fn interaction(
        &self,
        tx: &mut Transaction<'static, Any>,
        connector: &str,
        i: &Interaction,
        merges: &mut Vec<i64>,
    ) -> Result<(Option<i64>, Ingested), StoreError> {
        let digest = hash(i);
        let existing = existing(tx, "interactions", connector, &i.provider_id).await?;
        if let Some((_, h, customer, _)) = &existing
            && *h == digest
        {
            return Ok((*customer, Ingested::Unchanged));
        }
        // An older state delivered after a newer one (a retried cart update) changes nothing.
        if let Some((_, _, customer, updated_at)) = &existing
            && i.occurred_at < *updated_at
        {
            return Ok((*customer, Ingested::Unchanged));
        }
        let who =
            self.resolve(tx, connector, &i.provider_id, &i.contact, i.occurred_at, merges).await?;
        let query = match &existing {
            // A later event for the same interaction (a call's status, a message edit) amends
            // it; the first time it was seen stays its place on the timeline.
            Some((id, ..)) => sqlx::query(
                // What a later event does not carry (a delivery status has no text) is kept.
                "UPDATE interactions SET customer_id = $2, linked_by = $3, kind = $4, direction = $5, \
                 channel = $6, thread_id = COALESCE($7, thread_id), subject = COALESCE($8, subject), \
                 body = COALESCE($9, body), status = COALESCE($10, status), attachments = $11, \
                 attributes = $12, content_hash = $13, updated_at = $14 WHERE id = $1",
            )
            .bind(*id),
            None => sqlx::query(
                "INSERT INTO interactions (customer_id, linked_by, kind, direction, channel, thread_id, \
                 subject, body, status, attachments, attributes, content_hash, updated_at, connector_id, \
                 provider_id, occurred_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            ),
        };
        let query = query
            .bind(who.customer)
            .bind(&who.linked_by)
            .bind(enum_name(&i.kind))
            .bind(enum_name(&i.direction))
            .bind(&i.channel)
            .bind(&i.thread_id)
            .bind(&i.subject)
            .bind(&i.text)
            .bind(&i.status)
            .bind(json(&i.attachments))
            .bind(json(&i.attributes))
            .bind(&digest)
            .bind(i.occurred_at);
        let query = if existing.is_none() {
            query.bind(connector).bind(&i.provider_id).bind(i.occurred_at).bind(now_millis())
        } else {
            query
        };
        query.execute(&mut **tx).await?;
        Ok((Some(who.customer), amended(existing.is_some())))
    }

    async fn order(
        &self,
        tx: &mut Transaction<'static, Any>,
        connector: &str,
        o: &Order,
        merges: &mut Vec<i64>,
    ) -> Result<(Option<i64>, Ingested), StoreError> {
        check_currency(&o.provider_id, &o.total.currency)?;
        let digest = hash(o);
        let existing: Option<(i64, String, i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT id, content_hash, customer_id, updated_at, delivery_address FROM orders \
             WHERE connector_id = $1 AND provider_id = $2",
        )
        .bind(connector)
        .bind(&o.provider_id)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some((_, h, customer, updated_at, _)) = &existing {
            // A redelivery, or an older state arriving after a newer one, changes nothing.
            if *h == digest || o.updated_at < *updated_at {
                return Ok((Some(*customer), Ingested::Unchanged));
            }
        }
        let who =
            self.resolve(tx, connector, &o.provider_id, &o.contact, o.updated_at, merges).await?;
        let address = o.delivery_address.as_ref().map(json);
        let order_id = match &existing {
            Some((id, _, _, _, old_address)) => {
                if *old_address != address {
                    // Delivered elsewhere now: the old point is wrong, and the new address
                    // joins the geocoding queue.
                    sqlx::query(
                        "UPDATE orders SET latitude = NULL, longitude = NULL, place_name = NULL, \
                         geocoded_by = NULL, geocoded_at = NULL, geocode_error = NULL, \
                         geocode_attempts = 0 WHERE id = $1",
                    )
                    .bind(*id)
                    .execute(&mut **tx)
                    .await?;
                }
                sqlx::query(
                    "UPDATE orders SET customer_id = $2, linked_by = $3, number = $4, status = $5, total_minor = $6, \
                     currency = $7, placed_at = $8, updated_at = $9, delivery_address = $10, attributes = $11, \
                     content_hash = $12 WHERE id = $1",
                )
                .bind(*id)
                .bind(who.customer)
                .bind(&who.linked_by)
                .bind(&o.number)
                .bind(enum_name(&o.status))
                .bind(o.total.amount_minor)
                .bind(&o.total.currency)
                .bind(o.placed_at)
                .bind(o.updated_at)
                .bind(&address)
                .bind(json(&o.attributes))
                .bind(&digest)
                .execute(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM order_lines WHERE order_id = $1")
                    .bind(*id)
                    .execute(&mut **tx)
                    .await?;
                *id
            }
            None => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO orders (connector_id, provider_id, customer_id, linked_by, number, status, \
                     total_minor, currency, placed_at, updated_at, delivery_address, attributes, content_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                )
                .bind(connector)
                .bind(&o.provider_id)
                .bind(who.customer)
                .bind(&who.linked_by)
                .bind(&o.number)
                .bind(enum_name(&o.status))
                .bind(o.total.amount_minor)
                .bind(&o.total.currency)
                .bind(o.placed_at)
                .bind(o.updated_at)
                .bind(&address)
                .bind(json(&o.attributes))
                .bind(&digest)
                .bind(now_millis())
                .fetch_one(&mut **tx)
                .await?;
                id
            }
        };
        for (position, line) in o.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO order_lines (order_id, position, sku, name, quantity, unit_price_minor, currency) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(order_id)
            .bind(position as i64)
            .bind(&line.sku)
            .bind(&line.name)
            .bind(i64::from(line.quantity))
            .bind(line.unit_price.amount_minor)
            .bind(&line.unit_price.currency)
            .execute(&mut **tx)
            .await?;
        }
        // Shipments and payments that arrived before their order attach now; a payment keeps
        // the customer its own identifiers resolved to, and one that named no payer is the
        // buyer's.
        let mut refs = vec![o.provider_id.clone()];
        if let Some(number) = &o.number {
            refs.push(number.clone());
            refs.push(number.trim_start_matches('#').to_string());
        }
        let linked_by = format!("order {}", o.number.as_deref().unwrap_or(&o.provider_id));
        for table in ["shipments", "payments"] {
            for reference in &refs {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET order_id = $1, customer_id = COALESCE(customer_id, $2), \
                     linked_by = COALESCE(linked_by, $3) WHERE order_id IS NULL AND order_ref = $4"
                )))
                .bind(order_id)
                .bind(who.customer)
                .bind(&linked_by)
                .bind(reference)
                .execute(&mut **tx)
                .await?;
            }
        }
        // A carrier's report that names no order (EasyPost) joins it through another report of
        // the same parcel that does, whichever came first.
        sqlx::query(
            "UPDATE shipments SET order_id = $1, customer_id = COALESCE(customer_id, $2), \
             linked_by = COALESCE(linked_by, $3) WHERE order_id IS NULL AND tracking_number IN \
             (SELECT tracking_number FROM shipments WHERE order_id = $4)",
        )
        .bind(order_id)
        .bind(who.customer)
        .bind(&linked_by)
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
        Ok((Some(who.customer), amended(existing.is_some())))
    }

    async fn shipment(
        &self,
        tx: &mut Transaction<'static, Any>,
        connector: &str,
        s: &Shipment,
        merges: &mut Vec<i64>,
    ) -> Result<(Option<i64>, Ingested), StoreError> {
        let digest = hash(s);
        let existing = existing(tx, "shipments", connector, &s.provider_id).await?;
        if let Some((_, h, customer, occurred_at)) = &existing
            && (*h == digest || s.occurred_at < *occurred_at)
        {
            return Ok((*customer, Ingested::Unchanged));
        }
        let order = order_by_reference(tx, s.order_provider_id.as_deref()).await?;
        let (customer, linked_by) = match (&s.contact, &order) {
            (Some(contact), _) if !contact.identifiers.is_empty() => {
                let who = self
                    .resolve(tx, connector, &s.provider_id, contact, s.occurred_at, merges)
                    .await?;
                (Some(who.customer), Some(who.linked_by))
            }
            (_, Some((_, customer, number))) => (Some(*customer), Some(format!("order {number}"))),
            _ => (None, None),
        };
        let mut order_id = order.map(|(id, ..)| id);
        let (mut customer, mut linked_by) = (customer, linked_by);
        if order_id.is_none() {
            // A carrier that knows no order (EasyPost): another report of the same parcel may.
            let sibling: Option<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
                "SELECT order_id, customer_id, linked_by FROM shipments \
                 WHERE tracking_number = $1 AND order_id IS NOT NULL ORDER BY id LIMIT 1",
            )
            .bind(&s.tracking_number)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some((sibling_order, sibling_customer, _)) = sibling {
                order_id = Some(sibling_order);
                customer = customer.or(sibling_customer);
                linked_by =
                    linked_by.or_else(|| Some(format!("tracking number {}", s.tracking_number)));
            }
        }
        match &existing {
            Some((id, ..)) => {
                sqlx::query(
                    "UPDATE shipments SET order_ref = $2, order_id = COALESCE($3, order_id), \
                     customer_id = COALESCE($4, customer_id), linked_by = COALESCE($5, linked_by), carrier = $6, \
                     tracking_number = $7, status = $8, eta = $9, occurred_at = $10, attributes = $11, \
                     content_hash = $12 WHERE id = $1",
                )
                .bind(*id)
                .bind(&s.order_provider_id)
                .bind(order_id)
                .bind(customer)
                .bind(&linked_by)
                .bind(&s.carrier)
                .bind(&s.tracking_number)
                .bind(enum_name(&s.status))
                .bind(s.eta)
                .bind(s.occurred_at)
                .bind(json(&s.attributes))
                .bind(&digest)
                .execute(&mut **tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO shipments (connector_id, provider_id, order_ref, order_id, customer_id, linked_by, \
                     carrier, tracking_number, status, eta, occurred_at, attributes, content_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(connector)
                .bind(&s.provider_id)
                .bind(&s.order_provider_id)
                .bind(order_id)
                .bind(customer)
                .bind(&linked_by)
                .bind(&s.carrier)
                .bind(&s.tracking_number)
                .bind(enum_name(&s.status))
                .bind(s.eta)
                .bind(s.occurred_at)
                .bind(json(&s.attributes))
                .bind(&digest)
                .bind(now_millis())
                .execute(&mut **tx)
                .await?;
            }
        }
        if let Some(order_id) = order_id {
            sqlx::query(
                "UPDATE shipments SET order_id = $1, customer_id = COALESCE(customer_id, $2), \
                 linked_by = COALESCE(linked_by, $3) WHERE order_id IS NULL AND tracking_number = $4",
            )
            .bind(order_id)
            .bind(customer)
            .bind(format!("tracking number {}", s.tracking_number))
            .bind(&s.tracking_number)
            .execute(&mut **tx)
            .await?;
        }
        Ok((customer, amended(existing.is_some())))
    }

    async fn payment(
        &self,
        tx: &mut Transaction<'static, Any>,
        connector: &str,
        p: &Payment,
        merges: &mut Vec<i64>,
    ) -> Result<(Option<i64>, Ingested), StoreError> {
        check_currency(&p.provider_id, &p.amount.currency)?;
        let digest = hash(p);
        let existing = existing(tx, "payments", connector, &p.provider_id).await?;
        if let Some((_, h, customer, _)) = &existing
            && *h == digest
        {
            return Ok((*customer, Ingested::Unchanged));
        }
        let order = order_by_reference(tx, p.order_ref.as_deref()).await?;
        // Who paid: the payer's identifiers when the processor gave any, else the order's buyer;
        // else nobody yet: it is kept until a state of it, or its order, names them.
        let (customer, linked_by) = match (&order, p.contact.identifiers.is_empty()) {
            (_, false) => {
                let who = self
                    .resolve(tx, connector, &p.provider_id, &p.contact, p.occurred_at, merges)
                    .await?;
                (Some(who.customer), Some(who.linked_by))
            }
            (Some((_, customer, number)), true) => {
                (Some(*customer), Some(format!("order {number}")))
            }
            (None, true) => (None, None),
        };
        let order_id = order.map(|(id, ..)| id);
        if let Some((id, _, stored, occurred_at)) = &existing
            && p.occurred_at < *occurred_at
        {
            // An older state delivered late changes nothing it reports, but may name the payer
            // or the order where the stored state does not (a refund seen before its payment).
            sqlx::query(
                "UPDATE payments SET customer_id = COALESCE(customer_id, $2), linked_by = COALESCE(linked_by, $3), \
                 order_ref = COALESCE(order_ref, $4), order_id = COALESCE(order_id, $5) WHERE id = $1",
            )
            .bind(*id)
            .bind(customer)
            .bind(&linked_by)
            .bind(&p.order_ref)
            .bind(order_id)
            .execute(&mut **tx)
            .await?;
            let named = stored.is_none() && customer.is_some();
            let ingested = if named { Ingested::Updated } else { Ingested::Unchanged };
            return Ok((stored.or(customer), ingested));
        }
        match &existing {
            Some((id, ..)) => {
                sqlx::query(
                    "UPDATE payments SET customer_id = COALESCE($2, customer_id), linked_by = COALESCE($3, linked_by), \
                     order_ref = COALESCE($4, order_ref), order_id = COALESCE($5, order_id), status = $6, \
                     amount_minor = $7, refunded_minor = $8, \
                     currency = $9, occurred_at = $10, attributes = $11, content_hash = $12 WHERE id = $1",
                )
                .bind(*id)
                .bind(customer)
                .bind(&linked_by)
                .bind(&p.order_ref)
                .bind(order_id)
                .bind(enum_name(&p.status))
                .bind(p.amount.amount_minor)
                .bind(p.refunded_minor)
                .bind(&p.amount.currency)
                .bind(p.occurred_at)
                .bind(json(&p.attributes))
                .bind(&digest)
                .execute(&mut **tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO payments (connector_id, provider_id, customer_id, linked_by, order_ref, order_id, \
                     status, amount_minor, refunded_minor, currency, occurred_at, attributes, content_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(connector)
                .bind(&p.provider_id)
                .bind(customer)
                .bind(&linked_by)
                .bind(&p.order_ref)
                .bind(order_id)
                .bind(enum_name(&p.status))
                .bind(p.amount.amount_minor)
                .bind(p.refunded_minor)
                .bind(&p.amount.currency)
                .bind(p.occurred_at)
                .bind(json(&p.attributes))
                .bind(&digest)
                .bind(now_millis())
                .execute(&mut **tx)
                .await?;
            }
        }
        let customer = match (customer, &existing) {
            (None, Some((_, _, earlier, _))) => *earlier,
            (customer, _) => customer,
        };
        Ok((customer, amended(existing.is_some())))
    }

    async fn consent(
        &self,
        tx: &mut Transaction<'static, Any>,
        connector: &str,
        c: &Consent,
        merges: &mut Vec<i64>,
    ) -> Result<(Option<i64>, Ingested), StoreError> {
        let digest = hash(c);
        let existing = existing(tx, "consents", connector, &c.provider_id).await?;
        if let Some((_, h, customer, _)) = &existing
            && *h == digest
        {
            return Ok((*customer, Ingested::Unchanged));
        }
        let who =
            self.resolve(tx, connector, &c.provider_id, &c.contact, c.occurred_at, merges).await?;
        let query = match &existing {
            Some((id, ..)) => sqlx::query(
                "UPDATE consents SET customer_id = $2, linked_by = $3, channel = $4, state = $5, reason = $6, \
                 occurred_at = $7, content_hash = $8 WHERE id = $1",
            )
            .bind(*id),
            None => sqlx::query(
                "INSERT INTO consents (customer_id, linked_by, channel, state, reason, occurred_at, content_hash, \
                 connector_id, provider_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            ),
        }
        .bind(who.customer)
        .bind(&who.linked_by)
        .bind(&c.channel)
        .bind(enum_name(&c.state))
        .bind(&c.reason)
        .bind(c.occurred_at)
        .bind(&digest);
        let query = match existing {
            Some(_) => query,
            None => query.bind(connector).bind(&c.provider_id).bind(now_millis()),
        };
        query.execute(&mut **tx).await?;
        Ok((Some(who.customer), amended(existing.is_some())))
    }

    /// Finds (or creates) the customer a contact is, merging customers the contact proves to
    /// be one person, and records every identifier it brought.
    async fn resolve(
        &self,
        tx: &mut Transaction<'static, Any>,
        connector: &str,
        provider_id: &str,
        contact: &Contact,
        at: i64,
        merges: &mut Vec<i64>,
    ) -> Result<Resolved, StoreError> {
        if contact.identifiers.is_empty() {
            return Err(StoreError::InvalidEvent {
                provider_id: provider_id.to_string(),
                reason: "the contact has no identifier (email, phone or external id)".into(),
            });
        }
        let mut matchable: Vec<Normalized> = Vec::new();
        let mut unmatchable = Vec::new();
        for identifier in &contact.identifiers {
            match self.normalizer.normalize(&identifier.identifier) {
                Ok(n) if !matchable.iter().any(|m| m.kind == n.kind && m.value == n.value) => {
                    matchable.push(n)
                }
                Ok(_) => {}
                Err(u) => unmatchable.push(u),
            }
        }
        matchable.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));

        let mut candidates: BTreeMap<i64, Candidate> = BTreeMap::new();
        for n in &matchable {
            let owners: Vec<(i64,)> = sqlx::query_as(
                "SELECT DISTINCT cp.customer_id FROM contact_points cp JOIN customers c ON c.id = cp.customer_id \
                 WHERE cp.kind = $1 AND cp.value = $2 AND c.merged_into IS NULL ORDER BY cp.customer_id",
            )
            .bind(n.kind.as_str())
            .bind(&n.value)
            .fetch_all(&mut **tx)
            .await?;
            let limit = match n.kind {
                Kind::External => self.limits.external,
                Kind::Email => self.limits.email,
                Kind::Phone => self.limits.phone,
            } as usize;
            if owners.len() > limit {
                // Shared by too many customers to say anything about who this is.
                continue;
            }
            for (owner,) in owners {
                candidates
                    .entry(owner)
                    .or_insert_with(|| Candidate {
                        customer: owner,
                        matched_by: vec![],
                        emails: BTreeSet::new(),
                    })
                    .matched_by
                    .push((n.kind, n.value.clone()));
            }
        }
        let mut separated = HashSet::new();
        for candidate in candidates.values_mut() {
            let emails: Vec<(String,)> = sqlx::query_as(
                "SELECT DISTINCT value FROM contact_points WHERE customer_id = $1 AND kind = 'email'",
            )
            .bind(candidate.customer)
            .fetch_all(&mut **tx)
            .await?;
            candidate.emails = emails.into_iter().map(|(e,)| e).collect();
            let blocks: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT customer_a, customer_b FROM merge_blocks WHERE customer_a = $1 OR customer_b = $1",
            )
            .bind(candidate.customer)
            .fetch_all(&mut **tx)
            .await?;
            separated.extend(blocks);
        }
        let incoming_emails: BTreeSet<String> =
            matchable.iter().filter(|n| n.kind == Kind::Email).map(|n| n.value.clone()).collect();
        let matched: BTreeMap<i64, Candidate> = candidates.clone();
        let decision =
            identity::decide(&incoming_emails, candidates.into_values().collect(), &separated);

        let customer = match decision.survivor {
            Some(survivor) => survivor,
            None => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO customers (created_at, display_name, given_name, family_name, locale) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(now_millis())
                .bind(&contact.display_name)
                .bind(&contact.given_name)
                .bind(&contact.family_name)
                .bind(&contact.locale)
                .fetch_one(&mut **tx)
                .await?;
                id
            }
        };
        for (absorbed, link) in &decision.merge {
            let reason = format!("{link} (event {provider_id} from {connector})");
            merges.push(super::merge::merge_in_tx(tx, customer, *absorbed, "auto", &reason).await?);
        }
        let linked_by = matched
            .get(&customer)
            .and_then(|c| c.matched_by.iter().min_by_key(|(kind, _)| *kind))
            .or_else(|| {
                decision.merge.first().and_then(|(id, _)| matched.get(id)?.matched_by.first())
            })
            .map(|(kind, value)| format!("{} {value}", kind.as_str()))
            .or_else(|| matchable.first().map(|n| format!("{} {}", n.kind.as_str(), n.value)))
            .unwrap_or_else(|| format!("new customer from {connector}"));

        for n in &matchable {
            attach(tx, customer, connector, n, at).await?;
        }
        for u in &unmatchable {
            let value = format!("{} ({})", u.raw, u.reason);
            set_attribute(
                tx,
                customer,
                &format!("unmatched_{}", u.kind.as_str()),
                &value,
                connector,
                at,
                false,
            )
            .await?;
        }
        for attribute in &contact.attributes {
            set_attribute(tx, customer, &attribute.key, &attribute.value, connector, at, true)
                .await?;
        }
        sqlx::query(
            "UPDATE customers SET display_name = COALESCE(display_name, $2), given_name = COALESCE(given_name, $3), \
             family_name = COALESCE(family_name, $4), locale = COALESCE(locale, $5) WHERE id = $1",
        )
        .bind(customer)
        .bind(&contact.display_name)
        .bind(&contact.given_name)
        .bind(&contact.family_name)
        .bind(&contact.locale)
        .execute(&mut **tx)
        .await?;
        Ok(Resolved { customer, linked_by })
    }
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

/// A record's stored state, by its provider id: id, content hash, customer, and when its
/// stored state was reached (an interaction's latest amendment, else when it occurred).
async fn existing(
    tx: &mut Transaction<'static, Any>,
    table: &'static str,
    connector: &str,
    provider_id: &str,
) -> Result<Option<(i64, String, Option<i64>, i64)>, StoreError> {
    // `table` is one of this module's constants, never input.
    let at =
        if table == "interactions" { "COALESCE(updated_at, occurred_at)" } else { "occurred_at" };
    let sql = format!(
        "SELECT id, content_hash, customer_id, {at} FROM {table} \
         WHERE connector_id = $1 AND provider_id = $2"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(connector)
        .bind(provider_id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// The order a shipment or payment names — by the shop's provider id, or by the number the
/// customer sees, with or without its `#` — as (id, customer, how to name it).
async fn order_by_reference(
    tx: &mut Transaction<'static, Any>,
    reference: Option<&str>,
) -> Result<Option<(i64, i64, String)>, StoreError> {
    let Some(reference) = reference else { return Ok(None) };
    Ok(sqlx::query_as(
        "SELECT id, customer_id, COALESCE(number, provider_id) FROM orders \
         WHERE provider_id = $1 OR number = $1 OR number = $2 OR number = $3 ORDER BY id LIMIT 1",
    )
    .bind(reference)
    .bind(format!("#{}", reference.trim_start_matches('#')))
    .bind(reference.trim_start_matches('#'))
    .fetch_optional(&mut **tx)
    .await?)
}

/// Records an identifier on a customer, or refreshes when it was last seen.
async fn attach(
    tx: &mut AnyConnection,
    customer: i64,
    connector: &str,
    n: &Normalized,
    at: i64,
) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE contact_points SET last_seen = CASE WHEN last_seen < $4 THEN $4 ELSE last_seen END \
         WHERE customer_id = $1 AND kind = $2 AND value = $3",
    )
    .bind(customer)
    .bind(n.kind.as_str())
    .bind(&n.value)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO contact_points (customer_id, kind, value, raw, source_connector, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(customer)
        .bind(n.kind.as_str())
        .bind(&n.value)
        .bind(&n.raw)
        .bind(connector)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    if n.kind == Kind::External {
        let updated = sqlx::query(
            "UPDATE channel_accounts SET last_seen = CASE WHEN last_seen < $4 THEN $4 ELSE last_seen END \
             WHERE connector_id = $1 AND external_id = $2 AND customer_id = $3",
        )
        .bind(connector)
        .bind(&n.value)
        .bind(customer)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO channel_accounts (connector_id, external_id, customer_id, first_seen, last_seen) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(connector)
            .bind(&n.value)
            .bind(customer)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// Sets an attribute; `replace` keeps one value per key and source, otherwise each distinct
/// value is kept (unmatched identifiers accumulate).
async fn set_attribute(
    tx: &mut AnyConnection,
    customer: i64,
    key: &str,
    value: &str,
    connector: &str,
    at: i64,
    replace: bool,
) -> Result<(), StoreError> {
    let updated = if replace {
        sqlx::query(
            "UPDATE customer_attributes SET value = $3, updated_at = $5 \
             WHERE customer_id = $1 AND key = $2 AND source_connector = $4",
        )
    } else {
        sqlx::query(
            "UPDATE customer_attributes SET updated_at = $5 \
             WHERE customer_id = $1 AND key = $2 AND value = $3 AND source_connector = $4",
        )
    }
    .bind(customer)
    .bind(key)
    .bind(value)
    .bind(connector)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO customer_attributes (customer_id, key, value, source_connector, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(customer)
        .bind(key)
        .bind(value)
        .bind(connector)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
