package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// StreamLease is how long an open event stream's rows count without being
// renewed: a process renews its streams every StreamLease/3 (RenewStreams),
// so only the streams of a process that died (kill -9, a lost machine)
// stop counting, at most this long after it died.
const StreamLease = 90 * time.Second

// AcquireStream records an open event stream of process against each of
// keys, unless one of them already has caps[i] open streams in the whole
// deployment (counting every process's unexpired rows); then it records
// nothing and full is that key's index (else -1). release deletes the
// stream's rows; it uses its own context, so a stream ended by its
// request's cancellation is still released, and a release that fails
// leaves rows that stop counting once their lease lapses.
func (db *DB) AcquireStream(ctx context.Context, process string, keys []string, caps []int) (release func() error, full int, err error) {
	if len(keys) != len(caps) {
		return nil, -1, fmt.Errorf("acquire stream: %d keys for %d caps", len(keys), len(caps))
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, -1, fmt.Errorf("acquire stream: %w", err)
	}
	id := hex.EncodeToString(b[:])
	now := db.Now().UTC()
	full = -1
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// Streams racing for one key on PostgreSQL wait for each other
		// here (in key order, so never in a cycle); SQLite's write lock,
		// taken when the transaction begins, already orders them.
		if db.dialect == Postgres {
			for _, k := range slices.Sorted(slices.Values(keys)) {
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(?))", "event_streams:"+k); err != nil {
					return fmt.Errorf("lock %s: %w", k, err)
				}
			}
		}
		for i, k := range keys {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM event_streams WHERE counted = ? AND renewed_at > ?",
				k, now.Add(-StreamLease)).Scan(&n); err != nil {
				return fmt.Errorf("count streams of %s: %w", k, err)
			}
			if n >= caps[i] {
				full = i
				return nil
			}
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, "INSERT INTO event_streams (stream_id, counted, process, renewed_at) VALUES (?, ?, ?, ?)",
				id, k, process, now); err != nil {
				return fmt.Errorf("record stream of %s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, -1, fmt.Errorf("acquire stream: %w", err)
	}
	if full >= 0 {
		return nil, full, nil
	}
	return func() error {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := db.sql.ExecContext(rctx, "DELETE FROM event_streams WHERE stream_id = ?", id); err != nil {
			return fmt.Errorf("release event stream %s: %w", id, err)
		}
		return nil
	}, -1, nil
}

// ProcessStreams is the deployment's count of open event streams as one
// process uses it (api.Server.Streams): its streams are recorded under
// Process, a name no other running process has.
type ProcessStreams struct {
	DB      *DB
	Process string
}

// AcquireStream is DB.AcquireStream for p.Process.
func (p ProcessStreams) AcquireStream(ctx context.Context, keys []string, caps []int) (func() error, int, error) {
	return p.DB.AcquireStream(ctx, p.Process, keys, caps)
}

// RenewStreams keeps process's open streams counted: every StreamLease/3
// it renews their rows and deletes rows whose lease lapsed (of processes
// that died), until ctx ends; then it deletes process's remaining rows.
// Errors are logged: a missed renewal is made up by the next one.
func (db *DB) RenewStreams(ctx context.Context, process string, log *slog.Logger) {
	t := time.NewTicker(StreamLease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if _, err := db.sql.ExecContext(dctx, "DELETE FROM event_streams WHERE process = ?", process); err != nil {
				log.Warn("forget this process's event streams", "err", err)
			}
			cancel()
			return
		case <-t.C:
		}
		now := db.Now().UTC()
		if _, err := db.sql.ExecContext(ctx, "UPDATE event_streams SET renewed_at = ? WHERE process = ?", now, process); err != nil {
			log.Warn("renew event streams", "err", err)
			continue
		}
		if _, err := db.sql.ExecContext(ctx, "DELETE FROM event_streams WHERE renewed_at <= ?", now.Add(-StreamLease)); err != nil {
			log.Warn("sweep lapsed event streams", "err", err)
		}
	}
}
