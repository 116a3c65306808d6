-- 0103: attachment content in the database (--attachment-store database, the
-- default on PostgreSQL): nodes that share the database then share the
-- attachments too, and need no shared --var-dir. One upload is one blob,
-- written in chunks of at most 256 KiB (memory per upload stays bounded);
-- an attachment row points at the blob of its last complete upload.
-- blob_id NULL: the content is a file under --var-dir (file store, and rows
-- from before this migration).
ALTER TABLE delivery_attachments ADD COLUMN blob_id TEXT;

CREATE TABLE delivery_blobs (
    id            TEXT PRIMARY KEY,           -- UUIDv4, one upload
    submission_id TEXT NOT NULL,              -- no foreign key: the purge deletes both
    created_at    INTEGER NOT NULL,           -- epoch ms
    recorded      INTEGER NOT NULL DEFAULT 0 CHECK (recorded IN (0, 1))
                                              -- 1: an attachment row points at it
);
CREATE INDEX delivery_blobs_submission ON delivery_blobs (submission_id);
-- the purge's sweep: blobs no attachment took (uploads refused or broken
-- off), older than the incomplete deadline; only those are ever looked at
CREATE INDEX delivery_blobs_unrecorded ON delivery_blobs (created_at) WHERE recorded = 0;

CREATE TABLE delivery_blob_chunks (
    blob_id TEXT NOT NULL REFERENCES delivery_blobs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,                 -- 0, 1, 2, ... in upload order
    data    BLOB NOT NULL,
    PRIMARY KEY (blob_id, seq)
);
