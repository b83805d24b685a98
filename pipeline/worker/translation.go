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
}

// SendNoticeArgs delivers one message through one channel. A failure is
// retried with backoff by the queue; the job transition that caused the
// notice committed long before, so it never waits for delivery.
type SendNoticeArgs struct {
	Channel string         `json:"channel"`
	Message notify.Message `json:"message"`
}

// Kind names the job kind.
func (SendNoticeArgs) Kind() string { return "send_notice" }

// InsertOpts retries a delivery for about a day and a half before giving up.
func (SendNoticeArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 15} }

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
	river.AddWorker(workers, &sendNoticeWorker{senders: tc.Senders, log: cfg.Log})
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
				if err := insert(ctx, tx, SendNoticeArgs{Channel: s.Name(), Message: m}); err != nil {
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
		w.log.Info("swept translation jobs", "expired", res.Expired, "overdue", res.Overdue, "warned", res.Warned, "deliveries", queued)
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
	msgs, err := DigestMessages(ctx, w.tc.Store, w.now())
	if err != nil {
		return err
	}
	var params []river.InsertManyParams
	for _, m := range msgs {
		for _, s := range w.tc.Senders {
			params = append(params, river.InsertManyParams{Args: SendNoticeArgs{Channel: s.Name(), Message: m}})
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
	log     *slog.Logger
}

func (w *sendNoticeWorker) Work(ctx context.Context, job *river.Job[SendNoticeArgs]) error {
	return Deliver(ctx, w.senders, job.Args, w.log)
}

// Deliver sends one queued message through its channel. A recipient the
// channel has no address for is skipped; any other failure is returned so
// the queue retries it later.
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
		if err != nil {
			return fmt.Errorf("deliver %s notice to %s by %s: %w", a.Message.Kind, a.Message.To.Name, a.Channel, err)
		}
		return nil
	}
	log.Warn("notice dropped: channel no longer configured", "channel", a.Channel, "to", a.Message.To.Name)
	return nil
}
