-- Play-report ids are the reporter's, so they are unique only within the
-- reporter's commune: a device of one commune must not be able to claim
-- an id first and make another commune's real report a "retry".
CREATE TABLE play_reports_scoped (
    id           TEXT NOT NULL,
    commune_code TEXT NOT NULL,
    cluster_id   TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    segment_id   TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    reason       TEXT NOT NULL DEFAULT '',
    air_date     TEXT NOT NULL,
    reported_by  INTEGER NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (commune_code, id)
);

INSERT INTO play_reports_scoped (id, commune_code, cluster_id, entry_id, segment_id, status, started_at, finished_at,
    reason, air_date, reported_by, received_at)
SELECT id, commune_code, cluster_id, entry_id, segment_id, status, started_at, finished_at,
    reason, air_date, reported_by, received_at FROM play_reports;

DROP TABLE play_reports;
ALTER TABLE play_reports_scoped RENAME TO play_reports;

CREATE INDEX play_reports_commune ON play_reports (commune_code, air_date, cluster_id);
CREATE INDEX play_reports_date ON play_reports (air_date, commune_code);
