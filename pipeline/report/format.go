package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// Format is an output format of a report.
type Format string

// The formats.
const (
	XLSX Format = "xlsx"
	CSV  Format = "csv"
	HTML Format = "html"
	JSON Format = "json"
)

// Formats lists every format, in the order they are offered.
var Formats = []Format{XLSX, CSV, HTML, JSON}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Formats {
		if f == k {
			return f, nil
		}
	}
	return "", pipeline.FieldError("format", "Unknown report format %q: choose xlsx, csv, html or json.", clip(s))
}

// ContentType is the media type of the format.
func (f Format) ContentType() string {
	switch f {
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case CSV:
		return "text/csv; charset=utf-8"
	case HTML:
		return "text/html; charset=utf-8"
	default:
		return "application/json"
	}
}

// FileName is the name a report of the period has in this format, such
// as bao-cao-cchc-2025-Q1.xlsx (or bao-cao-cchc-2025-Q1-muong-lan.xlsx for
// one commune). It is built from the period's canonical name and the
// commune code only, so it is safe as a file name and an object key part.
func (r *Report) FileName(f Format) string {
	name := "bao-cao-cchc-" + strings.ReplaceAll(r.Period.Name, "..", "_")
	if r.Commune != "" {
		name += "-" + safePart(r.Commune)
	}
	return name + "." + string(f)
}

func safePart(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Render writes the report in the format.
func Render(w io.Writer, r *Report, f Format) error {
	switch f {
	case XLSX:
		return r.WriteXLSX(w)
	case CSV:
		return r.WriteCSV(w)
	case HTML:
		return r.WriteHTML(w)
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return fmt.Errorf("render report: unknown format %q", f)
}

// Minutes turns milliseconds into minutes rounded to a tenth.
func Minutes(ms int64) float64 { return float64((ms+3000)/6000) / 10 }

// Hours turns milliseconds into hours rounded to a tenth.
func Hours(ms int64) float64 { return float64((ms+180000)/360000) / 10 }

// Percent is part of whole in percent, rounded to a tenth; 0 when whole is 0.
func Percent(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64((part*1000+whole/2)/whole) / 10
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Location()).Format("2006-01-02 15:04")
}

func delayMinutes(from, to time.Time) string {
	if to.IsZero() {
		return ""
	}
	return fmt.Sprintf("%.1f", to.Sub(from).Minutes())
}

func yesNo(b bool) string {
	if b {
		return "đạt"
	}
	return "chưa đạt"
}
