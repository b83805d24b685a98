package schedules

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Identifiers that become file and object names.
//
// Commune codes and cluster ids name files and downloads: a cluster's
// playlists in an offline bundle are DATE_CLUSTER.m3u8 and .json, a
// bundle downloads as loa-CODE-DATE.tar. An id is 1 to MaxIDLen
// characters: Latin letters (Vietnamese diacritics included), the digits
// 0-9, '-' and '_', beginning with a letter or digit; it is kept in
// Unicode NFC. Its file name is SafeName(id): lower-case ASCII with the
// diacritics taken off (đ gives d). So ids that differ only by diacritics
// or case ("bản-1" and "bàn-1") would share a file: the registry import
// refuses them, and any id outside the set, with the line. Language codes
// are the fixed set vi, blt and hnj.

// MaxIDLen is the longest commune code or cluster id, in characters.
const MaxIDLen = 64

// ErrBadID reports a commune code or cluster id outside the documented set.
var ErrBadID = errors.New("ids use Latin letters (diacritics allowed), digits 0-9, '-' and '_', and begin with a letter or digit")

// NormalizeID trims an id and puts it in Unicode NFC, so the same text
// typed with combining accents is the same id.
func NormalizeID(id string) string { return norm.NFC.String(strings.TrimSpace(id)) }

// CheckID says what is wrong with an id (see NormalizeID), or returns nil.
func CheckID(id string) error {
	if !utf8.ValidString(id) {
		return fmt.Errorf("%q is not UTF-8 text: %w", id, ErrBadID)
	}
	if n := utf8.RuneCountInString(id); n == 0 || n > MaxIDLen {
		return fmt.Errorf("%q has %d characters, want 1 to %d: %w", id, n, MaxIDLen, ErrBadID)
	}
	for i, r := range id {
		ok := r >= '0' && r <= '9' || unicode.Is(unicode.Latin, r) ||
			i > 0 && (r == '-' || r == '_' || unicode.Is(unicode.Mn, r))
		if !ok {
			try := ""
			if s := suggestID(id); s != "" {
				try = fmt.Sprintf(" (try %q)", s)
			}
			return fmt.Errorf("%q has %q at character %d%s: %w", id, r, utf8.RuneCountInString(id[:i])+1, try, ErrBadID)
		}
	}
	return nil
}

// SafeName is the file-name form of an id: NFD-decomposed, diacritics
// dropped, đ as d, lower case, and every character outside a-z, 0-9, '-'
// and '_' as '_'. It is never empty and never "." or "..".
func SafeName(id string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToValidUTF8(id, "_")) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			r = '_'
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// suggestID proposes an id in the set for a refused one: its safe name
// with runs of other characters as one '-'.
func suggestID(id string) string {
	s := SafeName(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '.' || r == '/' || r == '\\' {
			return '-'
		}
		return r
	}, id))
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	return strings.Trim(s, "-_")
}
