package web

import "testing"

func TestClockDuration(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want string
	}{
		{0, "0:00"}, {499, "0:00"}, {3788, "0:04"}, {59_600, "1:00"}, {600_000, "10:00"},
		{3_599_000, "59:59"}, {3_723_000, "1:02:03"}, {-5000, "0:00"},
	} {
		if got := clockDuration(tc.ms); got != tc.want {
			t.Errorf("clockDuration(%d) = %q, want %q", tc.ms, got, tc.want)
		}
	}
}
