//! The SQL of the people who work in Switchboard: users, their sessions and API tokens, failed
//! logins, teams, and the routing rules that make a team or an agent responsible for a channel.

use serde::Serialize;

use super::sql::{Conn, params};
use super::{Backend, Store, StoreError, Tx, now_millis, read_job, write_job};

/// What a user may do. Ordered: each role may do what the ones before it may.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Works conversations and reads customers.
    Agent,
    /// Also assigns others, edits teams and routing, sees reports, merges customers.
    Supervisor,
    /// Also manages connectors, dead letters, users and tokens.
    Admin,
}

impl UserRole {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Agent => "agent",
            UserRole::Supervisor => "supervisor",
            UserRole::Admin => "admin",
        }
    }

    /// Parses a name (`agent`, `supervisor`, `admin`).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "agent" => Some(UserRole::Agent),
            "supervisor" => Some(UserRole::Supervisor),
            "admin" => Some(UserRole::Admin),
            _ => None,
        }
    }
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Id.
    pub id: i64,
    /// E-mail address, lower-cased: how the user logs in.
    pub email: String,
    /// Name for people.
    pub name: String,
    /// What the user may do.
    pub role: UserRole,
    /// A disabled user cannot log in, and their tokens stop working.
    pub active: bool,
    /// Away: not assigned new conversations.
    pub away: bool,
    /// Open conversations this agent carries at most (`least-open` routing); none: the rule's.
    pub capacity: Option<i64>,
    /// Whether a password is set.
    pub has_password: bool,
    /// When created (ms).
    pub created_at: i64,
    /// Teams the user belongs to.
    pub teams: Vec<i64>,
}

type UserRow = (i64, String, String, String, bool, bool, Option<i64>, Option<String>, i64);

const USER_COLUMNS: &str =
    "id, email, name, role, active, away, capacity, password_hash, created_at";

fn user(row: UserRow, teams: Vec<i64>) -> (User, Option<String>) {
    let (id, email, name, role, active, away, capacity, hash, created_at) = row;
    let user = User {
        id,
        email,
        name,
        role: UserRole::parse(&role).unwrap_or(UserRole::Agent),
        active,
        away,
        capacity,
        has_password: hash.is_some(),
        created_at,
        teams,
    };
    (user, hash)
}

async fn teams_of(conn: &mut Conn<'_>, user: i64) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = conn
        .all("SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id", params![user])
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A user and their password hash, by id.
pub(crate) async fn user_by_id(
    conn: &mut Conn<'_>,
    id: i64,
) -> Result<Option<(User, Option<String>)>, StoreError> {
    let row: Option<UserRow> = conn
        .optional(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"), params![id])
        .await?;
    match row {
        Some(row) => {
            let teams = teams_of(conn, row.0).await?;
            Ok(Some(user(row, teams)))
        }
        None => Ok(None),
    }
}

/// What changes in a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<UserRole>,
    /// Enabled or disabled.
    pub active: Option<bool>,
    /// Away or back.
    pub away: Option<bool>,
    /// New capacity (`Some(None)` clears it).
    pub capacity: Option<Option<i64>>,
    /// New password hash (`Some(None)` removes the password).
    pub password_hash: Option<Option<String>>,
}

/// A login session, as the store keeps it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Its user.
    pub user: User,
    /// The CSRF token state-changing requests must send.
    pub csrf_token: String,
    /// When it ends.
    pub expires_at: i64,
    /// When it was last used.
    pub last_seen_at: i64,
    /// When it was opened.
    pub created_at: i64,
}

/// A personal API token, as lists show it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    /// Id.
    pub id: i64,
    /// Whose.
    pub user_id: i64,
    /// What it is for.
    pub name: String,
    /// Its first characters, to recognise it.
    pub prefix: String,
    /// Created (ms).
    pub created_at: i64,
    /// Last used (ms).
    pub last_used_at: Option<i64>,
    /// Revoked (ms): it no longer works.
    pub revoked_at: Option<i64>,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Team {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Its members' user ids.
    pub members: Vec<i64>,
}

/// How a rule assigns new conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Nobody is assigned: the team (or agent) picks conversations up.
    Manual,
    /// The team's available members in turn.
    RoundRobin,
    /// The available member with the fewest open conversations, below capacity.
    LeastOpen,
}

impl Policy {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Manual => "manual",
            Policy::RoundRobin => "round-robin",
            Policy::LeastOpen => "least-open",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "manual" => Some(Policy::Manual),
            "round-robin" | "round_robin" => Some(Policy::RoundRobin),
            "least-open" | "least_open" => Some(Policy::LeastOpen),
            _ => None,
        }
    }
}

/// Who is responsible for a connector or a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoutingRule {
    /// `connector:<id>` or `channel:<name>`.
    pub scope: String,
    /// The responsible team.
    pub team_id: Option<i64>,
    /// The responsible agent.
    pub user_id: Option<i64>,
    /// How new conversations are assigned.
    pub policy: Policy,
    /// Open conversations an agent carries at most (`least-open`, and `round-robin` skips
    /// those at it); an agent's own capacity wins.
    pub capacity: Option<i64>,
    /// `config` (switchboard.toml) or `api`.
    pub source: String,
}

type RuleRow = (i64, String, Option<i64>, Option<i64>, String, Option<i64>, Option<i64>, String);

/// A rule with what routing needs besides: its id and who it assigned last.
pub(crate) struct StoredRule {
    pub id: i64,
    pub rule: RoutingRule,
    pub last_assigned: Option<i64>,
}

fn rule(row: RuleRow) -> StoredRule {
    let (id, scope, team_id, user_id, policy, capacity, last_assigned, source) = row;
    StoredRule {
        id,
        rule: RoutingRule {
            scope,
            team_id,
            user_id,
            policy: Policy::parse(&policy).unwrap_or(Policy::Manual),
            capacity,
            source,
        },
        last_assigned,
    }
}

const RULE_COLUMNS: &str = "id, scope, team_id, user_id, policy, capacity, last_assigned, source";

/// The rule for the first of `scopes` that has one, locked (PostgreSQL) until the transaction
/// ends so that two hosts assigning under it take turns.
pub(crate) async fn rule_for(
    conn: &mut Conn<'_>,
    scopes: &[String],
) -> Result<Option<StoredRule>, StoreError> {
    for scope in scopes {
        let lock = if conn.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
        let row: Option<RuleRow> = conn
            .optional(
                &format!("SELECT {RULE_COLUMNS} FROM routing_rules WHERE scope = $1{lock}"),
                params![scope],
            )
            .await?;
        if let Some(row) = row {
            return Ok(Some(rule(row)));
        }
    }
    Ok(None)
}

/// Who may be assigned under a rule: active, present members of `team` (or the one `user`),
/// with their capacity and how many open or pending conversations they carry; by id.
pub(crate) async fn candidates(
    conn: &mut Conn<'_>,
    team: Option<i64>,
    user: Option<i64>,
) -> Result<Vec<(i64, Option<i64>, i64)>, StoreError> {
    let lock = if conn.backend() == Backend::Postgres { " FOR UPDATE OF u" } else { "" };
    let (filter, id) = match (team, user) {
        (Some(team), _) => ("u.id IN (SELECT user_id FROM team_members WHERE team_id = $1)", team),
        (None, Some(user)) => ("u.id = $1", user),
        (None, None) => return Ok(Vec::new()),
    };
    let members: Vec<(i64, Option<i64>)> = conn
        .all(
            &format!(
                "SELECT u.id, u.capacity FROM users u WHERE {filter} AND u.active = 1 AND u.away = 0 \
                 ORDER BY u.id{lock}"
            ),
            params![id],
        )
        .await?;
    let mut found = Vec::with_capacity(members.len());
    for (member, capacity) in members {
        let (open,): (i64,) = conn
            .one(
                "SELECT COUNT(*) FROM conversations WHERE assignee_id = $1 \
                 AND status IN ('open', 'pending') AND merged_into IS NULL",
                params![member],
            )
            .await?;
        found.push((member, capacity, open));
    }
    Ok(found)
}

/// Records who a round-robin rule assigned last.
pub(crate) async fn assigned_by(
    conn: &mut Conn<'_>,
    rule: i64,
    user: i64,
) -> Result<(), StoreError> {
    conn.execute("UPDATE routing_rules SET last_assigned = $2 WHERE id = $1", params![rule, user])
        .await?;
    Ok(())
}

impl Store {
    /// Every user, by id.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.read(read_job!(|conn| async move {
            let rows: Vec<UserRow> = conn
                .all(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"), params![])
                .await?;
            let memberships: Vec<(i64, i64)> = conn
                .all("SELECT user_id, team_id FROM team_members ORDER BY team_id", params![])
                .await?;
            Ok(rows
                .into_iter()
                .map(|row| {
                    let teams =
                        memberships.iter().filter(|(u, _)| *u == row.0).map(|(_, t)| *t).collect();
                    user(row, teams).0
                })
                .collect())
        }))
        .await
    }

    /// One user and their password hash.
    pub async fn user(&self, id: i64) -> Result<Option<(User, Option<String>)>, StoreError> {
        self.read(read_job!(|conn| async move { user_by_id(conn, id).await })).await
    }

    /// A user by e-mail address (lower-cased), with their password hash.
    pub async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let email = email.trim().to_lowercase();
        self.read(read_job!(|conn| async move {
            let row: Option<UserRow> = conn
                .optional(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"),
                    params![email],
                )
                .await?;
            match row {
                Some(row) => {
                    let teams = teams_of(conn, row.0).await?;
                    Ok(Some(user(row, teams)))
                }
                None => Ok(None),
            }
        }))
        .await
    }

    /// How many users there are (a fresh store has none).
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        self.read(read_job!(|conn| async move {
            let (count,): (i64,) = conn.one("SELECT COUNT(*) FROM users", params![]).await?;
            Ok(count)
        }))
        .await
    }

    /// Adds a user; a taken e-mail address is a conflict.
    pub async fn add_user(
        &self,
        email: &str,
        name: &str,
        role: UserRole,
        password_hash: Option<String>,
    ) -> Result<User, StoreError> {
        let (email, name) = (email.trim().to_lowercase(), name.trim().to_string());
        self.write(
            vec![],
            write_job!(|tx| {
                let (email, name, hash) = (email.clone(), name.clone(), password_hash.clone());
                async move {
                    let taken: Option<(i64,)> =
                        tx.optional("SELECT id FROM users WHERE email = $1", params![email]).await?;
                    if taken.is_some() {
                        return Err(StoreError::Conflict(format!("a user with e-mail {email} exists")));
                    }
                    let now = now_millis();
                    let (id,): (i64,) = tx
                        .one(
                            "INSERT INTO users (email, name, role, password_hash, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                            params![email, name, role.as_str(), hash, now],
                        )
                        .await?;
                    user_by_id(tx, id).await?.map(|(u, _)| u).ok_or_else(|| StoreError::NotFound(format!("user {id}")))
                }
            }),
        )
        .await
    }

    /// Changes a user. Disabling one ends their sessions.
    pub async fn change_user(&self, id: i64, change: UserChange) -> Result<User, StoreError> {
        self.write(
            vec![],
            write_job!(|tx| {
                let change = change.clone();
                async move {
                    let Some((before, _)) = user_by_id(tx, id).await? else {
                        return Err(StoreError::NotFound(format!("user {id}")));
                    };
                    let now = now_millis();
                    if let Some(name) = &change.name {
                        tx.execute(
                            "UPDATE users SET name = $2, updated_at = $3 WHERE id = $1",
                            params![id, name, now],
                        )
                        .await?;
                    }
                    if let Some(role) = change.role {
                        tx.execute(
                            "UPDATE users SET role = $2, updated_at = $3 WHERE id = $1",
                            params![id, role.as_str(), now],
                        )
                        .await?;
                    }
                    if let Some(active) = change.active {
                        tx.execute(
                            "UPDATE users SET active = $2, updated_at = $3 WHERE id = $1",
                            params![id, active, now],
                        )
                        .await?;
                        if !active {
                            tx.execute("DELETE FROM sessions WHERE user_id = $1", params![id])
                                .await?;
                        }
                    }
                    if let Some(away) = change.away {
                        tx.execute(
                            "UPDATE users SET away = $2, updated_at = $3 WHERE id = $1",
                            params![id, away, now],
                        )
                        .await?;
                    }
                    if let Some(capacity) = change.capacity {
                        tx.execute(
                            "UPDATE users SET capacity = $2, updated_at = $3 WHERE id = $1",
                            params![id, capacity, now],
                        )
                        .await?;
                    }
                    if let Some(hash) = &change.password_hash {
                        tx.execute(
                            "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
                            params![id, hash, now],
                        )
                        .await?;
                        // A new password ends the sessions opened with the old one.
                        tx.execute("DELETE FROM sessions WHERE user_id = $1", params![id]).await?;
                    }
                    let _ = before;
                    user_by_id(tx, id)
                        .await?
                        .map(|(u, _)| u)
                        .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
                }
            }),
        )
        .await
    }

    /// Opens a session whose cookie token hashes to `token_hash`.
    pub async fn open_session(
        &self,
        user: i64,
        token_hash: &str,
        csrf_token: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let (hash, csrf) = (token_hash.to_string(), csrf_token.to_string());
        self.write(
            vec![],
            write_job!(|tx| {
                let (hash, csrf) = (hash.clone(), csrf.clone());
                async move {
                    let now = now_millis();
                    // Expired sessions go as new ones come.
                    tx.execute("DELETE FROM sessions WHERE expires_at < $1", params![now]).await?;
                    tx.execute(
                        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $4, $5)",
                        params![hash, user, csrf, now, expires_at],
                    )
                    .await?;
                    Ok(())
                }
            }),
        )
        .await
    }

    /// The live session whose token hashes to `token_hash`, with its user.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let hash = token_hash.to_string();
        self.read(read_job!(|conn| async move {
            let row: Option<(i64, String, i64, i64, i64)> = conn
                .optional(
                    "SELECT user_id, csrf_token, expires_at, last_seen_at, created_at FROM sessions \
                     WHERE token_hash = $1",
                    params![hash],
                )
                .await?;
            let Some((user, csrf_token, expires_at, last_seen_at, created_at)) = row else {
                return Ok(None);
            };
            let Some((user, _)) = user_by_id(conn, user).await? else { return Ok(None) };
            Ok(Some(SessionRow { user, csrf_token, expires_at, last_seen_at, created_at }))
        }))
        .await
    }

    /// Records a session's use (at most once a minute), pushing its idle expiry to
    /// `expires_at`.
    pub async fn touch_session(&self, token_hash: &str, expires_at: i64) -> Result<(), StoreError> {
        let hash = token_hash.to_string();
        self.write(
            vec![],
            write_job!(|tx| {
                let hash = hash.clone();
                async move {
                    tx.execute(
                        "UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1",
                        params![hash, now_millis(), expires_at],
                    )
                    .await?;
                    Ok(())
                }
            }),
        )
        .await
    }

    /// Ends a session.
    pub async fn close_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let hash = token_hash.to_string();
        self.write(
            vec![],
            write_job!(|tx| {
                let hash = hash.clone();
                async move {
                    tx.execute("DELETE FROM sessions WHERE token_hash = $1", params![hash]).await?;
                    Ok(())
                }
            }),
        )
        .await
    }

    /// Failed logins for `subject` (an e-mail or a client address) since `since` (ms).
    pub async fn login_failures(&self, subject: &str, since: i64) -> Result<i64, StoreError> {
        let subject = subject.to_string();
        self.read(read_job!(|conn| async move {
            let (count,): (i64,) = conn
                .one(
                    "SELECT COUNT(*) FROM login_failures WHERE subject = $1 AND at >= $2",
                    params![subject, since],
                )
                .await?;
            Ok(count)
        }))
        .await
    }

    /// Records failed logins for each of `subjects`; those older than `forget_before` go.
    pub async fn record_login_failure(
        &self,
        subjects: &[String],
        forget_before: i64,
    ) -> Result<(), StoreError> {
        let subjects = subjects.to_vec();
        self.write(
            vec![],
            write_job!(|tx| {
                let subjects = subjects.clone();
                async move {
                    tx.execute("DELETE FROM login_failures WHERE at < $1", params![forget_before])
                        .await?;
                    for subject in &subjects {
                        tx.execute(
                            "INSERT INTO login_failures (subject, at) VALUES ($1, $2)",
                            params![subject, now_millis()],
                        )
                        .await?;
                    }
                    Ok(())
                }
            }),
        )
        .await
    }

    /// Adds a personal API token (its hash) for `user`.
    pub async fn add_token(
        &self,
        user: i64,
        name: &str,
        token_hash: &str,
        prefix: &str,
    ) -> Result<ApiToken, StoreError> {
        let (name, hash, prefix) = (name.to_string(), token_hash.to_string(), prefix.to_string());
        self.write(
            vec![],
            write_job!(|tx| {
                let (name, hash, prefix) = (name.clone(), hash.clone(), prefix.clone());
                async move {
                    let (id,): (i64,) = tx
                        .one(
                            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) \
                             VALUES ($1, $2, $3, $4, $5) RETURNING id",
                            params![user, name, hash, prefix, now_millis()],
                        )
                        .await?;
                    token_by_id(tx, id).await?.ok_or(StoreError::Closed)
                }
            }),
        )
        .await
    }

    /// The tokens of `user` (every user's for `None`), newest first.
    pub async fn tokens(&self, user: Option<i64>) -> Result<Vec<ApiToken>, StoreError> {
        self.read(read_job!(|conn| async move {
            let rows: Vec<TokenRow> = conn
                .all(
                    &format!(
                        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE ($1 IS NULL OR user_id = $1) ORDER BY id DESC"
                    ),
                    params![user],
                )
                .await?;
            Ok(rows.into_iter().map(token).collect())
        }))
        .await
    }

    /// One token.
    pub async fn token(&self, id: i64) -> Result<Option<ApiToken>, StoreError> {
        self.read(read_job!(|conn| async move { token_by_id(conn, id).await })).await
    }

    /// The user of the live token whose hash is `token_hash`; records its use.
    pub async fn token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let hash = token_hash.to_string();
        let found: Option<(i64, i64, Option<i64>)> = self
            .read(read_job!(|conn| async move {
                conn.optional(
                    "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
                    params![hash],
                )
                .await
            }))
            .await?;
        let Some((id, user, last_used)) = found else { return Ok(None) };
        let now = now_millis();
        // Recorded at most once a minute: a busy integration does not write on every call.
        if last_used.is_none_or(|at| now - at > 60_000) {
            self.write(
                vec![],
                write_job!(|tx| async move {
                    tx.execute(
                        "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
                        params![id, now],
                    )
                    .await?;
                    Ok(())
                }),
            )
            .await?;
        }
        Ok(self.user(user).await?.map(|(u, _)| u))
    }

    /// Revokes a token.
    pub async fn revoke_token(&self, id: i64) -> Result<(), StoreError> {
        self.write(
            vec![],
            write_job!(|tx| async move {
                tx.execute(
                    "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                    params![id, now_millis()],
                )
                .await?;
                Ok(())
            }),
        )
        .await
    }

    /// Every team with its members, by name.
    pub async fn teams(&self) -> Result<Vec<Team>, StoreError> {
        self.read(read_job!(|conn| async move { teams(conn).await })).await
    }

    /// Creates a team (or finds it by name) and sets its members to `members`.
    pub async fn put_team(
        &self,
        name: &str,
        members: Option<Vec<i64>>,
    ) -> Result<Team, StoreError> {
        let name = name.trim().to_string();
        self.write(
            vec![],
            write_job!(|tx| {
                let (name, members) = (name.clone(), members.clone());
                async move {
                    let existing: Option<(i64,)> =
                        tx.optional("SELECT id FROM teams WHERE name = $1", params![name]).await?;
                    let id = match existing {
                        Some((id,)) => id,
                        None => {
                            let (id,): (i64,) = tx
                                .one(
                                    "INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id",
                                    params![name, now_millis()],
                                )
                                .await?;
                            id
                        }
                    };
                    if let Some(members) = members {
                        set_members(tx, id, &members).await?;
                    }
                    teams(tx).await?.into_iter().find(|t| t.id == id).ok_or(StoreError::Closed)
                }
            }),
        )
        .await
    }

    /// Renames a team or sets its members.
    pub async fn change_team(
        &self,
        id: i64,
        name: Option<String>,
        members: Option<Vec<i64>>,
    ) -> Result<Team, StoreError> {
        self.write(
            vec![],
            write_job!(|tx| {
                let (name, members) = (name.clone(), members.clone());
                async move {
                    let exists: Option<(i64,)> =
                        tx.optional("SELECT id FROM teams WHERE id = $1", params![id]).await?;
                    if exists.is_none() {
                        return Err(StoreError::NotFound(format!("team {id}")));
                    }
                    if let Some(name) = &name {
                        let taken: Option<(i64,)> = tx
                            .optional(
                                "SELECT id FROM teams WHERE name = $1 AND id <> $2",
                                params![name, id],
                            )
                            .await?;
                        if taken.is_some() {
                            return Err(StoreError::Conflict(format!(
                                "a team named {name} exists"
                            )));
                        }
                        tx.execute("UPDATE teams SET name = $2 WHERE id = $1", params![id, name])
                            .await?;
                    }
                    if let Some(members) = &members {
                        set_members(tx, id, members).await?;
                    }
                    teams(tx).await?.into_iter().find(|t| t.id == id).ok_or(StoreError::Closed)
                }
            }),
        )
        .await
    }

    /// Deletes a team: its rules lose it, its conversations keep no team.
    pub async fn delete_team(&self, id: i64) -> Result<(), StoreError> {
        self.write(
            vec![],
            write_job!(|tx| async move {
                tx.execute("DELETE FROM team_members WHERE team_id = $1", params![id]).await?;
                tx.execute(
                    "UPDATE routing_rules SET team_id = NULL WHERE team_id = $1",
                    params![id],
                )
                .await?;
                tx.execute(
                    "UPDATE conversations SET team_id = NULL WHERE team_id = $1",
                    params![id],
                )
                .await?;
                tx.execute("DELETE FROM teams WHERE id = $1", params![id]).await?;
                Ok(())
            }),
        )
        .await
    }

    /// Every routing rule, by scope.
    pub async fn routing_rules(&self) -> Result<Vec<RoutingRule>, StoreError> {
        self.read(read_job!(|conn| async move {
            let rows: Vec<RuleRow> = conn
                .all(&format!("SELECT {RULE_COLUMNS} FROM routing_rules ORDER BY scope"), params![])
                .await?;
            Ok(rows.into_iter().map(|r| rule(r).rule).collect())
        }))
        .await
    }

    /// Sets the rule of a scope.
    pub async fn put_routing_rule(&self, rule: RoutingRule) -> Result<RoutingRule, StoreError> {
        self.write(
            vec![],
            write_job!(|tx| {
                let rule = rule.clone();
                async move {
                    let updated = tx
                        .execute(
                            "UPDATE routing_rules SET team_id = $2, user_id = $3, policy = $4, capacity = $5, \
                             source = $6, updated_at = $7 WHERE scope = $1",
                            params![rule.scope, rule.team_id, rule.user_id, rule.policy.as_str(), rule.capacity, rule.source, now_millis()],
                        )
                        .await?;
                    if updated == 0 {
                        tx.execute(
                            "INSERT INTO routing_rules (scope, team_id, user_id, policy, capacity, source, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            params![rule.scope, rule.team_id, rule.user_id, rule.policy.as_str(), rule.capacity, rule.source, now_millis()],
                        )
                        .await?;
                    }
                    Ok(rule)
                }
            }),
        )
        .await
    }

    /// Removes the rule of a scope; `false` if there was none.
    pub async fn delete_routing_rule(&self, scope: &str) -> Result<bool, StoreError> {
        let scope = scope.to_string();
        self.write(
            vec![],
            write_job!(|tx| {
                let scope = scope.clone();
                async move {
                    Ok(tx
                        .execute("DELETE FROM routing_rules WHERE scope = $1", params![scope])
                        .await?
                        > 0)
                }
            }),
        )
        .await
    }
}

async fn set_members(tx: &mut Tx<'_>, team: i64, members: &[i64]) -> Result<(), StoreError> {
    tx.execute("DELETE FROM team_members WHERE team_id = $1", params![team]).await?;
    let mut members = members.to_vec();
    members.sort_unstable();
    members.dedup();
    for member in members {
        let exists: Option<(i64,)> =
            tx.optional("SELECT id FROM users WHERE id = $1", params![member]).await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("user {member}")));
        }
        tx.execute(
            "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)",
            params![team, member],
        )
        .await?;
    }
    Ok(())
}

async fn teams(conn: &mut Conn<'_>) -> Result<Vec<Team>, StoreError> {
    let teams: Vec<(i64, String)> =
        conn.all("SELECT id, name FROM teams ORDER BY name", params![]).await?;
    let members: Vec<(i64, i64)> =
        conn.all("SELECT team_id, user_id FROM team_members ORDER BY user_id", params![]).await?;
    Ok(teams
        .into_iter()
        .map(|(id, name)| Team {
            id,
            name,
            members: members.iter().filter(|(t, _)| *t == id).map(|(_, u)| *u).collect(),
        })
        .collect())
}

type TokenRow = (i64, i64, String, String, i64, Option<i64>, Option<i64>);

const TOKEN_COLUMNS: &str = "id, user_id, name, prefix, created_at, last_used_at, revoked_at";

fn token(row: TokenRow) -> ApiToken {
    let (id, user_id, name, prefix, created_at, last_used_at, revoked_at) = row;
    ApiToken { id, user_id, name, prefix, created_at, last_used_at, revoked_at }
}

async fn token_by_id(conn: &mut Conn<'_>, id: i64) -> Result<Option<ApiToken>, StoreError> {
    let row: Option<TokenRow> = conn
        .optional(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"), params![id])
        .await?;
    Ok(row.map(token))
}
