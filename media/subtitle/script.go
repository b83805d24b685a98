package subtitle

import (
	"slices"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// scriptsIn returns the scripts of the letters and marks in s, in order of
// first appearance. Digits, punctuation, spaces and combining marks shared
// by all scripts (Common, Inherited) are not counted.
func scriptsIn(s string) []Script {
	var out []Script
	for _, r := range s {
		var sc Script
		switch {
		case unicode.Is(unicode.Tai_Viet, r):
			sc = TaiViet
		case unicode.Is(unicode.Latin, r):
			sc = Latin
		case !unicode.IsLetter(r) && !unicode.IsMark(r):
			continue
		case unicode.Is(unicode.Inherited, r) || unicode.Is(unicode.Common, r):
			continue
		default:
			sc = scriptName(r)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// scriptNames lists Unicode script names in sorted order, so lookups are
// deterministic.
var scriptNames = func() []string {
	names := make([]string, 0, len(unicode.Scripts))
	for name := range unicode.Scripts {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}()

// scriptName returns the Unicode script of r, "Han", "Cyrillic", "Thai"...
func scriptName(r rune) Script {
	for _, name := range scriptNames {
		if unicode.Is(unicode.Scripts[name], r) {
			return Script(strings.ReplaceAll(name, "_", " "))
		}
	}
	return "unknown"
}

// viWords are frequent Vietnamese function words written with Vietnamese
// diacritics. Content words are left out on purpose: administrative terms
// such as "thủ tục hành chính" are borrowed into Thái and Mông as they are.
var viWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`của và các có là được những không này người với để đã đang sẽ một
		thì mà cũng nhưng hoặc tại về từ nếu vì nên nhiều hơn rất đến vào lên thể phải bằng như
		việc chúng tôi bạn họ đây đó hãy nhằm trên dưới trước giữa cùng còn chỉ đều mỗi mọi tất cả`) {
		m[norm.NFC.String(w)] = true
	}
	return m
}()

// looksVietnamese reports whether a line reads as Vietnamese prose: at least
// two of its words, and a quarter of them, are frequent Vietnamese words
// written with Vietnamese diacritics. It is a heuristic for catching lines
// left untranslated; short lines and names pass.
func looksVietnamese(s string) bool {
	words := strings.FieldsFunc(strings.ToLower(norm.NFC.String(s)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsMark(r)
	})
	hits := 0
	for _, w := range words {
		if viWords[w] {
			hits++
		}
	}
	return hits >= 2 && hits*4 >= len(words)
}
