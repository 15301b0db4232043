-- A replay claims its dead letter first (one replay at a time, even across hosts); a claim
-- older than a few minutes belongs to a replay that died and may be taken over.
ALTER TABLE dead_letters ADD COLUMN replaying_since BIGINT;
-- Retention deletes by age.
CREATE INDEX dead_letters_received ON dead_letters (received_at);
