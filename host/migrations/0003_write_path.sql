-- What the write path looks up, indexed; and identifiers that are kept but not matched on.

-- An identifier is `usable` (it links records), `shared` (a role address such as info@…,
-- recorded to reach the customer, never a reason to merge), `blocked` (a placeholder such as
-- test@example.com) or `invalid` (does not parse); `reason` says why it is not usable.
-- `provenance` is how the connector that reported it knew it (verified, declared, mentioned);
-- `verified` stays the flag sending relies on.
ALTER TABLE contact_points ADD COLUMN status TEXT NOT NULL DEFAULT 'usable';
ALTER TABLE contact_points ADD COLUMN reason TEXT;
ALTER TABLE contact_points ADD COLUMN provenance TEXT NOT NULL DEFAULT 'declared';
ALTER TABLE contact_points ADD COLUMN verified_by TEXT;

CREATE INDEX interactions_thread ON interactions (thread_id);
CREATE INDEX shipments_tracking ON shipments (tracking_number);
CREATE INDEX shipments_order ON shipments (order_id);
CREATE INDEX merges_absorbed ON merges (absorbed_id);
CREATE INDEX merge_blocks_b ON merge_blocks (customer_b);
