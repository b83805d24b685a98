-- Users, API tokens, segments and the uploads in flight.
-- Plain SQL that PostgreSQL also takes (TIMESTAMP, TEXT, BIGINT, no
-- SQLite-only syntax); ids of rows people refer to are text UUIDs.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    languages     TEXT NOT NULL DEFAULT '',
    commune       TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    hash         TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);

-- An upload being streamed into the object store. The row is written
-- before the first byte is sent and removed in the same transaction that
-- records the segment, so a crash leaves a row that the sweep uses to
-- delete the orphan object.
CREATE TABLE uploads (
    object_key TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL
);

CREATE TABLE segments (
    id            TEXT PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,
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
    withdrawn_at  TIMESTAMP
);

CREATE INDEX segments_producer ON segments (producer_id, created_at);
CREATE INDEX segments_created ON segments (created_at);

-- Who did what to a segment, for the audit log and the reports.
CREATE TABLE segment_events (
    id         INTEGER PRIMARY KEY,
    segment_id TEXT NOT NULL REFERENCES segments (id),
    at         TIMESTAMP NOT NULL,
    user_id    INTEGER NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);

CREATE INDEX segment_events_segment ON segment_events (segment_id, at);
