package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/report"
)

// FeedReport streams the rows a report of the period needs into b, in the
// order the Builder asks for (emergencies before plays, a slot's entries
// together). commune, when set, limits the schedule and play rows. It
// makes *DB a report.Source: report.Build builds the report.
func (db *DB) FeedReport(ctx context.Context, b report.Sink, p report.Period, commune string) error {
	from, until := p.From.UTC(), p.Until.UTC()
	dFrom, dUntil := p.From.In(report.Location()).Format(time.DateOnly), p.Until.In(report.Location()).Format(time.DateOnly)
	steps := []struct {
		what string
		fn   func() error
	}{
		{"segments", func() error { return db.feedSegments(ctx, b, from, until) }},
		{"variants", func() error { return db.feedVariants(ctx, b, until) }},
		{"jobs", func() error { return db.feedJobs(ctx, b, until) }},
		{"emergencies", func() error { return db.feedEmergencies(ctx, b, from) }},
		{"schedules", func() error { return db.feedScheduled(ctx, b, dFrom, dUntil, commune) }},
		{"proof of play", func() error { return db.feedPlays(ctx, b, dFrom, dUntil, commune) }},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("report %s: %s: %w", p.Name, s.what, err)
		}
	}
	return nil
}

func (db *DB) feedSegments(ctx context.Context, b report.Sink, from, until time.Time) error {
	rows, err := db.sql.QueryContext(ctx, `SELECT s.id, s.title, s.kind, s.topic, COALESCE(u.name, ''), s.priority, s.created_at, s.state
		FROM segments s LEFT JOIN users u ON u.id = s.producer_id WHERE s.created_at >= ? AND s.created_at < ?`, from, until)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s report.Segment
		var state string
		if err := rows.Scan(&s.ID, &s.Title, &s.Kind, &s.Topic, &s.Producer, &s.Priority, &s.CreatedAt, &state); err != nil {
			return err
		}
		s.Withdrawn = state == string(pipeline.StateWithdrawn)
		b.AddSegment(s)
	}
	return rows.Err()
}

func (db *DB) feedVariants(ctx context.Context, b report.Sink, until time.Time) error {
	rows, err := db.sql.QueryContext(ctx, `SELECT v.segment_id, v.language, v.ready_at, s.state FROM variants v
		JOIN segments s ON s.id = v.segment_id WHERE v.ready_at < ?`, until)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v report.Variant
		var state string
		if err := rows.Scan(&v.SegmentID, &v.Language, &v.ReadyAt, &state); err != nil {
			return err
		}
		v.Withdrawn = state == string(pipeline.StateWithdrawn)
		b.AddVariant(v)
	}
	return rows.Err()
}

func (db *DB) feedJobs(ctx context.Context, b report.Sink, until time.Time) error {
	rows, err := db.sql.QueryContext(ctx, `SELECT j.id, j.segment_id, j.language, j.kind, j.state, j.created_at, j.deadline,
		(SELECT e.at FROM job_events e WHERE e.job_id = j.id AND e.action = 'approve' ORDER BY e.at LIMIT 1)
		FROM jobs j WHERE j.created_at < ?`, until)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var j report.Job
		var approved sql.NullString
		if err := rows.Scan(&j.ID, &j.SegmentID, &j.Language, &j.Kind, &j.State, &j.CreatedAt, &j.Deadline, &approved); err != nil {
			return err
		}
		if approved.Valid {
			t, err := parseStoredTime(approved.String)
			if err != nil {
				return fmt.Errorf("job %s approval time: %w", j.ID, err)
			}
			j.ApprovedAt = t
		}
		b.AddJob(j)
	}
	return rows.Err()
}

func (db *DB) feedEmergencies(ctx context.Context, b report.Sink, from time.Time) error {
	// marked_at is the last raise or change, never before the first:
	// an emergency changed after the period (or first raised before it)
	// is read, and the Sink keeps it by its first raise (MarkedAt).
	rows, err := db.sql.QueryContext(ctx, `SELECT e.segment_id, s.title, e.targets, e.until, COALESCE(u.name, ''), COALESCE(r.name, ''), e.marked_at
		FROM emergencies e JOIN segments s ON s.id = e.segment_id LEFT JOIN users u ON u.id = e.marked_by
		LEFT JOIN users r ON r.id = e.requested_by AND e.requested_by <> 0
		WHERE e.marked_at >= ? ORDER BY e.marked_at`, from)
	if err != nil {
		return err
	}
	var ems []report.Emergency
	for rows.Next() {
		var e report.Emergency
		var targets string
		if err := rows.Scan(&e.SegmentID, &e.Title, &targets, &e.Until, &e.MarkedBy, &e.RequestedBy, &e.MarkedAt); err != nil {
			rows.Close()
			return err
		}
		if targets != "" {
			e.Targets = strings.Split(targets, ",")
		}
		ems = append(ems, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range ems {
		e := &ems[i]
		rows, err := db.sql.QueryContext(ctx, `SELECT commune_code, raised_at FROM emergency_communes WHERE segment_id = ?`, e.SegmentID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c string
			var at time.Time
			if err := rows.Scan(&c, &at); err != nil {
				rows.Close()
				return err
			}
			if at.Before(e.MarkedAt) {
				e.MarkedAt = at
			}
			if e.Raised == nil {
				e.Raised = map[string]time.Time{}
			}
			e.Raised[c] = at
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, e := range ems {
		// The first version of each commune built since the emergency
		// that carries it as an interrupt: when its playlist changed.
		rows, err := db.sql.QueryContext(ctx, `SELECT sv.commune_code, sv.built_at FROM schedule_versions sv
			WHERE sv.built_at >= ? AND EXISTS (SELECT 1 FROM schedule_interrupts i WHERE i.version_id = sv.id AND i.segment_id = ?)
			ORDER BY sv.built_at`, e.MarkedAt.Add(-time.Minute).UTC(), e.SegmentID)
		if err != nil {
			return err
		}
		e.Changed = map[string]time.Time{}
		for rows.Next() {
			var c string
			var at time.Time
			if err := rows.Scan(&c, &at); err != nil {
				rows.Close()
				return err
			}
			if _, ok := e.Changed[c]; !ok {
				e.Changed[c] = at
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		b.AddEmergency(e)
	}
	return nil
}

// effective picks, for each commune and day, the last schedule version
// built that has entries for that day: what the loudspeakers had.
const effective = `WITH eff AS (
	SELECT commune_code, air_date, version_id FROM (
		SELECT sv.commune_code, d.air_date, d.version_id,
			ROW_NUMBER() OVER (PARTITION BY sv.commune_code, d.air_date ORDER BY sv.built_at DESC, sv.id DESC) AS rn
		FROM schedule_days d
		JOIN schedule_versions sv ON sv.id = d.version_id
		WHERE d.air_date >= ? AND d.air_date < ? AND (sv.commune_code = ? OR ? = '')
	) ranked WHERE rn = 1)
`

// feedScheduled streams the entries of the schedule each commune had each
// day: the effective versions' blobs, a commune at a time, in the order
// cluster, date, slot, position.
func (db *DB) feedScheduled(ctx context.Context, b report.Sink, dFrom, dUntil, commune string) error {
	rows, err := db.sql.QueryContext(ctx, effective+`SELECT commune_code, air_date, version_id FROM eff ORDER BY commune_code, air_date`,
		dFrom, dUntil, commune, commune)
	if err != nil {
		return err
	}
	type day struct{ commune, date, version string }
	var days []day
	for rows.Next() {
		var d day
		if err := rows.Scan(&d.commune, &d.date, &d.version); err != nil {
			rows.Close()
			return err
		}
		days = append(days, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var out []report.Scheduled
	flush := func() {
		slices.SortStableFunc(out, func(a, b report.Scheduled) int {
			return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.Date, b.Date), cmp.Compare(a.SlotStart, b.SlotStart))
		})
		for _, s := range out {
			b.AddScheduled(s)
		}
		out = out[:0]
	}
	for i, d := range days {
		if i > 0 && days[i-1].commune != d.commune {
			flush()
		}
		items, err := db.allVersionItems(ctx, d.version)
		if err != nil {
			return err
		}
		for _, it := range items { // in stored order: by cluster, date, slot, position
			if it.Date == d.date {
				out = append(out, report.Scheduled{Commune: d.commune, Cluster: it.Cluster, Date: it.Date, SlotStart: it.SlotStart,
					Kind: it.Kind, SegmentID: it.SegmentID, Language: it.Language, DurationMS: it.DurationMS})
			}
		}
	}
	flush()
	return nil
}

// feedPlays merges the reports of each entry (a device may report an
// entry more than once under different ids): played if any says so, the
// longest play, the earliest start. The entry's language comes from the
// schedule the commune had that day. Communes are read one at a time:
// their versions' entries are decoded between queries (SQLite has one
// connection, so no query may run while another's rows are open).
func (db *DB) feedPlays(ctx context.Context, b report.Sink, dFrom, dUntil, commune string) error {
	communes, err := queryAll(ctx, db.sql, "communes with plays", func(sc scanner) (string, error) {
		var c string
		return c, sc.Scan(&c)
	}, `SELECT DISTINCT commune_code FROM play_reports WHERE air_date >= ? AND air_date < ? AND (commune_code = ? OR ? = '')
		ORDER BY commune_code`, dFrom, dUntil, commune, commune)
	if err != nil {
		return err
	}
	for _, c := range communes {
		if err := db.feedCommunePlays(ctx, b, dFrom, dUntil, c); err != nil {
			return err
		}
	}
	return nil
}

// playRow is a play report as feedCommunePlays reads it, with the
// version the commune had that day.
type playRow struct {
	report.Play
	version string
}

// feedCommunePlays is feedPlays for one commune.
func (db *DB) feedCommunePlays(ctx context.Context, b report.Sink, dFrom, dUntil, commune string) error {
	plays, err := queryAll(ctx, db.sql, "plays of "+commune, func(sc scanner) (playRow, error) {
		var p playRow
		var fin sql.NullTime
		if err := sc.Scan(&p.Commune, &p.Cluster, &p.Date, &p.EntryID, &p.SegmentID, &p.Status, &p.Started, &fin, &p.version); err != nil {
			return p, err
		}
		if p.Status == "played" && fin.Valid && fin.Time.After(p.Started) {
			p.PlayedMS = fin.Time.Sub(p.Started).Milliseconds()
		}
		return p, nil
	}, effective+`SELECT p.commune_code, p.cluster_id, p.air_date, p.entry_id, p.segment_id, p.status,
		p.started_at, p.finished_at, COALESCE(e.version_id, '')
		FROM play_reports p LEFT JOIN eff e ON e.commune_code = p.commune_code AND e.air_date = p.air_date
		WHERE p.air_date >= ? AND p.air_date < ? AND p.commune_code = ?
		ORDER BY p.cluster_id, p.air_date, p.entry_id`, dFrom, dUntil, commune, commune, dFrom, dUntil, commune)
	if err != nil {
		return err
	}
	// The language of each entry of the commune's versions, by version
	// and cluster/date/entry.
	langs := map[string]map[string]string{}
	var cur report.Play
	have := false
	for _, r := range plays {
		p := r.Play
		if r.version != "" {
			m, ok := langs[r.version]
			if !ok {
				items, err := db.allVersionItems(ctx, r.version)
				if err != nil {
					return err
				}
				m = make(map[string]string, len(items))
				for _, it := range items {
					k := it.Cluster + "/" + it.Date + "/" + it.EntryID
					if _, dup := m[k]; !dup {
						m[k] = it.Language
					}
				}
				langs[r.version] = m
			}
			p.Language = m[p.Cluster+"/"+p.Date+"/"+p.EntryID]
		}
		if have && cur.Cluster == p.Cluster && cur.Date == p.Date && cur.EntryID == p.EntryID {
			if p.Status == "played" {
				if cur.Status != "played" || p.Started.Before(cur.Started) {
					cur.Started = p.Started
				}
				cur.Status = "played"
			}
			cur.PlayedMS = max(cur.PlayedMS, p.PlayedMS)
			continue
		}
		if have {
			b.AddPlay(cur)
		}
		cur, have = p, true
	}
	if have {
		b.AddPlay(cur)
	}
	return nil
}

// parseStoredTime reads a time the SQLite driver wrote as text (what a
// computed column returns instead of a time.Time).
func parseStoredTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("unreadable time " + s)
}
