package subtitle

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format is a subtitle file format.
type Format int

// The formats Loa reads and writes.
const (
	SRT Format = iota + 1 // SubRip (.srt)
	VTT                   // WebVTT (.vtt)
)

// String returns the format's usual name, "SRT" or "WebVTT".
func (f Format) String() string {
	switch f {
	case SRT:
		return "SRT"
	case VTT:
		return "WebVTT"
	}
	return "subtitle"
}

// File is a parsed subtitle file: its cues in file order.
type File struct {
	Format Format // the format the file was parsed from; the writers ignore it
	Cues   []Cue
}

// Cue is one subtitle event.
type Cue struct {
	Index int // 1-based position of the cue in the file
	// ID is the cue's identifier as the file writes it: the SRT cue number
	// or the WebVTT cue identifier; empty when the cue has none. Messages
	// name the cue by it (see Name).
	ID    string
	Start time.Duration // when the cue appears
	End   time.Duration // when the cue disappears
	// Lines holds the cue's text lines as plain text in NFC: formatting tags
	// are removed and WebVTT character references decoded. No line is empty.
	Lines []string
	Line  int // source line number where the cue starts (0 if not parsed)

	lineNos []int // source line number of each entry in Lines, when parsed
}

// Name is how messages name the cue, as the reader finds it in the file:
// "cue 150" by its SRT number or WebVTT identifier (quoted when it is not
// a number: cue "intro"), or "the 2nd cue" by its position when it has
// none.
func (c Cue) Name() string { return cueName(c.ID, c.Index, "") }

// nameIn is Name for a cue of another file, whose: "source cue 150" or
// "the source's 2nd cue".
func (c Cue) nameIn(whose string) string { return cueName(c.ID, c.Index, whose) }

func cueName(id string, index int, whose string) string {
	if id != "" {
		if !isDigits(id) {
			id = strconv.Quote(truncate(id))
		}
		if whose != "" {
			return whose + " cue " + id
		}
		return "cue " + id
	}
	if whose != "" {
		return "the " + whose + "'s " + Ordinal(index) + " cue"
	}
	return "the " + Ordinal(index) + " cue"
}

// Ordinal writes n as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 22nd.
func Ordinal(n int) string {
	suffix := "th"
	switch n % 100 {
	case 11, 12, 13:
	default:
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// Duration is how long the cue is shown.
func (c Cue) Duration() time.Duration { return c.End - c.Start }

// Text returns the cue's lines joined with newlines.
func (c Cue) Text() string { return strings.Join(c.Lines, "\n") }

// textLine returns the source line number of the cue's j-th text line, or the
// cue's own line number when it is not known.
func (c Cue) textLine(j int) int {
	if j < len(c.lineNos) {
		return c.lineNos[j]
	}
	return c.Line
}

// ParseError is a refusal of a subtitle file. Its message says what is wrong
// and what to do, and names the source line when there is one.
type ParseError struct {
	Format Format // the format being read; 0 when not yet known
	Line   int    // 1-based source line; 0 when the problem is the whole file
	Msg    string // plain-language description and remedy
	Err    error  // an underlying sentinel such as ErrNotUTF8, or nil
}

// Error returns "SRT line 12: ..." style text.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format.String())
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	} else {
		b.WriteString(" file")
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying sentinel error, if any.
func (e *ParseError) Unwrap() error { return e.Err }

// FormatTimestamp formats d as an SRT-style timestamp, 00:01:02,500. It is
// what messages use to show times.
func FormatTimestamp(d time.Duration) string { return formatTimestamp(d, ',') }

func formatTimestamp(d time.Duration, sep byte) string {
	sign := ""
	if d < 0 {
		sign = "-"
		d = -d
	}
	ms := d.Milliseconds()
	return fmt.Sprintf("%s%02d:%02d:%02d%c%03d", sign,
		ms/3_600_000, ms/60_000%60, ms/1000%60, sep, ms%1000)
}
