package subtitle

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestFindingJSON: findings travel (API bodies, stored submissions) with
// the severity as a word; stored findings written before the merge of the
// two Finding types read back the same; an unknown severity is refused.
func TestFindingJSON(t *testing.T) {
	t.Parallel()
	f := Finding{Severity: Error, Code: CodeLineTooLong, Cue: 2, Line: 8, Message: "line 1 of cue 2 has 53 characters; the limit is 42"}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"severity":"error","code":"line-too-long","cue":2,"line":8,"message":"line 1 of cue 2 has 53 characters; the limit is 42"}`
	if string(b) != want {
		t.Errorf("JSON %s\nwant %s", b, want)
	}
	tests := []struct {
		in      string
		want    Finding
		wantErr string
	}{
		{want, f, ""},
		{`{"severity":"warning","code":"glossary","message":"m"}`, Finding{Severity: Warning, Code: "glossary", Message: "m"}, ""},
		{`{"severity":"fatal","code":"x","message":"m"}`, Finding{}, "want \"warning\" or \"error\""},
	}
	for _, tt := range tests {
		var got Finding
		err := json.Unmarshal([]byte(tt.in), &got)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if _, err := json.Marshal(Finding{Code: "x"}); err == nil {
		t.Error("a finding without a severity was written")
	}
}
