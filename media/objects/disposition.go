package objects

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Attachment returns a Content-Disposition value offering name as the
// download name, written the RFC 6266 way so that it is plain ASCII: an
// ASCII fallback in filename= (Vietnamese diacritics dropped, đ as d,
// other characters as _) for old clients, and the exact name, UTF-8 and
// percent-encoded (RFC 8187), in filename*= for the rest. Not every store
// or client accepts raw UTF-8 in a header, and Vietnamese names are the
// norm. Control characters and invalid UTF-8 in name become _. An empty
// name gives "attachment".
func Attachment(name string) string {
	name = cleanName(name)
	if name == "" {
		return "attachment"
	}
	var b strings.Builder
	b.WriteString(`attachment; filename="`)
	b.WriteString(asciiFallback(name))
	b.WriteString(`"; filename*=UTF-8''`)
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		if c := name[i]; isAttrChar(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
	}
	return b.String()
}

// cleanName replaces invalid UTF-8 and control characters with _.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '_'
		}
		return r
	}, name)
}

// asciiFallback spells name in printable ASCII for filename=: letters lose
// their diacritics (ả → a, Ơ → O, đ → d); any other non-ASCII character,
// and the quote, backslash and percent sign (which some clients decode),
// becomes _.
func asciiFallback(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining mark: the letter before it stays, bare
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ':
			b.WriteByte('D')
		case r == '"' || r == '\\' || r == '%' || r >= utf8.RuneSelf || r < ' ' || r == 0x7f:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isAttrChar reports whether c may stand unencoded in an RFC 8187 value.
func isAttrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
