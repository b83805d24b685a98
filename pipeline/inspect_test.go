package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/subtitle"
)

// TestCheckSourceSubtitles refuses, at upload, the producer's files whose
// flaws every translation would inherit, naming each line: the cases from
// bug reports (A inverted cue, B out of order, C empty cue) and one more of
// each kind (D overlap in WebVTT, E zero-length and 40 ms cues, F a cue of
// formatting tags only). A corrected file is accepted.
func TestCheckSourceSubtitles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		want  []string // parts of the message; nil: accepted
		lines []int    // the lines of the structured findings, in order
	}{
		{"A-inverted-vi.srt", []string{"line 5, cue 2", "ends at 00:00:04,000, not after it starts at 00:00:07,000"}, []int{5}},
		{"A-corrected-vi.srt", nil, nil},
		{"B-out-of-order-vi.srt", []string{"line 9, cue 3", "out of order", "cue 2 (line 5)"}, []int{9}},
		{"C-empty-cue-vi.srt", []string{"line 5, cue 151: error empty-cue: cue 151 has no text"}, []int{5}},
		{"D-overlap-vi.vtt", []string{"line 7, the 2nd cue: error overlap: the 2nd cue starts", `before cue "intro" (line 3) ends at 00:00:04,000`}, []int{7}},
		{"E-zero-length-vi.srt", []string{"2 problem(s)", "line 5, cue 2", "line 9, cue 3", "shown for 40 ms"}, []int{5, 9}},
		{"F-tags-only-vi.srt", []string{"line 5, cue 2", "has no text"}, []int{5}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = CheckSourceSubtitles(data, 0)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused a good file: %v", err)
				}
				return
			}
			if ErrorCode(err) != CodeInvalid {
				t.Fatalf("got %v, want an invalid-input error", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Field != "subtitles" {
				t.Fatalf("error %v does not name the subtitles field", err)
			}
			var lines []int
			for _, f := range e.Findings {
				if f.Code == "" || f.Message == "" || f.Severity.String() != "error" {
					t.Errorf("finding %+v lacks its code, message or error severity", f)
				}
				lines = append(lines, f.Line)
			}
			if !slices.Equal(lines, tt.lines) {
				t.Errorf("findings on lines %v, want %v", lines, tt.lines)
			}
			msg := ErrorMessage(err)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

// TestCheckSourceSubtitlesAgainstMedia refuses, once the media's length is
// known, cues that start after the media ends or end more than
// subtitle.DefaultTolerance past it, naming each cue's line, its time and
// the media's end; a cue ending past the end within the tolerance is a
// warning of an accepted file, as for a translator's nudged cue. The same
// files are accepted while the length is not known (the check before the
// media is stored).
func TestCheckSourceSubtitlesAgainstMedia(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		media    time.Duration
		want     []string // parts of the refusal; nil: accepted
		lines    []int    // lines of the refusal's findings
		warnings []int    // lines of an accepted file's warnings
	}{
		{"H-past-end-vi.srt", 10 * time.Second, []string{"2 problem(s)",
			"line 9, cue 3: error past-end: cue 3 runs 00:00:08,500 --> 00:00:12,000, 2000 ms past the end of the media at 00:00:10,000",
			"line 13, cue 4: error past-end: cue 4 starts at 00:00:12,500, after the media ends at 00:00:10,000",
			"the one made for this media"}, []int{9, 13}, nil},
		{"H-past-end-vi.srt", 14 * time.Second, nil, nil, nil},
		{"H-past-end-vi.srt", 0, nil, nil, nil},
		{"H-near-end-vi.srt", 10 * time.Second, nil, nil, []int{5}},
		{"H-near-end-vi.srt", 9 * time.Second, []string{"1300 ms past"}, []int{5}, nil},
		{"A-corrected-vi.srt", 11 * time.Second, nil, nil, nil},
		// Problems of both kinds are listed together, in cue order.
		{"B-out-of-order-vi.srt", 3 * time.Second, []string{"2 problem(s)", "out of order", "cue 2 starts at 00:00:03,350, after the media ends at 00:00:03,000"}, []int{5, 9}, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.file, tt.media), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			warns, err := CheckSourceSubtitles(data, tt.media)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				var lines []int
				for _, w := range warns {
					if w.Severity != subtitle.Warning || w.Code != subtitle.CodePastEnd || !strings.Contains(w.Message, "after the media ends") {
						t.Errorf("warning %v is not a past-end warning", w)
					}
					lines = append(lines, w.Line)
				}
				if !slices.Equal(lines, tt.warnings) {
					t.Errorf("warnings on lines %v, want %v", lines, tt.warnings)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalid || e.Field != "subtitles" {
				t.Fatalf("got %v, want an invalid-input error on the subtitles field", err)
			}
			var lines []int
			for _, f := range e.Findings {
				lines = append(lines, f.Line)
			}
			if !slices.Equal(lines, tt.lines) {
				t.Errorf("findings on lines %v, want %v", lines, tt.lines)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message lacks %q:\n%s", w, e.Message)
				}
			}
		})
	}
}
