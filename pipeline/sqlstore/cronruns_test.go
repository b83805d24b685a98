package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

type okSweepArgs struct{}

func (okSweepArgs) Kind() string { return "sweep_uploads" }

type okSweepWorker struct {
	river.WorkerDefaults[okSweepArgs]
}

func (okSweepWorker) Work(context.Context, *river.Job[okSweepArgs]) error { return nil }

type failSweepArgs struct{}

func (failSweepArgs) Kind() string { return "sweep_orphans" }

type failSweepWorker struct {
	river.WorkerDefaults[failSweepArgs]
}

func (failSweepWorker) Work(context.Context, *river.Job[failSweepArgs]) error {
	return errors.New("bucket unreachable")
}

// TestCronRuns runs two jobs through a real River client on the store's
// database, one that succeeds and one that fails for good, and reads them
// back: state, start and end times, and the failure's message.
func TestCronRuns(t *testing.T) {
	ctx := context.Background()
	db := setup(t)
	if runs, err := db.CronRuns(ctx, "sweep_uploads", 5); err != nil || len(runs) != 0 {
		t.Fatalf("runs before any: %v %v", runs, err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, okSweepWorker{})
	river.AddWorker(workers, failSweepWorker{})
	client, err := river.NewClient(RiverDriver(db.SQL()), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, c := context.WithTimeout(ctx, 10*time.Second)
		defer c()
		_ = client.Stop(sctx)
	}()
	before := time.Now().UTC().Add(-time.Second)
	if _, err := client.Insert(ctx, okSweepArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Insert(ctx, failSweepArgs{}, &river.InsertOpts{MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-events:
		case <-time.After(20 * time.Second):
			t.Fatal("the jobs did not run")
		}
	}
	ok, err := db.CronRuns(ctx, "sweep_uploads", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(ok) != 1 || ok[0].State != "completed" || ok[0].Attempt != 1 || ok[0].Error != "" ||
		ok[0].AttemptedAt.Before(before) || ok[0].FinalizedAt.Before(ok[0].AttemptedAt) || ok[0].Kind != "sweep_uploads" {
		t.Fatalf("completed run: %+v", ok)
	}
	bad, err := db.CronRuns(ctx, "sweep_orphans", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].State != "discarded" || bad[0].Error != "bucket unreachable" || bad[0].FinalizedAt.IsZero() {
		t.Fatalf("failed run: %+v", bad)
	}
	if got := lastRunError(`not json`); got != "not json" {
		t.Errorf("raw error %q", got)
	}
}
