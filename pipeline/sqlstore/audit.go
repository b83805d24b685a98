package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/bulletin"
	"github.com/sonla-cchc/loa/pipeline/report"
)

// auditQuery unifies the event tables. Users and tokens made through the
// API name the admin, on the server's command line "cli:<unix user>"
// (before that was recorded, no one). Disabling, enabling, revoking and
// signing out everywhere come from account_events; a token revoked before
// those were recorded shows no actor.
const auditQuery = `SELECT at, actor, action, subject, detail FROM (
	SELECT e.at AS at, COALESCE(u.name, '') AS actor, 'segment.' || e.action AS action, e.segment_id AS subject, e.detail AS detail
		FROM segment_events e LEFT JOIN users u ON u.id = e.user_id
	UNION ALL
	SELECT e.at, COALESCE(u.name, ''), 'job.' || e.action, e.job_id,
		e.from_state || ' -> ' || e.to_state || CASE WHEN e.reason <> '' THEN ': ' || e.reason ELSE '' END
		FROM job_events e LEFT JOIN users u ON u.id = e.actor_id
	UNION ALL
	SELECT n.created_at, COALESCE(a.name, n.created_actor), 'user.create', n.name, 'role ' || n.role || CASE WHEN n.languages <> '' THEN ', languages ' || n.languages ELSE '' END
		|| CASE WHEN n.commune <> '' THEN ', commune ' || n.commune ELSE '' END FROM users n LEFT JOIN users a ON a.id = n.created_by
	UNION ALL
	SELECT t.created_at, COALESCE(a.name, t.created_actor), 'token.create', u.name,
		CASE WHEN t.kind <> 'api' THEN t.kind || ' token ' ELSE '' END || t.label FROM tokens t JOIN users u ON u.id = t.user_id
		LEFT JOIN users a ON a.id = t.created_by
	UNION ALL
	SELECT t.revoked_at, '', 'token.revoke', u.name, t.label FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.revoked_at IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM account_events e WHERE e.token_id = t.id AND e.action = 'token.revoke')
	UNION ALL
	SELECT e.at, COALESCE(a.name, e.actor), e.action, u.name,
		CASE WHEN e.token_id IS NOT NULL THEN 'token ' || CAST(e.token_id AS TEXT) || CASE WHEN e.detail <> '' THEN ' ' || e.detail ELSE '' END ELSE e.detail END
		FROM account_events e JOIN users u ON u.id = e.user_id LEFT JOIN users a ON a.id = e.actor_id
) events WHERE at >= ? AND at < ? ORDER BY at, action, subject LIMIT ?`

// MaxAudit bounds one audit read.
const MaxAudit = 100000

// Audit lists who did what between from and until, oldest first, at most
// MaxAudit entries.
func (db *DB) Audit(ctx context.Context, from, until time.Time) ([]pipeline.AuditEntry, error) {
	rows, err := db.sql.QueryContext(ctx, auditQuery, from.UTC(), until.UTC(), MaxAudit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	out := []pipeline.AuditEntry{}
	for rows.Next() {
		var e pipeline.AuditEntry
		var at any
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if e.At, err = anyTime(at); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// anyTime reads a time column that may come back as a time or as text.
func anyTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		return parseStoredTime(x)
	case []byte:
		return parseStoredTime(string(x))
	case nil:
		return time.Time{}, nil
	}
	return time.Time{}, fmt.Errorf("unreadable time %v", v)
}

// bulletinSelect reads bulletin items (scanBulletinItem); the type and
// length are the stored rendition's where it is recorded, else the
// variant's.
const bulletinSelect = `SELECT v.segment_id, v.language, s.title, s.topic, s.kind, v.ready_at, s.air_from, v.audio_key,
		COALESCE((SELECT r.content_type FROM renditions r WHERE r.object_key = v.audio_key), 'audio/mpeg'), v.duration_ms,
		COALESCE((SELECT r.size_bytes FROM renditions r WHERE r.object_key = v.audio_key), v.size_bytes)
		FROM variants v JOIN segments s ON s.id = v.segment_id`

// bulletinAt is when an item enters the bulletin: once it is ready and
// its air window has begun (a producer's air_from is an embargo the portal
// and podcast apps keep too).
const bulletinAt = `(CASE WHEN s.air_from > v.ready_at THEN s.air_from ELSE v.ready_at END)`

// bulletinOnAir keeps an item out of the bulletin before bulletinAt, and
// an emergency segment in it only while its emergency is in force (two
// arguments: now, now): a warning that was called off or ran out must not
// go on circulating on the portal and in podcast apps. Other segments stay
// once their air window has begun.
const bulletinOnAir = ` AND ` + bulletinAt + ` <= ? AND (s.priority <> 'emergency' OR EXISTS (SELECT 1 FROM emergencies e WHERE e.segment_id = s.id AND e.until > ?))`

// scanBulletinItem reads a row of bulletinSelect; the item's ReadyAt is
// bulletinAt.
func scanBulletinItem(row interface{ Scan(...any) error }) (bulletin.Item, error) {
	var b bulletin.Item
	var airFrom time.Time
	if err := row.Scan(&b.SegmentID, &b.Language, &b.Title, &b.Topic, &b.Kind, &b.ReadyAt, &airFrom, &b.AudioKey, &b.ContentType, &b.DurationMS, &b.Size); err != nil {
		return b, err
	}
	if airFrom.After(b.ReadyAt) {
		b.ReadyAt = airFrom
	}
	return b, nil
}

// BulletinItem returns the segment's bulletin item in lang, if the
// segment is ready in that language, not withdrawn and, for an emergency,
// in force (bulletinOnAir); otherwise an error with CodeNotFound.
func (db *DB) BulletinItem(ctx context.Context, segmentID, lang string) (bulletin.Item, error) {
	now := db.Now().UTC()
	b, err := scanBulletinItem(db.sql.QueryRowContext(ctx, bulletinSelect+`
		WHERE v.segment_id = ? AND v.language = ? AND s.state <> 'withdrawn'`+bulletinOnAir, segmentID, lang, now, now))
	if errors.Is(err, sql.ErrNoRows) {
		return b, pipeline.Errorf(pipeline.CodeNotFound, "No bulletin item %q in %q: it was withdrawn, is not ready in that language, or is an emergency no longer in force.", segmentID, lang)
	}
	if err != nil {
		return b, fmt.Errorf("bulletin item %s/%s: %w", segmentID, lang, err)
	}
	return b, nil
}

// BulletinItems lists the segments that became ready to air in lang
// between from and until (approved translations; processed Vietnamese),
// or whose air window began then when that is later (bulletinAt),
// leaving out withdrawn segments and emergencies no longer in force
// (bulletinOnAir), oldest first.
func (db *DB) BulletinItems(ctx context.Context, lang string, from, until time.Time) ([]bulletin.Item, error) {
	now := db.Now().UTC()
	rows, err := db.sql.QueryContext(ctx, bulletinSelect+`
		WHERE v.language = ? AND `+bulletinAt+` >= ? AND `+bulletinAt+` < ? AND s.state <> 'withdrawn'`+bulletinOnAir+` ORDER BY `+bulletinAt+`, v.segment_id`,
		lang, from.UTC(), until.UTC(), now, now)
	if err != nil {
		return nil, fmt.Errorf("bulletin items: %w", err)
	}
	defer rows.Close()
	out := []bulletin.Item{}
	for rows.Next() {
		b, err := scanBulletinItem(rows)
		if err != nil {
			return nil, fmt.Errorf("bulletin items: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// RecordReport records a stored report (replacing the row of the same
// period and format, whose object the caller overwrote in place).
func (db *DB) RecordReport(ctx context.Context, r report.StoredReport) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO reports (period, format, object_key, sha256, size_bytes, generated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (period, format) DO UPDATE SET object_key = excluded.object_key, sha256 = excluded.sha256, size_bytes = excluded.size_bytes,
		generated_at = excluded.generated_at`, r.Period, r.Format, r.Key, r.SHA256, r.Size, r.GeneratedAt.UTC())
	if err != nil {
		return fmt.Errorf("record report %s %s: %w", r.Period, r.Format, err)
	}
	return nil
}

// StoredReports lists the stored reports, newest period first.
func (db *DB) StoredReports(ctx context.Context) ([]report.StoredReport, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT period, format, object_key, sha256, size_bytes, generated_at FROM reports ORDER BY generated_at DESC, period, format")
	if err != nil {
		return nil, fmt.Errorf("stored reports: %w", err)
	}
	defer rows.Close()
	out := []report.StoredReport{}
	for rows.Next() {
		var r report.StoredReport
		if err := rows.Scan(&r.Period, &r.Format, &r.Key, &r.SHA256, &r.Size, &r.GeneratedAt); err != nil {
			return nil, fmt.Errorf("stored reports: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReportStored reports whether the period's report is stored in format.
func (db *DB) ReportStored(ctx context.Context, period, format string) (bool, error) {
	var n int
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM reports WHERE period = ? AND format = ?", period, format).Scan(&n); err != nil {
		return false, fmt.Errorf("report stored: %w", err)
	}
	return n > 0, nil
}

// Ops reads queue depth and age, translation job states and devices that
// have not reported play since silentSince.
func (db *DB) Ops(ctx context.Context, silentSince time.Time) (pipeline.OpsStats, error) {
	st := pipeline.OpsStats{Jobs: map[[2]string]int{}, SilentDevices: map[string]int{}}
	rows, err := db.sql.QueryContext(ctx, `SELECT kind, state, COUNT(*), MIN(scheduled_at) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending') GROUP BY kind, state`)
	if err != nil {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	for rows.Next() {
		var q pipeline.QueueStat
		var oldest any
		if err := rows.Scan(&q.Kind, &q.State, &q.Count, &oldest); err != nil {
			rows.Close()
			return st, fmt.Errorf("queue stats: %w", err)
		}
		q.Oldest, _ = anyTime(oldest)
		st.Queue = append(st.Queue, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	rows, err = db.sql.QueryContext(ctx, "SELECT language, state, COUNT(*) FROM jobs GROUP BY language, state")
	if err != nil {
		return st, fmt.Errorf("job stats: %w", err)
	}
	for rows.Next() {
		var l, s string
		var n int
		if err := rows.Scan(&l, &s, &n); err != nil {
			rows.Close()
			return st, fmt.Errorf("job stats: %w", err)
		}
		st.Jobs[[2]string{l, s}] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("job stats: %w", err)
	}
	rows, err = db.sql.QueryContext(ctx, `SELECT d.commune_code, NOT EXISTS (SELECT 1 FROM play_reports p WHERE p.reported_by = d.user_id AND p.received_at >= ?)
		FROM devices d`, silentSince.UTC())
	if err != nil {
		return st, fmt.Errorf("device stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		var silent bool
		if err := rows.Scan(&c, &silent); err != nil {
			return st, fmt.Errorf("device stats: %w", err)
		}
		st.Devices++
		if silent {
			st.SilentDevices[c]++
		}
	}
	return st, rows.Err()
}

// ReportKey is the object key of a stored report: generated from the
// period's canonical name and the format only.
func ReportKey(period, fileName string) string {
	sum := sha256.Sum256([]byte(period))
	return "reports/" + hex.EncodeToString(sum[:4]) + "/" + fileName
}
