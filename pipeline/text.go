package pipeline

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/unicode/runenames"
)

// Free text people send that others read (a segment's title, the reason
// of an emergency, a withdrawal or a job's review) is shown in pages,
// terminal tables, playlists and podcast apps. Characters that do not
// show as themselves there are refused, not stripped, so what is stored
// is what the sender sees: control characters (a tab shifts a table's
// columns), bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE shows
// the text after it reversed), and other invisible format characters
// (zero-width spaces and joiners, soft hyphens, a byte order mark), line
// and paragraph separators, private-use characters, and the other
// characters Unicode says to ignore in display (U+034F, Hangul fillers).
// Letters with combining marks, Vietnamese or Tai Viet, are text: the
// text is kept in NFC, so the same words typed with combining accents
// are the same text.

// CleanText trims s, puts it in NFC and checks it is text others can
// read as it was sent: valid UTF-8, none of the characters above, and no
// line break unless lines is true (then "\n", "\r\n" and tabs are allowed).
// label names the text in the refusal ("The title", "The reason"), which
// is a field error on field naming the character, its code and its
// position in characters, and the text before it.
func CleanText(field, label, s string, lines bool) (string, error) {
	if !utf8.ValidString(s) {
		return s, FieldError(field, "%s is not valid UTF-8 text: send it again as UTF-8.", label)
	}
	s = norm.NFC.String(strings.TrimSpace(s))
	n := 0
	for i, r := range s {
		n++
		if lines && (r == '\n' || r == '\t' || r == '\r' && strings.HasPrefix(s[i+1:], "\n")) {
			continue
		}
		if !hiddenRune(r) {
			continue
		}
		if !lines && (r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029') {
			return s, FieldError(field, "%s must be one line of text: it has a line break (%s) at character %d%s.", label, RuneName(r), n, after(s[:i]))
		}
		return s, FieldError(field, "%s has an invisible or control character, %s, at character %d%s: remove it (typing that part again removes it) and send it again.",
			label, RuneName(r), n, after(s[:i]))
	}
	return s, nil
}

// after quotes the last few characters of before, for a refusal: ` (after
// "…Tin B")`, or "" at the start of the text. Characters CleanText refuses
// are left out of the quote.
func after(before string) string {
	before = strings.Map(func(r rune) rune {
		if hiddenRune(r) {
			return -1
		}
		return r
	}, before)
	if before == "" {
		return ""
	}
	rs := []rune(before)
	if len(rs) > 20 {
		return fmt.Sprintf(" (after %q)", "…"+string(rs[len(rs)-20:]))
	}
	return fmt.Sprintf(" (after %q)", before)
}

// hiddenRune reports whether r does not show as itself in text: a control
// or format character, a line or paragraph separator, a private-use or
// surrogate code point, or one Unicode says to ignore in display.
func hiddenRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point) ||
		r&0xfffe == 0xfffe || r >= 0xfdd0 && r <= 0xfdef
}

// RuneName names a character for a person: its code point and its
// Unicode name, "U+202E RIGHT-TO-LEFT OVERRIDE", with the common control
// characters named as people know them ("U+0009 TAB").
func RuneName(r rune) string {
	names := map[rune]string{'\t': "TAB", '\n': "LINE FEED", '\r': "CARRIAGE RETURN", 0: "NUL", 0x1b: "ESCAPE", 0x7f: "DELETE"}
	name, ok := names[r]
	if !ok {
		name = runenames.Name(r)
	}
	if name == "" || strings.HasPrefix(name, "<") {
		name = "CONTROL CHARACTER"
		if unicode.Is(unicode.Co, r) {
			name = "PRIVATE USE CHARACTER"
		}
	}
	return fmt.Sprintf("%U %s", r, name)
}
