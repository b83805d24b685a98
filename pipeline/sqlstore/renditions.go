package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// SaveProcessed records a segment's renditions and, when v is not nil, its
// variant ready to air, and marks the segment processed, all in one
// transaction. Rows are replaced, so a re-run after a crash neither fails
// nor doubles anything. then, when not nil, runs in the same transaction
// (to open translation jobs atomically with the result).
func (db *DB) SaveProcessed(ctx context.Context, segmentID string, rs []pipeline.Rendition, v *pipeline.Variant, then func(*sql.Tx) error) error {
	now := db.Now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		state, err := liveSegmentState(ctx, tx, segmentID, "while it was processed")
		if err != nil {
			return err
		}
		if err := saveRenditions(ctx, tx, rs, v, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE segments SET state = ?, process_error = '', process_step = '', progress = 1, updated_at = ? WHERE id = ?",
			string(pipeline.StateProcessed), now, segmentID); err != nil {
			return err
		}
		if state != string(pipeline.StateProcessed) {
			if err := addEvent(ctx, tx, segmentID, 0, "processed", fmt.Sprintf("%d renditions", len(rs)), now); err != nil {
				return err
			}
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save processed %s: %w", segmentID, err)
	}
	return nil
}

// SaveRenditions records more renditions of a segment already processed
// (its poster, preview and subtitle renditions, made after its audio) and
// a "renditions_ready" event, ends its StepRenditions step, then runs
// then, all in one transaction. A withdrawn segment is refused with
// CodeConflict.
func (db *DB) SaveRenditions(ctx context.Context, segmentID string, rs []pipeline.Rendition, then func(*sql.Tx) error) error {
	now := db.Now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := liveSegmentState(ctx, tx, segmentID, "while its renditions were made"); err != nil {
			return err
		}
		if err := saveRenditions(ctx, tx, rs, nil, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE segments SET process_step = '' WHERE id = ? AND process_step = ?",
			segmentID, pipeline.StepRenditions); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, segmentID, 0, "renditions_ready", fmt.Sprintf("%d renditions", len(rs)), now); err != nil {
			return err
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save renditions of %s: %w", segmentID, err)
	}
	return nil
}

// MarkRenditionsPendingTx sets a processed segment's step to
// StepRenditions inside the transaction that makes it ready to air, until
// SaveRenditions records its poster, preview and subtitle renditions.
func (db *DB) MarkRenditionsPendingTx(ctx context.Context, tx *sql.Tx, segmentID string) error {
	if _, err := tx.ExecContext(ctx, "UPDATE segments SET process_step = ? WHERE id = ?", pipeline.StepRenditions, segmentID); err != nil {
		return fmt.Errorf("mark renditions of %s pending: %w", segmentID, err)
	}
	return nil
}

// SaveRenditionsTx records renditions and, when v is not nil, a variant,
// inside a transaction the caller holds (approval of a translation uses it
// so the job's state and the variant change together).
func (db *DB) SaveRenditionsTx(ctx context.Context, tx *sql.Tx, rs []pipeline.Rendition, v *pipeline.Variant) error {
	return saveRenditions(ctx, tx, rs, v, db.Now())
}

// liveSegmentState reads a segment's state inside tx and refuses a
// withdrawn segment with CodeConflict ("Segment X was withdrawn " + when).
func liveSegmentState(ctx context.Context, tx *sql.Tx, segmentID, when string) (string, error) {
	var state string
	if err := tx.QueryRowContext(ctx, "SELECT state FROM segments WHERE id = ?", segmentID).Scan(&state); err != nil {
		return "", fmt.Errorf("segment %s: %w", segmentID, err)
	}
	if pipeline.State(state) == pipeline.StateWithdrawn {
		return "", pipeline.Errorf(pipeline.CodeConflict, "Segment %s was withdrawn %s.", segmentID, when)
	}
	return state, nil
}

// saveRenditions upserts renditions and, when v is not nil, a variant,
// stamped now.
func saveRenditions(ctx context.Context, tx *sql.Tx, rs []pipeline.Rendition, v *pipeline.Variant, now any) error {
	for _, r := range rs {
		if err := upsertRendition(ctx, tx, r, now); err != nil {
			return err
		}
	}
	if v != nil {
		return upsertVariant(ctx, tx, *v, now)
	}
	return nil
}

func upsertRendition(ctx context.Context, tx *sql.Tx, r pipeline.Rendition, now any) error {
	facts := string(r.Facts)
	if facts == "" {
		facts = "{}"
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO renditions (segment_id, language, name, object_key, content_type, size_bytes, sha256, duration_ms, facts, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (segment_id, language, name) DO UPDATE SET object_key = excluded.object_key,
			content_type = excluded.content_type, size_bytes = excluded.size_bytes, sha256 = excluded.sha256,
			duration_ms = excluded.duration_ms, facts = excluded.facts, created_at = excluded.created_at`,
		r.SegmentID, r.Language, r.Name, r.Key, r.ContentType, r.Size, r.SHA256, r.DurationMS, facts, now)
	if err != nil {
		return fmt.Errorf("save rendition %s/%s/%s: %w", r.SegmentID, r.Language, r.Name, err)
	}
	return nil
}

func upsertVariant(ctx context.Context, tx *sql.Tx, v pipeline.Variant, now any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO variants (segment_id, language, audio_key, duration_ms, sha256, size_bytes, approved_by, ready_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (segment_id, language) DO UPDATE SET audio_key = excluded.audio_key, duration_ms = excluded.duration_ms,
			sha256 = excluded.sha256, size_bytes = excluded.size_bytes, approved_by = excluded.approved_by, ready_at = excluded.ready_at`,
		v.SegmentID, v.Language, v.AudioKey, v.DurationMS, v.SHA256, v.Size, v.ApprovedBy, now)
	if err != nil {
		return fmt.Errorf("save variant %s/%s: %w", v.SegmentID, v.Language, err)
	}
	return nil
}

// RecordRenditionFailuresTx records, inside the transaction that saves a
// segment's renditions (SaveRenditions' then), the renditions that could
// not be made: one "rendition_failed" event each, and their reasons joined
// into the segment's process_error, which for a processed segment lists
// what is missing while its loudspeaker audio airs.
func (db *DB) RecordRenditionFailuresTx(ctx context.Context, tx *sql.Tx, segmentID string, failures []pipeline.RenditionFailure) error {
	if len(failures) == 0 {
		return nil
	}
	now := db.Now()
	if _, err := tx.ExecContext(ctx, "UPDATE segments SET process_error = ? WHERE id = ?",
		pipeline.RenditionFailureSummary(failures), segmentID); err != nil {
		return fmt.Errorf("record rendition failures of %s: %w", segmentID, err)
	}
	for _, f := range failures {
		if err := addEvent(ctx, tx, segmentID, 0, "rendition_failed", f.String(), now); err != nil {
			return err
		}
	}
	return nil
}

// RecordTranslationFailed records that an approved translation of a
// segment could not be rendered, where the people concerned look: a
// "rendition_failed" segment event, the segment's process_error (for a
// processed segment, the list of what is not made, which `loa segments
// show` prints), and on the job (jobID, when not "") a "render_failed"
// event and its reason, which `loa jobs get` prints. The job's state is
// not changed.
func (db *DB) RecordTranslationFailed(ctx context.Context, segmentID, jobID string, f pipeline.RenditionFailure) error {
	now := db.Now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var state, perr string
		if err := tx.QueryRowContext(ctx, "SELECT state, process_error FROM segments WHERE id = ?", segmentID).Scan(&state, &perr); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, segmentID, 0, "rendition_failed", f.String(), now); err != nil {
			return err
		}
		if state == string(pipeline.StateProcessed) {
			next := pipeline.RenditionFailureSummary([]pipeline.RenditionFailure{f})
			if perr != "" {
				next = pipeline.TruncateProcessError(perr + "; " + f.String())
			}
			if _, err := tx.ExecContext(ctx, "UPDATE segments SET process_error = ? WHERE id = ?", next, segmentID); err != nil {
				return err
			}
		}
		if jobID == "" {
			return nil
		}
		var jstate string
		err := tx.QueryRowContext(ctx, "SELECT state FROM jobs WHERE id = ?", jobID).Scan(&jstate)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the job is not recorded (any more): the segment says it
		}
		if err != nil {
			return err
		}
		reason := "The approved " + f.What + " could not be rendered, so it does not air: " + f.Reason
		if r := []rune(reason); len(r) > translation.MaxReasonLen {
			reason = string(r[:translation.MaxReasonLen])
		}
		if _, err := tx.ExecContext(ctx, "UPDATE jobs SET reason = ?, updated_at = ? WHERE id = ?", reason, now.UTC(), jobID); err != nil {
			return err
		}
		return addJobEvent(ctx, tx, translation.Event{JobID: jobID, At: now, Action: translation.ActionRenderFailed,
			From: translation.State(jstate), To: translation.State(jstate), Reason: reason})
	})
	if err != nil {
		return fmt.Errorf("record failed %s rendition of %s: %w", f.Language, segmentID, err)
	}
	return nil
}

// MarkProcessFailed records why processing gave up on a segment.
func (db *DB) MarkProcessFailed(ctx context.Context, segmentID, reason string) error {
	now := db.Now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE segments SET state = ?, process_error = ?, updated_at = ? WHERE id = ? AND state <> ?",
			string(pipeline.StateFailed), reason, now, segmentID, string(pipeline.StateWithdrawn)); err != nil {
			return fmt.Errorf("mark %s failed: %w", segmentID, err)
		}
		return addEvent(ctx, tx, segmentID, 0, "process_failed", reason, now)
	})
}

// Renditions lists a segment's renditions by language and name.
func (db *DB) Renditions(ctx context.Context, segmentID string) ([]pipeline.Rendition, error) {
	return queryAll(ctx, db.sql, "renditions of "+segmentID, func(row scanner) (pipeline.Rendition, error) {
		var r pipeline.Rendition
		var facts string
		err := row.Scan(&r.SegmentID, &r.Language, &r.Name, &r.Key, &r.ContentType, &r.Size, &r.SHA256, &r.DurationMS, &facts, &r.CreatedAt)
		r.Facts = []byte(facts)
		return r, err
	}, `SELECT segment_id, language, name, object_key, content_type, size_bytes, sha256,
		duration_ms, facts, created_at FROM renditions WHERE segment_id = ? ORDER BY language, name`, segmentID)
}

// SegmentVariants lists the languages a segment is ready to air in.
func (db *DB) SegmentVariants(ctx context.Context, segmentID string) ([]pipeline.Variant, error) {
	return queryAll(ctx, db.sql, "variants of "+segmentID, func(row scanner) (pipeline.Variant, error) {
		var v pipeline.Variant
		var by sql.NullInt64
		err := row.Scan(&v.SegmentID, &v.Language, &v.AudioKey, &v.DurationMS, &v.SHA256, &v.Size, &by, &v.ReadyAt)
		if by.Valid {
			v.ApprovedBy = &by.Int64
		}
		return v, err
	}, `SELECT segment_id, language, audio_key, duration_ms, sha256, size_bytes, approved_by, ready_at
		FROM variants WHERE segment_id = ? ORDER BY language`, segmentID)
}

// SetProgress records what processing is doing to a segment and how far
// it is (0–1). Only segments still waiting for processing are touched.
func (db *DB) SetProgress(ctx context.Context, segmentID, step string, fraction float64) error {
	_, err := db.sql.ExecContext(ctx, "UPDATE segments SET process_step = ?, progress = ? WHERE id = ? AND state = ?",
		step, fraction, segmentID, string(pipeline.StateProbed))
	if err != nil {
		return fmt.Errorf("progress of %s: %w", segmentID, err)
	}
	return nil
}

// SaveTranslated records the renditions of an approved translation and,
// when v is not nil, the variant that makes the segment ready to air in
// that language. A withdrawn segment is refused. then, when not nil, runs
// in the same transaction (to ask for schedule rebuilds).
func (db *DB) SaveTranslated(ctx context.Context, segmentID, lang string, rs []pipeline.Rendition, v *pipeline.Variant, then func(*sql.Tx) error) error {
	now := db.Now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var state string
		if err := tx.QueryRowContext(ctx, "SELECT state FROM segments WHERE id = ?", segmentID).Scan(&state); err != nil {
			return fmt.Errorf("segment %s: %w", segmentID, err)
		}
		if pipeline.State(state) == pipeline.StateWithdrawn {
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %s was withdrawn.", segmentID)
		}
		if err := db.SaveRenditionsTx(ctx, tx, rs, v); err != nil {
			return err
		}
		what := "subtitles_ready"
		if v != nil {
			what = "variant_ready"
		}
		if err := addEvent(ctx, tx, segmentID, 0, what, lang, now); err != nil {
			return err
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save %s translation of %s: %w", lang, segmentID, err)
	}
	return nil
}
