package sqlstore

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestScheduleItemsPacked migrates a store that has schedule entries as
// schedule_items rows (versions from before 0017, more than one packing
// batch of them) and checks that every version's entries come back the
// same from its blob, that the dates and interrupts tables were filled,
// and that schedule_items is gone.
func TestScheduleItemsPacked(t *testing.T) {
	ctx := t.Context()
	db := openBare(t)
	// The store as the release before 0017 left it.
	old := migrationsBefore(t, db, "0017")
	db.migrations = old
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 3, 22, 30, 0, 0, time.UTC)
	want := map[string][]pipeline.ScheduleItem{}
	for v := range packBatch + 20 {
		id := fmt.Sprintf("v%03d", v)
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO schedule_versions (id, commune_code, etag, start_date, days, reason, built_at, seq)
			VALUES (?, ?, ?, '2025-03-04', 7, 'nightly', ?, 1)`, id, fmt.Sprintf("xa-%d", v%7), id, t0); err != nil {
			t.Fatal(err)
		}
		items := []pipeline.ScheduleItem{
			{Cluster: "a", Date: "2025-03-04", SlotStart: 19800, Position: 0, EntryID: "e0", Kind: "relay", Start: t0, DurationMS: 600_000},
			{Cluster: "a", Date: "2025-03-04", SlotStart: 19800, Position: 1, EntryID: "e1", Kind: "segment", Start: t0.Add(10 * time.Minute),
				DurationMS: int64(1000 + v), SegmentID: "s1", Language: "vi", Title: "Bản tin", Topic: "digital", Priority: "normal",
				Why: "rotation", Reason: "r", AudioKey: "k", SHA256: "h", Size: 42},
		}
		if v%10 == 0 {
			items = append(items, pipeline.ScheduleItem{Cluster: "b", Date: "2025-03-05", SlotStart: 3600, EntryID: "i-1", Kind: "interrupt",
				Start: t0.Add(time.Hour), DurationMS: 5000, SegmentID: "em", Language: "vi", Priority: "emergency", Why: "interrupt"})
		}
		for _, it := range items {
			if _, err := db.sql.ExecContext(ctx, `INSERT INTO schedule_items (version_id, cluster_id, air_date, slot_s, position, entry_id, kind, starts_at,
				duration_ms, segment_id, language, title, topic, priority, why, reason, audio_key, sha256, size_bytes)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, it.Cluster, it.Date, it.SlotStart, it.Position, it.EntryID, it.Kind,
				it.Start, it.DurationMS, it.SegmentID, it.Language, it.Title, it.Topic, it.Priority, it.Why, it.Reason, it.AudioKey, it.SHA256, it.Size); err != nil {
				t.Fatal(err)
			}
		}
		want[id] = items
	}

	db.migrations = nil // the real set: 0017 and the packing
	res, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Current < 17 {
		t.Fatalf("migrated to %d", res.Current)
	}
	for id, items := range want {
		got, err := db.VersionItems(ctx, id, "", "")
		if err != nil || !reflect.DeepEqual(got, items) {
			t.Fatalf("version %s after packing: %v\n%+v\nwant\n%+v", id, err, got, items)
		}
	}
	var days, ints, tables int
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM schedule_days").Scan(&days); err != nil {
		t.Fatal(err)
	}
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM schedule_interrupts WHERE segment_id = 'em'").Scan(&ints); err != nil {
		t.Fatal(err)
	}
	if days != len(want)+12 || ints != 12 {
		t.Errorf("%d version days and %d interrupts, want %d and 12", days, ints, len(want)+12)
	}
	if n, err := db.packScheduleItems(ctx); err != nil || n != 0 {
		t.Errorf("a second packing packed %d (%v)", n, err)
	}
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM schedule_items").Scan(&tables); err == nil {
		t.Error("schedule_items is still there after packing")
	}
	got, err := db.ScheduledEntries(ctx, "xa-3", "a", "2025-03-04")
	if err != nil || len(got) != 2 || got["e1"].DurationMS != 1000+115 {
		t.Errorf("scheduled durations of xa-3/a from packed versions: %v %v", got, err)
	}
	// The relay e0 (10 min) is followed by e1 in its slot: a report of
	// e0 may start until the slot's end, the end of the longest e1.
	if slotEnd := t0.Add(10*time.Minute + (1000+115)*time.Millisecond); !got["e0"].First.Equal(t0) || !got["e0"].Last.Equal(slotEnd) || !got["e1"].Last.Equal(slotEnd) {
		t.Errorf("windows of xa-3/a: e0 %+v, e1 %+v; want from %s to the slot's end %s", got["e0"], got["e1"], t0, slotEnd)
	}
}
