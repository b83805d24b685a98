// Package worker runs Loa's background work on River, a durable job queue
// kept in the same database as the catalog: jobs survive restarts, a job
// interrupted by a crash is retried, and periodic (cron) work is inserted by
// the elected leader only, so each tick runs once across replicas.
package worker

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	_ "time/tzdata" // Asia/Ho_Chi_Minh even on machines without tzdata
)

// Catalog is what the worker's jobs need from the metadata store.
type Catalog interface {
	StaleUploads(ctx context.Context, before time.Time) ([]string, error)
	EndUpload(ctx context.Context, key string) error
}

// Objects is what the worker's jobs need from the object store.
type Objects interface {
	Remove(ctx context.Context, key string) error
}

// Config wires the worker.
type Config struct {
	DB      *sql.DB
	Catalog Catalog
	Objects Objects
	Log     *slog.Logger
	// SweepSpec is the cron spec of the sweep that removes abandoned uploads.
	SweepSpec string
	// UploadGrace is how old an unfinished upload must be before the sweep
	// removes it; longer than any upload can take.
	UploadGrace time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Work, when false, makes a client that only inserts jobs (for a
	// process that serves HTTP while separate workers run the jobs).
	Work bool
}

// Worker is a River client with Loa's job kinds and periodic jobs.
type Worker struct {
	Client *river.Client[*sql.Tx]
}

// New checks the config (bad cron specs are refused here, at start-up) and
// builds the River client.
func New(cfg Config) (*Worker, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.UploadGrace <= 0 {
		cfg.UploadGrace = 6 * time.Hour
	}
	sweep, err := ParseSpec(cfg.SweepSpec)
	if err != nil {
		return nil, fmt.Errorf("sweep schedule (LOA_CRON_SWEEP): %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &sweepUploadsWorker{cfg: cfg})
	rc := &river.Config{Logger: cfg.Log, Workers: workers}
	if cfg.Work {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}}
		rc.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(sweep, func() (river.JobArgs, *river.InsertOpts) {
				return SweepUploadsArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
			}, &river.PeriodicJobOpts{ID: "sweep_uploads", RunOnStart: true}),
		}
	}
	client, err := river.NewClient(riversqlite.New(cfg.DB), rc)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Worker{Client: client}, nil
}

// Start begins working jobs (when configured to work).
func (w *Worker) Start(ctx context.Context) error {
	if err := w.Client.Start(ctx); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	return nil
}

// Stop lets running jobs finish within ctx's deadline, then cancels the
// rest; a cancelled job returns to the queue and is retried.
func (w *Worker) Stop(ctx context.Context) error {
	if err := w.Client.Stop(ctx); err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Client.StopAndCancel(cctx); err != nil {
			return fmt.Errorf("stop job queue: %w", err)
		}
	}
	return nil
}

// SweepUploadsArgs is the periodic job that removes uploads a crash or a
// lost connection left unfinished.
type SweepUploadsArgs struct{}

// Kind names the job kind.
func (SweepUploadsArgs) Kind() string { return "sweep_uploads" }

type sweepUploadsWorker struct {
	river.WorkerDefaults[SweepUploadsArgs]
	cfg Config
}

func (w *sweepUploadsWorker) Work(ctx context.Context, job *river.Job[SweepUploadsArgs]) error {
	n, err := SweepUploads(ctx, w.cfg.Catalog, w.cfg.Objects, w.cfg.Now().Add(-w.cfg.UploadGrace))
	if n > 0 {
		w.cfg.Log.Info("swept abandoned uploads", "removed", n)
	}
	return err
}

// SweepUploads removes the objects of uploads started before `before` that
// never became a segment, and forgets them. It returns how many it removed.
func SweepUploads(ctx context.Context, cat Catalog, obj Objects, before time.Time) (int, error) {
	keys, err := cat.StaleUploads(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("sweep uploads: %w", err)
	}
	n := 0
	for _, k := range keys {
		if err := obj.Remove(ctx, k); err != nil {
			return n, fmt.Errorf("sweep uploads: %w", err)
		}
		if err := cat.EndUpload(ctx, k); err != nil {
			return n, fmt.Errorf("sweep uploads: %w", err)
		}
		n++
	}
	return n, nil
}
