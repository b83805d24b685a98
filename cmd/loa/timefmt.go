package main

import (
	"time"

	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// stampLayout is how the CLI writes a moment, in every list and message:
// the province's time (localtime, Asia/Ho_Chi_Minh) with its offset, so
// a reader anywhere knows the zone, e.g. "2025-03-03 13:00 +07:00".
const stampLayout = "2006-01-02 15:04 -07:00"

// stamp writes t as stampLayout in the province's zone; "-" for the zero
// time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(localtime.Location()).Format(stampLayout)
}

// stampPtr is stamp for an optional moment; nil is "-".
func stampPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}

// zoneNote names the zone of clock times written without a date or
// offset (the rows of a day's schedule), with its offset at: "times in
// Asia/Ho_Chi_Minh (+07:00)".
func zoneNote(at time.Time) string {
	return "times in " + localtime.Name + " (" + at.In(localtime.Location()).Format("-07:00") + ")"
}
