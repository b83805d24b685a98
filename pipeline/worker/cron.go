package worker

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Zone is the time zone of every cron spec: Loa's broadcast day is
// Asia/Ho_Chi_Minh (UTC+7, no daylight saving, so no tick is skipped or
// doubled).
const Zone = "Asia/Ho_Chi_Minh"

// zoned runs a cron schedule in a fixed location whatever the location of
// the time River passes in.
type zoned struct {
	s   cron.Schedule
	loc *time.Location
}

// Next returns the next activation after t.
func (z zoned) Next(t time.Time) time.Time { return z.s.Next(t.In(z.loc)) }

// ParseSpec parses a standard five-field cron spec (or a descriptor such as
// @daily) to run in Asia/Ho_Chi_Minh. robfig/cron panics on some malformed
// specs (a bare CRON_TZ=...), so parsing runs under recover, and time zone
// prefixes are refused: every Loa schedule is in the province's time.
func ParseSpec(spec string) (s interface{ Next(time.Time) time.Time }, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("cron spec is empty: write five fields such as \"0 2 * * *\"")
	}
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		return nil, fmt.Errorf("cron spec %q: leave out the time zone; all schedules run in %s", spec, Zone)
	}
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		return nil, fmt.Errorf("load time zone %s: %w", Zone, err)
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cron spec %q is malformed: %v", spec, r)
		}
	}()
	parsed, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cron spec %q: %w (write five fields: minute hour day-of-month month day-of-week)", spec, err)
	}
	return zoned{s: parsed, loc: loc}, nil
}
