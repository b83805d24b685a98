package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// User names are read by people: in the audit log, notices, the users
// page and `loa user list`. Two names that read the same are one person
// to a reader, so a name is refused when it would read like another:
//
//   - its characters are Latin letters (Vietnamese ones with their marks:
//     Lò-Văn-A), the digits 0-9 and the ASCII signs other than a space,
//     '/', '\', '%', '?', '#' (they would not survive in a URL) and ':'
//     (the audit log writes the server's command line as "cli:USER"). So
//     no invisible character (ad\u200bmin reads "admin"), no dash or
//     quote that imitates an ASCII one (prod‐b with U+2010), no letter of
//     another script that looks Latin (Cyrillic а), no full-width or
//     other compatibility form;
//   - and its UserNameKey differs from every other user's: names that
//     differ only in case or diacritics (dich-thai, Dịch-Thái) are one.
//
// Names stored before these rules keep working: the rules apply when a
// user is created.

// MaxUserNameLen is the longest user name, in characters.
const MaxUserNameLen = 64

// UserNameKey is the form user names are compared in: compatibility
// forms folded (full-width ａ as a), decomposed, diacritics and invisible
// characters dropped, every dash as '-', đ as d, case folded. Two users
// may not share one. A name within the rules has no invisible character
// nor Unicode dash, but one stored before them may: its key is the name it
// reads as, so a new name cannot imitate it either.
func UserNameKey(name string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r), hiddenRune(r):
			continue
		case unicode.Is(unicode.Pd, r):
			r = '-'
		case r == 'đ' || r == 'Đ':
			r = 'd'
		}
		b.WriteRune(unicode.ToLower(unicode.ToUpper(r))) // ı and ſ fold as i and s
	}
	return b.String()
}

// checkUserName says what is wrong with a trimmed, NFC user name, or
// returns nil (see above).
func checkUserName(name string) error {
	if !utf8.ValidString(name) {
		return FieldError("name", "The user name is not valid UTF-8 text: type it again.")
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxUserNameLen {
		return FieldError("name", "The user name has %d characters: it must have 1 to %d.", n, MaxUserNameLen)
	}
	n := 0
	prevLetter := false
	for _, r := range name {
		n++
		ok, letter := userNameRune(r, prevLetter)
		if !ok {
			try, key, args := "", "user_name_char", []string{strconv.Quote(name), RuneName(r), strconv.Itoa(n)}
			if s := suggestUserName(name); s != "" && s != name && checkUserName(s) == nil {
				try, key, args = fmt.Sprintf(" Try %q.", s), "user_name_char_try", append(args, strconv.Quote(s))
			}
			return FieldError("name", "The user name %q has %s at character %d: a user name uses Latin letters (Vietnamese ones with their marks), "+
				"the digits 0-9 and the ASCII signs such as - _ . (not a space, /, \\, %%, ?, # or :), so that no two names read alike.%s",
				name, RuneName(r), n, try).WithKey(key, args...)
		}
		prevLetter = letter
	}
	return nil
}

// userNameRune says whether r may stand in a user name after a letter
// (prevLetter) or not, and whether it counts as part of a letter.
func userNameRune(r rune, prevLetter bool) (ok, letter bool) {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		return true, true
	case r >= '0' && r <= '9':
		return true, false
	case r < utf8.RuneSelf:
		return r > ' ' && r < 0x7f && !strings.ContainsRune(`/\%?#:`, r), false
	case hiddenRune(r):
		return false, false
	case unicode.Is(unicode.Mn, r):
		// A mark that NFC could not compose into its letter (rare: a
		// commune code such as x̄a names a device's account).
		return prevLetter, true
	case unicode.Is(unicode.Latin, r) && unicode.IsLetter(r):
		// Not a compatibility form (full-width Ａ, the ligature ﬁ).
		return norm.NFKC.String(string(r)) == string(r), true
	}
	return false, false
}

// suggestUserName proposes a name in the set for a refused one: dashes
// as '-', spaces as '-', compatibility forms folded, what is invisible
// or outside the set dropped.
func suggestUserName(name string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Pd, r), unicode.IsSpace(r):
			return '-'
		case hiddenRune(r):
			return -1
		}
		return r
	}, norm.NFKC.String(name))
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		if ok, letter := userNameRune(r, prevLetter); ok {
			b.WriteRune(r)
			prevLetter = letter
		}
	}
	return strings.Trim(b.String(), "-")
}
