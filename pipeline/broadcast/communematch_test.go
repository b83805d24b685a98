package broadcast

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sonla-cchc/loa/pipeline"
)

// FuzzCommuneMatches: whatever someone types as a commune code, matching
// it never panics, every match is a registry commune, and a commune's
// code and name each match that commune.
func FuzzCommuneMatches(f *testing.F) {
	cs := []pipeline.CommuneSummary{{Code: "muong-lan", Name: "Mường Lạn"}, {Code: "ta-xua", Name: "Tà Xùa"}, {Code: "dien-bien", Name: "Điện Biên"}}
	for _, s := range []string{"Mường Lạn", "MUONG-LAN", "muong lan", "  ta_xua ", "nope", "", "---", "Điện Biên", "\xff", "Mu\u031bo\u031b\u0300ng"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, m := range CommuneMatches(text, cs) {
			code, _, _ := strings.Cut(m, " (")
			found := false
			for _, c := range cs {
				found = found || c.Code == code
			}
			if !found {
				t.Fatalf("%q matched %q, not a registry commune", text, m)
			}
		}
		if !utf8.ValidString(text) {
			return
		}
		for _, c := range cs {
			for _, s := range []string{c.Code, c.Name} {
				if ms := CommuneMatches(s, cs); len(ms) != 1 || !strings.HasPrefix(ms[0], c.Code+" (") {
					t.Fatalf("%q matches %v, want only %s", s, ms, c.Code)
				}
			}
		}
	})
}
