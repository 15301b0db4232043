-- Pairs of customers resolution kept apart although they share strong evidence (a phone and an
-- agreeing name, say), for an agent to merge or dismiss. A dismissed pair is also written to
-- merge_blocks, so resolution keeps it apart like a separated one.
CREATE TABLE possible_duplicates (
    id __ID__,
    customer_a BIGINT NOT NULL REFERENCES customers (id),
    customer_b BIGINT NOT NULL REFERENCES customers (id),
    evidence TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    -- open, merged or dismissed
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    -- who decided: a user, or an API token's name
    decided_by TEXT,
    UNIQUE (customer_a, customer_b)
);
CREATE INDEX possible_duplicates_open ON possible_duplicates (status, id);
