package media

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/subtitle"
)

// TestInputErrorClassifies: what is wrong with the input is an
// *InputError (retrying cannot help); a cancelled run, a missing tool or a
// full disk is not. The sentinels still match errors.Is.
func TestInputErrorClassifies(t *testing.T) {
	t.Parallel()
	needFFmpeg(t)
	dir := t.TempDir()
	r := NewRunner(Config{})
	garbage := writeFile(t, dir, "garbage.mp3", []byte("this is a letter, not a recording"))
	silence := silenceWAV(t, dir, "3")
	tv := tvMP4(t, dir)
	inverted := &subtitle.File{Cues: []subtitle.Cue{{Index: 1, Start: 2 * time.Second, End: time.Second, Lines: []string{"Xin chào"}}}}
	fonts := filepath.Join(dir, "fonts")
	if err := PrepareFonts(fonts); err != nil {
		t.Fatalf("fonts: %v (make deps installs fonts-noto-core)", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		run      func(ctx context.Context) error
		input    bool
		sentinel error
	}{
		{"probe of a file that is not media", func(ctx context.Context) error {
			_, err := r.Probe(ctx, garbage)
			return err
		}, true, ErrNotMedia},
		{"silence cannot be normalized", func(ctx context.Context) error {
			_, err := r.Loudspeaker(ctx, silence, filepath.Join(dir, "s.mp3"), "", LoudspeakerOptions{})
			return err
		}, true, ErrTooQuiet},
		{"a cue that ends before it starts", func(ctx context.Context) error {
			_, err := r.BurnSubtitles(ctx, tv, filepath.Join(dir, "b.mp4"), inverted, BurnOptions{Lang: "vi", FontsDir: fonts, TempDir: dir})
			return err
		}, true, nil},
		{"ffmpeg refuses the input", func(ctx context.Context) error {
			return r.Run(ctx, Job{Args: []string{"-i", "file:" + garbage, "-f", "null", "-"}})
		}, true, nil},
		{"cancelled", func(context.Context) error {
			return r.Run(cancelled, Job{Args: []string{"-i", "file:" + tv, "-f", "null", "-"}})
		}, false, context.Canceled},
		{"tool missing", func(ctx context.Context) error {
			return NewRunner(Config{FFmpegPath: filepath.Join(dir, "no-ffmpeg")}).Run(ctx, Job{Args: []string{"-version"}})
		}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(testCtx(t))
			if err == nil {
				t.Fatal("no error")
			}
			if IsInputError(err) != tt.input {
				t.Errorf("IsInputError(%v) = %v, want %v", err, !tt.input, tt.input)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("%v does not match %v", err, tt.sentinel)
			}
		})
	}
	// A machine fault ffmpeg reports with an error status is not the input's.
	full := &ToolError{Tool: "ffmpeg", ExitCode: 1, Stderr: "av_interleaved_write_frame(): No space left on device", Err: errors.New("exit status 1")}
	if IsInputError(toolInputError(full)) {
		t.Error("a full disk was taken for a bad input")
	}
}
