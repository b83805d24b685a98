package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/sonla-cchc/loa/pipeline/notify"
)

// The limits of a page of MaybeSentNotices.
const (
	DefaultMaybeSentPage = 50
	MaxMaybeSentPage     = 200
)

// noticeKind is the River job kind of a notice's delivery
// (worker.SendNoticeArgs).
const noticeKind = "send_notice"

// MaybeSentNotices lists the notices whose delivery is in doubt, newest
// attempt first, at most limit (1 to MaxMaybeSentPage; DefaultMaybeSentPage
// when out of range): the send_notice jobs the worker ended "maybe_sent"
// (the River output it records) or marked so (NoticeMaybeSent), as long
// as River keeps their rows (completed jobs for a day by default). It
// only reads the queue's table.
func (db *DB) MaybeSentNotices(ctx context.Context, limit int) ([]notify.MaybeSent, error) {
	if limit <= 0 || limit > MaxMaybeSentPage {
		limit = DefaultMaybeSentPage
	}
	work, state, warning, args := `json_extract(metadata, '$.output.work')`, `json_extract(metadata, '$.`+NoticeSendKey+`.state')`,
		`json_extract(metadata, '$.output.warning')`, `json(args)`
	if db.dialect == Postgres {
		work, state, warning, args = `metadata->'output'->>'work'`, `metadata->'`+NoticeSendKey+`'->>'state'`,
			`metadata->'output'->>'warning'`, `args::text`
	}
	q := `SELECT id, ` + args + `, attempted_at, coalesce(` + warning + `, ''), coalesce(` + state + `, '')
		FROM river_job WHERE kind = ? AND (` + work + ` = '` + NoticeMaybeSent + `' OR ` + state + ` = '` + NoticeMaybeSent + `')
		ORDER BY attempted_at DESC, id DESC LIMIT ?`
	return queryAll(ctx, db.sql, "notices maybe sent", scanMaybeSent, q, noticeKind, limit)
}

func scanMaybeSent(sc scanner) (notify.MaybeSent, error) {
	var (
		m         notify.MaybeSent
		args      string
		attempted sql.NullTime
		state     string
	)
	if err := sc.Scan(&m.QueueJobID, &args, &attempted, &m.Warning, &state); err != nil {
		return notify.MaybeSent{}, err
	}
	var a struct {
		Channel string         `json:"channel"`
		Message notify.Message `json:"message"`
		Key     string         `json:"key"`
	}
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		return notify.MaybeSent{}, fmt.Errorf("notice job %d's arguments: %w", m.QueueJobID, err)
	}
	m.Key, m.Channel, m.To, m.Kind, m.JobID = a.Key, a.Channel, a.Message.To, a.Message.Kind, a.Message.JobID
	if attempted.Valid {
		m.AttemptedAt = attempted.Time.UTC()
	}
	if m.Warning == "" {
		// Marked maybe sent, its output (with the warning) not recorded.
		m.Warning = "The channel may have taken the message but its answer was lost (state " + state + "); it is not sent again."
	}
	return m, nil
}
