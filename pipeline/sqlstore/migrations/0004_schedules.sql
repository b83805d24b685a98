-- The commune registry, the schedules built from it, and what communes
-- report they played. Plain SQL that PostgreSQL also takes.

-- A commune-level unit (xã or phường). position keeps the import order.
CREATE TABLE communes (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT '',
    time_zone  TEXT NOT NULL,
    position   INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE INDEX communes_name ON communes (name);

-- A loudspeaker cluster; languages in order of preference, comma-separated.
CREATE TABLE clusters (
    commune_code TEXT NOT NULL REFERENCES communes (code) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    languages    TEXT NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (commune_code, id)
);

-- A broadcast slot of a commune (cluster_id '') or of one cluster, which
-- then replaces the commune's. days is a weekday bit set (bit 0 Sunday);
-- reserved_s is the relay at the slot's start that is not ours.
CREATE TABLE slots (
    id           INTEGER PRIMARY KEY,
    commune_code TEXT NOT NULL REFERENCES communes (code) ON DELETE CASCADE,
    cluster_id   TEXT NOT NULL DEFAULT '',
    days         INTEGER NOT NULL,
    start_s      INTEGER NOT NULL,
    length_s     INTEGER NOT NULL,
    reserved_s   INTEGER NOT NULL DEFAULT 0,
    position     INTEGER NOT NULL
);

CREATE INDEX slots_commune ON slots (commune_code, cluster_id, position);

-- A loudspeaker device's account: an operator-role user scoped to one
-- commune, whose tokens the device uses.
CREATE TABLE devices (
    id           INTEGER PRIMARY KEY,
    commune_code TEXT NOT NULL REFERENCES communes (code),
    user_id      INTEGER NOT NULL UNIQUE REFERENCES users (id),
    label        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL
);

-- A segment marked emergency (Thông tư 39): for the listed communes
-- (comma-separated codes) or, when targets is '', the whole province,
-- until the given time.
CREATE TABLE emergencies (
    segment_id TEXT PRIMARY KEY REFERENCES segments (id),
    targets    TEXT NOT NULL DEFAULT '',
    until      TIMESTAMP NOT NULL,
    marked_by  INTEGER NOT NULL,
    marked_at  TIMESTAMP NOT NULL
);

-- One built schedule of one commune for days from start_date. A new
-- version is stored only when its content (etag) differs from the
-- current one.
CREATE TABLE schedule_versions (
    id           TEXT PRIMARY KEY,
    commune_code TEXT NOT NULL,
    etag         TEXT NOT NULL,
    start_date   TEXT NOT NULL,
    days         INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    built_at     TIMESTAMP NOT NULL,
    explain      TEXT NOT NULL DEFAULT ''
);

CREATE INDEX schedule_versions_commune ON schedule_versions (commune_code, built_at);

-- The current version of each commune: the one row playlist requests
-- read before anything else (and the only one a 304 answer needs).
CREATE TABLE schedule_heads (
    commune_code TEXT PRIMARY KEY,
    version_id   TEXT NOT NULL REFERENCES schedule_versions (id),
    etag         TEXT NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- The entries of a version, by cluster, date, slot and position. Media
-- facts are copied from the variant so a version stays as it was built.
-- An emergency interrupt has kind 'interrupt' and slot_s the time of day
-- it was raised.
CREATE TABLE schedule_items (
    version_id  TEXT NOT NULL REFERENCES schedule_versions (id) ON DELETE CASCADE,
    cluster_id  TEXT NOT NULL,
    air_date    TEXT NOT NULL,
    slot_s      INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    entry_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    starts_at   TIMESTAMP NOT NULL,
    duration_ms BIGINT NOT NULL,
    segment_id  TEXT NOT NULL DEFAULT '',
    language    TEXT NOT NULL DEFAULT '',
    title       TEXT NOT NULL DEFAULT '',
    topic       TEXT NOT NULL DEFAULT '',
    priority    TEXT NOT NULL DEFAULT '',
    why         TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    audio_key   TEXT NOT NULL DEFAULT '',
    sha256      TEXT NOT NULL DEFAULT '',
    size_bytes  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (version_id, cluster_id, air_date, slot_s, position)
);

-- What was scheduled in each commune on each date, for the builder's
-- separation rule and topic rotation; rows from the start of a new
-- version on are replaced by it.
CREATE TABLE schedule_history (
    commune_code TEXT NOT NULL,
    segment_id   TEXT NOT NULL,
    air_date     TEXT NOT NULL,
    PRIMARY KEY (commune_code, air_date, segment_id)
);

-- One run of the nightly build per start date: a second worker (or a
-- retried job) finds the row and does nothing.
CREATE TABLE schedule_builds (
    build_key   TEXT PRIMARY KEY,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    communes    INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0
);

-- Proof of play, one row per report; the id is the reporter's, so a
-- retried report is stored once.
CREATE TABLE play_reports (
    id           TEXT PRIMARY KEY,
    commune_code TEXT NOT NULL,
    cluster_id   TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    segment_id   TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    reason       TEXT NOT NULL DEFAULT '',
    air_date     TEXT NOT NULL,
    reported_by  INTEGER NOT NULL,
    received_at  TIMESTAMP NOT NULL
);

CREATE INDEX play_reports_commune ON play_reports (commune_code, air_date, cluster_id);
