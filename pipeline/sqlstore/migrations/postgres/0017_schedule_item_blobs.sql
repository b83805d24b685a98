-- A schedule version's entries become one blob on its version row
-- (schedule_versions.items, see sqlstore/itemblob.go) instead of one
-- schedule_items row each: a national build writes one row per changed
-- commune, not about a million. Two narrow tables keep what reports and
-- the proof-of-play check query in SQL: the dates a version has entries
-- on, and the segments it interrupts with. The existing entries are
-- packed into blobs when loa migrates (sqlstore.packScheduleItems),
-- which then drops schedule_items.
ALTER TABLE schedule_versions ADD COLUMN items BYTEA;

CREATE TABLE schedule_days (
    version_id TEXT NOT NULL REFERENCES schedule_versions (id) ON DELETE CASCADE,
    air_date   TEXT NOT NULL,
    PRIMARY KEY (air_date, version_id)
);

CREATE TABLE schedule_interrupts (
    version_id TEXT NOT NULL REFERENCES schedule_versions (id) ON DELETE CASCADE,
    segment_id TEXT NOT NULL,
    PRIMARY KEY (segment_id, version_id)
);

INSERT INTO schedule_days (version_id, air_date) SELECT DISTINCT version_id, air_date FROM schedule_items;

INSERT INTO schedule_interrupts (version_id, segment_id)
    SELECT DISTINCT version_id, segment_id FROM schedule_items WHERE kind = 'interrupt';
