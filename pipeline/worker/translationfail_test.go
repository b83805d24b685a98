package worker

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestApprovedVoiceoverFailureRecorded renders approved voice-overs that
// cannot air (one accepted before the submission check): the River job
// is cancelled, and the failure is not only a log line: the translation
// job carries a render_failed event and a reason saying why, and the
// segment lists the voice-over as not made with the same reason. The
// same River job run again (River lost its record of the first run's
// end) makes no ffmpeg run and records the failure no second time.
func TestApprovedVoiceoverFailureRecorded(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	runs, logs := countRuns(b)
	cases := []struct {
		name, file, reason string
	}{
		{"phase-inverted", "testdata/I-phase-inverted-stereo.wav", "the two channels cancel when mixed to mono"},
		{"silent", mediatest.Generate(t, b.dir, "silent.wav", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "8"), "too quiet"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := "vo" + string(rune('a'+i))
			seg := b.seed(t, id, mediatest.SpeechMP3(t, b.dir), pipeline.KindRadio, "", "vi", "blt")
			if err := b.p.Process(ctx, seg.ID); err != nil {
				t.Fatal(err)
			}
			seg, _ = b.db.Segment(ctx, seg.ID)
			all, err := openJobs(t, b, seg)
			if err != nil || len(all) != 1 || all[0].Kind != translation.KindVoiceover {
				t.Fatalf("jobs %+v %v", all, err)
			}
			job := all[0]
			key := "segments/" + id + "/jobs/" + job.ID + "/submission-1.audio"
			f, err := os.Open(c.file)
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
			err = w.Work(ctx, rj)
			var cancel *river.JobCancelError
			if !errors.As(err, &cancel) {
				t.Fatalf("render error %v: want a cancelled job", err)
			}
			got, _ := b.db.Job(ctx, job.ID)
			if !strings.Contains(got.Reason, "voice-over could not be rendered") || !strings.Contains(got.Reason, c.reason) {
				t.Errorf("job reason %q does not say the voice-over failed and why (%q)", got.Reason, c.reason)
			}
			evs, _ := b.db.JobEvents(ctx, job.ID)
			if last := evs[len(evs)-1]; last.Action != translation.ActionRenderFailed || !strings.Contains(last.Reason, c.reason) {
				t.Errorf("last job event %+v, want render_failed with the reason", last)
			}
			s, _ := b.db.Segment(ctx, seg.ID)
			if s.State != pipeline.StateProcessed || !strings.Contains(s.ProcessError, "voice-over (blt)") || !strings.Contains(s.ProcessError, c.reason) {
				t.Errorf("segment %s, process_error %q: want processed with the voice-over failure", s.State, s.ProcessError)
			}

			// The same River job run again, as after a lost record of its end.
			jobEvents, _ := b.db.JobEvents(ctx, job.ID)
			segment := recordedState(t, b, seg.ID)
			before := runs.Load()
			rj.Attempt = 2
			if err := w.Work(ctx, rj); err != nil {
				t.Errorf("the River job run again: %v, want it to end: the failure is recorded", err)
			}
			if n := runs.Load() - before; n != 0 {
				t.Errorf("the River job run again made %d ffmpeg/ffprobe runs, want none", n)
			}
			if again, _ := b.db.JobEvents(ctx, job.ID); len(again) != len(jobEvents) {
				t.Errorf("the River job run again added job events: %+v", again[len(jobEvents):])
			}
			if again := recordedState(t, b, seg.ID); again != segment {
				t.Errorf("the River job run again changed the segment's record:\nbefore %s\nafter  %s", segment, again)
			}
			if !strings.Contains(logs.String(), FoundDoneMessage) {
				t.Errorf("no %q logged", FoundDoneMessage)
			}
		})
	}
}
