package localtime

import (
	"strings"
	"testing"
	"time"
)

// TestLocation: the zone is UTC+7 all year, named Asia/Ho_Chi_Minh.
func TestLocation(t *testing.T) {
	t.Parallel()
	loc := Location()
	if loc.String() != Name {
		t.Errorf("Location() = %s, want %s", loc, Name)
	}
	for _, month := range []time.Month{time.January, time.July} {
		if _, off := time.Date(2025, month, 1, 12, 0, 0, 0, loc).Zone(); off != 7*3600 {
			t.Errorf("offset in %s = %d s, want 25200", month, off)
		}
	}
}

func TestParseSpec(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	good := []struct {
		spec     string
		after    time.Time
		wantNext time.Time
	}{
		// 05:00 Monday–Saturday in Sơn La: from Saturday 23:00 UTC
		// (Sunday 06:00 local) the next run is Monday 05:00 local.
		{"0 5 * * 1-6", utc("2025-03-01T23:00:00Z"), utc("2025-03-02T22:00:00Z")},
		{"30 2 * * *", utc("2025-03-01T00:00:00Z"), utc("2025-03-01T19:30:00Z")},
		{"@daily", utc("2025-03-01T12:00:00Z"), utc("2025-03-01T17:00:00Z")},
		{"*/15 * * * *", utc("2025-03-01T00:01:00Z"), utc("2025-03-01T00:15:00Z")},
	}
	for _, c := range good {
		s, err := ParseSpec(c.spec)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		if got := s.Next(c.after); !got.Equal(c.wantNext) {
			t.Errorf("%q after %s: next %s, want %s", c.spec, c.after, got.UTC(), c.wantNext)
		}
	}
	bad := []struct{ spec, want string }{
		{"", "empty"},
		{"CRON_TZ=", "time zone"}, // robfig/cron panics on this one
		{"CRON_TZ=Asia/Ho_Chi_Minh", "time zone"},
		{"TZ=UTC 0 5 * * *", "time zone"},
		{"0 5 * *", "five fields"},
		{"61 5 * * *", "five fields"},
		{"every morning", "five fields"},
	}
	for _, c := range bad {
		_, err := ParseSpec(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one mentioning %q", c.spec, err, c.want)
		}
	}
}

// FuzzParseSpec feeds arbitrary specs: parsing must never panic.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"0 5 * * 1-6", "CRON_TZ=", "@every 1h", "* * * * * *", "TZ="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if s, err := ParseSpec(spec); err == nil {
			s.Next(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		}
	})
}
