-- When each commune operator or loudspeaker device last asked for its
-- playlists, bundle or events. The API keeps polls in memory and writes a
-- user's row at most once a minute, so serving a playlist stays free of
-- writes; the metrics endpoint counts devices with no poll in a day.
CREATE TABLE device_polls (
    user_id   INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    polled_at TIMESTAMPTZ NOT NULL
);
