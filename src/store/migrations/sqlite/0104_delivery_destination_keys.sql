-- 0104: the keys a destination has had. Replacing a destination's keys
-- retires the old ones instead of forgetting them: a retired signature key
-- stays published (GET /v1/destinations/{id}/keys/{kid}) as long as events
-- it may have signed are kept, so a sender can still verify an old
-- accept-submission after the authority rotated its key; and a kid names
-- one key of a destination for good. retired_at NULL: a current key.
CREATE TABLE delivery_destination_keys (
    destination_id TEXT NOT NULL REFERENCES delivery_destinations (id) ON DELETE CASCADE,
    kid            TEXT NOT NULL,
    purpose        TEXT NOT NULL CHECK (purpose IN ('enc', 'sig')),
    jwk            TEXT NOT NULL,               -- public JWK (JSON)
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER,
    PRIMARY KEY (destination_id, kid)
);
CREATE INDEX delivery_destination_keys_retired ON delivery_destination_keys (retired_at)
    WHERE retired_at IS NOT NULL;
INSERT INTO delivery_destination_keys (destination_id, kid, purpose, jwk, created_at)
SELECT id, enc_kid, 'enc', enc_jwk, created_at FROM delivery_destinations;
INSERT INTO delivery_destination_keys (destination_id, kid, purpose, jwk, created_at)
SELECT id, sig_kid, 'sig', sig_jwk, created_at FROM delivery_destinations;
