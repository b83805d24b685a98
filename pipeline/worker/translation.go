package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// Default cron specs of the translation-job sweeps (Asia/Ho_Chi_Minh).
const (
	DefaultJobsSpec   = "*/5 * * * *" // leases, overdue flags, deadline warnings, notices
	DefaultDigestSpec = "0 7 * * *"   // the daily digest, 07:00
)

// JobsStore is what the translation-job sweeps need from the catalog.
type JobsStore interface {
	SweepJobs(ctx context.Context, now time.Time, warn time.Duration, warning func(translation.Job, time.Time, time.Duration) (notify.Notice, bool)) (translation.Sweep, error)
	TakeNotices(ctx context.Context, limit int, queue func(tx *sql.Tx, m notify.Message) error) (int, error)
	Recipients(ctx context.Context) ([]notify.Recipient, error)
	Jobs(ctx context.Context, f translation.Filter) ([]translation.Job, error)
}

// TranslationConfig wires the translation-job sweeps into the worker.
type TranslationConfig struct {
	// Store, when nil, leaves the sweeps out.
	Store JobsStore
	// Spec is the sweep's cron spec (LOA_CRON_JOBS), default DefaultJobsSpec;
	// DigestSpec the daily digest's (LOA_CRON_DIGEST), default DefaultDigestSpec.
	Spec, DigestSpec string
	// Warn is how long before a deadline a warning goes out; default 24 h.
	Warn time.Duration
	// Senders deliver notices; with none, notices are only logged.
	Senders []notify.Sender
	// Sends records each delivery job's send, so a message is sent at
	// most once (see DeliverOnce); nil uses sqlstore.NewNoticeSends on
	// the worker's DB.
	Sends NoticeSends
}

// NoticeSends records what became of each send_notice job's message, on
// the job (sqlstore.NoticeSends is one; its states are sqlstore.Notice*).
type NoticeSends interface {
	// Begin marks job id, run as attempt, as sending its message, unless
	// it is marked already; prior is the mark found when it is not won
	// ("" when the job is no longer at attempt).
	Begin(ctx context.Context, id int64, attempt int) (won bool, prior string, err error)
	// Set records state on attempt's mark; Clear removes attempt's
	// sending mark (the channel did not take the message).
	Set(ctx context.Context, id int64, attempt int, state string) error
	Clear(ctx context.Context, id int64, attempt int) error
}

// SendNoticeArgs delivers one message through one channel. A failure is
// retried with backoff by the queue; the job transition that caused the
// notice committed long before, so it never waits for delivery.
type SendNoticeArgs struct {
	Channel string         `json:"channel"`
	Message notify.Message `json:"message"`
	// Key names the message among all others (NoticeKey, DigestKey):
	// a job for a key is queued once (InsertOpts), so a sweep or digest
	// run again queues no second copy.
	Key string `json:"key,omitempty"`
}

// NoticeKey is the key of the message of notice id to user.
func NoticeKey(id, user int64) string { return fmt.Sprintf("notice/%d/user/%d", id, user) }

// DigestKey is the key of user's digest of the day of now (in
// Asia/Ho_Chi_Minh).
func DigestKey(now time.Time, user int64) string {
	return fmt.Sprintf("digest/%s/user/%d", now.In(localtime.Location()).Format("2006-01-02"), user)
}

// Kind names the job kind.
func (SendNoticeArgs) Kind() string { return "send_notice" }

// InsertOpts retries a delivery for about a day and a half before giving
// up, and queues one job per message (a message with a Key is one per
// key and channel) while River keeps the job (completed ones for a day).
func (SendNoticeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 15, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// SweepJobsArgs is the periodic translation-job sweep.
type SweepJobsArgs struct{}

// Kind names the job kind.
func (SweepJobsArgs) Kind() string { return "sweep_jobs" }

// DigestArgs is the periodic daily digest.
type DigestArgs struct{}

// Kind names the job kind.
func (DigestArgs) Kind() string { return "notice_digest" }

// translationJobs registers the sweep, digest and delivery workers and
// returns their periodic jobs. Bad specs are refused here, at start-up.
func translationJobs(cfg Config, workers *river.Workers) ([]*river.PeriodicJob, error) {
	tc := cfg.Translation
	if tc.Store == nil {
		return nil, nil
	}
	if tc.Spec == "" {
		tc.Spec = DefaultJobsSpec
	}
	if tc.DigestSpec == "" {
		tc.DigestSpec = DefaultDigestSpec
	}
	if tc.Warn <= 0 {
		tc.Warn = 24 * time.Hour
	}
	sweep, err := localtime.ParseSpec(tc.Spec)
	if err != nil {
		return nil, fmt.Errorf("translation-job sweep schedule (LOA_CRON_JOBS): %w", err)
	}
	digest, err := localtime.ParseSpec(tc.DigestSpec)
	if err != nil {
		return nil, fmt.Errorf("digest schedule (LOA_CRON_DIGEST): %w", err)
	}
	river.AddWorker(workers, &sweepJobsWorker{tc: tc, now: cfg.Now, log: cfg.Log})
	river.AddWorker(workers, &digestWorker{tc: tc, now: cfg.Now, log: cfg.Log})
	if tc.Sends == nil && cfg.DB != nil {
		tc.Sends = sqlstore.NewNoticeSends(cfg.DB)
	}
	river.AddWorker(workers, &sendNoticeWorker{senders: tc.Senders, sends: tc.Sends, log: cfg.Log})
	return []*river.PeriodicJob{
		river.NewPeriodicJob(sweep, func() (river.JobArgs, *river.InsertOpts) {
			return SweepJobsArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
		}, &river.PeriodicJobOpts{ID: "sweep_jobs", RunOnStart: true}),
		river.NewPeriodicJob(digest, func() (river.JobArgs, *river.InsertOpts) {
			return DigestArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
		}, &river.PeriodicJobOpts{ID: "notice_digest"}),
	}, nil
}

// InsertTxFunc queues a job inside a transaction.
type InsertTxFunc func(ctx context.Context, tx *sql.Tx, args river.JobArgs) error

// SweepJobs runs one translation-job sweep at now: leases that ran out
// return their jobs to open, jobs past their deadline are flagged, jobs
// due within warn get a warning; then pending notices become one delivery
// job per person and sender, queued with insert in the transaction that
// marks them taken. With no senders, notices are logged and dropped.
func SweepJobs(ctx context.Context, store JobsStore, senders []notify.Sender, now time.Time, warn time.Duration, insert InsertTxFunc, log *slog.Logger) (translation.Sweep, int, error) {
	res, err := store.SweepJobs(ctx, now, warn, translation.DeadlineWarning)
	if err != nil {
		return res, 0, err
	}
	queued := 0
	for {
		n, err := store.TakeNotices(ctx, 200, func(tx *sql.Tx, m notify.Message) error {
			if len(senders) == 0 {
				log.Info("notice (no sender configured)", "to", m.To.Name, "kind", m.Kind, "subject", m.Subject)
				return nil
			}
			for _, s := range senders {
				if err := insert(ctx, tx, SendNoticeArgs{Channel: s.Name(), Message: m, Key: NoticeKey(m.NoticeID, m.To.UserID)}); err != nil {
					return err
				}
				queued++
			}
			return nil
		})
		if err != nil {
			return res, queued, err
		}
		if n < 200 {
			return res, queued, nil
		}
	}
}

type sweepJobsWorker struct {
	river.WorkerDefaults[SweepJobsArgs]
	tc  TranslationConfig
	now func() time.Time
	log *slog.Logger
}

func (w *sweepJobsWorker) Work(ctx context.Context, job *river.Job[SweepJobsArgs]) error {
	client := river.ClientFromContext[*sql.Tx](ctx)
	insert := func(ctx context.Context, tx *sql.Tx, args river.JobArgs) error {
		_, err := client.InsertTx(ctx, tx, args, nil)
		return err
	}
	res, queued, err := SweepJobs(ctx, w.tc.Store, w.tc.Senders, w.now(), w.tc.Warn, insert, w.log)
	if res != (translation.Sweep{}) || queued > 0 {
		w.log.Info("swept translation jobs", "expired", res.Expired, "overdue", res.Overdue, "warned", res.Warned, "relaxed", res.Relaxed, "deliveries", queued)
	}
	return err
}

// DigestMessages writes each translator's and reviewer's daily summary at
// now: open jobs in their languages, the jobs they hold with their
// deadlines, and submissions waiting for review. People with nothing
// waiting get no message.
func DigestMessages(ctx context.Context, store JobsStore, now time.Time) ([]notify.Message, error) {
	people, err := store.Recipients(ctx)
	if err != nil {
		return nil, err
	}
	live, err := store.Jobs(ctx, translation.Filter{Live: true, Limit: 1000})
	if err != nil {
		return nil, err
	}
	zone := localtime.Location()
	var out []notify.Message
	for _, p := range people {
		var lines []string
		for _, j := range live {
			if !slices.Contains(p.Languages, j.Language) {
				continue
			}
			due := j.Deadline.In(zone).Format("2006-01-02 15:04")
			flag := ""
			if j.Overdue {
				flag = " (OVERDUE)"
			}
			switch {
			case p.Role == string(pipeline.RoleTranslator) && j.State == translation.StateOpen:
				lines = append(lines, fmt.Sprintf("open %s %s: %q, due %s%s — loa jobs claim %s", j.Language, j.Kind, j.Title, due, flag, j.ID))
			case p.Role == string(pipeline.RoleTranslator) && j.TranslatorID == p.UserID && (j.State == translation.StateClaimed || j.State == translation.StateChangesRequested):
				lines = append(lines, fmt.Sprintf("yours (%s) %s %s: %q, lease until %s, due %s%s", j.State, j.Language, j.Kind, j.Title,
					j.LeaseUntil.In(zone).Format("2006-01-02 15:04"), due, flag))
			case p.Role == string(pipeline.RoleReviewer) && (j.State == translation.StateSubmitted || (j.State == translation.StateInReview && j.ReviewerID == p.UserID)):
				lines = append(lines, fmt.Sprintf("to review (%s) %s %s: %q, due %s%s — loa jobs review %s", j.State, j.Language, j.Kind, j.Title, due, flag, j.ID))
			}
		}
		if m, ok := notify.Digest(p, lines, now.In(zone)); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

type digestWorker struct {
	river.WorkerDefaults[DigestArgs]
	tc  TranslationConfig
	now func() time.Time
	log *slog.Logger
}

func (w *digestWorker) Work(ctx context.Context, job *river.Job[DigestArgs]) error {
	now := w.now()
	msgs, err := DigestMessages(ctx, w.tc.Store, now)
	if err != nil {
		return err
	}
	var params []river.InsertManyParams
	for _, m := range msgs {
		for _, s := range w.tc.Senders {
			params = append(params, river.InsertManyParams{Args: SendNoticeArgs{Channel: s.Name(), Message: m, Key: DigestKey(now, m.To.UserID)}})
		}
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := river.ClientFromContext[*sql.Tx](ctx).InsertMany(ctx, params); err != nil {
		return fmt.Errorf("queue digests: %w", err)
	}
	w.log.Info("queued daily digests", "people", len(msgs), "deliveries", len(params))
	return nil
}

type sendNoticeWorker struct {
	river.WorkerDefaults[SendNoticeArgs]
	senders []notify.Sender
	sends   NoticeSends
	log     *slog.Logger
}

func (w *sendNoticeWorker) Work(ctx context.Context, job *river.Job[SendNoticeArgs]) error {
	if w.sends == nil {
		return Deliver(ctx, w.senders, job.Args, w.log)
	}
	work, warning, err := deliverOnce(ctx, w.sends, job.ID, job.Attempt, w.senders, job.Args, w.log)
	if err == nil && work != "" {
		// The warning stays on the job's row, where the administrator's
		// listing of notices maybe sent reads it (sqlstore.MaybeSentNotices).
		_ = river.RecordOutput(ctx, Output{Work: work, Warning: warning})
	}
	return err
}

// NoticeMaybeLostMessage is the log message of a notice that may not have
// been delivered and is not sent again (see DeliverOnce).
const NoticeMaybeLostMessage = "notice may not have been delivered; not sent again, so it is never sent twice"

// WorkMaybeSent is the Output.Work of a send_notice job whose message may
// not have been delivered (see DeliverOnce).
const WorkMaybeSent = "maybe_sent"

// DeliverOnce sends one queued message through its channel at most once,
// recording the send on River job id (attempt is the run's attempt) with
// sends: marked sqlstore.NoticeSending before the send (by one attempt
// only: a second replica running the same job, or a later attempt, finds
// the mark and sends nothing), sqlstore.NoticeSent after. It returns what
// the run did (Output.Work).
//
// At most once, not at least once: when a run finds the job marked
// sending, the run before it died or lost its end between handing the
// message over and recording the outcome, and nothing can tell whether
// the mail server took it. Sending again would risk a duplicate, which
// translators read as a second job or a second warning, so the message is
// not sent again: the job ends with Output.Work WorkMaybeSent and
// NoticeMaybeLostMessage is logged as a warning naming the person, kind
// and job, for an operator to check the mail server's log. The same
// holds when the channel itself says so (notify.ErrMaybeSent: the SMTP
// server's answer to the end of the message was lost). A send the
// channel refused before taking the message clears the mark, and the
// error is returned for River to retry; a lost or digest notice is a
// small loss next to a duplicate, and the daily digest repeats what is
// still open.
func DeliverOnce(ctx context.Context, sends NoticeSends, id int64, attempt int, senders []notify.Sender, a SendNoticeArgs, log *slog.Logger) (string, error) {
	work, _, err := deliverOnce(ctx, sends, id, attempt, senders, a, log)
	return work, err
}

// deliverOnce is DeliverOnce, also returning, when the run ends
// WorkMaybeSent, the warning that says why.
func deliverOnce(ctx context.Context, sends NoticeSends, id int64, attempt int, senders []notify.Sender, a SendNoticeArgs, log *slog.Logger) (work, warning string, err error) {
	var sender notify.Sender
	for _, s := range senders {
		if s.Name() == a.Channel {
			sender = s
		}
	}
	if sender == nil {
		log.Warn("notice dropped: channel no longer configured", "channel", a.Channel, "to", a.Message.To.Name)
		return WorkNone, "", nil
	}
	attrs := []any{"channel", a.Channel, "to", a.Message.To.Name, "kind", a.Message.Kind, "job", a.Message.JobID, "key", a.Key, "river_job", id}
	won, prior, err := sends.Begin(ctx, id, attempt)
	if err != nil {
		return "", "", fmt.Errorf("deliver %s notice to %s: %w", a.Message.Kind, a.Message.To.Name, err)
	}
	if !won {
		switch prior {
		case sqlstore.NoticeSent:
			log.Info(FoundDoneMessage, append([]any{"recorded", "notice sent"}, attrs...)...)
			return WorkFoundDone, "", nil
		case "":
			return "", "", fmt.Errorf("deliver %s notice to %s: attempt %d of job %d is no longer the job's: another worker has it", a.Message.Kind, a.Message.To.Name, attempt, id)
		default:
			log.Warn(NoticeMaybeLostMessage, append([]any{"found", prior}, attrs...)...)
			if prior == sqlstore.NoticeMaybeSent {
				return WorkMaybeSent, "An earlier attempt handed the message to " + a.Channel + " and lost the server's answer; not sent again.", nil
			}
			return WorkMaybeSent, "An earlier attempt began handing the message to " + a.Channel + " and its end was never recorded (its worker stopped, or the database was away); not sent again.", nil
		}
	}
	// The outcome is recorded even when ctx ends with the send.
	record, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = sender.Send(ctx, a.Message)
	switch {
	case err == nil:
		if serr := sends.Set(record, id, attempt, sqlstore.NoticeSent); serr != nil {
			log.Warn("notice sent; recording it failed (a run again reports it as maybe not delivered, and does not send it)", append([]any{"err", serr}, attrs...)...)
		}
		return WorkDone, "", nil
	case errors.Is(err, notify.ErrNoAddress):
		log.Debug("notice skipped: no address", attrs...)
		if cerr := sends.Clear(record, id, attempt); cerr != nil {
			log.Warn("notice skipped; clearing its send failed", append([]any{"err", cerr}, attrs...)...)
		}
		return WorkNone, "", nil
	case errors.Is(err, notify.ErrMaybeSent):
		if serr := sends.Set(record, id, attempt, sqlstore.NoticeMaybeSent); serr != nil {
			log.Warn("recording a notice maybe sent failed", append([]any{"err", serr}, attrs...)...)
		}
		log.Warn(NoticeMaybeLostMessage, append([]any{"err", err}, attrs...)...)
		return WorkMaybeSent, err.Error(), nil
	default:
		if cerr := sends.Clear(record, id, attempt); cerr != nil {
			log.Warn("notice not sent; clearing its send failed (a run again reports it as maybe not delivered)", append([]any{"err", cerr}, attrs...)...)
		}
		return "", "", fmt.Errorf("deliver %s notice to %s by %s: %w", a.Message.Kind, a.Message.To.Name, a.Channel, err)
	}
}

// Deliver sends one queued message through its channel, without a record
// of the send (DeliverOnce keeps one). A recipient the channel has no
// address for is skipped, and so is a message the channel may have
// delivered (notify.ErrMaybeSent, logged); any other failure is returned
// so the queue retries it later.
func Deliver(ctx context.Context, senders []notify.Sender, a SendNoticeArgs, log *slog.Logger) error {
	for _, s := range senders {
		if s.Name() != a.Channel {
			continue
		}
		err := s.Send(ctx, a.Message)
		if errors.Is(err, notify.ErrNoAddress) {
			log.Debug("notice skipped: no address", "channel", a.Channel, "to", a.Message.To.Name)
			return nil
		}
		if errors.Is(err, notify.ErrMaybeSent) {
			log.Warn(NoticeMaybeLostMessage, "channel", a.Channel, "to", a.Message.To.Name, "kind", a.Message.Kind, "err", err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("deliver %s notice to %s by %s: %w", a.Message.Kind, a.Message.To.Name, a.Channel, err)
		}
		return nil
	}
	log.Warn("notice dropped: channel no longer configured", "channel", a.Channel, "to", a.Message.To.Name)
	return nil
}
