-- Browser sessions of the web pages. The cookie holds a random token;
-- only its SHA-256 is stored, as for API tokens. A session ends when the
-- user signs out, when it has been idle too long, or at its hard expiry.

CREATE TABLE sessions (
    hash         TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
