//! Identity: normalizing identifiers and deciding, deterministically and explainably, which
//! customers an incoming contact is.
//!
//! The rules, in order:
//! 1. No live customer has any of the contact's identifiers → a new customer.
//! 2. Candidates are the live customers owning one of them, strongest evidence first (external
//!    ids, then e-mails, then phones), oldest first within a kind.
//! 3. A candidate found through an external id or an e-mail joins the merge set. One found only
//!    through a phone joins unless that would merge two different e-mail identities: a phone
//!    alone never merges customers whose e-mails conflict.
//! 4. Customers an operator separated (by undoing their merge) are never merged again.
//! 5. The oldest customer of the set survives; the others are merged into it, each merge with a
//!    ledger entry saying which identifier linked them.
//!
//! An identifier already shared by more customers than its kind's limit (a shop's own phone
//! number, say) is not used to find candidates at all: the store leaves it out before calling
//! [`decide`].

mod normalize;

use std::collections::{BTreeSet, HashSet};

pub use normalize::{
    DEFAULT_BLOCKED, Kind, Normalized, Normalizer, SettingsError, Unmatchable, email,
};

/// A live customer that owns at least one of the incoming identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The customer's id; lower ids are older.
    pub customer: i64,
    /// The incoming identifiers it owns.
    pub matched_by: Vec<(Kind, String)>,
    /// Every e-mail address it has.
    pub emails: BTreeSet<String>,
}

impl Candidate {
    fn strongest(&self) -> Kind {
        self.matched_by.iter().map(|(kind, _)| *kind).min().unwrap_or(Kind::Phone)
    }
}

/// What resolution decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// The customer the contact is, or `None` for a new one.
    pub survivor: Option<i64>,
    /// Customers to merge into the survivor, with the identifier that linked each.
    pub merge: Vec<(i64, String)>,
    /// Candidates left apart, with why.
    pub kept_apart: Vec<(i64, String)>,
}

/// Decides which customers the contact with `incoming_emails` is, among `candidates`.
/// `separated` holds pairs (lower id first) an operator split apart.
pub fn decide(
    incoming_emails: &BTreeSet<String>,
    mut candidates: Vec<Candidate>,
    separated: &HashSet<(i64, i64)>,
) -> Decision {
    candidates.sort_by_key(|c| (c.strongest(), c.customer));
    let mut accepted: Vec<(i64, String)> = Vec::new();
    let mut emails: BTreeSet<String> = incoming_emails.clone();
    let mut decision = Decision::default();
    for candidate in candidates {
        let link = candidate
            .matched_by
            .iter()
            .min_by_key(|(kind, _)| *kind)
            .map(|(kind, value)| format!("{} {value}", kind.as_str()))
            .unwrap_or_default();
        if let Some((other, _)) = accepted.iter().find(|(id, _)| {
            separated.contains(&(candidate.customer.min(*id), candidate.customer.max(*id)))
        }) {
            decision.kept_apart.push((
                candidate.customer,
                format!("an operator separated it from customer {other}"),
            ));
            continue;
        }
        if !candidate.strongest().is_strong()
            && !candidate.emails.is_empty()
            && !emails.is_empty()
            && candidate.emails.is_disjoint(&emails)
        {
            decision.kept_apart.push((
                candidate.customer,
                format!(
                    "{link} is shared, but its e-mails conflict and a phone alone does not merge"
                ),
            ));
            continue;
        }
        emails.extend(candidate.emails.iter().cloned());
        accepted.push((candidate.customer, link));
    }
    accepted.sort_by_key(|(id, _)| *id);
    let mut accepted = accepted.into_iter();
    if let Some((survivor, _)) = accepted.next() {
        decision.survivor = Some(survivor);
        decision.merge = accepted.collect();
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(customer: i64, matched: &[(Kind, &str)], emails: &[&str]) -> Candidate {
        Candidate {
            customer,
            matched_by: matched.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            emails: emails.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn emails(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn no_candidate_means_a_new_customer() {
        assert_eq!(decide(&emails(&["a@x.fr"]), vec![], &HashSet::new()), Decision::default());
    }

    #[test]
    fn several_candidates_merge_into_the_oldest() {
        let decision = decide(
            &emails(&["a@x.fr"]),
            vec![
                candidate(7, &[(Kind::Email, "a@x.fr")], &["a@x.fr"]),
                candidate(3, &[(Kind::Phone, "+33612345678")], &[]),
                candidate(5, &[(Kind::External, "telegram:user:1")], &[]),
            ],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, Some(3));
        assert_eq!(
            decision.merge,
            [(5, "external telegram:user:1".to_string()), (7, "email a@x.fr".to_string())]
        );
    }

    #[test]
    fn a_phone_alone_does_not_merge_conflicting_emails() {
        let decision = decide(
            &emails(&["b@x.fr"]),
            vec![candidate(1, &[(Kind::Phone, "+33612345678")], &["a@x.fr"])],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, None);
        assert!(decision.kept_apart[0].1.contains("conflict"), "{decision:?}");
        // Without an e-mail on either side the phone is enough.
        let decision = decide(
            &emails(&[]),
            vec![candidate(1, &[(Kind::Phone, "+33612345678")], &["a@x.fr"])],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, Some(1));
        // Two customers with different e-mails sharing a phone stay two.
        let decision = decide(
            &emails(&[]),
            vec![
                candidate(1, &[(Kind::Phone, "+33612345678")], &["a@x.fr"]),
                candidate(2, &[(Kind::Phone, "+33612345678")], &["b@x.fr"]),
            ],
            &HashSet::new(),
        );
        assert_eq!(
            (decision.survivor, decision.merge.len(), decision.kept_apart.len()),
            (Some(1), 0, 1)
        );
    }

    #[test]
    fn strong_identifiers_merge_even_across_emails() {
        let decision = decide(
            &emails(&["b@x.fr"]),
            vec![
                candidate(1, &[(Kind::External, "telegram:user:9")], &["a@x.fr"]),
                candidate(2, &[(Kind::Email, "b@x.fr")], &["b@x.fr"]),
            ],
            &HashSet::new(),
        );
        assert_eq!((decision.survivor, decision.merge.len()), (Some(1), 1));
    }

    #[test]
    fn separated_customers_stay_apart() {
        let decision = decide(
            &emails(&["a@x.fr"]),
            vec![
                candidate(1, &[(Kind::Email, "a@x.fr")], &["a@x.fr"]),
                candidate(2, &[(Kind::External, "web:visitor:v1")], &[]),
            ],
            &HashSet::from([(1, 2)]),
        );
        assert_eq!(decision.survivor, Some(2));
        assert_eq!(decision.merge, []);
        assert!(decision.kept_apart[0].1.contains("separated"));
    }
}
