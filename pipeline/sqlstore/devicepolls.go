package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RecordDevicePolls stores the last poll time of each user in polls (user
// ID to time) in one transaction. A stored time is never moved back;
// unknown users are skipped.
func (db *DB) RecordDevicePolls(ctx context.Context, polls map[int64]time.Time) error {
	if len(polls) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// A user removed meanwhile is skipped rather than failing the batch.
		st, err := tx.PrepareContext(ctx, `INSERT INTO device_polls (user_id, polled_at)
			SELECT id, ? FROM users WHERE id = ?
			ON CONFLICT (user_id) DO UPDATE SET polled_at = excluded.polled_at WHERE excluded.polled_at > device_polls.polled_at`)
		if err != nil {
			return err
		}
		defer st.Close()
		for id, at := range polls {
			if _, err := st.ExecContext(ctx, at.UTC(), id); err != nil {
				return fmt.Errorf("user %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record device polls: %w", err)
	}
	return nil
}

// DevicesNotPolled counts, per commune that has devices, the devices whose
// last recorded poll is before since or that never polled. Communes whose
// devices all polled are listed with 0.
func (db *DB) DevicesNotPolled(ctx context.Context, since time.Time) (map[string]int, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT d.commune_code,
		SUM(CASE WHEN p.polled_at IS NULL OR p.polled_at < ? THEN 1 ELSE 0 END)
		FROM devices d LEFT JOIN device_polls p ON p.user_id = d.user_id
		GROUP BY d.commune_code`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("devices not polled: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var c string
		var n int
		if err := rows.Scan(&c, &n); err != nil {
			return nil, fmt.Errorf("devices not polled: %w", err)
		}
		out[c] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("devices not polled: %w", err)
	}
	return out, nil
}
