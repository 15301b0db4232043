//! The building blocks of the synthetic population: a seeded PRNG, names in several scripts
//! and their written variants, phone numbers libphonenumber accepts, e-mail addresses, and the
//! hard-case classes a person is labelled with.

use std::collections::HashSet;

/// splitmix64: small, seeded, the same sequence on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index into `weights`, chosen in proportion to them.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut at = self.below(u64::from(total)) as u32;
        for (index, weight) in weights.iter().enumerate() {
            if at < *weight {
                return index;
            }
            at -= weight;
        }
        weights.len() - 1
    }

    pub fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }

    pub fn hex(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from_digit(self.below(16) as u32, 16).unwrap()).collect()
    }
}

/// The hard cases a person is labelled with; a person may be in several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Writes from a shared info@/contact@ address of their company, and from their own mobile.
    RoleMailbox,
    /// Ordered a gift: the delivery name and phone are someone else's.
    GiftBuyer,
    /// Received a gift, and later buys and writes with their own details.
    GiftRecipient,
    /// International digits without `+` (Telegram, WhatsApp) beside the same number with `+`.
    IntlNoPlus,
    /// A work and a private e-mail address, one mobile.
    WorkPrivate,
    /// Shares a fixed landline (and sometimes a family mailbox) with their family.
    Household,
    /// Has the same full name as another person.
    Namesake,
    /// Changed their mobile number during the period.
    NumberChange,
    /// Got a mobile number someone else gave up earlier.
    RecycledNumber,
    /// Sometimes types placeholder values ("n/a", "0000000000", "test@example.com").
    Junk,
    /// A phone number outside France (the store's default region).
    Foreign,
    /// An e-mail address on an internationalized domain, written in Unicode or punycode.
    IdnEmail,
    /// Their name is written in different orders, with initials or without accents.
    NameVariants,
    /// None of the above.
    Plain,
}

impl Class {
    pub const ALL: [Class; 14] = [
        Class::RoleMailbox,
        Class::GiftBuyer,
        Class::GiftRecipient,
        Class::IntlNoPlus,
        Class::WorkPrivate,
        Class::Household,
        Class::Namesake,
        Class::NumberChange,
        Class::RecycledNumber,
        Class::Junk,
        Class::Foreign,
        Class::IdnEmail,
        Class::NameVariants,
        Class::Plain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::RoleMailbox => "role-mailbox",
            Class::GiftBuyer => "gift-buyer",
            Class::GiftRecipient => "gift-recipient",
            Class::IntlNoPlus => "intl-no-plus",
            Class::WorkPrivate => "work-private",
            Class::Household => "household",
            Class::Namesake => "namesake",
            Class::NumberChange => "number-change",
            Class::RecycledNumber => "recycled-number",
            Class::Junk => "junk-values",
            Class::Foreign => "foreign-number",
            Class::IdnEmail => "idn-email",
            Class::NameVariants => "name-variants",
            Class::Plain => "plain",
        }
    }
}

/// Where a person's phone number and names come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Fr,
    Be,
    Ch,
    De,
    Gb,
    Ru,
    Us,
    It,
    Es,
}

impl Region {
    fn code(self) -> &'static str {
        match self {
            Region::Fr => "33",
            Region::Be => "32",
            Region::Ch => "41",
            Region::De => "49",
            Region::Gb => "44",
            Region::Ru => "7",
            Region::Us => "1",
            Region::It => "39",
            Region::Es => "34",
        }
    }

    pub fn locale(self) -> &'static str {
        match self {
            Region::Fr | Region::Be | Region::Ch => "fr",
            Region::De => "de",
            Region::Gb | Region::Us => "en",
            Region::Ru => "ru",
            Region::It => "it",
            Region::Es => "es",
        }
    }

    /// Whether national numbers start with a trunk `0` that `+CC (0)…` may show.
    fn trunk_zero(self) -> bool {
        matches!(self, Region::Fr | Region::Be | Region::Ch | Region::De | Region::Gb)
    }
}

/// A phone number: country code and national significant number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub region: Region,
    pub national: String,
}

impl Phone {
    pub fn e164(&self) -> String {
        format!("+{}{}", self.region.code(), self.national)
    }

    /// International digits without `+`: a WhatsApp `wa_id`, a Telegram shared contact.
    pub fn digits(&self) -> String {
        format!("{}{}", self.region.code(), self.national)
    }

    /// The ground-truth key: the number in E.164.
    pub fn key(&self) -> String {
        format!("phone {}", self.e164())
    }

    /// The national number in the groups its country writes it in.
    fn grouped(&self) -> String {
        let n = &self.national;
        let cut = |sizes: &[usize]| {
            let mut parts = Vec::new();
            let mut at = 0;
            for size in sizes {
                parts.push(&n[at..(at + size).min(n.len())]);
                at += size;
            }
            if at < n.len() {
                parts.push(&n[at..]);
            }
            parts.join(" ")
        };
        match self.region {
            Region::Fr => cut(&[1, 2, 2, 2, 2]),
            Region::De => cut(&[3]),
            Region::Gb => cut(&[4]),
            Region::Ru => format!("{} {}-{}-{}", &n[..3], &n[3..6], &n[6..8], &n[8..]),
            Region::Us => format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..]),
            Region::It => cut(&[3, 3]),
            Region::Es => cut(&[3, 2, 2]),
            Region::Be => cut(&[3, 2, 2]),
            Region::Ch => cut(&[2, 3, 2]),
        }
    }

    /// As a person types it into a form, a signature or a till: French numbers mostly in the
    /// national format, foreign ones always with their country code (written nationally at a
    /// French shop they would be someone else's number).
    pub fn typed(&self, rng: &mut Rng) -> String {
        let code = self.region.code();
        if self.region == Region::Fr {
            let pairs: Vec<String> = format!("0{}", self.national)
                .as_bytes()
                .chunks(2)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            return match rng.weighted(&[35, 20, 8, 5, 15, 10, 4, 3]) {
                0 => pairs.join(" "),
                1 => pairs.concat(),
                2 => pairs.join("."),
                3 => pairs.join("-"),
                4 => format!("+33 {}", self.grouped()),
                5 => self.e164(),
                6 => format!("+33 (0){}", self.grouped()),
                _ => format!("0033 {}", self.grouped()),
            };
        }
        match rng.weighted(&[50, 25, 15, 10]) {
            0 => format!("+{code} {}", self.grouped()),
            1 => self.e164(),
            2 => format!("00{code} {}", self.grouped()),
            _ if self.region.trunk_zero() => format!("+{code} (0){}", self.grouped()),
            _ => format!("+{code}-{}", self.grouped().replace(' ', "-")),
        }
    }
}

/// What kind of number to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Mobile,
    Fixed,
    TollFree,
}

/// A new number valid for libphonenumber, never handed out before.
pub fn phone(rng: &mut Rng, region: Region, line: Line, used: &mut HashSet<String>) -> Phone {
    for _ in 0..1000 {
        let national = match (region, line) {
            (Region::Fr, Line::Mobile) => {
                format!("{}{}", rng.pick(&["6", "7"]), rng.digits(8))
            }
            (Region::Fr, Line::Fixed) => format!("{}{}", rng.range(1, 5), rng.digits(8)),
            (Region::Fr, Line::TollFree) => format!("80{}{}", rng.range(0, 5), rng.digits(6)),
            (Region::De, _) => {
                let prefix = rng.pick(&["151", "152", "157", "160", "162", "170", "171", "176"]);
                let rest = if *prefix == "160" || *prefix == "162" { 7 } else { 8 };
                format!("{prefix}{}", rng.digits(rest))
            }
            (Region::Gb, _) => format!("7{}{}", rng.range(4, 9), rng.digits(8)),
            (Region::Ru, _) => format!("9{}{}", rng.range(0, 9), rng.digits(8)),
            (Region::Us, _) => format!(
                "{}{}{}",
                rng.pick(&["212", "415", "617", "312", "206", "303", "512"]),
                rng.range(200, 999),
                rng.digits(4)
            ),
            (Region::It, _) => format!("3{}{}", rng.range(2, 9), rng.digits(8)),
            (Region::Es, _) => format!("6{}", rng.digits(8)),
            (Region::Be, _) => format!("4{}{}", rng.range(7, 9), rng.digits(7)),
            (Region::Ch, _) => format!("7{}{}", rng.range(6, 9), rng.digits(7)),
        };
        let candidate = Phone { region, national };
        let valid = phonenumber::parse(None, candidate.e164())
            .map(|n| phonenumber::is_valid(&n))
            .unwrap_or(false);
        if valid && used.insert(candidate.e164()) {
            return candidate;
        }
    }
    panic!("no valid {line:?} number found for {region:?}");
}

/// An e-mail address; the domain as its owner writes it (Unicode for an IDN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub local: String,
    pub domain: String,
}

impl Email {
    pub fn new(local: &str, domain: &str) -> Self {
        Email { local: local.into(), domain: domain.into() }
    }

    pub fn ascii_domain(&self) -> String {
        idna::domain_to_ascii(&self.domain).expect("generated domains are valid")
    }

    pub fn is_idn(&self) -> bool {
        !self.domain.is_ascii()
    }

    /// The ground-truth key: the same address is the same whatever its case or the form of
    /// its domain.
    pub fn key(&self) -> String {
        format!("email {}@{}", self.local.to_lowercase(), self.ascii_domain())
    }

    /// Exactly as given.
    pub fn plain(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }

    /// As it arrives from one system or another: sometimes capitalised, an IDN in either form.
    pub fn written(&self, rng: &mut Rng) -> String {
        let domain = if self.is_idn() && rng.chance(0.5) {
            self.ascii_domain()
        } else {
            self.domain.clone()
        };
        let local =
            if rng.chance(0.15) { capitalise_parts(&self.local, '.') } else { self.local.clone() };
        let domain = if rng.chance(0.08) { capitalise_parts(&domain, '.') } else { domain };
        format!("{local}@{domain}")
    }
}

fn capitalise_parts(text: &str, separator: char) -> String {
    text.split(separator).map(capitalise).collect::<Vec<_>>().join(&separator.to_string())
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Letters without their accents, as people type them on a keyboard without them.
pub fn unaccent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let plain = match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
            'À' | 'Â' | 'Ä' | 'Á' => "A",
            'ç' | 'č' => "c",
            'Ç' => "C",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'É' | 'È' | 'Ê' | 'Ë' => "E",
            'í' | 'ì' | 'î' | 'ï' | 'ı' => "i",
            'Î' | 'Ï' | 'İ' => "I",
            'ñ' => "n",
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
            'Ö' | 'Ô' | 'Ó' => "O",
            'ú' | 'ù' | 'û' | 'ü' => "u",
            'Ü' | 'Û' | 'Ú' => "U",
            'ý' | 'ÿ' => "y",
            'ß' => "ss",
            'æ' => "ae",
            'œ' => "oe",
            'ş' => "s",
            'ğ' => "g",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(plain);
    }
    out
}

/// A slug for addresses and domains: lower-case ASCII letters and digits, `sep` between words.
pub fn slug(text: &str, sep: &str) -> String {
    unaccent(text)
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

/// A person's name; `latin` is the transliteration of a name in another script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub given: String,
    pub family: String,
    pub latin: Option<(String, String)>,
}

impl Name {
    pub fn full(&self) -> String {
        format!("{} {}", self.given, self.family)
    }

    /// The name in Latin letters (a Cyrillic name transliterated).
    pub fn latin(&self) -> (String, String) {
        self.latin.clone().unwrap_or_else(|| (self.given.clone(), self.family.clone()))
    }

    /// Given and family name as one system shows them: always the same for most people;
    /// reordered, abbreviated, shouted or stripped of accents for those labelled
    /// [`Class::NameVariants`].
    pub fn parts(&self, rng: &mut Rng, variants: bool, native: bool) -> (String, String) {
        let (given, family) =
            if native { (self.given.clone(), self.family.clone()) } else { self.latin() };
        if !variants {
            return (given, family);
        }
        match rng.below(6) {
            0 => (unaccent(&given), unaccent(&family)),
            1 => (family.to_uppercase(), given),
            2 => (format!("{}.", given.chars().next().unwrap()), family),
            3 => (given.to_lowercase(), family.to_lowercase()),
            4 => (given, format!("{}.", family.chars().next().unwrap())),
            _ => (given, family),
        }
    }

    /// The name as one string, in one of the person's forms.
    pub fn shown(&self, rng: &mut Rng, variants: bool, native: bool) -> String {
        let (given, family) = self.parts(rng, variants, native);
        if variants && rng.chance(0.2) {
            return format!("{family}, {given}");
        }
        format!("{given} {family}")
    }
}

const FR_GIVEN: &[&str] = &[
    "Hélène",
    "Zoé",
    "Jérôme",
    "François",
    "Léa",
    "Chloé",
    "Noël",
    "Agnès",
    "Benoît",
    "Céline",
    "Camille",
    "Louis",
    "Manon",
    "Hugo",
    "Inès",
    "Lucas",
    "Émilie",
    "Théo",
    "Margaux",
    "Nicolas",
    "Sophie",
    "Julien",
    "Élodie",
    "Mathieu",
    "Anaïs",
    "Grégoire",
    "Aurélie",
    "Thierry",
    "Véronique",
    "Stéphane",
    "Marie",
    "Thomas",
    "Pierre",
    "Claire",
    "Antoine",
    "Juliette",
];
const FR_FAMILY: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Henry",
    "Roussel",
    "Perrin",
    "Morin",
    "Clément",
    "Gauthier",
    "Dumont",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Châtelain",
    "Lemaître",
    "Béranger",
    "Nguyen",
    "Benali",
    "Da Silva",
];
const DE_GIVEN: &[&str] = &[
    "Jürgen",
    "Jörg",
    "Björn",
    "Günther",
    "Käthe",
    "Lukas",
    "Anna",
    "Felix",
    "Sophie",
    "Maximilian",
    "Lena",
    "Paul",
    "Marie",
    "Jonas",
    "Leonie",
    "Uwe",
    "Sabine",
    "Özlem",
];
const DE_FAMILY: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Krüger",
    "Köhler",
    "Yılmaz",
];
const EN_GIVEN: &[&str] = &[
    "Oliver",
    "Emily",
    "James",
    "Charlotte",
    "Harry",
    "Amelia",
    "George",
    "Olivia",
    "Jack",
    "Isla",
    "William",
    "Sophia",
    "Michael",
    "Madison",
    "Ethan",
    "Abigail",
];
const EN_FAMILY: &[&str] = &[
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Walker", "Wright", "Robinson", "Thompson", "O'Brien", "Miller",
];
/// (Cyrillic, Latin, female).
const RU_GIVEN: &[(&str, &str, bool)] = &[
    ("Иван", "Ivan", false),
    ("Ольга", "Olga", true),
    ("Дмитрий", "Dmitry", false),
    ("Наталья", "Natalia", true),
    ("Сергей", "Sergey", false),
    ("Екатерина", "Ekaterina", true),
    ("Алексей", "Alexey", false),
    ("Татьяна", "Tatiana", true),
    ("Михаил", "Mikhail", false),
    ("Анна", "Anna", true),
];
const RU_FAMILY: &[(&str, &str)] = &[
    ("Петров", "Petrov"),
    ("Иванов", "Ivanov"),
    ("Смирнов", "Smirnov"),
    ("Кузнецов", "Kuznetsov"),
    ("Попов", "Popov"),
    ("Соколов", "Sokolov"),
    ("Лебедев", "Lebedev"),
    ("Козлов", "Kozlov"),
    ("Новиков", "Novikov"),
    ("Морозов", "Morozov"),
];
const IT_GIVEN: &[&str] = &["Giulia", "Marco", "Francesca", "Luca", "Niccolò", "Chiara"];
const IT_FAMILY: &[&str] = &["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano"];
const ES_GIVEN: &[&str] = &["Lucía", "Javier", "María", "Álvaro", "Sofía", "Andrés"];
const ES_FAMILY: &[&str] = &["García", "Fernández", "González", "Martínez", "López", "Núñez"];

/// A name typical of `region`; `family` keeps a given family name (a household).
pub fn name(rng: &mut Rng, region: Region, family: Option<&str>) -> Name {
    if region == Region::Ru {
        let (given, given_latin, female) = *rng.pick(RU_GIVEN);
        let (surname, surname_latin) = *rng.pick(RU_FAMILY);
        let (surname, surname_latin) = if female {
            (format!("{surname}а"), format!("{surname_latin}a"))
        } else {
            (surname.to_string(), surname_latin.to_string())
        };
        return Name {
            given: given.into(),
            family: family.map(str::to_string).unwrap_or(surname),
            latin: Some((given_latin.into(), surname_latin)),
        };
    }
    let (given, families) = match region {
        Region::De => (DE_GIVEN, DE_FAMILY),
        Region::Gb | Region::Us => (EN_GIVEN, EN_FAMILY),
        Region::It => (IT_GIVEN, IT_FAMILY),
        Region::Es => (ES_GIVEN, ES_FAMILY),
        _ => (FR_GIVEN, FR_FAMILY),
    };
    Name {
        given: rng.pick(given).to_string(),
        family: family.map(str::to_string).unwrap_or_else(|| rng.pick(families).to_string()),
        latin: None,
    }
}

/// Free-mail domains by region.
pub fn free_mail(rng: &mut Rng, region: Region) -> &'static str {
    let domains: &[&'static str] = match region {
        Region::Fr | Region::Be | Region::Ch => &[
            "gmail.com",
            "orange.fr",
            "free.fr",
            "wanadoo.fr",
            "laposte.net",
            "hotmail.fr",
            "yahoo.fr",
            "outlook.fr",
            "sfr.fr",
            "icloud.com",
        ],
        Region::De => &["gmx.de", "web.de", "t-online.de", "gmail.com"],
        Region::Gb => &["btinternet.com", "gmail.com", "outlook.com", "yahoo.co.uk"],
        Region::Us => &["gmail.com", "yahoo.com", "outlook.com"],
        Region::Ru => &["mail.ru", "yandex.ru", "gmail.com"],
        Region::It => &["libero.it", "gmail.com"],
        Region::Es => &["hotmail.es", "gmail.com"],
    };
    rng.pick::<&'static str>(domains)
}

/// Internationalized domains people own.
pub const IDN_DOMAINS: &[&str] = &[
    "bücher.de",
    "müller-bau.de",
    "schön-wohnen.de",
    "café-lumière.fr",
    "élan-créatif.fr",
    "bäckerei-köhler.de",
    "öko-markt.de",
];

/// Placeholder e-mails people type into forms that insist on one.
pub const JUNK_EMAILS: &[&str] =
    &["test@example.com", "noemail@gmail.com", "none@none.com", "no@email.com", "a@a.fr", "n/a"];
/// Placeholder phone numbers.
pub const JUNK_PHONES: &[&str] =
    &["0000000000", "0600000000", "n/a", "1234567890", "06 00 00 00 00", "0102030405"];

/// A few products, in cents.
pub const PRODUCTS: &[(&str, &str, i64)] = &[
    ("MUG-LUM-BLUE", "Mug Lumière - Bleu", 1299),
    ("VASE-OPAL-S", "Vase Opale (S)", 2490),
    ("BOUG-CIRE", "Bougie cire d'abeille", 1850),
    ("PLAID-LIN", "Plaid en lin", 8900),
    ("CARAFE-VERRE", "Carafe en verre soufflé", 3400),
    ("TASSE-GRES", "Tasse en grès", 1590),
];

pub const MESSAGES: &[&str] = &[
    "Bonjour, ma commande est-elle partie ?",
    "Hello, do you ship to Germany?",
    "Est-ce que le vase existe en bleu ?",
    "Merci, colis bien reçu !",
    "Pouvez-vous me rappeler demain matin ?",
    "Is the linen throw machine washable?",
    "Je voudrais changer l'adresse de livraison.",
    "Avez-vous encore des bougies en stock ?",
    "Can I still change my order?",
    "Le mug est arrivé cassé, que faire ?",
    "Bonjour, une question sur ma facture.",
    "Guten Tag, ist die Karaffe spülmaschinenfest?",
];

pub const SUBJECTS: &[&str] = &[
    "Question sur une commande",
    "Livraison",
    "Devis pour 40 mugs",
    "Réclamation",
    "Facture",
    "Order question",
    "Retour produit",
    "Commande professionnelle",
];

pub const CITIES: &[(&str, &str)] = &[
    ("Lyon", "69002"),
    ("Paris", "75011"),
    ("Marseille", "13006"),
    ("Lille", "59000"),
    ("Nantes", "44000"),
    ("Bordeaux", "33000"),
    ("Toulouse", "31000"),
    ("Strasbourg", "67000"),
];

pub const STREETS: &[&str] = &[
    "rue de la République",
    "avenue Victor Hugo",
    "boulevard Voltaire",
    "rue des Lilas",
    "place Bellecour",
    "rue du Général de Gaulle",
];
