package worker

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestAudioFirstExtrasFollow runs a TV segment with subtitles the renders
// refuse (A: a cue that ends before it starts) and an emergency radio
// segment through a worker with one media slot and one urgent slot. The
// emergency's audio is made in the urgent queue beside the TV work; the
// TV segment's loudspeaker audio is made before its poster and it is
// ready to air before its poster is made; the poster, preview and
// subtitle renditions come last, in a job of their own, and the
// subtitles' failure is recorded with its reason while the audio airs.
func TestAudioFirstExtrasFollow(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	inverted, err := os.ReadFile("testdata/A-inverted-vi.srt")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu            sync.Mutex
		steps         []string
		airedAtPoster = -1 // Vietnamese variants of "tv" when its poster was made
	)
	b.p.Runner = media.NewRunner(media.Config{Observe: func(step string, _ time.Duration, _ error) {
		if step == media.StepProbe {
			return
		}
		aired := -1
		if step == "poster" {
			vs, err := b.db.SegmentVariants(ctx, "tv")
			seg, serr := b.db.Segment(ctx, "tv")
			if err == nil && serr == nil && seg.ProcessStep == pipeline.StepRenditions {
				aired = len(vs)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		steps = append(steps, step)
		if step == "poster" {
			airedAtPoster = aired
		}
	}})
	w, err := New(Config{DB: b.db.SQL(), Catalog: b.db, Objects: b.store, SweepSpec: "0 0 1 1 *", Work: true,
		Processor: b.p, MediaWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.seed(t, "tv", "testdata/M-tv-clip-640x360.mp4", pipeline.KindTV, string(inverted), "vi")
	b.seed(t, "em", mediatest.SpeechMP3(t, b.dir), pipeline.KindRadio, "", "vi")
	for _, a := range []ProcessSegmentArgs{{SegmentID: "tv"}, {SegmentID: "em", Priority: pipeline.PriorityEmergency}} {
		if _, err := w.Client.Insert(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(context.Background()) })

	// The emergency runs beside the TV work, so only the TV segment's own
	// jobs have an order; the emergency's is in the urgent queue.
	want := []string{"process_segment tv", "render_extras tv", "process_segment em " + QueueMediaUrgent}
	var done []string
	for deadline := time.Now().Add(4 * time.Minute); ; {
		// River's own listing, so the test reads the queue the same way
		// on either backend.
		list, err := w.Client.JobList(ctx, river.NewJobListParams().Queues(QueueMedia, QueueMediaUrgent).
			States(rivertype.JobStateCompleted).First(100))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(list.Jobs, func(a, b *rivertype.JobRow) int {
			if c := a.FinalizedAt.Compare(*b.FinalizedAt); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		done = done[:0]
		var urgent []string
		for _, j := range list.Jobs {
			var args struct {
				SegmentID string `json:"segment_id"`
			}
			if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
				t.Fatal(err)
			}
			if j.Queue == QueueMediaUrgent {
				urgent = append(urgent, j.Kind+" "+args.SegmentID+" "+j.Queue)
				continue
			}
			done = append(done, j.Kind+" "+args.SegmentID)
		}
		done = append(done, urgent...)
		if len(done) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Equal(done, want) {
		t.Fatalf("media jobs completed in the order %v, want %v", done, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if i, j := slices.Index(steps, "loudspeaker"), slices.Index(steps, "poster"); i < 0 || j < i ||
		strings.Count(strings.Join(steps, " "), "loudspeaker") != 2 {
		t.Errorf("ffmpeg steps %v: want two loudspeaker runs (one per segment), one before the poster", steps)
	}
	if airedAtPoster != 1 {
		t.Errorf("when the poster was made the TV segment had %d Vietnamese variants (-1: not at step %q), want 1: ready to air first", airedAtPoster, pipeline.StepRenditions)
	}
	got, err := b.db.Segment(ctx, "tv")
	if err != nil || got.State != pipeline.StateProcessed || got.ProcessStep != "" {
		t.Fatalf("tv: %+v %v (want processed, its renditions step ended)", got, err)
	}
	for _, part := range []string{"the loudspeaker audio airs", "subtitles (vi)", "line 5, cue 2"} {
		if !strings.Contains(got.ProcessError, part) {
			t.Errorf("process_error %q lacks %q", got.ProcessError, part)
		}
	}
	rs := renditionNames(t, b.db, "tv")
	for _, name := range []string{"loudspeaker_mp3", "loudspeaker_opus", "poster_jpg", "preview_mp4"} {
		if _, ok := rs["vi/"+name]; !ok {
			t.Errorf("no vi/%s rendition", name)
		}
	}
	if _, ok := rs["vi/subtitles_vtt"]; ok {
		t.Error("a WebVTT was made from subtitles the renders refuse")
	}
}
