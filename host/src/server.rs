//! `switchboard serve`: the store, the runtime, the connectors, the HTTP server, the poller and
//! the file watcher, wired together, with graceful shutdown.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::Watcher;

use crate::auth::{Access, Auth, AuthSettings};
use crate::config::{self, Config, Role};
use crate::desk::Desk;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::runtime::{Runtime, RuntimeConfig};
use crate::store::{RoutingRule, UserRole};
use crate::store::{Store, StoreConfig};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The config file is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The store could not be opened.
    #[error("failed to open the store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The runtime could not start.
    #[error("failed to start the plugin runtime: {0}")]
    Runtime(#[from] crate::runtime::LoadError),
    /// The first admin could not be created.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// The address could not be bound.
    #[error("failed to listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A running server.
pub struct Server {
    /// The address it listens on (useful with port 0).
    pub address: SocketAddr,
    /// Shared state (store, registry, metrics).
    pub state: AppState,
    shutdown: Arc<tokio::sync::watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Stops accepting, finishes requests in flight, stops the poller, closes the store.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops (after a signal).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// The environment, for `${NAME}` references in the config.
pub fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Where bundled connectors are: `[runtime] plugins_dir`, else `$SWITCHBOARD_PLUGINS_DIR`, else
/// `plugins/` beside the binary, else the folder this build put them in.
pub fn plugins_dir(config: &Config) -> Option<PathBuf> {
    if let Some(dir) = &config.runtime.plugins_dir {
        return Some(dir.clone());
    }
    if let Some(dir) = std::env::var_os("SWITCHBOARD_PLUGINS_DIR") {
        return Some(PathBuf::from(dir));
    }
    let beside =
        std::env::current_exe().ok().and_then(|exe| exe.parent().map(|d| d.join("plugins")));
    if let Some(dir) = beside.filter(|d| d.is_dir()) {
        return Some(dir);
    }
    option_env!("SWITCHBOARD_BUNDLED_PLUGINS_DIR").map(PathBuf::from)
}

/// Opens the store a config names.
pub async fn open_store(config: &Config) -> Result<Store, crate::store::StoreError> {
    Store::open(&StoreConfig {
        url: config.store_url.expose().to_string(),
        default_region: config.identity.default_region.clone(),
        blocked: config.identity.blocked.clone(),
        role_addresses: config.identity.role_addresses.clone(),
        more_role_addresses: config.identity.more_role_addresses.clone(),
        limits: config.identity.limits,
        writers: config.store.writers,
        max_batch: config.store.max_batch,
        desk: config.desk.clone(),
        ..StoreConfig::default()
    })
    .await
}

/// Deletes dead letters older than `retention`, at start and every hour.
async fn purge_dead_letters(
    store: Store,
    retention: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(Duration::from_secs(3600));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.changed() => return,
        }
        let before = crate::store::now_millis() - retention.as_millis() as i64;
        match store.purge_dead_letters(before).await {
            Ok(0) => {}
            Ok(deleted) => {
                tracing::info!(deleted, ?retention, "deleted dead letters past their retention")
            }
            Err(error) => {
                tracing::warn!(%error, "deleting old dead letters failed; trying again in an hour")
            }
        }
    }
}

/// The login and session settings a config gives.
pub fn auth_settings(config: &Config) -> AuthSettings {
    AuthSettings {
        session_idle: config.auth.session_idle,
        session_max: config.auth.session_max,
        max_failures_per_email: config.auth.max_failures_per_email,
        max_failures_per_client: config.auth.max_failures_per_client,
        lockout_window: config.auth.lockout_window,
        // Browsers send a Secure cookie only over HTTPS: set it when the console is served so.
        secure_cookies: config
            .server
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
    }
}

/// The config's machine tokens with what each may reach.
pub fn machine_tokens(config: &Config) -> Vec<(crate::config::Secret, Access)> {
    config
        .api_tokens
        .iter()
        .map(|(token, role)| {
            let access = match role {
                Role::Read => Access::Read,
                Role::Admin => Access::Admin,
            };
            (token.clone(), access)
        })
        .collect()
}

/// On a store with no user yet, creates the first admin from `SWITCHBOARD_ADMIN_EMAIL` and
/// `SWITCHBOARD_ADMIN_PASSWORD` when both are set. Answers whether it did.
pub async fn bootstrap_admin(
    store: &Store,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<bool, BootstrapError> {
    let (Some(email), Some(password)) =
        (env("SWITCHBOARD_ADMIN_EMAIL"), env("SWITCHBOARD_ADMIN_PASSWORD"))
    else {
        return Ok(false);
    };
    if store.user_count().await? > 0 {
        return Ok(false);
    }
    let email = crate::auth::checked_email(&email).map_err(BootstrapError::Invalid)?;
    crate::auth::check_password(&password).map_err(|e| BootstrapError::Invalid(e.to_string()))?;
    let hash = crate::auth::hash_password_async(password)
        .await
        .map_err(|e| BootstrapError::Invalid(e.to_string()))?;
    store.add_user(&email, "Administrator", UserRole::Admin, Some(hash)).await?;
    tracing::info!(%email, "created the first admin from SWITCHBOARD_ADMIN_EMAIL");
    Ok(true)
}

/// Why the first admin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The e-mail address or the password breaks the rules.
    #[error("SWITCHBOARD_ADMIN_EMAIL / SWITCHBOARD_ADMIN_PASSWORD: {0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Applies the config's `[[team]]`s and `[[routing]]` rules: teams are created when missing
/// and given the members the file lists; rules from the file replace the stored ones of their
/// scope, and rules the file set before but no longer lists are removed (rules set through
/// the API stay). Problems (a member who is not a user) are answered, not fatal.
pub async fn apply_people(
    store: &Store,
    config: &Config,
) -> Result<Vec<String>, crate::store::StoreError> {
    let mut problems = Vec::new();
    let users = store.users().await?;
    let id_of = |email: &str| users.iter().find(|u| u.email == email).map(|u| u.id);
    for team in &config.teams {
        let members = team.members.as_ref().map(|emails| {
            emails
                .iter()
                .filter_map(|email| {
                    let id = id_of(email);
                    if id.is_none() {
                        problems.push(format!("[[team]] {}: member {email} is not a user; add it with `switchboard users add`", team.name));
                    }
                    id
                })
                .collect::<Vec<_>>()
        });
        store.put_team(&team.name, members).await?;
    }
    let teams = store.teams().await?;
    for rule in &config.routing {
        let team_id = rule
            .team
            .as_ref()
            .and_then(|name| teams.iter().find(|t| &t.name == name))
            .map(|t| t.id);
        let user_id = match &rule.agent {
            Some(email) => match id_of(email) {
                Some(id) => Some(id),
                None => {
                    problems
                        .push(format!("[[routing]] {}: agent {email} is not a user", rule.scope));
                    None
                }
            },
            None => None,
        };
        if team_id.is_none() && user_id.is_none() {
            continue;
        }
        store
            .put_routing_rule(RoutingRule {
                scope: rule.scope.clone(),
                team_id,
                user_id,
                policy: rule.policy,
                capacity: rule.capacity,
                source: "config".into(),
            })
            .await?;
    }
    for stored in store.routing_rules().await? {
        if stored.source == "config" && !config.routing.iter().any(|r| r.scope == stored.scope) {
            store.delete_routing_rule(&stored.scope).await?;
        }
    }
    Ok(problems)
}

/// Starts everything `config` describes; `watch` enables hot reload on file changes.
pub async fn start(config: Config, watch: bool) -> Result<Server, ServeError> {
    let store = open_store(&config).await?;
    let runtime = Runtime::new(
        RuntimeConfig {
            cache_dir: Some(config.runtime.cache_dir.clone()),
            max_concurrent_calls: config.runtime.max_concurrent_calls,
            ..RuntimeConfig::default()
        },
        Arc::new(store.clone()),
    )?;
    let registry = Arc::new(Registry::new(runtime, plugins_dir(&config)));
    for problem in registry.apply(&config.connectors).await {
        tracing::error!("{problem}");
    }
    bootstrap_admin(&store, &env_lookup).await?;
    for problem in apply_people(&store, &config).await? {
        tracing::warn!("{problem}");
    }
    if store.user_count().await? == 0 {
        tracing::warn!(
            "no user can log in yet: run `switchboard users add --role admin`, or start once with \
             SWITCHBOARD_ADMIN_EMAIL and SWITCHBOARD_ADMIN_PASSWORD set"
        );
    }
    let metrics = Arc::new(Metrics::default());
    let state = AppState {
        store: store.clone(),
        registry: registry.clone(),
        metrics: metrics.clone(),
        auth: Auth::new(store.clone(), auth_settings(&config), machine_tokens(&config)),
        desk: Desk::new(store.clone(), registry.clone(), metrics),
        public_url: config.server.public_url.clone(),
        geocoder: crate::geocoding::Geocoder::new(),
    };
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .map_err(|source| ServeError::Bind { address: config.server.listen.clone(), source })?;
    let address = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { address: config.server.listen.clone(), source })?;
    tracing::info!(%address, connectors = registry.all().len(), "switchboard listening");
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let shutdown = Arc::new(shutdown);
    let holder = crate::poller::holder_name();
    let poller =
        tokio::spawn(crate::poller::run(state.clone(), holder.clone(), shutdown_rx.clone()));
    let geocoding = state.geocoder.spawn(
        store.clone(),
        registry.clone(),
        state.metrics.clone(),
        config.geocoding.clone(),
        holder,
        shutdown_rx.clone(),
    );
    let timers =
        tokio::spawn(crate::router::timers::run(store.clone(), TIMER_TICK, shutdown_rx.clone()));
    let retention = tokio::spawn(purge_dead_letters(
        store.clone(),
        config.dead_letters.retention,
        shutdown_rx.clone(),
    ));
    let watcher =
        watch.then(|| spawn_watcher(config.path.clone(), registry.clone(), shutdown_rx.clone()));
    let app = http::app(state.clone(), config.server.body_limit)
        .into_make_service_with_connect_info::<SocketAddr>();
    let mut stop = shutdown_rx.clone();
    let notify = shutdown.clone();
    let task = tokio::spawn(async move {
        let signal = async move {
            tokio::select! {
                _ = stop.changed() => {}
                _ = termination() => tracing::info!("shutting down: finishing requests in flight"),
            }
            // Stop the poller and the watcher too, whichever way the shutdown came.
            let _ = notify.send(true);
        };
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(signal).await {
            tracing::error!(%error, "server error");
        }
        let _ = poller.await;
        let _ = geocoding.await;
        let _ = timers.await;
        let _ = retention.await;
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        store.close().await;
        tracing::info!("stopped");
    });
    Ok(Server { address, state, shutdown, task })
}

async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// How often snoozes and SLA due times are checked: a breach shows within this long.
const TIMER_TICK: Duration = Duration::from_secs(15);

/// How long file events are collected before acting: editors and `cp` write in several steps.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Reloads connectors when their plugin files change, and applies the config file when it
/// changes (new connectors start, removed ones stop, changed ones reload). The folders are
/// watched before this returns, so no change made after `start` is missed.
fn spawn_watcher(
    config_path: PathBuf,
    registry: Arc<Registry>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && (event.kind.is_create() || event.kind.is_modify())
        {
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(%error, "file watching unavailable: reload through the admin API");
            return tokio::spawn(async {});
        }
    };
    let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
    let mut watch_dirs =
        move |watcher: &mut notify::RecommendedWatcher, registry: &Registry, config: &Path| {
            let mut dirs: BTreeSet<PathBuf> =
                registry.plugin_files().into_iter().filter_map(|(_, p)| dir_of(&p)).collect();
            dirs.extend(dir_of(config));
            for dir in dirs {
                if watched.insert(dir.clone())
                    && let Err(error) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive)
                {
                    tracing::warn!(dir = %dir.display(), %error, "cannot watch folder");
                }
            }
        };
    watch_dirs(&mut watcher, &registry, &config_path);
    tokio::spawn(async move {
        loop {
            let first = tokio::select! {
                path = rx.recv() => match path { Some(path) => path, None => return },
                _ = shutdown.changed() => return,
            };
            tokio::time::sleep(DEBOUNCE).await;
            let mut changed = BTreeSet::from([first]);
            while let Ok(path) = rx.try_recv() {
                changed.insert(path);
            }
            let changed: BTreeSet<PathBuf> = changed.iter().map(|p| canonical(p)).collect();
            if changed.contains(&canonical(&config_path)) {
                match config::load(&config_path, &env_lookup) {
                    Ok(config) => {
                        tracing::info!(path = %config_path.display(), "config changed: applying");
                        for problem in registry.apply(&config.connectors).await {
                            tracing::error!("{problem}");
                        }
                        watch_dirs(&mut watcher, &registry, &config_path);
                    }
                    Err(error) => tracing::error!(
                        "config changed but is invalid, keeping the running one: {error}"
                    ),
                }
                continue;
            }
            for (id, plugin) in registry.plugin_files() {
                if changed.contains(&canonical(&plugin)) {
                    tracing::info!(connector = %id, path = %plugin.display(), "plugin file changed: reloading");
                    if let Err(error) = registry.reload(&id).await {
                        tracing::error!("{error}");
                    }
                }
            }
        }
    })
}

fn dir_of(path: &Path) -> Option<PathBuf> {
    let dir = path.parent()?;
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    Some(canonical(dir))
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
