package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// JobOptions says which translation jobs a processed segment gets and
// their deadlines per priority; the zero value means translation.DefaultOpenOptions.
type JobOptions = translation.OpenOptions

// OpenJobsTx opens a processed segment's translation jobs inside the
// caller's transaction (the one that records the processing result): per
// target language among blt and hnj in the segment's languages, a
// voice-over, and for TV with a Vietnamese subtitle file a subtitle job,
// each due by the priority's deadline. Running it again for the same
// segment opens nothing new. A withdrawn segment gets no jobs. The
// translators of each language are notified.
func (db *DB) OpenJobsTx(ctx context.Context, tx *sql.Tx, seg pipeline.Segment, opts JobOptions) error {
	if seg.State == pipeline.StateWithdrawn {
		return nil
	}
	now := db.Now().UTC()
	for _, j := range translation.Plan(seg, opts, now) {
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, segment_id, language, kind, state, deadline, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (segment_id, language, kind) DO NOTHING`,
			j.ID, j.SegmentID, j.Language, string(j.Kind), string(j.State), j.Deadline.UTC(), now, now)
		if err != nil {
			return fmt.Errorf("open %s %s job of %s: %w", j.Language, j.Kind, seg.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		ev := translation.Event{JobID: j.ID, At: now, Action: translation.ActionOpen, From: "", To: translation.StateOpen}.
			WithNote(translation.OpenedNote(opts.DeadlineFor(seg.Priority), seg.Priority))
		if err := addJobEvent(ctx, tx, ev); err != nil {
			return err
		}
		if err := addNotices(ctx, tx, translation.NoticesFor(translation.Job{}, j, ev)); err != nil {
			return err
		}
	}
	return nil
}

// retimeJobsTx brings the deadline of each of segment segmentID's
// translation jobs not yet done (approved or cancelled) to at most now
// plus p's deadline (db.JobDeadlines), recording why on each job: a segment
// raised to priority, or to an emergency, gets its translations by the
// new priority's deadline, not the one it was opened with. A deadline
// already earlier is kept, so lowering a priority moves none.
func (db *DB) retimeJobsTx(ctx context.Context, tx *sql.Tx, segmentID string, p pipeline.Priority) error {
	now := db.Now().UTC()
	allowed := db.JobDeadlines.DeadlineFor(p)
	due := now.Add(allowed)
	rows, err := tx.QueryContext(ctx, "SELECT id, state, deadline FROM jobs WHERE segment_id = ? AND state NOT IN (?, ?) AND deadline > ?",
		segmentID, string(translation.StateApproved), string(translation.StateCancelled), due)
	if err != nil {
		return fmt.Errorf("jobs of %s to bring forward: %w", segmentID, err)
	}
	type job struct {
		id    string
		state translation.State
		was   time.Time
	}
	var jobs []job
	for rows.Next() {
		var j job
		var state string
		if err := rows.Scan(&j.id, &state, &j.was); err != nil {
			rows.Close()
			return fmt.Errorf("jobs of %s to bring forward: %w", segmentID, err)
		}
		j.state = translation.State(state)
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("jobs of %s to bring forward: %w", segmentID, err)
	}
	for _, j := range jobs {
		if _, err := tx.ExecContext(ctx, "UPDATE jobs SET deadline = ?, updated_at = ? WHERE id = ?", due, now, j.id); err != nil {
			return fmt.Errorf("bring the deadline of job %s forward: %w", j.id, err)
		}
		ev := translation.Event{JobID: j.id, At: now, Action: translation.ActionRetime, From: j.state, To: j.state}.
			WithNote(translation.RetimedNote(p, allowed, j.was))
		if err := addJobEvent(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

// relaxJobsTx gives each of segment segmentID's translation jobs not yet
// done (approved or cancelled) the normal deadline counted from the job's
// creation (db.JobDeadlines) when that is later than the one it has,
// recording why on each job: an emergency ended early leaves the segment
// on no loudspeaker until its producer sets a priority again, so its
// jobs are no longer due by the emergency's deadline. A job the earlier
// deadline made overdue, or warned of, is neither once its new deadline
// lies ahead. A deadline already later is kept; setting a priority
// afterwards brings them forward again (retimeJobsTx).
// It returns how many jobs it gave a later deadline.
func (db *DB) relaxJobsTx(ctx context.Context, tx *sql.Tx, segmentID string, now time.Time) (int, error) {
	now = now.UTC()
	allowed := db.JobDeadlines.DeadlineFor(pipeline.PriorityNormal)
	rows, err := tx.QueryContext(ctx, "SELECT id, state, deadline, created_at FROM jobs WHERE segment_id = ? AND state NOT IN (?, ?)",
		segmentID, string(translation.StateApproved), string(translation.StateCancelled))
	if err != nil {
		return 0, fmt.Errorf("jobs of %s to relax: %w", segmentID, err)
	}
	type job struct {
		id       string
		state    translation.State
		was, due time.Time
	}
	var jobs []job
	for rows.Next() {
		var j job
		var state string
		var created time.Time
		if err := rows.Scan(&j.id, &state, &j.was, &created); err != nil {
			rows.Close()
			return 0, fmt.Errorf("jobs of %s to relax: %w", segmentID, err)
		}
		j.state, j.due = translation.State(state), created.UTC().Add(allowed)
		if j.due.After(j.was) {
			jobs = append(jobs, j)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("jobs of %s to relax: %w", segmentID, err)
	}
	for _, j := range jobs {
		q := "UPDATE jobs SET deadline = ?, updated_at = ? WHERE id = ?"
		if j.due.After(now) {
			q = "UPDATE jobs SET deadline = ?, updated_at = ?, overdue = 0, warned = 0 WHERE id = ?"
		}
		if _, err := tx.ExecContext(ctx, q, j.due, now, j.id); err != nil {
			return 0, fmt.Errorf("relax the deadline of job %s: %w", j.id, err)
		}
		ev := translation.Event{JobID: j.id, At: now, Action: translation.ActionRetime, From: j.state, To: j.state}.
			WithNote(translation.RetimedNote(pipeline.PriorityNormal, allowed, j.was))
		if err := addJobEvent(ctx, tx, ev); err != nil {
			return 0, err
		}
	}
	return len(jobs), nil
}

// relaxRunOutTx relaxes (relaxJobsTx) the jobs not yet done of every
// segment whose emergency ran out by its end time before now and whose
// priority still says emergency (nobody set another since): as after an
// early end, the segment airs nowhere, so its jobs are no longer due by
// the emergency's deadline. A segment whose jobs were relaxed already
// has nothing left to move, so running it again changes nothing. It
// returns how many jobs got a later deadline.
func (db *DB) relaxRunOutTx(ctx context.Context, tx *sql.Tx, now time.Time) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT e.segment_id FROM emergencies e JOIN segments s ON s.id = e.segment_id
		JOIN jobs j ON j.segment_id = e.segment_id
		WHERE e.until <= ? AND s.priority = ? AND s.state <> ? AND j.state NOT IN (?, ?) ORDER BY e.segment_id`,
		now.UTC(), string(pipeline.PriorityEmergency), string(pipeline.StateWithdrawn), string(translation.StateApproved), string(translation.StateCancelled))
	if err != nil {
		return 0, fmt.Errorf("segments whose emergency ran out: %w", err)
	}
	var segs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("segments whose emergency ran out: %w", err)
		}
		segs = append(segs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("segments whose emergency ran out: %w", err)
	}
	n := 0
	for _, id := range segs {
		k, err := db.relaxJobsTx(ctx, tx, id, now)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// labelEnded gives the jobs of a segment whose priority still says
// emergency but whose emergency is over at now (ended early or run out)
// the priority their deadline now follows, normal, and marks them
// EmergencyEnded, so job lists stop calling them emergencies.
func labelEnded(ctx context.Context, q rowsQuerier, now time.Time, jobs []translation.Job) error {
	var ids []any
	for _, j := range jobs {
		if j.Priority == string(pipeline.PriorityEmergency) && !slices.Contains(ids, any(j.SegmentID)) {
			ids = append(ids, j.SegmentID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, "SELECT segment_id FROM emergencies WHERE until > ? AND segment_id IN (?"+strings.Repeat(", ?", len(ids)-1)+")",
		append([]any{now.UTC()}, ids...)...)
	if err != nil {
		return fmt.Errorf("emergencies in force of the jobs' segments: %w", err)
	}
	defer rows.Close()
	inForce := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("emergencies in force of the jobs' segments: %w", err)
		}
		inForce[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("emergencies in force of the jobs' segments: %w", err)
	}
	for i := range jobs {
		if jobs[i].Priority == string(pipeline.PriorityEmergency) && !inForce[jobs[i].SegmentID] {
			jobs[i].Priority, jobs[i].EmergencyEnded = string(pipeline.PriorityNormal), true
		}
	}
	return nil
}

const jobColumns = `j.id, j.segment_id, j.language, j.kind, j.state, COALESCE(j.translator_id, 0), COALESCE(t.name, ''),
	COALESCE(j.reviewer_id, 0), COALESCE(r.name, ''), j.lease_until, j.deadline, j.overdue, j.extensions, j.submissions,
	j.reason, s.priority, s.title, j.created_at, j.updated_at`

const jobFrom = ` FROM jobs j JOIN segments s ON s.id = j.segment_id
	LEFT JOIN users t ON t.id = j.translator_id LEFT JOIN users r ON r.id = j.reviewer_id`

func scanJob(row scanner) (translation.Job, error) {
	var j translation.Job
	var kind, state string
	var lease sql.NullTime
	var overdue int
	err := row.Scan(&j.ID, &j.SegmentID, &j.Language, &kind, &state, &j.TranslatorID, &j.Translator,
		&j.ReviewerID, &j.Reviewer, &lease, &j.Deadline, &overdue, &j.Extensions, &j.Submissions,
		&j.Reason, &j.Priority, &j.Title, &j.CreatedAt, &j.UpdatedAt)
	if err != nil {
		return j, err
	}
	j.Kind, j.State, j.Overdue = translation.Kind(kind), translation.State(state), overdue != 0
	if lease.Valid {
		j.LeaseUntil = lease.Time
	}
	return j, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func jobBy(ctx context.Context, q querier, id string) (translation.Job, error) {
	j, err := scanJob(q.QueryRowContext(ctx, "SELECT "+jobColumns+jobFrom+" WHERE j.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return j, pipeline.Errorf(pipeline.CodeNotFound, "No job %q.", id)
	}
	if err != nil {
		return j, fmt.Errorf("job %s: %w", id, err)
	}
	return j, nil
}

// Job returns one job by id.
func (db *DB) Job(ctx context.Context, id string) (translation.Job, error) {
	j, err := jobBy(ctx, db.sql, id)
	if err != nil {
		return j, err
	}
	js := []translation.Job{j}
	err = labelEnded(ctx, db.sql, db.Now(), js)
	return js[0], err
}

// Jobs lists jobs matching f: soonest deadline first.
func (db *DB) Jobs(ctx context.Context, f translation.Filter) ([]translation.Job, error) {
	q := "SELECT " + jobColumns + jobFrom + " WHERE 1 = 1"
	var args []any
	if f.Languages != nil {
		if len(f.Languages) == 0 {
			return []translation.Job{}, nil
		}
		q += " AND j.language IN (?" + strings.Repeat(", ?", len(f.Languages)-1) + ")"
		for _, l := range f.Languages {
			args = append(args, l)
		}
	}
	if f.State != "" {
		q += " AND j.state = ?"
		args = append(args, string(f.State))
	}
	if f.Kind != "" {
		q += " AND j.kind = ?"
		args = append(args, string(f.Kind))
	}
	if f.SegmentID != "" {
		q += " AND j.segment_id = ?"
		args = append(args, f.SegmentID)
	}
	if f.Live {
		q += " AND j.state NOT IN (?, ?)"
		args = append(args, string(translation.StateApproved), string(translation.StateCancelled))
	}
	if f.HolderID != 0 {
		q += " AND (j.translator_id = ? OR j.reviewer_id = ?)"
		args = append(args, f.HolderID, f.HolderID)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	q += " ORDER BY j.deadline, j.id LIMIT ?"
	args = append(args, f.Limit)
	jobs, err := queryAll(ctx, db.sql, "list jobs", scanJob, q, args...)
	if err != nil {
		return nil, err
	}
	return jobs, labelEnded(ctx, db.sql, db.Now(), jobs)
}

// JobEvents returns a job's history, oldest first.
func (db *DB) JobEvents(ctx context.Context, id string) ([]translation.Event, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT e.job_id, e.at, e.actor_id, COALESCE(u.name, ''), e.action, e.from_state, e.to_state, e.reason, e.note
		FROM job_events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.job_id = ? ORDER BY e.id`, id)
	if err != nil {
		return nil, fmt.Errorf("events of job %s: %w", id, err)
	}
	defer rows.Close()
	out := []translation.Event{}
	for rows.Next() {
		var e translation.Event
		var action, from, to, note string
		if err := rows.Scan(&e.JobID, &e.At, &e.ActorID, &e.Actor, &action, &from, &to, &e.Reason, &note); err != nil {
			return nil, fmt.Errorf("events of job %s: %w", id, err)
		}
		if note != "" {
			// A note that does not read leaves the event with its English
			// reason, which the pages show as stored.
			var n translation.Note
			if json.Unmarshal([]byte(note), &n) == nil && n.Key != "" {
				e.Note = &n
			}
		}
		e.Action, e.From, e.To = translation.Action(action), translation.State(from), translation.State(to)
		out = append(out, e)
	}
	return out, rows.Err()
}

func addJobEvent(ctx context.Context, tx *sql.Tx, e translation.Event) error {
	note := ""
	if e.Note != nil {
		b, err := json.Marshal(e.Note)
		if err != nil {
			return fmt.Errorf("record %s of job %s: note: %w", e.Action, e.JobID, err)
		}
		note = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO job_events (job_id, at, actor_id, action, from_state, to_state, reason, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.JobID, e.At.UTC(), e.ActorID, string(e.Action), string(e.From), string(e.To), e.Reason, note)
	if err != nil {
		return fmt.Errorf("record %s of job %s: %w", e.Action, e.JobID, err)
	}
	return nil
}

func addNotices(ctx context.Context, tx *sql.Tx, ns []notify.Notice) error {
	for _, n := range ns {
		_, err := tx.ExecContext(ctx, `INSERT INTO notices (kind, job_id, language, role, user_id, subject, body, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, n.Kind, n.JobID, n.Language, n.Role, n.UserID, n.Subject, n.Body, n.CreatedAt.UTC())
		if err != nil {
			return fmt.Errorf("queue %s notice: %w", n.Kind, err)
		}
	}
	return nil
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// ApplyJob runs one transition in a write transaction: it reads the job,
// counts the jobs the actor holds (for a claim), lets the policy decide,
// writes the new row with an UPDATE guarded by the state it read (so of
// any number of claimers only one moves an open job), records the event
// and its notices, and runs then in the same transaction. The connection
// takes the write lock at BEGIN (_txlock=immediate), so claims are
// serialized by SQLite itself; the guard keeps the rule explicit.
func (db *DB) ApplyJob(ctx context.Context, id string, p translation.Policy, r translation.Request, then func(tx *sql.Tx, j translation.Job) error) (translation.Job, error) {
	var out translation.Job
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		j, err := jobBy(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.Action == translation.ActionClaim {
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE translator_id = ? AND state IN (?, ?)`,
				r.By.ID, string(translation.StateClaimed), string(translation.StateChangesRequested)).Scan(&r.Held); err != nil {
				return fmt.Errorf("count claims of %s: %w", r.By.Name, err)
			}
		}
		next, ev, err := p.Apply(j, r)
		if err != nil {
			return err
		}
		if err := recordTransition(ctx, tx, j, next, ev); err != nil {
			return err
		}
		out = next
		if then != nil {
			return then(tx, next)
		}
		return nil
	})
	if err != nil {
		return translation.Job{}, fmt.Errorf("%s job %s: %w", r.Action, id, err)
	}
	js := []translation.Job{out}
	err = labelEnded(ctx, db.sql, db.Now(), js)
	return js[0], err
}

// recordTransition stores a job's move from prev to next: the new state
// (only if prev's state still holds), the event, and the notices it sends.
func recordTransition(ctx context.Context, tx *sql.Tx, prev, next translation.Job, ev translation.Event) error {
	if err := writeJob(ctx, tx, prev.State, next); err != nil {
		return err
	}
	if err := addJobEvent(ctx, tx, ev); err != nil {
		return err
	}
	return addNotices(ctx, tx, translation.NoticesFor(prev, next, ev))
}

// writeJob stores a job's new state only if its state is still from.
func writeJob(ctx context.Context, tx *sql.Tx, from translation.State, j translation.Job) error {
	overdue := 0
	if j.Overdue {
		overdue = 1
	}
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, translator_id = ?, reviewer_id = ?, lease_until = ?,
		overdue = ?, extensions = ?, submissions = ?, reason = ?, updated_at = ? WHERE id = ? AND state = ?`,
		string(j.State), nullID(j.TranslatorID), nullID(j.ReviewerID), nullTime(j.LeaseUntil), overdue,
		j.Extensions, j.Submissions, j.Reason, j.UpdatedAt.UTC(), j.ID, string(from))
	if err != nil {
		return fmt.Errorf("write job %s: %w", j.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return pipeline.Errorf(pipeline.CodeConflict, "Job %s changed meanwhile: look at it again.", j.ID)
	}
	return nil
}

// cancelSegmentJobsTx cancels every job of a segment that is not done
// yet, recording why and, as the events' actor, the user who withdrew the
// segment (by; 0 for the system); it runs in the withdrawal's transaction.
func cancelSegmentJobsTx(ctx context.Context, tx *sql.Tx, segmentID, reason string, by int64, now time.Time) error {
	rows, err := tx.QueryContext(ctx, "SELECT "+jobColumns+jobFrom+" WHERE j.segment_id = ? AND j.state NOT IN (?, ?)",
		segmentID, string(translation.StateApproved), string(translation.StateCancelled))
	if err != nil {
		return fmt.Errorf("jobs of %s: %w", segmentID, err)
	}
	var open []translation.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("jobs of %s: %w", segmentID, err)
		}
		open = append(open, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("jobs of %s: %w", segmentID, err)
	}
	note := translation.WithdrawnNote(strings.TrimSpace(reason))
	why := note.English()
	for _, j := range open {
		// The cascade is allowed as the system's (a producer may withdraw
		// a segment but not cancel a job); the event names who withdrew.
		next, ev, err := translation.Policy{}.Apply(j, translation.Request{Action: translation.ActionCancel, Reason: why, Now: now})
		if err != nil {
			return err
		}
		ev.ActorID = by
		ev = ev.WithNote(note)
		if err := recordTransition(ctx, tx, j, next, ev); err != nil {
			return err
		}
	}
	return nil
}

// Submissions lists a job's submissions, first first.
func (db *DB) Submissions(ctx context.Context, jobID string) ([]translation.Submission, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT job_id, n, object_key, file_name, content_type, size_bytes, sha256,
		duration_ms, findings, user_id, at FROM job_submissions WHERE job_id = ? ORDER BY n`, jobID)
	if err != nil {
		return nil, fmt.Errorf("submissions of %s: %w", jobID, err)
	}
	defer rows.Close()
	out := []translation.Submission{}
	for rows.Next() {
		var s translation.Submission
		var findings string
		if err := rows.Scan(&s.JobID, &s.N, &s.Key, &s.FileName, &s.ContentType, &s.Size, &s.SHA256,
			&s.DurationMS, &findings, &s.By, &s.At); err != nil {
			return nil, fmt.Errorf("submissions of %s: %w", jobID, err)
		}
		if err := json.Unmarshal([]byte(findings), &s.Findings); err != nil {
			return nil, fmt.Errorf("submissions of %s: findings: %w", jobID, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AddSubmissionTx records a submission and ends its upload, in the
// transaction that marks the job submitted.
func (db *DB) AddSubmissionTx(ctx context.Context, tx *sql.Tx, s translation.Submission) error {
	findings, err := json.Marshal(s.Findings)
	if err != nil {
		return fmt.Errorf("add submission: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO job_submissions (job_id, n, object_key, file_name, content_type, size_bytes,
		sha256, duration_ms, findings, user_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.JobID, s.N, s.Key, s.FileName, s.ContentType, s.Size, s.SHA256, s.DurationMS, string(findings), s.By, s.At.UTC()); err != nil {
		if isUniqueViolation(err) {
			return &pipeline.Error{Code: pipeline.CodeConflict, Err: err,
				Message: fmt.Sprintf("Another submission of job %s was stored at the same moment: reload the job to see it, and submit again only if it is not yours.", s.JobID)}
		}
		return fmt.Errorf("add submission %d of %s: %w", s.N, s.JobID, err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM uploads WHERE object_key = ?", s.Key); err != nil {
		return fmt.Errorf("add submission %d of %s: %w", s.N, s.JobID, err)
	}
	return nil
}

// Memory returns up to limit translation-memory entries of a language,
// most recent first.
func (db *DB) Memory(ctx context.Context, lang string, limit int) ([]translation.MemoryEntry, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT language, source_key, source, target, job_id, updated_at
		FROM translation_memory WHERE language = ? ORDER BY updated_at DESC LIMIT ?`, lang, limit)
	if err != nil {
		return nil, fmt.Errorf("memory %s: %w", lang, err)
	}
	defer rows.Close()
	out := []translation.MemoryEntry{}
	for rows.Next() {
		var m translation.MemoryEntry
		if err := rows.Scan(&m.Language, &m.Key, &m.Source, &m.Target, &m.JobID, &m.UpdatedAt); err != nil {
			return nil, fmt.Errorf("memory %s: %w", lang, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// AddMemoryTx adds approved cue translations; a later approval of the
// same Vietnamese text replaces the earlier one.
func (db *DB) AddMemoryTx(ctx context.Context, tx *sql.Tx, es []translation.MemoryEntry) error {
	now := db.Now().UTC()
	for _, m := range es {
		if m.Key == "" {
			m.Key = translation.MemoryKey(m.Source)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO translation_memory (language, source_key, source, target, job_id, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (language, source_key) DO UPDATE SET source = excluded.source,
			target = excluded.target, job_id = excluded.job_id, updated_at = excluded.updated_at`,
			m.Language, m.Key, m.Source, m.Target, m.JobID, now); err != nil {
			return fmt.Errorf("add memory: %w", err)
		}
	}
	return nil
}

// Glossary returns a language's glossary in term order.
func (db *DB) Glossary(ctx context.Context, lang string) ([]translation.Term, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT language, term, translation, note, updated_at FROM glossary
		WHERE language = ? ORDER BY term_key`, lang)
	if err != nil {
		return nil, fmt.Errorf("glossary %s: %w", lang, err)
	}
	defer rows.Close()
	out := []translation.Term{}
	for rows.Next() {
		var t translation.Term
		if err := rows.Scan(&t.Language, &t.Term, &t.Translation, &t.Note, &t.UpdatedAt); err != nil {
			return nil, fmt.Errorf("glossary %s: %w", lang, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ImportGlossary adds or updates terms of a language; with replace, terms
// not in the import are removed. It returns how many terms the language
// has afterwards.
func (db *DB) ImportGlossary(ctx context.Context, lang string, terms []translation.Term, replace bool) (int, error) {
	now := db.Now().UTC()
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if replace {
			if _, err := tx.ExecContext(ctx, "DELETE FROM glossary WHERE language = ?", lang); err != nil {
				return err
			}
		}
		for _, t := range terms {
			if _, err := tx.ExecContext(ctx, `INSERT INTO glossary (language, term_key, term, translation, note, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (language, term_key) DO UPDATE SET term = excluded.term,
				translation = excluded.translation, note = excluded.note, updated_at = excluded.updated_at`,
				lang, translation.MemoryKey(t.Term), t.Term, t.Translation, t.Note, now); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM glossary WHERE language = ?", lang).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("import glossary %s: %w", lang, err)
	}
	return n, nil
}
