package media

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ebur128Summary is the summary the ebur128 filter logs when it ends.
type ebur128Summary struct {
	I         float64 // integrated loudness, LUFS
	Threshold float64 // the integrated loudness's relative gate, LUFS
	LRA       float64 // loudness range, LU
	Peak      float64 // true or sample peak, dB as logged (rounded to 0.1 dB); only with peak=true or peak=sample
}

// ebur128Collector picks the ebur128 filter's summary out of ffmpeg's
// stderr (LogLevel "info"; framelog=verbose keeps the per-frame lines
// out). The last complete summary counts: ffmpeg may configure a graph
// once before the run, and that instance logs an empty summary.
type ebur128Collector struct {
	peak bool // the filter runs with peak=true or peak=sample: the summary ends with that peak
	// name, when set, is the filter instance's name ("ebur128@name" in
	// the graph): only its summary is read, when one run meters several
	// streams.
	name    string
	in      bool
	section string // "integrated" or "range" while in a summary
	cur     ebur128Summary
	seen    int // fields of cur read: I, its threshold, LRA, peak
	last    *ebur128Summary
}

// line is a Job.Stderr callback.
func (c *ebur128Collector) line(l string) {
	if strings.Contains(l, "ebur128") && strings.HasSuffix(strings.TrimSpace(l), "Summary:") {
		if c.name != "" && !strings.Contains(l, "[ebur128@"+c.name+" @") {
			c.in = false
			return
		}
		c.in, c.section, c.cur, c.seen = true, "", ebur128Summary{}, 0
		return
	}
	if !c.in {
		return
	}
	f := strings.Fields(l)
	if len(f) == 0 {
		return
	}
	num := func() (float64, bool) {
		if len(f) < 2 {
			return 0, false
		}
		v, err := strconv.ParseFloat(f[1], 64)
		return v, err == nil
	}
	switch {
	case f[0] == "Integrated":
		c.section = "integrated"
	case f[0] == "Loudness" && len(f) > 1 && f[1] == "range:":
		c.section = "range"
	case (f[0] == "True" || f[0] == "Sample") && len(f) > 1 && f[1] == "peak:":
		c.section = "peak"
	case f[0] == "Peak:" && c.section == "peak":
		if v, ok := num(); ok {
			c.cur.Peak, c.seen = v, c.seen|8
		}
	case f[0] == "I:" && c.section == "integrated":
		if v, ok := num(); ok {
			c.cur.I, c.seen = v, c.seen|1
		}
	case f[0] == "Threshold:" && c.section == "integrated":
		if v, ok := num(); ok {
			c.cur.Threshold, c.seen = v, c.seen|2
		}
	case f[0] == "LRA:" && c.section == "range":
		if v, ok := num(); ok {
			c.cur.LRA, c.seen = v, c.seen|4
		}
	case strings.HasPrefix(l, "["):
		// Another log line: the summary has ended.
		c.in = false
	}
	if want := map[bool]int{false: 7, true: 15}[c.peak]; c.seen == want {
		s := c.cur
		c.last, c.in = &s, false
	}
}

// errNothingGated means the ebur128 filter found no audio above its
// absolute gate (-70 LUFS): silence, or nothing decoded.
var errNothingGated = errors.New("no audio above the gate")

// summary returns the last complete summary. The error wraps
// errNothingGated when nothing was above the gate.
func (c *ebur128Collector) summary() (ebur128Summary, error) {
	if c.last == nil {
		return ebur128Summary{}, errors.New("ebur128 printed no summary")
	}
	if c.last.I <= -70 || c.last.Threshold <= -70 {
		return ebur128Summary{}, fmt.Errorf("ebur128 summary %+v: %w", *c.last, errNothingGated)
	}
	return *c.last, nil
}

// ebur128PeakRounding is half the resolution of the peak the ebur128
// filter logs (dB): what the real figure may be above it.
const ebur128PeakRounding = 0.05

// stats is the summary as first-pass statistics (the peak moved up by
// ebur128PeakRounding; no target offset, which linear mode does not use).
func (s ebur128Summary) stats() loudnormStats {
	return loudnormStats{InputI: s.I, InputTP: s.Peak + ebur128PeakRounding, InputLRA: s.LRA, InputThresh: s.Threshold}
}
