-- A schedule version's entries blob (schedule_versions.items, about 8 KB
-- a commune) is stored out of line without compression: pglz compressing
-- each one was a quarter of the server's work in a national build (3,321
-- versions) and saved little, the strings being shared already (see
-- sqlstore/itemblob.go). Versions stored before keep their compression.
ALTER TABLE schedule_versions ALTER COLUMN items SET STORAGE EXTERNAL;
