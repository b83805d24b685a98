-- Duplicate detection is by sha256 within one producer's segments that
-- are not withdrawn, so the same bytes may be stored for two producers,
-- and again after a withdrawal: the table-wide UNIQUE on sha256 goes.
-- PostgreSQL drops the constraint in place (SQLite rebuilds the table).
ALTER TABLE segments DROP CONSTRAINT segments_sha256_key;

CREATE INDEX segments_producer_sha256 ON segments (producer_id, sha256);
