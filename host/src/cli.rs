//! Command-line parsing and the `plugin` tools connector authors use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use serde_json::json;
use switchboard::identity::Normalizer;
use switchboard::recorded::Recorded;

mod scaffold;
mod users;
use switchboard::runtime::{
    AllowedHost, CallError, ConnectorSettings, Limits, LoadedConnector, MemoryKv, Runtime,
    RuntimeConfig,
};

/// Switchboard: one customer record across every channel.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
pub struct Args {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "SWITCHBOARD_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server: webhooks, REST API, polling, hot reload.
    Serve {
        /// The config file.
        #[arg(long, short = 'c', default_value = "switchboard.toml", env = "SWITCHBOARD_CONFIG")]
        config: PathBuf,
        /// Do not reload connectors when their files or the config change.
        #[arg(long)]
        no_watch: bool,
        /// After starting, send the recorded requests (`*.http`) in this folder to the server
        /// over HTTP, in name order, and print the customers they produced.
        #[arg(long)]
        demo: Option<PathBuf>,
    },
    /// Applies the store's migrations and exits.
    Migrate {
        /// The config file (its `[store] url`).
        #[arg(long, short = 'c', default_value = "switchboard.toml", env = "SWITCHBOARD_CONFIG")]
        config: PathBuf,
    },
    /// Config file tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Inspect and try connector components.
    #[command(subcommand)]
    Plugin(Box<PluginCommand>),
    /// The people who log in: add, list, disable, enable, reset a password (on the store of
    /// the config file; no server needed).
    Users {
        /// The config file (its `[store] url`).
        #[arg(
            long,
            short = 'c',
            global = true,
            default_value = "switchboard.toml",
            env = "SWITCHBOARD_CONFIG"
        )]
        config: PathBuf,
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// Connectors of a running server.
    Connectors {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ConnectorsCommand,
    },
    /// Dead letters of a running server.
    DeadLetters {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: DeadLettersCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Reports every problem of a config file with its line and column; exits 1 if any.
    Check {
        /// The config file.
        file: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct Remote {
    /// The server's address.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8080",
        env = "SWITCHBOARD_SERVER"
    )]
    server: String,
    /// An admin API token.
    #[arg(long, global = true, env = "SWITCHBOARD_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, Subcommand)]
enum ConnectorsCommand {
    /// Lists connectors: version, state, requests, errors, last error, last poll.
    List,
    /// Reloads a connector from its plugin file.
    Reload {
        /// Connector id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum DeadLettersCommand {
    /// Lists pending dead letters.
    List {
        /// Include replayed ones.
        #[arg(long)]
        all: bool,
    },
    /// Replays one.
    Replay {
        /// Dead letter id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Writes a new connector project: manifest, a webhook handler with a signature check, a
    /// send, a recorded request, a native unit test and a README, ready to build and test.
    New {
        /// The connector's id, e.g. `viber` (lower case letters, digits, dashes).
        name: String,
        /// The language.
        #[arg(long, value_enum, default_value = "rust")]
        lang: scaffold::Lang,
        /// Where to write it (default: `./NAME`); must not exist or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Rust: take switchboard-sdk from this folder (default: the checkout this
        /// switchboard was built from, when it is on this machine, else its git repository).
        #[arg(long, conflicts_with_all = ["sdk_git", "sdk_version"])]
        sdk_path: Option<PathBuf>,
        /// Rust: take switchboard-sdk from this git repository.
        #[arg(long, conflicts_with = "sdk_version")]
        sdk_git: Option<String>,
        /// Rust: take this published version of switchboard-sdk from crates.io.
        #[arg(long)]
        sdk_version: Option<String>,
    },
    /// Builds the connector project in DIR into a component in `DIR/dist/`: Rust for
    /// `wasm32-wasip2` with the small, fast profile the bundled connectors use; JavaScript and
    /// Python with their componentizers. Then checks that the host loads it.
    Build {
        /// The project (default: the current folder).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Checks a component and prints its manifest, WIT version, size, imports (with what the host
    /// does with each, and a warning for any it refuses) and exports. Exits 1 if the host would
    /// refuse it.
    Inspect {
        /// The component (`.wasm`).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Runs one of the connector's exports and prints what it answered as JSON: `handle-webhook`
    /// on a recorded request (`--request`), `send` (`--send`), `poll` (`--poll`) or `geocode`
    /// (`--geocode`). Exits 1 if the connector refused the call.
    ///
    /// Outbound HTTP goes to the network (within `--allow-host`), or is answered from recorded
    /// responses (`--responses DIR`); each request the connector made is printed on standard
    /// error. `--now` sets the clock, so an old recording's signature window verifies.
    #[command(group(clap::ArgGroup::new("call").required(true).args(["request", "send", "poll", "geocode"])))]
    Test {
        /// The component (`.wasm`).
        file: PathBuf,
        /// Runs `handle-webhook` on a recorded request: request line, headers, blank line, body.
        #[arg(long, short = 'r')]
        request: Option<PathBuf>,
        /// Runs `send` with the message in this JSON file, e.g. `{"to": [{"kind": "external",
        /// "namespace": "viber:user", "value": "42"}], "text": "Hello"}` (`kind` is `email`,
        /// `phone` or `external`; `subject`, `thread_id`, `in_reply_to` are optional).
        #[arg(long)]
        send: Option<PathBuf>,
        /// Runs `poll`, from `--cursor` when given.
        #[arg(long)]
        poll: bool,
        /// The cursor `poll` starts from (what its previous call answered as `next_cursor`).
        #[arg(long, requires = "poll")]
        cursor: Option<String>,
        /// Runs `geocode` on an address: JSON such as `{"line1": "12 rue de la République",
        /// "city": "Lyon", "postal_code": "69002", "country": "FR"}`, or a file holding it.
        #[arg(long)]
        geocode: Option<String>,
        /// Answers the connector's outbound HTTP with the recorded responses (`.http`: an
        /// optional `METHOD URL` line, a status line, headers, a blank line, the body) in this
        /// folder instead of the network.
        #[arg(long)]
        responses: Option<PathBuf>,
        /// The time the call happens, as the connector's clock reads it (a webhook: when the
        /// request was received): RFC 3339 (`2026-11-25T10:00:00Z`) or ms since the epoch.
        #[arg(long, value_parser = parse_time)]
        now: Option<i64>,
        /// A value of the connector's config table, `key=value`; repeatable.
        #[arg(long = "config", short = 'c', value_parser = parse_key_value)]
        config: Vec<(String, String)>,
        /// A host the connector may call, e.g. `http://127.0.0.1:8080`; repeatable.
        #[arg(long = "allow-host")]
        allow_hosts: Vec<AllowedHost>,
        /// The public URL the provider called, when it is not `https://{Host}{target}`.
        #[arg(long)]
        url: Option<String>,
        /// The connector id to mount it as (default: the manifest's id).
        #[arg(long)]
        id: Option<String>,
        /// Deadline of the call in milliseconds.
        #[arg(long, default_value_t = 5000)]
        deadline_ms: u64,
        /// The store's default phone region (`[identity] default_region`), to read numbers
        /// written without a country code as the store would.
        #[arg(long)]
        region: Option<String>,
    },
}

fn parse_time(value: &str) -> Result<i64, String> {
    if let Ok(ms) = value.trim().parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(value.trim()).map(|t| t.timestamp_millis()).map_err(|_| {
        format!("`{value}` is neither RFC 3339 (2026-11-25T10:00:00Z) nor ms since the epoch")
    })
}

fn parse_key_value(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().into(), value.into())),
        _ => Err(format!("`{value}` is not key=value")),
    }
}

impl Args {
    /// Whether this runs the server (rather than a tool whose output may be piped).
    pub fn serves(&self) -> bool {
        matches!(self.command, Command::Serve { .. })
    }
}

/// Whether the config file of `serve` asks for JSON logs (`[server] log_format = "json"`); an
/// unreadable file is reported later by `serve` itself.
pub fn config_wants_json(args: &Args) -> bool {
    let Command::Serve { config, .. } = &args.command else { return false };
    switchboard::config::load(config, &switchboard::server::env_lookup)
        .is_ok_and(|c| c.server.log_format == switchboard::config::LogFormat::Json)
}

/// Logs go to stderr so that stdout carries only the command's output.
pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,wasmtime=warn,cranelift=warn"));
    // Colours only for a person at a terminal: redirected logs stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs the parsed command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Serve { config, no_watch, demo } => {
            let config = switchboard::config::load(&config, &switchboard::server::env_lookup)?;
            let server = switchboard::server::start(config, !no_watch).await?;
            println!("switchboard listening on http://{}", server.address);
            if let Some(dir) = demo {
                replay_demo(&server, &dir).await?;
            }
            server.wait().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { config } => {
            let config = switchboard::config::load(&config, &switchboard::server::env_lookup)?;
            switchboard::server::open_store(&config)
                .await
                .context("failed to migrate the store")?;
            println!("store at {} is up to date", redact_url(config.store_url.expose()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Users { config, command } => users::run(config, command).await,
        Command::Config(ConfigCommand::Check { file }) => {
            match switchboard::config::load(&file, &switchboard::server::env_lookup) {
                Ok(config) => {
                    println!("{}: ok ({} connector(s))", file.display(), config.connectors.len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    eprintln!("{error}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Connectors { remote, command } => {
            let (method, path) = match &command {
                ConnectorsCommand::List => ("GET", "/admin/connectors".to_string()),
                ConnectorsCommand::Reload { id } => {
                    ("POST", format!("/admin/connectors/{id}/reload"))
                }
            };
            admin(&remote, method, &path).await
        }
        Command::DeadLetters { remote, command } => {
            let (method, path) = match &command {
                DeadLettersCommand::List { all } => {
                    ("GET", format!("/admin/dead-letters?all={all}"))
                }
                DeadLettersCommand::Replay { id } => {
                    ("POST", format!("/admin/dead-letters/{id}/replay"))
                }
            };
            admin(&remote, method, &path).await
        }
        Command::Plugin(command) => plugin(*command).await,
    }
}

/// Runs a `plugin` subcommand.
async fn plugin(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::New { name, lang, dir, sdk_path, sdk_git, sdk_version } => {
            let sdk = match (sdk_path, sdk_git, sdk_version) {
                (Some(path), _, _) => scaffold::SdkSource::Path(
                    path.canonicalize()
                        .with_context(|| format!("--sdk-path {} does not exist", path.display()))?,
                ),
                (_, Some(url), _) => scaffold::SdkSource::Git(url),
                (_, _, Some(version)) => scaffold::SdkSource::Registry(version),
                _ => scaffold::SdkSource::default_for_this_build(),
            };
            let dir = scaffold::new_project(&name, lang, dir.as_deref(), &sdk)?;
            println!("wrote a {lang:?} connector project in {}", dir.display());
            println!("next: cd {} && {}", dir.display(), scaffold::next_steps(lang));
            println!("(README.md says how to test it with its recorded requests)");
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Build { dir } => {
            let component = scaffold::build(&dir)?;
            let code = inspect(&component, false).await?;
            println!("component: {}", component.display());
            Ok(code)
        }
        PluginCommand::Inspect { file, json } => inspect(&file, json).await,
        PluginCommand::Test {
            file,
            request,
            send,
            poll,
            cursor,
            geocode,
            responses,
            now,
            config,
            allow_hosts,
            url,
            id,
            deadline_ms,
            region,
        } => {
            let normalizer = Normalizer::new(region.as_deref(), &[])?;
            let recordings = match &responses {
                Some(dir) => Some(Arc::new(
                    switchboard::recorded::Recordings::from_dir(dir).map_err(anyhow::Error::msg)?,
                )),
                None => None,
            };
            let settings = ConnectorSettings {
                id,
                config: config.into_iter().collect::<BTreeMap<_, _>>(),
                allowed_hosts: allow_hosts,
                limits: Limits {
                    deadline: std::time::Duration::from_millis(deadline_ms),
                    ..Limits::default()
                },
                recordings: recordings.clone(),
                clock: now,
                ..ConnectorSettings::default()
            };
            let call = match (request, send, geocode) {
                (Some(request), _, _) => Call::Webhook { request, url },
                (_, Some(message), _) => Call::Send(message),
                (_, _, Some(address)) => Call::Geocode(address),
                _ if poll => Call::Poll(cursor),
                _ => bail!("say which export to run: --request, --send, --poll or --geocode"),
            };
            let outcome = test(&file, call, now, settings, &normalizer).await;
            if let Some(recordings) = recordings {
                for sent in recordings.requests() {
                    let (method, url, size) = (sent.method, sent.url, sent.body_size);
                    match sent.answered_by {
                        Some(file) => {
                            eprintln!("outbound: {method} {url} ({size} bytes) answered by {file}")
                        }
                        None => eprintln!(
                            "outbound: {method} {url} ({size} bytes): no recorded response answers it"
                        ),
                    }
                }
            }
            outcome
        }
    }
}

/// Sends every recorded request in `dir` to the running server over real HTTP, then prints the
/// customers the store now holds, with their channels and timelines.
async fn replay_demo(server: &switchboard::server::Server, dir: &Path) -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("failed to read the demo folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "http"))
        .collect();
    files.sort();
    let base = format!("http://{}", server.address);
    println!("\nreplaying {} recorded provider request(s) from {}:", files.len(), dir.display());
    for file in &files {
        let recorded = Recorded::parse(&std::fs::read(file)?)
            .with_context(|| format!("{} is not a recorded request", file.display()))?;
        let path = match recorded.target.split_once("://") {
            Some((_, rest)) => {
                rest.find('/').map(|i| rest[i..].to_string()).unwrap_or_else(|| "/".into())
            }
            None => recorded.target.clone(),
        };
        let headers = recorded.forwardable_headers();
        let answer =
            switchboard::client::send(&base, &recorded.method, &path, &headers, &recorded.body)
                .await?;
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        println!("  {name}: {} {path} -> {}", recorded.method, answer.status);
    }
    let store = &server.state.store;
    let customers = store
        .find_customers(&switchboard::store::CustomerQuery { limit: 20, ..Default::default() })
        .await?;
    println!("\n{} customer(s) in the store:", customers.len());
    for customer in customers {
        let profile = store.profile(customer.id).await?;
        let timeline = store.timeline(customer.id, None, 200).await?;
        println!(
            "  #{} {} | emails {:?} | phones {:?} | channels {:?} | {} timeline entries",
            customer.id,
            customer.display_name.as_deref().unwrap_or("(no name)"),
            customer.emails,
            customer.phones,
            profile.channels,
            timeline.entries.len()
        );
    }
    println!(
        "\nthe console is at {base}/ (the logins are printed above); the API at {base}/api (token: \
         $SWITCHBOARD_ADMIN_TOKEN), its OpenAPI document at {base}/api/openapi.json"
    );
    Ok(())
}

/// Calls the admin API and prints its JSON answer; exits 1 on an error answer.
async fn admin(remote: &Remote, method: &str, path: &str) -> anyhow::Result<ExitCode> {
    let answer =
        switchboard::client::request(&remote.server, method, path, remote.token.as_deref(), None)
            .await?;
    let text = String::from_utf8_lossy(&answer.body);
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => println!("{}", serde_json::to_string_pretty(&json)?),
        Err(_) => println!("{text}"),
    }
    if answer.status == 401 {
        eprintln!("hint: pass an admin token with --token or SWITCHBOARD_ADMIN_TOKEN");
    }
    Ok(if (200..300).contains(&answer.status) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// A store URL without its password.
fn redact_url(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) if rest.contains('@') => {
            let (credentials, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

fn cli_runtime() -> anyhow::Result<Runtime> {
    let config = RuntimeConfig {
        cache_dir: switchboard::runtime::default_cache_dir(),
        // One call at a time: a small pool reserves little address space.
        max_concurrent_calls: 4,
        ..RuntimeConfig::default()
    };
    Runtime::new(config, Arc::new(MemoryKv::new())).context("failed to start the plugin runtime")
}

async fn load(file: &Path, settings: ConnectorSettings) -> anyhow::Result<LoadedConnector> {
    let runtime = cli_runtime()?;
    runtime
        .load_file(file, settings)
        .await
        .with_context(|| format!("{} was refused", file.display()))
}

async fn inspect(file: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    use switchboard::runtime::ImportStatus;
    let bytes =
        std::fs::read(file).with_context(|| format!("failed to read {}", file.display()))?;
    let runtime = cli_runtime()?;
    let interface = runtime
        .interface(&bytes)
        .await
        .with_context(|| format!("{} is not a component", file.display()))?;
    let refused: Vec<&str> = interface
        .imports
        .iter()
        .filter(|(_, status)| *status == ImportStatus::Refused)
        .map(|(name, _)| name.as_str())
        .collect();
    let loaded = runtime.load(&bytes, ConnectorSettings::default()).await;
    let status_text = |status: &ImportStatus| match status {
        ImportStatus::Provided => "provided".to_string(),
        ImportStatus::Inert(why) => format!("provided, but {why}"),
        ImportStatus::Refused => "REFUSED: the host does not provide it".to_string(),
    };
    if as_json {
        let imports: Vec<_> = interface
            .imports
            .iter()
            .map(|(name, status)| json!({"name": name, "status": status_text(status)}))
            .collect();
        let mut report = json!({
            "file": file.display().to_string(),
            "size_bytes": bytes.len(),
            "imports": imports,
            "exports": interface.exports,
        });
        match &loaded {
            Ok(connector) => {
                report["sha256"] = json!(connector.sha256());
                report["world"] =
                    json!(format!("switchboard:connector/plugin@{}", connector.wit_version()));
                report["wit_version"] = json!(connector.wit_version());
                report["manifest"] = serde_json::to_value(connector.manifest())?;
            }
            Err(error) => report["refused"] = json!(error.to_string()),
        }
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("file:          {}", file.display());
        println!("size:          {} bytes", bytes.len());
        if let Ok(connector) = &loaded {
            let manifest = connector.manifest();
            println!("sha256:        {}", connector.sha256());
            println!("world:         switchboard:connector/plugin@{}", connector.wit_version());
            println!("wit version:   {}", connector.wit_version());
            println!("id:            {}", manifest.id);
            println!("version:       {}", manifest.version);
            println!("display name:  {}", manifest.display_name);
            println!("channels:      {}", manifest.channels.join(", "));
            println!("capabilities:  {}", manifest.capabilities.names().join(", "));
        }
        println!("imports:");
        for (name, status) in &interface.imports {
            println!("  {name}  ({})", status_text(status));
        }
        println!("exports:");
        for name in &interface.exports {
            println!("  {name}");
        }
    }
    for name in &refused {
        eprintln!(
            "warning: {name} is not provided by the Switchboard host: the component will not load"
        );
    }
    match loaded {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(error) => {
            eprintln!("error: {} was refused: {error}", file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What the store would do with each identifier of the events (on standard error, so the
/// JSON on standard output stays the connector's outcome): the ones that link, and the ones
/// kept but never used to match, with why.
fn identifier_report(normalizer: &Normalizer, events: &[switchboard::model::Event]) -> String {
    use std::fmt::Write;
    let mut report = String::new();
    for (n, event) in events.iter().enumerate() {
        let Some(contact) = event.contact() else { continue };
        let _ = writeln!(report, "event {} ({}): identifiers", n + 1, event.provider_id());
        for point in &contact.identifiers {
            let c = normalizer.classify(&point.identifier);
            let what = match c.status {
                "usable" => "links records".to_string(),
                "shared" => format!(
                    "shared, {}: recorded and may be used to reach them, never links customers",
                    c.reason.unwrap_or_default()
                ),
                status => format!(
                    "{status}, {}: kept on the profile, never used to match",
                    c.reason.unwrap_or_default()
                ),
            };
            let _ = writeln!(report, "  {} {:?} → {} ({what})", c.kind.as_str(), c.raw, c.value);
        }
    }
    report
}

/// Which export `plugin test` runs, with its input.
enum Call {
    Webhook { request: PathBuf, url: Option<String> },
    Send(PathBuf),
    Poll(Option<String>),
    Geocode(String),
}

fn read_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text).with_context(|| format!("{what} is not the expected JSON"))
}

async fn test(
    file: &Path,
    call: Call,
    now: Option<i64>,
    settings: ConnectorSettings,
    normalizer: &Normalizer,
) -> anyhow::Result<ExitCode> {
    let connector = load(file, settings).await?;
    let answered = match call {
        Call::Webhook { request, url } => {
            let bytes = std::fs::read(&request)
                .with_context(|| format!("failed to read {}", request.display()))?;
            let recorded = Recorded::parse(&bytes)
                .with_context(|| format!("{} is not a recorded request", request.display()))?;
            let mut request = recorded.to_request(connector.id(), url.as_deref())?;
            if let Some(now) = now {
                request.received_at = now;
            }
            connector.handle_webhook(request).await.map(|outcome| {
                eprint!("{}", identifier_report(normalizer, &outcome.events));
                serde_json::to_value(&outcome)
            })
        }
        Call::Send(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            let message: switchboard::model::OutboundMessage =
                read_json(&path.display().to_string(), &text)?;
            connector.send(message).await.map(|receipt| serde_json::to_value(&receipt))
        }
        Call::Poll(cursor) => connector.poll(cursor).await.map(|outcome| {
            eprint!("{}", identifier_report(normalizer, &outcome.events));
            serde_json::to_value(&outcome)
        }),
        Call::Geocode(address) => {
            let text = if address.trim_start().starts_with('{') {
                address
            } else {
                std::fs::read_to_string(&address).with_context(|| {
                    format!("--geocode takes an address as JSON, or a file of it; cannot read `{address}`")
                })?
            };
            let address: switchboard::model::Address = read_json("the address", &text)?;
            connector.geocode(address).await.map(|point| serde_json::to_value(&point))
        }
    };
    match answered {
        Ok(value) => {
            println!("{}", serde_json::to_string_pretty(&value?)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(CallError::Connector { error, .. }) => {
            let status = error.http_status();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({ "status": status, "error": error }))?
            );
            Ok(ExitCode::FAILURE)
        }
        Err(failure) => bail!("{failure}"),
    }
}
