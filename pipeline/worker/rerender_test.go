package worker

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestRerenderRendersAgain: a render that failed for good is not tried
// again when its River job runs again, until someone asks for it
// (translation.ActionRerender): then the same River job renders again
// (ffmpeg runs), and a translation that still cannot air is recorded as
// failed once more.
func TestRerenderRendersAgain(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	runs, _ := countRuns(b)
	seg := b.seed(t, "rr", mediatest.SpeechMP3(t, b.dir), pipeline.KindRadio, "", "vi", "blt")
	if err := b.p.Process(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	seg, _ = b.db.Segment(ctx, seg.ID)
	all, err := openJobs(t, b, seg)
	if err != nil || len(all) != 1 {
		t.Fatalf("jobs %+v %v", all, err)
	}
	job := all[0]
	key := "segments/rr/jobs/" + job.ID + "/submission-1.audio"
	f, err := os.Open("testdata/I-phase-inverted-stereo.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := b.store.Put(ctx, key, f, -1, "audio/wav"); err != nil {
		t.Fatal(err)
	}
	w := &renderVoiceoverWorker{p: b.p}
	rj := &river.Job[RenderVoiceoverArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5},
		Args: RenderVoiceoverArgs{SegmentID: seg.ID, Language: "blt", SourceKey: key, JobID: job.ID, ApprovedBy: b.user.ID}}
	var cancel *river.JobCancelError
	if err := w.Work(ctx, rj); !errors.As(err, &cancel) {
		t.Fatalf("first render: %v, want a cancelled job", err)
	}
	failures := func() int {
		evs, err := b.db.JobEvents(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Action == translation.ActionRenderFailed {
				n++
			}
		}
		return n
	}
	if failures() != 1 {
		t.Fatalf("render_failed events after the first render: %d, want 1", failures())
	}
	before := runs.Load()
	if err := w.Work(ctx, rj); err != nil || runs.Load() != before {
		t.Fatalf("run again without a rerender: %v, %d ffmpeg runs; want none", err, runs.Load()-before)
	}

	// The job is approved (as the reviewer's approval left it) and an
	// admin asks for the render again.
	if _, err := b.db.SQL().ExecContext(ctx, "UPDATE jobs SET state = ? WHERE id = ?", string(translation.StateApproved), job.ID); err != nil {
		t.Fatal(err)
	}
	admin := pipeline.User{ID: b.user.ID, Name: "quan-tri", Role: pipeline.RoleAdmin}
	if _, err := b.db.ApplyJob(ctx, job.ID, translation.DefaultPolicy(), translation.Request{Action: translation.ActionRerender, By: admin, Now: b.db.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	before = runs.Load()
	if err := w.Work(ctx, rj); !errors.As(err, &cancel) {
		t.Fatalf("render after the rerender: %v, want it tried and cancelled again (the recording still cancels in mono)", err)
	}
	if runs.Load() == before {
		t.Errorf("the render after a rerender ran no ffmpeg: it was not tried again")
	}
	if n := failures(); n != 2 {
		t.Errorf("render_failed events after the second failure: %d, want 2", n)
	}
}
