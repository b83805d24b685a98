package broadcast

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// TestBundleRange: a bundle runs from `from` to the last day built within
// the days asked; a from in the window (yesterday to the last day built,
// or today) that was not built is a 404 naming the days built; a from
// outside the window is a 422 naming it.
func TestBundleRange(t *testing.T) {
	now := time.Date(2025, 3, 3, 10, 0, 0, 0, Location()) // Monday
	day := func(n int) schedules.Date { return schedules.DateOf(now).AddDays(n) }
	week := pipeline.ScheduleVersion{Commune: "muong-lan", Seq: 4, Start: day(0).String(), Days: 7}
	stale := pipeline.ScheduleVersion{Commune: "muong-lan", Seq: 3, Start: day(-8).String(), Days: 7}
	for _, tc := range []struct {
		v         pipeline.ScheduleVersion
		from      schedules.Date
		days      int
		wantUntil schedules.Date
		wantCode  pipeline.Code
		wantText  []string
	}{
		{week, day(0), 2, day(1), "", nil},
		{week, day(0), 14, day(6), "", nil},
		{week, day(6), 3, day(6), "", nil},
		{week, day(5), 3, day(6), "", nil},
		{week, day(-1), 3, schedules.Date{}, pipeline.CodeNotFound, []string{day(0).String(), day(6).String(), "built"}},
		{week, day(7), 1, schedules.Date{}, pipeline.CodeInvalid, []string{day(-1).String(), day(6).String()}},
		{stale, day(0), 2, schedules.Date{}, pipeline.CodeNotFound, []string{day(-8).String(), day(-2).String()}},
		{pipeline.ScheduleVersion{Commune: "muong-lan"}, day(0), 3, day(2), "", nil}, // days not stored: as asked
	} {
		t.Run(fmt.Sprintf("%s+%d of %s+%d", tc.from, tc.days, tc.v.Start, tc.v.Days), func(t *testing.T) {
			until, err := bundleRange(tc.from, tc.days, now, tc.v)
			if tc.wantCode == "" {
				if err != nil || until != tc.wantUntil {
					t.Fatalf("until %s, %v; want %s", until, err, tc.wantUntil)
				}
				return
			}
			if pipeline.ErrorCode(err) != tc.wantCode {
				t.Fatalf("%v; want %s", err, tc.wantCode)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%v: does not say %q", err, s)
				}
			}
		})
	}
}
