package pipeline

import (
	"strings"
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{24 * time.Hour, "24h"},
		{72 * time.Hour, "72h"},
		{90 * time.Minute, "1h30m"},
		{2*time.Hour + 5*time.Second, "2h5s"},
		{30 * time.Second, "30s"},
		{17*time.Hour + 400*time.Millisecond, "17h"},
		{250 * time.Millisecond, "250ms"},
		{0, "0s"},
		{-time.Minute, "-1m"},
	} {
		if got := HumanDuration(tc.d); got != tc.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestUnknownPriorityMessage: an unknown priority at upload names the
// priorities an upload may have, not emergency (raised only afterwards).
func TestUnknownPriorityMessage(t *testing.T) {
	t.Parallel()
	m := Meta{Title: "Bản tin", Kind: KindRadio, Topic: "procedures", Priority: "urgent"}
	err := m.Validate(time.Now())
	msg := ErrorMessage(err)
	if ErrorCode(err) != CodeInvalid || strings.Contains(msg, "say normal, priority or emergency") || !strings.Contains(msg, "normal or priority") {
		t.Fatalf("unknown priority: %v", err)
	}
}
