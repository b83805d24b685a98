package subtitle

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rivo/uniseg"
	"golang.org/x/text/unicode/norm"
)

// Severity says whether a finding blocks a submission.
type Severity int

// Severities, from least to most serious.
const (
	Warning Severity = iota + 1 // shown to the translator and kept with the submission
	Error                       // blocks the submission until fixed
)

// String returns "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// MarshalText writes "warning" or "error", so JSON carries the word.
func (s Severity) MarshalText() ([]byte, error) {
	if s != Warning && s != Error {
		return nil, fmt.Errorf("subtitle severity %d is neither warning nor error", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads "warning" or "error".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "warning":
		*s = Warning
	case "error":
		*s = Error
	default:
		return fmt.Errorf("subtitle severity %q: want \"warning\" or \"error\"", b)
	}
	return nil
}

// Finding codes. They are stable: callers and stored reviews may key on them.
const (
	CodeEmptyCue     = "empty-cue"      // error: a cue has no text
	CodeBadTiming    = "bad-timing"     // error: a cue ends at or before its start
	CodeTooManyLines = "too-many-lines" // error: more than MaxLines lines
	CodeLineTooLong  = "line-too-long"  // error: a line longer than MaxLineChars
	CodeCPS          = "cps"            // warning above MaxCPS, error above HardMaxCPS
	CodeTooShort     = "too-short"      // warning: shorter than MinDuration
	CodeTooLong      = "too-long"       // warning: longer than MaxDuration
	CodeOverlap      = "overlap"        // error: a cue starts before the previous one ends
	CodeOrder        = "order"          // error: a cue starts before the previous one starts
	CodeGap          = "gap"            // warning: less than MinGap after the previous cue
	CodeScript       = "script"         // error: letters of a script the language does not use
	CodeUntranslated = "untranslated"   // a line reads as Vietnamese or repeats the source
	CodeCueCount     = "cue-count"      // error: cue count differs from the source
	CodeTiming       = "timing"         // error: a cue's times differ from the source's
	CodePastEnd      = "past-end"       // error: a cue starts after the media ends or runs on past it; warning within the tolerance
)

// Finding is one problem found in a subtitle file.
type Finding struct {
	Severity Severity `json:"severity"`      // "error" or "warning" in JSON
	Code     string   `json:"code"`          // one of the Code constants (or a caller's own, e.g. "glossary")
	Cue      int      `json:"cue,omitempty"` // 1-based cue position; 0 for the file as a whole
	// CueName names the cue as the file does (Cue.Name: "cue 150" or
	// "the 2nd cue"); empty for the file as a whole or in findings stored
	// before it existed.
	CueName string `json:"cue_name,omitempty"`
	Line    int    `json:"line,omitempty"` // source line number; 0 when not known
	Message string `json:"message"`        // what is wrong and what to do, in plain words
	// Key, when set, names Message in the pages' catalogues ("fm_" +
	// Key; one of FindingKeys), whose text takes Args for its %s in
	// order, so a page says the finding in its own language; Message
	// stays the English text the API and the CLI show. A cue in Args is
	// written as CueRef writes it.
	Key  string   `json:"key,omitempty"`
	Args []string `json:"args,omitempty"`
	// NoteKey, when set, names a sentence a page adds after Key's text
	// ("fm_" + NoteKey, taking NoteArgs for its %s in order): what the
	// finding's Message says beyond Key's text, such as why the source
	// is to blame and what to do meanwhile.
	NoteKey  string   `json:"note_key,omitempty"`
	NoteArgs []string `json:"note_args,omitempty"`
}

// String returns "line 12, cue 150: error line-too-long: ..." style text,
// naming the cue as CueName does (by position, "the 3rd cue", when unset).
func (f Finding) String() string {
	var b strings.Builder
	if f.Line > 0 {
		fmt.Fprintf(&b, "line %d, ", f.Line)
	}
	if f.Cue > 0 || f.CueName != "" {
		fmt.Fprintf(&b, "%s: ", f.CueRef())
	}
	fmt.Fprintf(&b, "%s %s: %s", f.Severity, f.Code, f.Message)
	return b.String()
}

// CueRef names the finding's cue: CueName, or by position ("the 3rd cue")
// when it is unset; "" for the file as a whole.
func (f Finding) CueRef() string {
	switch {
	case f.CueName != "":
		return f.CueName
	case f.Cue > 0:
		return cueName("", f.Cue, "")
	}
	return ""
}

// HasErrors reports whether any finding is an Error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// CountChars returns the number of characters in s as a reader sees them:
// grapheme clusters after NFC, so "ệ" is one character however it is
// encoded, and a Tai Viet consonant with its vowel sign is one.
func CountChars(s string) int {
	return uniseg.GraphemeClusterCount(norm.NFC.String(s))
}

// Check applies the profile to every cue of f and returns the findings in
// cue order. Errors (block a submission): empty cue, end not after start,
// a start before the previous cue's start (order) or end (overlap), too many lines, a line too long, a reading
// speed above HardMaxCPS, letters in a script the language does not use,
// and (for Thái) a line that reads as Vietnamese. Warnings (shown and kept):
// a reading speed between MaxCPS and HardMaxCPS, a cue shorter than
// MinDuration or longer than MaxDuration, a gap below MinGap. Durations and
// gaps are warnings because translations keep the source's timings, which
// the translator cannot change. Characters are counted with CountChars,
// spaces included; reading speed counts the characters of all lines.
func Check(f *File, p Profile) []Finding {
	var out []Finding
	// add appends a finding whose page text is key's, taking keyArgs.
	add := func(sev Severity, code string, c Cue, line int, key string, keyArgs []string, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Code: code, Cue: c.Index, CueName: c.Name(), Line: line, Message: fmt.Sprintf(format, args...)}.keyed(key, keyArgs...))
	}
	for i, c := range f.Cues {
		if i > 0 {
			prev := f.Cues[i-1]
			if fd, ok := sequenceFinding(prev, c); ok {
				out = append(out, fd)
			} else if gap := c.Start - prev.End; p.MinGap > 0 && gap < p.MinGap {
				add(Warning, CodeGap, c, c.Line, KeyGap, []string{c.Ref(), itoa(gap.Milliseconds()), prev.Ref(), itoa(prev.Line), itoa(p.MinGap.Milliseconds())},
					"%s starts %d ms after %s (line %d) ends; leave at least %d ms between cues so viewers see the change",
					c.Name(), gap.Milliseconds(), prev.Name(), prev.Line, p.MinGap.Milliseconds())
			}
		}

		// Check is the translator's check: the cue count is fixed by the
		// source, so removing the cue is no remedy.
		if fd, ok := emptyFinding(c, KeyEmpty, "write its text (keep the cue: the file has one cue for each cue of the source)"); ok {
			out = append(out, fd)
		}
		if p.MaxLines > 0 && len(c.Lines) > p.MaxLines {
			add(Error, CodeTooManyLines, c, c.textLine(p.MaxLines), KeyTooManyLines, []string{c.Ref(), itoa(len(c.Lines)), itoa(p.MaxLines)},
				"%s has %d lines; the limit is %d, so shorten the text to fit", c.Name(), len(c.Lines), p.MaxLines)
		}
		chars := 0
		for j, l := range c.Lines {
			n := CountChars(l)
			chars += n
			if p.MaxLineChars > 0 && n > p.MaxLineChars {
				add(Error, CodeLineTooLong, c, c.textLine(j), KeyLineTooLong, []string{itoa(j + 1), c.Ref(), itoa(n), itoa(p.MaxLineChars)},
					"line %d of %s has %d characters; the limit is %d, so shorten it or break it into two lines",
					j+1, c.Name(), n, p.MaxLineChars)
			}
			out = append(out, checkScript(p, c, j)...)
		}

		d := c.Duration()
		if fd, ok := timingFinding(c, 0); ok {
			out = append(out, fd)
			continue
		}
		if p.MinDuration > 0 && d < p.MinDuration {
			add(Warning, CodeTooShort, c, c.Line, KeyTooShort, []string{c.Ref(), itoa(d.Milliseconds()), itoa(p.MinDuration.Milliseconds())}, "%s is shown for %d ms; at least %d ms lets viewers read it",
				c.Name(), d.Milliseconds(), p.MinDuration.Milliseconds())
		}
		if p.MaxDuration > 0 && d > p.MaxDuration {
			add(Warning, CodeTooLong, c, c.Line, KeyTooLong, []string{c.Ref(), fmt.Sprintf("%.1f", d.Seconds()), fmt.Sprintf("%.0f", p.MaxDuration.Seconds())}, "%s is shown for %.1f s; more than %.0f s is hard to follow, so consider splitting it",
				c.Name(), d.Seconds(), p.MaxDuration.Seconds())
		}
		cps := float64(chars) / d.Seconds()
		switch {
		case p.HardMaxCPS > 0 && cps > p.HardMaxCPS:
			add(Error, CodeCPS, c, c.Line, KeyCPSHard, []string{c.Ref(), fmt.Sprintf("%.1f", cps), fmt.Sprintf("%.0f", p.MaxCPS), itoa(maxChars(p, d))},
				"%s needs %.1f characters per second, far above the %.0f viewers can read; shorten the text to at most %d characters",
				c.Name(), cps, p.MaxCPS, maxChars(p, d))
		case p.MaxCPS > 0 && cps > p.MaxCPS:
			add(Warning, CodeCPS, c, c.Line, KeyCPS, []string{c.Ref(), fmt.Sprintf("%.1f", cps), fmt.Sprintf("%.0f", p.MaxCPS), itoa(maxChars(p, d))},
				"%s needs %.1f characters per second, above the %.0f viewers can comfortably read; shorten the text to at most %d characters if you can",
				c.Name(), cps, p.MaxCPS, maxChars(p, d))
		}
	}
	return out
}

// MinSourceCue is the shortest cue CheckSource accepts: under three frames
// at 25 fps nobody can read it, and at HardMaxCPS a translation of it could
// hold only two characters.
const MinSourceCue = 100 * time.Millisecond

// CheckSource holds a producer's subtitle file to the rules every
// translation of it will be held to and that a translator cannot meet
// except by changing the source: translations keep the source's cues and
// their times (CompareTiming), so the source's cues must already be in time
// order (CodeOrder), must not overlap (CodeOverlap), must each end after
// they start and last at least MinSourceCue (CodeBadTiming), and must each
// have text (CodeEmptyCue). Findings are Errors in cue order, each naming
// the source line; the cue count itself is bounded by Parse (1 to MaxCues).
// A file with no findings can always be translated faithfully: the same
// cues, times and line breaks pass Check's order, overlap, timing and
// empty-cue rules and CompareTiming.
func CheckSource(f *File) []Finding {
	var out []Finding
	for i, c := range f.Cues {
		if i > 0 {
			if fd, ok := sequenceFinding(f.Cues[i-1], c); ok {
				out = append(out, fd)
			}
		}
		if fd, ok := emptyFinding(c, KeyEmptySource, "write its text or remove the cue"); ok {
			out = append(out, fd)
		}
		if fd, ok := timingFinding(c, MinSourceCue); ok {
			out = append(out, fd)
		}
	}
	return out
}

// sequenceFinding reports c when it starts before prev starts (the cues
// are out of order) or before prev ends (they overlap).
func sequenceFinding(prev, c Cue) (Finding, bool) {
	switch {
	case c.Start < prev.Start:
		return Finding{Severity: Error, Code: CodeOrder, Cue: c.Index, CueName: c.Name(), Line: c.Line,
			Message: fmt.Sprintf("%s starts at %s, before %s (line %d) starts at %s: the cues are out of order; put them in time order and correct the times",
				c.Name(), FormatTimestamp(c.Start), prev.Name(), prev.Line, FormatTimestamp(prev.Start))}.keyed(KeyOrder,
			c.Ref(), FormatTimestamp(c.Start), prev.Ref(), itoa(prev.Line), FormatTimestamp(prev.Start)), true
	case c.Start < prev.End:
		return Finding{Severity: Error, Code: CodeOverlap, Cue: c.Index, CueName: c.Name(), Line: c.Line,
			Message: fmt.Sprintf("%s starts at %s, before %s (line %d) ends at %s; make it start after the previous cue ends",
				c.Name(), FormatTimestamp(c.Start), prev.Name(), prev.Line, FormatTimestamp(prev.End))}.keyed(KeyOverlap,
			c.Ref(), FormatTimestamp(c.Start), prev.Ref(), itoa(prev.Line), FormatTimestamp(prev.End)), true
	}
	return Finding{}, false
}

// emptyFinding reports a cue with no text, with advice on what to do
// (key names the advice's page text).
func emptyFinding(c Cue, key, advice string) (Finding, bool) {
	if len(c.Lines) > 0 {
		return Finding{}, false
	}
	return Finding{Severity: Error, Code: CodeEmptyCue, Cue: c.Index, CueName: c.Name(), Line: c.Line,
		Message: fmt.Sprintf("%s has no text; %s", c.Name(), advice)}.keyed(key, c.Ref()), true
}

// timingFinding reports a cue that does not end after it starts, or that
// lasts less than minimum (0: any positive length).
func timingFinding(c Cue, minimum time.Duration) (Finding, bool) {
	d := c.Duration()
	switch {
	case d <= 0:
		return Finding{Severity: Error, Code: CodeBadTiming, Cue: c.Index, CueName: c.Name(), Line: c.Line,
			Message: fmt.Sprintf("%s ends at %s, not after it starts at %s; fix the times",
				c.Name(), FormatTimestamp(c.End), FormatTimestamp(c.Start))}.keyed(KeyInverted,
			c.Ref(), FormatTimestamp(c.End), FormatTimestamp(c.Start)), true
	case d < minimum:
		return Finding{Severity: Error, Code: CodeBadTiming, Cue: c.Index, CueName: c.Name(), Line: c.Line,
			Message: fmt.Sprintf("%s is shown for %d ms (%s --> %s), too short to read; make it last at least %d ms",
				c.Name(), d.Milliseconds(), FormatTimestamp(c.Start), FormatTimestamp(c.End), minimum.Milliseconds())}.keyed(KeyTooShortCue,
			c.Ref(), itoa(d.Milliseconds()), FormatTimestamp(c.Start), FormatTimestamp(c.End), itoa(minimum.Milliseconds())), true
	}
	return Finding{}, false
}

// maxChars is how many characters fit in d at the profile's reading speed.
func maxChars(p Profile, d time.Duration) int {
	return int(p.MaxCPS * d.Seconds())
}

// checkScript reports the j-th line of c if it uses a script the profile
// does not allow, or reads as Vietnamese where the profile asks.
func checkScript(p Profile, c Cue, j int) []Finding {
	l := c.Lines[j]
	scripts := scriptsIn(l)
	var bad []string
	for _, s := range scripts {
		if !p.allows(s) {
			bad = append(bad, string(s))
		}
	}
	if len(bad) > 0 {
		return []Finding{Finding{Severity: Error, Code: CodeScript, Cue: c.Index, CueName: c.Name(), Line: c.textLine(j),
			Message: fmt.Sprintf("line %d of %s has %s letters; %s subtitles are written in %s, so retype the line in %s",
				j+1, c.Name(), strings.Join(bad, " and "), p.LangName, scriptList(p.Scripts), scriptList(p.Scripts))}.keyed(KeyScript,
			itoa(j+1), c.Ref(), strings.Join(bad, ", "), p.LangName, scriptList(p.Scripts))}
	}
	if p.VietnameseLine != 0 && !slices.Contains(scripts, TaiViet) && looksVietnamese(l) {
		return []Finding{Finding{Severity: p.VietnameseLine, Code: CodeUntranslated, Cue: c.Index, CueName: c.Name(), Line: c.textLine(j),
			Message: fmt.Sprintf("line %d of %s reads as Vietnamese; translate it into %s",
				j+1, c.Name(), p.LangName)}.keyed(KeyVietnamese, itoa(j+1), c.Ref(), p.LangName)}
	}
	return nil
}

func scriptList(scripts []Script) string {
	names := make([]string, len(scripts))
	for i, s := range scripts {
		names[i] = string(s)
	}
	return strings.Join(names, " or ")
}
