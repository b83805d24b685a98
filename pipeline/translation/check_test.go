package translation

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
)

// sourceSRT is a Vietnamese source file of three cues.
const sourceSRT = `1
00:00:01,000 --> 00:00:04,000
Cải cách hành chính
là nhiệm vụ trọng tâm.

2
00:00:04,200 --> 00:00:07,500
Nộp hồ sơ tại bộ phận một cửa.

3
00:00:07,700 --> 00:00:10,000
Xin cảm ơn.
`

// Test glossary entries. The translations are placeholders for tests, not
// real Thái: Loa never ships invented translations.
var testTerms = []Term{
	{Language: "blt", Term: "một cửa", Translation: "ꪀꪱꪉ ꪁꪾ"},
	{Language: "blt", Term: "cải cách hành chính", Translation: "ꪼꪕ ꪼꪕ꫁"},
}

func srt(cues ...string) string {
	times := []string{"00:00:01,000 --> 00:00:04,000", "00:00:04,200 --> 00:00:07,500", "00:00:07,700 --> 00:00:10,000", "00:00:10,200 --> 00:00:12,000"}
	var b strings.Builder
	for i, c := range cues {
		b.WriteString(strings.Join([]string{itoa(i + 1), times[i], c, ""}, "\n") + "\n")
	}
	return b.String()
}

func itoa(i int) string { return string(rune('0' + i)) }

// TestSubtitleCheckTable runs good and bad translated files through the
// submission check: Tai Viet text, combining marks (NFD), Latin Thái,
// Mông, and the ways a file can be wrong.
func TestSubtitleCheckTable(t *testing.T) {
	t.Parallel()
	src, err := subtitle.Parse([]byte(sourceSRT))
	if err != nil {
		t.Fatal(err)
	}
	nfdMong := "Pe\u0301b yuav tsum paub\nkev hloov kho" // combining acute: NFC counts it once
	longTaiViet := strings.Repeat("ꪀꪴ", 40)              // consonant + combining vowel: 80 runes, 40 characters, fine
	tooLongTaiViet := strings.Repeat("ꪀꪴ", 43)           // 43 characters
	cases := []struct {
		name     string
		lang     string
		file     string
		blocking bool
		codes    []string // codes that must be found
		line     int      // a line number that must appear in the message, 0 to skip
	}{
		{"good Tai Viet", "blt", srt("ꪼꪕ ꪼꪕ꫁\nꪀꪱꪉ ꪁꪾ ꪹꪕꪉ", "ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ", "ꪮꪴ ꪹꪕꪉ"), false, nil, 0},
		{"good Tai Viet counted by cluster", "blt", srt("ꪼꪕ ꪼꪕ꫁\n"+longTaiViet, "ꪀꪱꪉ ꪁꪾ", "ꪮꪴ"), false, nil, 0},
		{"good Mông with combining marks", "hnj", srt(nfdMong, "Mus rau lub chaw", "Ua tsaug"), false, nil, 0},
		{"glossary term missing", "blt", srt("ꪼꪕ ꪼꪕ꫁", "ꪶꪎꪙ ꪹꪕꪉ", "ꪮꪴ"), false, []string{CodeGlossary}, 6},
		{"line too long", "blt", srt("ꪼꪕ ꪼꪕ꫁", "ꪀꪱꪉ ꪁꪾ\n"+tooLongTaiViet, "ꪮꪴ"), true, []string{subtitle.CodeLineTooLong}, 8},
		{"three lines", "hnj", srt("Peb\nyuav\ntsum", "Mus rau", "Ua tsaug"), true, []string{subtitle.CodeTooManyLines}, 0},
		{"Vietnamese left in a Thái file", "blt", srt("ꪼꪕ ꪼꪕ꫁", "Nộp hồ sơ tại bộ phận một cửa.", "ꪮꪴ"), true, []string{subtitle.CodeUntranslated}, 7},
		{"Cyrillic in Mông", "hnj", srt("Пеб юав", "Mus rau", "Ua tsaug"), true, []string{subtitle.CodeScript}, 3},
		{"a cue missing", "hnj", srt("Peb yuav", "Mus rau"), true, []string{subtitle.CodeCueCount}, 0},
		{"timing moved", "hnj", strings.Replace(srt("Peb yuav", "Mus rau", "Ua tsaug"), "00:00:04,200", "00:00:05,900", 1), true, []string{subtitle.CodeTiming}, 0},
		{"too fast to read", "hnj", srt("Peb yuav tsum paub txog kev hloov kho tsev\nhais lus rau tib neeg thiab cov neeg", "Mus rau", "Ua tsaug"), true, []string{subtitle.CodeCPS}, 0},
		{"WebVTT", "hnj", "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nPeb yuav\n\n00:00:04.200 --> 00:00:07.500\nMus rau\n\n00:00:07.700 --> 00:00:10.000\nUa tsaug\n", false, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			terms := testTerms
			if c.lang != "blt" {
				terms = nil
			}
			_, fs, err := SubtitleCheck{Language: c.lang, Source: src, Glossary: terms}.Check([]byte(c.file))
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
			if c.blocking {
				msg := pipeline.ErrorMessage(RefusalError("subtitle file", fs))
				if c.line > 0 && !strings.Contains(msg, "line "+itoa(c.line)+",") {
					t.Errorf("message does not name line %d:\n%s", c.line, msg)
				}
			}
			if !c.blocking && len(c.codes) == 0 && len(fs) > 0 {
				t.Errorf("unexpected findings on a good file: %v", fs)
			}
		})
	}
}

func TestSubtitleCheckRefusesUnreadable(t *testing.T) {
	t.Parallel()
	src, _ := subtitle.Parse([]byte(sourceSRT))
	for name, data := range map[string]string{
		"empty":          "",
		"legacy TCVN3":   "1\n00:00:01,000 --> 00:00:02,000\nC\xb8i c\xb8ch\n",
		"broken timing":  "1\n00:00:01,000 --> soon\nPeb\n",
		"random bytes":   "\x00\x01\x02garbage",
		"not a subtitle": "Hello, this is a letter.",
	} {
		_, _, err := SubtitleCheck{Language: "hnj", Source: src}.Check([]byte(data))
		if pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(pipeline.ErrorMessage(err), "subtitle file") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestMemoryPrefill(t *testing.T) {
	t.Parallel()
	src, _ := subtitle.Parse([]byte(sourceSRT))
	tgt, _ := subtitle.Parse([]byte(srt("ꪼꪕ ꪼꪕ꫁\nꪀꪱꪉ ꪁꪾ ꪹꪕꪉ", "ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ", "Xin cảm ơn.")))
	mem := MemoryPairs("blt", "j1", src, tgt)
	if len(mem) != 2 {
		t.Fatalf("memory pairs %+v, want 2 (the untranslated cue is left out)", mem)
	}
	next, _ := subtitle.Parse([]byte(srt("cải cách HÀNH CHÍNH\nlà nhiệm vụ trọng tâm!", "Nộp hồ sơ tại bộ phận một cửa liên thông.", "Cảm ơn bà con.")))
	p := BuildPrefill(next, mem)
	if p.Exact != 1 || p.Cues != 3 {
		t.Fatalf("exact %d of %d, want 1 of 3", p.Exact, p.Cues)
	}
	if got := p.File.Cues[0].Text(); got != "ꪼꪕ ꪼꪕ꫁\nꪀꪱꪉ ꪁꪾ ꪹꪕꪉ" {
		t.Fatalf("cue 1 pre-filled with %q", got)
	}
	if got := p.File.Cues[1].Text(); got != "Nộp hồ sơ tại bộ phận một cửa liên thông." {
		t.Fatalf("cue 2 should keep the Vietnamese for the translator: %q", got)
	}
	if len(p.Fuzzy) != 1 || p.Fuzzy[0].Cue != 2 || p.Fuzzy[0].Target != "ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ" || p.Fuzzy[0].Score < 0.7 || p.Fuzzy[0].Score >= 1 {
		t.Fatalf("fuzzy %+v", p.Fuzzy)
	}
	var b bytes.Buffer
	if err := subtitle.WriteSRT(&b, p.File); err != nil {
		t.Fatal(err)
	}
	back, err := subtitle.Parse(b.Bytes())
	if err != nil || len(back.Cues) != 3 || back.Cues[1].Start != next.Cues[1].Start {
		t.Fatalf("pre-filled file does not read back: %v", err)
	}
}

func TestGlossaryCSV(t *testing.T) {
	t.Parallel()
	good := "\ufeffterm,translation,note\n" +
		"cải cách hành chính,ꪼꪕ ꪼꪕ꫁,CCHC\n" +
		"\"một cửa, liên thông\",ꪀꪱꪉ ꪁꪾ\n" +
		"\n" +
		"dịch vụ công trực tuyến , ꪹꪕꪉ ꪶꪎꪙ ,\n"
	terms, err := ParseGlossaryCSV([]byte(good), "blt")
	if err != nil {
		t.Fatal(err)
	}
	if len(terms) != 3 || terms[1].Term != "một cửa, liên thông" || terms[2].Translation != "ꪹꪕꪉ ꪶꪎꪙ" || terms[0].Note != "CCHC" {
		t.Fatalf("terms %+v", terms)
	}
	var b bytes.Buffer
	if err := WriteGlossaryCSV(&b, terms); err != nil {
		t.Fatal(err)
	}
	again, err := ParseGlossaryCSV(b.Bytes(), "blt")
	if err != nil || !slices.EqualFunc(terms, again, func(a, b Term) bool { return a == b }) {
		t.Fatalf("round trip: %+v %v", again, err)
	}
	bad := []struct{ name, data, want string }{
		{"one column", "term,translation\nmột cửa\n", "Line 2"},
		{"empty translation", "một cửa,\n", "Line 1"},
		{"duplicate", "một cửa,a\nMỘT  CỬA,b\n", "Line 2 of the glossary repeats"},
		{"not UTF-8", "m\xf4t c\xfaa,a\n", "Line 1 of the glossary is not UTF-8"},
		{"bad quotes", "\"một cửa,a\n", "not valid CSV"},
		{"four columns", "a,b,c,d\n", "4 columns"},
		{"no letters", "123,a\n", "no letters"},
	}
	for _, c := range bad {
		if _, err := ParseGlossaryCSV([]byte(c.data), "blt"); err == nil || !strings.Contains(pipeline.ErrorMessage(err), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzParseGlossaryCSV feeds arbitrary bytes to the glossary parser: it
// must never panic, and what it accepts must survive a write and re-read.
func FuzzParseGlossaryCSV(f *testing.F) {
	for _, s := range []string{
		"term,translation,note\ncải cách hành chính,ꪼꪕ ꪼꪕ꫁,CCHC\n",
		"\"a,b\",c\n", "\ufeffx,y\n", "a\n", "\"", "a,b,c,d", "m\xf4t,a", "a,b\r\nc,d\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		terms, err := ParseGlossaryCSV(data, "hnj")
		if err != nil {
			if pipeline.ErrorCode(err) != pipeline.CodeInvalid {
				t.Fatalf("error with code %s: %v", pipeline.ErrorCode(err), err)
			}
			return
		}
		var b bytes.Buffer
		if err := WriteGlossaryCSV(&b, terms); err != nil {
			t.Fatal(err)
		}
		again, err := ParseGlossaryCSV(b.Bytes(), "hnj")
		if err != nil {
			t.Fatalf("re-reading what was written: %v\n%q", err, b.String())
		}
		if !slices.EqualFunc(terms, again, func(a, b Term) bool { return a == b }) {
			t.Fatalf("round trip changed the terms:\n%+v\n%+v", terms, again)
		}
	})
}
