package worker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

type slowArgs struct {
	For time.Duration `json:"for"`
}

func (slowArgs) Kind() string { return "liveness_slow" }

// slowWorker works for job.Args.For unless its context ends first, and
// counts the attempts it starts and finishes.
type slowWorker struct {
	river.WorkerDefaults[slowArgs]
	started, finished atomic.Int32
}

func (w *slowWorker) Work(ctx context.Context, job *river.Job[slowArgs]) error {
	w.started.Add(1)
	select {
	case <-time.After(job.Args.For):
		w.finished.Add(1)
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Timeout lets the job run as long as it asks.
func (w *slowWorker) Timeout(job *river.Job[slowArgs]) time.Duration {
	return job.Args.For + time.Minute
}

// TestSlowJobKeepsItsLease runs a job 2.5 times longer than the
// dead-after time on one of two clients, each with the lease middleware
// and a reaper: a worker that is alive keeps its job however long it
// runs, so the job completes at its first attempt and runs once.
func TestSlowJobKeepsItsLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	leases := sqlstore.NewJobLeases(db.SQL())
	// Wide margins: a renewal may wait seconds for the database on a
	// loaded machine, and that must not count as a dead worker here.
	const every, dead = 500 * time.Millisecond, 4 * time.Second
	w := &slowWorker{}
	for i := 0; i < 2; i++ {
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		c, err := river.NewClient(sqlstore.RiverDriver(db.SQL()), &river.Config{
			Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
			FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 20 * time.Millisecond,
			Middleware: []rivertype.Middleware{&leaseMiddleware{leases: leases, every: every, deadAfter: dead, log: slog.Default()}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		r := &reaper{leases: leases, every: every, deadAfter: dead, id: c.ID(), log: slog.Default()}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); r.run(rctx) }()
		t.Cleanup(func() {
			cancel()
			wg.Wait()
			sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
			defer c2()
			_ = c.StopAndCancel(sctx)
		})
		if i == 0 {
			if _, err := c.Insert(ctx, slowArgs{For: 5 * dead / 2}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	var state string
	var attempt int
	eventuallyDeadline(t, "the slow job completed", func() bool {
		err := db.SQL().QueryRowContext(ctx, "SELECT state, attempt FROM river_job WHERE kind = 'liveness_slow'").Scan(&state, &attempt)
		return err == nil && state == "completed"
	})
	if attempt != 1 || w.started.Load() != 1 || w.finished.Load() != 1 {
		t.Fatalf("the slow job completed at attempt %d after %d starts and %d finishes, want 1, 1, 1", attempt, w.started.Load(), w.finished.Load())
	}
}

// fakeLeases answers renewals from a function and releases nothing.
type fakeLeases struct {
	renew func(n int) (bool, error)
	calls atomic.Int32
}

func (f *fakeLeases) Renew(ctx context.Context, id int64, attempt int) (bool, error) {
	return f.renew(int(f.calls.Add(1)))
}

func (f *fakeLeases) ReleaseExpired(context.Context, time.Duration, string) ([]sqlstore.ExpiredJob, error) {
	return nil, nil
}

// TestLostLeaseStopsTheJob checks the worker's side of the lease: a job
// is stopped when its attempt was taken over by another worker, and when
// its renewals fail for so long that another worker may take it; while
// renewals fail only briefly, it goes on.
func TestLostLeaseStopsTheJob(t *testing.T) {
	t.Parallel()
	const every, dead = 20 * time.Millisecond, 200 * time.Millisecond
	cases := []struct {
		name  string
		renew func(n int) (bool, error)
		// stopped: the job must be stopped, with want in its error;
		// otherwise it must run to its end.
		stopped bool
		want    string
	}{
		{"taken over", func(n int) (bool, error) { return n < 3, nil }, true, "taken over by another worker"},
		{"database unreachable", func(n int) (bool, error) { return n == 1, errors.New("connection refused") }, true, "could not be renewed"},
		{"a brief failure", func(n int) (bool, error) {
			if n == 2 || n == 3 {
				return false, errors.New("connection reset")
			}
			return true, nil
		}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := &leaseMiddleware{leases: &fakeLeases{renew: c.renew}, every: every, deadAfter: dead, log: slog.Default()}
			job := &rivertype.JobRow{ID: 7, Attempt: 1, Kind: "liveness_slow"}
			ran := 2 * dead
			start := time.Now()
			err := m.Work(context.Background(), job, func(ctx context.Context) error {
				select {
				case <-time.After(ran):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			took := time.Since(start)
			if !c.stopped {
				if err != nil {
					t.Fatalf("the job failed: %v", err)
				}
				return
			}
			if !errors.Is(err, errLeaseLost) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a lost lease (%q)", err, c.want)
			}
			if took >= ran {
				t.Fatalf("the job ran its whole %v (%v) instead of stopping", ran, took)
			}
		})
	}
}

func TestNewRefusesShortDeadAfter(t *testing.T) {
	t.Parallel()
	_, err := New(Config{SweepSpec: "*/15 * * * *", LeaseEvery: 10 * time.Second, DeadAfter: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "LOA_DEAD_AFTER") {
		t.Fatalf("got %v, want an error naming LOA_DEAD_AFTER", err)
	}
}

// eventuallyDeadline polls cond every 20 ms until it holds, failing the
// test when half its remaining time has passed.
func eventuallyDeadline(t *testing.T, what string, cond func() bool) {
	t.Helper()
	limit := time.Minute
	if d, ok := t.Deadline(); ok {
		limit = time.Until(d) / 2
	}
	end := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
