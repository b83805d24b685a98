package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// LeaseKey is the key of River's job metadata under which a running
// job's lease is kept: the database's time when the worker running it
// last said it is alive.
const LeaseKey = "loa_lease_at"

// JobLeases keeps a lease on each running River job: the worker that runs
// a job renews it every few seconds, and a job whose lease has not been
// renewed for the dead-after time belongs to a worker that died (kill -9,
// a lost machine) and goes back to the queue. Both sides use the
// database's clock, so the machines' clocks need not agree. Nothing is
// added to the schema: the lease lives in River's own job row
// (river_job.metadata), and a job is known by its ID and attempt number,
// which River increments each time a worker takes the job.
type JobLeases struct {
	sql *sql.DB
	pg  bool
}

// NewJobLeases works on the River queue of the store pool sqldb (from
// DB.SQL), on either engine.
func NewJobLeases(sqldb *sql.DB) *JobLeases {
	return &JobLeases{sql: sqldb, pg: isPostgres(sqldb)}
}

// Renew says that attempt of job id is still being worked. It reports
// false when that attempt is no longer running (the job was taken over
// after the lease lapsed, or it ended): the caller must stop working it.
func (l *JobLeases) Renew(ctx context.Context, id int64, attempt int) (bool, error) {
	q := `UPDATE river_job SET metadata = jsonb_set(coalesce(metadata, jsonb('{}')), '$.` + LeaseKey + `', datetime('now', 'subsec'))
		WHERE id = ? AND state = 'running' AND attempt = ?`
	if l.pg {
		q = `UPDATE river_job SET metadata = jsonb_set(metadata, '{` + LeaseKey + `}', to_jsonb(now()))
		WHERE id = ? AND state = 'running' AND attempt = ?`
	}
	res, err := l.sql.ExecContext(ctx, q, id, attempt)
	if err != nil {
		return false, fmt.Errorf("renew the lease of job %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("renew the lease of job %d: %w", id, err)
	}
	return n == 1, nil
}

// ExpiredJob is a running job whose lease lapsed and that
// ReleaseExpired took back from its dead worker.
type ExpiredJob struct {
	ID      int64
	Kind    string
	Attempt int
	// Args is the job's arguments (JSON).
	Args []byte
	// Discarded: the job had used its last attempt, so it was discarded
	// instead of queued again.
	Discarded bool
}

// ReleaseExpired takes back every running job whose lease (or, before its
// first renewal, its start) is older than deadAfter by the database's
// clock: it is queued again at once, keeping its priority, with reason
// recorded as the attempt's error, or discarded when that attempt was its
// last. deadAfter is rounded down to the millisecond and must be
// positive. Several processes may call it at once: a job is released by
// one of them only.
func (l *JobLeases) ReleaseExpired(ctx context.Context, deadAfter time.Duration, reason string) ([]ExpiredJob, error) {
	if deadAfter <= 0 {
		return nil, fmt.Errorf("release jobs of dead workers: dead-after %v must be positive", deadAfter)
	}
	secs := strconv.FormatFloat(deadAfter.Seconds(), 'f', 3, 64)
	q := `UPDATE river_job SET
		state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
		finalized_at = CASE WHEN attempt >= max_attempts THEN datetime('now', 'subsec') ELSE NULL END,
		scheduled_at = datetime('now', 'subsec'),
		errors = jsonb_insert(coalesce(errors, jsonb('[]')), '$[#]',
			json_object('at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'attempt', attempt, 'error', ?, 'trace', ''))
		WHERE state = 'running'
		AND coalesce(json_extract(metadata, '$.` + LeaseKey + `'), attempted_at) < datetime('now', 'subsec', ?)
		RETURNING id, kind, attempt, json(args), state`
	arg := "-" + secs + " seconds"
	if l.pg {
		q = `UPDATE river_job SET
		state = (CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END)::river_job_state,
		finalized_at = CASE WHEN attempt >= max_attempts THEN now() ELSE NULL END,
		scheduled_at = now(),
		errors = array_append(errors, jsonb_build_object('at', now(), 'attempt', attempt, 'error', ?::text, 'trace', ''))
		WHERE state = 'running'
		AND coalesce((metadata->>'` + LeaseKey + `')::timestamptz, attempted_at) < now() - ?::interval
		RETURNING id, kind, attempt, args::text, state::text`
		arg = secs + " seconds"
	}
	return queryAll(ctx, l.sql, "release jobs of dead workers", func(sc scanner) (ExpiredJob, error) {
		var (
			j     ExpiredJob
			args  []byte
			state string
		)
		if err := sc.Scan(&j.ID, &j.Kind, &j.Attempt, &args, &state); err != nil {
			return ExpiredJob{}, err
		}
		j.Args, j.Discarded = args, state == "discarded"
		return j, nil
	}, q, reason, arg)
}
