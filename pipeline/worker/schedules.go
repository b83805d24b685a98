package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// ScheduleBuilder builds the communes' schedules; broadcast.Service is one.
type ScheduleBuilder interface {
	// Nightly builds every commune once per date of now.
	Nightly(ctx context.Context, now time.Time) error
	// Rebuild builds the given communes (all when empty) now.
	Rebuild(ctx context.Context, now time.Time, communes []string) error
}

// DefaultScheduleSpec is when the nightly build runs (Asia/Ho_Chi_Minh).
const DefaultScheduleSpec = "0 1 * * *"

// RebuildDebounce is the window in which rebuild requests are merged into
// one job, run when the window closes.
const RebuildDebounce = 30 * time.Second

// BuildSchedulesArgs is the nightly build of every commune's schedule.
type BuildSchedulesArgs struct{}

// Kind names the job kind.
func (BuildSchedulesArgs) Kind() string { return "build_schedules" }

// RebuildSchedulesArgs rebuilds some communes' schedules (all when
// Communes is empty) after segments changed.
type RebuildSchedulesArgs struct {
	Communes []string `json:"communes"`
}

// Kind names the job kind.
func (RebuildSchedulesArgs) Kind() string { return "rebuild_schedules" }

type buildSchedulesWorker struct {
	river.WorkerDefaults[BuildSchedulesArgs]
	cfg Config
}

// Work runs the nightly build. When another process holds the date's
// claim (an error with a RetryAt method, as broadcast.BuildHeldError), the
// job is snoozed until the claim's lease ends: by then that build is done,
// or its owner died and this job takes the claim over.
func (w *buildSchedulesWorker) Work(ctx context.Context, job *river.Job[BuildSchedulesArgs]) error {
	err := w.cfg.Schedules.Nightly(ctx, w.cfg.Now())
	var held interface{ RetryAt() time.Time }
	if errors.As(err, &held) {
		return river.JobSnooze(max(held.RetryAt().Sub(w.cfg.Now()), 0) + time.Second)
	}
	return err
}

type rebuildSchedulesWorker struct {
	river.WorkerDefaults[RebuildSchedulesArgs]
	cfg Config
}

func (w *rebuildSchedulesWorker) Work(ctx context.Context, job *river.Job[RebuildSchedulesArgs]) error {
	return w.cfg.Schedules.Rebuild(ctx, w.cfg.Now(), job.Args.Communes)
}

// scheduleJobs registers the schedule jobs and returns the nightly
// periodic job, when cfg has a builder.
func scheduleJobs(cfg Config, workers *river.Workers) ([]*river.PeriodicJob, error) {
	if cfg.Schedules == nil {
		return nil, nil
	}
	spec := cfg.ScheduleSpec
	if spec == "" {
		spec = DefaultScheduleSpec
	}
	sched, err := localtime.ParseSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule build (LOA_CRON_SCHEDULES): %w", err)
	}
	river.AddWorker(workers, &buildSchedulesWorker{cfg: cfg})
	river.AddWorker(workers, &rebuildSchedulesWorker{cfg: cfg})
	return []*river.PeriodicJob{
		river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
			return BuildSchedulesArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
		}, &river.PeriodicJobOpts{ID: "build_schedules", RunOnStart: true}),
	}, nil
}

// EnqueueRebuild queues a rebuild of the given communes (every commune
// when the list is empty), inside tx when it is not nil so the rebuild
// exists exactly when the change that asked for it commits. Requests in
// the same RebuildDebounce window are merged: the job is scheduled for
// the window's end, and River's uniqueness by period and arguments keeps
// one job per window and commune list.
func (q *Queue) EnqueueRebuild(ctx context.Context, tx *sql.Tx, communes []string) error {
	communes = slices.Compact(slices.Sorted(slices.Values(communes)))
	at := q.now().Truncate(RebuildDebounce).Add(RebuildDebounce)
	opts := &river.InsertOpts{ScheduledAt: at, UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: RebuildDebounce}}
	var err error
	if tx != nil {
		_, err = q.client.InsertTx(ctx, tx, RebuildSchedulesArgs{Communes: communes}, opts)
	} else {
		_, err = q.client.Insert(ctx, RebuildSchedulesArgs{Communes: communes}, opts)
	}
	if err != nil {
		return fmt.Errorf("enqueue schedule rebuild: %w", err)
	}
	return nil
}

func (q *Queue) now() time.Time {
	if q.clock != nil {
		return q.clock()
	}
	return time.Now().UTC()
}
