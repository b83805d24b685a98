package subtitle

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// mustParse parses s and fails the test on error.
func mustParse(t *testing.T, s string) *File {
	t.Helper()
	f, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

// wantCue is what a test expects of one cue.
type wantCue struct {
	start, end time.Duration
	lines      []string
	line       int
}

func checkCues(t *testing.T, f *File, want []wantCue) {
	t.Helper()
	if len(f.Cues) != len(want) {
		t.Fatalf("got %d cues, want %d: %+v", len(f.Cues), len(want), f.Cues)
	}
	for i, w := range want {
		c := f.Cues[i]
		if c.Index != i+1 || c.Start != w.start || c.End != w.end || !slices.Equal(c.Lines, w.lines) || c.Line != w.line {
			t.Errorf("cue %d = {index %d, %v --> %v, %q, line %d}, want {index %d, %v --> %v, %q, line %d}",
				i+1, c.Index, c.Start, c.End, c.Lines, c.Line, i+1, w.start, w.end, w.lines, w.line)
		}
	}
}

func TestParseGood(t *testing.T) {
	t.Parallel()
	readFile := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name   string
		in     string
		format Format
		want   []wantCue
	}{
		{
			name: "SRT with CRLF and italics", in: readFile("vi_crlf.srt"), format: SRT,
			want: []wantCue{
				{ms(1000), ms(3500), []string{"Thủ tục hành chính", "được giải quyết tại xã"}, 1},
				{ms(4000), ms(6000), []string{"Người dân nộp hồ sơ trực tuyến"}, 6},
			},
		},
		{
			name: "WebVTT with BOM, NOTE, identifier, settings, voice tag, Tai Viet", in: readFile("blt_bom.vtt"), format: VTT,
			want: []wantCue{
				{ms(1000), ms(3500), []string{"ꪀꪱꪉ ꪁꪾ", "ꪼꪕ ꪼꪕ꫁"}, 5},
				{ms(4000), ms(6000), []string{"Tai Dam & ꪹꪕꪉ"}, 10},
			},
		},
		{
			name: "SRT without numbers or blank lines, dot separator, no hours", format: SRT,
			in: "00:01.000 --> 00:02.000\none\n2\n00:00:03,000 --> 00:00:04,000\ntwo\n",
			want: []wantCue{
				{ms(1000), ms(2000), []string{"one"}, 1},
				{ms(3000), ms(4000), []string{"two"}, 3},
			},
		},
		{
			name: "NFD input is stored NFC", format: SRT,
			in:   "1\n00:00:01,000 --> 00:00:02,000\n" + norm.NFD.String("Việt Nam") + "\n",
			want: []wantCue{{ms(1000), ms(2000), []string{"Việt Nam"}, 1}},
		},
		{
			name: "empty cue kept for Check to report", format: SRT,
			in: "1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\n<i></i>\nx\n",
			want: []wantCue{
				{ms(1000), ms(2000), nil, 1},
				{ms(3000), ms(4000), []string{"x"}, 4},
			},
		},
		{
			name: "digits as text", format: SRT,
			in: "1\n00:00:01,000 --> 00:00:02,000\n2025\n1022\n\n2\n00:00:03,000 --> 00:00:04,000\nx\n",
			want: []wantCue{
				{ms(1000), ms(2000), []string{"2025", "1022"}, 1},
				{ms(3000), ms(4000), []string{"x"}, 6},
			},
		},
		{
			name: "WebVTT escapes stay text unless SRT would read a tag", format: VTT,
			in:   "WEBVTT\n\n00:01.000 --> 00:02.000\n&lt;i&gt; a &amp;amp; b <b>c</b> &lt;v x&gt; &amp;lt;\n",
			want: []wantCue{{ms(1000), ms(2000), []string{"a &amp; b c <v x> &lt;"}, 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := mustParse(t, tt.in)
			if f.Format != tt.format {
				t.Errorf("format = %v, want %v", f.Format, tt.format)
			}
			checkCues(t, f, tt.want)
		})
	}
}

func TestParseBad(t *testing.T) {
	t.Parallel()
	cp1258, err := charmap.Windows1258.NewEncoder().String("1\n00:00:01,000 --> 00:00:02,000\nXin cha\u0300o ca\u0301c ba\u0323n\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		in       string
		line     int
		contains string
		notUTF8  bool
	}{
		{"empty", "", 0, "empty", false},
		{"only BOM and blanks", "\uFEFF\r\n\r\n", 0, "empty", false},
		{"too big", strings.Repeat("a", MaxBytes+1), 0, "more than", false},
		{"TCVN3", "1\n00:00:01,000 --> 00:00:02,000\nB\xb6o Th\xbeng, M\xad\xeang Kh\xad\xacng\n", 3, "TCVN3", true},
		{"VNI", "1\n00:00:01,000 --> 00:00:02,000\n\nXin cha\xf8o ca\xf9c ba\xefn\n", 4, "VNI", true},
		{"Windows-1258", cp1258, 3, "Windows-1258", true},
		{"UTF-16", "\xff\xfe1\x00\n\x00", 1, "UTF-16", true},
		{"broken start time", "1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n00:0x:03,000 --> 00:00:04,000\nb\n", 6, "is not a valid time", false},
		{"two-digit milliseconds", "1\n00:00:01,00 --> 00:00:02,000\na\n", 2, "not a valid time", false},
		{"minutes over 59", "1\n00:61:01,000 --> 00:62:02,000\na\n", 2, "not a valid time", false},
		{"no end time", "1\n00:00:01,000 -->\na\n", 2, "no end time", false},
		{"number without timing", "1\nhello\n", 2, "must be followed by a timing line", false},
		{"text outside a cue", "1\n00:00:01,000 --> 00:00:02,000\na\n\nstray text\n", 5, "blank line inside a cue", false},
		{"arrow in text", "1\n00:00:01,000 --> 00:00:02,000\na -<i>-></i> b\n", 3, "contains \"-->\"", false},
		{"no cues in WebVTT", "WEBVTT\n\nNOTE nothing here\n", 0, "no cues", false},
		{"WebVTT cue in header", "WEBVTT\n00:01.000 --> 00:02.000\nx\n", 2, "blank line must follow", false},
		{"WebVTT stray text", "WEBVTT\n\n00:01.000 --> 00:02.000\nx\n\ny\n", 6, "expected a timing line", false},
		{"tags nested too deep", "1\n00:00:01,000 --> 00:00:02,000\n" + strings.Repeat("<", 9) + "i>" + strings.Repeat("i>", 9) + "\n", 3, "nested", false},
		{"tags nested too deep, hostile size", "1\n00:00:01,000 --> 00:00:02,000\n" + strings.Repeat("<", 100_000) + "i>" + strings.Repeat("i>", 100_000) + "\n", 3, "nested", false},
		{"hours too large", "1\n1000:00:01,000 --> 1000:00:02,000\na\n", 2, "not a valid time", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("error %v is %T, want *ParseError", err, err)
			}
			if perr.Line != tt.line {
				t.Errorf("error line = %d, want %d (%v)", perr.Line, tt.line, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			if got := errors.Is(err, ErrNotUTF8); got != tt.notUTF8 {
				t.Errorf("errors.Is(err, ErrNotUTF8) = %v, want %v", got, tt.notUTF8)
			}
			if tt.notUTF8 && !strings.Contains(err.Error(), "save it as UTF-8") {
				t.Errorf("error %q does not say what to do", err)
			}
		})
	}
}

func TestParseTooManyCues(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range MaxCues + 1 {
		b.WriteString(formatTimestamp(ms(i*100), ',') + " --> " + formatTimestamp(ms(i*100+50), ',') + "\nx\n\n")
	}
	_, err := Parse([]byte(b.String()))
	var perr *ParseError
	if !errors.As(err, &perr) || !strings.Contains(perr.Msg, "more than 5000 cues") || perr.Line != 3*MaxCues+1 {
		t.Fatalf("err = %v, want too many cues at line %d", err, 3*MaxCues+1)
	}
}

func TestParseFormatSpecific(t *testing.T) {
	t.Parallel()
	if _, err := ParseVTT([]byte("1\n00:00:01,000 --> 00:00:02,000\na\n")); err == nil || !strings.HasPrefix(err.Error(), "WebVTT line 1:") {
		t.Errorf("ParseVTT of SRT: err = %v, want a WebVTT line 1 error", err)
	}
	f, err := ParseSRT([]byte("1\n00:00:01,000 --> 00:00:02,000\n<b>a</b>\n"))
	if err != nil || f.Format != SRT || f.Cues[0].Lines[0] != "a" {
		t.Errorf("ParseSRT = %+v, %v", f, err)
	}
	if _, err := ParseSRT([]byte("B\xb6o")); err == nil || !strings.HasPrefix(err.Error(), "SRT line 1:") {
		t.Errorf("ParseSRT of TCVN3: err = %v, want an SRT line 1 error", err)
	}
}

func TestParseNestedTagsWithinLimit(t *testing.T) {
	t.Parallel()
	in := "1\n00:00:01,000 --> 00:00:02,000\n" + strings.Repeat("<", 8) + strings.Repeat("i>", 8) + "x\n"
	f := mustParse(t, in)
	if got := f.Cues[0].Lines; !slices.Equal(got, []string{"x"}) {
		t.Errorf("lines = %q, want [\"x\"]", got)
	}
}
