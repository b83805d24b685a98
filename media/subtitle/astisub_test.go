package subtitle_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astisub"
	"github.com/sonla-cchc/loa/media/subtitle"
)

// TestWrittenFilesReadByAstisub: what Loa writes (the SRT and WebVTT files
// translators download and players load) is read by another, widely used
// parser, github.com/asticode/go-astisub, to the same cues: same count,
// times to the millisecond and text, in Vietnamese, Thái (Tai Viet script)
// and Mông, with characters WebVTT must escape. (In SRT "<" opens a tag
// for players; Loa's parser removes tags, so its cues hold none to write.)
func TestWrittenFilesReadByAstisub(t *testing.T) {
	files := map[string]*subtitle.File{
		"handmade": {Cues: []subtitle.Cue{
			{Start: 1500 * time.Millisecond, End: 3200 * time.Millisecond, Lines: []string{"Thủ tục hành chính", "nộp hồ sơ trực tuyến"}},
			{Start: 4 * time.Second, End: 6*time.Second + 7*time.Millisecond, Lines: []string{"ꪁꪮꪉ ꪻꪊ ꪕꪱꪉ ꪩꪲ"}},
			{Start: 62 * time.Minute, End: 62*time.Minute + 2*time.Second, Lines: []string{"Kev pab cuam & lub tsev 5 > 3"}},
		}},
	}
	for _, name := range []string{"hnj.srt", "vi_crlf.srt", "blt_bom.vtt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		f, err := subtitle.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		files[name] = f
	}
	for name, f := range files {
		for _, format := range []string{"srt", "vtt"} {
			t.Run(name+"."+format, func(t *testing.T) {
				var buf bytes.Buffer
				var got *astisub.Subtitles
				var err error
				if format == "srt" {
					if err := subtitle.WriteSRT(&buf, f); err != nil {
						t.Fatal(err)
					}
					got, err = astisub.ReadFromSRT(bytes.NewReader(buf.Bytes()))
				} else {
					if err := subtitle.WriteVTT(&buf, f); err != nil {
						t.Fatal(err)
					}
					got, err = astisub.ReadFromWebVTT(bytes.NewReader(buf.Bytes()))
				}
				if err != nil {
					t.Fatalf("astisub cannot read what Loa wrote: %v\n%s", err, buf.String())
				}
				if len(got.Items) != len(f.Cues) {
					t.Fatalf("astisub read %d cues, Loa wrote %d:\n%s", len(got.Items), len(f.Cues), buf.String())
				}
				for i, it := range got.Items {
					c := f.Cues[i]
					if it.StartAt != c.Start || it.EndAt != c.End {
						t.Errorf("cue %d: astisub read %s → %s, Loa wrote %s → %s", i+1, it.StartAt, it.EndAt, c.Start, c.End)
					}
					var lines []string
					for _, l := range it.Lines {
						var sb strings.Builder
						for _, li := range l.Items {
							sb.WriteString(li.Text)
						}
						lines = append(lines, unescapeVTT(format, sb.String()))
					}
					// astisub keeps the blank line that ends an SRT file's
					// last cue as a line of that cue.
					for len(lines) > 0 && lines[len(lines)-1] == "" && i == len(got.Items)-1 {
						lines = lines[:len(lines)-1]
					}
					if strings.Join(lines, "\n") != strings.Join(c.Lines, "\n") {
						t.Errorf("cue %d: astisub read %q, Loa wrote %q", i+1, lines, c.Lines)
					}
				}
			})
		}
	}
}

// unescapeVTT undoes WebVTT's character references, which astisub keeps
// as written.
func unescapeVTT(format, s string) string {
	if format != "vtt" {
		return s
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
