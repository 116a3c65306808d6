-- 0102: jti is unique among the SETs destinations post (accept-submission,
-- reject-submission: replay protection), no longer across the platform's own
-- SETs. Those jti are UUIDv4 made here (122 random bits); a unique index over
-- random keys wrote two random B-tree leaves per submission (17 % of the WAL
-- frames at 16 concurrent submissions) and grows into random reads once the
-- table outgrows memory. posted = 1 marks a SET a destination posted; rows
-- from before are marked by their event name (all of them were unique).
-- SQLite cannot drop a column constraint, so the table is rebuilt; ids and
-- the AUTOINCREMENT sequence are kept (copied, and the rename carries it).
CREATE TABLE delivery_events_0102 (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id          TEXT NOT NULL,
    submission_id    TEXT NOT NULL,
    event            TEXT NOT NULL,
    jti              TEXT NOT NULL,
    token            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    body             TEXT,
    sign_owner       TEXT,
    sign_lease_until INTEGER NOT NULL DEFAULT 0,
    posted           INTEGER NOT NULL DEFAULT 0 CHECK (posted IN (0, 1))
);
INSERT INTO delivery_events_0102 (id, case_id, submission_id, event, jti, token, created_at,
                                  body, sign_owner, sign_lease_until, posted)
SELECT id, case_id, submission_id, event, jti, token, created_at, body, sign_owner,
       sign_lease_until,
       CASE WHEN event IN ('accept-submission', 'reject-submission') THEN 1 ELSE 0 END
FROM delivery_events;
-- the sequence, not max(id): an id whose row is gone is not handed out again
DELETE FROM sqlite_sequence WHERE name = 'delivery_events_0102';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'delivery_events_0102', seq FROM sqlite_sequence WHERE name = 'delivery_events';
DROP TABLE delivery_events;
ALTER TABLE delivery_events_0102 RENAME TO delivery_events;
CREATE INDEX delivery_events_case ON delivery_events (case_id, id);
CREATE INDEX delivery_events_created ON delivery_events (created_at);
CREATE INDEX delivery_events_unsigned ON delivery_events (id) WHERE token = '';
CREATE UNIQUE INDEX delivery_events_posted_jti ON delivery_events (jti) WHERE posted = 1;
