//! Who a contact is: the live customers owning its identifiers, the rules of
//! [`crate::identity::decide`], merges where the rules say so, and the identifiers recorded on
//! the customer it turned out to be.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::{Who, records::Ctx};
use crate::identity::{self, Candidate, Incoming, Kind, Line, Normalizer, PhoneEvidence};
use crate::model::{Attribute, Contact, Provenance};
use crate::store::records::{self as sql, Names, NewPoint, Owner};
use crate::store::{StoreError, Tx};

/// Who a contact turned out to be.
pub(crate) struct Resolved {
    pub customer: i64,
    /// The identifier that linked the record, e.g. `email ann@example.com`.
    pub linked_by: String,
}

/// Finds (or creates) the customer a contact is, merging customers the contact proves to be
/// one person, and records every identifier it brought. A contact that is nobody known yet is
/// `known` (a customer and why) when given, instead of a new customer.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn resolve(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    provider_id: &str,
    contact: &Contact,
    who: &Who,
    at: i64,
    merges: &mut Vec<i64>,
    known: Option<(i64, String)>,
) -> Result<Resolved, StoreError> {
    if who.is_empty() {
        return Err(StoreError::InvalidEvent {
            provider_id: provider_id.to_string(),
            reason: "the contact has no identifier (email, phone or external id)".into(),
        });
    }
    let keys: Vec<(String, String)> =
        who.usable.iter().map(|p| (p.kind.as_str().to_string(), p.value.clone())).collect();
    let owners = sql::owners(tx, &keys).await?;

    // Who owns each identifier; one shared by more customers than its kind's limit says
    // nothing about who this is.
    let mut owners_of: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
    for owner in owners.iter().filter(|o| o.status == "usable") {
        let customers = owners_of.entry((&owner.kind, &owner.value)).or_default();
        if !customers.contains(&owner.customer) {
            customers.push(owner.customer);
        }
    }
    let mut candidates: BTreeMap<i64, Candidate> = BTreeMap::new();
    for point in &who.usable {
        let Some(customers) = owners_of.get(&(point.kind.as_str(), point.value.as_str())) else {
            continue;
        };
        let limit = match point.kind {
            Kind::External => ctx.limits.external,
            Kind::Email => ctx.limits.email,
            Kind::Phone => ctx.limits.phone,
        } as usize;
        if customers.len() > limit {
            continue;
        }
        for customer in customers {
            let candidate = candidates.entry(*customer).or_insert_with(|| Candidate {
                customer: *customer,
                matched_by: vec![],
                emails: BTreeSet::new(),
                name: None,
                phones: vec![],
            });
            candidate.matched_by.push((point.kind, point.value.clone()));
            if point.kind == Kind::Phone {
                candidate.phones.push(PhoneEvidence {
                    value: point.value.clone(),
                    line: Normalizer::line(&point.value),
                    holders: customers.len(),
                    superseded_by: None,
                });
            }
        }
    }
    // A contact known only by a shared address is the shared mailbox itself: the customer
    // that has that address and nothing of a person's (a colleague who once wrote from it with
    // their own phone is not the mailbox).
    if who.usable.is_empty()
        && let Some(shared) = who.shared.first()
        && let Some(mailbox) =
            sql::mailbox_customer(tx, shared.point.kind.as_str(), &shared.point.value).await?
    {
        candidates.insert(
            mailbox,
            Candidate {
                customer: mailbox,
                matched_by: vec![(shared.point.kind, shared.point.value.clone())],
                emails: BTreeSet::new(),
                name: None,
                phones: vec![],
            },
        );
    }
    let ids: Vec<i64> = candidates.keys().copied().collect();
    // E-mails and names decide only for a candidate found through phones alone.
    if candidates.values().any(|c| c.matched_by.iter().all(|(kind, _)| !kind.is_strong())) {
        for (customer, email) in sql::emails_of(tx, &ids).await? {
            if ctx.normalizer.shared_reason(&email).is_some() {
                continue;
            }
            if let Some(candidate) = candidates.get_mut(&customer) {
                candidate.emails.insert(email);
            }
        }
        for (customer, name) in sql::names_of(tx, &ids).await? {
            if let Some(candidate) = candidates.get_mut(&customer) {
                candidate.name = Some(name);
            }
        }
        let phones = sql::phones_of(tx, &ids).await?;
        for candidate in candidates.values_mut() {
            let theirs: Vec<_> = phones.iter().filter(|p| p.0 == candidate.customer).collect();
            for evidence in &mut candidate.phones {
                let Some(last_seen) = theirs.iter().find(|p| p.1 == evidence.value).map(|p| p.3)
                else {
                    continue;
                };
                evidence.superseded_by = theirs
                    .iter()
                    .filter(|p| p.1 != evidence.value && p.2 > last_seen)
                    .filter(|p| Normalizer::line(&p.1) == Line::Mobile)
                    .map(|p| p.1.clone())
                    .next();
            }
        }
    }
    let separated: HashSet<(i64, i64)> = if ids.len() > 1 {
        sql::blocks_of(tx, &ids).await?.into_iter().collect()
    } else {
        HashSet::new()
    };
    let incoming = Incoming {
        emails: who
            .usable
            .iter()
            .filter(|p| p.kind == Kind::Email)
            .map(|p| p.value.clone())
            .collect(),
        name: identity::full_name(
            contact.display_name.as_deref(),
            contact.given_name.as_deref(),
            contact.family_name.as_deref(),
        ),
    };
    let matched = candidates.clone();
    let decision = identity::decide(&incoming, candidates.into_values().collect(), &separated);

    let names = Names {
        display_name: contact.display_name.as_deref(),
        given_name: contact.given_name.as_deref(),
        family_name: contact.family_name.as_deref(),
        locale: contact.locale.as_deref(),
    };
    let (customer, existed) = match (decision.survivor, &known) {
        (Some(survivor), _) => (survivor, true),
        (None, Some((customer, _))) => (*customer, true),
        (None, None) => (sql::insert_customer(tx, &names).await?, false),
    };
    for (absorbed, link) in &decision.merge {
        let reason = format!("{link} (event {provider_id} from {})", ctx.connector);
        merges.push(crate::store::merge_in_tx(tx, customer, *absorbed, "auto", &reason).await?);
    }
    let linked_by = matched
        .get(&customer)
        .and_then(|c| c.matched_by.iter().min_by_key(|(kind, _)| *kind))
        .or_else(|| decision.merge.first().and_then(|(id, _)| matched.get(id)?.matched_by.first()))
        .map(|(kind, value)| format!("{} {value}", kind.as_str()))
        .or_else(|| known.as_ref().filter(|(id, _)| *id == customer).map(|(_, why)| why.clone()))
        .or_else(|| who.usable.first().map(|p| format!("{} {}", p.kind.as_str(), p.value)))
        .unwrap_or_else(|| format!("new customer from {}", ctx.connector));

    let now_owned: HashSet<i64> =
        std::iter::once(customer).chain(decision.merge.iter().map(|(id, _)| *id)).collect();
    for (other, evidence) in &decision.possible_duplicates {
        if !now_owned.contains(other) {
            sql::add_possible_duplicate(tx, customer, *other, evidence, ctx.connector, at).await?;
        }
    }
    record_points(tx, ctx, customer, who, &owners, &now_owned, at).await?;
    for attribute in contact.attributes.iter().filter(|a| !a.value.trim().is_empty()) {
        let Attribute { key, value } = attribute;
        sql::set_attribute(tx, customer, key, value, ctx.connector, at).await?;
    }
    if existed {
        sql::fill_names(tx, customer, &names).await?;
    }
    Ok(Resolved { customer, linked_by })
}

/// Records the contact's identifiers on `customer`: new ones added, known ones seen again
/// (and verified, when a provider vouches for them now), unusable ones kept with their reason.
async fn record_points(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    customer: i64,
    who: &Who,
    owners: &[Owner],
    now_owned: &HashSet<i64>,
    at: i64,
) -> Result<(), StoreError> {
    let mut seen = Vec::new();
    let mut verified = Vec::new();
    let mut new = Vec::new();
    for point in &who.usable {
        let own = owners.iter().find(|o| {
            now_owned.contains(&o.customer)
                && o.kind == point.kind.as_str()
                && o.value == point.value
        });
        match own {
            Some(owner) if point.provenance == Provenance::Verified && !owner.verified => {
                verified.push(owner.point)
            }
            Some(owner) if owner.last_seen < at => seen.push(owner.point),
            Some(_) => {}
            None => new.push(NewPoint {
                kind: point.kind.as_str(),
                value: &point.value,
                raw: &point.raw,
                provenance: point.provenance.as_str(),
                status: "usable",
                reason: None,
            }),
        }
    }
    for shared in &who.shared {
        if sql::has_point(tx, customer, shared.point.kind.as_str(), &shared.point.value).await? {
            continue;
        }
        new.push(NewPoint {
            kind: shared.point.kind.as_str(),
            value: &shared.point.value,
            raw: &shared.point.raw,
            provenance: shared.point.provenance.as_str(),
            status: "shared",
            reason: Some(&shared.reason),
        });
    }
    for unusable in &who.unusable {
        if sql::has_point(tx, customer, unusable.kind.as_str(), &unusable.value).await? {
            continue;
        }
        new.push(NewPoint {
            kind: unusable.kind.as_str(),
            value: &unusable.value,
            raw: &unusable.raw,
            provenance: Provenance::Declared.as_str(),
            status: unusable.status,
            reason: Some(&unusable.reason),
        });
    }
    sql::add_points(tx, customer, ctx.connector, &new, at).await?;
    sql::touch_points(tx, &seen, at, None).await?;
    sql::touch_points(tx, &verified, at, Some(ctx.connector)).await?;
    for point in who.usable.iter().filter(|p| p.kind == Kind::External) {
        sql::touch_channel_account(tx, ctx.connector, &point.value, customer, at).await?;
    }
    Ok(())
}
