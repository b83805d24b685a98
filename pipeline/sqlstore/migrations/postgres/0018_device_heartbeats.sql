-- The latest heartbeat of each commune player (loa player): when it
-- arrived by the server's clock, the interval the device announced (the
-- online/late/offline thresholds are multiples of it) and the heartbeat
-- itself (JSON: schedules.Heartbeat). Only device accounts have a row; one
-- row per device, replaced by each newer heartbeat, so every server
-- replica sees the same state.
CREATE TABLE device_heartbeats (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    received_at TIMESTAMPTZ NOT NULL,
    every_s     INTEGER NOT NULL,
    heartbeat   TEXT NOT NULL
);
