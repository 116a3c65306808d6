-- 0200: the catalogue — services, areas (ARS), postal codes, authority
-- profiles (columns on tenants), per-service parameters (EfA),
-- responsibilities and the append-only audit log.

CREATE TABLE services (
    leika_key       TEXT PRIMARY KEY,        -- ^99\d{12}$
    name            TEXT NOT NULL,
    short_text      TEXT,
    long_text       TEXT,
    documents       TEXT,
    fees            TEXT,
    legal_basis     TEXT,
    processing_time TEXT,
    keywords        TEXT,
    schema_id       TEXT,                    -- FIM schema of the online service
    schema_version  TEXT,
    overlay         TEXT,                    -- rule overlay name
    xzufi_id        TEXT,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE areas (
    ars         TEXT PRIMARY KEY,            -- natural length: 2, 3, 5, 9 or 12 digits
    ars12       TEXT NOT NULL,               -- zero-padded
    ags         TEXT,                        -- 8 digits, Gemeinden only
    name        TEXT NOT NULL,
    name_lc     TEXT NOT NULL,               -- folded for search
    level       TEXT NOT NULL CHECK (level IN ('land', 'regierungsbezirk', 'kreis',
                                               'gemeindeverband', 'gemeinde')),
    type        TEXT,
    plz_seat    TEXT,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX areas_ags ON areas (ags);
CREATE INDEX areas_name ON areas (name_lc);

CREATE TABLE area_plz (
    plz         TEXT NOT NULL,
    ags         TEXT NOT NULL,
    PRIMARY KEY (plz, ags)
);
CREATE INDEX area_plz_ags ON area_plz (ags);

ALTER TABLE tenants ADD COLUMN address_street TEXT;
ALTER TABLE tenants ADD COLUMN address_zip TEXT;
ALTER TABLE tenants ADD COLUMN address_city TEXT;
ALTER TABLE tenants ADD COLUMN phone TEXT;
ALTER TABLE tenants ADD COLUMN email TEXT;
ALTER TABLE tenants ADD COLUMN fax TEXT;
ALTER TABLE tenants ADD COLUMN web TEXT;
ALTER TABLE tenants ADD COLUMN opening_hours TEXT;
ALTER TABLE tenants ADD COLUMN privacy_url TEXT;
ALTER TABLE tenants ADD COLUMN imprint_url TEXT;
ALTER TABLE tenants ADD COLUMN logo_url TEXT;
ALTER TABLE tenants ADD COLUMN colour TEXT;
ALTER TABLE tenants ADD COLUMN destination_id TEXT;
ALTER TABLE tenants ADD COLUMN payment_account TEXT;
ALTER TABLE tenants ADD COLUMN xzufi_id TEXT;

CREATE TABLE tenant_service_params (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    leika_key       TEXT NOT NULL REFERENCES services (leika_key) ON DELETE CASCADE,
    name            TEXT,
    short_text      TEXT,
    long_text       TEXT,
    fees            TEXT,
    processing_time TEXT,
    payment_account TEXT,
    destination_id  TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, leika_key)
);

CREATE TABLE responsibilities (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    leika_key       TEXT NOT NULL REFERENCES services (leika_key) ON DELETE CASCADE,
    ars_prefix      TEXT NOT NULL REFERENCES areas (ars),
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    destination_id  TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (leika_key, ars_prefix, tenant_id)
);
CREATE INDEX responsibilities_tenant ON responsibilities (tenant_id);

CREATE TABLE catalog_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,               -- create, update, delete, import
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    detail      TEXT                         -- JSON
);

CREATE TRIGGER catalog_audit_no_update BEFORE UPDATE ON catalog_audit
BEGIN SELECT RAISE(ABORT, 'catalog_audit is append-only'); END;
CREATE TRIGGER catalog_audit_no_delete BEFORE DELETE ON catalog_audit
BEGIN SELECT RAISE(ABORT, 'catalog_audit is append-only'); END;
