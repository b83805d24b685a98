package subtitle

import (
	"strings"
	"testing"
	"time"
)

// TestCheckMediaEnd holds cues to the media's length: a cue that starts
// at or after the end is never shown (error), one that ends more than the
// tolerance past it is an error, and one within the tolerance a warning,
// as CompareTiming treats a nudged cue. Each finding names the cue's line,
// its time and the media's end.
func TestCheckMediaEnd(t *testing.T) {
	t.Parallel()
	const media = 10 * time.Second
	tests := []struct {
		name       string
		start, end string
		want       Severity // 0: no finding
		parts      []string
	}{
		{"inside", "00:00:01,000", "00:00:03,000", 0, nil},
		{"ends at the end", "00:00:08,000", "00:00:10,000", 0, nil},
		{"ends just after", "00:00:09,000", "00:00:10,300", Warning, []string{"cue 1 ends at 00:00:10,300", "300 ms after the media ends at 00:00:10,000"}},
		{"ends at the tolerance", "00:00:09,000", "00:00:10,500", Warning, []string{"500 ms after"}},
		{"ends past the tolerance", "00:00:09,000", "00:00:10,501", Error, []string{"cue 1 runs 00:00:09,000 --> 00:00:10,501", "501 ms past the end of the media at 00:00:10,000", "REMEDY"}},
		{"ends far past", "00:00:09,000", "00:01:09,000", Error, []string{"59000 ms past"}},
		{"starts at the end", "00:00:10,000", "00:00:10,400", Error, []string{"cue 1 starts at 00:00:10,000, after the media ends at 00:00:10,000", "never be shown", "REMEDY"}},
		{"starts after", "00:00:12,000", "00:00:14,000", Error, []string{"starts at 00:00:12,000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse([]byte("1\n00:00:00,500 --> 00:00:00,900\nXin chào.\n\n2\n" + tt.start + " --> " + tt.end + "\nHết.\n"))
			if err != nil {
				t.Fatal(err)
			}
			fs := CheckMediaEnd(f, media, DefaultTolerance, "REMEDY")
			if tt.want == 0 {
				if len(fs) != 0 {
					t.Fatalf("findings %v, want none", fs)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("findings %v, want one", fs)
			}
			fd := fs[0]
			if fd.Severity != tt.want || fd.Code != CodePastEnd || fd.Cue != 2 || fd.Line != 5 {
				t.Errorf("finding %+v, want a %v %s on cue 2, line 5", fd, tt.want, CodePastEnd)
			}
			msg := strings.ReplaceAll(fd.Message, "cue 2", "cue 1")
			for _, p := range tt.parts {
				if !strings.Contains(msg, p) {
					t.Errorf("message %q lacks %q", fd.Message, p)
				}
			}
		})
	}
	t.Run("media length unknown", func(t *testing.T) {
		f := &File{Cues: []Cue{{Index: 1, Start: time.Hour, End: 2 * time.Hour, Lines: []string{"x"}}}}
		if fs := CheckMediaEnd(f, 0, DefaultTolerance, "x"); fs != nil {
			t.Errorf("checked against an unknown length: %v", fs)
		}
	})
}
