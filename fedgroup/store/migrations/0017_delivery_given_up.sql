-- fedgroup schema 17: a delivery given up is kept, like a received activity given up (schema 12), instead
-- of being deleted: the operator sees its host, attempts and last error, and can put it back in the queue.

-- When the delivery was given up; NULL while it is still being tried.
ALTER TABLE deliveries ADD COLUMN given_up_at TEXT;

-- The worker reads only rows still being tried.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE given_up_at IS NULL;
CREATE INDEX deliveries_given_up ON deliveries (host) WHERE given_up_at IS NOT NULL;
