-- The customer store. Times are milliseconds since the Unix epoch, UTC; flags are 0/1.
-- One schema for both backends: `__ID__` (the auto-increment primary key) and `__BLOB__` (the
-- binary type) are filled in per backend by `store::migrations`. A change is a new numbered file.

CREATE TABLE customers (
    id __ID__,
    created_at BIGINT NOT NULL,
    display_name TEXT,
    given_name TEXT,
    family_name TEXT,
    locale TEXT,
    -- Set when the customer was merged into another: it is no longer live.
    merged_into BIGINT REFERENCES customers (id)
);

-- Identifiers: many per customer and per kind. `value` is the normalized form matched on.
CREATE TABLE contact_points (
    id __ID__,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    raw TEXT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0,
    source_connector TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX contact_points_lookup ON contact_points (kind, value);
CREATE INDEX contact_points_customer ON contact_points (customer_id);

-- Free-form attributes, and identifiers that cannot be matched on (invalid or blocked).
CREATE TABLE customer_attributes (
    id __ID__,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    source_connector TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX customer_attributes_customer ON customer_attributes (customer_id, key);

-- Which external id a connector knows the customer by: what `send` uses to reach them.
CREATE TABLE channel_accounts (
    id __ID__,
    connector_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX channel_accounts_lookup ON channel_accounts (connector_id, external_id);
CREATE INDEX channel_accounts_customer ON channel_accounts (customer_id);

-- Contact updates seen, so a redelivery is recognised.
CREATE TABLE contact_events (
    connector_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    content_hash TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    PRIMARY KEY (connector_id, provider_id)
);

CREATE TABLE interactions (
    id __ID__,
    connector_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    -- The identifier that linked this record to the customer, e.g. `email ann@example.com`.
    linked_by TEXT NOT NULL,
    kind TEXT NOT NULL,
    direction TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread_id TEXT,
    subject TEXT,
    body TEXT,
    status TEXT,
    occurred_at BIGINT NOT NULL,
    attachments TEXT NOT NULL,
    attributes TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (connector_id, provider_id)
);
CREATE INDEX interactions_timeline ON interactions (customer_id, occurred_at);

CREATE TABLE orders (
    id __ID__,
    connector_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    linked_by TEXT NOT NULL,
    number TEXT,
    status TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    placed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    delivery_address TEXT,
    attributes TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (connector_id, provider_id)
);
CREATE INDEX orders_timeline ON orders (customer_id, placed_at);
CREATE INDEX orders_number ON orders (number);
CREATE INDEX orders_provider ON orders (provider_id);

CREATE TABLE order_lines (
    order_id BIGINT NOT NULL REFERENCES orders (id),
    position BIGINT NOT NULL,
    sku TEXT,
    name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (order_id, position)
);

-- A shipment may arrive before its order: `order_id` and `customer_id` stay empty until then.
CREATE TABLE shipments (
    id __ID__,
    connector_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    order_ref TEXT,
    order_id BIGINT REFERENCES orders (id),
    customer_id BIGINT REFERENCES customers (id),
    linked_by TEXT,
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    status TEXT NOT NULL,
    eta BIGINT,
    occurred_at BIGINT NOT NULL,
    attributes TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (connector_id, provider_id)
);
CREATE INDEX shipments_timeline ON shipments (customer_id, occurred_at);
CREATE INDEX shipments_unlinked ON shipments (order_ref);

CREATE TABLE consents (
    id __ID__,
    connector_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    linked_by TEXT NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    occurred_at BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (connector_id, provider_id)
);
CREATE INDEX consents_customer ON consents (customer_id, channel, occurred_at);

-- Every merge, automatic or manual, with what moved (`details`, JSON) so it can be undone.
CREATE TABLE merges (
    id __ID__,
    survivor_id BIGINT NOT NULL REFERENCES customers (id),
    absorbed_id BIGINT NOT NULL REFERENCES customers (id),
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    undone_at BIGINT
);
CREATE INDEX merges_survivor ON merges (survivor_id);

-- Pairs an operator separated by undoing a merge: resolution never merges them again.
CREATE TABLE merge_blocks (
    customer_a BIGINT NOT NULL REFERENCES customers (id),
    customer_b BIGINT NOT NULL REFERENCES customers (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (customer_a, customer_b)
);

-- Each connector's private key-value state.
CREATE TABLE connector_kv (
    connector_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value __BLOB__ NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connector_id, key)
);

CREATE TABLE poll_cursors (
    connector_id TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Which host polls a connector: one at a time, until `expires_at`.
CREATE TABLE poll_leases (
    connector_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Requests a connector failed on (trap, deadline, store failure), kept for replay.
CREATE TABLE dead_letters (
    id __ID__,
    connector_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    request TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 1,
    replayed_at BIGINT
);
CREATE INDEX dead_letters_connector ON dead_letters (connector_id, replayed_at);
