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

func TestSpokenDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d      time.Duration
		en, vi string
	}{
		{72 * time.Hour, "3 days", "72 giờ"},
		{120 * time.Hour, "5 days", "5 ngày"},
		{24 * time.Hour, "24 hours", "24 giờ"},
		{36 * time.Hour, "36 hours", "36 giờ"},
		{time.Hour, "1 hour", "1 giờ"},
		{90 * time.Minute, "1 hour 30 minutes", "1 giờ 30 phút"},
		{2*time.Hour + 5*time.Second, "2 hours 5 seconds", "2 giờ 5 giây"},
		{time.Minute + 400*time.Millisecond, "1 minute", "1 phút"},
		{0, "0 seconds", "0 giây"},
		{-6 * time.Hour, "-6 hours", "-6 giờ"},
	} {
		if got := SpokenDuration(tc.d, "en"); got != tc.en {
			t.Errorf("SpokenDuration(%v, en) = %q, want %q", tc.d, got, tc.en)
		}
		if got := SpokenDuration(tc.d, "vi"); got != tc.vi {
			t.Errorf("SpokenDuration(%v, vi) = %q, want %q", tc.d, got, tc.vi)
		}
	}
}

func TestClockDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ms   int64
		want string
	}{
		{0, "0:00"}, {499, "0:00"}, {3788, "0:04"}, {10_998, "0:11"}, {59_600, "1:00"}, {600_000, "10:00"},
		{3_599_000, "59:59"}, {3_723_000, "1:02:03"}, {-5000, "0:00"},
	} {
		if got := ClockDuration(tc.ms); got != tc.want {
			t.Errorf("ClockDuration(%d) = %q, want %q", tc.ms, got, tc.want)
		}
	}
}
