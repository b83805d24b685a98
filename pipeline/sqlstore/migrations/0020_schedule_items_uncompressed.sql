-- PostgreSQL stores schedule version blobs uncompressed from this version
-- on (postgres/0020); SQLite never compressed them, so nothing changes here.
SELECT 1;
