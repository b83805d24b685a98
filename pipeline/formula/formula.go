// Package formula keeps exported text from running as a spreadsheet
// formula (CSV/formula injection): every cell of every CSV and XLSX export
// goes through [Safe], by way of [Writer] for CSV and [Row] for XLSX.
package formula

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// triggers are the first characters that make Excel, LibreOffice or
// Google Sheets read a cell as a formula (OWASP's list).
const triggers = "=+-@\t\r"

// Safe returns s so that no spreadsheet runs it: text starting with a
// formula trigger gets a leading apostrophe, which spreadsheets show as
// text. Numbers ("-3.5", "+1") are left as they are.
func Safe(s string) string {
	if s == "" || !strings.ContainsRune(triggers, rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}

// Unsafe undoes [Safe] for a cell read back from an export (an apostrophe
// followed by a formula trigger), so an export imports unchanged.
func Unsafe(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.ContainsRune(triggers, rune(s[1])) {
		if _, err := strconv.ParseFloat(s[1:], 64); err != nil {
			return s[1:]
		}
	}
	return s
}

// Writer is a csv.Writer that passes every field through [Safe].
type Writer struct {
	cw  *csv.Writer
	rec []string
}

// NewWriter returns a formula-safe CSV writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{cw: csv.NewWriter(w)} }

// Write writes one record, each field made safe.
func (w *Writer) Write(record []string) error {
	w.rec = w.rec[:0]
	for _, f := range record {
		w.rec = append(w.rec, Safe(f))
	}
	return w.cw.Write(w.rec)
}

// Flush writes buffered data; Error reports any error of a Write or Flush.
func (w *Writer) Flush() { w.cw.Flush() }

// Error reports any error from a previous Write or Flush.
func (w *Writer) Error() error { return w.cw.Error() }

// Row returns an XLSX row with every string cell made safe; numbers,
// times and other values are left as they are.
func Row(row []any) []any {
	out := make([]any, len(row))
	for i, v := range row {
		if s, ok := v.(string); ok {
			v = Safe(s)
		}
		out[i] = v
	}
	return out
}
