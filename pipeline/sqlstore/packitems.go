package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sonla-cchc/loa/pipeline"
)

// packBatch is how many versions packScheduleItems packs per transaction.
const packBatch = 100

// packScheduleItems moves the entries of versions stored before migration
// 0017 from schedule_items rows into their version's items blob, a batch
// of versions per transaction (deleting the rows it packed, so an
// interrupted run resumes where it stopped), then drops schedule_items.
// It returns how many versions it packed; with no schedule_items table
// left it does nothing.
func (db *DB) packScheduleItems(ctx context.Context) (int, error) {
	var q string
	if db.dialect == Postgres {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schedule_items'"
	} else {
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schedule_items'"
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("pack schedule entries: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	packed := 0
	for {
		done := 0
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, "SELECT id FROM schedule_versions WHERE items IS NULL ORDER BY id LIMIT ?", packBatch)
			if err != nil {
				return err
			}
			var ids []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, id := range ids {
				if err := packVersion(ctx, tx, id); err != nil {
					return fmt.Errorf("version %s: %w", id, err)
				}
			}
			done = len(ids)
			return nil
		})
		if err != nil {
			return packed, fmt.Errorf("pack schedule entries: %w", err)
		}
		packed += done
		if done < packBatch {
			break
		}
	}
	if _, err := db.sql.ExecContext(ctx, "DROP TABLE schedule_items"); err != nil {
		return packed, fmt.Errorf("pack schedule entries: drop schedule_items: %w", err)
	}
	return packed, nil
}

// packVersion packs one version's schedule_items rows into its blob.
func packVersion(ctx context.Context, tx *sql.Tx, id string) error {
	rows, err := tx.QueryContext(ctx, `SELECT cluster_id, air_date, slot_s, position, entry_id, kind, starts_at, duration_ms, segment_id, language, title, topic,
		priority, why, reason, audio_key, sha256, size_bytes FROM schedule_items WHERE version_id = ?`, id)
	if err != nil {
		return err
	}
	items := []pipeline.ScheduleItem{}
	for rows.Next() {
		var it pipeline.ScheduleItem
		if err := rows.Scan(&it.Cluster, &it.Date, &it.SlotStart, &it.Position, &it.EntryID, &it.Kind, &it.Start, &it.DurationMS,
			&it.SegmentID, &it.Language, &it.Title, &it.Topic, &it.Priority, &it.Why, &it.Reason, &it.AudioKey, &it.SHA256, &it.Size); err != nil {
			rows.Close()
			return err
		}
		it.Start = it.Start.UTC()
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	blob, err := encodeItems(items)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE schedule_versions SET items = ? WHERE id = ?", blob, id); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM schedule_items WHERE version_id = ?", id)
	return err
}
