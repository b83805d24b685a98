package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/sonla-cchc/loa/pipeline"
)

// CronRuns reads the most recent runs of one job kind (such as
// "sweep_uploads"), newest first, at most limit (1 to 100; 10 when out of
// range). It only reads the queue's table.
func (db *DB) CronRuns(ctx context.Context, kind string, limit int) ([]pipeline.CronRun, error) {
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	q := `SELECT id, kind, state, attempt, attempted_at, finalized_at, ` + db.riverErrorsAsText() + `
		FROM river_job WHERE kind = ? ORDER BY id DESC LIMIT ?`
	return queryAll(ctx, db.sql, "cron runs of "+kind, scanCronRun, q, kind, limit)
}

// riverErrorsAsText is the SQL that reads river_job.errors as one JSON
// array in text, which the two River schemas store differently.
func (db *DB) riverErrorsAsText() string {
	if db.dialect == Postgres {
		// jsonb[] in River's PostgreSQL schema.
		return `CASE WHEN errors IS NULL THEN NULL ELSE array_to_json(errors)::text END`
	}
	// JSONB in River's SQLite schema; json() turns it into text (and
	// leaves text JSON as it is).
	return `CASE WHEN errors IS NULL THEN NULL WHEN typeof(errors) = 'text' AND NOT json_valid(errors) THEN errors ELSE json(errors) END`
}

func scanCronRun(sc scanner) (pipeline.CronRun, error) {
	var (
		r                pipeline.CronRun
		attempted, final sql.NullTime
		errs             sql.NullString
	)
	if err := sc.Scan(&r.ID, &r.Kind, &r.State, &r.Attempt, &attempted, &final, &errs); err != nil {
		return pipeline.CronRun{}, err
	}
	if attempted.Valid {
		r.AttemptedAt = attempted.Time.UTC()
	}
	if final.Valid {
		r.FinalizedAt = final.Time.UTC()
	}
	r.Error = lastRunError(errs.String)
	return r, nil
}

// lastRunError is the message of the last entry of River's errors array
// ([{"at":..., "attempt":1, "error":"...", "trace":"..."}]); a value that
// is not such an array is shown as it is.
func lastRunError(s string) string {
	if s == "" {
		return ""
	}
	var list []struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return s
	}
	if len(list) == 0 {
		return ""
	}
	return list[len(list)-1].Error
}
