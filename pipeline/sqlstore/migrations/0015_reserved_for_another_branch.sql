-- Placeholder on the perf branch only: version 0015 belongs to another
-- helper's branch, and migrations must be numbered without gaps for this
-- branch's 0017 to load. Drop this file when merging that branch's 0015.
SELECT 1;
