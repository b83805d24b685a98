package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
		{"C-empty-cue-vi.srt", []string{"line 5, cue 2", "has no text"}, []int{5}},
		{"D-overlap-vi.vtt", []string{"line 7, cue 2", "before cue 1 ends at 00:00:04,000"}, []int{7}},
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
			err = CheckSourceSubtitles(data)
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
