package broadcast

import (
	"slices"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestMatchReports: a play report goes beside the entry of its cluster,
// entry ID and segment; once a rebuild during the slot renumbered the
// entries (a withdrawal, an emergency), a report whose entry ID now names
// another segment is listed as not in this schedule, not shown as that
// segment's play.
func TestMatchReports(t *testing.T) {
	at := time.Date(2026, 11, 30, 22, 40, 0, 0, time.UTC)
	item := func(cluster, entry, seg string) pipeline.ScheduleItem {
		return pipeline.ScheduleItem{Cluster: cluster, EntryID: entry, SegmentID: seg}
	}
	report := func(id, cluster, entry, seg string, min int) pipeline.PlayRecord {
		return pipeline.PlayRecord{ID: id, Cluster: cluster, EntryID: entry, SegmentID: seg, Started: at.Add(time.Duration(min) * time.Minute)}
	}
	items := []pipeline.ScheduleItem{
		item("trung-tam", "05:30#1", "seg-5"),
		item("trung-tam", "05:30#2", "seg-sonla"), // was #3 before "tin-dai" (#2) was withdrawn
		item("trung-tam", "05:30#3", ""),          // a relay
		item("ban-mong", "05:30#1", "seg-5"),
	}
	reports := []pipeline.PlayRecord{
		report("a", "trung-tam", "05:30#1", "seg-5", 0),
		report("b", "trung-tam", "05:30#2", "tin-dai", 1), // played from the version before the withdrawal
		report("c", "trung-tam", "05:30#3", "seg-sonla", 2),
		report("d", "trung-tam", "05:30#3", "", 3), // the relay
		report("e", "ban-mong", "05:30#1", "seg-5", 0),
		report("f", "trung-tam", "05:30#9", "seg-9", 4), // an entry no longer there
	}
	ids := func(rs []pipeline.PlayRecord) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tt := range []struct {
		name      string
		cluster   string
		rows      [][]string
		unmatched []string
	}{
		{"every cluster", "", [][]string{{"a"}, {}, {"d"}, {"e"}}, []string{"b", "c", "f"}},
		{"one cluster", "trung-tam", [][]string{{"a"}, {}, {"d"}}, []string{"b", "c", "f"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := items
			if tt.cluster != "" {
				in = slices.DeleteFunc(slices.Clone(items), func(it pipeline.ScheduleItem) bool { return it.Cluster != tt.cluster })
			}
			rows, unmatched := matchReports(in, reports, tt.cluster)
			if len(rows) != len(tt.rows) {
				t.Fatalf("%d rows, want %d", len(rows), len(tt.rows))
			}
			for i, r := range rows {
				if got := ids(r.Reports); !slices.Equal(got, tt.rows[i]) {
					t.Errorf("row %d (%s %s %s): reports %v, want %v", i, r.Cluster, r.EntryID, r.SegmentID, got, tt.rows[i])
				}
			}
			if got := ids(unmatched); !slices.Equal(got, tt.unmatched) {
				t.Errorf("unmatched %v, want %v", got, tt.unmatched)
			}
		})
	}
}
