package subtitle

import (
	"strings"
	"testing"
)

// TestMessagesNameCuesAsTheFileDoes: a file whose cues are numbered 150–152
// (SRT) or carry WebVTT identifiers gets messages naming the cue by that
// number or identifier, not by its position; a WebVTT cue without an
// identifier is named by its position, said as such.
func TestMessagesNameCuesAsTheFileDoes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string // in the first finding's String
	}{
		{"srt numbered from 150", "150\n00:00:01,000 --> 00:00:03,000\nMột.\n\n151\n00:00:05,000 --> 00:00:04,000\nHai.\n\n152\n00:00:06,000 --> 00:00:08,000\nBa.\n",
			[]string{"line 5, cue 151: error bad-timing: cue 151 ends at 00:00:04,000"}},
		{"srt overlap names both numbers", "150\n00:00:01,000 --> 00:00:03,000\nMột.\n\n151\n00:00:02,000 --> 00:00:04,000\nHai.\n",
			[]string{"line 5, cue 151: error overlap: cue 151 starts at 00:00:02,000, before cue 150 (line 1) ends at 00:00:03,000"}},
		{"vtt identifiers", "WEBVTT\n\nmo-dau\n00:00:01.000 --> 00:00:03.000\nMột.\n\n7\n00:00:02.000 --> 00:00:04.000\nHai.\n",
			[]string{"line 7, cue 7: error overlap: cue 7 starts at 00:00:02,000, before cue \"mo-dau\" (line 3) ends"}},
		{"vtt without identifiers", "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nMột.\n\n00:00:05.000 --> 00:00:05.000\nHai.\n",
			[]string{"line 6, the 2nd cue: error bad-timing: the 2nd cue ends at 00:00:05,000"}},
		{"srt without numbers", "00:00:01,000 --> 00:00:03,000\nMột.\n\n00:00:02,000 --> 00:00:04,000\nHai.\n",
			[]string{"line 4, the 2nd cue: error overlap: the 2nd cue starts at 00:00:02,000, before the 1st cue (line 1) ends"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			fs := CheckSource(f)
			if len(fs) == 0 {
				t.Fatal("no findings")
			}
			got := fs[0].String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("finding %q lacks %q", got, w)
				}
			}
			if fs[0].Cue != 2 {
				t.Errorf("finding's Cue = %d, want position 2", fs[0].Cue)
			}
		})
	}
}

// TestCompareNamesSourceCues: a translation numbered 1–3 against a source
// numbered 150–152 names each cue in its own file's terms.
func TestCompareNamesSourceCues(t *testing.T) {
	t.Parallel()
	src, err := Parse([]byte("150\n00:00:01,000 --> 00:00:03,000\nMột.\n\n151\n00:00:04,000 --> 00:00:06,000\nHai.\n\n152\n00:00:07,000 --> 00:00:09,000\nBa.\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Parse([]byte("1\n00:00:01,000 --> 00:00:03,000\nNưng.\n\n2\n00:00:04,000 --> 00:00:08,000\nSong.\n\n3\n00:00:07,000 --> 00:00:09,000\nSam.\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs := CompareTiming(src, tr, DefaultTolerance)
	if len(fs) != 1 {
		t.Fatalf("findings %v, want one", fs)
	}
	if want := "cue 2 runs 00:00:04,000 --> 00:00:08,000 but source cue 151 runs"; !strings.Contains(fs[0].Message, want) {
		t.Errorf("message %q lacks %q", fs[0].Message, want)
	}
	short, err := Parse([]byte("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nNưng.\n\n00:00:07.000 --> 00:00:09.000\nSam.\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs = CompareTiming(src, short, DefaultTolerance)
	if len(fs) != 1 || !strings.Contains(fs[0].Message, `source cue 151 (00:00:04,000 --> 00:00:06,000, "Hai.") has no cue here`) ||
		!strings.Contains(fs[0].Message, "add one before the 2nd cue (line 6)") {
		t.Errorf("findings %v, want source cue 151 to add before the 2nd cue (line 6)", fs)
	}
}

func TestOrdinal(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 22: "22nd", 101: "101st", 111: "111th", 112: "112th"} {
		if got := Ordinal(n); got != want {
			t.Errorf("Ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}
