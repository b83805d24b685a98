package worker

import (
	"context"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

// TestPriorityChangeRequeuesProcessing changes the priority of segments
// whose processing jobs are already queued: the waiting job follows the
// segment's new priority (up and down) and moves to the urgent queue when
// raised (back to the media queue when lowered); other segments' jobs and
// a job already running keep theirs.
func TestPriorityChangeRequeuesProcessing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	u := sqlstoretest.User(t, db, "p", pipeline.RoleProducer)
	w, err := New(Config{DB: db.SQL(), Catalog: db, SweepSpec: "0 0 1 1 *", Processor: &Processor{Catalog: db}})
	if err != nil {
		t.Fatal(err)
	}
	db.PriorityChangedTx = w.ReprioritizeTx
	jobs := map[string]int64{}
	for _, id := range []string{"a", "b", "run"} {
		now := time.Now().UTC()
		seg := pipeline.Segment{ID: id, SHA256: id, Title: "Thử " + id, Kind: pipeline.KindRadio, Topic: "digital",
			Priority: pipeline.PriorityNormal, Languages: []string{"vi"}, State: pipeline.StateProbed, ProducerID: u.ID,
			OriginalKey: "segments/" + id + "/original", OriginalName: "x", ContentType: "audio/mpeg",
			CreatedAt: now, UpdatedAt: now, AirFrom: now, AirUntil: now.Add(time.Hour)}
		if _, _, err := db.InsertSegment(ctx, seg, nil); err != nil {
			t.Fatal(err)
		}
		res, err := w.Client.Insert(ctx, ProcessSegmentArgs{SegmentID: id, DurationMS: 1000}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jobs[id] = res.Job.ID
	}
	// A worker has taken "run"'s job: its priority no longer matters.
	if _, err := db.SQL().ExecContext(ctx, "UPDATE river_job SET state = 'running' WHERE id = ?", jobs["run"]); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		segment string
		to      pipeline.Priority
		want    map[string]int
		queue   map[string]string
	}{
		{"b", pipeline.PriorityPriority, map[string]int{"a": 3, "b": 2, "run": 3},
			map[string]string{"a": QueueMedia, "b": QueueMediaUrgent, "run": QueueMedia}},
		{"run", pipeline.PriorityPriority, map[string]int{"a": 3, "b": 2, "run": 3},
			map[string]string{"a": QueueMedia, "b": QueueMediaUrgent, "run": QueueMedia}},
		{"b", pipeline.PriorityNormal, map[string]int{"a": 3, "b": 3, "run": 3},
			map[string]string{"a": QueueMedia, "b": QueueMedia, "run": QueueMedia}},
		{"a", pipeline.PriorityPriority, map[string]int{"a": 2, "b": 3, "run": 3},
			map[string]string{"a": QueueMediaUrgent, "b": QueueMedia, "run": QueueMedia}},
	} {
		if _, err := db.SetPriority(ctx, step.segment, u.ID, step.to); err != nil {
			t.Fatalf("set %s to %s: %v", step.segment, step.to, err)
		}
		for id, want := range step.want {
			j, err := w.Client.JobGet(ctx, jobs[id])
			if err != nil {
				t.Fatal(err)
			}
			if j.Priority != want {
				t.Errorf("after %s → %s: job of %s has River priority %d, want %d", step.segment, step.to, id, j.Priority, want)
			}
			if j.Queue != step.queue[id] {
				t.Errorf("after %s → %s: job of %s is in queue %q, want %q", step.segment, step.to, id, j.Queue, step.queue[id])
			}
		}
	}
}
