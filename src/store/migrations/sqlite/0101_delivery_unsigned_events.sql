-- 0101: platform SETs are signed after the commit (transactional outbox).
-- An event row is written with token = '' (unsigned) together with what the
-- SET will say (body: the event body JSON, created_at: iat); the outbox worker
-- or the first reader of the case's log signs it. sign_owner/sign_lease_until
-- is the claim that keeps two signers off the same event.
ALTER TABLE delivery_events ADD COLUMN body TEXT;
ALTER TABLE delivery_events ADD COLUMN sign_owner TEXT;
ALTER TABLE delivery_events ADD COLUMN sign_lease_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX delivery_events_unsigned ON delivery_events (id) WHERE token = '';
