package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// BeginUpload records that an object is about to be streamed to key, so a
// crash mid-upload leaves a trace for the sweep to clean up.
func (db *DB) BeginUpload(ctx context.Context, key string, userID int64) error {
	_, err := db.sql.ExecContext(ctx, "INSERT INTO uploads (object_key, user_id, started_at) VALUES (?, ?, ?)", key, userID, db.Now())
	if err != nil {
		return fmt.Errorf("begin upload %s: %w", key, err)
	}
	return nil
}

// EndUpload forgets an upload whose object has been removed.
func (db *DB) EndUpload(ctx context.Context, key string) error {
	if _, err := db.sql.ExecContext(ctx, "DELETE FROM uploads WHERE object_key = ?", key); err != nil {
		return fmt.Errorf("end upload %s: %w", key, err)
	}
	return nil
}

// StaleUploads lists the object keys of uploads started before t that
// never became a segment.
func (db *DB) StaleUploads(ctx context.Context, before time.Time) ([]string, error) {
	return queryAll(ctx, db.sql, "stale uploads", func(r scanner) (k string, err error) { return k, r.Scan(&k) },
		"SELECT object_key FROM uploads WHERE started_at < ? ORDER BY started_at", before)
}

// ObjectKeyKnown reports whether a segment or an upload in flight refers
// to key, so the orphan sweep never removes a live object.
func (db *DB) ObjectKeyKnown(ctx context.Context, key string) (bool, error) {
	var n int
	err := db.sql.QueryRowContext(ctx,
		`SELECT (SELECT COUNT(*) FROM segments WHERE original_key = ? OR subtitle_key = ?)
		      + (SELECT COUNT(*) FROM uploads WHERE object_key = ?)
		      + (SELECT COUNT(*) FROM renditions WHERE object_key = ?)
		      + (SELECT COUNT(*) FROM variants WHERE audio_key = ?)`, key, key, key, key, key).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("object key %s known: %w", key, err)
	}
	return n > 0, nil
}

// InsertSegment records a probed segment and ends its upload in one
// transaction; duplicates are looked for among the same producer's
// segments only. See [DB.InsertUpload].
func (db *DB) InsertSegment(ctx context.Context, s pipeline.Segment, then func(*sql.Tx) error) (pipeline.Segment, bool, error) {
	return db.InsertUpload(ctx, s, false, then)
}

// InsertUpload records a probed segment and ends its upload in one
// transaction. then, when not nil, runs inside the same transaction (to
// enqueue the segment's processing job atomically with the row). When a
// segment the uploader may see has the same sha256 and is not withdrawn,
// it returns that one with created=false, so the caller can remove its own
// copy of the object. The uploader sees the segments of s.ProducerID, or
// every producer's when seesAll (an administrator): another producer's
// segment (its title, original and subtitles) is never handed to a
// producer, and withdrawn content can be uploaded again as a new segment.
func (db *DB) InsertUpload(ctx context.Context, s pipeline.Segment, seesAll bool, then func(*sql.Tx) error) (pipeline.Segment, bool, error) {
	probe, err := json.Marshal(s.Probe)
	if err != nil {
		return s, false, fmt.Errorf("insert segment: encode probe: %w", err)
	}
	var loudness sql.NullString
	if s.Loudness != nil {
		b, err := json.Marshal(s.Loudness)
		if err != nil {
			return s, false, fmt.Errorf("insert segment: encode loudness: %w", err)
		}
		loudness = sql.NullString{String: string(b), Valid: true}
	}
	var existing string
	created := false
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM segments WHERE sha256 = ? AND state <> ? AND (producer_id = ? OR ?)
			ORDER BY producer_id <> ?, created_at, id LIMIT 1`, s.SHA256, string(pipeline.StateWithdrawn), s.ProducerID, seesAll, s.ProducerID).Scan(&existing)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO segments (id, sha256, title, kind, topic, priority, air_from, air_until,
			languages, state, producer_id, original_key, original_name, content_type, size_bytes, probe, loudness, subtitle_key,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.SHA256, s.Title, string(s.Kind), s.Topic, string(s.Priority), s.AirFrom.UTC(), s.AirUntil.UTC(),
			strings.Join(s.Languages, ","), string(s.State), s.ProducerID, s.OriginalKey, s.OriginalName, s.ContentType,
			s.Size, string(probe), loudness, s.SubtitleKey, s.CreatedAt.UTC(), s.UpdatedAt.UTC())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM uploads WHERE object_key IN (?, ?)", s.OriginalKey, s.SubtitleKey); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, s.ID, s.ProducerID, "upload", s.OriginalName, s.CreatedAt); err != nil {
			return err
		}
		created = true
		if then != nil {
			return then(tx)
		}
		return nil
	})
	if err != nil {
		return s, false, fmt.Errorf("insert segment %s: %w", s.ID, err)
	}
	if !created {
		got, err := db.Segment(ctx, existing)
		return got, false, err
	}
	got, err := db.Segment(ctx, s.ID)
	return got, true, err
}

func addEvent(ctx context.Context, tx *sql.Tx, segmentID string, userID int64, action, detail string, at time.Time) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO segment_events (segment_id, at, user_id, action, detail) VALUES (?, ?, ?, ?, ?)",
		segmentID, at.UTC(), userID, action, detail)
	if err != nil {
		return fmt.Errorf("record %s event: %w", action, err)
	}
	return nil
}

// segmentColumns are a segment's columns for scanSegment. They take one
// argument, the first of the query's: now (db.Now), at or after which a
// waiting emergency request's end makes it expired.
const segmentColumns = `s.id, s.sha256, s.title, s.kind, s.topic, s.priority, s.air_from, s.air_until, s.languages, s.state,
	s.producer_id, u.name, s.original_key, s.original_name, s.content_type, s.size_bytes, s.probe, s.loudness, s.subtitle_key,
	s.created_at, s.updated_at, s.withdrawn_at, s.process_error, s.process_step, s.progress,
	EXISTS (SELECT 1 FROM emergency_requests r WHERE r.segment_id = s.id),
	EXISTS (SELECT 1 FROM emergency_requests r WHERE r.segment_id = s.id AND r.until <= ?)`

func scanSegment(row scanner) (pipeline.Segment, error) {
	var s pipeline.Segment
	var kind, prio, langs, state, probe string
	var withdrawn sql.NullTime
	var loudness sql.NullString
	err := row.Scan(&s.ID, &s.SHA256, &s.Title, &kind, &s.Topic, &prio, &s.AirFrom, &s.AirUntil, &langs, &state,
		&s.ProducerID, &s.Producer, &s.OriginalKey, &s.OriginalName, &s.ContentType, &s.Size, &probe, &loudness, &s.SubtitleKey,
		&s.CreatedAt, &s.UpdatedAt, &withdrawn, &s.ProcessError, &s.ProcessStep, &s.Progress, &s.EmergencyRequested, &s.EmergencyRequestExpired)
	if err != nil {
		return s, err
	}
	s.Kind, s.Priority, s.State = pipeline.Kind(kind), pipeline.Priority(prio), pipeline.State(state)
	if langs != "" {
		s.Languages = strings.Split(langs, ",")
	}
	if withdrawn.Valid {
		t := withdrawn.Time
		s.WithdrawnAt = &t
	}
	if err := json.Unmarshal([]byte(probe), &s.Probe); err != nil {
		return s, fmt.Errorf("decode probe of %s: %w", s.ID, err)
	}
	if loudness.Valid && loudness.String != "" {
		var m media.LoudnessMeasurement
		if err := json.Unmarshal([]byte(loudness.String), &m); err != nil {
			return s, fmt.Errorf("decode loudness of %s: %w", s.ID, err)
		}
		s.Loudness = &m
	}
	return s, nil
}

// Segment returns one segment by id.
func (db *DB) Segment(ctx context.Context, id string) (pipeline.Segment, error) {
	s, err := scanSegment(db.sql.QueryRowContext(ctx,
		"SELECT "+segmentColumns+" FROM segments s JOIN users u ON u.id = s.producer_id WHERE s.id = ?", db.Now().UTC(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, pipeline.Errorf(pipeline.CodeNotFound, "No segment %q.", id)
	}
	if err != nil {
		return s, fmt.Errorf("segment %s: %w", id, err)
	}
	return s, nil
}

// Segments lists segments, newest first.
func (db *DB) Segments(ctx context.Context, f pipeline.SegmentFilter) ([]pipeline.Segment, error) {
	q := "SELECT " + segmentColumns + " FROM segments s JOIN users u ON u.id = s.producer_id WHERE 1 = 1"
	args := []any{db.Now().UTC()}
	if f.ProducerID != 0 {
		q += " AND s.producer_id = ?"
		args = append(args, f.ProducerID)
	}
	if f.State != "" {
		q += " AND s.state = ?"
		args = append(args, string(f.State))
	}
	if f.EmergencyRequested {
		q += " AND EXISTS (SELECT 1 FROM emergency_requests r WHERE r.segment_id = s.id)"
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q += " ORDER BY s.created_at DESC, s.id DESC LIMIT ?"
	args = append(args, f.Limit)
	return queryAll(ctx, db.sql, "list segments", scanSegment, q, args...)
}

// SegmentIDsOf lists the ids of every segment of the producer
// producerID that is not withdrawn (those a schedule may hold), in no
// particular order and without a cap: what a producer's view of a
// schedule tells their own segments by.
func (db *DB) SegmentIDsOf(ctx context.Context, producerID int64) ([]string, error) {
	return queryAll(ctx, db.sql, "list a producer's segment ids", func(r scanner) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	}, "SELECT id FROM segments WHERE producer_id = ? AND state <> ?", producerID, string(pipeline.StateWithdrawn))
}

// SetPriority changes a segment's priority between normal and priority
// (emergency has its own, confirmed path), recording who did it; a
// change runs db.RebuildTx in its transaction.
func (db *DB) SetPriority(ctx context.Context, id string, userID int64, p pipeline.Priority) (pipeline.Segment, error) {
	if p != pipeline.PriorityNormal && p != pipeline.PriorityPriority {
		return pipeline.Segment{}, pipeline.FieldError("priority", "Priority %q cannot be set here: say normal or priority (an emergency is marked with its target communes).", p)
	}
	now := db.Now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var state, cur string
		err := tx.QueryRowContext(ctx, "SELECT state, priority FROM segments WHERE id = ?", id).Scan(&state, &cur)
		if errors.Is(err, sql.ErrNoRows) {
			return pipeline.Errorf(pipeline.CodeNotFound, "No segment %q.", id)
		}
		if err != nil {
			return err
		}
		if pipeline.State(state) == pipeline.StateWithdrawn {
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %q is withdrawn; its priority no longer matters.", id)
		}
		var until time.Time
		switch err := tx.QueryRowContext(ctx, "SELECT until FROM emergencies WHERE segment_id = ? AND until > ?", id, now).Scan(&until); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			// Lowering the priority would leave the emergency on air while
			// the segment says otherwise.
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %s has an emergency in force until %s: end the emergency first (loa segments emergency %s --end --reason WHY --yes), then set its priority.",
				id, until.In(localtime.Location()).Format("2006-01-02 15:04 -07:00"), id)
		}
		if cur == string(p) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE segments SET priority = ?, updated_at = ? WHERE id = ?", string(p), now, id); err != nil {
			return err
		}
		if err := db.priorityChanged(ctx, tx, id, p); err != nil {
			return err
		}
		if err := db.rebuildTx(ctx, tx, id); err != nil {
			return err
		}
		return addEvent(ctx, tx, id, userID, "priority", cur+" → "+string(p), now)
	})
	if err != nil {
		return pipeline.Segment{}, fmt.Errorf("set priority of %s: %w", id, err)
	}
	return db.Segment(ctx, id)
}

// WithdrawSegment marks a segment withdrawn by a user, recording why,
// cancels its translation jobs that are not done yet and a wide emergency
// request waiting for an administrator (a withdrawn segment cannot go on
// air, so there is nothing left to confirm), and runs
// db.WithdrawnTx (the move of its objects) and db.RebuildTx in the same
// transaction.
// Withdrawing twice is a conflict.
func (db *DB) WithdrawSegment(ctx context.Context, id string, userID int64, reason string) (pipeline.Segment, error) {
	now := db.Now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE segments SET state = ?, withdrawn_at = ?, updated_at = ? WHERE id = ? AND state <> ?",
			string(pipeline.StateWithdrawn), now, now, id, string(pipeline.StateWithdrawn))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var state string
			err := tx.QueryRowContext(ctx, "SELECT state FROM segments WHERE id = ?", id).Scan(&state)
			if errors.Is(err, sql.ErrNoRows) {
				return pipeline.Errorf(pipeline.CodeNotFound, "No segment %q.", id)
			}
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %q is already withdrawn.", id)
		}
		if err := addEvent(ctx, tx, id, userID, "withdraw", reason, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM emergency_requests WHERE segment_id = ?", id); err != nil {
			return fmt.Errorf("cancel its emergency request: %w", err)
		}
		if db.WithdrawnTx != nil {
			if err := db.WithdrawnTx(ctx, tx, id); err != nil {
				return fmt.Errorf("queue the move of its objects: %w", err)
			}
		}
		if err := db.rebuildTx(ctx, tx, id); err != nil {
			return err
		}
		return cancelSegmentJobsTx(ctx, tx, id, reason, userID, now)
	})
	if err != nil {
		return pipeline.Segment{}, fmt.Errorf("withdraw segment %s: %w", id, err)
	}
	return db.Segment(ctx, id)
}
