package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// RecordHeartbeat stores hb as the latest heartbeat of the device
// account userID of commune, received at by the server's clock. An
// account that is not a device is refused (CodeForbidden); a device of
// another commune gets CodeNotFound. A heartbeat that arrives after a
// newer one (a retry overtaken) does not replace it.
func (db *DB) RecordHeartbeat(ctx context.Context, userID int64, commune string, at time.Time, hb schedules.Heartbeat) error {
	if err := db.DeviceOf(ctx, userID, commune); err != nil {
		return err
	}
	doc, err := json.Marshal(hb)
	if err != nil {
		return fmt.Errorf("record heartbeat: %w", err)
	}
	_, err = db.sql.ExecContext(ctx, `INSERT INTO device_heartbeats (user_id, received_at, every_s, heartbeat) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET received_at = excluded.received_at, every_s = excluded.every_s, heartbeat = excluded.heartbeat
		WHERE excluded.received_at >= device_heartbeats.received_at`,
		userID, at.UTC(), int(hb.Every()/time.Second), string(doc))
	if err != nil {
		return fmt.Errorf("record heartbeat of device %d: %w", userID, err)
	}
	return nil
}

// DeviceOf checks that the account userID is a device of commune, as
// RecordHeartbeat does before it stores anything: an account that is
// not a device is CodeForbidden, a device of another commune
// CodeNotFound. The heartbeat route asks it before it reads the body, so
// an account that may not send one learns nothing of what a heartbeat
// must hold.
func (db *DB) DeviceOf(ctx context.Context, userID int64, commune string) error {
	var devCommune string
	err := db.sql.QueryRowContext(ctx, "SELECT commune_code FROM devices WHERE user_id = ?", userID).Scan(&devCommune)
	if errors.Is(err, sql.ErrNoRows) {
		return pipeline.Errorf(pipeline.CodeForbidden,
			"Only a device account sends heartbeats, and yours is not one: an administrator makes the player's token with 'loa device add --commune %s'.", commune)
	}
	if err != nil {
		return fmt.Errorf("find the device of account %d: %w", userID, err)
	}
	if devCommune != commune {
		return pipeline.Errorf(pipeline.CodeNotFound, "This device belongs to commune %q, not %q.", devCommune, commune)
	}
	return nil
}

// DeviceHeartbeats lists the device accounts of commune (every commune
// when ""), by commune and creation, each with its latest heartbeat.
func (db *DB) DeviceHeartbeats(ctx context.Context, commune string) ([]schedules.DeviceHeartbeat, error) {
	q := `SELECT d.user_id, u.name, d.label, d.commune_code, d.created_at, h.received_at, h.heartbeat,
		u.disabled_at IS NOT NULL, NOT EXISTS (SELECT 1 FROM tokens t WHERE t.user_id = d.user_id AND t.revoked_at IS NULL)
		FROM devices d JOIN users u ON u.id = d.user_id LEFT JOIN device_heartbeats h ON h.user_id = d.user_id`
	var args []any
	if commune != "" {
		q += " WHERE d.commune_code = ?"
		args = append(args, commune)
	}
	q += " ORDER BY d.commune_code, d.id"
	return queryAll(ctx, db.sql, "device heartbeats", func(sc scanner) (schedules.DeviceHeartbeat, error) {
		var d schedules.DeviceHeartbeat
		var at sql.NullTime
		var doc sql.NullString
		if err := sc.Scan(&d.UserID, &d.Name, &d.Label, &d.Commune, &d.CreatedAt, &at, &doc, &d.Disabled, &d.Revoked); err != nil {
			return d, err
		}
		if at.Valid && doc.Valid {
			var hb schedules.Heartbeat
			if err := json.Unmarshal([]byte(doc.String), &hb); err != nil {
				return d, fmt.Errorf("device %d's stored heartbeat: %w", d.UserID, err)
			}
			d.ReceivedAt, d.Heartbeat = at.Time.UTC(), &hb
		}
		d.CreatedAt = d.CreatedAt.UTC()
		return d, nil
	}, q, args...)
}
