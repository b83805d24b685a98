package worker

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// seedLength is seed (TV) with the media's length recorded, as the upload
// records it.
func (b *procBundle) seedLength(t *testing.T, id, path string, srt string, length time.Duration) pipeline.Segment {
	t.Helper()
	seg := b.segment(id, pipeline.KindTV, "vi", "blt")
	seg.ContentType, seg.Probe = "video/mp4", pipeline.ProbeFacts{DurationMS: length.Milliseconds()}
	return b.seedSegment(t, path, srt, seg)
}

func (b *procBundle) objectText(t *testing.T, key string) string {
	t.Helper()
	rc, err := b.store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestLateCuesInRenders: subtitles stored before the upload checked them
// against the media's length. A source with cues after the end fails its
// subtitle renditions with the upload's reasons while the audio airs; a
// source cue ending within the tolerance past the end is cut at the end;
// an approved translation's cues after the end are left out and its ends
// cut, so no subtitle track outlasts the picture.
func TestLateCuesInRenders(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	const clip = "testdata/R-tv-clip-640x360-10s.mp4"
	read := func(name string) string {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	late := b.seedLength(t, "late", clip, read("H-past-end-vi.srt"), 10*time.Second)
	if err := b.p.Process(ctx, late.ID); err != nil {
		t.Fatal(err)
	}
	got, err := b.db.Segment(ctx, late.ID)
	if err != nil || got.State != pipeline.StateProcessed {
		t.Fatalf("late: %+v %v, want processed (the audio airs)", got, err)
	}
	for _, part := range []string{"subtitles (vi)", "line 9, cue 3: error past-end", "line 13, cue 4: error past-end", "after the media ends at 00:00:10,000"} {
		if !strings.Contains(got.ProcessError, part) {
			t.Errorf("process_error %q lacks %q", got.ProcessError, part)
		}
	}
	if _, ok := renditionNames(t, b.db, late.ID)["vi/subtitles_vtt"]; ok {
		t.Error("a WebVTT was made of cues after the media's end")
	}

	near := b.seedLength(t, "near", clip, read("H-near-end-vi.srt"), 10*time.Second)
	if err := b.p.Process(ctx, near.ID); err != nil {
		t.Fatal(err)
	}
	rs := renditionNames(t, b.db, near.ID)
	if vtt := b.objectText(t, rs["vi/subtitles_vtt"].Key); !strings.Contains(vtt, "00:00:08.500 --> 00:00:10.000") {
		t.Errorf("the cue ending 300 ms past the media is not cut at its end:\n%s", vtt)
	}

	blt := "1\n00:00:01,000 --> 00:00:03,000\nꪎꪲꪙ ꪬꪾ ꪹꪀꪷ.\n\n2\n00:00:07,000 --> 00:00:08,000\nꪥꪱ ꪙꪲ꪿ ꪁꪾ.\n\n3\n00:00:08,500 --> 00:00:12,000\nꪎꪲꪙ ꪬꪾ ꪻꪕ꪿ ꪑꪲꪙ.\n\n4\n00:00:12,500 --> 00:00:14,000\nꪻꪕ꪿ ꪑꪲꪙ.\n"
	if _, err := b.store.Put(ctx, "segments/late/jobs/j1/blt.srt", strings.NewReader(blt), int64(len(blt)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if err := b.p.RenderSubtitles(ctx, RenderSubtitlesArgs{SegmentID: late.ID, Language: "blt", SubtitleKey: "segments/late/jobs/j1/blt.srt", JobID: "j1"}); err != nil {
		t.Fatal(err)
	}
	rs = renditionNames(t, b.db, late.ID)
	vtt := b.objectText(t, rs["blt/subtitles_vtt"].Key)
	if strings.Count(vtt, "-->") != 3 || !strings.Contains(vtt, "00:00:08.500 --> 00:00:10.000") || strings.Contains(vtt, "00:00:12.500") {
		t.Errorf("the Thái WebVTT keeps cues after the media's end:\n%s", vtt)
	}
	if _, ok := rs["blt/soft_subtitles_mp4"]; !ok {
		t.Error("no Thái soft-subtitle MP4")
	}
}
