package worker

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestRenditionsFailIndependently: a TV rendition the input does not
// allow fails alone, at once (the job is not retried or cancelled: it
// completes), with its reason on the segment; the loudspeaker audio and
// the other renditions are made and the Vietnamese variant airs. Inputs:
// the bug report's source with an inverted cue (A, accepted before the
// upload check) fails every subtitle rendition; a source with a letter no
// font in Loa's folder has fails only the burn-in.
func TestRenditionsFailIndependently(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	inverted, err := os.ReadFile("testdata/A-inverted-vi.srt")
	if err != nil {
		t.Fatal(err)
	}
	noGlyph := "1\n00:00:00,500 --> 00:00:03,500\nCải cách hành chính 改革\n"
	tests := []struct {
		name, srt string
		made      []string // renditions that must exist
		missing   []string // renditions that must not
		reason    []string // parts of the recorded reason
		events    int      // rendition_failed events
	}{
		{"A inverted source cue", string(inverted),
			[]string{"loudspeaker_mp3", "loudspeaker_opus", "poster_jpg", "preview_mp4"},
			[]string{"subtitles_vtt", "soft_subtitles_mp4", "burned_subtitles_mp4"},
			[]string{"the loudspeaker audio airs", "subtitles (vi)", "line 5, cue 2", "fix the times", "withdraw this segment and upload the media again with the corrected file",
				"a duplicate whose subtitles are not used"}, 1},
		{"letter no font has", noGlyph,
			[]string{"loudspeaker_mp3", "poster_jpg", "preview_mp4", "subtitles_vtt", "soft_subtitles_mp4"},
			[]string{"burned_subtitles_mp4"},
			[]string{"burned-in subtitles (vi)", "U+6539"}, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg := b.seed(t, "ind"+string(rune('a'+i)), "testdata/M-tv-clip-640x360.mp4", pipeline.KindTV, tt.srt, "vi")
			if err := work(t, b.p, seg.ID); err != nil {
				var cancel *river.JobCancelError
				t.Fatalf("job error %v (cancelled: %v): want the job done", err, errors.As(err, &cancel))
			}
			got, err := b.db.Segment(ctx, seg.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != pipeline.StateProcessed {
				t.Fatalf("state %s (%s), want processed", got.State, got.ProcessError)
			}
			for _, r := range tt.reason {
				if !strings.Contains(got.ProcessError, r) {
					t.Errorf("reason %q lacks %q", got.ProcessError, r)
				}
			}
			rs := renditionNames(t, b.db, seg.ID)
			for _, name := range tt.made {
				if _, ok := rs["vi/"+name]; !ok {
					t.Errorf("no vi/%s rendition", name)
				}
			}
			for _, name := range tt.missing {
				if _, ok := rs["vi/"+name]; ok {
					t.Errorf("vi/%s was made", name)
				}
			}
			vs, _ := b.db.SegmentVariants(ctx, seg.ID)
			if len(vs) != 1 || vs[0].Language != "vi" {
				t.Fatalf("variants %+v: the Vietnamese audio does not air", vs)
			}
			var events int
			if err := b.db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM segment_events WHERE segment_id = ? AND action = 'rendition_failed'", seg.ID).Scan(&events); err != nil || events != tt.events {
				t.Errorf("%d rendition_failed events (%v), want %d", events, err, tt.events)
			}
		})
	}
}

// TestRenderFaithfulTranslationOfFlawedSource: a source accepted before
// the upload check (the shared cases A: cue 2 ends before it starts; B:
// cue 3 starts before cue 2; C: cue 151 has no text) lets a translator
// submit a faithful Thái translation with the same flaw. Once approved,
// it is held to the rule its source's renditions fail by: none of its
// renditions is made (not one with a cue left out, nor a WebVTT whose
// start times go back), the River job is cancelled, and the reason
// (rule, cue, line, and what the producer does) is recorded on the job
// (render_failed) and in the segment's "not made" line, while the
// segment stays processed.
func TestRenderFaithfulTranslationOfFlawedSource(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	tests := []struct {
		name, media, source, translation string
		reason                           []string
	}{
		{"A inverted", "testdata/M-tv-clip-640x360.mp4", "testdata/A-inverted-vi.srt", "testdata/A-inverted-blt-faithful.srt",
			[]string{"line 5, cue 2: error bad-timing: cue 2 ends at 00:00:04,000, not after it starts at 00:00:07,000"}},
		{"B out of order", "testdata/R-tv-clip-640x360-10s.mp4", "testdata/B-out-of-order-vi.srt", "testdata/B-out-of-order-blt-faithful.srt",
			[]string{"line 9, cue 3: error order: cue 3 starts at 00:00:00,500, before cue 2 (line 5) starts at 00:00:03,350"}},
		{"C empty", "testdata/M-tv-clip-640x360.mp4", "testdata/C-empty-cue-vi.srt", "testdata/C-empty-cue-blt-faithful.srt",
			[]string{"line 5, cue 151: error empty-cue: cue 151 has no text"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := os.ReadFile(tt.source)
			if err != nil {
				t.Fatal(err)
			}
			seg := b.seed(t, "faith"+string(rune('a'+i)), tt.media, pipeline.KindTV, string(src), "vi", "blt")
			if err := b.p.Process(ctx, seg.ID); err != nil {
				t.Fatal(err)
			}
			seg, _ = b.db.Segment(ctx, seg.ID)
			job, keys := approveJob(t, b, seg, "blt", translation.KindSubtitle, "application/x-subrip", tt.translation)
			w := &renderSubtitlesWorker{p: b.p}
			rj := &river.Job[RenderSubtitlesArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5},
				Args: RenderSubtitlesArgs{SegmentID: seg.ID, Language: "blt", SubtitleKey: keys[0], JobID: job.ID}}
			var cancel *river.JobCancelError
			if err := w.Work(ctx, rj); !errors.As(err, &cancel) {
				t.Fatalf("render error %v: want a cancelled job", err)
			}
			rs := renditionNames(t, b.db, seg.ID)
			for _, name := range []string{"subtitles_vtt", "soft_subtitles_mp4", "burned_subtitles_mp4"} {
				if _, ok := rs["blt/"+name]; ok {
					t.Errorf("blt/%s was made", name)
				}
			}
			reason := append([]string{"players cannot show as written", "none is rendered",
				"withdraw the segment and upload the media again with the source corrected"}, tt.reason...)
			got, _ := b.db.Job(ctx, job.ID)
			evs, _ := b.db.JobEvents(ctx, job.ID)
			if last := evs[len(evs)-1]; last.Action != translation.ActionRenderFailed {
				t.Errorf("last job event %+v, want render_failed", last)
			}
			s, _ := b.db.Segment(ctx, seg.ID)
			if s.State != pipeline.StateProcessed || !strings.Contains(s.ProcessError, "subtitles (blt)") {
				t.Errorf("segment %s, process_error %q: want processed, with the Thái subtitles not made", s.State, s.ProcessError)
			}
			for _, r := range reason {
				if !strings.Contains(got.Reason, r) {
					t.Errorf("job reason %q lacks %q", got.Reason, r)
				}
				if !strings.Contains(s.ProcessError, r) {
					t.Errorf("segment's process_error %q lacks %q", s.ProcessError, r)
				}
			}
		})
	}
}
