-- 0001: tenants, settings and the transactional outbox.
-- Times are epoch milliseconds (INTEGER) in both engines.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,            -- UUIDv4, lowercase
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE settings (
    scope       TEXT NOT NULL,               -- 'global' or 'tenant:<uuid>'
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX outbox_due ON outbox (state, due_at, id);
