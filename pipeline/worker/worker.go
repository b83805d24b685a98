// Package worker runs Loa's background work on River, a durable job queue
// kept in the same database as the catalog: jobs survive restarts, a job
// interrupted by a crash is retried, and periodic (cron) work is inserted by
// the elected leader only, so each tick runs once across replicas. "Job" in
// this package means a River queue job; the translators' translation and
// subtitle jobs are pipeline/translation's.
package worker

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline/localtime"
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
	// Processor runs segment processing; nil means this worker does not
	// process media.
	Processor *Processor
	// MediaWorkers is how many processing jobs run at once; default 1
	// (each ffmpeg run uses the cores it can get).
	MediaWorkers int
	// UrgentWorkers is how many priority and emergency processing jobs
	// run at once in their own queue (QueueMediaUrgent), beside the
	// MediaWorkers slots; default 1.
	UrgentWorkers int
	// RescueAfter is River's own rescue, the last resort for a running
	// job that has no lease (see LeaseEvery): such a job is run again once
	// it has run this long and longer than its timeout; default 1h.
	RescueAfter time.Duration
	// LeaseEvery is how often a working process renews the lease of each
	// job it runs (default DefaultLeaseEvery); DeadAfter is how old a
	// lease must be for its job to be taken back from a worker that died
	// and queued again (default DefaultDeadAfter; at least 3 × LeaseEvery).
	// A job is never taken back for running long, only for its worker
	// going quiet: a healthy job runs until its own timeout, which
	// grows with the segment's length.
	LeaseEvery, DeadAfter time.Duration
	// Leases keeps the jobs' leases; nil uses sqlstore.NewJobLeases(DB).
	Leases JobLeases
	// OrphanSpec is the cron spec of the sweep that removes processed
	// objects no catalog row points to.
	OrphanSpec string
	// OrphanCatalog answers whether a key is known; needed with OrphanSpec.
	OrphanCatalog interface {
		ObjectKeyKnown(ctx context.Context, key string) (bool, error)
	}
	// OrphanObjects lists and removes objects; needed with OrphanSpec.
	OrphanObjects OrphanStore
	// Schedules builds the communes' schedules: nightly at ScheduleSpec
	// (default DefaultScheduleSpec) and on rebuild requests. Nil: no builds.
	Schedules    ScheduleBuilder
	ScheduleSpec string
	// Reports, when set, stores each closed period's report in
	// ReportObjects at ReportSpec (default DefaultReportSpec; reports.go).
	Reports       ReportStore
	ReportObjects ReportObjects
	ReportSpec    string
	// Translation runs the translation-job sweep, the daily digest and
	// notice delivery (translation.go); a nil Store leaves them out.
	Translation TranslationConfig
	// Withdrawal moves withdrawn segments' objects (MoveWithdrawnArgs,
	// queued by EnqueueWithdrawnTx); nil: such jobs fail and wait for a
	// worker that has it.
	Withdrawal *Withdrawal
}

// Worker is a River client with Loa's job kinds and periodic jobs; its
// Queue methods insert through that client.
type Worker struct {
	*Queue
	Client *river.Client[*sql.Tx]
	reaper *reaper // nil when the client only inserts
	stop   context.CancelFunc
	done   chan struct{}
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
	sweep, err := localtime.ParseSpec(cfg.SweepSpec)
	if err != nil {
		return nil, fmt.Errorf("sweep schedule (LOA_CRON_SWEEP): %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &sweepUploadsWorker{cfg: cfg})
	river.AddWorker(workers, &moveWithdrawnWorker{wd: cfg.Withdrawal, log: cfg.Log})
	if cfg.Processor != nil && cfg.Processor.Withdrawal == nil {
		cfg.Processor.Withdrawal = cfg.Withdrawal
	}
	if cfg.MediaWorkers <= 0 {
		cfg.MediaWorkers = 1
	}
	if cfg.UrgentWorkers <= 0 {
		cfg.UrgentWorkers = 1
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = time.Hour
	}
	if cfg.LeaseEvery <= 0 {
		cfg.LeaseEvery = DefaultLeaseEvery
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = max(DefaultDeadAfter, 3*cfg.LeaseEvery)
	}
	if cfg.DeadAfter < 3*cfg.LeaseEvery {
		return nil, fmt.Errorf("job leases: dead-after %v must be at least 3 × the renewal period %v (LOA_DEAD_AFTER, LOA_LEASE_EVERY), or a live worker's job could be taken from it",
			cfg.DeadAfter, cfg.LeaseEvery)
	}
	if cfg.Processor != nil {
		river.AddWorker(workers, &processWorker{p: cfg.Processor})
		river.AddWorker(workers, &renderExtrasWorker{p: cfg.Processor})
		river.AddWorker(workers, &renderSubtitlesWorker{p: cfg.Processor})
		river.AddWorker(workers, &renderVoiceoverWorker{p: cfg.Processor})
	}
	rc := &river.Config{Logger: cfg.Log, Workers: workers, RescueStuckJobsAfter: cfg.RescueAfter,
		JobTimeout: 5 * time.Minute}
	var rp *reaper
	if cfg.Work {
		if cfg.Leases == nil {
			cfg.Leases = sqlstore.NewJobLeases(cfg.DB)
		}
		rc.Middleware = []rivertype.Middleware{&leaseMiddleware{leases: cfg.Leases, every: cfg.LeaseEvery, deadAfter: cfg.DeadAfter, log: cfg.Log}}
		rp = &reaper{leases: cfg.Leases, every: cfg.LeaseEvery, deadAfter: cfg.DeadAfter, log: cfg.Log,
			onDiscarded: markDiscarded(cfg.Processor)}
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}}
		if cfg.Processor != nil {
			rc.Queues[QueueMedia] = river.QueueConfig{MaxWorkers: cfg.MediaWorkers}
			rc.Queues[QueueMediaUrgent] = river.QueueConfig{MaxWorkers: cfg.UrgentWorkers}
		}
		rc.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(sweep, func() (river.JobArgs, *river.InsertOpts) {
				// Not unique by period: a worker restarted within a minute of
				// its last start must still sweep what its crash left (the
				// sweep is idempotent, and only the leader enqueues it).
				return SweepUploadsArgs{}, nil
			}, &river.PeriodicJobOpts{ID: "sweep_uploads", RunOnStart: true}),
		}
		if cfg.OrphanSpec != "" {
			orphan, err := localtime.ParseSpec(cfg.OrphanSpec)
			if err != nil {
				return nil, fmt.Errorf("orphan sweep schedule (LOA_CRON_ORPHANS): %w", err)
			}
			river.AddWorker(workers, &sweepOrphansWorker{cfg: cfg})
			rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(orphan, func() (river.JobArgs, *river.InsertOpts) {
				return SweepOrphansArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
			}, &river.PeriodicJobOpts{ID: "sweep_orphans"}))
			if cfg.Withdrawal != nil {
				// With the orphan sweep's schedule, and at start-up: segments
				// withdrawn before withdrawals moved objects are moved too.
				river.AddWorker(workers, &moveBacklogWorker{wd: cfg.Withdrawal, log: cfg.Log})
				rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(orphan, func() (river.JobArgs, *river.InsertOpts) {
					return MoveWithdrawnBacklogArgs{}, nil
				}, &river.PeriodicJobOpts{ID: "move_withdrawn_backlog", RunOnStart: true}))
			}
		}
	}
	buildJobs, err := scheduleJobs(cfg, workers)
	if err != nil {
		return nil, err
	}
	if cfg.Work {
		rc.PeriodicJobs = append(rc.PeriodicJobs, buildJobs...)
	}
	if cfg.Work && cfg.Reports != nil {
		rj, err := ReportJobs(workers, cfg.ReportSpec, cfg.Reports, cfg.ReportObjects, cfg.Now, cfg.Log)
		if err != nil {
			return nil, err
		}
		rc.PeriodicJobs = append(rc.PeriodicJobs, rj...)
	}
	translationSweeps, err := translationJobs(cfg, workers)
	if err != nil {
		return nil, err
	}
	if cfg.Work {
		rc.PeriodicJobs = append(rc.PeriodicJobs, translationSweeps...)
	}
	client, err := river.NewClient(sqlstore.RiverDriver(cfg.DB), rc)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	w := &Worker{Queue: &Queue{client: client, clock: cfg.Now}, Client: client, reaper: rp}
	if rp != nil {
		rp.id = client.ID()
	}
	if cfg.Processor != nil && cfg.Processor.Enqueue == nil {
		cfg.Processor.Enqueue = w.EnqueueTx
	}
	if cfg.Processor != nil && cfg.Processor.Background == nil && cfg.Processor.Runner != nil {
		cfg.Processor.Background = cfg.Processor.Runner.Niced(BackgroundNice)
	}
	return w, nil
}

// Start begins working jobs (when configured to work).
func (w *Worker) Start(ctx context.Context) error {
	if err := w.Client.Start(ctx); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	if w.reaper != nil && w.stop == nil {
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		w.stop, w.done = cancel, make(chan struct{})
		go func() {
			defer close(w.done)
			w.reaper.run(rctx)
		}()
	}
	return nil
}

// Stop lets running jobs finish within ctx's deadline, then cancels the
// rest; a cancelled job returns to the queue and is retried.
func (w *Worker) Stop(ctx context.Context) error {
	if w.stop != nil {
		w.stop()
		<-w.done
	}
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

// OrphanStore lists and removes objects for the orphan sweep.
type OrphanStore interface {
	List(ctx context.Context, prefix string) ([]objects.Object, error)
	Remove(ctx context.Context, key string) error
}

// SweepOrphansArgs is the periodic job that removes processed objects no
// catalog row points to (a crash between ffmpeg and the catalog update,
// or a segment withdrawn while it was processed).
type SweepOrphansArgs struct{}

// Kind names the job kind.
func (SweepOrphansArgs) Kind() string { return "sweep_orphans" }

type sweepOrphansWorker struct {
	river.WorkerDefaults[SweepOrphansArgs]
	cfg Config
}

func (w *sweepOrphansWorker) Work(ctx context.Context, job *river.Job[SweepOrphansArgs]) error {
	n, err := SweepOrphans(ctx, w.cfg.OrphanCatalog, w.cfg.OrphanObjects, w.cfg.Now().Add(-w.cfg.UploadGrace))
	if n > 0 {
		w.cfg.Log.Info("swept orphan objects", "removed", n)
	}
	return err
}

// SweepOrphans removes rendition objects older than before that no catalog
// row refers to. Only keys under segments/*/renditions/ are considered:
// other objects (originals, submissions) have their own bookkeeping.
func SweepOrphans(ctx context.Context, cat interface {
	ObjectKeyKnown(ctx context.Context, key string) (bool, error)
}, obj OrphanStore, before time.Time) (int, error) {
	list, err := obj.List(ctx, RenditionPrefix)
	if err != nil {
		return 0, fmt.Errorf("sweep orphans: %w", err)
	}
	n := 0
	for _, o := range list {
		if !strings.Contains(o.Key, "/renditions/") || o.LastModified.After(before) {
			continue
		}
		known, err := cat.ObjectKeyKnown(ctx, o.Key)
		if err != nil {
			return n, fmt.Errorf("sweep orphans: %w", err)
		}
		if known {
			continue
		}
		if err := obj.Remove(ctx, o.Key); err != nil {
			return n, fmt.Errorf("sweep orphans: %w", err)
		}
		n++
	}
	return n, nil
}
