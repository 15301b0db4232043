//! `switchboard.toml`: what a company configures. Parsing reports every problem it finds with
//! its line and column (unknown keys included), values may reference environment variables as
//! `${NAME}`, and secrets never appear in `Debug` output.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::runtime::{AllowedHost, DEFAULT_DEADLINE, DEFAULT_MEMORY_LIMIT};
use crate::sla::{Calendar, DeskSettings, Priority, Sla};
use crate::store::{IdentifierLimits, Policy};

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Why a config file was refused: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(path, problems))]
pub struct ConfigError {
    /// The file (for messages).
    pub path: String,
    /// The problems.
    pub problems: Vec<Problem>,
}

fn render(path: &str, problems: &[Problem]) -> String {
    let mut out = format!("{path}: {} problem(s)", problems.len());
    for problem in problems {
        out.push_str(&format!("\n  {path}:{problem}"));
    }
    out
}

/// A value that must not be printed: tokens, passwords, signing keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// GET requests.
    Read,
    /// Everything.
    Admin,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// JSON lines.
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file is; relative plugin paths are relative to its folder.
    pub path: PathBuf,
    /// `[server]`.
    pub server: Server,
    /// `[store]` url; it may hold the database password, so `Debug` does not show it (show it
    /// with [`crate::store::redact_url`]).
    pub store_url: Secret,
    /// `[identity]`.
    pub identity: Identity,
    /// `[runtime]`.
    pub runtime: Runtime,
    /// `[geocoding]`.
    pub geocoding: Geocoding,
    /// `[dead_letters]`.
    pub dead_letters: DeadLetters,
    /// `[[api_token]]`.
    pub api_tokens: Vec<(Secret, Role)>,
    /// `[[connector]]`, in file order.
    pub connectors: Vec<Connector>,
    /// `[store]` writers and batch size.
    pub store: StoreTuning,
    /// `[auth]`: sessions and login limits.
    pub auth: Auth,
    /// `[conversations]`, `[business_hours]` and `[[sla]]`.
    pub desk: DeskSettings,
    /// `[[team]]`, in file order.
    pub teams: Vec<TeamConfig>,
    /// `[[routing]]`, in file order.
    pub routing: Vec<RoutingConfig>,
}

/// `[store]` tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreTuning {
    /// PostgreSQL writer connections per host.
    pub writers: u32,
    /// Jobs one writer transaction commits together at most.
    pub max_batch: usize,
}

impl Default for StoreTuning {
    fn default() -> Self {
        let store = crate::store::StoreConfig::default();
        StoreTuning { writers: store.writers, max_batch: store.max_batch }
    }
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// A session ends after this long unused.
    pub session_idle: Duration,
    /// A session ends this long after login.
    pub session_max: Duration,
    /// Failed logins per e-mail address within `lockout_window`.
    pub max_failures_per_email: i64,
    /// Failed logins per client address within `lockout_window`.
    pub max_failures_per_client: i64,
    /// The window failures are counted over.
    pub lockout_window: Duration,
}

impl Default for Auth {
    fn default() -> Self {
        let d = crate::auth::AuthSettings::default();
        Auth {
            session_idle: d.session_idle,
            session_max: d.session_max,
            max_failures_per_email: d.max_failures_per_email,
            max_failures_per_client: d.max_failures_per_client,
            lockout_window: d.lockout_window,
        }
    }
}

/// One `[[team]]`: created at start if missing; its members (users' e-mail addresses) are
/// set when the list is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamConfig {
    /// The team's name.
    pub name: String,
    /// Members' e-mail addresses, lower-cased; `None` leaves members to the API.
    pub members: Option<Vec<String>>,
}

/// One `[[routing]]`: who is responsible for a connector or a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingConfig {
    /// `connector:<id>` or `channel:<name>`.
    pub scope: String,
    /// The responsible team's name.
    pub team: Option<String>,
    /// The responsible agent's e-mail address.
    pub agent: Option<String>,
    /// How new conversations are assigned.
    pub policy: Policy,
    /// Open conversations an agent carries at most.
    pub capacity: Option<i64>,
}

/// `[server]`.
#[derive(Debug, Clone)]
pub struct Server {
    /// Address to listen on.
    pub listen: String,
    /// The public base URL providers call (`https://crm.example.com`): connectors see
    /// `{public_url}/hooks/{id}/…`, which signature schemes such as Twilio's sign.
    pub public_url: Option<String>,
    /// Largest webhook body accepted.
    pub body_limit: usize,
    /// Log format.
    pub log_format: LogFormat,
}

/// `[identity]`.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// Region for phone numbers without a country code.
    pub default_region: Option<String>,
    /// Values that never identify anyone.
    pub blocked: Vec<String>,
    /// Shared (role) addresses replacing the built-in list, when given.
    pub role_addresses: Option<Vec<String>>,
    /// Shared (role) addresses added to the list.
    pub more_role_addresses: Vec<String>,
    /// Per-kind sharing limits.
    pub limits: IdentifierLimits,
}

/// `[runtime]`.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Compiled-component cache; relative to the config file's folder.
    pub cache_dir: PathBuf,
    /// Where bundled connectors are found (`plugin = "telegram"`).
    pub plugins_dir: Option<PathBuf>,
    /// Instance pool size.
    pub max_concurrent_calls: u32,
}

/// `[geocoding]`: placing orders' delivery addresses through a connector that geocodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Geocoding {
    /// The least time between two requests to the geocoder.
    pub interval: Duration,
}

/// Nominatim's public instance allows one request a second; a self-hosted one may allow more.
pub const DEFAULT_GEOCODING_INTERVAL: Duration = Duration::from_secs(1);

impl Default for Geocoding {
    fn default() -> Self {
        Geocoding { interval: DEFAULT_GEOCODING_INTERVAL }
    }
}

/// `[dead_letters]`: how long failed requests are kept for replay.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetters {
    /// Dead letters older than this are deleted (they hold customers' messages and providers'
    /// credentials).
    pub retention: Duration,
}

impl Default for DeadLetters {
    fn default() -> Self {
        DeadLetters { retention: Duration::from_secs(30 * 24 * 3600) }
    }
}

/// One `[[connector]]`.
#[derive(Debug, Clone)]
pub struct Connector {
    /// Its id: the `/hooks/{id}` path and the key of its state.
    pub id: String,
    /// The component file.
    pub plugin: PathBuf,
    /// Whether it serves.
    pub enabled: bool,
    /// Where its outbound HTTP may go.
    pub allowed_hosts: Vec<AllowedHost>,
    /// How often to poll, if it polls.
    pub poll_interval: Option<Duration>,
    /// Memory cap of a call.
    pub memory_limit: usize,
    /// Deadline of a call.
    pub deadline: Duration,
    /// Its config table, environment references resolved.
    pub config: BTreeMap<String, Secret>,
    /// Namespaces of other connectors' ids it may report besides its own (a till reading the
    /// web shop's visitor id from a cart's QR code: `["web:visitor"]`). It never sends to them.
    pub extra_namespaces: Vec<String>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    identity: RawIdentity,
    #[serde(default)]
    runtime: RawRuntime,
    #[serde(default)]
    geocoding: RawGeocoding,
    #[serde(default)]
    dead_letters: RawDeadLetters,
    #[serde(default, rename = "api_token")]
    api_tokens: Vec<RawToken>,
    #[serde(default, rename = "connector")]
    connectors: Vec<RawConnector>,
    #[serde(default)]
    auth: RawAuth,
    #[serde(default)]
    conversations: RawConversations,
    business_hours: Option<RawBusinessHours>,
    #[serde(default)]
    sla: Vec<RawSla>,
    #[serde(default, rename = "team")]
    teams: Vec<RawTeam>,
    #[serde(default)]
    routing: Vec<RawRouting>,
}

#[derive(Deserialize, Default)]
struct RawAuth {
    session_idle: Option<Spanned<String>>,
    session_max: Option<Spanned<String>>,
    max_failures_per_email: Option<Spanned<i64>>,
    max_failures_per_client: Option<Spanned<i64>>,
    lockout_window: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
struct RawConversations {
    reopen_within: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct RawBusinessHours {
    time_zone: Spanned<String>,
    #[serde(default)]
    monday: String,
    #[serde(default)]
    tuesday: String,
    #[serde(default)]
    wednesday: String,
    #[serde(default)]
    thursday: String,
    #[serde(default)]
    friday: String,
    #[serde(default)]
    saturday: String,
    #[serde(default)]
    sunday: String,
    #[serde(default)]
    holidays: Vec<String>,
}

#[derive(Deserialize)]
struct RawSla {
    name: Spanned<String>,
    channel: Option<String>,
    priority: Option<Spanned<String>>,
    first_response: Option<Spanned<String>>,
    resolution: Option<Spanned<String>>,
    #[serde(default)]
    business_hours: bool,
}

#[derive(Deserialize)]
struct RawTeam {
    name: Spanned<String>,
    members: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawRouting {
    connector: Option<Spanned<String>>,
    channel: Option<Spanned<String>>,
    team: Option<String>,
    agent: Option<String>,
    policy: Option<Spanned<String>>,
    capacity: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
struct RawServer {
    listen: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    body_limit: Option<Spanned<String>>,
    log_format: Option<LogFormat>,
}

#[derive(Deserialize, Default)]
struct RawStore {
    url: Option<Spanned<String>>,
    writers: Option<Spanned<u32>>,
    max_batch: Option<Spanned<usize>>,
}

#[derive(Deserialize, Default)]
struct RawIdentity {
    default_region: Option<Spanned<String>>,
    #[serde(default)]
    blocked: Vec<String>,
    role_addresses: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    more_role_addresses: Vec<Spanned<String>>,
    #[serde(default)]
    limits: IdentifierLimits,
}

#[derive(Deserialize, Default)]
struct RawRuntime {
    cache_dir: Option<String>,
    plugins_dir: Option<String>,
    max_concurrent_calls: Option<u32>,
}

#[derive(Deserialize, Default)]
struct RawGeocoding {
    interval: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
struct RawDeadLetters {
    retention: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct RawToken {
    token: Spanned<String>,
    role: Role,
}

#[derive(Deserialize)]
struct RawConnector {
    id: Spanned<String>,
    plugin: Spanned<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    allowed_hosts: Vec<Spanned<String>>,
    poll_interval: Option<Spanned<String>>,
    memory_limit: Option<Spanned<String>>,
    deadline: Option<Spanned<String>>,
    #[serde(default)]
    config: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    extra_namespaces: Vec<Spanned<String>>,
}

fn yes() -> bool {
    true
}

/// Reads and validates a config file. `env` resolves `${NAME}` references (the process
/// environment in production, a map in tests).
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: display.clone(),
        problems: vec![Problem {
            line: 0,
            column: 0,
            message: format!("cannot read the file: {e}"),
        }],
    })?;
    parse(&text, path, env)
}

/// Validates config text; `path` locates relative paths and names the file in messages.
pub fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut checker = Checker { text, problems: Vec::new() };
    let deserializer = toml::Deserializer::parse(text);
    let mut unknown = Vec::new();
    let raw: Option<RawConfig> = match deserializer {
        Ok(deserializer) => {
            match serde_ignored::deserialize(deserializer, |key| unknown.push(key.to_string())) {
                Ok(raw) => Some(raw),
                Err(error) => {
                    let error: toml::de::Error = error;
                    checker.at(error.span().unwrap_or(0..0), error.message().to_string());
                    None
                }
            }
        }
        Err(error) => {
            checker.at(error.span().unwrap_or(0..0), error.message().to_string());
            None
        }
    };
    for key in unknown {
        let span = key_span(text, &key);
        checker.at(span, format!("unknown key `{key}`"));
    }
    let config = raw.map(|raw| checker.validate(raw, path, env));
    if !checker.problems.is_empty() || config.is_none() {
        let mut problems = checker.problems;
        problems.sort_by_key(|p| (p.line, p.column));
        return Err(ConfigError { path: path.display().to_string(), problems });
    }
    Ok(config.expect("checked above"))
}

struct Checker<'a> {
    text: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn at(&mut self, span: Range<usize>, message: String) {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
        self.problems.push(Problem { line, column, message });
    }

    /// Resolves `${NAME}` references; `$$` is a literal `$`.
    fn expand(&mut self, value: &Spanned<String>, env: &dyn Fn(&str) -> Option<String>) -> String {
        let text = value.get_ref();
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            if let Some(after) = rest.strip_prefix("$$") {
                out.push('$');
                rest = after;
            } else if let Some(after) = rest.strip_prefix("${") {
                match after.split_once('}') {
                    Some((name, tail)) => {
                        match env(name) {
                            Some(value) => out.push_str(&value),
                            None => self.at(
                                value.span(),
                                format!("environment variable `{name}` is not set"),
                            ),
                        }
                        rest = tail;
                    }
                    None => {
                        self.at(
                            value.span(),
                            "unterminated `${`; write `${NAME}`, or `$$` for a literal `$`".into(),
                        );
                        return out;
                    }
                }
            } else {
                out.push('$');
                rest = &rest[1..];
            }
        }
        out.push_str(rest);
        out
    }

    fn validate(
        &mut self,
        raw: RawConfig,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Config {
        let base = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let listen = match raw.server.listen {
            Some(listen) => {
                if listen.get_ref().parse::<std::net::SocketAddr>().is_err() {
                    self.at(
                        listen.span(),
                        format!(
                            "listen `{}` is not an address such as 127.0.0.1:8080",
                            listen.get_ref()
                        ),
                    );
                }
                listen.into_inner()
            }
            None => "127.0.0.1:8080".into(),
        };
        let public_url = raw.server.public_url.map(|url| {
            let value = url.get_ref().trim_end_matches('/').to_string();
            if !(value.starts_with("https://") || value.starts_with("http://"))
                || value.parse::<http::Uri>().is_err()
            {
                self.at(
                    url.span(),
                    format!(
                        "public_url `{value}` is not an http(s) URL such as https://crm.example.com"
                    ),
                );
            }
            value
        });
        let body_limit = match raw.server.body_limit {
            Some(limit) => self.size(&limit).unwrap_or(1 << 20),
            // Provider webhooks are small; inbound e-mail with attachments is the largest.
            None => 1 << 20,
        };
        let store = self.store_tuning(&raw.store);
        let store_url = match raw.store.url {
            Some(url) => {
                let value = self.expand(&url, env);
                if !(value.starts_with("sqlite:")
                    || value.starts_with("postgres://")
                    || value.starts_with("postgresql://"))
                {
                    self.at(
                        url.span(),
                        format!(
                            "store url `{}` is neither sqlite://FILE nor postgres://…",
                            url.get_ref()
                        ),
                    );
                }
                value
            }
            None => "sqlite://switchboard.db".into(),
        };
        let store_url = Secret(store_url);
        if let Some(region) = &raw.identity.default_region
            && crate::identity::Normalizer::new(Some(region.get_ref()), &[]).is_err()
        {
            self.at(
                region.span(),
                format!(
                    "default_region `{}` is not a two-letter country code such as FR",
                    region.get_ref()
                ),
            );
        }
        let roles = raw.identity.role_addresses.iter().flatten();
        for role in roles.chain(&raw.identity.more_role_addresses) {
            let value = role.get_ref().trim();
            let address = value.strip_suffix("@*").unwrap_or(value);
            let fine = !address.is_empty()
                && address.len() <= 254
                && !address.contains(char::is_whitespace)
                && (!address.contains('@') || crate::identity::email(address).is_some());
            if !fine {
                self.at(
                    role.span(),
                    format!(
                        "role address `{value}` is neither a local part such as `info` (any \
                         domain) nor an address such as `team@acme.fr`"
                    ),
                );
            }
        }
        let mut api_tokens = Vec::new();
        for token in raw.api_tokens {
            let value = self.expand(&token.token, env);
            // A short token can be guessed.
            if value.len() < 16
                && !self.problems.iter().any(|p| p.message.contains("environment variable"))
            {
                self.at(token.token.span(), "token is shorter than 16 characters".into());
            }
            api_tokens.push((Secret(value), token.role));
        }
        let mut ids = BTreeSet::new();
        let mut connectors = Vec::new();
        for c in raw.connectors {
            let id = c.id.get_ref().clone();
            let valid_id = !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid_id {
                self.at(
                    c.id.span(),
                    format!(
                        "connector id `{id}` must be 1 to 64 lower case letters, digits or `-`"
                    ),
                );
            } else if !ids.insert(id.clone()) {
                self.at(c.id.span(), format!("connector id `{id}` is used twice"));
            }
            let plugin = c.plugin.get_ref();
            let plugin_path = if plugin.ends_with(".wasm") || plugin.contains('/') {
                let p = PathBuf::from(plugin);
                if p.is_absolute() { p } else { base.join(p.strip_prefix("./").unwrap_or(&p)) }
            } else {
                PathBuf::from(format!("{plugin}.wasm"))
            };
            let mut allowed_hosts = Vec::new();
            for entry in &c.allowed_hosts {
                match entry.get_ref().parse::<AllowedHost>() {
                    Ok(host) => allowed_hosts.push(host),
                    Err(error) => self.at(entry.span(), error.to_string()),
                }
            }
            let poll_interval = c.poll_interval.as_ref().and_then(|v| self.duration(v));
            let memory_limit =
                c.memory_limit.as_ref().and_then(|v| self.size(v)).unwrap_or(DEFAULT_MEMORY_LIMIT);
            let deadline =
                c.deadline.as_ref().and_then(|v| self.duration(v)).unwrap_or(DEFAULT_DEADLINE);
            let config =
                c.config.iter().map(|(k, v)| (k.clone(), Secret(self.expand(v, env)))).collect();
            let mut extra_namespaces = Vec::new();
            for entry in &c.extra_namespaces {
                let value = entry.get_ref().trim();
                let valid = value.contains(':')
                    && !value.starts_with(':')
                    && !value.ends_with(':')
                    && value.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_:".contains(&b)
                    });
                if valid {
                    extra_namespaces.push(value.to_string());
                } else {
                    self.at(
                        entry.span(),
                        format!("extra namespace `{value}` is not a lower-case namespace such as `web:visitor`"),
                    );
                }
            }
            connectors.push(Connector {
                id,
                plugin: plugin_path,
                enabled: c.enabled,
                allowed_hosts,
                poll_interval,
                memory_limit,
                deadline,
                config,
                extra_namespaces,
            });
        }
        let runtime = Runtime {
            // Unset: the cache `switchboard plugin test` uses too, so a component is compiled
            // once on a machine.
            cache_dir: match raw.runtime.cache_dir {
                Some(dir) => base.join(dir),
                None => crate::runtime::default_cache_dir()
                    .unwrap_or_else(|| base.join(".switchboard/cache")),
            },
            plugins_dir: raw.runtime.plugins_dir.map(|d| base.join(d)),
            max_concurrent_calls: raw.runtime.max_concurrent_calls.unwrap_or(128),
        };
        let mut dead_letters = DeadLetters::default();
        if let Some(value) = &raw.dead_letters.retention
            && let Some(retention) = self.duration(value)
        {
            if retention < Duration::from_secs(3600) {
                self.at(value.span(), "[dead_letters] retention must be at least 1h".to_string());
            } else {
                dead_letters.retention = retention;
            }
        }
        let geocoding = Geocoding {
            interval: raw
                .geocoding
                .interval
                .as_ref()
                .and_then(|v| self.duration(v))
                .unwrap_or(DEFAULT_GEOCODING_INTERVAL),
        };
        let auth = self.auth(&raw.auth);
        let desk = self.desk(&raw.conversations, raw.business_hours.as_ref(), &raw.sla);
        let teams = self.teams(&raw.teams);
        let routing = self.routing(&raw.routing, &teams);
        Config {
            store,
            auth,
            desk,
            teams,
            routing,
            path: path.to_path_buf(),
            server: Server {
                listen,
                public_url,
                body_limit,
                log_format: raw.server.log_format.unwrap_or_default(),
            },
            store_url,
            identity: Identity {
                default_region: raw.identity.default_region.map(Spanned::into_inner),
                blocked: raw.identity.blocked,
                role_addresses: raw
                    .identity
                    .role_addresses
                    .map(|list| list.into_iter().map(Spanned::into_inner).collect()),
                more_role_addresses: raw
                    .identity
                    .more_role_addresses
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                limits: raw.identity.limits,
            },
            runtime,
            geocoding,
            dead_letters,
            api_tokens,
            connectors,
        }
    }

    fn store_tuning(&mut self, raw: &RawStore) -> StoreTuning {
        let mut tuning = StoreTuning::default();
        if let Some(writers) = &raw.writers {
            if (1..=64).contains(writers.get_ref()) {
                tuning.writers = *writers.get_ref();
            } else {
                self.at(writers.span(), format!("writers `{}` must be 1 to 64", writers.get_ref()));
            }
        }
        if let Some(batch) = &raw.max_batch {
            if (1..=10_000).contains(batch.get_ref()) {
                tuning.max_batch = *batch.get_ref();
            } else {
                self.at(
                    batch.span(),
                    format!("max_batch `{}` must be 1 to 10000", batch.get_ref()),
                );
            }
        }
        tuning
    }

    fn auth(&mut self, raw: &RawAuth) -> Auth {
        let mut auth = Auth::default();
        let duration =
            |checker: &mut Self, value: &Option<Spanned<String>>, into: &mut Duration| {
                if let Some(d) = value.as_ref().and_then(|v| checker.duration(v)) {
                    *into = d;
                }
            };
        duration(self, &raw.session_idle, &mut auth.session_idle);
        duration(self, &raw.session_max, &mut auth.session_max);
        duration(self, &raw.lockout_window, &mut auth.lockout_window);
        for (value, into) in [
            (&raw.max_failures_per_email, &mut auth.max_failures_per_email),
            (&raw.max_failures_per_client, &mut auth.max_failures_per_client),
        ] {
            if let Some(value) = value {
                if (1..=10_000).contains(value.get_ref()) {
                    *into = *value.get_ref();
                } else {
                    self.at(
                        value.span(),
                        format!("`{}` must be 1 to 10000 failed logins", value.get_ref()),
                    );
                }
            }
        }
        if auth.session_idle > auth.session_max {
            let span = raw.session_idle.as_ref().map(|v| v.span()).unwrap_or(0..0);
            self.at(span, "session_idle is longer than session_max".into());
        }
        auth
    }

    fn desk(
        &mut self,
        conversations: &RawConversations,
        hours: Option<&RawBusinessHours>,
        policies: &[RawSla],
    ) -> DeskSettings {
        let mut desk = DeskSettings::default();
        if let Some(d) = conversations.reopen_within.as_ref().and_then(|v| self.duration(v)) {
            desk.reopen_within = d;
        }
        let mut calendar = None;
        if let Some(hours) = hours {
            let week = [
                hours.monday.clone(),
                hours.tuesday.clone(),
                hours.wednesday.clone(),
                hours.thursday.clone(),
                hours.friday.clone(),
                hours.saturday.clone(),
                hours.sunday.clone(),
            ];
            match Calendar::new(hours.time_zone.get_ref(), &week, &hours.holidays) {
                Ok(parsed) if week.iter().all(|d| d.trim().is_empty()) => {
                    let _ = parsed;
                    self.at(
                        hours.time_zone.span(),
                        "[business_hours] opens on no day: give at least one day's hours, e.g. monday = \"09:00-18:00\"".into(),
                    );
                }
                Ok(parsed) => calendar = Some(parsed),
                Err(error) => self.at(hours.time_zone.span(), format!("[business_hours]: {error}")),
            }
        }
        let mut names = BTreeSet::new();
        for raw in policies {
            let name = raw.name.get_ref().trim().to_string();
            if name.is_empty() || !names.insert(name.clone()) {
                self.at(raw.name.span(), format!("sla name `{name}` is empty or used twice"));
            }
            let priority = raw.priority.as_ref().and_then(|p| match Priority::parse(p.get_ref()) {
                Some(priority) => Some(priority),
                None => {
                    self.at(
                        p.span(),
                        format!("priority `{}` is not low, normal, high or urgent", p.get_ref()),
                    );
                    None
                }
            });
            let first_response = raw.first_response.as_ref().and_then(|v| self.duration(v));
            let resolution = raw.resolution.as_ref().and_then(|v| self.duration(v));
            if raw.first_response.is_none() && raw.resolution.is_none() {
                self.at(
                    raw.name.span(),
                    format!("sla `{name}` sets neither first_response nor resolution"),
                );
            }
            if raw.business_hours && hours.is_none() {
                self.at(
                    raw.name.span(),
                    format!("sla `{name}` counts business hours, but there is no [business_hours]"),
                );
            }
            desk.sla.policies.push(crate::sla::Policy {
                name,
                channel: raw.channel.clone(),
                priority,
                first_response,
                resolution,
                business_hours: raw.business_hours,
            });
        }
        desk.sla = Sla {
            policies: std::mem::take(&mut desk.sla.policies),
            calendar: calendar.unwrap_or_default(),
        };
        desk
    }

    fn teams(&mut self, raw: &[RawTeam]) -> Vec<TeamConfig> {
        let mut names = BTreeSet::new();
        let mut teams = Vec::new();
        for team in raw {
            let name = team.name.get_ref().trim().to_string();
            if name.is_empty() || name.len() > 100 {
                self.at(team.name.span(), "team name must be 1 to 100 characters".into());
            } else if !names.insert(name.clone()) {
                self.at(team.name.span(), format!("team `{name}` is named twice"));
            }
            let members =
                team.members.as_ref().map(|m| m.iter().map(|e| e.trim().to_lowercase()).collect());
            teams.push(TeamConfig { name, members });
        }
        teams
    }

    fn routing(&mut self, raw: &[RawRouting], teams: &[TeamConfig]) -> Vec<RoutingConfig> {
        let mut scopes = BTreeSet::new();
        let mut rules = Vec::new();
        for rule in raw {
            let (scope, span) = match (&rule.connector, &rule.channel) {
                (Some(c), None) => (format!("connector:{}", c.get_ref()), c.span()),
                (None, Some(c)) => (format!("channel:{}", c.get_ref()), c.span()),
                (Some(c), Some(_)) => {
                    self.at(
                        c.span(),
                        "a [[routing]] names a connector or a channel, not both".into(),
                    );
                    continue;
                }
                (None, None) => {
                    let span = rule.policy.as_ref().map(|p| p.span()).unwrap_or(0..0);
                    self.at(
                        span,
                        "a [[routing]] needs `connector = \"<id>\"` or `channel = \"<name>\"`"
                            .into(),
                    );
                    continue;
                }
            };
            let name = scope.split_once(':').map(|(_, n)| n).unwrap_or("");
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                self.at(
                    span.clone(),
                    format!("`{name}` must be lower case letters, digits, `-` or `_`"),
                );
            }
            if !scopes.insert(scope.clone()) {
                self.at(span.clone(), format!("`{scope}` is routed twice"));
            }
            let policy = match &rule.policy {
                None => Policy::Manual,
                Some(p) => match Policy::parse(p.get_ref()) {
                    Some(policy) => policy,
                    None => {
                        self.at(
                            p.span(),
                            format!(
                                "policy `{}` is not manual, round-robin or least-open",
                                p.get_ref()
                            ),
                        );
                        Policy::Manual
                    }
                },
            };
            if let Some(team) = &rule.team
                && !teams.iter().any(|t| &t.name == team)
            {
                self.at(span.clone(), format!("team `{team}` is not a [[team]] of this file"));
            }
            if rule.team.is_none() && rule.agent.is_none() {
                self.at(span.clone(), format!("`{scope}` needs a `team`, an `agent` or both"));
            }
            if policy != Policy::Manual && rule.team.is_none() {
                self.at(
                    span.clone(),
                    format!(
                        "policy {} picks among a team: `{scope}` needs a `team`",
                        policy.as_str()
                    ),
                );
            }
            let capacity = rule.capacity.as_ref().and_then(|c| {
                if (1..=10_000).contains(c.get_ref()) {
                    Some(*c.get_ref())
                } else {
                    self.at(c.span(), format!("capacity `{}` must be 1 to 10000", c.get_ref()));
                    None
                }
            });
            rules.push(RoutingConfig {
                scope,
                team: rule.team.clone(),
                agent: rule.agent.as_ref().map(|a| a.trim().to_lowercase()),
                policy,
                capacity,
            });
        }
        rules
    }

    fn duration(&mut self, value: &Spanned<String>) -> Option<Duration> {
        match humantime::parse_duration(value.get_ref()) {
            Ok(d) if !d.is_zero() => Some(d),
            _ => {
                self.at(
                    value.span(),
                    format!("`{}` is not a duration such as 500ms, 30s or 5m", value.get_ref()),
                );
                None
            }
        }
    }

    fn size(&mut self, value: &Spanned<String>) -> Option<usize> {
        match parse_size(value.get_ref()) {
            Some(n) if n > 0 => Some(n),
            _ => {
                self.at(
                    value.span(),
                    format!("`{}` is not a size such as 512KiB or 64MiB", value.get_ref()),
                );
                None
            }
        }
    }
}

/// `64MiB`, `512KiB`, `1GiB`, `2MB`, `1000` (bytes).
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().ok()?;
    let multiplier: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

/// Where the key at a serde path (`connector.1.enabeld`) is written, best effort.
fn key_span(text: &str, path: &str) -> Range<usize> {
    let Ok(document) = toml_edit::Document::parse(text) else { return 0..0 };
    let mut table: &dyn toml_edit::TableLike = document.as_table();
    let segments: Vec<&str> = path.split('.').collect();
    let mut span = 0..0;
    let mut i = 0;
    while i < segments.len() {
        let Some((key, item)) = table.get_key_value(segments[i]) else { break };
        if let Some(s) = key.span() {
            span = s;
        }
        i += 1;
        match item {
            toml_edit::Item::ArrayOfTables(array) => {
                let Some(next) = segments
                    .get(i)
                    .and_then(|s| s.parse::<usize>().ok())
                    .and_then(|n| array.get(n))
                else {
                    break;
                };
                table = next;
                i += 1;
            }
            other => match other.as_table_like() {
                Some(next) => table = next,
                None => break,
            },
        }
    }
    span
}
