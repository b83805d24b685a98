package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sonla-cchc/loa/pipeline"
)

// SegmentKeyReferenced reports whether a row of segment segmentID refers
// to object key: its original or subtitle file, a rendition, a variant's
// audio or a translation submitted to one of its jobs. These are every
// object a segment owns (all under segments/ID/); a key under that prefix
// no row names is left over (a render finished after a withdrawal, or a
// move a crash interrupted) and can go.
func (db *DB) SegmentKeyReferenced(ctx context.Context, segmentID, key string) (bool, error) {
	var n int
	err := db.sql.QueryRowContext(ctx,
		`SELECT (SELECT COUNT(*) FROM segments WHERE id = ? AND (original_key = ? OR subtitle_key = ?))
		      + (SELECT COUNT(*) FROM renditions WHERE segment_id = ? AND object_key = ?)
		      + (SELECT COUNT(*) FROM variants WHERE segment_id = ? AND audio_key = ?)
		      + (SELECT COUNT(*) FROM job_submissions s JOIN jobs j ON j.id = s.job_id WHERE j.segment_id = ? AND s.object_key = ?)`,
		segmentID, key, key, segmentID, key, segmentID, key, segmentID, key).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("is %s a key of segment %s: %w", key, segmentID, err)
	}
	return n > 0, nil
}

// MoveSegmentKey makes every row of segment segmentID that refers to
// object key from refer to to instead, in one transaction (the object
// itself was copied there first). Moving a key no row names changes
// nothing, so a move repeated after a crash is harmless.
func (db *DB) MoveSegmentKey(ctx context.Context, segmentID, from, to string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"UPDATE segments SET original_key = ? WHERE id = ? AND original_key = ?",
			"UPDATE segments SET subtitle_key = ? WHERE id = ? AND subtitle_key = ?",
			"UPDATE renditions SET object_key = ? WHERE segment_id = ? AND object_key = ?",
			"UPDATE variants SET audio_key = ? WHERE segment_id = ? AND audio_key = ?",
			"UPDATE job_submissions SET object_key = ? WHERE job_id IN (SELECT id FROM jobs WHERE segment_id = ?) AND object_key = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, to, segmentID, from); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("move key %s of segment %s to %s: %w", from, segmentID, to, err)
	}
	return nil
}

// WithdrawnUnmoved lists the withdrawn segments whose original is still
// under its old key: withdrawn before withdrawals moved objects, or whose
// move has not run yet. The worker moves them (MoveWithdrawnBacklog).
func (db *DB) WithdrawnUnmoved(ctx context.Context) ([]string, error) {
	return queryAll(ctx, db.sql, "withdrawn segments not moved", func(r scanner) (id string, err error) { return id, r.Scan(&id) },
		"SELECT id FROM segments WHERE state = ? AND original_key LIKE 'segments/%' ORDER BY withdrawn_at, id", string(pipeline.StateWithdrawn))
}
