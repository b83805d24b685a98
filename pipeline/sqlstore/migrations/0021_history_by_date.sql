-- The airing history holds one row per commune and date instead of one
-- per segment: segment_ids is the ids of the segments scheduled that day,
-- sorted (byte order) and joined by newlines, an id's backslashes and
-- newlines written as \\ and \n (sqlstore/historyids.go). A national
-- rebuild then reads and rewrites some 23,000 rows, not 110,000.
CREATE TABLE schedule_history_days (
    commune_code TEXT NOT NULL,
    air_date     TEXT NOT NULL,
    segment_ids  TEXT NOT NULL,
    PRIMARY KEY (commune_code, air_date)
);

INSERT INTO schedule_history_days (commune_code, air_date, segment_ids)
SELECT commune_code, air_date,
       group_concat(replace(replace(segment_id, '\', '\\'), char(10), '\n'), char(10) ORDER BY segment_id)
FROM schedule_history
GROUP BY commune_code, air_date;

DROP TABLE schedule_history;
ALTER TABLE schedule_history_days RENAME TO schedule_history;
