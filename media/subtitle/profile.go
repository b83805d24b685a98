package subtitle

import (
	"slices"
	"time"
)

// Script is a writing system a subtitle line may use.
type Script string

// The scripts Loa's languages are written in.
const (
	Latin   Script = "Latin"
	TaiViet Script = "Tai Viet" // Unicode block U+AA80–U+AADF
)

// Profile holds the limits Check applies for one language on one channel.
// A zero limit turns its check off, so a caller can copy a profile and relax
// or tighten it for another channel.
type Profile struct {
	Lang     string // ISO 639 code: "vi", "blt" (Thái, Tai Dam), "hnj" (Mông, Hmong Njua)
	LangName string // name used in messages: "Vietnamese", "Thái", "Mông"
	Channel  string // "tv": subtitles only reach viewers on television

	MaxLines     int     // most lines in one cue
	MaxLineChars int     // most characters (grapheme clusters) in one line
	MaxCPS       float64 // reading speed above which a warning is given
	HardMaxCPS   float64 // reading speed above which the cue is an error

	MinDuration time.Duration // shortest cue (warning)
	MaxDuration time.Duration // longest cue (warning)
	MinGap      time.Duration // least time between cues (warning)

	Scripts []Script // scripts a line may use; nil allows any
	// VietnameseLine is how a line that reads as Vietnamese is reported;
	// 0 turns the check off (as for Vietnamese itself).
	VietnameseLine Severity
}

// allows reports whether the profile accepts script s.
func (p Profile) allows(s Script) bool {
	return p.Scripts == nil || slices.Contains(p.Scripts, s)
}

// ProfileFor returns the television profile for lang: "vi", "blt" or "hnj".
// The numbers follow the public subtitle style guides: at most 2 lines of
// 42 characters, 17 characters per second (21 is an error), 833 ms to 7 s
// per cue, 80 ms (2 frames at 25 fps) between cues. Thái may be Tai Viet or
// Latin, and a Vietnamese line in it is an error; Mông and Vietnamese are
// Latin, and a Vietnamese-looking Mông line is only a warning because the
// Mông 1961 script shares Vietnamese letters. Any other lang gets the same
// numbers with no script check.
func ProfileFor(lang string) Profile {
	p := Profile{
		Lang:         lang,
		LangName:     lang,
		Channel:      "tv",
		MaxLines:     2,
		MaxLineChars: 42,
		MaxCPS:       17,
		HardMaxCPS:   21,
		MinDuration:  833 * time.Millisecond,
		MaxDuration:  7 * time.Second,
		MinGap:       80 * time.Millisecond,
	}
	switch lang {
	case "vi":
		p.LangName = "Vietnamese"
		p.Scripts = []Script{Latin}
	case "blt":
		p.LangName = "Thái"
		p.Scripts = []Script{TaiViet, Latin}
		p.VietnameseLine = Error
	case "hnj":
		p.LangName = "Mông"
		p.Scripts = []Script{Latin}
		p.VietnameseLine = Warning
	}
	return p
}
