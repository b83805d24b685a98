package pipeline

import (
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
