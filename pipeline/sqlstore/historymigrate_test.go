package sqlstore

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// migrationsBefore is Loa's migration set of db's dialect without the
// versions from `version` (say "0021") on: the store as an older release
// left it.
func migrationsBefore(t *testing.T, db *DB, version string) fstest.MapFS {
	t.Helper()
	old := fstest.MapFS{}
	err := fs.WalkDir(migrationFS, db.migrationDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Count(p, "/") != strings.Count(db.migrationDir(), "/")+1 {
			return err
		}
		if base := p[strings.LastIndex(p, "/")+1:]; base < version {
			b, err := fs.ReadFile(migrationFS, p)
			old[p] = &fstest.MapFile{Data: b}
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return old
}

// TestHistoryMigratedToDays migrates a store holding the airing history
// as one row per segment (before 0021) and checks that History reads
// back exactly the same history from the one row per commune and date
// the migration leaves, with ids that hold the encoding's separator and
// escape, and that a save diffs against the migrated rows: a date whose
// segments it plans again is not written, one it changes is.
func TestHistoryMigratedToDays(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openBare(t)
	db.migrations = migrationsBefore(t, db, "0021")
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	type aired struct{ commune, date, segment string }
	var old []aired
	segments := []string{"0195-b", "0195-a", "s,9", "s\n8", `s\n7`, `s\\`, "Ä-ü", "Z"}
	for c := range 3 {
		for d := 3; d <= 9; d++ {
			for k, s := range segments {
				if (c+d+k)%3 != 0 { // a different set each day, inserted unsorted
					old = append(old, aired{fmt.Sprintf("xa-%d", c), fmt.Sprintf("2025-03-%02d", d), s})
				}
			}
		}
	}
	for _, a := range old {
		if _, err := db.sql.ExecContext(ctx, "INSERT INTO schedule_history (commune_code, segment_id, air_date) VALUES (?, ?, ?)",
			a.commune, a.segment, a.date); err != nil {
			t.Fatal(err)
		}
	}

	db.migrations = nil // the real set: 0021
	if res, err := db.Migrate(ctx); err != nil || res.Current < 21 {
		t.Fatalf("migrated to %d: %v", res.Current, err)
	}
	read := func() []string {
		t.Helper()
		h, err := db.History(ctx, schedules.Date{Year: 2025, Month: 3, Day: 1}, schedules.Date{Year: 2025, Month: 4, Day: 1})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range h {
			out = append(out, a.Commune+"|"+a.Date.String()+"|"+a.SegmentID)
		}
		return out
	}
	var want []string
	for _, a := range old {
		want = append(want, a.commune+"|"+a.date+"|"+a.segment)
	}
	slices.Sort(want)
	if got := read(); !slices.Equal(got, want) {
		t.Fatalf("history after migrating:\n%q\nwant\n%q", got, want)
	}
	var rows int
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM schedule_history").Scan(&rows); err != nil || rows != 3*7 {
		t.Fatalf("%d history rows (%v), want one per commune and date (21)", rows, err)
	}

	// xa-1 from the 5th on: the 5th as stored, the 6th with one segment,
	// nothing after.
	phys := func(date string) string {
		t.Helper()
		ident := "rowid"
		if db.dialect == Postgres {
			ident = "ctid::text"
		}
		var id string
		if err := db.sql.QueryRowContext(ctx, "SELECT CAST("+ident+" AS TEXT) FROM schedule_history WHERE commune_code = 'xa-1' AND air_date = ?", date).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	fifth := phys("2025-03-05")
	t0 := time.Date(2025, 3, 4, 22, 0, 0, 0, time.UTC)
	var items []pipeline.ScheduleItem
	var keep []string
	for _, a := range old {
		if a.commune == "xa-1" && a.date == "2025-03-05" {
			items = append(items, pipeline.ScheduleItem{Cluster: "c", Date: a.date, SlotStart: 19800, Position: len(items), EntryID: fmt.Sprint(len(items)),
				Kind: "segment", Start: t0, DurationMS: 60_000, SegmentID: a.segment})
		}
		if a.commune != "xa-1" || a.date < "2025-03-05" || a.date == "2025-03-05" {
			keep = append(keep, a.commune+"|"+a.date+"|"+a.segment)
		}
	}
	items = append(items, pipeline.ScheduleItem{Cluster: "c", Date: "2025-03-06", SlotStart: 19800, EntryID: "x", Kind: "segment", Start: t0.Add(24 * time.Hour),
		DurationMS: 60_000, SegmentID: "s\n8"})
	keep = append(keep, "xa-1|2025-03-06|s\n8")
	slices.Sort(keep)
	if err := db.SaveVersions(ctx, []pipeline.VersionWrite{{Version: pipeline.ScheduleVersion{Commune: "xa-1", ETag: "e1", Start: "2025-03-05", Days: 7,
		Reason: "test", BuiltAt: t0}, Items: items}}); err != nil {
		t.Fatal(err)
	}
	if got := read(); !slices.Equal(got, keep) {
		t.Fatalf("history after a save from the 5th:\n%q\nwant\n%q", got, keep)
	}
	if phys("2025-03-05") != fifth {
		t.Error("the 5th was written again though the save planned the segments it had")
	}
}
