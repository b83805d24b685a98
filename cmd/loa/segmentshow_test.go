package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

// TestPrintSegmentEmergencyEnded: 'loa segments show' of a segment whose
// emergency ran out by itself says it ended and when (the province's
// local time), not a bare "emergency" that invites ending it; of a
// withdrawn segment whose media is not moved away yet, since when.
func TestPrintSegmentEmergencyEnded(t *testing.T) {
	ended := time.Date(2026, 11, 30, 3, 40, 0, 0, time.UTC) // 10:40 in Sơn La
	tests := []struct {
		name    string
		v       api.SegmentView
		want    string
		notWant string
	}{
		{"in force", api.SegmentView{Segment: pipeline.Segment{ID: "s1", Priority: pipeline.PriorityEmergency}},
			"priority emergency\n", "ended"},
		{"run out", api.SegmentView{Segment: pipeline.Segment{ID: "s1", Priority: pipeline.PriorityEmergency}, EmergencyEndedAt: &ended},
			"priority emergency (ended 2026-11-30 10:40 +07:00; no longer on air first", ""},
		{"withdrawn, media not moved", api.SegmentView{Segment: pipeline.Segment{ID: "s1", State: pipeline.StateWithdrawn},
			MediaRemoval: &api.MediaRemoval{Since: ended, Objects: 3}},
			"media removal PENDING since 2026-11-30 10:40 +07:00: 3 object(s) not yet moved away, so links issued before the withdrawal still work", ""},
		{"withdrawn, media moved", api.SegmentView{Segment: pipeline.Segment{ID: "s1", State: pipeline.StateWithdrawn}},
			"state withdrawn\n", "media removal"},
		// A window given as dates (--air-until 2026-12-02) ends at 00:00
		// of the next day: the line names the last day on air.
		{"window through a date", api.SegmentView{Segment: pipeline.Segment{ID: "s1",
			AirFrom: time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC), AirUntil: time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)}},
			"air window 2026-12-01 00:00 +07:00 – 2026-12-03 00:00 +07:00 (last day on air 2026-12-02)\n", ""},
		{"window to a moment", api.SegmentView{Segment: pipeline.Segment{ID: "s1",
			AirFrom: time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC), AirUntil: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}},
			"air window 2026-12-01 00:00 +07:00 – 2026-12-02 17:00 +07:00 (last day on air 2026-12-02)\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			printSegment(&out, tc.v)
			// The columns' width depends on the rows printed.
			got := regexp.MustCompile(` {2,}`).ReplaceAllString(out.String(), " ")
			if !strings.Contains(got, tc.want) || (tc.notWant != "" && strings.Contains(got, tc.notWant)) {
				t.Errorf("got:\n%s\nwant %q, not %q", out.String(), tc.want, tc.notWant)
			}
		})
	}
}
