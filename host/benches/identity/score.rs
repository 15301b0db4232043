//! Scoring the store against the ground truth: pairwise precision and recall from contingency
//! counts, over-merged customers and split persons, per class, and the identifiers behind each
//! error.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::people::Class;
use super::population::{Link, Population};

/// One stored record with its ground truth and where the store put it.
pub struct Scored {
    pub person: usize,
    pub customer: i64,
    pub connector: &'static str,
    pub table: &'static str,
    pub links: Vec<Link>,
    /// The identifiers the connector reported, as the store matches them (`phone +33…`).
    pub matched: BTreeSet<String>,
    /// Reported identifiers the store cannot match, with why (`phone n/a: blocked value`).
    pub unmatched: Vec<String>,
}

fn pairs(n: usize) -> u64 {
    let n = n as u64;
    n * n.saturating_sub(1) / 2
}

/// Union-find over record indices.
struct Components(Vec<usize>);

impl Components {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

/// The figures of one class (or of everyone).
#[derive(Default, Clone)]
pub struct Figures {
    pub people: usize,
    pub records: usize,
    pub over_merged: usize,
    pub split: usize,
    pub false_pairs: u64,
    pub linkable_pairs: u64,
    pub linked_pairs: u64,
}

pub struct Report {
    pub records: usize,
    /// Records that carry something of their person's own (an identifier, an order reference).
    pub attributable: usize,
    /// Pairs of attributable records on one customer, and those of one person among them.
    pub attributable_predicted: u64,
    pub attributable_true_positive: u64,
    pub customers: usize,
    pub predicted_pairs: u64,
    pub true_pairs: u64,
    pub true_positive: u64,
    pub linkable_pairs: u64,
    pub linked_pairs: u64,
    pub over_merged: Vec<i64>,
    pub split_people: Vec<usize>,
    pub classes: Vec<(Class, Figures)>,
    pub over_merge_examples: Vec<String>,
    pub split_examples: Vec<String>,
    /// Why other people's records joined a customer: (what glued them, people so joined,
    /// their hard-case classes).
    pub glue: Vec<(String, usize, String)>,
    /// What should have joined a person's records but did not: (identifier and where it was
    /// in the stranded record, people split by it, their hard-case classes).
    pub missed: Vec<(String, usize, String)>,
}

impl Report {
    pub fn precision(&self) -> f64 {
        ratio(self.true_positive, self.predicted_pairs)
    }

    /// Precision over the records that say whose they are: a call from a household's
    /// landline, mail from a role mailbox without a signature, a placeholder alone say nothing,
    /// and whichever customer they join is counted wrong above.
    pub fn attributable_precision(&self) -> f64 {
        ratio(self.attributable_true_positive, self.attributable_predicted)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.linked_pairs, self.linkable_pairs)
    }

    pub fn recall_all(&self) -> f64 {
        ratio(self.true_positive, self.true_pairs)
    }
}

pub fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// What a glue identifier is, from the population's labels and owners: its category and
/// a detail.
fn what(population: &Population, key: &str, records: &[&Scored]) -> (String, String) {
    if let Some((category, detail)) = population.labels.get(key) {
        return (category.to_string(), detail.clone());
    }
    let kind = key.split(' ').next().unwrap_or("");
    match population.owners.get(key).map(Vec::as_slice) {
        Some([owner]) => {
            let on: BTreeSet<String> = records
                .iter()
                .filter(|r| r.person != *owner)
                .map(|r| format!("{} {}", r.connector, r.table))
                .collect();
            let class = population.people[*owner]
                .classes
                .iter()
                .find(|c| !matches!(c, Class::Foreign | Class::NameVariants | Class::IdnEmail))
                .map(|c| c.name())
                .unwrap_or("plain");
            let category = format!(
                "{kind} of one person ({class}) on another's {}",
                on.into_iter().collect::<Vec<_>>().join(", ")
            );
            (category, format!("p{owner}"))
        }
        Some(owners) => (format!("{kind} owned by several people"), format!("{owners:?}")),
        None => (format!("{kind} of no one in the population"), String::new()),
    }
}

/// The hard-case classes of `people`, most frequent first: `role-mailbox 12, household 3`.
fn hard_classes(population: &Population, people: &[usize]) -> String {
    let mut counts: BTreeMap<Class, usize> = BTreeMap::new();
    for person in people {
        for class in &population.people[*person].classes {
            if !matches!(class, Class::Foreign | Class::NameVariants | Class::IdnEmail) {
                *counts.entry(*class).or_default() += 1;
            }
        }
    }
    let mut counts: Vec<(Class, usize)> = counts.into_iter().collect();
    counts.sort_by_key(|(class, n)| (std::cmp::Reverse(*n), *class));
    counts.iter().map(|(c, n)| format!("{} {n}", c.name())).collect::<Vec<_>>().join(", ")
}

fn classes_of(population: &Population, person: usize) -> String {
    population.people[person].classes.iter().map(|c| c.name()).collect::<Vec<_>>().join(",")
}

pub fn score(population: &Population, records: &[Scored]) -> Report {
    // Linkable components: a person's records joined by their own identifiers.
    let mut components = Components((0..records.len()).collect());
    let mut first_with: HashMap<(usize, &str), usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        for link in &record.links {
            match first_with.get(&(record.person, link.key.as_str())) {
                Some(&other) => components.union(index, other),
                None => {
                    first_with.insert((record.person, link.key.as_str()), index);
                }
            }
        }
    }
    let component: Vec<usize> = (0..records.len()).map(|i| components.find(i)).collect();

    let mut by_customer: HashMap<i64, Vec<usize>> = HashMap::new();
    let mut by_person: HashMap<usize, usize> = HashMap::new();
    let mut by_cell: HashMap<(i64, usize), usize> = HashMap::new();
    let mut by_component: HashMap<usize, usize> = HashMap::new();
    let mut by_component_cell: HashMap<(i64, usize), usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        by_customer.entry(record.customer).or_default().push(index);
        *by_person.entry(record.person).or_default() += 1;
        *by_cell.entry((record.customer, record.person)).or_default() += 1;
        *by_component.entry(component[index]).or_default() += 1;
        *by_component_cell.entry((record.customer, component[index])).or_default() += 1;
    }
    let mut attributable_by_customer: HashMap<i64, usize> = HashMap::new();
    let mut attributable_by_cell: HashMap<(i64, usize), usize> = HashMap::new();
    for record in records.iter().filter(|r| !r.links.is_empty()) {
        *attributable_by_customer.entry(record.customer).or_default() += 1;
        *attributable_by_cell.entry((record.customer, record.person)).or_default() += 1;
    }
    let attributable = attributable_by_customer.values().sum();
    let attributable_predicted = attributable_by_customer.values().map(|n| pairs(*n)).sum();
    let attributable_true_positive = attributable_by_cell.values().map(|n| pairs(*n)).sum();
    let predicted_pairs = by_customer.values().map(|r| pairs(r.len())).sum();
    let true_pairs = by_person.values().map(|n| pairs(*n)).sum();
    let true_positive = by_cell.values().map(|n| pairs(*n)).sum();
    let linkable_pairs = by_component.values().map(|n| pairs(*n)).sum();
    let linked_pairs = by_component_cell.values().map(|n| pairs(*n)).sum();

    let people_of = |customer: i64| -> BTreeMap<usize, usize> {
        let mut people = BTreeMap::new();
        for &i in &by_customer[&customer] {
            *people.entry(records[i].person).or_default() += 1;
        }
        people
    };
    let mut over_merged: Vec<i64> =
        by_customer.keys().copied().filter(|c| people_of(*c).len() > 1).collect();
    over_merged.sort();
    // A component's customers.
    let mut spread: HashMap<usize, BTreeSet<i64>> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        spread.entry(component[index]).or_default().insert(record.customer);
    }
    let mut split_people: Vec<usize> = spread
        .iter()
        .filter(|(_, customers)| customers.len() > 1)
        .map(|(root, _)| records[*root].person)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    split_people.sort();

    // Per class.
    let mut classes = Vec::new();
    for class in Class::ALL {
        let member = |p: usize| population.people[p].classes.contains(&class);
        let mut figures = Figures {
            people: population.people.iter().filter(|p| p.classes.contains(&class)).count(),
            records: records.iter().filter(|r| member(r.person)).count(),
            split: split_people.iter().filter(|p| member(**p)).count(),
            ..Figures::default()
        };
        for customer in &over_merged {
            let people = people_of(*customer);
            if people.keys().any(|p| member(*p)) {
                figures.over_merged += 1;
            }
            let all: usize = people.values().sum();
            let outside: usize = people.iter().filter(|(p, _)| !member(**p)).map(|(_, n)| n).sum();
            let false_all = pairs(all) - people.values().map(|n| pairs(*n)).sum::<u64>();
            let false_outside = pairs(outside)
                - people.iter().filter(|(p, _)| !member(**p)).map(|(_, n)| pairs(*n)).sum::<u64>();
            figures.false_pairs += false_all - false_outside;
        }
        for (root, n) in &by_component {
            if member(records[*root].person) {
                figures.linkable_pairs += pairs(*n);
            }
        }
        for ((_, root), n) in &by_component_cell {
            if member(records[*root].person) {
                figures.linked_pairs += pairs(*n);
            }
        }
        classes.push((class, figures));
    }

    // Why: what other people's records share with each over-merged customer's.
    let mut glue: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut glue_of: HashMap<i64, Vec<String>> = HashMap::new();
    for customer in &over_merged {
        let rows = &by_customer[customer];
        let people = people_of(*customer);
        let majority = people
            .iter()
            .max_by_key(|(p, n)| (**n, std::cmp::Reverse(**p)))
            .map(|(p, _)| *p)
            .unwrap();
        for &intruder in people.keys().filter(|p| **p != majority) {
            let own: BTreeSet<&String> = rows
                .iter()
                .filter(|i| records[**i].person == intruder)
                .flat_map(|i| &records[*i].matched)
                .collect();
            let mut found = BTreeSet::new();
            for key in own {
                let others: Vec<&Scored> = rows
                    .iter()
                    .map(|i| &records[*i])
                    .filter(|r| r.person != intruder && r.matched.contains(key))
                    .collect();
                if others.is_empty() {
                    continue;
                }
                let with_own: Vec<&Scored> =
                    rows.iter().map(|i| &records[*i]).filter(|r| r.matched.contains(key)).collect();
                let (category, detail) = what(population, key, &with_own);
                let detail = if detail.is_empty() { detail } else { format!(": {detail}") };
                glue_of.entry(*customer).or_default().push(format!("{key} ({category}{detail})"));
                found.insert(category);
            }
            if found.is_empty() {
                found.insert(
                    "no identifier in common (joined through a third record, or by name)".into(),
                );
            }
            for description in found {
                glue.entry(description).or_default().push(intruder);
            }
        }
    }

    // What should have joined split people's records: for each part of a person's component
    // apart from its biggest, the identifiers it shares with the rest, by where each was in
    // the stranded record (and whether the store could match it there).
    let mut missed: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut missed_of: HashMap<usize, Vec<String>> = HashMap::new();
    let mut split_components: Vec<(&usize, &BTreeSet<i64>)> =
        spread.iter().filter(|(_, c)| c.len() > 1).collect();
    split_components.sort();
    for (root, _) in split_components {
        let person = records[*root].person;
        let mut parts: BTreeMap<i64, Vec<&Scored>> = BTreeMap::new();
        for (index, record) in records.iter().enumerate() {
            if component[index] == *root {
                parts.entry(record.customer).or_default().push(record);
            }
        }
        let biggest =
            parts.iter().max_by_key(|(c, r)| (r.len(), std::cmp::Reverse(**c))).map(|(c, _)| *c);
        let mut categories = BTreeSet::new();
        for (customer, part) in parts.iter().filter(|(c, _)| Some(**c) != biggest) {
            let elsewhere: BTreeMap<&str, BTreeSet<&str>> = parts
                .iter()
                .filter(|(c, _)| *c != customer)
                .flat_map(|(_, r)| r.iter().flat_map(|r| &r.links))
                .fold(BTreeMap::new(), |mut keys, link| {
                    keys.entry(link.key.as_str()).or_default().insert(link.via);
                    keys
                });
            for record in part {
                for link in record.links.iter().filter(|l| elsewhere.contains_key(l.key.as_str())) {
                    let kind = link.key.split(' ').next().unwrap_or("");
                    let structural = matches!(kind, "order" | "tracking");
                    let mut category = format!(
                        "{kind} in the {} {} ({})",
                        record.connector, record.table, link.via
                    );
                    if !structural && !record.matched.contains(&link.key) {
                        let why = record
                            .unmatched
                            .iter()
                            .find(|u| u.starts_with(kind))
                            .map(|u| format!("reported as {u}"))
                            .unwrap_or_else(|| "not reported by the connector".into());
                        category.push_str(&format!(", which the store cannot match: {why}"));
                    }
                    let other: Vec<&str> = elsewhere[link.key.as_str()].iter().copied().collect();
                    let example = format!(
                        "{}, {category} on customer {customer}; on another as {}",
                        link.key,
                        other.join(" / ")
                    );
                    let examples = missed_of.entry(person).or_default();
                    if !examples.contains(&example) {
                        examples.push(example);
                    }
                    categories.insert(category);
                }
            }
        }
        for category in categories {
            missed.entry(category).or_default().push(person);
        }
    }

    // Examples: the largest errors, a different class each first.
    let mut over_merge_examples = Vec::new();
    let mut shown = HashSet::new();
    let mut ranked = over_merged.clone();
    ranked.sort_by_key(|c| {
        (std::cmp::Reverse(people_of(*c).len()), std::cmp::Reverse(by_customer[c].len()), *c)
    });
    for pass in 0..2 {
        for class in Class::ALL {
            if over_merge_examples.len() >= 20 {
                break;
            }
            let pick = ranked.iter().find(|c| {
                !shown.contains(*c)
                    && (pass == 1
                        || people_of(**c)
                            .keys()
                            .any(|p| population.people[*p].classes.contains(&class)))
            });
            let Some(&customer) = pick else { continue };
            shown.insert(customer);
            let people: Vec<String> = people_of(customer)
                .iter()
                .map(|(p, n)| {
                    let note = &population.people[*p].note;
                    let note = if note.is_empty() { String::new() } else { format!(" {note}") };
                    format!("p{p} ×{n} [{}]{note}", classes_of(population, *p))
                })
                .collect();
            let glue = glue_of.get(&customer).map(|g| {
                g.iter()
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .take(4)
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            over_merge_examples.push(format!(
                "customer {customer}: {}\n      glued by: {}",
                people.join(", "),
                glue.unwrap_or_else(|| "no identifier in common".into())
            ));
        }
    }
    let mut split_examples = Vec::new();
    let mut shown = HashSet::new();
    for pass in 0..2 {
        for class in Class::ALL {
            if split_examples.len() >= 20 {
                break;
            }
            let pick = split_people.iter().find(|p| {
                !shown.contains(*p)
                    && (pass == 1 || population.people[**p].classes.contains(&class))
            });
            let Some(&person) = pick else { continue };
            shown.insert(person);
            let mut on: BTreeMap<i64, BTreeMap<String, usize>> = BTreeMap::new();
            for record in records.iter().filter(|r| r.person == person) {
                *on.entry(record.customer)
                    .or_default()
                    .entry(format!("{} {}", record.connector, record.table))
                    .or_default() += 1;
            }
            let fragments: Vec<String> = on
                .iter()
                .map(|(customer, kinds)| {
                    let kinds: Vec<String> = kinds
                        .iter()
                        .map(|(k, n)| if *n > 1 { format!("{k} ×{n}") } else { k.clone() })
                        .collect();
                    format!("customer {customer}: {}", kinds.join(", "))
                })
                .collect();
            let note = &population.people[person].note;
            let note = if note.is_empty() { String::new() } else { format!(" — {note}") };
            let joins: Vec<String> =
                missed_of.get(&person).into_iter().flatten().take(3).cloned().collect();
            split_examples.push(format!(
                "p{person} [{}] {}{note}\n      {}\n      should join: {}",
                classes_of(population, person),
                population.people[person].name.full(),
                fragments.join(" | "),
                joins.join("\n                   ")
            ));
        }
    }

    let tally = |causes: BTreeMap<String, Vec<usize>>| {
        let mut rows: Vec<(String, usize, String)> = causes
            .into_iter()
            .map(|(what, people)| {
                let classes = hard_classes(population, &people);
                (what, people.len(), classes)
            })
            .collect();
        rows.sort_by_key(|(what, n, _)| (std::cmp::Reverse(*n), what.clone()));
        rows
    };
    let glue = tally(glue);
    let missed = tally(missed);
    Report {
        records: records.len(),
        attributable,
        attributable_predicted,
        attributable_true_positive,
        customers: by_customer.len(),
        predicted_pairs,
        true_pairs,
        true_positive,
        linkable_pairs,
        linked_pairs,
        over_merged,
        split_people,
        classes,
        over_merge_examples,
        split_examples,
        glue,
        missed,
    }
}
