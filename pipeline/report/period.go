package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// Location returns the time zone of every report period, Sơn La's day:
// [localtime.Location].
func Location() *time.Location { return localtime.Location() }

// PeriodKind says what sort of period a report covers.
type PeriodKind string

// The period kinds.
const (
	Month   PeriodKind = "month"
	Quarter PeriodKind = "quarter"
	Half    PeriodKind = "half"
	Year    PeriodKind = "year"
	Custom  PeriodKind = "custom"
)

// Period is a span of whole days in Asia/Ho_Chi_Minh: From is the first
// day's midnight, Until the midnight after the last day.
type Period struct {
	Name  string     `json:"name"` // 2025-Q1, 2025-H1, 2025, 2025-03, 2025-01-01..2025-02-15
	Kind  PeriodKind `json:"kind"`
	From  time.Time  `json:"from"`
	Until time.Time  `json:"until"`
}

// MaxPeriodDays bounds a custom period, so a typo cannot ask for a
// century of figures.
const MaxPeriodDays = 3 * 366

// ParsePeriod reads a period as people write it: "2025" (a year),
// "2025-H1" or "2025-H2", "2025-Q1" to "2025-Q4", "2025-03" (a month), or
// "FROM..UNTIL" with two dates such as "2025-01-01..2025-02-15" (both days
// included). Years from 2000 to 2100 are accepted.
func ParsePeriod(s string) (Period, error) {
	loc := Location()
	s = strings.TrimSpace(s)
	bad := func(why string) (Period, error) {
		return Period{}, pipeline.FieldError("period", "Period %q %s: write 2025, 2025-H1, 2025-Q1, 2025-03 or 2025-01-01..2025-02-15.", clip(s), why)
	}
	if s == "" {
		return Period{}, pipeline.FieldError("period", "The period is missing: write 2025, 2025-H1, 2025-Q1, 2025-03 or 2025-01-01..2025-02-15.")
	}
	if from, until, ok := strings.Cut(s, ".."); ok {
		f, err := parseDay(from, loc)
		if err != nil {
			return bad("has a bad first day (" + err.Error() + ")")
		}
		u, err := parseDay(until, loc)
		if err != nil {
			return bad("has a bad last day (" + err.Error() + ")")
		}
		if u.Before(f) {
			return bad("ends before it starts")
		}
		end := u.AddDate(0, 0, 1)
		if end.Sub(f) > MaxPeriodDays*24*time.Hour {
			return bad(fmt.Sprintf("is longer than %d days", MaxPeriodDays))
		}
		return Period{Name: f.Format(time.DateOnly) + ".." + u.Format(time.DateOnly), Kind: Custom, From: f, Until: end}, nil
	}
	ys, rest, _ := strings.Cut(s, "-")
	year, err := parseYear(ys)
	if err != nil {
		return bad("has a bad year (" + err.Error() + ")")
	}
	start := func(m int) time.Time { return time.Date(year, time.Month(m), 1, 0, 0, 0, 0, loc) }
	switch {
	case rest == "" && !strings.Contains(s, "-"):
		return Period{Name: ys, Kind: Year, From: start(1), Until: start(13)}, nil
	case len(rest) == 2 && (rest[0] == 'Q' || rest[0] == 'q') && rest[1] >= '1' && rest[1] <= '4':
		q := int(rest[1] - '0')
		return Period{Name: fmt.Sprintf("%d-Q%d", year, q), Kind: Quarter, From: start(3*q - 2), Until: start(3*q + 1)}, nil
	case len(rest) == 2 && (rest[0] == 'H' || rest[0] == 'h') && (rest[1] == '1' || rest[1] == '2'):
		h := int(rest[1] - '0')
		return Period{Name: fmt.Sprintf("%d-H%d", year, h), Kind: Half, From: start(6*h - 5), Until: start(6*h + 1)}, nil
	case len(rest) == 2 && isDigits(rest):
		m, _ := strconv.Atoi(rest)
		if m < 1 || m > 12 {
			return bad("has no month " + rest)
		}
		return Period{Name: fmt.Sprintf("%d-%02d", year, m), Kind: Month, From: start(m), Until: start(m + 1)}, nil
	}
	return bad("is not a period Loa knows")
}

// PeriodOf returns the month, quarter, half or year (by kind) that
// contains t.
func PeriodOf(kind PeriodKind, t time.Time) Period {
	t = t.In(Location())
	y, m := t.Year(), int(t.Month())
	var name string
	switch kind {
	case Month:
		name = fmt.Sprintf("%d-%02d", y, m)
	case Quarter:
		name = fmt.Sprintf("%d-Q%d", y, (m-1)/3+1)
	case Half:
		name = fmt.Sprintf("%d-H%d", y, (m-1)/6+1)
	default:
		name = strconv.Itoa(y)
	}
	p, _ := ParsePeriod(name)
	return p
}

// Closed reports whether the period has ended at now.
func (p Period) Closed(now time.Time) bool { return !now.Before(p.Until) }

// Contains reports whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.Until) }

// Months lists the calendar months the period touches, as "2025-01".
func (p Period) Months() []string {
	var out []string
	if !p.Until.After(p.From) {
		return out
	}
	loc := Location()
	f := p.From.In(loc)
	m := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, loc)
	for m.Before(p.Until) {
		out = append(out, m.Format("2006-01"))
		m = m.AddDate(0, 1, 0)
	}
	return out
}

// Days returns the number of days in the period.
func (p Period) Days() int {
	return int(p.Until.Sub(p.From).Round(time.Hour).Hours()) / 24
}

// ClosedSince lists the quarters, halves and years that closed in
// (after, now]: the reports a cron tick that last ran at after must
// produce.
func ClosedSince(after, now time.Time) []Period {
	var out []Period
	for _, k := range []PeriodKind{Quarter, Half, Year} {
		p := PeriodOf(k, now)
		// The period before the one now is in.
		prev := PeriodOf(k, p.From.Add(-time.Hour))
		if prev.Until.After(after) && !prev.Until.After(now) {
			out = append(out, prev)
		}
	}
	return out
}

func parseDay(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date like 2025-01-31", clip(s))
	}
	if t.Year() < 2000 || t.Year() > 2100 {
		return time.Time{}, fmt.Errorf("year %d is outside 2000–2100", t.Year())
	}
	return t, nil
}

func parseYear(s string) (int, error) {
	if len(s) != 4 || !isDigits(s) {
		return 0, fmt.Errorf("it is not four digits")
	}
	y, _ := strconv.Atoi(s)
	if y < 2000 || y > 2100 {
		return 0, fmt.Errorf("year %d is outside 2000–2100", y)
	}
	return y, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// clip shortens outside input quoted back in a message.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if r := []rune(s); len(r) > 30 {
		return string(r[:30]) + "…"
	}
	return s
}
