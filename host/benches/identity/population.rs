//! The labelled population: people with their classes, and everything they do on every
//! channel, each request tagged with its person and the identifiers in it that truly are
//! theirs (the ground truth the bench scores the store against).

use std::collections::{BTreeSet, HashMap, HashSet};

mod actions;

use super::people::{
    self, CITIES, Class, Email, IDN_DOMAINS, JUNK_EMAILS, JUNK_PHONES, Line, MESSAGES, Name,
    PRODUCTS, Phone, Region, Rng, STREETS, SUBJECTS, slug,
};
use super::spec::*;

/// 2025-09-01T00:00:00Z: the start of the period the population is active in.
pub const BASE: i64 = 1_756_684_800_000;
pub const DAY: i64 = 86_400_000;
/// The period, in days.
const SPAN: i64 = 120;

/// One person of the population.
pub struct Person {
    pub name: Name,
    pub classes: BTreeSet<Class>,
    /// What makes them a hard case, for the examples ("colleague at Atelier du Port").
    pub note: String,
}

/// An identifier or reference in a request that truly belongs to its person (or ties the
/// record to another of theirs), and where in the request it was.
#[derive(Debug, Clone)]
pub struct Link {
    /// `phone +33612345678`, `email ann@example.com`, `external telegram:user:42`,
    /// `order #1001`, `tracking 6A123`.
    pub key: String,
    pub via: &'static str,
}

/// One request of the timeline, with its ground truth.
pub struct Item {
    /// When it happens (ms): the timeline is sent in this order.
    pub at: i64,
    pub person: usize,
    pub links: Vec<Link>,
    pub spec: Spec,
}

/// The population and its timeline.
pub struct Population {
    pub people: Vec<Person>,
    /// Sorted by time.
    pub items: Vec<Item>,
    /// What an identifier (as a ground-truth key) is when it is not simply one person's own:
    /// a role mailbox, a company line or account, a household landline or mailbox, a
    /// placeholder, a recycled number.
    pub labels: HashMap<String, (&'static str, String)>,
    /// Who each identifier key belongs to (a recycled number belongs to two people in turn).
    pub owners: HashMap<String, Vec<usize>>,
}

/// What the generator knows about a person beyond what [`Person`] shows.
#[derive(Default)]
struct Profile {
    region: Option<Region>,
    variants: bool,
    junky: bool,
    /// Mobile numbers and the time from which each is theirs, oldest first.
    mobiles: Vec<(Phone, i64)>,
    /// A fixed line, and whether it is theirs alone (a household shares it).
    landline: Option<(Phone, bool)>,
    private: Option<Email>,
    work: Option<Email>,
    telegram: Option<(u64, Option<String>)>,
    shopify: Option<u64>,
    stripe: Option<String>,
    loyalty: Option<String>,
    visitors: Vec<String>,
    ozon: Option<u64>,
    /// When they are active.
    window: (i64, i64),
}

struct Company {
    name: String,
    domain: String,
    roles: Vec<Email>,
    line: Phone,
    account: Option<u64>,
}

struct Gen {
    rng: Rng,
    people: Vec<Person>,
    profiles: Vec<Profile>,
    items: Vec<Item>,
    used_phones: HashSet<String>,
    used_locals: HashSet<String>,
    labels: HashMap<String, (&'static str, String)>,
    owners: HashMap<String, Vec<usize>>,
    seq: u64,
    carts: HashMap<usize, (String, String)>,
}

/// The population of `size` people for `seed`.
pub fn generate(seed: u64, size: usize) -> Population {
    let mut g = Gen {
        rng: Rng::new(seed),
        people: Vec::new(),
        profiles: Vec::new(),
        items: Vec::new(),
        used_phones: HashSet::new(),
        used_locals: HashSet::new(),
        labels: HashMap::new(),
        owners: HashMap::new(),
        seq: 0,
        carts: HashMap::new(),
    };
    // Shares of the hard cases, chosen to resemble a small European shop's customers.
    let scaled = |per_400: usize| (per_400 * size).div_ceil(400).max(1);
    for _ in 0..scaled(8) {
        g.company();
    }
    for _ in 0..scaled(10) {
        g.household();
    }
    for _ in 0..scaled(10) {
        g.namesakes();
    }
    for _ in 0..scaled(15) {
        g.gift();
    }
    for _ in 0..scaled(20) {
        g.intl_no_plus();
    }
    for _ in 0..scaled(25) {
        g.work_private();
    }
    for _ in 0..scaled(15) {
        g.number_change();
    }
    for _ in 0..scaled(25) {
        let p = g.person(None, None, &[Class::Junk], "types placeholders into forms");
        g.profiles[p].junky = true;
        let n = g.rng.range(3, 6);
        g.generic(p, n);
    }
    while g.people.len() < size {
        let p = g.person(None, None, &[], "");
        let n = g.rng.range(2, 9);
        g.generic(p, n);
    }
    for (person, profile) in g.people.iter_mut().zip(&g.profiles) {
        if profile.region != Some(Region::Fr) && !profile.mobiles.is_empty() {
            person.classes.insert(Class::Foreign);
        }
        if profile.variants {
            person.classes.insert(Class::NameVariants);
        }
        if [&profile.private, &profile.work].into_iter().flatten().any(Email::is_idn) {
            person.classes.insert(Class::IdnEmail);
        }
        if person.classes.is_empty() {
            person.classes.insert(Class::Plain);
        }
    }
    let mut items = g.items;
    // Stable: requests of one moment keep the order they were made in.
    items.sort_by_key(|item| item.at);
    Population { people: g.people, items, labels: g.labels, owners: g.owners }
}

impl Gen {
    fn next_id(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn region(&mut self) -> Region {
        let regions = [
            Region::Fr,
            Region::Be,
            Region::Ch,
            Region::De,
            Region::Gb,
            Region::Us,
            Region::It,
            Region::Es,
            Region::Ru,
        ];
        regions[self.rng.weighted(&[80, 3, 3, 4, 3, 2, 2, 2, 1])]
    }

    fn own(&mut self, p: usize, key: String) {
        let owners = self.owners.entry(key).or_default();
        if !owners.contains(&p) {
            owners.push(p);
        }
    }

    fn label(&mut self, key: String, category: &'static str, detail: String) {
        self.labels.insert(key, (category, detail));
    }

    fn unique_local(&mut self, base: String) -> String {
        let mut local = base.clone();
        while !self.used_locals.insert(local.clone()) {
            local = format!("{base}{}", self.rng.range(2, 99));
        }
        local
    }

    /// A private address made from the name, at a free-mail (or, rarely, an IDN) domain.
    fn private_email(&mut self, name: &Name, region: Region) -> Email {
        let (given, family) = name.latin();
        let (g, f) = (slug(&given, ""), slug(&family, ""));
        let base = match self.rng.below(5) {
            0 => format!("{g}.{f}"),
            1 => format!("{}{f}", &g[..1]),
            2 => format!("{g}_{f}"),
            3 => format!("{g}{f}{}", self.rng.range(60, 99)),
            _ => format!("{f}.{g}"),
        };
        if matches!(region, Region::Fr | Region::De) && self.rng.chance(0.04) {
            // Their own domain, with accents: the local part too, sometimes.
            let domain = *self.rng.pick(IDN_DOMAINS);
            let local = if self.rng.chance(0.3) { name.given.to_lowercase() } else { base };
            let local = self.unique_local(local);
            return Email::new(&local, domain);
        }
        let local = self.unique_local(base);
        let domain = people::free_mail(&mut self.rng, region);
        Email::new(&local, domain)
    }

    /// A new person with the usual accounts and identifiers of someone of `region`.
    fn person(
        &mut self,
        region: Option<Region>,
        name: Option<Name>,
        classes: &[Class],
        note: &str,
    ) -> usize {
        let p = self.people.len();
        let region = region.unwrap_or_else(|| self.region());
        let name = name.unwrap_or_else(|| people::name(&mut self.rng, region, None));
        let rng = &mut self.rng;
        let start = BASE + rng.range(0, (SPAN - 30) as u64) as i64 * DAY;
        let mut profile = Profile {
            region: Some(region),
            variants: rng.chance(0.2),
            window: (start, start + rng.range(10, 30) as i64 * DAY),
            ..Profile::default()
        };
        if rng.chance(0.95) {
            profile
                .mobiles
                .push((people::phone(rng, region, Line::Mobile, &mut self.used_phones), 0));
        }
        if region == Region::Fr && rng.chance(0.08) {
            profile.landline =
                Some((people::phone(rng, region, Line::Fixed, &mut self.used_phones), true));
        }
        if rng.chance(0.25) {
            let username =
                rng.chance(0.5).then(|| format!("{}{}", slug(&name.latin().0, ""), rng.digits(2)));
            profile.telegram = Some((rng.range(100_000_000, 7_999_999_999), username));
        }
        if rng.chance(0.5) {
            profile.shopify = Some(rng.range(100_000_000_000_000, 999_999_999_999_999));
        }
        if rng.chance(0.3) {
            profile.stripe = Some(format!("cus_{}", rng.hex(14)));
        }
        if rng.chance(0.2) {
            profile.loyalty = Some(format!("LC-{}-{}", rng.digits(4), rng.digits(4)));
        }
        profile.visitors.push(format!("v-{}", rng.hex(8)));
        if rng.chance(0.3) {
            profile.visitors.push(format!("v-{}", rng.hex(8)));
        }
        let ozon = if region == Region::Ru { 0.8 } else { 0.04 };
        if rng.chance(ozon) {
            profile.ozon = Some(rng.range(10_000_000, 199_999_999));
        }
        if self.rng.chance(0.85) {
            profile.private = Some(self.private_email(&name, region));
        }
        self.people.push(Person {
            name,
            classes: classes.iter().copied().collect(),
            note: note.into(),
        });
        self.profiles.push(profile);
        self.claim(p);
        p
    }

    /// Records the person's identifiers as theirs (after the profile was changed).
    fn claim(&mut self, p: usize) {
        let pr = &self.profiles[p];
        let mut keys: Vec<String> = pr.mobiles.iter().map(|(m, _)| m.key()).collect();
        keys.extend(pr.landline.iter().filter(|(_, own)| *own).map(|(l, _)| l.key()));
        keys.extend([&pr.private, &pr.work].into_iter().flatten().map(Email::key));
        keys.extend(pr.telegram.iter().map(|(id, _)| format!("external telegram:user:{id}")));
        keys.extend(pr.shopify.iter().map(|id| format!("external shopify:customer:{id}")));
        keys.extend(pr.stripe.iter().map(|id| format!("external stripe:customer:{id}")));
        keys.extend(pr.loyalty.iter().map(|id| format!("external loyalty:card:{id}")));
        keys.extend(pr.visitors.iter().map(|id| format!("external web:visitor:{id}")));
        keys.extend(pr.ozon.iter().map(|id| format!("external ozon:buyer:{id}")));
        for key in keys {
            self.own(p, key);
        }
    }

    /// A link if `key` is truly `p`'s.
    fn link(&self, p: usize, key: String, via: &'static str, links: &mut Vec<Link>) {
        if self.owners.get(&key).is_some_and(|o| o.contains(&p)) {
            links.push(Link { key, via });
        }
    }

    fn time(&mut self, p: usize) -> i64 {
        let (start, end) = self.profiles[p].window;
        start + self.rng.below((end - start).max(1) as u64) as i64
    }

    fn mobile_at(&self, p: usize, at: i64) -> Option<Phone> {
        let mobiles = &self.profiles[p].mobiles;
        mobiles
            .iter()
            .rev()
            .find(|(_, from)| *from <= at)
            .or(mobiles.first())
            .map(|(m, _)| m.clone())
    }

    fn shown_name(&mut self, p: usize) -> String {
        let variants = self.profiles[p].variants;
        self.people[p].name.shown(&mut self.rng, variants, false)
    }

    fn name_parts(&mut self, p: usize) -> (String, String) {
        let variants = self.profiles[p].variants;
        self.people[p].name.parts(&mut self.rng, variants, false)
    }

    fn push(&mut self, at: i64, person: usize, links: Vec<Link>, spec: Spec) {
        self.items.push(Item { at, person, links, spec });
    }

    fn lines(&mut self) -> Lines {
        (0..self.rng.range(1, 3))
            .map(|_| (self.rng.below(PRODUCTS.len() as u64) as usize, self.rng.range(1, 2) as u32))
            .collect()
    }

    fn text(&mut self) -> String {
        self.rng.pick(MESSAGES).to_string()
    }

    /// A typed e-mail: their own, or for someone who does that, a placeholder.
    fn typed_email(&mut self, p: usize, own: Option<Email>) -> Option<String> {
        if self.profiles[p].junky && self.rng.chance(0.5) {
            let junk = self.rng.pick(JUNK_EMAILS).to_string();
            self.label(junk_key("email", &junk), "placeholder e-mail", String::new());
            return Some(junk);
        }
        own.map(|e| e.written(&mut self.rng))
    }

    /// A typed phone number: their own, or a placeholder.
    fn typed_phone(&mut self, p: usize, own: Option<&Phone>) -> Option<String> {
        if self.profiles[p].junky && self.rng.chance(0.5) {
            let junk = self.rng.pick(JUNK_PHONES).to_string();
            self.label(junk_key("phone", &junk), "placeholder phone", String::new());
            return Some(junk);
        }
        own.map(|m| m.typed(&mut self.rng))
    }

    // ---- The hard cases ----

    /// Colleagues writing from their company's role mailboxes (with their own mobile in the
    /// signature, mostly) and from their own phones.
    fn company(&mut self) {
        let rng = &mut self.rng;
        let kind = *rng.pick(&[
            "Atelier",
            "Cabinet",
            "Studio",
            "Garage",
            "Pharmacie",
            "Boulangerie",
            "Agence",
            "Librairie",
            "Hôtel",
            "Fromagerie",
        ]);
        let place = *rng.pick(&[
            "du Parc",
            "Central",
            "Lumière",
            "des Halles",
            "Saint-Michel",
            "Mercier",
            "Bellevue",
            "du Port",
            "Horizon",
            "des Arts",
        ]);
        let name = format!("{kind} {place}");
        let domain = format!("{}-{}.fr", slug(kind, ""), rng.hex(3));
        let mut roles: Vec<Email> = Vec::new();
        for _ in 0..rng.range(1, 2) {
            let role = *rng.pick(&["info", "contact", "sales", "commandes", "bonjour", "accueil"]);
            if !roles.iter().any(|r| r.local == role) {
                roles.push(Email::new(role, &domain));
            }
        }
        let line_kind = if rng.chance(0.3) { Line::TollFree } else { Line::Fixed };
        let line = people::phone(rng, Region::Fr, line_kind, &mut self.used_phones);
        let account = rng.chance(0.6).then(|| rng.range(100_000_000_000_000, 999_999_999_999_999));
        for role in &roles {
            self.label(role.key(), "role mailbox", name.clone());
        }
        self.label(line.key(), "company switchboard line", name.clone());
        if let Some(account) = account {
            self.label(
                format!("external shopify:customer:{account}"),
                "company Shopify account",
                name.clone(),
            );
        }
        let company = Company { name, domain, roles, line, account };
        let colleagues: Vec<usize> = (0..self.rng.range(2, 4))
            .map(|_| {
                let note = format!("colleague at {}", company.name);
                let p = self.person(Some(Region::Fr), None, &[Class::RoleMailbox], &note);
                if self.profiles[p].mobiles.is_empty() {
                    let mobile = people::phone(
                        &mut self.rng,
                        Region::Fr,
                        Line::Mobile,
                        &mut self.used_phones,
                    );
                    self.profiles[p].mobiles.push((mobile, 0));
                }
                if self.rng.chance(0.6) {
                    let (given, family) = self.people[p].name.latin();
                    let local = format!("{}.{}", slug(&given, "-"), slug(&family, "-"));
                    self.profiles[p].work = Some(Email::new(&local, &company.domain));
                }
                self.claim(p);
                p
            })
            .collect();
        let holder = colleagues[0];
        for &p in &colleagues {
            for _ in 0..self.rng.range(1, 3) {
                let at = self.time(p);
                let role = self.rng.pick(&company.roles).clone();
                let from_name =
                    if self.rng.chance(0.3) { company.name.clone() } else { self.shown_name(p) };
                let (signature, links) = self.signature(p, at, Some(&company), 0.7);
                self.mail(p, at, &role, from_name, signature, links);
            }
            if let Some(work) = self.profiles[p].work.clone()
                && self.rng.chance(0.6)
            {
                let at = self.time(p);
                let (signature, mut links) = self.signature(p, at, Some(&company), 0.8);
                self.link(p, work.key(), "e-mail sender", &mut links);
                let from_name = self.shown_name(p);
                self.mail(p, at, &work, from_name, signature, links);
            }
            if self.rng.chance(0.8) {
                let at = self.time(p);
                if self.rng.chance(0.5) { self.whatsapp(p, at) } else { self.sms(p, at, None) }
            }
            if let Some(account) = company.account
                && self.rng.chance(0.4)
            {
                self.b2b_order(p, holder, account, &company);
            }
            let n = self.rng.range(0, 2);
            self.generic(p, n);
        }
    }

    /// A signature: their name, the company, their mobile (with probability `mobile`) and the
    /// company's line; with the links it gives.
    fn signature(
        &mut self,
        p: usize,
        at: i64,
        company: Option<&Company>,
        mobile: f64,
    ) -> (String, Vec<Link>) {
        let mut lines = vec![self.shown_name(p)];
        let mut links = Vec::new();
        if let Some(company) = company {
            lines.push(company.name.clone());
        }
        if let Some(phone) = self.mobile_at(p, at)
            && self.rng.chance(mobile)
        {
            let label =
                *self.rng.pick(&["Mobile : ", "Tél. : ", "Portable : ", "Mob. ", "", "Tel: "]);
            lines.push(format!("{label}{}", phone.typed(&mut self.rng)));
            self.link(p, phone.key(), "e-mail signature", &mut links);
        }
        if let Some(company) = company
            && self.rng.chance(0.5)
        {
            lines.push(format!("Standard : {}", company.line.typed(&mut self.rng)));
        }
        (lines.join("\n"), links)
    }

    /// A company order: the company's account and mailbox, delivered to the colleague.
    fn b2b_order(&mut self, p: usize, holder: usize, account: u64, company: &Company) {
        let at = self.time(p);
        let role = company.roles[0].clone();
        let (first, last) = self.people[holder].name.latin();
        let customer = ShopCustomer {
            id: account,
            email: Some(role.written(&mut self.rng)),
            phone: Some(company.line.e164()),
            first,
            last,
        };
        let mut links = Vec::new();
        let mobile = self.mobile_at(p, at);
        let mut ship_to = self.address(p, mobile.as_ref());
        ship_to.company = Some(company.name.clone());
        let number = self.order_number();
        links.push(Link { key: format!("order {number}"), via: "order number" });
        let order = ShopOrder {
            id: self.rng.range(800_000_000_000_000_000, 899_999_999_999_999_999),
            number: number.clone(),
            email: Some(role.written(&mut self.rng)),
            phone: None,
            customer: Some(customer),
            ship_to: Some(ship_to.clone()),
            bill_to: Some(Address { phone: None, ..ship_to }),
            lines: self.lines(),
            locale: "fr",
        };
        let total = total(&order.lines);
        self.push(at, p, links, Spec::Order(Box::new(order)));
        if self.rng.chance(0.5) {
            let email = Some(role.written(&mut self.rng));
            let order_link = vec![Link { key: format!("order {number}"), via: "order number" }];
            self.stripe(p, at + 60_000, email, None, None, Some(number), total, None, order_link);
        }
    }

    /// A family sharing a fixed line (and sometimes a mailbox).
    fn household(&mut self) {
        let family = people::name(&mut self.rng, Region::Fr, None).family;
        let landline = people::phone(&mut self.rng, Region::Fr, Line::Fixed, &mut self.used_phones);
        self.label(landline.key(), "household landline", format!("{family} household"));
        let mailbox = self.rng.chance(0.3).then(|| {
            let local = self.unique_local(format!("famille.{}", slug(&family, "")));
            Email::new(&local, "orange.fr")
        });
        if let Some(mailbox) = &mailbox {
            self.label(mailbox.key(), "household mailbox", format!("{family} household"));
        }
        for _ in 0..self.rng.range(2, 3) {
            let name = people::name(&mut self.rng, Region::Fr, Some(&family));
            let note = format!("{family} household");
            let p = self.person(Some(Region::Fr), Some(name), &[Class::Household], &note);
            self.profiles[p].landline = Some((landline.clone(), false));
            for _ in 0..self.rng.range(1, 2) {
                let at = self.time(p);
                match self.rng.below(4) {
                    0 => self.call(p, at, Some(landline.clone())),
                    1 => {
                        let phone = landline.typed(&mut self.rng);
                        self.callback(p, at, phone, Vec::new());
                    }
                    2 => self.till(p, at, Some(landline.clone())),
                    _ => {
                        let own = self.profiles[p].private.clone();
                        self.shopify_order(p, at, own, Some(landline.e164()));
                    }
                }
            }
            if let Some(mailbox) = &mailbox
                && self.rng.chance(0.6)
            {
                let at = self.time(p);
                let mobile = self.mobile_at(p, at).map(|m| m.e164());
                self.shopify_order(p, at, Some(mailbox.clone()), mobile);
            }
            let n = self.rng.range(2, 5);
            self.generic(p, n);
        }
    }

    /// Two different people with the same full name.
    fn namesakes(&mut self) {
        let region = if self.rng.chance(0.8) { Region::Fr } else { self.region() };
        let name = people::name(&mut self.rng, region, None);
        for _ in 0..2 {
            let note = format!("another {} exists", name.full());
            let p = self.person(Some(region), Some(name.clone()), &[Class::Namesake], &note);
            let n = self.rng.range(3, 6);
            self.generic(p, n);
        }
    }

    /// A gift: the buyer's order (Shopify, Ozon or a Stripe payment) delivered to someone
    /// else's name and phone; the recipient later shops and writes with their own details.
    fn gift(&mut self) {
        let buyer = self.person(None, None, &[Class::GiftBuyer], "");
        let recipient = self.person(None, None, &[Class::GiftRecipient], "");
        if self.profiles[buyer].private.is_none() {
            let region = self.profiles[buyer].region.unwrap();
            let name = self.people[buyer].name.clone();
            let email = self.private_email(&name, region);
            self.profiles[buyer].private = Some(email);
        }
        if self.profiles[recipient].mobiles.is_empty() {
            let region = self.profiles[recipient].region.unwrap();
            let mobile = people::phone(&mut self.rng, region, Line::Mobile, &mut self.used_phones);
            self.profiles[recipient].mobiles.push((mobile, 0));
        }
        self.claim(buyer);
        self.claim(recipient);
        self.people[buyer].note = format!("sent a gift to p{recipient}");
        self.people[recipient].note = format!("received a gift from p{buyer}");
        let at = self.time(buyer);
        let (start, _) = self.profiles[recipient].window;
        let start = start.max(at + DAY);
        self.profiles[recipient].window = (start, start + self.rng.range(10, 40) as i64 * DAY);
        let their = self.profiles[recipient].mobiles[0].0.clone();
        let (first, last) = self.name_parts(recipient);
        let email = self.profiles[buyer].private.clone().unwrap();
        match self.rng.weighted(&[65, 20, 15]) {
            0 => {
                let mut links = Vec::new();
                let customer = self.shop_customer(buyer, Some(email.clone()), None, &mut links);
                self.link(buyer, email.key(), "order e-mail", &mut links);
                let number = self.order_number();
                links.push(Link { key: format!("order {number}"), via: "order number" });
                let mut ship_to = self.address(buyer, None);
                ship_to.first = first.clone();
                ship_to.last = last.clone();
                ship_to.phone = Some(their.typed(&mut self.rng));
                let bill_to = self.address(buyer, None);
                let order = ShopOrder {
                    id: self.rng.range(800_000_000_000_000_000, 899_999_999_999_999_999),
                    number: number.clone(),
                    email: Some(email.written(&mut self.rng)),
                    phone: None,
                    customer,
                    ship_to: Some(ship_to),
                    bill_to: Some(bill_to),
                    lines: self.lines(),
                    locale: "fr",
                };
                let amount = total(&order.lines);
                self.push(at, buyer, links, Spec::Order(Box::new(order)));
                let order_link = Link { key: format!("order {number}"), via: "order number" };
                if self.rng.chance(0.6) {
                    let mut links = vec![order_link.clone()];
                    self.link(buyer, email.key(), "receipt e-mail", &mut links);
                    let customer = self.profiles[buyer].stripe.clone();
                    if let Some(c) = &customer {
                        self.link(
                            buyer,
                            format!("external stripe:customer:{c}"),
                            "Stripe customer",
                            &mut links,
                        );
                    }
                    let shipping = Some((format!("{first} {last}"), Some(their.e164())));
                    let written = Some(email.written(&mut self.rng));
                    self.stripe(
                        buyer,
                        at + 60_000,
                        written,
                        None,
                        customer,
                        Some(number.clone()),
                        amount,
                        shipping,
                        links,
                    );
                }
                if self.rng.chance(0.6) {
                    // The courier texts whoever receives the parcel.
                    let emails = vec![email.plain()];
                    let mut links = vec![order_link];
                    self.link(buyer, email.key(), "tracking notification e-mail", &mut links);
                    let name = Some(format!("{first} {last}"));
                    self.tracking(
                        buyer,
                        at + 2 * DAY,
                        number,
                        name,
                        emails,
                        vec![their.e164()],
                        links,
                    );
                }
            }
            1 => {
                let mut links = Vec::new();
                let id = self.ozon_buyer(buyer);
                self.link(buyer, format!("external ozon:buyer:{id}"), "Ozon buyer", &mut links);
                let (number, order_number) = self.posting_number();
                let name = self.people[buyer].name.full();
                let addressee = Some((self.people[recipient].name.full(), their.e164()));
                let lines = self.lines();
                let posting = Posting {
                    number,
                    order_number,
                    buyer: Some(id),
                    name,
                    phone: None,
                    email: None,
                    addressee,
                    lines,
                };
                self.push(at, buyer, links, Spec::Ozon(posting));
            }
            _ => {
                let mut links = Vec::new();
                self.link(buyer, email.key(), "receipt e-mail", &mut links);
                let customer = self.profiles[buyer].stripe.clone();
                if let Some(c) = &customer {
                    self.link(
                        buyer,
                        format!("external stripe:customer:{c}"),
                        "Stripe customer",
                        &mut links,
                    );
                }
                let shipping = Some((format!("{first} {last}"), Some(their.typed(&mut self.rng))));
                let written = Some(email.written(&mut self.rng));
                let amount = self.rng.range(1500, 12000) as i64;
                self.stripe(buyer, at, written, None, customer, None, amount, shipping, links);
            }
        }
        let n = self.rng.range(2, 4);
        self.generic(buyer, n);
        let later = self.time(recipient);
        if self.rng.chance(0.5) {
            self.sms(recipient, later, Some("Merci, colis bien reçu !".into()));
        }
        if self.rng.chance(0.7) {
            let at = self.time(recipient);
            let own = self.profiles[recipient].private.clone();
            let phone = Some(their.e164());
            self.shopify_order(recipient, at, own, phone);
        }
        let n = self.rng.range(1, 4);
        self.generic(recipient, n);
    }

    /// A foreign mobile seen as Telegram's and WhatsApp's international digits without `+`,
    /// and with `+` on SMS.
    fn intl_no_plus(&mut self) {
        let region = [
            Region::De,
            Region::Gb,
            Region::Ru,
            Region::Us,
            Region::It,
            Region::Es,
            Region::Ch,
            Region::Be,
        ][self.rng.weighted(&[30, 15, 15, 10, 8, 8, 7, 7])];
        let p = self.person(
            Some(region),
            None,
            &[Class::IntlNoPlus],
            "foreign mobile, digits without +",
        );
        if self.profiles[p].mobiles.is_empty() {
            let mobile = people::phone(&mut self.rng, region, Line::Mobile, &mut self.used_phones);
            self.profiles[p].mobiles.push((mobile, 0));
        }
        if self.profiles[p].telegram.is_none() {
            self.profiles[p].telegram = Some((self.rng.range(100_000_000, 7_999_999_999), None));
        }
        self.claim(p);
        let at = self.time(p);
        self.telegram(p, at, false);
        let at = self.time(p);
        self.telegram(p, at, true);
        let at = self.time(p);
        self.whatsapp(p, at);
        let at = self.time(p);
        self.sms(p, at, None);
        if self.rng.chance(0.5) {
            let at = self.time(p);
            self.call(p, at, None);
        }
        let n = self.rng.range(1, 3);
        self.generic(p, n);
    }

    /// One mobile, a private address on the shop and a work address on e-mail.
    fn work_private(&mut self) {
        let region = if self.rng.chance(0.85) { Region::Fr } else { self.region() };
        let p = self.person(Some(region), None, &[Class::WorkPrivate], "work and private e-mail");
        let name = self.people[p].name.clone();
        if self.profiles[p].mobiles.is_empty() {
            let mobile = people::phone(&mut self.rng, region, Line::Mobile, &mut self.used_phones);
            self.profiles[p].mobiles.push((mobile, 0));
        }
        if self.profiles[p].private.is_none() {
            self.profiles[p].private = Some(self.private_email(&name, region));
        }
        let employer = *self.rng.pick(&[
            "renault.com",
            "sncf.fr",
            "bnpparibas.com",
            "airbus.com",
            "decathlon.com",
            "chu-lyon.fr",
            "ac-lyon.fr",
            "capgemini.com",
            "siemens.com",
            "orange.com",
            "nordwind.de",
            "thames-analytics.co.uk",
        ]);
        let (given, family) = name.latin();
        let local = self.unique_local(format!("{}.{}", slug(&given, "-"), slug(&family, "-")));
        self.profiles[p].work = Some(Email::new(&local, employer));
        self.claim(p);
        let private = self.profiles[p].private.clone();
        let at = self.time(p);
        let mobile = self.mobile_at(p, at).map(|m| m.e164());
        self.shopify_order(p, at, private, mobile);
        let work = self.profiles[p].work.clone().unwrap();
        let at = self.time(p);
        let (signature, mut links) = self.signature(p, at, None, 0.8);
        self.link(p, work.key(), "e-mail sender", &mut links);
        let from_name = self.shown_name(p);
        self.mail(p, at, &work, from_name, signature, links);
        if self.rng.chance(0.5) {
            let at = self.time(p);
            self.plain_mail(p, at, self.profiles[p].private.clone().unwrap(), 0.0);
        }
        if self.rng.chance(0.5) {
            let at = self.time(p);
            self.whatsapp(p, at);
        }
        if self.rng.chance(0.3) {
            let at = self.time(p);
            let mut links = Vec::new();
            self.link(p, work.key(), "checkout e-mail", &mut links);
            let name = Some(self.shown_name(p));
            let written = Some(work.written(&mut self.rng));
            let amount = self.rng.range(1500, 12000) as i64;
            let reference = Some(format!("WEB-{}", self.next_id()));
            self.stripe(p, at, written, name, None, reference, amount, None, links);
        }
        let n = self.rng.range(1, 3);
        self.generic(p, n);
    }

    /// A new mobile number halfway; sometimes the old one goes to someone else later.
    fn number_change(&mut self) {
        let p = self.person(Some(Region::Fr), None, &[Class::NumberChange], "");
        let name = self.people[p].name.clone();
        if self.profiles[p].private.is_none() {
            self.profiles[p].private = Some(self.private_email(&name, Region::Fr));
        }
        if self.profiles[p].mobiles.is_empty() {
            let mobile =
                people::phone(&mut self.rng, Region::Fr, Line::Mobile, &mut self.used_phones);
            self.profiles[p].mobiles.push((mobile, 0));
        }
        let start = BASE + self.rng.range(0, 30) as i64 * DAY;
        let change = start + self.rng.range(25, 40) as i64 * DAY;
        self.profiles[p].window = (start, change + self.rng.range(25, 40) as i64 * DAY);
        let new = people::phone(&mut self.rng, Region::Fr, Line::Mobile, &mut self.used_phones);
        self.profiles[p].mobiles.push((new, change));
        self.claim(p);
        let old = self.profiles[p].mobiles[0].0.clone();
        self.people[p].note = format!("changed {} on day {}", old.e164(), (change - BASE) / DAY);
        let email = self.profiles[p].private.clone();
        let before = |g: &mut Gen| start + g.rng.below((change - start) as u64) as i64;
        let at = before(self);
        self.shopify_order(p, at, email.clone(), Some(old.e164()));
        let at = before(self);
        self.sms(p, at, None);
        if self.rng.chance(0.5) {
            let at = before(self);
            self.whatsapp(p, at);
        }
        let end = self.profiles[p].window.1;
        let after = |g: &mut Gen| change + g.rng.below((end - change) as u64) as i64;
        if self.rng.chance(0.7) {
            let at = after(self);
            let new = self.mobile_at(p, at).map(|m| m.e164());
            self.shopify_order(p, at, email.clone(), new);
        }
        let at = after(self);
        self.sms(p, at, None);
        if self.rng.chance(0.5) {
            let at = after(self);
            self.till(p, at, None);
        }
        if self.rng.chance(0.5)
            && let Some(id) = self.profiles[p].shopify
        {
            let at = after(self);
            let mut links = Vec::new();
            let new = self.mobile_at(p, at);
            self.link(p, format!("external shopify:customer:{id}"), "Shopify customer", &mut links);
            if let Some(e) = &email {
                self.link(p, e.key(), "account e-mail", &mut links);
            }
            if let Some(m) = &new {
                self.link(p, m.key(), "account phone", &mut links);
            }
            let (first, last) = self.name_parts(p);
            let customer = ShopCustomer {
                id,
                email: email.as_ref().map(|e| e.written(&mut self.rng)),
                phone: new.map(|m| m.e164()),
                first,
                last,
            };
            let webhook = self.uuid();
            self.push(at, p, links, Spec::Customer { webhook, customer });
        }
        let n = self.rng.range(1, 3);
        self.generic(p, n);
        if self.rng.chance(0.4) {
            // Operators give numbers out again after some months; this one sooner.
            let q = self.person(Some(Region::Fr), None, &[Class::RecycledNumber], "");
            let from = change + self.rng.range(20, 40) as i64 * DAY;
            self.profiles[q].mobiles = vec![(old.clone(), from)];
            self.profiles[q].window = (from, from + self.rng.range(10, 30) as i64 * DAY);
            self.claim(q);
            self.people[q].note =
                format!("got p{p}'s old number {} on day {}", old.e164(), (from - BASE) / DAY);
            self.label(
                old.key(),
                "recycled mobile number",
                format!(
                    "p{p}'s until day {}, p{q}'s from day {}",
                    (change - BASE) / DAY,
                    (from - BASE) / DAY
                ),
            );
            let at = self.time(q);
            self.sms(q, at, None);
            if self.rng.chance(0.5) {
                let at = self.time(q);
                self.whatsapp(q, at);
            }
            if self.rng.chance(0.6) {
                let at = self.time(q);
                let own = self.profiles[q].private.clone();
                self.shopify_order(q, at, own, Some(old.e164()));
            }
            let n = self.rng.range(1, 2);
            self.generic(q, n);
        }
    }
}

/// The ground-truth key of a placeholder, in the form the store would match it on.
fn junk_key(kind: &str, value: &str) -> String {
    if kind == "phone"
        && let Ok(number) = phonenumber::parse(Some(phonenumber::country::Id::FR), value)
        && phonenumber::is_valid(&number)
    {
        return format!("phone {}", number.format().mode(phonenumber::Mode::E164));
    }
    format!("{kind} {}", value.trim().to_lowercase())
}
