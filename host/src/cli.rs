//! Command-line parsing and the `plugin` tools connector authors use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use serde_json::json;
use switchboard::model::Capabilities;
use switchboard::recorded::Recorded;
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
    /// Inspect and try connector components.
    #[command(subcommand)]
    Plugin(PluginCommand),
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
    },
}

fn parse_key_value(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().into(), value.into())),
        _ => Err(format!("`{value}` is not key=value")),
    }
}

/// Logs go to stderr so that stdout carries only the command's output.
pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,wasmtime=warn,cranelift=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs the parsed command.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Plugin(PluginCommand::Inspect { file, json }) => inspect(&file, json).await,
        Command::Plugin(PluginCommand::Test {
            file,
            request,
            config,
            allow_hosts,
            url,
            id,
            deadline_ms,
        }) => {
            let settings = ConnectorSettings {
                id,
                config: config.into_iter().collect::<BTreeMap<_, _>>(),
                allowed_hosts: allow_hosts,
                limits: Limits {
                    deadline: std::time::Duration::from_millis(deadline_ms),
                    ..Limits::default()
                },
            };
            test(&file, &request, url.as_deref(), settings).await
        }
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
        println!("capabilities:  {}", capability_names(manifest.capabilities).join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

fn capability_names(caps: Capabilities) -> Vec<&'static str> {
    [(caps.webhook, "webhook"), (caps.poll, "poll"), (caps.send, "send")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
}

async fn test(
    file: &Path,
    request_file: &Path,
    url: Option<&str>,
    settings: ConnectorSettings,
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
