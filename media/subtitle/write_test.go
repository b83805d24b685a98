package subtitle

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sameCues reports whether a and b have the same timings and text.
func sameCues(a, b *File) bool {
	return slices.EqualFunc(a.Cues, b.Cues, func(x, y Cue) bool {
		return x.Start == y.Start && x.End == y.End && slices.Equal(x.Lines, y.Lines)
	})
}

// roundTrip writes f with each writer, parses the output and fails the test
// unless the cues come back unchanged.
func roundTrip(t *testing.T, f *File) {
	t.Helper()
	for _, w := range []struct {
		format Format
		write  func(io.Writer, *File) error
	}{{SRT, WriteSRT}, {VTT, WriteVTT}} {
		var buf bytes.Buffer
		if err := w.write(&buf, f); err != nil {
			t.Fatalf("write %v: %v", w.format, err)
		}
		g, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("re-parse %v output: %v\n%s", w.format, err, buf.String())
		}
		if g.Format != w.format {
			t.Errorf("re-parsed %v output as %v", w.format, g.Format)
		}
		if !sameCues(f, g) {
			t.Errorf("%v round trip changed the cues:\nbefore %+v\nafter  %+v\n%s", w.format, f.Cues, g.Cues, buf.String())
		}
	}
}

func TestRoundTripTestdata(t *testing.T) {
	t.Parallel()
	names, err := filepath.Glob("testdata/*.*")
	if err != nil || len(names) == 0 {
		t.Fatalf("no testdata files: %v", err)
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, mustParse(t, string(data)))
		})
	}
}

func TestRoundTripAwkwardText(t *testing.T) {
	t.Parallel()
	f := &File{Cues: []Cue{
		{Start: 0, End: ms(900), Lines: []string{"a < b & c > d", "&amp; <i>not a tag in the text</i>"}},
		{Start: ms(1000), End: ms(2000), Lines: []string{"42"}},
		{Start: ms(2100), End: ms(3000), Lines: []string{"WEBVTT", "NOTE this is text"}},
		{Start: ms(3100), End: 100*3_600_000*ms(1) + ms(1), Lines: nil},
	}}
	// Readers drop text that SRT would take for a tag, so the <i> pair goes.
	var buf bytes.Buffer
	if err := WriteVTT(&buf, f); err != nil {
		t.Fatal(err)
	}
	g, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	f.Cues[0].Lines[1] = "&amp; not a tag in the text"
	if !sameCues(f, g) {
		t.Fatalf("WebVTT round trip changed cues: %+v", g.Cues)
	}
	roundTrip(t, g)
}

func TestWriteOutput(t *testing.T) {
	t.Parallel()
	f := &File{Cues: []Cue{{Start: ms(1500), End: 3_723_004 * ms(1), Lines: []string{"ꪀꪱꪉ ꪁꪾ", "Tai & Dam"}}}}
	var srt, vtt bytes.Buffer
	if err := WriteSRT(&srt, f); err != nil {
		t.Fatal(err)
	}
	if err := WriteVTT(&vtt, f); err != nil {
		t.Fatal(err)
	}
	if want := "1\n00:00:01,500 --> 01:02:03,004\nꪀꪱꪉ ꪁꪾ\nTai & Dam\n\n"; srt.String() != want {
		t.Errorf("SRT =\n%q\nwant\n%q", srt.String(), want)
	}
	if want := "WEBVTT\n\n00:00:01.500 --> 01:02:03.004\nꪀꪱꪉ ꪁꪾ\nTai &amp; Dam\n\n"; vtt.String() != want {
		t.Errorf("WebVTT =\n%q\nwant\n%q", vtt.String(), want)
	}
}

func TestWriteRefusesUnwritableCues(t *testing.T) {
	t.Parallel()
	for _, c := range []Cue{
		{Start: -ms(1), End: ms(1)},
		{End: ms(1), Lines: []string{"two\nlines"}},
		{End: ms(1), Lines: []string{"a --> b"}},
		{End: 1000 * 3_600_000 * ms(1)},
	} {
		err := WriteSRT(io.Discard, &File{Cues: []Cue{c}})
		if err == nil || !strings.HasPrefix(err.Error(), "write SRT: cue 1:") {
			t.Errorf("WriteSRT(%+v) err = %v, want a cue 1 error", c, err)
		}
	}
}
