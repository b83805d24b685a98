package subtitle

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// DefaultTolerance is how far a translated cue's start or end may move from
// the source cue's: room to nudge a cue, not to retime the file.
const DefaultTolerance = 500 * time.Millisecond

// CompareTiming checks a translation against its source: the same number of
// cues, and each cue's start and end within tolerance of the source cue at
// the same position. Every finding is an Error. When the counts differ only
// the count is reported, since pairing cues by position would then report
// every cue after the first missing one.
func CompareTiming(source, target *File, tolerance time.Duration) []Finding {
	if len(source.Cues) != len(target.Cues) {
		return []Finding{{Severity: Error, Code: CodeCueCount,
			Message: fmt.Sprintf("the file has %d cues but the source has %d; keep one cue for each source cue, with the same times",
				len(target.Cues), len(source.Cues))}}
	}
	var out []Finding
	for i, t := range target.Cues {
		s := source.Cues[i]
		if absDiff(t.Start, s.Start) <= tolerance && absDiff(t.End, s.End) <= tolerance {
			continue
		}
		out = append(out, Finding{Severity: Error, Code: CodeTiming, Cue: t.Index, Line: t.Line,
			Message: fmt.Sprintf("cue %d runs %s --> %s but source cue %d runs %s --> %s; keep the source times (within %d ms)",
				t.Index, FormatTimestamp(t.Start), FormatTimestamp(t.End),
				s.Index, FormatTimestamp(s.Start), FormatTimestamp(s.End), tolerance.Milliseconds())})
	}
	return out
}

func absDiff(a, b time.Duration) time.Duration {
	if a > b {
		return a - b
	}
	return b - a
}

// CompareText flags text in a translation that is the same as text in its
// Vietnamese source, ignoring case, punctuation and spacing: a whole cue, or
// else single lines. A match of three words or more is an Error (the text
// was not translated); a shorter match is a Warning, since names, numbers
// and abbreviations such as "PAPI 2025" may rightly stay the same.
func CompareText(source, target *File) []Finding {
	srcCues := map[string]bool{}
	srcLines := map[string]bool{}
	for _, c := range source.Cues {
		srcCues[compareKey(c.Text())] = true
		for _, l := range c.Lines {
			srcLines[compareKey(l)] = true
		}
	}
	var out []Finding
	add := func(c Cue, line int, key, what string) {
		sev, advice := Warning, "check that it should stay the same"
		if len(strings.Fields(key)) >= 3 {
			sev, advice = Error, "translate it"
		}
		out = append(out, Finding{Severity: sev, Code: CodeUntranslated, Cue: c.Index, Line: line,
			Message: fmt.Sprintf("%s is the same as in the Vietnamese source; %s", what, advice)})
	}
	for _, c := range target.Cues {
		if key := compareKey(c.Text()); key != "" && srcCues[key] {
			add(c, c.Line, key, fmt.Sprintf("the text of cue %d", c.Index))
			continue
		}
		for j, l := range c.Lines {
			if key := compareKey(l); key != "" && srcLines[key] {
				add(c, c.textLine(j), key, fmt.Sprintf("line %d of cue %d", j+1, c.Index))
			}
		}
	}
	return out
}

// compareKey reduces s to lower-case words separated by single spaces. It
// returns "" when s has no letters, so lines of numbers never match.
func compareKey(s string) string {
	s = strings.ToLower(norm.NFC.String(s))
	hasLetter := false
	words := strings.FieldsFunc(s, func(r rune) bool {
		if unicode.IsLetter(r) {
			hasLetter = true
		}
		return !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r)
	})
	if !hasLetter {
		return ""
	}
	return strings.Join(words, " ")
}

// CheckMediaEnd holds the cues of f to the length of the media they go
// with (media; 0 when not known, and nothing is checked). A cue that
// starts at or after the media's end would never be shown, and one that
// ends more than tolerance after it runs on over nothing: both are Errors.
// A cue that ends after the media but within tolerance (the room
// CompareTiming gives a translator to nudge a cue) is a Warning: players
// cut it at the end. Each finding names the cue, its line, its times and
// the media's length; remedy ends each error's message with what the
// reader should do. Findings are in cue order, all with CodePastEnd.
func CheckMediaEnd(f *File, media, tolerance time.Duration, remedy string) []Finding {
	if media <= 0 {
		return nil
	}
	var out []Finding
	for _, c := range f.Cues {
		switch {
		case c.Start >= media:
			out = append(out, Finding{Severity: Error, Code: CodePastEnd, Cue: c.Index, Line: c.Line,
				Message: fmt.Sprintf("cue %d starts at %s, after the media ends at %s, so it would never be shown; %s",
					c.Index, FormatTimestamp(c.Start), FormatTimestamp(media), remedy)})
		case c.End > media+tolerance:
			out = append(out, Finding{Severity: Error, Code: CodePastEnd, Cue: c.Index, Line: c.Line,
				Message: fmt.Sprintf("cue %d runs %s --> %s, %d ms past the end of the media at %s (at most %d ms is allowed); %s",
					c.Index, FormatTimestamp(c.Start), FormatTimestamp(c.End), (c.End - media).Milliseconds(),
					FormatTimestamp(media), tolerance.Milliseconds(), remedy)})
		case c.End > media:
			out = append(out, Finding{Severity: Warning, Code: CodePastEnd, Cue: c.Index, Line: c.Line,
				Message: fmt.Sprintf("cue %d ends at %s, %d ms after the media ends at %s; players cut it there, so end it by %s if you can",
					c.Index, FormatTimestamp(c.End), (c.End - media).Milliseconds(), FormatTimestamp(media), FormatTimestamp(media))})
		}
	}
	return out
}
