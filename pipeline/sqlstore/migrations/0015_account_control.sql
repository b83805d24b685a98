-- Account control: a user can be disabled (every session and token
-- refused until enabled again); a token has a kind ('api', or 'metrics':
-- it reads /metrics and nothing else) and the time it was last used
-- (written at most every few minutes); users and tokens made on the
-- server's command line name who made them ('cli:<unix user>').
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN created_actor TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE tokens ADD COLUMN last_used_at TIMESTAMP;
ALTER TABLE tokens ADD COLUMN created_actor TEXT NOT NULL DEFAULT '';

-- Account changes for the audit log: user.disable, user.enable,
-- user.sign_out_everywhere, token.revoke. actor_id is the user who did it
-- through the API or pages; actor names who did it on the command line.
CREATE TABLE account_events (
    id       INTEGER PRIMARY KEY,
    at       TIMESTAMP NOT NULL,
    actor_id INTEGER REFERENCES users (id),
    actor    TEXT NOT NULL DEFAULT '',
    action   TEXT NOT NULL,
    user_id  INTEGER NOT NULL REFERENCES users (id),
    token_id INTEGER REFERENCES tokens (id),
    detail   TEXT NOT NULL DEFAULT ''
);

CREATE INDEX account_events_at ON account_events (at);
