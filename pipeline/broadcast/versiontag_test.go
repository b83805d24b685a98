package broadcast

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// TestVersionTagUnchanged: the ETag of a commune's entries is the one the
// fmt-built parts gave before, so stored heads keep their tags across the
// upgrade and devices refetch nothing.
func TestVersionTagUnchanged(t *testing.T) {
	t0 := time.Date(2025, 3, 3, 22, 30, 0, 0, time.UTC)
	items := []pipeline.ScheduleItem{
		{Cluster: "b", Date: "2025-03-04", SlotStart: 19800, Position: 1, Kind: "segment", Start: t0, DurationMS: 61000,
			SegmentID: "s1", Language: "hnj", Title: "Bản tin | 1", SHA256: "ab"},
		{Cluster: "a", Date: "2025-03-04", SlotStart: 61200, Position: 0, Kind: "relay", Start: t0.Add(-time.Hour), DurationMS: 600000},
		{Cluster: "a", Date: "2025-03-05", SlotStart: 0, Position: 12, Kind: "interrupt", Start: t0.Add(-3 * time.Second), DurationMS: -1},
	}
	for n := 1; n <= len(items); n++ {
		parts := []string{}
		for _, it := range items[:n] {
			parts = append(parts, strings.Join([]string{it.Cluster, it.Date, fmt.Sprint(it.SlotStart), fmt.Sprint(it.Position), it.Kind,
				fmt.Sprint(it.Start.Unix()), fmt.Sprint(it.DurationMS), it.SegmentID, it.Language, it.Title, it.SHA256}, "|"))
		}
		slices.Sort(parts)
		if got, want := versionTag(items[:n], schedules.Date{}, 7), schedules.ContentTag(parts...); got != want {
			t.Errorf("%d entries: tag %s, want %s", n, got, want)
		}
	}
}
