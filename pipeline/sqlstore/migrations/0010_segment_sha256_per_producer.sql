-- Duplicate detection is by sha256 within one producer's segments that
-- are not withdrawn, so the same bytes may be stored for two producers,
-- and again after a withdrawal: the table-wide UNIQUE on sha256 goes.
-- SQLite cannot drop a column constraint, so the table is rebuilt the way
-- SQLite documents (new table, copy, drop, rename) with foreign keys off
-- for this migration and checked before it commits (the marker below).
-- loa:foreign-keys-off
CREATE TABLE segments_rebuilt (
    id            TEXT PRIMARY KEY,
    sha256        TEXT NOT NULL,
    title         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    topic         TEXT NOT NULL,
    priority      TEXT NOT NULL,
    air_from      TIMESTAMP NOT NULL,
    air_until     TIMESTAMP NOT NULL,
    languages     TEXT NOT NULL,
    state         TEXT NOT NULL,
    producer_id   INTEGER NOT NULL REFERENCES users (id),
    original_key  TEXT NOT NULL,
    original_name TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    probe         TEXT NOT NULL,
    subtitle_key  TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    withdrawn_at  TIMESTAMP,
    process_error TEXT NOT NULL DEFAULT '',
    process_step  TEXT NOT NULL DEFAULT '',
    progress      REAL NOT NULL DEFAULT 0
);

INSERT INTO segments_rebuilt (id, sha256, title, kind, topic, priority, air_from, air_until, languages, state, producer_id,
    original_key, original_name, content_type, size_bytes, probe, subtitle_key, created_at, updated_at, withdrawn_at,
    process_error, process_step, progress)
SELECT id, sha256, title, kind, topic, priority, air_from, air_until, languages, state, producer_id,
    original_key, original_name, content_type, size_bytes, probe, subtitle_key, created_at, updated_at, withdrawn_at,
    process_error, process_step, progress FROM segments;

DROP TABLE segments;
ALTER TABLE segments_rebuilt RENAME TO segments;

CREATE INDEX segments_producer ON segments (producer_id, created_at);
CREATE INDEX segments_created ON segments (created_at);
CREATE INDEX segments_producer_sha256 ON segments (producer_id, sha256);
