-- Each commune's schedule versions are numbered 1, 2, 3... in the order
-- they are stored; signed bundles carry the number so a device refuses a
-- bundle older than the one it has (a replayed bundle that would drop an
-- emergency).
ALTER TABLE schedule_versions ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;

UPDATE schedule_versions SET seq = (
    SELECT COUNT(*) FROM schedule_versions o
    WHERE o.commune_code = schedule_versions.commune_code
      AND (o.built_at < schedule_versions.built_at OR (o.built_at = schedule_versions.built_at AND o.id <= schedule_versions.id)));

CREATE INDEX schedule_versions_seq ON schedule_versions (commune_code, seq);
