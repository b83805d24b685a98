-- A system event of a job keeps why it happened as a message key and its
-- arguments (JSON of translation.Note: {"key":"opened","args":[{"kind":
-- "duration","value":"259200"},...]}), so the pages say it in the
-- reader's language; reason keeps the English line. '' for a person's
-- event and for events recorded before this column.
ALTER TABLE job_events ADD COLUMN note TEXT NOT NULL DEFAULT '';
