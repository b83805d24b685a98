package worker

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestProcessOddWidthTV is the bug report's G: a TV upload of 853x480
// yuv444p video with Vietnamese subtitles. libx264 refused the odd width
// and the whole segment failed; now every rendition is made, even-sized.
func TestProcessOddWidthTV(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	srt, err := os.ReadFile("testdata/G-vi.srt")
	if err != nil {
		t.Fatal(err)
	}
	seg := b.seed(t, "g1", "testdata/G-odd-853x480.mp4", pipeline.KindTV, string(srt), "vi")
	if err := b.p.Process(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	got, err := b.db.Segment(ctx, seg.ID)
	if err != nil || got.State != pipeline.StateProcessed {
		t.Fatalf("after processing: %+v %v", got, err)
	}
	rs := renditionNames(t, b.db, seg.ID)
	for _, name := range []string{"poster_jpg", "preview_mp4", "soft_subtitles_mp4", "burned_subtitles_mp4"} {
		r, ok := rs["vi/"+name]
		if !ok {
			t.Errorf("no vi/%s rendition", name)
			continue
		}
		var facts struct{ Width, Height int }
		if err := json.Unmarshal(r.Facts, &facts); err != nil || facts.Width%2 != 0 || facts.Height%2 != 0 || facts.Width == 0 {
			t.Errorf("%s: size %dx%d (%v), want even sides", name, facts.Width, facts.Height, err)
		}
	}
}
