-- Event streams open in the deployment (GET .../events), one row per
-- stream and per key it counts against (its credential's hash, its user),
-- so the caps on open streams hold across replicas, not per process. The
-- process serving a stream renews its rows while the stream is open and
-- deletes them when it closes; rows of a process that died stop counting
-- once they have not been renewed for sqlstore.StreamLease.
CREATE TABLE event_streams (
    stream_id  TEXT NOT NULL,
    counted    TEXT NOT NULL,
    process    TEXT NOT NULL,
    renewed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (stream_id, counted)
);
CREATE INDEX event_streams_counted ON event_streams (counted, renewed_at);
CREATE INDEX event_streams_process ON event_streams (process);
