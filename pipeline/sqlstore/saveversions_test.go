package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// TestSaveVersionsStores walks batches of writes through SaveVersions
// and checks what a later build and the reports read back: the heads
// and their version numbers, the versions' dates and interrupts, and the
// airing history, which each changed write replaces from its start date
// on (rows before it stay) — also when one batch holds several writes of
// one commune, and when a write is unchanged.
func TestSaveVersionsStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	t0 := time.Date(2025, 3, 2, 22, 0, 0, 0, time.UTC)
	// entries builds the entries of a version: "date/segment" each, a
	// "!" prefix making it an interrupt, "-" a relay (not history).
	entries := func(specs ...string) []pipeline.ScheduleItem {
		var out []pipeline.ScheduleItem
		for i, sp := range specs {
			kind := "segment"
			switch {
			case strings.HasPrefix(sp, "!"):
				kind, sp = "interrupt", sp[1:]
			case strings.HasPrefix(sp, "-"):
				kind, sp = "relay", sp[1:]
			}
			date, seg, _ := strings.Cut(sp, "/")
			it := pipeline.ScheduleItem{Cluster: "c", Date: date, SlotStart: 19800, Position: i, Kind: kind, Start: t0.Add(time.Duration(i) * time.Minute),
				DurationMS: 60_000, EntryID: fmt.Sprint(i)}
			if kind != "relay" {
				it.SegmentID = seg
			}
			out = append(out, it)
		}
		return out
	}
	write := func(commune, etag, start string, items []pipeline.ScheduleItem) pipeline.VersionWrite {
		return pipeline.VersionWrite{Version: pipeline.ScheduleVersion{Commune: commune, ETag: etag, Start: start, Days: 7, Reason: "test", BuiltAt: t0},
			Items: items}
	}
	history := func() map[string][]string { // commune -> "date/segment", sorted
		h, err := db.History(ctx, schedules.Date{Year: 2000, Month: 1, Day: 1}, schedules.Date{Year: 2100, Month: 1, Day: 1})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, a := range h {
			out[a.Commune] = append(out[a.Commune], a.Date.String()+"/"+a.SegmentID)
		}
		return out
	}
	strs := func(q string, args ...any) []string {
		rows, err := db.sql.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}

	steps := []struct {
		name        string
		writes      []pipeline.VersionWrite
		changed     []bool
		wantHistory map[string][]string
		wantSeq     map[string]int64
	}{
		{
			name: "first versions",
			writes: []pipeline.VersionWrite{
				write("xa-a", "a1", "2025-03-03", entries("2025-03-03/s1", "2025-03-03/s1", "-2025-03-03/relay", "2025-03-04/s2", "!2025-03-03/e1")),
				write("xa-b", "b1", "2025-03-03", entries("2025-03-03/s3", "2025-03-05/s1")),
			},
			changed: []bool{true, true},
			wantHistory: map[string][]string{
				"xa-a": {"2025-03-03/e1", "2025-03-03/s1", "2025-03-04/s2"},
				"xa-b": {"2025-03-03/s3", "2025-03-05/s1"},
			},
			wantSeq: map[string]int64{"xa-a": 1, "xa-b": 1},
		},
		{
			name: "a rebuild from the next day keeps the day before",
			writes: []pipeline.VersionWrite{
				write("xa-a", "a2", "2025-03-04", entries("2025-03-04/s4", "2025-03-05/s2")),
				write("xa-b", "b1", "2025-03-04", entries("2025-03-04/s9")), // unchanged ETag: nothing written
			},
			changed: []bool{true, false},
			wantHistory: map[string][]string{
				"xa-a": {"2025-03-03/e1", "2025-03-03/s1", "2025-03-04/s4", "2025-03-05/s2"},
				"xa-b": {"2025-03-03/s3", "2025-03-05/s1"},
			},
			wantSeq: map[string]int64{"xa-a": 2, "xa-b": 1},
		},
		{
			name: "two writes of one commune in a batch apply in turn",
			writes: []pipeline.VersionWrite{
				write("xa-b", "b2", "2025-03-03", entries("2025-03-03/s5", "2025-03-06/s6")),
				write("xa-a", "a3", "2025-03-03", entries("2025-03-03/s7")),
				write("xa-b", "b3", "2025-03-05", entries("2025-03-05/s8", "2025-03-02/s0")),
				write("xa-b", "b3", "2025-03-05", entries("2025-03-05/s8")), // equals the head the write before made
			},
			changed: []bool{true, true, true, false},
			wantHistory: map[string][]string{
				"xa-a": {"2025-03-03/s7"},
				"xa-b": {"2025-03-02/s0", "2025-03-03/s5", "2025-03-05/s8"},
			},
			wantSeq: map[string]int64{"xa-a": 3, "xa-b": 3},
		},
	}
	for _, st := range steps {
		ws := st.writes
		if err := db.SaveVersions(ctx, ws); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		heads, err := db.HeadTags(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range ws {
			if w.Changed != st.changed[i] {
				t.Errorf("%s: write %d (%s %s): changed %v, want %v", st.name, i, w.Version.Commune, w.Version.ETag, w.Changed, st.changed[i])
			}
			if heads[w.Version.Commune] == w.Version.ETag {
				if got := strs("SELECT version_id FROM schedule_heads WHERE commune_code = ?", w.Version.Commune); !slices.Equal(got, []string{w.Version.ID}) {
					t.Errorf("%s: write %d has version %s, the head is %v", st.name, i, w.Version.ID, got)
				}
			}
			if !w.Changed {
				continue
			}
			var dates []string
			for _, it := range w.Items {
				dates = append(dates, it.Date)
			}
			slices.Sort(dates)
			if got := strs("SELECT air_date FROM schedule_days WHERE version_id = ? ORDER BY air_date", w.Version.ID); !slices.Equal(got, slices.Compact(dates)) {
				t.Errorf("%s: write %d: dates %v, want %v", st.name, i, got, slices.Compact(dates))
			}
			var want []string
			for _, it := range w.Items {
				if it.Kind == "interrupt" {
					want = append(want, it.SegmentID)
				}
			}
			if got := strs("SELECT segment_id FROM schedule_interrupts WHERE version_id = ?", w.Version.ID); !slices.Equal(got, want) {
				t.Errorf("%s: write %d: interrupts %v, want %v", st.name, i, got, want)
			}
			items, err := db.VersionItems(ctx, w.Version.ID, "c", w.Items[0].Date)
			if err != nil || len(items) == 0 || items[0].SegmentID != w.Items[0].SegmentID && w.Items[0].Kind != "relay" {
				t.Errorf("%s: write %d: entries read back %+v, %v", st.name, i, items, err)
			}
		}
		for c, seq := range st.wantSeq {
			got := strs("SELECT CAST(MAX(seq) AS TEXT) FROM schedule_versions WHERE commune_code = ?", c)
			if len(got) != 1 || got[0] != fmt.Sprint(seq) {
				t.Errorf("%s: %s's last version number %v, want %d", st.name, c, got, seq)
			}
		}
		if got := history(); fmt.Sprint(got) != fmt.Sprint(st.wantHistory) {
			t.Errorf("%s: history\n%v\nwant\n%v", st.name, got, st.wantHistory)
		}
	}
}

// TestSaveVersionsBadEntryStoresNothing: a batch with an entry that
// cannot be stored (a negative slot start) fails naming its commune and
// stores nothing of the batch, also of the communes before it: no
// version, head, date or airing history row (on PostgreSQL the blobs are
// encoded while the versions are being copied).
func TestSaveVersionsBadEntryStoresNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	t0 := time.Date(2025, 3, 2, 22, 0, 0, 0, time.UTC)
	item := func(slot int) []pipeline.ScheduleItem {
		return []pipeline.ScheduleItem{{Cluster: "c", Date: "2025-03-03", SlotStart: slot, Kind: "segment", SegmentID: "s1", Start: t0, DurationMS: 60_000, EntryID: "e"}}
	}
	var ws []pipeline.VersionWrite
	for i, slot := range []int{19800, 19800, -1, 19800} {
		ws = append(ws, pipeline.VersionWrite{Version: pipeline.ScheduleVersion{Commune: fmt.Sprintf("xa-%d", i), ETag: "e", Start: "2025-03-03", Days: 7, Reason: "test", BuiltAt: t0},
			Items: item(slot)})
	}
	err := db.SaveVersions(ctx, ws)
	if err == nil || !strings.Contains(err.Error(), "xa-2") {
		t.Fatalf("err %v, want one naming xa-2", err)
	}
	for _, w := range ws {
		if w.Changed {
			t.Errorf("%s reported changed by a failed save", w.Version.Commune)
		}
	}
	for _, table := range []string{"schedule_versions", "schedule_heads", "schedule_days", "schedule_history", "changes"} {
		var n int
		if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s has %d rows (%v) after a failed save, want none", table, n, err)
		}
	}
	// The same batch without the bad entry is stored whole.
	ws[2].Items = item(19800)
	if err := db.SaveVersions(ctx, ws); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM schedule_heads").Scan(&n); err != nil || n != len(ws) {
		t.Fatalf("%d heads (%v), want %d", n, err, len(ws))
	}
}
