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
// bundle downloads as loa-CODE-DATE.tar. An id has one form, its
// canonical one: 1 to MaxIDLen characters, lower-case ASCII letters a-z,
// the digits 0-9, '-' and '_', beginning with a letter or digit
// ("muong-lan", "ban-1"). The import refuses any other (CheckID), naming
// the id it likely meant: "Mường-Lạn" and "Muong-Lan" are "muong-lan". So
// two ids never differ only by case or diacritics, and an id is its own
// file name (SafeName). Registries stored by older versions may still hold
// ids with capitals or Vietnamese diacritics (then accepted); a build
// takes such an id by its file name, and leaves out a commune or cluster
// whose file name another one already has (checkStoredID, Buildable).
// Language codes are the fixed set vi, blt and hnj.

// MaxIDLen is the longest commune code or cluster id, in characters.
const MaxIDLen = 64

// ErrBadID reports a commune code or cluster id outside the documented set.
var ErrBadID = errors.New("ids use lower-case ASCII letters a-z, digits 0-9, '-' and '_', and begin with a letter or digit")

// errStoredID is ErrBadID's wording for the wider set older versions
// stored.
var errStoredID = fmt.Errorf("ids use Latin letters (diacritics allowed), digits 0-9, '-' and '_', and begin with a letter or digit: %w", ErrBadID)

// NormalizeID trims an id and puts it in Unicode NFC, so the same text
// typed with combining accents is the same id.
func NormalizeID(id string) string { return norm.NFC.String(strings.TrimSpace(id)) }

// CheckID says what is wrong with an id (see NormalizeID) that is not in
// its canonical form, or returns nil. The error names the id it likely
// meant when there is one: "Muong-Lan" and "mường-lan" are "muong-lan".
func CheckID(id string) error {
	if !utf8.ValidString(id) {
		return fmt.Errorf("%q is not UTF-8 text: %w", id, ErrBadID)
	}
	if n := utf8.RuneCountInString(id); n == 0 || n > MaxIDLen {
		return fmt.Errorf("%q has %d characters, want 1 to %d: %w", id, n, MaxIDLen, ErrBadID)
	}
	for i, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_')
		if !ok {
			try := ""
			if s := suggestID(id); s != "" && s != id {
				try = fmt.Sprintf(" (write %q)", s)
			}
			return fmt.Errorf("%q has %q at character %d%s: %w", id, r, utf8.RuneCountInString(id[:i])+1, try, ErrBadID)
		}
	}
	return nil
}

// checkStoredID is CheckID for an id a registry stored by an older
// version may hold: Latin letters with diacritics and capitals were
// allowed then. Such an id is taken by its file name (SafeName).
func checkStoredID(id string) error {
	if !utf8.ValidString(id) {
		return fmt.Errorf("%q is not UTF-8 text: %w", id, errStoredID)
	}
	if n := utf8.RuneCountInString(id); n == 0 || n > MaxIDLen {
		return fmt.Errorf("%q has %d characters, want 1 to %d: %w", id, n, MaxIDLen, errStoredID)
	}
	for i, r := range id {
		ok := r >= '0' && r <= '9' || unicode.Is(unicode.Latin, r) ||
			i > 0 && (r == '-' || r == '_' || unicode.Is(unicode.Mn, r))
		if !ok {
			return fmt.Errorf("%q has %q at character %d: %w", id, r, utf8.RuneCountInString(id[:i])+1, errStoredID)
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
