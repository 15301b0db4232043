//! `switchboard users`: the people who log in, managed on the store directly (so the first
//! admin can be created before any server or token exists).

use std::io::{BufRead as _, IsTerminal as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use switchboard::store::{Store, User, UserChange, UserRole};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Adds a user. Without `--password-stdin` a random password is generated and printed once.
    Add {
        /// E-mail address: how the user logs in.
        #[arg(long)]
        email: String,
        /// Name shown to colleagues.
        #[arg(long)]
        name: String,
        /// `agent`, `supervisor` or `admin`.
        #[arg(long, default_value = "agent", value_parser = parse_role)]
        role: UserRole,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists users: id, e-mail, name, role, state.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disables a user: their sessions end and their tokens stop working.
    Disable {
        /// E-mail address.
        email: String,
    },
    /// Enables a disabled user again.
    Enable {
        /// E-mail address.
        email: String,
    },
    /// Sets a new password (ending the user's sessions). Without `--password-stdin` a random
    /// one is generated and printed once.
    ResetPassword {
        /// E-mail address.
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn parse_role(value: &str) -> Result<UserRole, String> {
    UserRole::parse(value)
        .ok_or_else(|| format!("`{value}` is not a role: agent, supervisor or admin"))
}

/// Runs a `users` command on the store of `config`.
pub async fn run(config: PathBuf, command: UsersCommand) -> anyhow::Result<ExitCode> {
    let config = switchboard::config::load(&config, &switchboard::server::env_lookup)?;
    let store =
        switchboard::server::open_store(&config).await.context("failed to open the store")?;
    let outcome = command_on(&store, command).await;
    store.close().await;
    outcome
}

async fn command_on(store: &Store, command: UsersCommand) -> anyhow::Result<ExitCode> {
    match command {
        UsersCommand::Add { email, name, role, password_stdin } => {
            let email = switchboard::auth::checked_email(&email).map_err(anyhow::Error::msg)?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
                bail!("--name must be 1 to 200 characters without control characters");
            }
            let (password, generated) = password(password_stdin)?;
            let hash = switchboard::auth::hash_password_async(password.clone()).await?;
            let user = store.add_user(&email, name, role, Some(hash)).await?;
            println!(
                "added {} <{}> as {} (id {})",
                user.name,
                user.email,
                user.role.as_str(),
                user.id
            );
            if generated {
                println!("password: {password}");
            }
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::List { json } => {
            let users = store.users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else if users.is_empty() {
                println!(
                    "no users yet: add one with `switchboard users add --email … --name … --role admin`"
                );
            } else {
                println!("{:>4}  {:<32} {:<24} {:<10} STATE", "ID", "E-MAIL", "NAME", "ROLE");
                for user in &users {
                    println!(
                        "{:>4}  {:<32} {:<24} {:<10} {}",
                        user.id,
                        user.email,
                        user.name,
                        user.role.as_str(),
                        state(user)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::Disable { email } => set_active(store, &email, false).await,
        UsersCommand::Enable { email } => set_active(store, &email, true).await,
        UsersCommand::ResetPassword { email, password_stdin } => {
            let user = find(store, &email).await?;
            let (password, generated) = password(password_stdin)?;
            let hash = switchboard::auth::hash_password_async(password.clone()).await?;
            let change = UserChange { password_hash: Some(Some(hash)), ..UserChange::default() };
            store.change_user(user.id, change).await?;
            println!("new password set for {}; their sessions ended", user.email);
            if generated {
                println!("password: {password}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn state(user: &User) -> &'static str {
    match (user.active, user.away, user.has_password) {
        (false, ..) => "disabled",
        (true, _, false) => "no password",
        (true, true, true) => "away",
        (true, false, true) => "active",
    }
}

async fn find(store: &Store, email: &str) -> anyhow::Result<User> {
    match store.user_by_email(email).await? {
        Some((user, _)) => Ok(user),
        None => bail!("no user has the e-mail address `{}`", email.trim()),
    }
}

async fn set_active(store: &Store, email: &str, active: bool) -> anyhow::Result<ExitCode> {
    let user = find(store, email).await?;
    store
        .change_user(user.id, UserChange { active: Some(active), ..UserChange::default() })
        .await?;
    if active {
        println!("enabled {}", user.email);
    } else {
        println!("disabled {}: their sessions ended and their tokens stopped working", user.email);
    }
    Ok(ExitCode::SUCCESS)
}

/// The password to set: the first line of stdin, or a new random one (then `true`).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        // 18 random bytes: 24 URL-safe characters.
        let secret = switchboard::auth::new_secret("");
        return Ok((secret[..24].to_string(), true));
    }
    if std::io::stdin().is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("failed to read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    switchboard::auth::check_password(&password)?;
    Ok((password, false))
}
