-- 0100: delivery (FIT-Connect): destinations, OAuth clients and tokens,
-- submissions, attachments (ciphertext files under the var dir), event log,
-- platform keys. Times are epoch milliseconds.

CREATE TABLE delivery_destinations (
    id              TEXT PRIMARY KEY,           -- UUIDv4
    status          TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    doc             TEXT NOT NULL,              -- JSON: services, replyChannels, metadataVersions, contactInformation
    enc_kid         TEXT NOT NULL,
    enc_jwk         TEXT NOT NULL,              -- public JWK (JSON)
    sig_kid         TEXT NOT NULL,
    sig_jwk         TEXT NOT NULL,
    callback_url    TEXT,
    callback_secret TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE delivery_clients (
    id          TEXT PRIMARY KEY,               -- client_id (UUIDv4)
    kind        TEXT NOT NULL CHECK (kind IN ('sender', 'subscriber')),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,                  -- pbkdf2-sha256$iter$salt$hash
    created_at  BIGINT NOT NULL
);

CREATE TABLE delivery_client_destinations (
    client_id      TEXT NOT NULL REFERENCES delivery_clients (id) ON DELETE CASCADE,
    destination_id TEXT NOT NULL REFERENCES delivery_destinations (id) ON DELETE CASCADE,
    PRIMARY KEY (client_id, destination_id)
);

CREATE TABLE delivery_tokens (
    hash       TEXT PRIMARY KEY,                -- hex SHA-256 of the bearer token
    client_id  TEXT NOT NULL REFERENCES delivery_clients (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX delivery_tokens_expiry ON delivery_tokens (expires_at);

CREATE TABLE delivery_submissions (
    id                 TEXT PRIMARY KEY,
    case_id            TEXT NOT NULL,
    destination_id     TEXT NOT NULL REFERENCES delivery_destinations (id),
    sender_client_id   TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('incomplete', 'submitted', 'accepted', 'rejected', 'deleted')),
    service_identifier TEXT NOT NULL,
    service_name       TEXT,
    callback_url       TEXT,
    callback_secret    TEXT,
    encrypted_metadata TEXT,
    encrypted_data     TEXT,
    metadata_tag       TEXT,
    data_tag           TEXT,
    bytes              BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    submitted_at       BIGINT,
    fetched_at         BIGINT,
    decided_at         BIGINT,
    purged_at          BIGINT,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX delivery_submissions_pickup ON delivery_submissions (destination_id, state, submitted_at);
CREATE INDEX delivery_submissions_state ON delivery_submissions (state, created_at);
CREATE INDEX delivery_submissions_case ON delivery_submissions (case_id);

CREATE TABLE delivery_attachments (
    submission_id TEXT NOT NULL REFERENCES delivery_submissions (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    position      BIGINT NOT NULL,
    tag           TEXT,                         -- JWE tag once uploaded
    size          BIGINT,
    digest        TEXT,                         -- hex SHA-256 of the stored token (idempotent re-PUT)
    uploaded_at   BIGINT,
    PRIMARY KEY (submission_id, id)
);

CREATE TABLE delivery_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id       TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    event         TEXT NOT NULL,                -- event name (accept-submission, ...)
    jti           TEXT NOT NULL UNIQUE,
    token         TEXT NOT NULL,                -- the SET (compact JWS)
    created_at    BIGINT NOT NULL
);
CREATE INDEX delivery_events_case ON delivery_events (case_id, id);
CREATE INDEX delivery_events_created ON delivery_events (created_at);

CREATE TABLE delivery_platform_keys (
    kid         TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,                  -- the platform's PS512 SET key
    created_at  BIGINT NOT NULL
);
