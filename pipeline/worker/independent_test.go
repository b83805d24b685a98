package worker

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline"
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
			[]string{"the loudspeaker audio airs", "subtitles (vi)", "line 5, cue 2", "fix the times"}, 1},
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
// the upload check (A, a cue that ends before it starts) lets a translator
// submit a faithful Thái translation with the same flaw; once approved, it
// is rendered without the cue no player shows instead of failing.
func TestRenderFaithfulTranslationOfFlawedSource(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	src, err := os.ReadFile("testdata/A-inverted-vi.srt")
	if err != nil {
		t.Fatal(err)
	}
	blt, err := os.ReadFile("testdata/A-inverted-blt-faithful.srt")
	if err != nil {
		t.Fatal(err)
	}
	seg := b.seed(t, "faith", "testdata/M-tv-clip-640x360.mp4", pipeline.KindTV, string(src), "vi", "blt")
	key := "segments/faith/jobs/j1/blt.srt"
	if _, err := b.store.Put(ctx, key, strings.NewReader(string(blt)), int64(len(blt)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if err := b.p.RenderSubtitles(ctx, RenderSubtitlesArgs{SegmentID: seg.ID, Language: "blt", SubtitleKey: key, JobID: "j1"}); err != nil {
		t.Fatalf("render: %v", err)
	}
	rs := renditionNames(t, b.db, seg.ID)
	for _, name := range []string{"subtitles_vtt", "soft_subtitles_mp4", "burned_subtitles_mp4"} {
		if _, ok := rs["blt/"+name]; !ok {
			t.Errorf("no blt/%s rendition", name)
		}
	}
}
