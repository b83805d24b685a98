package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HumanDuration writes d as people read it: "24h", "1h30m", "90s",
// "2h0m5s" becomes "2h5s"; zero units are left out and anything under a
// second is rounded to whole seconds (under one second: "0s", or the
// milliseconds when d is below a second but not zero, "250ms").
func HumanDuration(d time.Duration) string {
	if d < 0 {
		return "-" + HumanDuration(-d)
	}
	if d > 0 && d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	d = d.Round(time.Second)
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		n    time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.n; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.name)
			d -= n * u.n
		}
	}
	return b.String()
}

// SpokenDuration writes d as people say it in lang ("vi" or "en"; any
// other is English), in whole units: "3 days", "36 hours", "1 hour 30
// minutes", "45 minutes", "30 seconds"; in Vietnamese "72 giờ", "5 ngày",
// "1 giờ 30 phút". Whole days are said as days from 2 days in English and
// from 4 days in Vietnamese, where deadlines are said in hours up to
// 72 giờ. Anything under a second is rounded to seconds.
func SpokenDuration(d time.Duration, lang string) string {
	if d < 0 {
		return "-" + SpokenDuration(-d, lang)
	}
	d = d.Round(time.Second)
	type unit struct {
		n        time.Duration
		one, few string
	}
	en := lang != "vi"
	units := []unit{{24 * time.Hour, "day", "days"}, {time.Hour, "hour", "hours"}, {time.Minute, "minute", "minutes"}, {time.Second, "second", "seconds"}}
	fromDays := 48 * time.Hour
	if !en {
		units = []unit{{24 * time.Hour, "ngày", "ngày"}, {time.Hour, "giờ", "giờ"}, {time.Minute, "phút", "phút"}, {time.Second, "giây", "giây"}}
		fromDays = 96 * time.Hour
	}
	if d%(24*time.Hour) != 0 || d < fromDays {
		units = units[1:] // days only when they are whole and many
	}
	var parts []string
	for _, u := range units {
		if n := d / u.n; n > 0 {
			name := u.few
			if n == 1 {
				name = u.one
			}
			parts = append(parts, strconv.FormatInt(int64(n), 10)+" "+name)
			d -= n * u.n
		}
	}
	if len(parts) == 0 {
		return "0 " + units[len(units)-1].few
	}
	return strings.Join(parts, " ")
}

// ClockDuration writes a length of ms milliseconds as a clock does,
// rounded to the second: "0:04", "10:00", "1:02:03" (M:SS under an hour,
// H:MM:SS from one); the same in every language. Pages, the bulletin and
// its podcast feed (itunes:duration takes this form) use it.
func ClockDuration(ms int64) string {
	s := (time.Duration(ms) * time.Millisecond).Round(time.Second) / time.Second
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
