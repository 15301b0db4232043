-- The people who work in Switchboard, and the conversations they work on.

-- Agents, supervisors and admins. `email` is stored lower-cased; `password_hash` is an
-- argon2id PHC string (NULL: the user cannot log in with a password, only with a token).
CREATE TABLE users (
    id __ID__,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    -- Away: not assigned new conversations.
    away BIGINT NOT NULL DEFAULT 0,
    -- Open conversations this agent carries at most under a `least-open` policy (NULL: the
    -- routing rule's capacity).
    capacity BIGINT,
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

-- Console sessions. Only the SHA-256 of the cookie's token is stored; `csrf_token` is what a
-- state-changing request made with the cookie must send in `X-CSRF-Token`.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Personal API tokens: shown once, stored hashed, acting with their user's role.
CREATE TABLE api_tokens (
    id __ID__,
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    -- The token's first characters, to recognise it in a list.
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Failed logins, by e-mail and by client address, for rate limiting shared by every host.
CREATE TABLE login_failures (
    id __ID__,
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (subject, at);

CREATE TABLE teams (
    id __ID__,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (name);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- Who is responsible for a connector (`connector:twilio`) or a channel (`channel:sms`): a team,
-- an agent, or both, and how new conversations are assigned.
CREATE TABLE routing_rules (
    id __ID__,
    scope TEXT NOT NULL,
    team_id BIGINT REFERENCES teams (id),
    user_id BIGINT REFERENCES users (id),
    -- `manual`, `round-robin` or `least-open`.
    policy TEXT NOT NULL,
    capacity BIGINT,
    -- Round robin: who was assigned last.
    last_assigned BIGINT,
    -- `config` (from switchboard.toml, applied at start) or `api`.
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX routing_rules_scope ON routing_rules (scope);

-- A conversation belongs to one customer and gathers their messages, calls, callback requests
-- and reviews from every channel. At most one per customer is not resolved.
CREATE TABLE conversations (
    id __ID__,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    -- `open`, `pending` (waiting for the customer), `snoozed` (until `snoozed_until`), `resolved`.
    status TEXT NOT NULL,
    -- `low`, `normal`, `high`, `urgent`.
    priority TEXT NOT NULL,
    snoozed_until BIGINT,
    assignee_id BIGINT REFERENCES users (id),
    team_id BIGINT REFERENCES teams (id),
    subject TEXT,
    -- Where it started: the connector and channel of its first message (reports count it there).
    opened_connector TEXT,
    opened_channel TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL,
    last_message_preview TEXT,
    last_message_direction TEXT,
    last_message_channel TEXT,
    last_inbound_at BIGINT,
    -- The oldest inbound message not answered yet; NULL once answered.
    waiting_since BIGINT,
    first_response_at BIGINT,
    resolved_at BIGINT,
    reopened_count BIGINT NOT NULL DEFAULT 0,
    -- The SLA policy applied and its due times, moved on while the clock is paused.
    sla_policy TEXT,
    first_response_due BIGINT,
    resolution_due BIGINT,
    first_response_breached BIGINT NOT NULL DEFAULT 0,
    resolution_breached BIGINT NOT NULL DEFAULT 0,
    -- Pending: the SLA clock stopped at this time.
    paused_since BIGINT,
    -- Merged into another conversation (it no longer shows in an inbox).
    merged_into BIGINT REFERENCES conversations (id)
);
CREATE UNIQUE INDEX conversations_active ON conversations (customer_id)
    WHERE status <> 'resolved' AND merged_into IS NULL;
-- The inbox's orders (newest message first, longest waiting first) within a status, and
-- per assignee and per team; reports read conversations by the time they opened.
CREATE INDEX conversations_customer ON conversations (customer_id, created_at);
CREATE INDEX conversations_recent ON conversations (status, last_message_at, id);
CREATE INDEX conversations_waiting ON conversations (status, waiting_since, id);
CREATE INDEX conversations_assignee ON conversations (assignee_id, status, last_message_at);
CREATE INDEX conversations_team ON conversations (team_id, status, last_message_at);
CREATE INDEX conversations_created ON conversations (created_at);
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE status = 'snoozed';
CREATE INDEX conversations_first_response_due ON conversations (first_response_due)
    WHERE first_response_at IS NULL AND first_response_breached = 0;
CREATE INDEX conversations_resolution_due ON conversations (resolution_due)
    WHERE resolved_at IS NULL AND resolution_breached = 0;

CREATE TABLE conversation_labels (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    label TEXT NOT NULL,
    PRIMARY KEY (conversation_id, label)
);
CREATE INDEX conversation_labels_label ON conversation_labels (label, conversation_id);

-- The connectors and channels a conversation spans.
CREATE TABLE conversation_channels (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    connector_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    PRIMARY KEY (conversation_id, connector_id, channel)
);
CREATE INDEX conversation_channels_connector ON conversation_channels (connector_id, conversation_id);
CREATE INDEX conversation_channels_channel ON conversation_channels (channel, conversation_id);

ALTER TABLE interactions ADD COLUMN conversation_id BIGINT REFERENCES conversations (id);
-- The user who wrote an outbound message through the API.
ALTER TABLE interactions ADD COLUMN author_id BIGINT REFERENCES users (id);
CREATE INDEX interactions_conversation ON interactions (conversation_id, occurred_at);

-- Private notes on a conversation: never sent.
CREATE TABLE notes (
    id __ID__,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    author_id BIGINT REFERENCES users (id),
    body TEXT NOT NULL,
    -- JSON list of the user ids mentioned.
    mentions TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notes_conversation ON notes (conversation_id, id);

-- Every change to a conversation, who made it and when: the conversation's history, the
-- customer's timeline, and the live stream's source.
CREATE TABLE conversation_events (
    id __ID__,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    customer_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX conversation_events_conversation ON conversation_events (conversation_id, id);
CREATE INDEX conversation_events_customer ON conversation_events (customer_id, created_at);

CREATE TABLE canned_replies (
    id __ID__,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX canned_replies_name ON canned_replies (name);

-- The connector a customer prefers to be answered on, and who said so (`agent` or
-- `customer`: the channel they opened their latest conversation on).
ALTER TABLE customers ADD COLUMN preferred_channel TEXT;
ALTER TABLE customers ADD COLUMN preferred_set_by TEXT;

-- Messages sent on behalf of a request with an `Idempotency-Key`: recorded before the
-- provider is called, so a retry answers the first outcome instead of sending twice.
CREATE TABLE sends (
    idempotency_key TEXT PRIMARY KEY,
    user_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    -- `sending`, `sent` or `failed`.
    state TEXT NOT NULL,
    response TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
