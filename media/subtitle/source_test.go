package subtitle

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCheckSource holds producers' files to the rules their translations
// will meet: the cases from real bug reports (A, B, C in testdata/cases)
// and more of each kind (D overlap in WebVTT, E zero-length and a 40 ms
// cue, F a cue whose only text is a formatting tag).
func TestCheckSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []brief
	}{
		{"A-inverted-vi.srt", []brief{{Error, CodeBadTiming, 2, 5}}},
		{"A-corrected-vi.srt", nil},
		{"B-out-of-order-vi.srt", []brief{{Error, CodeOrder, 3, 9}}},
		{"C-empty-cue-vi.srt", []brief{{Error, CodeEmptyCue, 2, 5}}},
		{"D-overlap-vi.vtt", []brief{{Error, CodeOverlap, 2, 7}}},
		{"E-zero-length-vi.srt", []brief{{Error, CodeBadTiming, 2, 5}, {Error, CodeBadTiming, 3, 9}}},
		{"F-tags-only-vi.srt", []brief{{Error, CodeEmptyCue, 2, 5}}},
		{"G-vi.srt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", "cases", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			fs := CheckSource(f)
			var got []brief
			for _, fd := range fs {
				got = append(got, brief{fd.Severity, fd.Code, fd.Cue, fd.Line})
				if strings.Contains(fd.Message, "remove the cue") && fd.Code != CodeEmptyCue {
					t.Errorf("finding %v advises removing a cue", fd)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n%v\nwant %v", fs, tt.want)
			}
			// The guarantee: a source that passes can be translated
			// faithfully. Its own cues, as a translation, meet every rule
			// of Check that depends on times or cue count.
			if len(fs) == 0 {
				for _, fd := range append(Check(f, ProfileFor("blt")), CompareTiming(f, f, 0)...) {
					if fd.Severity == Error && inheritedCode(fd.Code) {
						t.Errorf("a faithful translation of an accepted source is refused: %v", fd)
					}
				}
			}
		})
	}
}

// inheritedCode reports the codes a translation that keeps the source's
// cues and times cannot avoid if the source has them.
func inheritedCode(code string) bool {
	switch code {
	case CodeOrder, CodeOverlap, CodeBadTiming, CodeEmptyCue, CodeCueCount, CodeTiming:
		return true
	}
	return false
}

// TestCheckMessagesAgreeOnCueCount keeps the translator's advice from
// contradicting the cue-count rule: an empty or crowded cue in a
// translation is never fixed by removing or splitting it.
func TestCheckMessagesAgreeOnCueCount(t *testing.T) {
	t.Parallel()
	f := mustParse(t, srtOf(cue("1000-4000"), cue("5000-9000", "một", "hai", "ba")))
	fs := Check(f, ProfileFor("blt"))
	if len(fs) == 0 {
		t.Fatal("no findings")
	}
	for _, fd := range fs {
		if strings.Contains(fd.Message, "remove the cue") || strings.Contains(fd.Message, "split the cue") {
			t.Errorf("translation finding contradicts the cue-count rule: %v", fd)
		}
	}
}
