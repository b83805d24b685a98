-- Reports produced when a period closes, and what reports and the
-- bulletin need to read quickly.

-- One stored report per period and format: the object key Loa generated,
-- its checksum, and when it was computed. Figures are never edited: a
-- report is recomputed from the catalog, never patched.
CREATE TABLE reports (
    period       TEXT NOT NULL,
    format       TEXT NOT NULL,
    object_key   TEXT NOT NULL UNIQUE,
    sha256       TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    generated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (period, format)
);

-- Reports pick each commune's schedule for each day by date.
CREATE INDEX schedule_items_date ON schedule_items (air_date, version_id);
-- Reports and the bulletin read proof of play and variants by time.
CREATE INDEX play_reports_date ON play_reports (air_date, commune_code);
CREATE INDEX emergencies_marked ON emergencies (marked_at);
