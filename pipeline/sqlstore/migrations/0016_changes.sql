-- The change feed (changes.go): every change other processes must hear of
-- (a token revoked, a user changed, a schedule head moved, a registry
-- imported) adds a row in its own transaction; every process reads the rows
-- after the last id it saw. Rows are transient (swept after FeedKeep) and
-- not copied by loa db copy.
CREATE TABLE changes (
	id   INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL,
	key  TEXT NOT NULL DEFAULT '',
	note TEXT NOT NULL DEFAULT '',
	at   TIMESTAMP NOT NULL
);
CREATE INDEX changes_at ON changes (at);
