-- Counting an inbox view (and each team's share) reads only this index: status, team, assignee
-- and id of every conversation not merged away. It replaces the index of migration 5, which
-- lacked the team an agent's view is restricted to.
DROP INDEX conversations_open_cover;
CREATE INDEX conversations_open_counts ON conversations (status, team_id, assignee_id, id) WHERE merged_into IS NULL;
