-- When each commune got the emergency in force on a segment: a raise
-- that adds communes leaves the communes already in force their own
-- time (their interrupt and slots stay as they were), and the report
-- names it. commune_code '' stands for every commune of a province-wide
-- emergency that has no row of its own. An emergency stored before this
-- table has no rows: its marked_at stands for every commune.
CREATE TABLE emergency_communes (
    segment_id   TEXT NOT NULL REFERENCES segments (id),
    commune_code TEXT NOT NULL,
    raised_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (segment_id, commune_code)
);

-- The producer who asked for a wide emergency an administrator confirmed
-- (marked_by); 0 when nobody asked (or before this column).
ALTER TABLE emergencies ADD COLUMN requested_by INTEGER NOT NULL DEFAULT 0;
