package api

import (
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// TestParseWhen: a plain date is a day in the province's zone; as
// air_from the window starts at its 00:00, as air_until it runs through
// it (to 00:00 of the next day). A full time keeps its moment either way.
func TestParseWhen(t *testing.T) {
	vn := func(y int, m time.Month, d, h int) time.Time {
		return time.Date(y, m, d, h, 0, 0, 0, localtime.Location()).UTC()
	}
	cases := []struct {
		name, v string
		end     bool
		want    time.Time
		bad     string
	}{
		{"empty from", "", false, time.Time{}, ""},
		{"empty until", "", true, time.Time{}, ""},
		{"date as from: its 00:00", "2026-12-01", false, vn(2026, 12, 1, 0), ""},
		{"date as until: through its end", "2026-12-02", true, vn(2026, 12, 3, 0), ""},
		{"last day of the year", "2026-12-31", true, vn(2027, 1, 1, 0), ""},
		{"last day of February", "2028-02-28", true, vn(2028, 2, 29, 0), ""},
		{"moment as until keeps it", "2026-12-02T00:00:00+07:00", true, vn(2026, 12, 2, 0), ""},
		{"moment in UTC as until", "2026-12-02T10:30:00Z", true, time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC), ""},
		{"moment as from", "2026-12-01T05:00:00+07:00", false, vn(2026, 12, 1, 5), ""},
		{"not a date", "31/12/2026", true, time.Time{}, `air_until "31/12/2026" is not a date`},
		{"no such day", "2026-02-30", false, time.Time{}, `air_from "2026-02-30" is not a date`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			field := "air_from"
			if c.end {
				field = "air_until"
			}
			got, err := parseWhen(field, c.v, c.end)
			if c.bad != "" {
				if pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(err.Error(), c.bad) {
					t.Fatalf("%q: %v, want a refusal saying %q", c.v, err, c.bad)
				}
				return
			}
			if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
				t.Fatalf("%q: %v (%v), want %v in UTC", c.v, got, err, c.want)
			}
		})
	}
}

// TestDateOnlyWindow: the fields of one upload read as one window: from
// and until the same date is that whole day, until before from is empty,
// and the last day on air is the date named.
func TestDateOnlyWindow(t *testing.T) {
	now := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC) // 05:00 on 1 December in Sơn La
	cases := []struct {
		name        string
		from, until string
		wantFrom    string
		wantUntil   string
		lastDay     string
		bad         string
	}{
		{"one day", "2026-12-01", "2026-12-01", "2026-12-01 00:00", "2026-12-02 00:00", "2026-12-01", ""},
		{"two days", "2026-12-01", "2026-12-02", "2026-12-01 00:00", "2026-12-03 00:00", "2026-12-02", ""},
		{"until today, from now", "", "2026-12-01", "2026-12-01 05:00", "2026-12-02 00:00", "2026-12-01", ""},
		{"until a moment keeps it", "2026-12-01", "2026-12-02T17:00:00+07:00", "2026-12-01 00:00", "2026-12-02 17:00", "2026-12-02", ""},
		{"until before from", "2026-12-02", "2026-12-01", "", "", "", "ends before it starts"},
		{"through yesterday", "2026-11-29", "2026-11-30", "", "", "", "is in the past"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := metaFromFields(map[string][]string{"title": {"Tin"}, "kind": {"radio"}, "topic": {"budget"},
				"air_from": {c.from}, "air_until": {c.until}})
			if err == nil {
				err = m.Validate(now)
			}
			if c.bad != "" {
				if pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(err.Error(), c.bad) {
					t.Fatalf("%v, want a refusal saying %q", err, c.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			local := func(x time.Time) string { return x.In(localtime.Location()).Format("2006-01-02 15:04") }
			if local(m.AirFrom) != c.wantFrom || local(m.AirUntil) != c.wantUntil || pipeline.LastAirDay(m.AirUntil) != c.lastDay {
				t.Fatalf("window %s – %s, last day %s; want %s – %s, last day %s",
					local(m.AirFrom), local(m.AirUntil), pipeline.LastAirDay(m.AirUntil), c.wantFrom, c.wantUntil, c.lastDay)
			}
		})
	}
}

// FuzzParseWhen: whatever a producer sends, parseWhen refuses it with a
// field error or returns a UTC time; a date read as until is exactly one
// day after the same date read as from, and LastAirDay gives the date back.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"", "2026-12-01", "2026-12-31", "2026-12-01T05:00:00+07:00", "2026-12-01T00:00:00Z", "31/12/2026", "0000-01-01", "9999-12-31", "2026-13-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		from, errFrom := parseWhen("air_from", v, false)
		until, errUntil := parseWhen("air_until", v, true)
		if (errFrom == nil) != (errUntil == nil) {
			t.Fatalf("%q: from %v, until %v: one reads it, the other does not", v, errFrom, errUntil)
		}
		if errFrom != nil {
			if pipeline.ErrorCode(errFrom) != pipeline.CodeInvalid || pipeline.ErrorCode(errUntil) != pipeline.CodeInvalid {
				t.Fatalf("%q: %v / %v, want field errors", v, errFrom, errUntil)
			}
			return
		}
		if !from.IsZero() && from.Location() != time.UTC || !until.IsZero() && until.Location() != time.UTC {
			t.Fatalf("%q: %v, %v not in UTC", v, from, until)
		}
		if _, err := time.Parse(time.DateOnly, v); err == nil {
			if got := until.Sub(from); got != 24*time.Hour {
				t.Fatalf("date %q: until is %v after from, want 24h", v, got)
			}
			if d := pipeline.LastAirDay(until); d != v {
				t.Fatalf("date %q: last day on air %q", v, d)
			}
		} else if !from.Equal(until) {
			t.Fatalf("moment %q: from %v, until %v differ", v, from, until)
		}
	})
}
