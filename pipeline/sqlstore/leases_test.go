package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

type leaseArgs struct {
	N int `json:"n"`
}

func (leaseArgs) Kind() string { return "lease_test" }

// InsertOpts gives the job two attempts, so the second release discards it.
func (leaseArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 2} }

// blockingWorker reports each attempt it starts and then works until its
// context ends, like an ffmpeg run that never renews its lease (a frozen
// or dead worker, seen from the database).
type blockingWorker struct {
	river.WorkerDefaults[leaseArgs]
	started chan [2]int64 // job ID, attempt
}

func (w *blockingWorker) Work(ctx context.Context, job *river.Job[leaseArgs]) error {
	w.started <- [2]int64{job.ID, int64(job.Attempt)}
	<-ctx.Done()
	return ctx.Err()
}

// TestJobLeases runs a job on a real River client that never renews its
// lease: a fresh job is not released, a renewal is accepted only for the
// running attempt, a job whose lease lapsed is queued again at once (and
// taken by the next attempt) with the reason recorded, and one released
// at its last attempt is discarded.
func TestJobLeases(t *testing.T) {
	ctx := context.Background()
	db := setup(t)
	leases := NewJobLeases(db.SQL())
	w := &blockingWorker{started: make(chan [2]int64, 4)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(RiverDriver(db.SQL()), &river.Config{
		// Three slots: the released attempts still block theirs, as a
		// frozen worker's would.
		Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 3}},
		FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 20 * time.Millisecond,
		JobTimeout: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = client.StopAndCancel(sctx)
	})
	wait := func(what string) [2]int64 {
		t.Helper()
		limit := 30 * time.Second
		if d, ok := t.Deadline(); ok && time.Until(d)/2 < limit {
			limit = time.Until(d) / 2
		}
		select {
		case s := <-w.started:
			return s
		case <-time.After(limit):
			t.Fatalf("%s: no attempt started within %v", what, limit)
			return [2]int64{}
		}
	}
	if _, err := client.Insert(ctx, leaseArgs{N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	first := wait("first attempt")
	id := first[0]
	if first[1] != 1 {
		t.Fatalf("first attempt is %d", first[1])
	}
	if ok, err := leases.Renew(ctx, id, 1); err != nil || !ok {
		t.Fatalf("renew the running attempt: %v %v", ok, err)
	}
	if ok, err := leases.Renew(ctx, id, 2); err != nil || ok {
		t.Fatalf("renew an attempt that is not running: %v %v, want false", ok, err)
	}
	if got, err := leases.ReleaseExpired(ctx, time.Hour, "worker died"); err != nil || len(got) != 0 {
		t.Fatalf("a fresh lease was released: %v %v", got, err)
	}
	if _, err := leases.ReleaseExpired(ctx, 0, "x"); err == nil {
		t.Fatal("a zero dead-after was accepted")
	}

	const dead = 300 * time.Millisecond
	time.Sleep(dead + 100*time.Millisecond)
	got, err := leases.ReleaseExpired(ctx, dead, "worker w1 stopped renewing its lease")
	if err != nil || len(got) != 1 || got[0].ID != id || got[0].Discarded || got[0].Kind != "lease_test" ||
		!strings.Contains(string(got[0].Args), `"n"`) || got[0].Attempt != 1 {
		t.Fatalf("released %+v (%v), want job %d queued again", got, err, id)
	}
	if ok, err := leases.Renew(ctx, id, 1); err != nil || ok {
		t.Fatalf("the released attempt could still renew: %v %v", ok, err)
	}
	second := wait("attempt after the release")
	if second != [2]int64{id, 2} {
		t.Fatalf("after the release ran %v, want job %d attempt 2", second, id)
	}
	runs, err := db.CronRuns(ctx, "lease_test", 1)
	if err != nil || len(runs) != 1 || !strings.Contains(runs[0].Error, "stopped renewing") {
		t.Fatalf("recorded error: %+v %v", runs, err)
	}

	time.Sleep(dead + 100*time.Millisecond)
	got, err = leases.ReleaseExpired(ctx, dead, "worker w2 stopped renewing its lease")
	if err != nil || len(got) != 1 || !got[0].Discarded {
		t.Fatalf("released at the last attempt: %+v %v, want discarded", got, err)
	}
	runs, err = db.CronRuns(ctx, "lease_test", 1)
	if err != nil || len(runs) != 1 || runs[0].State != "discarded" || runs[0].FinalizedAt.IsZero() {
		t.Fatalf("job after the last release: %+v %v", runs, err)
	}
}
