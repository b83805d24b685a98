// Package localtime is Loa's one time zone and the cron specs read in it.
// Every local time Loa shows or parses — broadcast days, report periods,
// deadlines, producers' dates, cron ticks — is in Asia/Ho_Chi_Minh (UTC+7,
// no daylight saving, so no tick is skipped or doubled). Other packages
// ask this one instead of writing the zone again.
package localtime

import (
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Ho_Chi_Minh even on machines without zone files

	"github.com/robfig/cron/v3"
)

// Name is the IANA name of Loa's time zone.
const Name = "Asia/Ho_Chi_Minh"

var location = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation(Name)
	if err != nil {
		// time/tzdata is embedded, so this cannot happen; the fixed
		// offset is the same zone (Vietnam has no daylight saving).
		return time.FixedZone("ICT", 7*3600)
	}
	return loc
})

// Location returns Asia/Ho_Chi_Minh.
func Location() *time.Location { return location() }

// Schedule is a parsed cron spec: Next returns the first activation
// strictly after t (in any location; the result is in Location).
type Schedule interface {
	Next(t time.Time) time.Time
}

// zoned runs a cron schedule in a fixed location whatever the location of
// the time passed in.
type zoned struct {
	s   cron.Schedule
	loc *time.Location
}

// Next returns the next activation after t.
func (z zoned) Next(t time.Time) time.Time { return z.s.Next(t.In(z.loc)) }

// ParseSpec parses a standard five-field cron spec (or a descriptor such as
// @daily) to run in Asia/Ho_Chi_Minh. robfig/cron panics on some malformed
// specs (a bare CRON_TZ=...), so parsing runs under recover, and time zone
// prefixes are refused: every Loa schedule is in the province's time. The
// error says what to write instead.
func ParseSpec(spec string) (s Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("cron spec is empty: write five fields such as \"0 2 * * *\"")
	}
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		return nil, fmt.Errorf("cron spec %q: leave out the time zone; all schedules run in %s", spec, Name)
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
	return zoned{s: parsed, loc: Location()}, nil
}
