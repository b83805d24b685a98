package subtitle

import (
	"fmt"
	"slices"
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
// the same position. Every finding is an Error.
//
// When the counts differ, cues are paired in order by time instead of by
// position (each end within tolerance). If the file has extra cues and
// every source cue pairs with one of its cues, each extra cue is reported
// on its own line as one to remove; if it lacks cues and each of its cues
// pairs with a source cue, each missing source cue is reported with its
// times and text as one to add. Otherwise only the counts are reported,
// since pairing cues by position would then report every cue after the
// first missing one. These findings have CodeCueCount; Cue is the file's
// cue to remove, or 0 for a missing one.
func CompareTiming(source, target *File, tolerance time.Duration) []Finding {
	if len(source.Cues) != len(target.Cues) {
		return compareCount(source, target, tolerance)
	}
	var out []Finding
	for i, t := range target.Cues {
		s := source.Cues[i]
		if closeTimes(s, t, tolerance) {
			continue
		}
		out = append(out, Finding{Severity: Error, Code: CodeTiming, Cue: t.Index, CueName: t.Name(), Line: t.Line,
			Message: fmt.Sprintf("%s runs %s --> %s but %s runs %s --> %s; keep the source times (within %d ms)",
				t.Name(), FormatTimestamp(t.Start), FormatTimestamp(t.End),
				s.nameIn("source"), FormatTimestamp(s.Start), FormatTimestamp(s.End), tolerance.Milliseconds())}.keyed(KeyTiming,
			t.Ref(), FormatTimestamp(t.Start), FormatTimestamp(t.End), s.Ref(), FormatTimestamp(s.Start), FormatTimestamp(s.End), itoa(tolerance.Milliseconds())))
	}
	return out
}

// closeTimes reports whether a and b start and end within tolerance of
// each other.
func closeTimes(a, b Cue, tolerance time.Duration) bool {
	return absDiff(a.Start, b.Start) <= tolerance && absDiff(a.End, b.End) <= tolerance
}

// unpaired pairs every cue of short, in order, with the earliest cue of
// long left that has close times, and returns the positions in long of
// the cues left unpaired; ok is false when some cue of short finds no
// partner. Taking the earliest partner never makes a later pairing
// impossible, so ok is false only when no in-order pairing exists.
func unpaired(short, long []Cue, tolerance time.Duration) (left []int, ok bool) {
	j := 0
	for _, c := range short {
		for j < len(long) && !closeTimes(c, long[j], tolerance) {
			left = append(left, j)
			j++
		}
		if j == len(long) {
			return nil, false
		}
		j++
	}
	for ; j < len(long); j++ {
		left = append(left, j)
	}
	return left, true
}

// compareCount reports a translation whose cue count differs from its
// source's (see CompareTiming).
func compareCount(source, target *File, tolerance time.Duration) []Finding {
	counts := fmt.Sprintf("this file has %d cues, the source %d", len(target.Cues), len(source.Cues))
	var out []Finding
	if len(target.Cues) > len(source.Cues) {
		if extra, ok := unpaired(source.Cues, target.Cues, tolerance); ok {
			for _, j := range extra {
				t := target.Cues[j]
				what, key := "", KeyExtraCue
				if len(t.Lines) == 0 {
					what, key = " has no text and", KeyExtraEmpty
				}
				out = append(out, Finding{Severity: Error, Code: CodeCueCount, Cue: t.Index, CueName: t.Name(), Line: t.Line,
					Message: fmt.Sprintf("%s (%s --> %s)%s is not in the source, which has no cue at that time (%s): remove this cue",
						t.Name(), FormatTimestamp(t.Start), FormatTimestamp(t.End), what, counts)}.keyed(key,
					t.Ref(), FormatTimestamp(t.Start), FormatTimestamp(t.End), itoa(len(target.Cues)), itoa(len(source.Cues))))
			}
			return out
		}
	} else if missing, ok := unpaired(target.Cues, source.Cues, tolerance); ok {
		for _, i := range missing {
			s := source.Cues[i]
			// The missing cue goes before the file's cue paired with the
			// source cue after it: the one at position i minus the
			// missing cues before it.
			where, line := "at the end of the file", 0
			key, before := KeyMissingLast, []string(nil)
			if pos := i - slices.Index(missing, i); pos < len(target.Cues) {
				t := target.Cues[pos]
				where, line = fmt.Sprintf("before %s (line %d)", t.Name(), t.Line), t.Line
				key, before = KeyMissingCue, []string{t.Ref()}
			}
			text, quoted := "", ""
			if len(s.Lines) > 0 {
				quoted = fmt.Sprintf("%q", truncate(s.Text()))
				text = ", " + quoted
			}
			out = append(out, Finding{Severity: Error, Code: CodeCueCount, Line: line,
				Message: fmt.Sprintf("%s (%s --> %s%s) has no cue here (%s): add one %s, with the source's times and its translation",
					s.nameIn("source"), FormatTimestamp(s.Start), FormatTimestamp(s.End), text, counts, where)}.keyed(key,
				append([]string{s.Ref(), FormatTimestamp(s.Start), FormatTimestamp(s.End), quoted, itoa(len(target.Cues)), itoa(len(source.Cues))}, before...)...))
		}
		return out
	}
	return []Finding{Finding{Severity: Error, Code: CodeCueCount,
		Message: fmt.Sprintf("the file has %d cues but the source has %d, and its cues do not line up with the source's; keep one cue for each source cue, with the same times",
			len(target.Cues), len(source.Cues))}.keyed(KeyCueCount, itoa(len(target.Cues)), itoa(len(source.Cues)))}
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
	// add reports what (its page text: long or short, with pageArgs).
	add := func(c Cue, line int, key, what, long, short string, pageArgs ...string) {
		sev, advice, pageKey := Warning, "check that it should stay the same", short
		if len(strings.Fields(key)) >= 3 {
			sev, advice, pageKey = Error, "translate it", long
		}
		out = append(out, Finding{Severity: sev, Code: CodeUntranslated, Cue: c.Index, CueName: c.Name(), Line: line,
			Message: fmt.Sprintf("%s is the same as in the Vietnamese source; %s", what, advice)}.keyed(pageKey, pageArgs...))
	}
	for _, c := range target.Cues {
		if key := compareKey(c.Text()); key != "" && srcCues[key] {
			add(c, c.Line, key, "the text of "+c.Name(), KeySameCue, KeySameCueShort, c.Ref())
			continue
		}
		for j, l := range c.Lines {
			if key := compareKey(l); key != "" && srcLines[key] {
				add(c, c.textLine(j), key, fmt.Sprintf("line %d of %s", j+1, c.Name()), KeySameLine, KeySameLineShort, itoa(j+1), c.Ref())
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
			out = append(out, Finding{Severity: Error, Code: CodePastEnd, Cue: c.Index, CueName: c.Name(), Line: c.Line,
				Message: fmt.Sprintf("%s starts at %s, after the media ends at %s, so it would never be shown; %s",
					c.Name(), FormatTimestamp(c.Start), FormatTimestamp(media), remedy)}.keyed(KeyStartsAfter,
				c.Ref(), FormatTimestamp(c.Start), FormatTimestamp(media)))
		case c.End > media+tolerance:
			out = append(out, Finding{Severity: Error, Code: CodePastEnd, Cue: c.Index, CueName: c.Name(), Line: c.Line,
				Message: fmt.Sprintf("%s runs %s --> %s, %d ms past the end of the media at %s (at most %d ms is allowed); %s",
					c.Name(), FormatTimestamp(c.Start), FormatTimestamp(c.End), (c.End - media).Milliseconds(),
					FormatTimestamp(media), tolerance.Milliseconds(), remedy)}.keyed(KeyRunsPast,
				c.Ref(), FormatTimestamp(c.Start), FormatTimestamp(c.End), itoa((c.End-media).Milliseconds()), FormatTimestamp(media), itoa(tolerance.Milliseconds())))
		case c.End > media:
			out = append(out, Finding{Severity: Warning, Code: CodePastEnd, Cue: c.Index, CueName: c.Name(), Line: c.Line,
				Message: fmt.Sprintf("%s ends at %s, %d ms after the media ends at %s; players cut it there, so end it by %s if you can",
					c.Name(), FormatTimestamp(c.End), (c.End - media).Milliseconds(), FormatTimestamp(media), FormatTimestamp(media))}.keyed(KeyEndsPast,
				c.Ref(), FormatTimestamp(c.End), itoa((c.End-media).Milliseconds()), FormatTimestamp(media)))
		}
	}
	return out
}
