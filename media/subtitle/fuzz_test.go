package subtitle

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, refuses only with a
// *ParseError, and that whatever it accepts writes as SRT and WebVTT and
// reads back to the same cues. Seeds: the files in testdata and testdata/cases, and the corpus
// in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	names, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	cases, err := filepath.Glob("testdata/cases/*.*")
	if err != nil {
		f.Fatal(err)
	}
	names = append(names, cases...)
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("150\n00:00:01,000 --> 00:00:03,000\nMột.\n\n151\n00:00:02,000 --> 00:00:02,000\n\n"))
	f.Add([]byte("WEBVTT\n\nmo-dau\n00:00:01.000 --> 00:00:03.000\nMột.\n\n00:00:02.000 --> 00:00:04.000\nHai.\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("error %v is %T, want *ParseError", err, err)
			}
			return
		}
		for _, c := range file.Cues {
			if len(c.lineNos) != len(c.Lines) || c.Line < 1 {
				t.Fatalf("cue %d has line %d and line numbers %v for %d lines", c.Index, c.Line, c.lineNos, len(c.Lines))
			}
		}
		roundTrip(t, file)
		faithful := len(CheckSource(file)) == 0
		for _, lang := range []string{"vi", "blt", "hnj"} {
			for _, fd := range Check(file, ProfileFor(lang)) {
				if fd.Cue > 0 && fd.CueName != file.Cues[fd.Cue-1].Name() {
					t.Fatalf("finding on cue at %d names it %q, the cue's name is %q", fd.Cue, fd.CueName, file.Cues[fd.Cue-1].Name())
				}
				if faithful && fd.Severity == Error && inheritedCode(fd.Code) {
					t.Fatalf("CheckSource accepts the file but its faithful translation is refused: %v", fd)
				}
			}
		}
		if fs := CompareTiming(file, file, 0); len(fs) != 0 {
			t.Fatalf("a file compared with itself: %v", fs)
		}
		// A cue fewer or more: only cue-count findings, one per cue to add
		// or remove when the cues line up, else one for the file.
		if n := len(file.Cues); n > 1 {
			less := &File{Cues: file.Cues[1:]}
			for _, pair := range [][2]*File{{file, less}, {less, file}} {
				fs := CompareTiming(pair[0], pair[1], 0)
				if len(fs) == 0 {
					t.Fatalf("files of %d and %d cues compare equal", len(pair[0].Cues), len(pair[1].Cues))
				}
				for _, fd := range fs {
					if fd.Code != CodeCueCount || fd.Severity != Error {
						t.Fatalf("count mismatch gave %v", fd)
					}
				}
			}
		}
		// Media as long as the latest cue: nothing runs past its end.
		var last time.Duration
		for _, c := range file.Cues {
			last = max(last, c.Start+time.Millisecond, c.End)
		}
		if fs := CheckMediaEnd(file, last, DefaultTolerance, "fix it"); len(fs) > 0 {
			t.Fatalf("media of %s: cues found past its end: %v", last, fs)
		}
		CompareText(file, file)
		var buf bytes.Buffer
		if err := WriteVTT(&buf, file); err != nil {
			t.Fatal(err)
		}
	})
}
