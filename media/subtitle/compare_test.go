package subtitle

import (
	"slices"
	"strings"
	"testing"
)

func TestCompareTiming(t *testing.T) {
	t.Parallel()
	source := mustParse(t, srtOf(cue("1000-3000", "Thủ tục"), cue("3500-6000", "hành chính"), cue("6100-9000", "một cửa")))
	tests := []struct {
		name   string
		target string
		want   []brief
	}{
		{"same times", srtOf(cue("1000-3000", "ꪀꪱꪉ"), cue("3500-6000", "ꪁꪾ"), cue("6100-9000", "ꪼꪕ")), nil},
		{"within tolerance", srtOf(cue("1500-2500", "ꪀꪱꪉ"), cue("3000-6500", "ꪁꪾ"), cue("6100-9000", "ꪼꪕ")), nil},
		{"start moved too far", srtOf(cue("1000-3000", "ꪀꪱꪉ"), cue("4001-6000", "ꪁꪾ"), cue("6100-9000", "ꪼꪕ")),
			[]brief{{Error, CodeTiming, 2, 5}}},
		{"end moved too far", srtOf(cue("1000-3000", "ꪀꪱꪉ"), cue("3500-6000", "ꪁꪾ"), cue("6100-8499", "ꪼꪕ")),
			[]brief{{Error, CodeTiming, 3, 9}}},
		// Counts that differ: the cues that line up with the source's
		// are paired by time; each one to add or remove is named.
		{"cues do not line up", srtOf(cue("1000-3000", "ꪀꪱꪉ"), cue("3500-9000", "ꪁꪾ")),
			[]brief{{Error, CodeCueCount, 0, 0}}},
		{"middle cue missing", srtOf(cue("1000-3000", "ꪀꪱꪉ"), cue("6100-9000", "ꪼꪕ")),
			[]brief{{Error, CodeCueCount, 0, 5}}},
		{"last cue missing", srtOf(cue("1000-3000", "ꪀꪱꪉ"), cue("3500-6000", "ꪁꪾ")),
			[]brief{{Error, CodeCueCount, 0, 0}}},
		{"two cues missing", srtOf(cue("3500-6000", "ꪁꪾ")),
			[]brief{{Error, CodeCueCount, 0, 1}, {Error, CodeCueCount, 0, 0}}},
		{"extra cue", srtOf(cue("1000-3000", "ꪀꪱꪉ"), cue("3100-3400", ""), cue("3500-6000", "ꪁꪾ"), cue("6100-9000", "ꪼꪕ")),
			[]brief{{Error, CodeCueCount, 2, 5}}},
		{"extra cues at both ends", srtOf(cue("0-900", "ꪀ"), cue("1000-3000", "ꪀꪱꪉ"), cue("3500-6000", "ꪁꪾ"), cue("6100-9000", "ꪼꪕ"), cue("9100-9900", "ꪼ")),
			[]brief{{Error, CodeCueCount, 1, 1}, {Error, CodeCueCount, 5, 17}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := CompareTiming(source, mustParse(t, tt.target), DefaultTolerance)
			var got []brief
			for _, f := range fs {
				got = append(got, brief{f.Severity, f.Code, f.Cue, f.Line})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n%v\nwant %v", fs, tt.want)
			}
		})
	}
}

// TestCompareTimingSaysWhatToAddOrRemove reads the count findings: a cue
// to remove is named with its times, a missing one with the source's
// times, its text and where it goes.
func TestCompareTimingSaysWhatToAddOrRemove(t *testing.T) {
	t.Parallel()
	source := mustParse(t, srtOf(cue("1000-3000", "Thủ tục"), cue("3500-6000", "hành chính"), cue("6100-9000", "một cửa")))
	extra := CompareTiming(source, mustParse(t, srtOf(cue("1000-3000", "ꪀꪱꪉ"), cue("3100-3400", ""), cue("3500-6000", "ꪁꪾ"), cue("6100-9000", "ꪼꪕ"))), DefaultTolerance)
	missing := CompareTiming(source, mustParse(t, srtOf(cue("1000-3000", "ꪀꪱꪉ"), cue("6100-9000", "ꪼꪕ"))), DefaultTolerance)
	for _, c := range []struct {
		fs    []Finding
		parts []string
	}{
		{extra, []string{"cue 2 (00:00:03,100 --> 00:00:03,400) has no text and is not in the source", "this file has 4 cues, the source 3", "remove this cue"}},
		{missing, []string{`source cue 2 (00:00:03,500 --> 00:00:06,000, "hành chính") has no cue here`, "this file has 2 cues, the source 3", "add one before cue 2"}},
	} {
		if len(c.fs) != 1 {
			t.Fatalf("findings %v, want one", c.fs)
		}
		for _, p := range c.parts {
			if !strings.Contains(c.fs[0].Message, p) {
				t.Errorf("%q lacks %q", c.fs[0].Message, p)
			}
		}
	}
}

func TestCompareText(t *testing.T) {
	t.Parallel()
	source := mustParse(t, srtOf(
		cue("1000-3000", "Thủ tục hành chính", "tại xã Mường Bám"),
		cue("3500-6000", "Chỉ số PAPI 2025"),
		cue("6100-9000", "Ngày 15/7"),
	))
	target := mustParse(t, srtOf(
		cue("1000-3000", "ꪀꪱꪉ ꪁꪾ", "tại xã Mường Bám."), // line 4: untranslated, 4 words
		cue("3500-6000", "chỉ số  PAPI-2025"),           // cue at line 6: whole cue equal
		cue("6100-9000", "15/7"),                        // numbers only: fine
		cue("9100-9900", "Mường Bám"),                   // line 16: a name, only a warning
	))
	// Add a source line that is only a name, so the last target cue matches.
	source.Cues[2].Lines = append(source.Cues[2].Lines, "Mường Bám")
	fs := CompareText(source, target)
	var got []brief
	for _, f := range fs {
		got = append(got, brief{f.Severity, f.Code, f.Cue, f.Line})
	}
	want := []brief{{Error, CodeUntranslated, 1, 4}, {Error, CodeUntranslated, 2, 6}, {Warning, CodeUntranslated, 4, 16}}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%v\nwant %v", fs, want)
	}
}
