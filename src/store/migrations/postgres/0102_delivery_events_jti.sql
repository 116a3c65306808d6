-- 0102: jti is unique among the SETs destinations post (accept-submission,
-- reject-submission: replay protection), no longer across the platform's own
-- SETs. Those jti are UUIDv4 made here (122 random bits); a unique index over
-- random keys wrote two random B-tree leaves per submission and grows into
-- random reads once the table outgrows memory. posted = 1 marks a SET a
-- destination posted; rows from before are marked by their event name (all
-- of them were unique).
ALTER TABLE delivery_events ADD COLUMN posted INTEGER NOT NULL DEFAULT 0 CHECK (posted IN (0, 1));
UPDATE delivery_events SET posted = 1 WHERE event IN ('accept-submission', 'reject-submission');
ALTER TABLE delivery_events DROP CONSTRAINT delivery_events_jti_key;
CREATE UNIQUE INDEX delivery_events_posted_jti ON delivery_events (jti) WHERE posted = 1;
