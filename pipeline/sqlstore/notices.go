package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// SweepJobs, at now: returns to open every job whose lease ran out, flags
// every job newly past its deadline, and, for each job due within warn,
// queues the notice warning gives it at now (none when it says so) and
// marks it warned. Each change is a recorded transition; all happen in one
// transaction. The rule of who is warned is translation's:
// translation.DeadlineWarning.
func (db *DB) SweepJobs(ctx context.Context, now time.Time, warn time.Duration, warning func(j translation.Job, now time.Time, warn time.Duration) (notify.Notice, bool)) (translation.Sweep, error) {
	var res translation.Sweep
	now = now.UTC()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		live := " AND j.state NOT IN ('" + string(translation.StateApproved) + "', '" + string(translation.StateCancelled) + "')"
		// Jobs of an emergency that ran out are due as after an early
		// end, before anything is flagged overdue by the emergency's
		// deadline.
		relaxed, err := db.relaxRunOutTx(ctx, tx, now)
		if err != nil {
			return err
		}
		res.Relaxed = relaxed
		expired, err := jobsWhere(ctx, tx, "j.lease_until IS NOT NULL AND j.lease_until <= ?"+live, now)
		if err != nil {
			return err
		}
		for _, j := range expired {
			if err := systemApply(ctx, tx, j, translation.Request{Action: translation.ActionExpire, Now: now}); err != nil {
				return err
			}
			res.Expired++
		}
		due, err := jobsWhere(ctx, tx, "j.overdue = 0 AND j.deadline <= ?"+live, now)
		if err != nil {
			return err
		}
		for _, j := range due {
			if err := systemApply(ctx, tx, j, translation.Request{Action: translation.ActionFlagOverdue, Now: now}); err != nil {
				return err
			}
			res.Overdue++
		}
		if warn <= 0 {
			return nil
		}
		soon, err := jobsWhere(ctx, tx, "j.warned = 0 AND j.overdue = 0 AND j.deadline <= ?"+live, now.Add(warn))
		if err != nil {
			return err
		}
		for _, j := range soon {
			if n, ok := warning(j, now, warn); ok {
				if err := addNotices(ctx, tx, []notify.Notice{n}); err != nil {
					return err
				}
				res.Warned++
			}
			if _, err := tx.ExecContext(ctx, "UPDATE jobs SET warned = 1 WHERE id = ?", j.ID); err != nil {
				return fmt.Errorf("mark %s warned: %w", j.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("sweep jobs: %w", err)
	}
	return res, nil
}

func jobsWhere(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]translation.Job, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+jobColumns+jobFrom+" WHERE "+where+" ORDER BY j.deadline, j.id", args...)
	if err != nil {
		return nil, fmt.Errorf("select jobs: %w", err)
	}
	defer rows.Close()
	var out []translation.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("select jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func systemApply(ctx context.Context, tx *sql.Tx, j translation.Job, r translation.Request) error {
	next, ev, err := translation.Policy{}.Apply(j, r)
	if err != nil {
		return err
	}
	return recordTransition(ctx, tx, j, next, ev)
}

// Recipients lists the people notices can go to: translators and
// reviewers (with their languages), admins, and producers (told when an
// administrator declines their emergency request), with their email
// address when one is known.
func (db *DB) Recipients(ctx context.Context) ([]notify.Recipient, error) {
	return recipients(ctx, db.sql)
}

type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func recipients(ctx context.Context, q rowsQuerier) ([]notify.Recipient, error) {
	rows, err := q.QueryContext(ctx, `SELECT u.id, u.name, u.role, u.languages, COALESCE(c.email, '')
		FROM users u LEFT JOIN user_contacts c ON c.user_id = u.id WHERE u.role IN (?, ?, ?, ?) AND u.disabled_at IS NULL ORDER BY u.id`,
		string(pipeline.RoleTranslator), string(pipeline.RoleReviewer), string(pipeline.RoleAdmin), string(pipeline.RoleProducer))
	if err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	defer rows.Close()
	var out []notify.Recipient
	for rows.Next() {
		var r notify.Recipient
		var langs string
		if err := rows.Scan(&r.UserID, &r.Name, &r.Role, &langs, &r.Email); err != nil {
			return nil, fmt.Errorf("recipients: %w", err)
		}
		if langs != "" {
			r.Languages = strings.Split(langs, ",")
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TakeNotices hands up to limit pending notices to queue, one Message per
// person in each notice's audience, and marks them queued, all in one
// transaction: queue inserts the delivery jobs in that transaction, so a
// notice is queued exactly once. It returns how many notices it took.
func (db *DB) TakeNotices(ctx context.Context, limit int, queue func(tx *sql.Tx, m notify.Message) error) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, kind, job_id, language, role, user_id, subject, body, created_at
			FROM notices WHERE queued_at IS NULL ORDER BY id LIMIT ?`, limit)
		if err != nil {
			return err
		}
		var ns []notify.Notice
		for rows.Next() {
			var x notify.Notice
			if err := rows.Scan(&x.ID, &x.Kind, &x.JobID, &x.Language, &x.Role, &x.UserID, &x.Subject, &x.Body, &x.CreatedAt); err != nil {
				rows.Close()
				return err
			}
			ns = append(ns, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ns) == 0 {
			return nil
		}
		people, err := recipients(ctx, tx)
		if err != nil {
			return err
		}
		now := db.Now().UTC()
		for _, x := range ns {
			for _, p := range people {
				if !audience(x, p) {
					continue
				}
				if err := queue(tx, notify.Message{NoticeID: x.ID, To: p, Kind: x.Kind, JobID: x.JobID, Subject: x.Subject, Body: x.Body}); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "UPDATE notices SET queued_at = ? WHERE id = ?", now, x.ID); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("take notices: %w", err)
	}
	return n, nil
}

// audience reports whether p is among the people notice x is for.
func audience(x notify.Notice, p notify.Recipient) bool {
	if x.UserID != 0 {
		return p.UserID == x.UserID
	}
	return p.Role == x.Role && (x.Language == "" || slices.Contains(p.Languages, x.Language))
}

// SetContact records the email address notices are mailed to for a user;
// an empty address removes it.
func (db *DB) SetContact(ctx context.Context, name, email string) error {
	email = strings.TrimSpace(email)
	if email != "" && (strings.ContainsAny(email, " \t\r\n<>,;") || !strings.Contains(email, "@") || len(email) > 254) {
		return pipeline.FieldError("email", "%q is not an email address: write it as name@example.vn.", email)
	}
	u, err := db.UserByName(ctx, name)
	if err != nil {
		return err
	}
	_, err = db.sql.ExecContext(ctx, `INSERT INTO user_contacts (user_id, email) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET email = excluded.email`, u.ID, email)
	if err != nil {
		return fmt.Errorf("set contact of %s: %w", name, err)
	}
	return nil
}
