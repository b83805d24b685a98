-- A wide emergency asked for by a producer (the whole province, or more
-- communes than one person may reach alone) waits here until an
-- administrator confirms it (a second person); one request per segment,
-- replaced by a newer one. targets: comma-separated commune codes, ''
-- for the whole province.
CREATE TABLE emergency_requests (
    segment_id   TEXT PRIMARY KEY REFERENCES segments (id),
    targets      TEXT NOT NULL DEFAULT '',
    until        TIMESTAMPTZ NOT NULL,
    reason       TEXT NOT NULL,
    requested_by BIGINT NOT NULL REFERENCES users (id),
    requested_at TIMESTAMPTZ NOT NULL
);
