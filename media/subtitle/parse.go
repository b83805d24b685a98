package subtitle

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Limits on what Parse accepts. A subtitle for a broadcast segment is a few
// kilobytes; anything near these limits is the wrong file or an attack.
const (
	MaxBytes = 2 << 20 // largest file accepted, 2 MiB
	MaxCues  = 5000    // most cues accepted in one file
)

// maxHours bounds timestamps so durations cannot overflow.
const maxHours = 999

// Parse reads an SRT or WebVTT file, telling them apart by the WEBVTT
// signature on the first line. See ParseSRT and ParseVTT.
func Parse(data []byte) (*File, error) {
	lines, err := prepare(data)
	if err != nil {
		return nil, err
	}
	if isVTT(lines) {
		return parseVTT(lines)
	}
	return parseSRT(lines)
}

// ParseSRT reads an SRT file. It accepts a UTF-8 BOM, CRLF line ends, a
// missing blank line between cues, '.' instead of ',' in timestamps and
// hours left out (01:02,500). It refuses non-UTF-8 text, empty or oversized
// files, broken timestamps and text outside cues with a *ParseError naming
// the source line. A cue's number, when given, is kept in Cue.ID.
func ParseSRT(data []byte) (*File, error) {
	lines, err := prepare(data)
	if err != nil {
		err.Format = SRT
		return nil, err
	}
	return parseSRT(lines)
}

// ParseVTT reads a WebVTT file. Header, NOTE, STYLE and REGION blocks and
// cue settings are read and dropped; a cue identifier is kept in Cue.ID. Errors are as for
// ParseSRT.
func ParseVTT(data []byte) (*File, error) {
	lines, err := prepare(data)
	if err != nil {
		err.Format = VTT
		return nil, err
	}
	return parseVTT(lines)
}

// prepare checks size and encoding, strips a BOM and splits data into lines
// with their line ends removed.
func prepare(data []byte) ([]string, *ParseError) {
	if len(data) > MaxBytes {
		return nil, &ParseError{Msg: fmt.Sprintf(
			"the file is %d bytes, more than the %d bytes a subtitle file may have; check that you chose the subtitle file and not the media",
			len(data), MaxBytes)}
	}
	if perr := checkEncoding(data); perr != nil {
		return nil, perr
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ParseError{Msg: "the file is empty; upload a subtitle file with at least one cue"}
	}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n"), nil
}

func isVTT(lines []string) bool {
	for _, l := range lines {
		if isBlank(l) {
			continue
		}
		return isVTTSignature(l)
	}
	return false
}

func isVTTSignature(l string) bool {
	rest, ok := strings.CutPrefix(strings.TrimSpace(l), "WEBVTT")
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}

func isBlank(l string) bool { return strings.TrimSpace(l) == "" }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parser holds what both formats share: the lines, the cues so far and how
// text is cleaned.
type parser struct {
	format Format
	lines  []string
	cues   []Cue
	clean  func(string) (string, bool)
}

func (p *parser) errorf(i int, format string, args ...any) *ParseError {
	return &ParseError{Format: p.format, Line: i + 1, Msg: fmt.Sprintf(format, args...)}
}

// startCue parses the timing line at index i and appends a new cue that
// starts at source line index first, with identifier id ("" for none).
func (p *parser) startCue(first, i int, id string) error {
	if len(p.cues) >= MaxCues {
		return p.errorf(i, "the file has more than %d cues; split it or check it is a subtitle file", MaxCues)
	}
	start, end, err := p.parseTiming(i)
	if err != nil {
		return err
	}
	p.cues = append(p.cues, Cue{Index: len(p.cues) + 1, ID: id, Start: start, End: end, Line: first + 1})
	return nil
}

// addText cleans the raw text line at index i and adds it to the last cue.
func (p *parser) addText(i int) error {
	t, ok := p.clean(p.lines[i])
	if !ok {
		return p.errorf(i, "the text has formatting tags nested more than %d deep; remove the formatting", maxTagPasses)
	}
	if t == "" {
		return nil
	}
	if strings.Contains(t, "-->") {
		return p.errorf(i, "the text %q contains \"-->\", which only timing lines may have; remove it", t)
	}
	c := &p.cues[len(p.cues)-1]
	c.Lines = append(c.Lines, t)
	c.lineNos = append(c.lineNos, i+1)
	return nil
}

// readText adds text lines from index i until a blank line, a timing line,
// or (SRT only) a cue number followed by a timing line. It returns the index
// of the first line it did not take.
func (p *parser) readText(i int) (int, error) {
	for ; i < len(p.lines); i++ {
		l := p.lines[i]
		if isBlank(l) || strings.Contains(l, "-->") {
			return i, nil
		}
		if p.format == SRT && isDigits(strings.TrimSpace(l)) && i+1 < len(p.lines) && strings.Contains(p.lines[i+1], "-->") {
			return i, nil
		}
		if err := p.addText(i); err != nil {
			return i, err
		}
	}
	return i, nil
}

func (p *parser) file() (*File, error) {
	if len(p.cues) == 0 {
		return nil, &ParseError{Format: p.format, Msg: "the file has no cues; upload a subtitle file with timed text"}
	}
	return &File{Format: p.format, Cues: p.cues}, nil
}

func parseSRT(lines []string) (*File, error) {
	p := &parser{format: SRT, lines: lines, clean: cleanSRT}
	i := 0
	for i < len(lines) {
		if isBlank(lines[i]) {
			i++
			continue
		}
		first := i
		l := strings.TrimSpace(lines[i])
		id := ""
		if isDigits(l) {
			id = l
			if i+1 >= len(lines) || !strings.Contains(lines[i+1], "-->") {
				return nil, p.errorf(i+1, "cue number %s must be followed by a timing line like 00:00:01,000 --> 00:00:03,500", l)
			}
			i++
		} else if !strings.Contains(l, "-->") {
			return nil, p.errorf(i, "expected a cue number or a timing line like 00:00:01,000 --> 00:00:03,500 but found %q; "+
				"a blank line inside a cue ends it, so remove blank lines inside cue text", truncate(l))
		}
		if err := p.startCue(first, i, id); err != nil {
			return nil, err
		}
		var err error
		if i, err = p.readText(i + 1); err != nil {
			return nil, err
		}
	}
	return p.file()
}

func parseVTT(lines []string) (*File, error) {
	p := &parser{format: VTT, lines: lines, clean: cleanVTT}
	i := 0
	for i < len(lines) && isBlank(lines[i]) {
		i++
	}
	if i == len(lines) || !isVTTSignature(lines[i]) {
		return nil, p.errorf(i, "a WebVTT file must start with the line WEBVTT")
	}
	// The header runs from the signature to the first blank line.
	for i++; i < len(lines) && !isBlank(lines[i]); i++ {
		if strings.Contains(lines[i], "-->") {
			return nil, p.errorf(i, "a blank line must follow the WEBVTT header before the first cue")
		}
	}
	for i < len(lines) {
		l := strings.TrimSpace(lines[i])
		switch {
		case l == "":
			i++
			continue
		case !strings.Contains(l, "-->") && (blockKeyword(l, "NOTE") || blockKeyword(l, "STYLE") || blockKeyword(l, "REGION")):
			for i < len(lines) && !isBlank(lines[i]) {
				i++
			}
			continue
		}
		first := i
		id := ""
		if !strings.Contains(l, "-->") {
			id = l
			if i+1 >= len(lines) || !strings.Contains(lines[i+1], "-->") {
				return nil, p.errorf(i, "expected a timing line like 00:00:01.000 --> 00:00:03.500 but found %q; "+
					"a blank line inside a cue ends it, so remove blank lines inside cue text", truncate(l))
			}
			i++ // a cue identifier
		}
		if err := p.startCue(first, i, id); err != nil {
			return nil, err
		}
		var err error
		if i, err = p.readText(i + 1); err != nil {
			return nil, err
		}
	}
	return p.file()
}

func blockKeyword(l, kw string) bool {
	rest, ok := strings.CutPrefix(l, kw)
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}

// parseTiming reads "start --> end [settings]" at line index i.
func (p *parser) parseTiming(i int) (start, end time.Duration, err error) {
	left, right, _ := strings.Cut(p.lines[i], "-->")
	fields := strings.Fields(right)
	if len(fields) == 0 {
		return 0, 0, p.errorf(i, "the timing line has no end time after \"-->\"; write it like %s", p.example())
	}
	if start, err = p.parseTimestamp(i, strings.TrimSpace(left)); err != nil {
		return 0, 0, err
	}
	if end, err = p.parseTimestamp(i, fields[0]); err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

func (p *parser) example() string {
	if p.format == VTT {
		return "00:00:01.000 --> 00:00:03.500"
	}
	return "00:00:01,000 --> 00:00:03,500"
}

// parseTimestamp reads [hh:]mm:ss,mmm (or with '.'), hours 1–3 digits.
func (p *parser) parseTimestamp(i int, s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, p.errorf(i, "%q is not a valid time; write times like %s (hours:minutes:seconds and 3 digits of milliseconds)",
			truncate(s), p.example())
	}
	main, frac, ok := strings.Cut(s, ",")
	if !ok {
		main, frac, ok = strings.Cut(s, ".")
	}
	if !ok || len(frac) != 3 || !isDigits(frac) {
		return bad()
	}
	parts := strings.Split(main, ":")
	if len(parts) == 2 {
		parts = append([]string{"0"}, parts...)
	}
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 3 || len(parts[1]) != 2 || len(parts[2]) != 2 {
		return bad()
	}
	var n [4]int
	for k, part := range append(parts, frac) {
		if !isDigits(part) {
			return bad()
		}
		for _, c := range part {
			n[k] = n[k]*10 + int(c-'0')
		}
	}
	if n[0] > maxHours || n[1] > 59 || n[2] > 59 {
		return bad()
	}
	return time.Duration(n[0])*time.Hour + time.Duration(n[1])*time.Minute +
		time.Duration(n[2])*time.Second + time.Duration(n[3])*time.Millisecond, nil
}

// truncate shortens s for quoting in a message.
func truncate(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}

// srtTag matches the formatting tags players accept in SRT text and the
// {\an8}-style overrides some editors add.
var srtTag = regexp.MustCompile(`(?i)</?(?:b|i|u|s|font)(?:\s[^<>]*)?>|\{\\[^{}]*\}`)

// cleanSRT removes formatting from an SRT text line. It reports false when
// tags are nested too deep to remove.
func cleanSRT(s string) (string, bool) {
	s, ok := stripAll(srtTag, s)
	return finish(s), ok
}

// vttTag matches any WebVTT tag: <i>, <c.name>, <v Speaker>, <00:01.000>.
var vttTag = regexp.MustCompile(`<[^<>]*>`)

var vttUnescape = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">",
	"&nbsp;", "\u00A0", "&lrm;", "\u200E", "&rlm;", "\u200F")

// cleanVTT removes tags from a WebVTT text line and decodes character
// references. Tags are removed before decoding, so "&lt;i&gt;" is text; but
// text that SRT would read as a tag is then removed too, since SRT cannot
// escape it and a File must write to both formats unchanged.
func cleanVTT(s string) (string, bool) {
	s, ok1 := stripAll(vttTag, s)
	s, ok2 := stripAll(srtTag, vttUnescape.Replace(s))
	return finish(s), ok1 && ok2
}

// maxTagPasses bounds stripAll: each pass removes one level of nesting, so
// without a bound hostile input such as "<<<…i>i>i>" takes quadratic time.
const maxTagPasses = 8

// stripAll removes matches of re until none are left, so "<<i>i>" cannot
// leave a tag behind. It reports false if tags remain after maxTagPasses.
func stripAll(re *regexp.Regexp, s string) (string, bool) {
	for range maxTagPasses {
		t := re.ReplaceAllString(s, "")
		if t == s {
			return s, true
		}
		s = t
	}
	return s, !re.MatchString(s)
}

func finish(s string) string {
	return strings.TrimSpace(norm.NFC.String(s))
}
