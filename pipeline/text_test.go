package pipeline

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TestCleanText: text others read is refused when it has a character that
// does not show as itself, with the character's code, name and place;
// Vietnamese and Tai Viet letters, typed composed or with combining
// marks, are kept, in NFC.
func TestCleanText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		in    string
		lines bool
		want  string // the text kept, or a piece of the refusal
		bad   bool
	}{
		{"Vietnamese", " Cải cách hành chính ", false, "Cải cách hành chính", false},
		{"Vietnamese typed with combining marks", "Ca\u0309i ca\u0301ch", false, "Cải cách", false},
		{"Tai Viet", "ꪁꪫꪱ ꪼꪕ", false, "ꪁꪫꪱ ꪼꪕ", false},
		{"emoji", "Lũ quét ⚠️", false, "Lũ quét ⚠️", false},
		{"no-break space", "Sơn\u00a0La", false, "Sơn\u00a0La", false},
		{"tab", "Tin B\ttab", false, `U+0009 TAB, at character 6 (after "Tin B")`, true},
		{"right-to-left override", "Tin B\u202ertl", false, `U+202E RIGHT-TO-LEFT OVERRIDE, at character 6 (after "Tin B")`, true},
		{"override after marks counts characters", "Thái\u202e", false, "at character 5", true},
		{"first-strong isolate", "\u2068x", false, "U+2068 FIRST STRONG ISOLATE, at character 1: remove it", true},
		{"zero-width space", "ad\u200bmin", false, `U+200B ZERO WIDTH SPACE, at character 3 (after "ad")`, true},
		{"zero-width joiner", "a\u200db", false, "U+200D ZERO WIDTH JOINER", true},
		{"soft hyphen", "cải\u00adcách", false, "U+00AD SOFT HYPHEN", true},
		{"byte order mark", "\ufeffTin", false, "U+FEFF ZERO WIDTH NO-BREAK SPACE, at character 1", true},
		{"escape", "x\x1b[31m", false, "U+001B ESCAPE", true},
		{"NUL", "x\x00", false, "U+0000 NUL", true},
		{"delete", "x\x7f", false, "U+007F DELETE", true},
		{"C1 control", "x\u0085y", false, "U+0085 CONTROL CHARACTER", true},
		{"private use", "x\ue000", false, "U+E000 PRIVATE USE CHARACTER", true},
		{"combining grapheme joiner", "a\u034fb", false, "U+034F COMBINING GRAPHEME JOINER", true},
		{"Hangul filler", "a\u3164b", false, "U+3164 HANGUL FILLER", true},
		{"noncharacter", "a\uffffb", false, "U+FFFF", true},
		{"newline in one line", "a\nb", false, "must be one line of text: it has a line break (U+000A LINE FEED) at character 2", true},
		{"line separator in one line", "a\u2028b", false, "must be one line of text", true},
		{"long prefix is cut", strings.Repeat("x", 30) + "\u202e", false, `(after "…xxxxxxxxxxxxxxxxxxxx")`, true},
		{"not UTF-8", "C\xe1i", false, "not valid UTF-8", true},
		{"lines: newline and tab kept", "Dòng 1\r\n\tDòng 2", true, "Dòng 1\r\n\tDòng 2", false},
		{"lines: lone carriage return", "a\rb", true, "U+000D CARRIAGE RETURN", true},
		{"lines: override still refused", "a\n\u202eb", true, "U+202E RIGHT-TO-LEFT OVERRIDE, at character 3", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CleanText("title", "The title", c.in, c.lines)
			if c.bad {
				if ErrorCode(err) != CodeInvalid || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "The title") {
					t.Fatalf("%q: %v, want a refusal saying %q", c.in, err, c.want)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("%q: %q (%v), want %q", c.in, got, err, c.want)
			}
		})
	}
}

// FuzzCleanText: what CleanText keeps is trimmed NFC UTF-8 without a
// character it refuses, and cleaning it again changes nothing; what it
// refuses is a field error on the field.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"Cải cách", "Ca\u0309i", "Tin B\ttab\u202ertl", "a\r\nb", "ad\u200bmin", "\ufeff", "ꪁꪫꪱ", "\xe1"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, lines bool) {
		got, err := CleanText("reason", "The reason", s, lines)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Field != "reason" || e.Code != CodeInvalid {
				t.Fatalf("%q: %v, want a field error on reason", s, err)
			}
			return
		}
		if !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) || got != strings.TrimSpace(got) {
			t.Fatalf("%q: kept %q, not trimmed NFC UTF-8", s, got)
		}
		for _, r := range got {
			if hiddenRune(r) && !(lines && (r == '\n' || r == '\r' || r == '\t')) {
				t.Fatalf("%q: kept %q with %s", s, got, RuneName(r))
			}
		}
		if again, err := CleanText("reason", "The reason", got, lines); err != nil || again != got {
			t.Fatalf("%q: cleaning %q again gave %q, %v", s, got, again, err)
		}
	})
}
