package broadcast

import (
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestEmergencyReason: an emergency's reason (raise, end) is one line in
// the audit log, notices and the CLI: runs of spaces, tabs and line
// breaks become one space, it is kept in NFC, and a character that does
// not show as itself is refused with its name and place.
func TestEmergencyReason(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		bad      bool
	}{
		{"  lũ quét\tbản Nà\nSài ", "lũ quét bản Nà Sài", false},
		{"lu\u0303 que\u0301t", "lũ quét", false},
		{"lũ quét \u202eiàS àN", "U+202E RIGHT-TO-LEFT OVERRIDE, at character 9", true},
		{"cháy\u200brừng", "U+200B ZERO WIDTH SPACE, at character 5", true},
		{"\u2066cháy", "U+2066 LEFT-TO-RIGHT ISOLATE, at character 1", true},
		{" \t", "Say why the emergency is raised", true},
	}
	for _, c := range cases {
		got, err := emergencyReason(c.in)
		if c.bad {
			if pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q: %v, want a refusal saying %q", c.in, err, c.want)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q (%v), want %q", c.in, got, err, c.want)
		}
	}
}
