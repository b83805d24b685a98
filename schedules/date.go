package schedules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a civil date (a day on the calendar, with no time of day and no
// zone). Schedules are built for dates; a date becomes instants only
// together with a registry's time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses a date written exactly as YYYY-MM-DD: nothing before
// or after it (no space either), so one date has one spelling (a
// playlist's address, a cache key). The error says what was expected.
// It accepts what time.Parse(time.DateOnly, s) accepts, a day that
// exists in its month (2024-02-29, not 2025-02-29), without building a
// time.Time: a device's every playlist poll parses one.
func ParseDate(s string) (Date, error) {
	if d, ok := parseDateOnly(s); ok {
		return d, nil
	}
	return Date{}, fmt.Errorf("date %q: want exactly YYYY-MM-DD (e.g. 2025-03-03), with nothing before or after it", s)
}

// parseDateOnly is ParseDate without the error.
func parseDateOnly(s string) (Date, bool) {
	if len(s) != len("2006-01-02") || s[4] != '-' || s[7] != '-' {
		return Date{}, false
	}
	num := 0
	for i := range len(s) {
		if i == 4 || i == 7 {
			continue
		}
		c := s[i]
		if c < '0' || c > '9' {
			return Date{}, false
		}
		num = num*10 + int(c-'0')
	}
	// num is YYYYMMDD.
	y, m, d := num/10000, time.Month(num/100%100), num%100
	if m < time.January || m > time.December || d < 1 || d > daysIn(y, m) {
		return Date{}, false
	}
	return Date{Year: y, Month: m, Day: d}, true
}

// daysIn is the number of days of month m of year y (proleptic Gregorian).
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// String returns the date as YYYY-MM-DD.
func (d Date) String() string {
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	return string(d.appendTo(make([]byte, 0, 10)))
}

// appendTo appends d as YYYY-MM-DD (a year of 0 to 9999).
func (d Date) appendTo(b []byte) []byte {
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Appendf(b, "%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	y := d.Year
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append2(b, int(d.Month))
	b = append(b, '-')
	return append2(b, d.Day)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// AddDays returns the date n days after d (before d when n is negative).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// In returns the instant d begins (midnight) in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// dayNumber counts days since 1970-01-01; it orders and subtracts dates.
func (d Date) dayNumber() int {
	return int(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Before reports whether d comes before e.
func (d Date) Before(e Date) bool {
	if d.valid() && e.valid() {
		// Two days that exist (a device's every poll compares three):
		// in calendar order, without time.Date.
		if d.Year != e.Year {
			return d.Year < e.Year
		}
		if d.Month != e.Month {
			return d.Month < e.Month
		}
		return d.Day < e.Day
	}
	return d.dayNumber() < e.dayNumber()
}

// valid reports whether d is a day that exists (no day 0 or 31 April,
// which time.Date would carry into the next month).
func (d Date) valid() bool {
	return d.Month >= time.January && d.Month <= time.December && d.Day >= 1 && d.Day <= daysIn(d.Year, d.Month)
}

// DaysSince returns the number of days from e to d (negative if d is before e).
func (d Date) DaysSince(e Date) int { return d.dayNumber() - e.dayNumber() }

// TimeOfDay is a wall-clock time as seconds after midnight, 0 to 86399.
type TimeOfDay int

// ParseTimeOfDay parses HH:MM or HH:MM:SS on a 24-hour clock.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("time %q: want HH:MM on a 24-hour clock", s)
	}
	limits := []int{23, 59, 59}
	total := 0
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > limits[i] || len(p) > 2 || p == "" {
			return 0, fmt.Errorf("time %q: want HH:MM on a 24-hour clock (00:00 to 23:59)", s)
		}
		total = total*60 + n
	}
	if len(parts) == 2 {
		total *= 60
	}
	return TimeOfDay(total), nil
}

// String returns the time as HH:MM, or HH:MM:SS when it has seconds.
func (t TimeOfDay) String() string {
	h, m, s := int(t)/3600, int(t)/60%60, int(t)%60
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

// Duration returns the time since midnight as a duration.
func (t TimeOfDay) Duration() time.Duration { return time.Duration(t) * time.Second }

// Weekdays is a set of days of the week; bit i stands for time.Weekday(i).
type Weekdays uint8

// Common sets of weekdays.
const (
	MondayToSaturday Weekdays = 0b1111110
	EveryDay         Weekdays = 0b1111111
)

// Has reports whether d is in the set.
func (w Weekdays) Has(d time.Weekday) bool { return w&(1<<uint(d)) != 0 }

// Overlaps reports whether the two sets share a day.
func (w Weekdays) Overlaps(v Weekdays) bool { return w&v != 0 }

var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// String writes the set as runs of English day abbreviations, Monday first:
// "Mon-Sat", "Mon,Wed,Fri", "Mon-Sun".
func (w Weekdays) String() string {
	if w == 0 {
		return "none"
	}
	// Walk Monday..Sunday so a Mon-Sat week reads naturally.
	order := [7]time.Weekday{1, 2, 3, 4, 5, 6, 0}
	var runs []string
	for i := 0; i < 7; {
		if !w.Has(order[i]) {
			i++
			continue
		}
		j := i
		for j+1 < 7 && w.Has(order[j+1]) {
			j++
		}
		switch {
		case j == i:
			runs = append(runs, dayNames[order[i]])
		case j == i+1:
			runs = append(runs, dayNames[order[i]], dayNames[order[j]])
		default:
			runs = append(runs, dayNames[order[i]]+"-"+dayNames[order[j]])
		}
		i = j + 1
	}
	return strings.Join(runs, ",")
}

// ParseWeekdays parses a set of days such as "Mon-Sat", "Mon,Wed,Fri",
// "daily", or the Vietnamese "T2-T7", "T2,T4,CN" (T2 is Monday, CN Sunday).
// Items are separated by commas, semicolons or spaces; a range runs forward
// through the week from Monday to Sunday.
func ParseWeekdays(s string) (Weekdays, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
	if len(fields) == 0 {
		return 0, fmt.Errorf("days %q: empty; write e.g. Mon-Sat or T2-T7", s)
	}
	var w Weekdays
	for _, f := range fields {
		lf := strings.ToLower(f)
		if lf == "daily" || lf == "everyday" || lf == "hangngay" || lf == "hàngngày" {
			w |= EveryDay
			continue
		}
		from, to, isRange := strings.Cut(f, "-")
		a, ok := parseDay(from)
		if !ok {
			return 0, fmt.Errorf("days %q: unknown day %q; use Mon..Sun or T2..T7, CN", s, from)
		}
		if !isRange {
			w |= 1 << uint(a)
			continue
		}
		b, ok := parseDay(to)
		if !ok {
			return 0, fmt.Errorf("days %q: unknown day %q; use Mon..Sun or T2..T7, CN", s, to)
		}
		// Position in a Monday-first week: Mon=0 .. Sun=6.
		pa, pb := (int(a)+6)%7, (int(b)+6)%7
		if pb < pa {
			return 0, fmt.Errorf("days %q: range %s runs backwards; weeks run Mon to Sun", s, f)
		}
		for p := pa; p <= pb; p++ {
			w |= 1 << uint((p+1)%7)
		}
	}
	return w, nil
}

func parseDay(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, n := range dayNames {
		if s == strings.ToLower(n) {
			return time.Weekday(i), true
		}
	}
	switch s {
	case "cn":
		return time.Sunday, true
	case "t2", "t3", "t4", "t5", "t6", "t7":
		return time.Weekday(s[1] - '1'), true
	}
	return 0, false
}
