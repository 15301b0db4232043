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
    Plugin(PluginCommand),
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
    /// Checks a component and prints its manifest, WIT version, imports and size.
    Inspect {
        /// The component (`.wasm`).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Runs the connector's `handle-webhook` on a recorded request and prints the response
    /// and the normalized events as JSON. Exits 1 if the connector refused the request.
    Test {
        /// The component (`.wasm`).
        file: PathBuf,
        /// The recorded request: request line, headers, blank line, body.
        #[arg(long, short = 'r')]
        request: PathBuf,
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
        Command::Plugin(PluginCommand::Inspect { file, json }) => inspect(&file, json).await,
        Command::Plugin(PluginCommand::Test {
            file,
            request,
            config,
            allow_hosts,
            url,
            id,
            deadline_ms,
            region,
        }) => {
            let normalizer = Normalizer::new(region.as_deref(), &[])?;
            let settings = ConnectorSettings {
                id,
                config: config.into_iter().collect::<BTreeMap<_, _>>(),
                allowed_hosts: allow_hosts,
                limits: Limits {
                    deadline: std::time::Duration::from_millis(deadline_ms),
                    ..Limits::default()
                },
                ..ConnectorSettings::default()
            };
            test(&file, &request, url.as_deref(), settings, &normalizer).await
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
        cache_dir: default_cache_dir(),
        // One call at a time: a small pool reserves little address space.
        max_concurrent_calls: 4,
        ..RuntimeConfig::default()
    };
    Runtime::new(config, Arc::new(MemoryKv::new())).context("failed to start the plugin runtime")
}

/// `$SWITCHBOARD_CACHE_DIR`, else `$XDG_CACHE_HOME/switchboard/components`, else
/// `~/.cache/switchboard/components`.
fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("switchboard").join("components"))
}

async fn load(file: &Path, settings: ConnectorSettings) -> anyhow::Result<LoadedConnector> {
    let runtime = cli_runtime()?;
    runtime
        .load_file(file, settings)
        .await
        .with_context(|| format!("{} was refused", file.display()))
}

async fn inspect(file: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let connector = load(file, ConnectorSettings::default()).await?;
    let manifest = connector.manifest();
    let world = format!("switchboard:connector/plugin@{}", connector.wit_version());
    if as_json {
        let report = json!({
            "file": file.display().to_string(),
            "size_bytes": connector.size_bytes(),
            "sha256": connector.sha256(),
            "world": world,
            "wit_version": connector.wit_version(),
            "manifest": manifest,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("file:          {}", file.display());
        println!("size:          {} bytes", connector.size_bytes());
        println!("sha256:        {}", connector.sha256());
        println!("world:         {world}");
        println!("wit version:   {}", connector.wit_version());
        println!("id:            {}", manifest.id);
        println!("version:       {}", manifest.version);
        println!("display name:  {}", manifest.display_name);
        println!("channels:      {}", manifest.channels.join(", "));
        println!("capabilities:  {}", manifest.capabilities.names().join(", "));
    }
    Ok(ExitCode::SUCCESS)
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

async fn test(
    file: &Path,
    request_file: &Path,
    url: Option<&str>,
    settings: ConnectorSettings,
    normalizer: &Normalizer,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(request_file)
        .with_context(|| format!("failed to read {}", request_file.display()))?;
    let recorded = Recorded::parse(&bytes)
        .with_context(|| format!("{} is not a recorded request", request_file.display()))?;
    let connector = load(file, settings).await?;
    let request = recorded.to_request(connector.id(), url)?;
    match connector.handle_webhook(request).await {
        Ok(outcome) => {
            println!("{}", serde_json::to_string_pretty(&outcome)?);
            eprint!("{}", identifier_report(normalizer, &outcome.events));
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
