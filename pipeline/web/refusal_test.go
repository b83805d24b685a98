package web

import (
	"reflect"
	"testing"

	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/jobs"
)

// TestParseRefusal reads back the findings jobs.RefusalError writes, so
// a change of that text format breaks here and not on a translator's
// screen.
func TestParseRefusal(t *testing.T) {
	want := []subtitle.Finding{
		{Severity: subtitle.Error, Code: "line-too-long", Cue: 2, Line: 8, Message: "line 1 of cue 2 has 53 characters; the limit is 42"},
		{Severity: subtitle.Error, Code: "duration", Message: "the recording lasts 1m0s but the segment lasts 7.4s"},
		{Severity: subtitle.Warning, Code: "glossary", Cue: 3, Line: 12, Message: `the source says "một cửa": use it`},
	}
	err := jobs.RefusalError("subtitle file", want)
	got := parseRefusal(pipeline.ErrorMessage(err))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %+v\nwant %+v\nfrom %s", got, want, pipeline.ErrorMessage(err))
	}
	if got := parseRefusal("The subtitle file cannot be read: SRT line 4: no time line."); got != nil {
		t.Fatalf("a parse refusal read as findings: %+v", got)
	}
}
