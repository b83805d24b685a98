package subtitle

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFindingsKeyed: every finding the checks make names its page text
// (Key, one of FindingKeys) with the figures it takes (Args), a cue given
// as Ref writes it, never in English words ("cue 2", "the 2nd cue").
func TestFindingsKeyed(t *testing.T) {
	names, err := filepath.Glob("testdata/cases/*.*")
	if err != nil || len(names) < 5 {
		t.Fatalf("cases: %v, %v", names, err)
	}
	translation := "WEBVTT\n\n1\n00:00:01.000 --> 00:00:01.050\nXin chào bà con trong bản hôm nay\n\n" +
		"00:00:01.060 --> 00:00:09.500\nline one that is much too long to fit the line limit here\nline two\nline three\n\n" +
		"intro\n00:00:20.000 --> 00:00:30.000\nПривет\n"
	source := "1\n00:00:01,000 --> 00:00:01,050\nXin chào bà con trong bản hôm nay\n\n" +
		"2\n00:00:05,000 --> 00:00:09,500\nline one\n"
	seen := map[string]bool{}
	var all []Finding
	check := func(src, dst []byte) {
		s, err := Parse(src)
		if err != nil {
			return
		}
		d, err := Parse(dst)
		if err != nil {
			return
		}
		all = append(all, CheckSource(d)...)
		all = append(all, Check(d, ProfileFor("blt"))...)
		all = append(all, CheckMediaEnd(d, 5*time.Second, DefaultTolerance, "fix it")...)
		all = append(all, CompareTiming(s, d, DefaultTolerance)...)
		all = append(all, CompareText(s, d)...)
	}
	var files [][]byte
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	files = append(files, []byte(source), []byte(translation))
	for _, a := range files {
		for _, b := range files {
			check(a, b)
		}
	}
	english := regexp.MustCompile(`\bcue\b|\b\d+(st|nd|rd|th)\b`)
	for _, f := range all {
		if !slices.Contains(FindingKeys(), f.Key) || len(f.Args) == 0 {
			t.Errorf("%s: key %q args %q: not a key of FindingKeys with its figures", f, f.Key, f.Args)
		}
		for _, a := range f.Args {
			if english.MatchString(a) {
				t.Errorf("%s: argument %q names a cue in English words", f, a)
			}
		}
		seen[f.Key] = true
	}
	for _, k := range []string{KeyOrder, KeyOverlap, KeyInverted, KeyEmptySource, KeyTiming, KeySameCue, KeyLineTooLong, KeyScript} {
		if !seen[k] {
			t.Errorf("no finding with key %s among %d: the inputs no longer reach it", k, len(all))
		}
	}
}

// TestEveryFindingKeyed: every Finding the package's sources build sets
// its key (the inputs of TestFindingsKeyed cannot reach every branch).
func TestEveryFindingKeyed(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		src, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		built, keyed := strings.Count(string(src), "Finding{Severity"), strings.Count(string(src), "}.keyed(")
		if built != keyed {
			t.Errorf("%s builds %d findings but keys %d: a Finding without .keyed(...) cannot be said in a page's language", n, built, keyed)
		}
	}
}
