//! Who is calling: users with passwords (argon2id), their console sessions (a cookie plus a
//! CSRF token for every change) and personal API tokens, and the config's machine tokens; what
//! each may do; and login rate limits shared by every host through the store.

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::store::{Store, StoreError, User, UserRole, now_millis};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "switchboard_session";
/// The header a state-changing request made with the session cookie must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Shortest password accepted: long enough that the rate limit makes guessing hopeless.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted: argon2 hashes anything, but a megabyte of "password" is abuse.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What a caller may reach. Ordered: each level reaches what the ones before it reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// A machine token with role `read`: may GET what agents and supervisors read.
    Read,
    /// Works conversations, reads customers.
    Agent,
    /// Also assigns others, edits teams and routing, sees reports, merges customers.
    Supervisor,
    /// Everything: connectors, dead letters, users, tokens.
    Admin,
}

impl From<UserRole> for Access {
    fn from(role: UserRole) -> Self {
        match role {
            UserRole::Agent => Access::Agent,
            UserRole::Supervisor => Access::Supervisor,
            UserRole::Admin => Access::Admin,
        }
    }
}

/// The caller of a request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A user, through the console's session or a personal token.
    User {
        /// Who.
        user: User,
        /// The session's CSRF token, when the request came with the session cookie.
        session: Option<SessionAuth>,
    },
    /// A token from the config's `[[api_token]]`.
    Machine {
        /// What it may reach.
        access: Access,
    },
}

/// How a request proved a session.
#[derive(Debug, Clone)]
pub struct SessionAuth {
    /// The hash of the cookie's token (to log out).
    pub token_hash: String,
    /// The CSRF token of the session.
    pub csrf_token: String,
}

impl Principal {
    /// What it may reach.
    pub fn access(&self) -> Access {
        match self {
            Principal::User { user, .. } => user.role.into(),
            Principal::Machine { access } => *access,
        }
    }

    /// The user, if it is one.
    pub fn user(&self) -> Option<&User> {
        match self {
            Principal::User { user, .. } => Some(user),
            Principal::Machine { .. } => None,
        }
    }

    /// The user's id, if it is one.
    pub fn user_id(&self) -> Option<i64> {
        self.user().map(|u| u.id)
    }

    /// Who did something, for logs and idempotency keys: `user:7` or `machine`.
    pub fn key(&self) -> String {
        match self.user_id() {
            Some(id) => format!("user:{id}"),
            None => "machine".into(),
        }
    }
}

/// Why a caller was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or unknown ones.
    #[error("{0}")]
    Unauthenticated(String),
    /// Known, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed logins; try again after this long.
    #[error("too many failed logins; try again in {} s", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    /// A password breaks the rules.
    #[error("{0}")]
    BadPassword(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The settings of logins and sessions.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// A session ends after this long without use.
    pub session_idle: Duration,
    /// A session ends this long after login, used or not.
    pub session_max: Duration,
    /// Failed logins for one e-mail address within `lockout_window` before refusing.
    pub max_failures_per_email: i64,
    /// Failed logins from one client address within `lockout_window` before refusing.
    pub max_failures_per_client: i64,
    /// The window failed logins are counted over.
    pub lockout_window: Duration,
    /// Cookies are `Secure` (the console is served over HTTPS).
    pub secure_cookies: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            // A working day of idle time; a week at most, so a stolen laptop's session ends.
            session_idle: Duration::from_secs(12 * 3600),
            session_max: Duration::from_secs(7 * 24 * 3600),
            // Five guesses per account, twenty per address, per quarter of an hour: a person who
            // mistypes is not locked out, a guesser gets nowhere.
            max_failures_per_email: 5,
            max_failures_per_client: 20,
            lockout_window: Duration::from_secs(15 * 60),
            secure_cookies: false,
        }
    }
}

/// A new random secret: 32 bytes, URL-safe base64, behind a prefix naming what it is
/// (`sbs_` a session, `sbt_` an API token, `sbc_` a CSRF token).
pub fn new_secret(prefix: &str) -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The hash under which a session or token is stored: SHA-256, hex. (The secrets are random
/// and long, so a fast hash is enough; a password is different, see [`hash_password`].)
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether two secrets are equal, in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter().zip(y.iter()).fold(0u8, |acc, (p, q)| acc | (p ^ q)) == 0
}

/// A user's e-mail address, normalized (lower case, IDNA domain); the message names what is
/// wrong otherwise.
pub fn checked_email(email: &str) -> Result<String, String> {
    if email.len() > 320 {
        return Err("the e-mail address is longer than 320 bytes".into());
    }
    crate::identity::email(email).ok_or_else(|| format!("`{email}` is not an e-mail address"))
}

/// Checks the password rules.
pub fn check_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::BadPassword(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::BadPassword(format!(
            "the password must be at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The argon2id PHC string of `password` (the argon2 crate's defaults, OWASP's minimum: 19 MiB,
/// two passes, one lane; a random salt).
/// Takes tens of milliseconds of CPU: call it off the async workers.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    check_password(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random source failed");
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| AuthError::BadPassword(format!("cannot salt the password: {e}")))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AuthError::BadPassword(format!("cannot hash the password: {e}")))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
}

/// A hash no password matches, verified when the e-mail is unknown so that a login for a
/// missing user takes as long as one for a real user.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&new_secret("decoy-")).unwrap_or_default())
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    /// The user.
    pub user: User,
    /// The session cookie's value.
    pub session_token: String,
    /// The CSRF token to send with changes.
    pub csrf_token: String,
    /// When the session ends at the latest (ms).
    pub expires_at: i64,
}

/// Logins, sessions, tokens.
#[derive(Clone)]
pub struct Auth {
    store: Store,
    settings: AuthSettings,
    machine_tokens: std::sync::Arc<Vec<(Secret, Access)>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Auth {
    /// Logins against `store`; `machine_tokens` are the config's `[[api_token]]`s.
    pub fn new(
        store: Store,
        settings: AuthSettings,
        machine_tokens: Vec<(Secret, Access)>,
    ) -> Self {
        Auth { store, settings, machine_tokens: std::sync::Arc::new(machine_tokens) }
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Checks a password login and opens a session. Too many failures for the e-mail or from
    /// the client address refuse it before the password is even looked at.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: &str,
    ) -> Result<Login, AuthError> {
        let email = email.trim().to_lowercase();
        let now = now_millis();
        let window = self.settings.lockout_window.as_millis() as i64;
        let (by_email, by_client) = (format!("email:{email}"), format!("client:{client}"));
        let failures = (
            self.store.login_failures(&by_email, now - window).await?,
            self.store.login_failures(&by_client, now - window).await?,
        );
        if failures.0 >= self.settings.max_failures_per_email
            || failures.1 >= self.settings.max_failures_per_client
        {
            tracing::warn!(%client, "login refused: too many failed attempts");
            return Err(AuthError::TooManyAttempts(self.settings.lockout_window));
        }
        let found = self.store.user_by_email(&email).await?;
        let hash = found
            .as_ref()
            .and_then(|(_, hash)| hash.clone())
            .unwrap_or_else(|| decoy_hash().to_string());
        let attempt = password.to_string();
        let matches = tokio::task::spawn_blocking(move || verify_password(&attempt, &hash))
            .await
            .unwrap_or(false);
        let user = match found {
            Some((user, Some(_))) if matches => user,
            _ => {
                self.store.record_login_failure(&[by_email, by_client], now - window).await?;
                tracing::info!(%client, "login failed");
                return Err(AuthError::Unauthenticated("wrong e-mail address or password".into()));
            }
        };
        if !user.active {
            return Err(AuthError::Forbidden("this account is disabled".into()));
        }
        let session_token = new_secret("sbs_");
        let csrf_token = new_secret("sbc_");
        let expires_at =
            now + self.settings.session_idle.min(self.settings.session_max).as_millis() as i64;
        self.store
            .open_session(user.id, &secret_hash(&session_token), &csrf_token, expires_at)
            .await?;
        tracing::info!(user = user.id, "logged in");
        Ok(Login { user, session_token, csrf_token, expires_at })
    }

    /// The user of a live session cookie; extends its idle expiry (at most once a minute, and
    /// never past `session_max` after login).
    pub async fn session(&self, token: &str) -> Result<Option<(User, SessionAuth)>, AuthError> {
        let hash = secret_hash(token);
        let Some(session) = self.store.session(&hash).await? else { return Ok(None) };
        let now = now_millis();
        if session.expires_at <= now || !session.user.active {
            return Ok(None);
        }
        if now - session.last_seen_at > 60_000 {
            let idle = now + self.settings.session_idle.as_millis() as i64;
            let end = session.created_at + self.settings.session_max.as_millis() as i64;
            self.store.touch_session(&hash, idle.min(end)).await?;
        }
        Ok(Some((session.user, SessionAuth { token_hash: hash, csrf_token: session.csrf_token })))
    }

    /// The caller a bearer token stands for: a config token, or a user's personal token.
    pub async fn bearer(&self, token: &str) -> Result<Option<Principal>, AuthError> {
        if let Some((_, access)) =
            self.machine_tokens.iter().find(|(secret, _)| secrets_equal(secret.expose(), token))
        {
            return Ok(Some(Principal::Machine { access: *access }));
        }
        if !token.starts_with("sbt_") {
            return Ok(None);
        }
        match self.store.token_user(&secret_hash(token)).await? {
            Some(user) if user.active => Ok(Some(Principal::User { user, session: None })),
            _ => Ok(None),
        }
    }

    /// Ends a session.
    pub async fn logout(&self, session: &SessionAuth) -> Result<(), AuthError> {
        self.store.close_session(&session.token_hash).await?;
        Ok(())
    }

    /// A new personal token for `user`; the token itself is returned once and never stored.
    pub async fn issue_token(
        &self,
        user: i64,
        name: &str,
    ) -> Result<(crate::store::ApiToken, String), AuthError> {
        let token = new_secret("sbt_");
        let prefix: String = token.chars().take(10).collect();
        let stored = self.store.add_token(user, name, &secret_hash(&token), &prefix).await?;
        Ok((stored, token))
    }
}

/// Hashes a password on a blocking thread.
pub async fn hash_password_async(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AuthError::BadPassword(format!("cannot hash the password: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(matches!(hash_password("short"), Err(AuthError::BadPassword(_))));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let (a, b) = (new_secret("sbt_"), new_secret("sbt_"));
        assert_ne!(a, b);
        assert!(a.starts_with("sbt_") && a.len() > 40);
        assert_eq!(secret_hash(&a).len(), 64);
        assert!(secrets_equal(&a, &a.clone()));
        assert!(!secrets_equal(&a, &b));
    }

    #[test]
    fn access_levels_are_ordered() {
        assert!(Access::Read < Access::Agent && Access::Agent < Access::Supervisor);
        assert!(Access::Supervisor < Access::Admin);
        assert_eq!(Access::from(UserRole::Supervisor), Access::Supervisor);
    }
}
