package translation

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
)

// TestGlossaryExportFormulaSafe: a glossary term or note that is a
// formula (the export lands on translators' disks and opens in a
// spreadsheet) is written with a leading apostrophe in every column, and
// the export still imports back unchanged.
func TestGlossaryExportFormulaSafe(t *testing.T) {
	t.Parallel()
	terms := []Term{
		{Language: "blt", Term: `=HYPERLINK("http://evil.example","một cửa")`, Translation: "@ꪀꪱꪉ", Note: "+cmd|' /C calc'!A0"},
		{Language: "blt", Term: "cải cách hành chính", Translation: "ꪼꪕ ꪼꪕ꫁", Note: "-3"},
	}
	var b bytes.Buffer
	if err := WriteGlossaryCSV(&b, terms); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range recs[1] {
		if !strings.HasPrefix(f, "'") {
			t.Errorf("cell %q of the exported glossary would run as a formula", f)
		}
	}
	if recs[2][2] != "-3" {
		t.Errorf("a number note became %q", recs[2][2])
	}
	again, err := ParseGlossaryCSV(b.Bytes(), "blt")
	if err != nil || !slices.Equal(again, terms) {
		t.Fatalf("import of the export: %+v %v", again, err)
	}
}
