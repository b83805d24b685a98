package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

type noBuilder struct{}

func (noBuilder) Nightly(context.Context, time.Time) error           { return nil }
func (noBuilder) Rebuild(context.Context, time.Time, []string) error { return nil }

// TestEnqueueRebuildDebounces asks for rebuilds several times within one
// window: one job per commune list, scheduled for the window's end; a
// request after the window makes a new job.
func TestEnqueueRebuildDebounces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	now := time.Date(2025, 3, 3, 8, 0, 5, 0, time.UTC)
	w, err := New(Config{DB: db.SQL(), SweepSpec: "*/15 * * * *", Schedules: noBuilder{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := w.EnqueueRebuild(ctx, nil, []string{"muong-lan", "to-hieu"}); err != nil {
			t.Fatal(err)
		}
		if err := w.EnqueueRebuild(ctx, nil, []string{"to-hieu", "muong-lan"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.EnqueueRebuild(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	now = now.Add(RebuildDebounce)
	if err := w.EnqueueRebuild(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	res, err := w.Client.JobList(ctx, river.NewJobListParams().Kinds(RebuildSchedulesArgs{}.Kind()).First(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 3 {
		t.Fatalf("%d rebuild jobs, want 3 (two lists in the first window, one in the next)", len(res.Jobs))
	}
	for _, j := range res.Jobs {
		if j.ScheduledAt.Sub(time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC))%RebuildDebounce != 0 {
			t.Errorf("job scheduled at %s, not at a window's end", j.ScheduledAt)
		}
	}
	if _, err := New(Config{DB: db.SQL(), SweepSpec: "*/15 * * * *", Schedules: noBuilder{}, ScheduleSpec: "CRON_TZ="}); err == nil {
		t.Fatal("a bad LOA_CRON_SCHEDULES spec was accepted")
	}
}

// heldBuilder answers every nightly build as broadcast does while another
// process holds the date's claim.
type heldBuilder struct{ until time.Time }

func (h heldBuilder) Nightly(context.Context, time.Time) error {
	return &broadcast.BuildHeldError{Key: "nightly/2025-03-03", Owner: "host/42/ab", Until: h.until}
}
func (heldBuilder) Rebuild(context.Context, time.Time, []string) error { return nil }

// TestNightlySnoozesWhileClaimHeld: a nightly build whose claim another
// owner holds is tried again when that owner's lease ends, not counted as
// done and not as a failure.
func TestNightlySnoozesWhileClaimHeld(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 2, 18, 0, 0, 0, time.UTC)
	w := &buildSchedulesWorker{cfg: Config{Schedules: heldBuilder{until: now.Add(40 * time.Second)}, Now: func() time.Time { return now }}}
	err := w.Work(context.Background(), &river.Job[BuildSchedulesArgs]{})
	want := river.JobSnooze(41 * time.Second)
	if !errors.Is(err, want) || err.Error() != want.Error() {
		t.Fatalf("work while the claim is held: %v, want a snooze of 41s (to the lease's end)", err)
	}
}

// TestRebuildDebounceAcrossReplicas: rebuild requests made through two
// processes' workers on one database within one window make one job: the
// debounce is the deployment's, not each process's.
func TestRebuildDebounceAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs := sqlstoretest.Replicas(t, 2)
	now := time.Date(2025, 3, 3, 8, 0, 5, 0, time.UTC)
	var ws []*Worker
	for _, db := range dbs {
		w, err := New(Config{DB: db.SQL(), SweepSpec: "*/15 * * * *", Schedules: noBuilder{}, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	for i := range 6 {
		now = now.Add(time.Second) // a burst within the window
		if err := ws[i%2].EnqueueRebuild(ctx, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range ws {
		res, err := w.Client.JobList(ctx, river.NewJobListParams().Kinds(RebuildSchedulesArgs{}.Kind()).First(100))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Jobs) != 1 {
			t.Fatalf("%d rebuild jobs after a burst through two replicas, want 1", len(res.Jobs))
		}
	}
}
