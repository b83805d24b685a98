-- A nightly build's claim names its owner (one attempt of one process)
-- and lasts until lease_until unless the owner renews it. A claim whose
-- lease has passed without finishing belongs to an owner that died: the
-- next attempt takes it over instead of taking it for a finished build.
-- Claims made before this migration have no lease: taken over at once.
ALTER TABLE schedule_builds ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE schedule_builds ADD COLUMN lease_until TIMESTAMPTZ;
