package report

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sonla-cchc/loa/pipeline"
)

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	loc := Location()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	for _, tc := range []struct {
		in          string
		name        string
		from, until time.Time
		months      int
	}{
		{"2025", "2025", day(2025, 1, 1), day(2026, 1, 1), 12},
		{"2025-Q1", "2025-Q1", day(2025, 1, 1), day(2025, 4, 1), 3},
		{"2025-q4", "2025-Q4", day(2025, 10, 1), day(2026, 1, 1), 3},
		{"2025-H1", "2025-H1", day(2025, 1, 1), day(2025, 7, 1), 6},
		{" 2025-H2 ", "2025-H2", day(2025, 7, 1), day(2026, 1, 1), 6},
		{"2025-03", "2025-03", day(2025, 3, 1), day(2025, 4, 1), 1},
		{"2025-01-10..2025-02-15", "2025-01-10..2025-02-15", day(2025, 1, 10), day(2025, 2, 16), 2},
		{"2025-02-01..2025-02-01", "2025-02-01..2025-02-01", day(2025, 2, 1), day(2025, 2, 2), 1},
	} {
		p, err := ParsePeriod(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if p.Name != tc.name || !p.From.Equal(tc.from) || !p.Until.Equal(tc.until) || len(p.Months()) != tc.months {
			t.Fatalf("%q = %+v (%d months), want %s %v..%v (%d)", tc.in, p, len(p.Months()), tc.name, tc.from, tc.until, tc.months)
		}
	}
	for _, in := range []string{"", "2025-Q5", "2025-H3", "2025-13", "1999", "25", "2025-02-30..2025-03-01", "2025-03-01..2025-02-01", "2000-01-01..2010-01-01", "Q1-2025", "2025-Q1x"} {
		_, err := ParsePeriod(in)
		if err == nil {
			t.Fatalf("%q parsed", in)
		}
		if pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(pipeline.ErrorMessage(err), "2025-Q1") {
			t.Fatalf("%q: %v does not say what to write", in, err)
		}
	}
}

func TestClosedSince(t *testing.T) {
	t.Parallel()
	loc := Location()
	// The tick just after New Year closes Q4, H2 and the year.
	got := ClosedSince(time.Date(2025, 12, 31, 1, 0, 0, 0, loc), time.Date(2026, 1, 1, 1, 0, 0, 0, loc))
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "2025-Q4,2025-H2,2025" {
		t.Fatalf("closed %v", names)
	}
	if got := ClosedSince(time.Date(2026, 2, 1, 0, 0, 0, 0, loc), time.Date(2026, 2, 2, 0, 0, 0, 0, loc)); len(got) != 0 {
		t.Fatalf("mid-quarter closed %v", got)
	}
}

func TestMedianPercentile(t *testing.T) {
	t.Parallel()
	v := []int64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	if Median(v) != 5 || Percentile(v, 90) != 9 || Percentile(v, 100) != 10 || Percentile([]int64{7}, 90) != 7 || Median(nil) != 0 {
		t.Fatalf("median %d p90 %d", Median(v), Percentile(v, 90))
	}
}

// FuzzParsePeriod: any input either parses to a well-formed period whose
// name parses back to itself, or is refused with an invalid-input error
// whose message is valid UTF-8 and short.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2025", "2025-Q1", "2025-H2", "2025-03", "2025-01-01..2025-03-31", "..", "2025-", "-Q1", "2025-02-29..2025-03-01", "９９９９"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			if pipeline.ErrorCode(err) != pipeline.CodeInvalid {
				t.Fatalf("%q: code %s", s, pipeline.ErrorCode(err))
			}
			if msg := pipeline.ErrorMessage(err); !utf8.ValidString(msg) && utf8.ValidString(s) || len(msg) > 400 {
				t.Fatalf("%q: message %q", s, msg)
			}
			return
		}
		if !p.Until.After(p.From) || p.Days() > MaxPeriodDays || p.Days() < 1 {
			t.Fatalf("%q: bad span %v..%v", s, p.From, p.Until)
		}
		q, err := ParsePeriod(p.Name)
		if err != nil || q.Name != p.Name || q.Kind != p.Kind || !q.From.Equal(p.From) || !q.Until.Equal(p.Until) {
			t.Fatalf("%q: name %q parses to %+v, %v", s, p.Name, q, err)
		}
	})
}
