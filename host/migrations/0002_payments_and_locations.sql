-- Payments and refunds: money received for an order, and where orders are delivered. Like
-- shipments, a payment may arrive before the order it pays: `order_id` stays empty until an
-- order matches `order_ref`; `customer_id` stays empty until a state of the payment, or its
-- order, names the payer.
CREATE TABLE payments (
    id __ID__,
    connector_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    customer_id BIGINT REFERENCES customers (id),
    linked_by TEXT,
    order_ref TEXT,
    order_id BIGINT REFERENCES orders (id),
    status TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    refunded_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    attributes TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (connector_id, provider_id)
);
CREATE INDEX payments_timeline ON payments (customer_id, occurred_at);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX payments_unlinked ON payments (order_ref);

-- When an interaction last changed (a cart's latest update, a message's delivery status): a
-- state older than that, delivered late, changes nothing. `occurred_at` stays its place on the
-- timeline.
ALTER TABLE interactions ADD COLUMN updated_at BIGINT;

-- Where an order's delivery address is, placed by a geocoding connector after the order is
-- stored. `geocoded_at` is set once the geocoder answered, found or not (or failed for good,
-- with `geocode_error`), so an address is asked once; a new delivery address clears it.
ALTER TABLE orders ADD COLUMN latitude DOUBLE PRECISION;
ALTER TABLE orders ADD COLUMN longitude DOUBLE PRECISION;
ALTER TABLE orders ADD COLUMN place_name TEXT;
ALTER TABLE orders ADD COLUMN geocoded_by TEXT;
ALTER TABLE orders ADD COLUMN geocoded_at BIGINT;
ALTER TABLE orders ADD COLUMN geocode_error TEXT;
ALTER TABLE orders ADD COLUMN geocode_attempts BIGINT NOT NULL DEFAULT 0;
-- The geocoding queue is the orders still to place: small, whatever the number of orders.
CREATE INDEX orders_to_geocode ON orders (id) WHERE delivery_address IS NOT NULL AND geocoded_at IS NULL;
