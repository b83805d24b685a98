package subtitle

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

// ErrNotUTF8 is wrapped by the ParseError returned for files that are not
// UTF-8 text (legacy Vietnamese encodings, UTF-16, binary files).
var ErrNotUTF8 = errors.New("not UTF-8 text")

// checkEncoding refuses data that is not UTF-8 text, guessing the encoding
// it is in so the message can say what to do.
func checkEncoding(data []byte) *ParseError {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) ||
		bytes.IndexByte(data, 0) >= 0 {
		line := 1
		if i := bytes.IndexByte(data, 0); i >= 0 {
			line = lineOf(data, i)
		}
		return &ParseError{Line: line, Err: ErrNotUTF8,
			Msg: "the file is not UTF-8 (it looks like UTF-16, which Notepad calls \"Unicode\", or is not a text file); " +
				"save it as UTF-8 and upload again"}
	}
	if utf8.Valid(data) {
		return nil
	}
	at := 0
	for at < len(data) {
		r, size := utf8.DecodeRune(data[at:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		at += size
	}
	return &ParseError{Line: lineOf(data, at), Err: ErrNotUTF8,
		Msg: "the file is not UTF-8 (it looks like " + guessLegacy(data) + "); " +
			"convert it to Unicode (for example with UniKey's converter), save it as UTF-8 and upload again"}
}

// lineOf returns the 1-based line number of byte offset i.
func lineOf(data []byte, i int) int {
	return bytes.Count(data[:i], []byte{'\n'}) + 1
}

// guessLegacy names the legacy encoding data most likely uses. The guess
// rests on byte patterns only, so it says "looks like" in messages:
//   - TCVN3 (ABC) puts ă â ê ô ơ ư đ and many toned vowels at 0xA1–0xBF,
//     where Windows-1258 and VNI have rarely used symbols;
//   - VNI writes a toned vowel as an ASCII vowel followed by a mark byte
//     (chào = "chaøo");
//   - Windows-1258 writes tones as combining bytes 0xCC 0xEC 0xDE 0xD2 0xF2
//     after a vowel (chào = "cha\xCCo").
func guessLegacy(data []byte) string {
	var tcvn, vni, cp1258 int
	for i, b := range data {
		if b < 0x80 {
			continue
		}
		if b >= 0xA1 && b <= 0xBF {
			tcvn++
		}
		if i == 0 {
			continue
		}
		prev := data[i-1]
		switch {
		case isCP1258Tone(b) && (isASCIIVowel(prev) || isCP1258Vowel(prev)):
			cp1258++
		case isASCIIVowel(prev) && isVNIMark(b):
			vni++
		}
	}
	switch {
	case tcvn > 0 && tcvn >= vni && tcvn >= cp1258:
		return "TCVN3 (ABC), an old Vietnamese encoding"
	case vni > 0 && vni >= cp1258:
		return "VNI, an old Vietnamese encoding"
	case cp1258 > 0:
		return "Windows-1258, an old Vietnamese encoding"
	}
	return "an old Vietnamese encoding such as TCVN3, VNI or Windows-1258"
}

func isASCIIVowel(b byte) bool {
	switch b | 0x20 {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

// isCP1258Tone reports the Windows-1258 combining tone marks.
func isCP1258Tone(b byte) bool {
	switch b {
	case 0xCC, 0xEC, 0xDE, 0xD2, 0xF2:
		return true
	}
	return false
}

// isCP1258Vowel reports Windows-1258 bytes for â ê ô ă ơ ư and capitals.
func isCP1258Vowel(b byte) bool {
	switch b {
	case 0xE2, 0xEA, 0xF4, 0xE3, 0xF5, 0xFD, 0xC2, 0xCA, 0xD4, 0xC3, 0xD5, 0xDD:
		return true
	}
	return false
}

// isVNIMark reports VNI-Windows bytes that follow a vowel to add a tone,
// circumflex or breve (lower and upper case).
func isVNIMark(b byte) bool {
	switch b {
	case 0xF9, 0xF8, 0xFB, 0xF5, 0xEF, // á à ả ã ạ
		0xE1, 0xE0, 0xE5, 0xE3, 0xE4, // ấ ầ ẩ ẫ ậ
		0xE9, 0xE8, 0xFA, 0xFC, 0xEB, // ắ ằ ẳ ẵ ặ
		0xD9, 0xD8, 0xDB, 0xD5, 0xCF,
		0xC1, 0xC0, 0xC5, 0xC3, 0xC4,
		0xC9, 0xC8, 0xDA, 0xDC, 0xCB:
		return true
	}
	return false
}
