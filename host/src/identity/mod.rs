//! Identity: normalizing identifiers and deciding, deterministically and explainably, which
//! customers an incoming contact is.
//!
//! The rules, in order:
//! 1. No live customer has any of the contact's identifiers → a new customer.
//! 2. Candidates are the live customers owning one of them, strongest evidence first (external
//!    ids, then e-mails, then phones), oldest first within a kind.
//! 3. A candidate found through an external id or an e-mail joins the merge set.
//! 4. One found only through a phone joins unless the evidence says it is someone else:
//!    - the phone is a fixed line (or a service number) and the names disagree (both are full
//!      names and they do not match: a household's other member) → kept apart;
//!    - it would merge two different e-mail identities → kept apart, unless the phone is a
//!      mobile (by its country's numbering plan) that no other customer has *and* the names
//!      agree: one person's work and private addresses. A fixed line, a service number, a
//!      mobile several customers share, or a name missing or disagreeing never does it.
//! 5. Customers an operator separated (by undoing their merge, or by dismissing a possible
//!    duplicate) are never merged again.
//! 6. The oldest customer of the set survives; the others are merged into it, each merge with a
//!    ledger entry saying which identifier, and which evidence, linked them.
//!
//! A candidate kept apart that still shares strong evidence (a phone and an agreeing name, or a
//! mobile) is listed as a *possible duplicate* for an agent to merge or dismiss.
//!
//! Identifiers that never find candidates, whatever the rules: one already shared by more
//! customers than its kind's limit (a shop's own phone number, say) and a *shared* address (a
//! role mailbox such as `info@…`, see [`DEFAULT_ROLE_ADDRESSES`]): the store leaves them out
//! before calling [`decide`]. A shared address is still recorded on the customer and may be
//! used to reach them.

mod names;
mod normalize;

use std::collections::{BTreeSet, HashSet};

pub use names::{Agreement, agreement, full_name};
pub use normalize::{
    Classified, DEFAULT_BLOCKED, DEFAULT_ROLE_ADDRESSES, Kind, Line, Normalized, Normalizer,
    SettingsError, Unmatchable, email,
};

/// What is known of a phone number a candidate was found through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneEvidence {
    /// In E.164.
    pub value: String,
    /// Its kind of line.
    pub line: Line,
    /// How many live customers hold it already.
    pub holders: usize,
    /// Another mobile of the candidate first seen after this number was last seen on it: the
    /// person moved to it, and this number may since belong to someone else.
    pub superseded_by: Option<String>,
}

/// A live customer that owns at least one of the incoming identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The customer's id; lower ids are older.
    pub customer: i64,
    /// The incoming identifiers it owns.
    pub matched_by: Vec<(Kind, String)>,
    /// Every e-mail address of its own (shared addresses left out).
    pub emails: BTreeSet<String>,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// The phones among `matched_by`, with what is known of them.
    pub phones: Vec<PhoneEvidence>,
}

impl Candidate {
    fn strongest(&self) -> Kind {
        self.matched_by.iter().map(|(kind, _)| *kind).min().unwrap_or(Kind::Phone)
    }
}

/// What the incoming contact says of itself.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// Its own e-mail addresses, normalized (shared ones left out).
    pub emails: BTreeSet<String>,
    /// Its name, if it gave one.
    pub name: Option<String>,
}

/// What resolution decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// The customer the contact is, or `None` for a new one.
    pub survivor: Option<i64>,
    /// Customers to merge into the survivor, with the identifier and evidence that linked each.
    pub merge: Vec<(i64, String)>,
    /// Candidates left apart, with why.
    pub kept_apart: Vec<(i64, String)>,
    /// Candidates left apart that an agent should look at, with the evidence they share.
    pub possible_duplicates: Vec<(i64, String)>,
}

fn quoted(name: Option<&str>) -> String {
    name.map(|n| format!("“{n}”")).unwrap_or_else(|| "no name".into())
}

/// Decides which customers the `incoming` contact is, among `candidates`. `separated` holds
/// pairs (lower id first) an operator split apart.
pub fn decide(
    incoming: &Incoming,
    mut candidates: Vec<Candidate>,
    separated: &HashSet<(i64, i64)>,
) -> Decision {
    candidates.sort_by_key(|c| (c.strongest(), c.customer));
    let mut accepted: Vec<(i64, String)> = Vec::new();
    let mut emails: BTreeSet<String> = incoming.emails.clone();
    // A contact without a name is named by the customer its external ids or e-mails found.
    let mut named = incoming.clone();
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
        if candidate.strongest().is_strong() {
            emails.extend(candidate.emails.iter().cloned());
            if named.name.is_none() {
                named.name = candidate.name.clone();
            }
            accepted.push((candidate.customer, link));
            continue;
        }
        match phone_verdict(&named, &candidate, &emails, &link) {
            Verdict::Join(link) => {
                emails.extend(candidate.emails.iter().cloned());
                accepted.push((candidate.customer, link));
            }
            Verdict::Apart { reason, duplicate } => {
                if let Some(evidence) = duplicate {
                    decision.possible_duplicates.push((candidate.customer, evidence));
                }
                decision.kept_apart.push((candidate.customer, reason));
            }
        }
    }
    accepted.sort_by_key(|(id, _)| *id);
    let mut accepted = accepted.into_iter();
    if let Some((survivor, _)) = accepted.next() {
        decision.survivor = Some(survivor);
        decision.merge = accepted.collect();
    }
    decision
}

enum Verdict {
    Join(String),
    Apart { reason: String, duplicate: Option<String> },
}

/// Rule 4: a candidate found through phones alone.
fn phone_verdict(
    incoming: &Incoming,
    candidate: &Candidate,
    emails: &BTreeSet<String>,
    link: &str,
) -> Verdict {
    let names = match (&incoming.name, &candidate.name) {
        (Some(a), Some(b)) => agreement(a, b),
        _ => Agreement::Unknown,
    };
    let (ours, theirs) = (quoted(incoming.name.as_deref()), quoted(candidate.name.as_deref()));
    // The best phone it was found through: a mobile no one else has, else any.
    let phone = candidate
        .phones
        .iter()
        .min_by_key(|p| (p.line != Line::Mobile, p.holders, p.value.clone()))
        .cloned()
        .unwrap_or(PhoneEvidence {
            value: String::new(),
            line: Line::Unknown,
            holders: 1,
            superseded_by: None,
        });
    let held = if phone.holders > 1 {
        format!(", held by {} customers", phone.holders)
    } else {
        String::new()
    };
    let line = format!("{} ({}{held})", phone.value, phone.line.as_str());
    // A household's line with another member's name: someone else. (A messenger's profile
    // name on a mobile is whatever its owner chose, so there it says nothing on its own.)
    if names == Agreement::Disagree && matches!(phone.line, Line::FixedLine | Line::Service) {
        return Verdict::Apart {
            reason: format!(
                "{link} is shared, but it is {} and the names disagree ({ours} and {theirs}): \
                 another person on the same line",
                phone.line.as_str()
            ),
            duplicate: None,
        };
    }
    // A number its customer gave up for another: a mobile changes hands, so only the name
    // says it is still them.
    if let Some(newer) = &phone.superseded_by
        && names != Agreement::Agree
    {
        return Verdict::Apart {
            reason: format!(
                "{link} is an old number of theirs: they have used {newer} since, and this one \
                 may belong to someone else now"
            ),
            duplicate: (names != Agreement::Disagree).then(|| {
                format!(
                    "the phone {line}, which they gave up for {newer}; names {ours} and {theirs}"
                )
            }),
        };
    }
    let conflict =
        !candidate.emails.is_empty() && !emails.is_empty() && candidate.emails.is_disjoint(emails);
    if !conflict {
        return Verdict::Join(link.to_string());
    }
    if phone.line == Line::Mobile && phone.holders <= 1 && names == Agreement::Agree {
        return Verdict::Join(format!(
            "phone {} (a mobile no other customer has) and the name {theirs} agreeing, \
             across different e-mails",
            phone.value
        ));
    }
    let why = match (phone.line, phone.holders > 1, names) {
        (Line::Mobile, false, _) => "the names do not both agree".to_string(),
        (Line::Mobile, true, _) => format!("the mobile is held by {} customers", phone.holders),
        (line, ..) => format!("it is {}, not a personal mobile", line.as_str()),
    };
    Verdict::Apart {
        reason: format!(
            "{link} is shared, but its e-mails conflict and {why}: a phone alone does not \
             merge different e-mails"
        ),
        duplicate: (names == Agreement::Agree
            || (phone.line == Line::Mobile && names != Agreement::Disagree))
            .then(|| {
                format!(
                    "the phone {line} and the names {ours} and {theirs}, with different e-mails"
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(customer: i64, matched: &[(Kind, &str)], emails: &[&str]) -> Candidate {
        Candidate {
            customer,
            matched_by: matched.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            emails: emails.iter().map(|e| e.to_string()).collect(),
            name: None,
            phones: matched
                .iter()
                .filter(|(k, _)| *k == Kind::Phone)
                .map(|(_, v)| PhoneEvidence {
                    value: v.to_string(),
                    line: Normalizer::line(v),
                    holders: 1,
                    superseded_by: None,
                })
                .collect(),
        }
    }

    fn named(mut c: Candidate, name: &str) -> Candidate {
        c.name = Some(name.into());
        c
    }

    fn incoming(emails: &[&str], name: Option<&str>) -> Incoming {
        Incoming {
            emails: emails.iter().map(|e| e.to_string()).collect(),
            name: name.map(str::to_string),
        }
    }

    fn emails(list: &[&str]) -> Incoming {
        incoming(list, None)
    }

    const MOBILE: &str = "+33612345678";
    const LANDLINE: &str = "+33142685300";

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
                candidate(3, &[(Kind::Phone, MOBILE)], &[]),
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
            vec![candidate(1, &[(Kind::Phone, MOBILE)], &["a@x.fr"])],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, None);
        assert!(decision.kept_apart[0].1.contains("conflict"), "{decision:?}");
        // Without names there is nothing to call a duplicate on but the mobile.
        assert_eq!(decision.possible_duplicates.len(), 1, "{decision:?}");
        // Without an e-mail on either side the phone is enough.
        let decision = decide(
            &emails(&[]),
            vec![candidate(1, &[(Kind::Phone, MOBILE)], &["a@x.fr"])],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, Some(1));
        // Two customers with different e-mails sharing a phone stay two.
        let decision = decide(
            &emails(&[]),
            vec![
                candidate(1, &[(Kind::Phone, LANDLINE)], &["a@x.fr"]),
                candidate(2, &[(Kind::Phone, LANDLINE)], &["b@x.fr"]),
            ],
            &HashSet::new(),
        );
        assert_eq!(
            (decision.survivor, decision.merge.len(), decision.kept_apart.len()),
            (Some(1), 0, 1)
        );
        assert!(decision.kept_apart[0].1.contains("a fixed line"), "{decision:?}");
    }

    #[test]
    fn a_personal_mobile_and_an_agreeing_name_join_two_emails() {
        let decision = decide(
            &incoming(&["ann.lee@work.example"], Some("Ann Lee")),
            vec![named(candidate(1, &[(Kind::Phone, MOBILE)], &["ann@home.example"]), "Lee Ann")],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, Some(1), "{decision:?}");
        assert!(decision.kept_apart.is_empty());
        // A landline with the same name does not: a household shares it.
        let decision = decide(
            &incoming(&["ann.lee@work.example"], Some("Ann Lee")),
            vec![named(candidate(1, &[(Kind::Phone, LANDLINE)], &["ann@home.example"]), "Ann Lee")],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, None);
        assert!(decision.kept_apart[0].1.contains("not a personal mobile"), "{decision:?}");
        // …but it is worth an agent's look.
        assert!(decision.possible_duplicates[0].1.contains("“Ann Lee”"), "{decision:?}");
        // Nor does a mobile other customers hold too.
        let mut shared =
            named(candidate(1, &[(Kind::Phone, MOBILE)], &["ann@home.example"]), "Ann Lee");
        shared.phones[0].holders = 2;
        let decision = decide(
            &incoming(&["ann.lee@work.example"], Some("Ann Lee")),
            vec![shared],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, None);
        assert!(decision.kept_apart[0].1.contains("held by 2"), "{decision:?}");
        // A nameless contact takes the name of the customer its e-mail found.
        let decision = decide(
            &incoming(&["ann.lee@work.example"], None),
            vec![
                named(candidate(1, &[(Kind::Phone, MOBILE)], &["ann@home.example"]), "Ann Lee"),
                named(
                    candidate(
                        2,
                        &[(Kind::Email, "ann.lee@work.example")],
                        &["ann.lee@work.example"],
                    ),
                    "A. Lee",
                ),
            ],
            &HashSet::new(),
        );
        assert_eq!((decision.survivor, decision.merge.len()), (Some(1), 1), "{decision:?}");
        // Nor a mobile without a name on one side.
        let decision = decide(
            &incoming(&["ann.lee@work.example"], None),
            vec![named(candidate(1, &[(Kind::Phone, MOBILE)], &["ann@home.example"]), "Ann Lee")],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, None);
    }

    #[test]
    fn disagreeing_names_keep_a_household_line_from_merging() {
        // Another member of a household on its landline.
        let decision = decide(
            &incoming(&[], Some("Jean Dubois")),
            vec![named(candidate(1, &[(Kind::Phone, LANDLINE)], &[]), "Marie Dubois")],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, None);
        assert!(decision.kept_apart[0].1.contains("names disagree"), "{decision:?}");
        assert!(decision.possible_duplicates.is_empty(), "a household is not a duplicate");
        // On a mobile, a messenger's profile name is its owner's choice: it decides nothing.
        let decision = decide(
            &incoming(&[], Some("Sheena Nelson")),
            vec![named(candidate(1, &[(Kind::Phone, MOBILE)], &["ann@home.example"]), "Ann Lee")],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, Some(1));
        // …but it does keep two e-mails apart.
        let decision = decide(
            &incoming(&["sheena@x.example"], Some("Sheena Nelson")),
            vec![named(candidate(1, &[(Kind::Phone, MOBILE)], &["ann@home.example"]), "Ann Lee")],
            &HashSet::new(),
        );
        assert_eq!(decision.survivor, None);
        assert!(decision.possible_duplicates.is_empty(), "{decision:?}");
    }

    #[test]
    fn a_number_given_up_for_another_needs_the_name() {
        let mut old =
            named(candidate(1, &[(Kind::Phone, MOBILE)], &["ann@home.example"]), "Ann Lee");
        old.phones[0].superseded_by = Some("+33698765432".into());
        let decision = decide(&incoming(&[], None), vec![old.clone()], &HashSet::new());
        assert_eq!(decision.survivor, None);
        assert!(decision.kept_apart[0].1.contains("old number"), "{decision:?}");
        assert_eq!(decision.possible_duplicates.len(), 1);
        let decision = decide(&incoming(&[], Some("Ann Lee")), vec![old], &HashSet::new());
        assert_eq!(decision.survivor, Some(1));
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

    #[test]
    fn lines_come_from_the_numbering_plan() {
        assert_eq!(Normalizer::line("+33612345678"), Line::Mobile);
        assert_eq!(Normalizer::line("+33142685300"), Line::FixedLine);
        assert_eq!(Normalizer::line("+33800123456"), Line::Service);
        assert_eq!(Normalizer::line("+4915112345678"), Line::Mobile);
        assert_eq!(Normalizer::line("+14155552671"), Line::FixedLineOrMobile);
    }

    #[test]
    fn role_addresses_are_shared() {
        let n = Normalizer::new(Some("FR"), &[]).unwrap();
        assert!(n.shared_reason("info@acme.fr").is_some());
        assert!(n.shared_reason("sales+eu@acme.fr").is_some());
        assert!(n.shared_reason("ann@acme.fr").is_none());
        let n = n.with_role_addresses(["team@acme.fr", "bureau"]);
        assert!(n.shared_reason("info@acme.fr").is_none(), "the list was replaced");
        assert!(n.shared_reason("team@acme.fr").is_some());
        assert!(n.shared_reason("bureau@x.de").is_some());
        let n = n.with_role_addresses([]).with_more_role_addresses(["info"]);
        assert!(n.shared_reason("info@acme.fr").is_some());
    }
}
