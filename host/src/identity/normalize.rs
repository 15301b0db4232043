//! Turning identifiers as received into the form they are matched on: e-mail addresses trimmed
//! and lower-cased with an IDNA domain, phone numbers in E.164, external ids as
//! `namespace:value`. A value that does not parse, or that the operator blocked, is kept but
//! never used to match.

use std::collections::HashSet;

use phonenumber::country::Id as Region;
use serde::{Deserialize, Serialize};

use crate::model::Identifier;

/// The kind of a contact point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An id in a channel's namespace. Listed first: the strongest evidence of identity.
    External,
    /// An e-mail address.
    Email,
    /// A phone number: weakest, as families and shops share them.
    Phone,
}

impl Kind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::External => "external",
            Kind::Email => "email",
            Kind::Phone => "phone",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "external" => Some(Kind::External),
            "email" => Some(Kind::Email),
            "phone" => Some(Kind::Phone),
            _ => None,
        }
    }

    /// Whether this kind can merge two customers on its own (external ids and e-mails can;
    /// a phone can only when no e-mails conflict).
    pub fn is_strong(self) -> bool {
        !matches!(self, Kind::Phone)
    }
}

/// An identifier after normalization.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Normalized {
    /// Its kind.
    pub kind: Kind,
    /// The matched form: `ann@example.com`, `+33612345678`, `telegram:user:42`.
    pub value: String,
    /// As received.
    pub raw: String,
}

/// An identifier that is kept on the profile but never used to match, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatchable {
    /// Its kind.
    pub kind: Kind,
    /// As received.
    pub raw: String,
    /// Why it does not match, e.g. `blocked value` or `not a valid phone number`.
    pub reason: String,
}

/// An identifier as resolution treats it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classified {
    /// Its kind.
    pub kind: Kind,
    /// As received.
    pub raw: String,
    /// Normalized (for a value that does not normalize: trimmed and lower-cased).
    pub value: String,
    /// `usable`, `shared`, `blocked` or `invalid`.
    pub status: &'static str,
    /// Why it is not usable.
    pub reason: Option<String>,
}

/// The identity settings of the store: default phone region, blocked values and shared (role)
/// addresses.
#[derive(Debug, Clone)]
pub struct Normalizer {
    region: Option<Region>,
    blocked: HashSet<String>,
    blocked_domains_prefixes: Vec<String>,
    /// Local parts of role addresses (`info`), at any domain.
    role_locals: HashSet<String>,
    /// Whole addresses an operator named as shared (`team@acme.fr`).
    role_addresses: HashSet<String>,
}

/// What a phone number is, from its country's numbering plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Line {
    /// A mobile number: usually one person's.
    Mobile,
    /// A fixed line: a household's or an office's.
    FixedLine,
    /// A number the plan cannot tell apart (the United States and Canada, for one).
    FixedLineOrMobile,
    /// Toll-free, premium, shared cost, a company number, VoIP, a pager…: a service, not a
    /// person.
    Service,
    /// Not known to the plan.
    Unknown,
}

impl Line {
    /// How it is written in a reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Line::Mobile => "a mobile",
            Line::FixedLine => "a fixed line",
            Line::FixedLineOrMobile => "a fixed line or mobile",
            Line::Service => "a service number",
            Line::Unknown => "a number of unknown type",
        }
    }
}

/// Local parts that name a role, not a person: a company's colleagues write from them, so they
/// never merge two customers. The operator can extend or replace the list
/// (`[identity] role_addresses`, `more_role_addresses`).
pub const DEFAULT_ROLE_ADDRESSES: &[&str] = &[
    "accounting",
    "accounts",
    "accueil",
    "admin",
    "administratif",
    "administration",
    "anfrage",
    "bestellung",
    "bestellungen",
    "billing",
    "bonjour",
    "bookings",
    "boutique",
    "buchhaltung",
    "buero",
    "careers",
    "commandes",
    "commercial",
    "communication",
    "compta",
    "contact",
    "contacts",
    "customerservice",
    "devis",
    "direction",
    "enquiries",
    "facturation",
    "feedback",
    "hello",
    "help",
    "helpdesk",
    "hola",
    "hr",
    "info",
    "infos",
    "inquiries",
    "jobs",
    "kontakt",
    "magasin",
    "mail",
    "marketing",
    "office",
    "orders",
    "ordini",
    "pedidos",
    "postmaster",
    "press",
    "reception",
    "reservation",
    "reservations",
    "rh",
    "sales",
    "secretariat",
    "service",
    "shop",
    "support",
    "team",
    "vendite",
    "ventas",
    "verkauf",
    "vertrieb",
    "webmaster",
];

/// Why the identity settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The default region is not an ISO 3166-1 alpha-2 code phonenumber knows.
    #[error("default region `{0}` is not a two-letter country code such as `FR` or `RU`")]
    Region(String),
}

/// Values that never identify a person, whatever the operator configures: placeholders that
/// forms and integrations fill in (Segment's identity rules block the same kind of values).
pub const DEFAULT_BLOCKED: &[&str] = &[
    "test@example.com",
    "email@example.com",
    "noemail@*",
    "no-email@*",
    "nomail@*",
    "noreply@*",
    "no-reply@*",
    "donotreply@*",
    "mailer-daemon@*",
    "0000000000",
    "+10000000000",
    "unknown",
    "null",
    "none",
    "n/a",
];

impl Normalizer {
    /// A normalizer with `default_region` (ISO 3166-1 alpha-2, for numbers written without a
    /// country code) and these blocked values: exact values, or `local@*` to block a local part
    /// at any domain. Blocked values are compared after normalization.
    pub fn new(default_region: Option<&str>, blocked: &[String]) -> Result<Self, SettingsError> {
        let region = match default_region {
            Some(code) => Some(
                code.trim()
                    .to_ascii_uppercase()
                    .parse::<Region>()
                    .map_err(|_| SettingsError::Region(code.to_string()))?,
            ),
            None => None,
        };
        let mut normalizer = Normalizer {
            region,
            blocked: HashSet::new(),
            blocked_domains_prefixes: Vec::new(),
            role_locals: HashSet::new(),
            role_addresses: HashSet::new(),
        };
        for value in DEFAULT_BLOCKED.iter().copied().chain(blocked.iter().map(String::as_str)) {
            normalizer.block(value);
        }
        normalizer.set_role_addresses(DEFAULT_ROLE_ADDRESSES.iter().copied());
        Ok(normalizer)
    }

    /// Replaces the role addresses: local parts (`info`, or `info@*`) shared at any domain, or
    /// whole addresses (`team@acme.fr`). An empty list treats every address as a person's.
    pub fn with_role_addresses<'a>(mut self, roles: impl IntoIterator<Item = &'a str>) -> Self {
        self.role_locals.clear();
        self.role_addresses.clear();
        self.set_role_addresses(roles);
        self
    }

    /// Adds role addresses to the ones it has.
    pub fn with_more_role_addresses<'a>(
        mut self,
        roles: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        self.set_role_addresses(roles);
        self
    }

    fn set_role_addresses<'a>(&mut self, roles: impl IntoIterator<Item = &'a str>) {
        for role in roles {
            let role = role.trim().to_lowercase();
            let local = role.strip_suffix("@*").unwrap_or(&role);
            if local.contains('@') {
                if let Some(address) = email(local) {
                    self.role_addresses.insert(address);
                }
            } else if !local.is_empty() {
                self.role_locals.insert(local.to_string());
            }
        }
    }

    /// Why a normalized e-mail address is shared rather than a person's, if it is: a role
    /// address (`info@…`, also `info+orders@…`) or one the operator named.
    pub fn shared_reason(&self, address: &str) -> Option<String> {
        if self.role_addresses.contains(address) {
            return Some("a shared address (configured in role_addresses)".into());
        }
        let (local, _) = address.rsplit_once('@')?;
        let local = local.split_once('+').map_or(local, |(base, _)| base);
        self.role_locals
            .contains(local)
            .then(|| format!("a role address ({local}@…): shared by colleagues, not one person's"))
    }

    /// What kind of line a number in E.164 is, from its country's numbering plan.
    pub fn line(e164: &str) -> Line {
        let Ok(number) = phonenumber::parse(None, e164) else { return Line::Unknown };
        use phonenumber::Type;
        match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile => Line::Mobile,
            Type::FixedLine => Line::FixedLine,
            Type::FixedLineOrMobile => Line::FixedLineOrMobile,
            Type::Unknown => Line::Unknown,
            _ => Line::Service,
        }
    }

    fn block(&mut self, value: &str) {
        let value = value.trim().to_lowercase();
        if let Some(local) = value.strip_suffix("@*") {
            self.blocked_domains_prefixes.push(format!("{local}@"));
            return;
        }
        // Block a phone number in every form it can arrive in.
        if let Some(phone) = self.phone(&value) {
            self.blocked.insert(phone);
        }
        self.blocked.insert(value.to_string());
    }

    /// Normalizes one identifier, or says why it cannot be used to match.
    pub fn normalize(&self, identifier: &Identifier) -> Result<Normalized, Unmatchable> {
        let (kind, raw) = match identifier {
            Identifier::Email { value } => (Kind::Email, value.clone()),
            Identifier::Phone { value } => (Kind::Phone, value.clone()),
            Identifier::External { namespace, value } => {
                (Kind::External, format!("{namespace}:{value}"))
            }
        };
        let unmatchable =
            |reason: &str| Unmatchable { kind, raw: raw.clone(), reason: reason.into() };
        let as_written = match identifier {
            Identifier::External { value, .. } => value.trim().to_lowercase(),
            _ => raw.trim().to_lowercase(),
        };
        if as_written.is_empty() || self.is_blocked(&as_written) {
            return Err(unmatchable("blocked value"));
        }
        let value = match identifier {
            Identifier::Email { value } => {
                email(value).ok_or_else(|| unmatchable("not a valid e-mail address"))?
            }
            Identifier::Phone { value } => {
                let phone =
                    self.phone(value).ok_or_else(|| unmatchable("not a valid phone number"))?;
                if Self::is_placeholder_phone(&phone) {
                    return Err(unmatchable("blocked value"));
                }
                phone
            }
            Identifier::External { namespace, value } => {
                let namespace = namespace.trim().to_ascii_lowercase();
                let value = value.trim();
                if namespace.is_empty() || value.is_empty() {
                    return Err(unmatchable("an external id needs a namespace and a value"));
                }
                format!("{namespace}:{value}")
            }
        };
        if self.is_blocked(&value) {
            return Err(unmatchable("blocked value"));
        }
        Ok(Normalized { kind, value, raw })
    }

    /// What resolution does with an identifier: `usable` (it links records), `shared` (a role
    /// address: recorded, reaches the customer, never links two), `blocked` or `invalid` (kept
    /// on the profile, never used), with the normalized value and why.
    pub fn classify(&self, identifier: &Identifier) -> Classified {
        match self.normalize(identifier) {
            Ok(n) => match (n.kind, self.shared_reason(&n.value)) {
                (Kind::Email, Some(reason)) => Classified {
                    kind: n.kind,
                    raw: n.raw,
                    value: n.value,
                    status: "shared",
                    reason: Some(reason),
                },
                _ => Classified {
                    kind: n.kind,
                    raw: n.raw,
                    value: n.value,
                    status: "usable",
                    reason: None,
                },
            },
            Err(u) => Classified {
                kind: u.kind,
                value: u.raw.trim().to_lowercase(),
                raw: u.raw,
                status: if u.reason == "blocked value" { "blocked" } else { "invalid" },
                reason: Some(u.reason),
            },
        }
    }

    fn is_blocked(&self, value: &str) -> bool {
        self.blocked.contains(value)
            || self.blocked_domains_prefixes.iter().any(|prefix| value.starts_with(prefix.as_str()))
    }

    /// A phone number in E.164, or `None` if it is not a valid number.
    pub fn phone(&self, value: &str) -> Option<String> {
        let value = value.trim();
        if value.chars().filter(char::is_ascii_digit).count() < 5 {
            return None;
        }
        // `+33 (0)6 …`: the national trunk prefix written inside an international number.
        let value =
            if value.starts_with('+') { value.replace("(0)", "") } else { value.to_string() };
        let value = value.as_str();
        // `00` is the international prefix in most of the world.
        let value = match value.strip_prefix("00") {
            Some(rest) if self.region.is_none() => format!("+{rest}"),
            _ => value.to_string(),
        };
        let number = phonenumber::parse(self.region, &value).ok()?;
        if !phonenumber::is_valid(&number) {
            return None;
        }
        Some(number.format().mode(phonenumber::Mode::E164).to_string())
    }

    /// Whether a number in E.164 is a placeholder typed into a form: six zeros or more at its
    /// end (`06 00 00 00 00`). Such a number may be real (a company's switchboard), and is then
    /// shared anyway.
    fn is_placeholder_phone(e164: &str) -> bool {
        e164.chars().rev().take_while(|d| *d == '0').count() >= 6
    }
}

/// An e-mail address trimmed and lower-cased, its domain in IDNA ASCII form; `None` if it is
/// not an address. `<ann@example.com>` and `Ann <ann@example.com>` are accepted.
pub fn email(value: &str) -> Option<String> {
    let mut value = value.trim();
    if let (Some(start), Some(end)) = (value.rfind('<'), value.rfind('>'))
        && start < end
    {
        value = &value[start + 1..end];
    }
    let value = value.trim().trim_start_matches("mailto:");
    let (local, domain) = value.rsplit_once('@')?;
    if local.is_empty()
        || local.len() > 64
        || local.contains(char::is_whitespace)
        || domain.contains(char::is_whitespace)
    {
        return None;
    }
    let domain = idna::domain_to_ascii(domain.trim_end_matches('.')).ok()?;
    if !domain.contains('.') || domain.starts_with('.') || domain.contains("..") {
        return None;
    }
    Some(format!("{}@{domain}", local.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(region: &str, value: &str) -> Option<String> {
        Normalizer::new(Some(region), &[]).unwrap().phone(value)
    }

    #[test]
    fn phones_become_e164_with_the_default_region() {
        assert_eq!(phone("FR", "06 12 34 56 78").as_deref(), Some("+33612345678"));
        assert_eq!(phone("FR", "+33 6 12 34 56 78").as_deref(), Some("+33612345678"));
        assert_eq!(phone("US", "+33 (0)6 12 34 56 78").as_deref(), Some("+33612345678"));
        assert_eq!(phone("RU", "8 (912) 345-67-89").as_deref(), Some("+79123456789"));
        assert_eq!(phone("RU", "+7 912 345 67 89").as_deref(), Some("+79123456789"));
        assert_eq!(phone("US", "(415) 555-2671").as_deref(), Some("+14155552671"));
        assert_eq!(phone("FR", "12"), None);
        assert_eq!(phone("FR", "call me"), None);
        assert_eq!(phone("FR", "+33 1"), None);
    }

    #[test]
    fn emails_are_trimmed_lowered_and_idna() {
        assert_eq!(email("  Ann.Lee@Example.COM ").as_deref(), Some("ann.lee@example.com"));
        assert_eq!(email("Ann Lee <ann@example.com>").as_deref(), Some("ann@example.com"));
        assert_eq!(email("jürgen@bücher.de").as_deref(), Some("jürgen@xn--bcher-kva.de"));
        assert_eq!(email("mailto:a@b.fr").as_deref(), Some("a@b.fr"));
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@localhost",
            "a b@example.com",
            "ann@exa mple.com",
        ] {
            assert_eq!(email(bad), None, "{bad}");
        }
    }

    #[test]
    fn blocked_and_invalid_values_never_match() {
        let n =
            Normalizer::new(Some("FR"), &["shop@acme.fr".into(), "01 23 45 67 89".into()]).unwrap();
        let email = |v: &str| n.normalize(&Identifier::Email { value: v.into() });
        let phone = |v: &str| n.normalize(&Identifier::Phone { value: v.into() });
        assert_eq!(email("Test@Example.com").unwrap_err().reason, "blocked value");
        assert_eq!(email("noreply@shop.example").unwrap_err().reason, "blocked value");
        assert_eq!(email(" SHOP@acme.fr").unwrap_err().reason, "blocked value");
        assert_eq!(email("unknown").unwrap_err().reason, "blocked value");
        assert_eq!(phone("0000000000").unwrap_err().reason, "blocked value");
        assert_eq!(phone("06 00 00 00 00").unwrap_err().reason, "blocked value");
        assert_eq!(email("noemail@gmail.com").unwrap_err().reason, "blocked value");
        // Blocked in one form, blocked in every form.
        assert_eq!(phone("+33 1 23 45 67 89").unwrap_err().reason, "blocked value");
        assert_eq!(phone("not a number").unwrap_err().reason, "not a valid phone number");
        let ok = phone("06 12 34 56 78").unwrap();
        assert_eq!(
            (ok.kind, ok.value.as_str(), ok.raw.as_str()),
            (Kind::Phone, "+33612345678", "06 12 34 56 78")
        );
        let external = n
            .normalize(&Identifier::External {
                namespace: "Telegram:User".into(),
                value: " 42 ".into(),
            })
            .unwrap();
        assert_eq!(external.value, "telegram:user:42");
    }

    #[test]
    fn a_bad_region_is_refused() {
        assert_eq!(
            Normalizer::new(Some("XX"), &[]).unwrap_err(),
            SettingsError::Region("XX".into())
        );
    }
}
