-- Translation and subtitle jobs, their history and submissions, the
-- translation memory, the glossary, and the outbox of notices.

-- One job per segment, target language and kind (subtitle, voiceover).
-- lease_until is set while a translator holds the job; the claim is an
-- UPDATE guarded by the state read in the same write transaction.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    segment_id    TEXT NOT NULL REFERENCES segments (id),
    language      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL,
    translator_id INTEGER REFERENCES users (id),
    reviewer_id   INTEGER REFERENCES users (id),
    lease_until   TIMESTAMP,
    deadline      TIMESTAMP NOT NULL,
    overdue       INTEGER NOT NULL DEFAULT 0,
    warned        INTEGER NOT NULL DEFAULT 0,
    extensions    INTEGER NOT NULL DEFAULT 0,
    submissions   INTEGER NOT NULL DEFAULT 0,
    reason        TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (segment_id, language, kind)
);

CREATE INDEX jobs_state ON jobs (state, language, deadline);
CREATE INDEX jobs_translator ON jobs (translator_id, state);
CREATE INDEX jobs_lease ON jobs (lease_until);

-- Every transition: who (0 = the system), when, what, from and to, why.
CREATE TABLE job_events (
    id         INTEGER PRIMARY KEY,
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    at         TIMESTAMP NOT NULL,
    actor_id   INTEGER NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT ''
);

CREATE INDEX job_events_job ON job_events (job_id, id);

-- Each translation handed in, under a key Loa generates, with the
-- warnings its checks gave.
CREATE TABLE job_submissions (
    job_id       TEXT NOT NULL REFERENCES jobs (id),
    n            INTEGER NOT NULL,
    object_key   TEXT NOT NULL UNIQUE,
    file_name    TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    duration_ms  BIGINT NOT NULL DEFAULT 0,
    findings     TEXT NOT NULL DEFAULT '[]',
    user_id      INTEGER NOT NULL REFERENCES users (id),
    at           TIMESTAMP NOT NULL,
    PRIMARY KEY (job_id, n)
);

-- Approved translations of Vietnamese subtitle cues, per language; the
-- latest approval of a cue wins. source_key is the folded Vietnamese text.
CREATE TABLE translation_memory (
    language   TEXT NOT NULL,
    source_key TEXT NOT NULL,
    source     TEXT NOT NULL,
    target     TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (language, source_key)
);

CREATE INDEX translation_memory_recent ON translation_memory (language, updated_at);

-- Approved translations of CCHC terms, per language; managed by admins.
CREATE TABLE glossary (
    language    TEXT NOT NULL,
    term_key    TEXT NOT NULL,
    term        TEXT NOT NULL,
    translation TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (language, term_key)
);

-- Notices waiting to be handed to the queue: written in the transaction
-- that makes them true, so a notice exists exactly when its cause does.
-- audience is 'user' (user_id), or a role with the job's language.
CREATE TABLE notices (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    job_id     TEXT NOT NULL DEFAULT '',
    language   TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL DEFAULT '',
    user_id    INTEGER NOT NULL DEFAULT 0,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    queued_at  TIMESTAMP
);

CREATE INDEX notices_pending ON notices (queued_at, id);

-- Where a user hears of notices: an email address for the SMTP sender.
CREATE TABLE user_contacts (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    email   TEXT NOT NULL DEFAULT ''
);
