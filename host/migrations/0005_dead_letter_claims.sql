-- A replay claims its dead letter first (one replay at a time, even across hosts); a claim
-- older than a few minutes belongs to a replay that died and may be taken over.
ALTER TABLE dead_letters ADD COLUMN replaying_since BIGINT;
-- Retention deletes by age.
CREATE INDEX dead_letters_received ON dead_letters (received_at);
-- Counting an inbox view reads only this index (status, id and assignee of every conversation
-- not merged away), not the conversations themselves.
CREATE INDEX conversations_open_cover ON conversations (status, id, assignee_id) WHERE merged_into IS NULL;
