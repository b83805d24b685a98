package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// NoticeSendKey is the key of River's job metadata under which a
// send_notice job records what became of its message: an object
// {"state": ..., "attempt": N}, N the attempt that set it.
const NoticeSendKey = "loa_notice"

// The states of a notice's send (NoticeSends).
const (
	// NoticeSending: an attempt is handing the message to its channel;
	// found by a later attempt, it means that send's end was lost.
	NoticeSending = "sending"
	// NoticeSent: the channel took the message.
	NoticeSent = "sent"
	// NoticeMaybeSent: the channel may have taken the message (its
	// answer was lost); it is not sent again.
	NoticeMaybeSent = "maybe_sent"
)

// NoticeSends records, on each send_notice River job's own row
// (river_job.metadata, NoticeSendKey: nothing is added to the schema),
// whether its message is being sent or was sent, so a message is handed
// to its channel at most once whatever happens to the job: run again
// after River lost the record of its end, or by another worker after its
// lease lapsed. The mark is set by one attempt only (Begin is a
// conditional UPDATE of the row), on either engine.
type NoticeSends struct {
	sql *sql.DB
	pg  bool
}

// NewNoticeSends works on the River queue of the store pool sqldb (from
// DB.SQL).
func NewNoticeSends(sqldb *sql.DB) *NoticeSends {
	return &NoticeSends{sql: sqldb, pg: isPostgres(sqldb)}
}

// Begin marks job id, run as attempt, NoticeSending, if it carries no
// mark yet and attempt is still its current one. It reports whether it
// did; when it did not, prior is the mark found (a state above), or ""
// when the job is no longer at attempt (taken over by another worker):
// either way the caller must not send.
func (n *NoticeSends) Begin(ctx context.Context, id int64, attempt int) (won bool, prior string, err error) {
	q := `UPDATE river_job SET metadata = jsonb_set(coalesce(metadata, jsonb('{}')), '$.` + NoticeSendKey + `',
			json_object('state', '` + NoticeSending + `', 'attempt', ?))
		WHERE id = ? AND attempt = ? AND json_extract(metadata, '$.` + NoticeSendKey + `') IS NULL`
	if n.pg {
		q = `UPDATE river_job SET metadata = jsonb_set(metadata, '{` + NoticeSendKey + `}',
			jsonb_build_object('state', '` + NoticeSending + `', 'attempt', ?::int))
		WHERE id = ? AND attempt = ? AND metadata->'` + NoticeSendKey + `' IS NULL`
	}
	res, err := n.sql.ExecContext(ctx, q, attempt, id, attempt)
	if err != nil {
		return false, "", fmt.Errorf("mark notice job %d sending: %w", id, err)
	}
	if c, err := res.RowsAffected(); err != nil {
		return false, "", fmt.Errorf("mark notice job %d sending: %w", id, err)
	} else if c == 1 {
		return true, "", nil
	}
	q = `SELECT attempt, coalesce(json_extract(metadata, '$.` + NoticeSendKey + `.state'), '') FROM river_job WHERE id = ?`
	if n.pg {
		q = `SELECT attempt, coalesce(metadata->'` + NoticeSendKey + `'->>'state', '') FROM river_job WHERE id = ?`
	}
	var now int
	err = n.sql.QueryRowContext(ctx, q, id).Scan(&now, &prior)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && now != attempt) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("notice job %d's send: %w", id, err)
	}
	return false, prior, nil
}

// State returns job id's mark: a state above, or "" when it has none.
func (n *NoticeSends) State(ctx context.Context, id int64) (string, error) {
	q := `SELECT coalesce(json_extract(metadata, '$.` + NoticeSendKey + `.state'), '') FROM river_job WHERE id = ?`
	if n.pg {
		q = `SELECT coalesce(metadata->'` + NoticeSendKey + `'->>'state', '') FROM river_job WHERE id = ?`
	}
	var s string
	err := n.sql.QueryRowContext(ctx, q, id).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("notice job %d's send: %w", id, err)
	}
	return s, nil
}

// Set records state on the mark attempt set on job id (Begin); a mark
// of another attempt is left alone.
func (n *NoticeSends) Set(ctx context.Context, id int64, attempt int, state string) error {
	q := `UPDATE river_job SET metadata = jsonb_set(metadata, '$.` + NoticeSendKey + `.state', ?)
		WHERE id = ? AND json_extract(metadata, '$.` + NoticeSendKey + `.attempt') = ?`
	if n.pg {
		q = `UPDATE river_job SET metadata = jsonb_set(metadata, '{` + NoticeSendKey + `,state}', to_jsonb(?::text))
		WHERE id = ? AND (metadata->'` + NoticeSendKey + `'->>'attempt')::int = ?`
	}
	if _, err := n.sql.ExecContext(ctx, q, state, id, attempt); err != nil {
		return fmt.Errorf("mark notice job %d %s: %w", id, state, err)
	}
	return nil
}

// Clear removes the NoticeSending mark attempt set on job id: its send
// failed before the channel took the message, so a later attempt may
// send it.
func (n *NoticeSends) Clear(ctx context.Context, id int64, attempt int) error {
	q := `UPDATE river_job SET metadata = jsonb_remove(metadata, '$.` + NoticeSendKey + `')
		WHERE id = ? AND json_extract(metadata, '$.` + NoticeSendKey + `.attempt') = ?
		AND json_extract(metadata, '$.` + NoticeSendKey + `.state') = '` + NoticeSending + `'`
	if n.pg {
		q = `UPDATE river_job SET metadata = metadata - '` + NoticeSendKey + `'
		WHERE id = ? AND (metadata->'` + NoticeSendKey + `'->>'attempt')::int = ?
		AND metadata->'` + NoticeSendKey + `'->>'state' = '` + NoticeSending + `'`
	}
	if _, err := n.sql.ExecContext(ctx, q, id, attempt); err != nil {
		return fmt.Errorf("clear notice job %d's send: %w", id, err)
	}
	return nil
}
