-- A province-wide emergency asked for by a producer waits here until an
-- administrator confirms it (a second person); one request per segment,
-- replaced by a newer one.
CREATE TABLE emergency_requests (
    segment_id   TEXT PRIMARY KEY REFERENCES segments (id),
    until        TIMESTAMPTZ NOT NULL,
    reason       TEXT NOT NULL,
    requested_by INTEGER NOT NULL REFERENCES users (id),
    requested_at TIMESTAMPTZ NOT NULL
);
