package media_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestInspectorForIngest: the ingest inspector turns a real clip into
// probe facts (video facts only for TV) and a file that is not media into
// a pipeline.Error on the "file" field that says why.
func TestInspectorForIngest(t *testing.T) {
	mediatest.Need(t)
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mp3")
	if err := os.WriteFile(junk, []byte("not a sound at all, just words\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := media.Inspector{Limits: media.Limits{MaxDuration: 10 * time.Minute}}
	tests := []struct {
		name      string
		path      string
		kind      pipeline.Kind
		wantVideo bool
		wantErr   bool
	}{
		{"radio clip", mediatest.SpeechMP3(t, dir), pipeline.KindRadio, false, false},
		{"tv clip", mediatest.TVMP4(t, dir), pipeline.KindTV, true, false},
		{"not media", junk, pipeline.KindRadio, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := in.Inspect(ctx, tt.path, tt.kind)
			if tt.wantErr {
				var pe *pipeline.Error
				if !errors.As(err, &pe) || pe.Code != pipeline.CodeInvalid || pe.Field != "file" || pe.Message == "" {
					t.Fatalf("Inspect(%s) = %+v, %v; want an invalid-file pipeline.Error", tt.name, f, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.DurationMS <= 0 || f.AudioCodec == "" || (f.VideoCodec != "") != tt.wantVideo {
				t.Errorf("facts %+v", f)
			}
		})
	}
}
