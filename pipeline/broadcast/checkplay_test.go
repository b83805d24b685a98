package broadcast

import (
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// TestCheckPlayWindow: a play report must start no later than the
// server's now (plus ReportSkew) and within the times its item could
// play: a programme item between its start and its end, an emergency
// interrupt from InterruptLead before its stamp to InterruptWindow after
// it (the player plays it when it learns of it, after a power cut too),
// each with ReportSkew for the device's clock.
func TestCheckPlayWindow(t *testing.T) {
	start := time.Date(2026, 11, 30, 2, 50, 40, 0, time.UTC) // 09:50:40 in Sơn La
	entries := map[string]pipeline.ScheduledEntry{
		"2026-11-30T09:50#1":          {DurationMS: 60_000, Kind: string(schedules.EntrySegment), First: start, Last: start.Add(time.Minute)},
		"2026-11-30T095040!seg-storm": {DurationMS: 60_000, Kind: string(schedules.EntryInterrupt), First: start, Last: start.Add(time.Minute)},
	}
	now := start.Add(3 * time.Hour)
	for _, tt := range []struct {
		name    string
		entry   string
		started time.Time
		want    string // part of the reason; "" for accepted
	}{
		{"programme on time", "2026-11-30T09:50#1", start, ""},
		{"programme resumed late in its window", "2026-11-30T09:50#1", start.Add(50 * time.Second), ""},
		{"programme within the clock skew after its end", "2026-11-30T09:50#1", start.Add(time.Minute + ReportSkew - time.Second), ""},
		{"programme after its end", "2026-11-30T09:50#1", start.Add(time.Minute + ReportSkew + time.Second), "outside the times"},
		{"programme before its start", "2026-11-30T09:50#1", start.Add(-ReportSkew - time.Second), "outside the times"},
		{"programme on another day", "2026-11-30T09:50#1", start.AddDate(0, 0, 1), "in the future"},
		{"in the future", "2026-11-30T09:50#1", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "in the future"},
		{"interrupt 50 minutes late (after a power cut)", "2026-11-30T095040!seg-storm", start.Add(50 * time.Minute), ""},
		{"interrupt a little before its stamp", "2026-11-30T095040!seg-storm", start.Add(-InterruptLead), ""},
		{"interrupt after its window", "2026-11-30T095040!seg-storm", start.Add(InterruptWindow + ReportSkew + time.Second), "outside the times"},
		{"interrupt the day before", "2026-11-30T095040!seg-storm", start.AddDate(0, 0, -1), "outside the times"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := schedules.PlayReport{ID: "r", Entry: tt.entry, Cluster: "trung-tam", Status: schedules.Failed, Started: tt.started, Reason: "x"}
			got := checkPlay(r, entries, "trung-tam", "2026-11-30", now).Reason
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("checkPlay: %q, want %q", got, tt.want)
			}
		})
	}
}
