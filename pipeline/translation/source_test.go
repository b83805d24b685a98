package translation

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestTranslationOfFlawedSource decides, per translator's file, what the
// Thái submission check does with the sources from the bug reports (A, B,
// C). Such sources are now refused at upload (pipeline.CheckSourceSubtitles),
// but one accepted before must still let a faithful translation through: a
// problem the translation shares with its source at the same cue is a
// warning. Retimed translations are refused, since translations keep the
// source's times; against the source the producer corrected (A-corrected)
// the retimed file is the faithful one and passes.
func TestTranslationOfFlawedSource(t *testing.T) {
	t.Parallel()
	cases := []struct {
		source, translation string
		blocking            bool
		codes               []string // codes that must be found
		warned              string   // a code that must be a warning, "" to skip
	}{
		{"A-inverted-vi.srt", "A-inverted-blt-faithful.srt", false, []string{subtitle.CodeBadTiming}, subtitle.CodeBadTiming},
		{"A-inverted-vi.srt", "A-inverted-blt-fixed.srt", true, []string{subtitle.CodeTiming}, ""},
		{"A-corrected-vi.srt", "A-inverted-blt-fixed.srt", false, nil, ""},
		{"A-corrected-vi.srt", "A-inverted-blt-faithful.srt", true, []string{subtitle.CodeBadTiming, subtitle.CodeTiming}, ""},
		{"B-out-of-order-vi.srt", "B-out-of-order-blt-faithful.srt", false, []string{subtitle.CodeOrder}, subtitle.CodeOrder},
		{"B-out-of-order-vi.srt", "B-out-of-order-blt-fixed.srt", true, []string{subtitle.CodeTiming}, ""},
		{"B-out-of-order-vi.srt", "B-out-of-order-blt-dropped.srt", true, []string{subtitle.CodeCueCount}, ""},
		{"C-empty-cue-vi.srt", "C-empty-cue-blt-faithful.srt", false, []string{subtitle.CodeEmptyCue}, subtitle.CodeEmptyCue},
		{"C-empty-cue-vi.srt", "C-empty-cue-blt-removed.srt", true, []string{subtitle.CodeCueCount}, ""},
	}
	for _, c := range cases {
		t.Run(c.source+"/"+c.translation, func(t *testing.T) {
			t.Parallel()
			src, err := subtitle.Parse(readTestdata(t, c.source))
			if err != nil {
				t.Fatal(err)
			}
			_, fs, err := SubtitleCheck{Language: "blt", Source: src}.Check(readTestdata(t, c.translation))
			if err != nil {
				t.Fatalf("not parsed: %v", err)
			}
			if Blocking(fs) != c.blocking {
				t.Fatalf("blocking=%v, want %v: %v", Blocking(fs), c.blocking, fs)
			}
			for _, code := range c.codes {
				if !slices.ContainsFunc(fs, func(f subtitle.Finding) bool { return f.Code == code }) {
					t.Errorf("no %s finding in %v", code, fs)
				}
			}
			for _, f := range fs {
				if f.Code == c.warned && (f.Severity != subtitle.Warning || !strings.Contains(f.Message, "the producer should correct the source")) {
					t.Errorf("inherited finding is not a warning that points at the source: %v", f)
				}
				if strings.Contains(f.Message, "remove the cue") || strings.Contains(f.Message, "split the cue") {
					t.Errorf("advice contradicts the cue-count rule: %v", f)
				}
			}
			if c.blocking {
				msg := pipeline.ErrorMessage(RefusalError("subtitle file", fs))
				if !strings.Contains(msg, "error") {
					t.Errorf("refusal does not list the errors:\n%s", msg)
				}
			}
		})
	}
}

// TestInheritedOnlyAtTheSameCue keeps the relaxation narrow: an error the
// source does not have at that cue still blocks.
func TestInheritedOnlyAtTheSameCue(t *testing.T) {
	t.Parallel()
	src, err := subtitle.Parse(readTestdata(t, "A-inverted-vi.srt"))
	if err != nil {
		t.Fatal(err)
	}
	faithful := string(readTestdata(t, "A-inverted-blt-faithful.srt"))
	// Cue 1 emptied: the source's cue 1 has text.
	lines := strings.Split(faithful, "\n")
	lines[2] = ""
	_, fs, err := SubtitleCheck{Language: "blt", Source: src}.Check([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(fs, func(f subtitle.Finding) bool {
		return f.Code == subtitle.CodeEmptyCue && f.Severity == subtitle.Error && f.Cue == 1
	}) {
		t.Errorf("empty cue 1 not an error: %v", fs)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestTranslationPastMediaEnd holds a translation's cues to the media's
// length as the upload holds the source's: a cue the translator moved past
// the end (within the timing tolerance of the source) is refused with its
// line, time and the media's end; one the source already has there (a
// source accepted before the upload checked this) is a warning that points
// at the producer; within the tolerance it is a warning; with the length
// unknown nothing is checked.
func TestTranslationPastMediaEnd(t *testing.T) {
	t.Parallel()
	src, err := subtitle.Parse(readTestdata(t, "A-corrected-vi.srt")) // cue 3: 00:00:08,000 --> 00:00:10,500
	if err != nil {
		t.Fatal(err)
	}
	faithful := string(readTestdata(t, "A-inverted-blt-fixed.srt"))
	moved := strings.Replace(faithful, "00:00:08,000 --> 00:00:10,500", "00:00:08,000 --> 00:00:10,900", 1)
	tests := []struct {
		name        string
		translation string
		media       time.Duration
		blocking    bool
		severity    subtitle.Severity // of the past-end finding on cue 3; 0: none
		parts       []string
	}{
		{"fits", faithful, 11 * time.Second, false, 0, nil},
		{"length unknown", moved, 0, false, 0, nil},
		{"source ends just after the media", faithful, 10200 * time.Millisecond, false, subtitle.Warning, []string{"300 ms after the media ends at 00:00:10,200"}},
		{"moved further past the end", moved, 10200 * time.Millisecond, true, subtitle.Error,
			[]string{"cue 3 runs 00:00:08,000 --> 00:00:10,900, 700 ms past the end of the media at 00:00:10,200", "end it by the end of the media, keeping to the source cue's times"}},
		{"source runs past the end", faithful, 9 * time.Second, false, subtitle.Warning,
			[]string{"1500 ms past the end of the media at 00:00:09,000", "the producer should correct the source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, fs, err := SubtitleCheck{Language: "blt", Source: src, Media: tt.media}.Check([]byte(tt.translation))
			if err != nil {
				t.Fatal(err)
			}
			if Blocking(fs) != tt.blocking {
				t.Fatalf("blocking=%v, want %v: %v", Blocking(fs), tt.blocking, fs)
			}
			var got []subtitle.Finding
			for _, f := range fs {
				if f.Code == subtitle.CodePastEnd {
					got = append(got, f)
				}
			}
			if tt.severity == 0 {
				if len(got) != 0 {
					t.Errorf("past-end findings %v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tt.severity || got[0].Cue != 3 || got[0].Line != 9 {
				t.Fatalf("past-end findings %v, want one %v on cue 3, line 9", got, tt.severity)
			}
			for _, p := range tt.parts {
				if !strings.Contains(got[0].Message, p) {
					t.Errorf("message %q lacks %q", got[0].Message, p)
				}
			}
		})
	}
}

// TestCueCountFindingsAgree is case C after the producer followed the
// upload's advice and removed the empty cue: the translator's faithful
// file still has it. The refusal names that cue once, as one to remove,
// instead of saying both "3 cues but the source has 2" and "write its
// text (keep the cue)". The other way round (the translator removed the
// cue the source keeps) names the source cue to add back.
func TestCueCountFindingsAgree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		source, translation string
		line, cue           int
		parts               []string
	}{
		{"C-empty-cue-vi-removed.srt", "C-empty-cue-blt-faithful.srt", 5, 2,
			[]string{"cue 151 (00:00:04,800 --> 00:00:05,440) has no text and is not in the source", "this file has 3 cues, the source 2", "remove this cue"}},
		{"C-empty-cue-vi.srt", "C-empty-cue-blt-removed.srt", 5, 0,
			[]string{"source cue 151 (00:00:04,800 --> 00:00:05,440) has no cue here", "this file has 2 cues, the source 3", "add one before cue 152 (line 5)"}},
	}
	for _, tt := range tests {
		t.Run(tt.source+"/"+tt.translation, func(t *testing.T) {
			t.Parallel()
			src, err := subtitle.Parse(readTestdata(t, tt.source))
			if err != nil {
				t.Fatal(err)
			}
			_, fs, err := SubtitleCheck{Language: "blt", Source: src, Media: 8500 * time.Millisecond}.Check(readTestdata(t, tt.translation))
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 1 {
				t.Fatalf("findings %v, want one", fs)
			}
			f := fs[0]
			if f.Severity != subtitle.Error || f.Code != subtitle.CodeCueCount || f.Line != tt.line || f.Cue != tt.cue {
				t.Errorf("finding %+v, want a cue-count error on line %d, cue %d", f, tt.line, tt.cue)
			}
			for _, p := range tt.parts {
				if !strings.Contains(f.Message, p) {
					t.Errorf("%q lacks %q", f.Message, p)
				}
			}
			msg := pipeline.ErrorMessage(RefusalError("subtitle file", fs))
			if strings.Contains(msg, "keep the cue") || strings.Contains(msg, "write its text") {
				t.Errorf("the refusal still contradicts itself:\n%s", msg)
			}
		})
	}
}

// TestEmptyCueWhenCuesDoNotLineUp: when the counts differ and the cues do
// not line up with the source's, an empty cue's advice does not say to
// keep it (it may be the extra one) beside the count finding.
func TestEmptyCueWhenCuesDoNotLineUp(t *testing.T) {
	t.Parallel()
	src, err := subtitle.Parse(readTestdata(t, "C-empty-cue-vi-removed.srt"))
	if err != nil {
		t.Fatal(err)
	}
	// The faithful file with its last cue retimed: nothing lines up.
	shifted := strings.Replace(string(readTestdata(t, "C-empty-cue-blt-faithful.srt")), "00:00:06,340 --> 00:00:08,000", "00:00:07,340 --> 00:00:09,000", 1)
	_, fs, err := SubtitleCheck{Language: "blt", Source: src}.Check([]byte(shifted))
	if err != nil {
		t.Fatal(err)
	}
	var count, empty bool
	for _, f := range fs {
		switch f.Code {
		case subtitle.CodeCueCount:
			count = f.Cue == 0 && strings.Contains(f.Message, "do not line up")
		case subtitle.CodeEmptyCue:
			empty = f.Cue == 2 && strings.Contains(f.Message, "otherwise remove it")
			if strings.Contains(f.Message, "keep the cue") {
				t.Errorf("empty-cue advice contradicts the count: %v", f)
			}
		}
	}
	if !count || !empty {
		t.Errorf("want a count finding for the file and reworded empty-cue advice on cue 2: %v", fs)
	}
}

// TestRefusalSaysSourceIsBroken: a translator who corrects, retimes or
// removes a cue that the source itself breaks (a source accepted before
// the upload check: A, B, C) is still refused, as translations keep the
// source's cues and times, but the refusal says that the source cue is
// broken and how, that only the producer can correct it, and what to
// submit meanwhile (the cue as the source has it, accepted with a
// warning); the page gets the same as a note (NoteKey, NoteArgs). The
// faithful file's warning says the source is wrong without telling the
// translator to fix the times.
func TestRefusalSaysSourceIsBroken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		source, translation string
		code                string // of the finding that carries the note
		noteKey             string
		noteArgs            []string
		parts               []string
	}{
		{"A-inverted-vi.srt", "A-inverted-blt-fixed.srt", subtitle.CodeTiming, KeySourceBroken + ProblemInverted, []string{"2", "5", "00:00:07,000", "00:00:04,000"},
			[]string{"keep the source times", "cue 2 of the Vietnamese source (its line 5) is itself broken: it ends before it starts",
				"Only the producer can correct the source", "keep this cue as the source has it (00:00:07,000 --> 00:00:04,000), which is accepted with a warning"}},
		{"B-out-of-order-vi.srt", "B-out-of-order-blt-fixed.srt", subtitle.CodeTiming, KeySourceBroken + ProblemOrder, []string{"3", "9", "00:00:00,500", "00:00:01,500"},
			[]string{"cue 3 of the Vietnamese source (its line 9) is itself broken: it starts before the cue before it (the cues are out of order)",
				"keep this cue as the source has it (00:00:00,500 --> 00:00:01,500)"}},
		{"B-out-of-order-vi.srt", "B-out-of-order-blt-dropped.srt", subtitle.CodeCueCount, KeySourceBroken + ProblemOrder, []string{"3", "9", "00:00:00,500", "00:00:01,500"},
			[]string{"source cue 3", "is itself broken: it starts before the cue before it", "keep this cue as the source has it (00:00:00,500 --> 00:00:01,500)"}},
		{"C-empty-cue-vi.srt", "C-empty-cue-blt-removed.srt", subtitle.CodeCueCount, KeySourceBroken + ProblemEmpty, []string{"151", "5", "00:00:04,800", "00:00:05,440"},
			[]string{"add one before cue 152", "cue 151 of the Vietnamese source (its line 5) is itself broken: it has no text",
				"keep a cue with no text at its times (00:00:04,800 --> 00:00:05,440), which is accepted with a warning"}},
	}
	for _, tt := range tests {
		t.Run(tt.translation, func(t *testing.T) {
			t.Parallel()
			src, err := subtitle.Parse(readTestdata(t, tt.source))
			if err != nil {
				t.Fatal(err)
			}
			_, fs, err := SubtitleCheck{Language: "blt", Source: src}.Check(readTestdata(t, tt.translation))
			if err != nil {
				t.Fatal(err)
			}
			if !Blocking(fs) {
				t.Fatalf("accepted: %v", fs)
			}
			var noted []subtitle.Finding
			for _, f := range fs {
				if f.NoteKey != "" {
					noted = append(noted, f)
				}
			}
			if len(noted) != 1 {
				t.Fatalf("%d findings carry a note, want 1: %v", len(noted), fs)
			}
			f := noted[0]
			if f.Code != tt.code || f.Severity != subtitle.Error || f.NoteKey != tt.noteKey || !slices.Equal(f.NoteArgs, tt.noteArgs) {
				t.Errorf("noted finding %s: key %s %q, want %s error, note %s %q", f, f.NoteKey, f.NoteArgs, tt.code, tt.noteKey, tt.noteArgs)
			}
			msg := pipeline.ErrorMessage(RefusalError("subtitle file", fs))
			for _, p := range tt.parts {
				if !strings.Contains(msg, p) {
					t.Errorf("refusal lacks %q:\n%s", p, msg)
				}
			}
		})
	}

	// The faithful files: accepted, each inherited problem a warning that
	// blames the source and does not ask the translator to fix it.
	for _, c := range []struct{ source, translation, key string }{
		{"A-inverted-vi.srt", "A-inverted-blt-faithful.srt", KeyInherited + ProblemInverted},
		{"B-out-of-order-vi.srt", "B-out-of-order-blt-faithful.srt", KeyInherited + ProblemOrder},
		{"C-empty-cue-vi.srt", "C-empty-cue-blt-faithful.srt", KeyInherited + ProblemEmpty},
	} {
		src, err := subtitle.Parse(readTestdata(t, c.source))
		if err != nil {
			t.Fatal(err)
		}
		_, fs, err := SubtitleCheck{Language: "blt", Source: src}.Check(readTestdata(t, c.translation))
		if err != nil || Blocking(fs) {
			t.Fatalf("%s: %v %v", c.translation, err, fs)
		}
		i := slices.IndexFunc(fs, func(f subtitle.Finding) bool { return f.Key == c.key })
		if i < 0 {
			t.Fatalf("%s: no %s finding in %v", c.translation, c.key, fs)
		}
		m := fs[i].Message
		if fs[i].Severity != subtitle.Warning || !strings.Contains(m, "of the Vietnamese source does") || !strings.Contains(m, "producer should correct the source") ||
			strings.Contains(m, "fix the times") || strings.Contains(m, "write its text") || strings.Contains(m, "put them in time order") || len(fs[i].Args) != 3 {
			t.Errorf("%s: inherited finding %s (args %q)", c.translation, fs[i], fs[i].Args)
		}
	}
}

// FuzzCheckAgainstSource checks arbitrary translations against arbitrary
// sources (seeded with the shared cases A, B, C and their translations):
// the check never panics, and every note on a broken source cue and every
// inherited warning carries the figures its page text takes, on a finding
// of the right severity.
func FuzzCheckAgainstSource(f *testing.F) {
	for _, p := range [][2]string{
		{"A-inverted-vi.srt", "A-inverted-blt-fixed.srt"}, {"A-inverted-vi.srt", "A-inverted-blt-faithful.srt"},
		{"B-out-of-order-vi.srt", "B-out-of-order-blt-fixed.srt"}, {"B-out-of-order-vi.srt", "B-out-of-order-blt-dropped.srt"},
		{"B-out-of-order-vi.srt", "B-out-of-order-blt-faithful.srt"},
		{"C-empty-cue-vi.srt", "C-empty-cue-blt-removed.srt"}, {"C-empty-cue-vi.srt", "C-empty-cue-blt-faithful.srt"},
	} {
		src, err := os.ReadFile(filepath.Join("testdata", p[0]))
		if err != nil {
			f.Fatal(err)
		}
		tgt, err := os.ReadFile(filepath.Join("testdata", p[1]))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, tgt, int64(9000))
	}
	f.Fuzz(func(t *testing.T, source, target []byte, mediaMS int64) {
		src, err := subtitle.Parse(source)
		if err != nil {
			return
		}
		media := time.Duration(mediaMS%3_600_000) * time.Millisecond
		_, fs, err := SubtitleCheck{Language: "blt", Source: src, Media: media}.Check(target)
		if err != nil {
			return
		}
		for _, f := range fs {
			if f.NoteKey != "" && (f.Severity != subtitle.Error || !strings.HasPrefix(f.NoteKey, KeySourceBroken) || len(f.NoteArgs) != 4) {
				t.Errorf("note on %s: %s %q", f, f.NoteKey, f.NoteArgs)
			}
			if strings.HasPrefix(f.Key, KeyInherited) && (f.Severity != subtitle.Warning || len(f.Args) != 3) {
				t.Errorf("inherited finding %s: args %q", f, f.Args)
			}
		}
	})
}
