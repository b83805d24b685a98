package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// TestSaveVersionsHistoryIsTheRewrite drives SaveVersions with random
// batches (several writes of one commune in a batch, unchanged ETags,
// entries before a write's start, relays, interrupts) and checks after
// each batch that the airing history is exactly what rewriting it would
// give (each changed write deleting its commune's rows from its start
// on, then adding the segments its entries play), stored as one row per
// commune and date with its segment ids sorted (ids holding the
// encoding's separator and escape included), and that the history was
// written as a difference: every (commune, date) row whose segments are
// the same before and after the batch is the same physical row (SQLite
// rowid, PostgreSQL ctid), not one deleted and inserted again.
func TestSaveVersionsHistoryIsTheRewrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	rng := rand.New(rand.NewPCG(13, 2025))
	t0 := time.Date(2025, 3, 2, 22, 0, 0, 0, time.UTC)
	communes := []string{"xa-a", "xa-b", "xa-c", "xa-d", "xa-e"}
	date := func(d int) string { return fmt.Sprintf("2025-03-%02d", d) }
	type row struct{ commune, date, segment string }

	// model is the history the rewrite gives; heads the ETag of each
	// commune's head.
	model := map[row]bool{}
	heads := map[string]string{}
	// stored is the stored history as segment rows, and each stored
	// (commune, date) row's segment_ids and physical identity.
	type day struct{ commune, date string }
	type dayRow struct{ ids, phys string }
	stored := func() (map[row]bool, map[day]dayRow) {
		ident := "rowid"
		if db.dialect == Postgres {
			ident = "ctid::text"
		}
		rows, err := db.sql.QueryContext(ctx, "SELECT commune_code, air_date, segment_ids, CAST("+ident+" AS TEXT) FROM schedule_history")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		segs, days := map[row]bool{}, map[day]dayRow{}
		for rows.Next() {
			var d day
			var r dayRow
			if err := rows.Scan(&d.commune, &d.date, &r.ids, &r.phys); err != nil {
				t.Fatal(err)
			}
			days[d] = r
			var prev string
			n := 0
			if err := eachHistoryID(r.ids, func(id string) bool {
				if n > 0 && id <= prev {
					t.Errorf("%v: segment ids %q not sorted or repeated", d, r.ids)
				}
				segs[row{d.commune, d.date, id}] = true
				prev = id
				n++
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("%v: a row without segments", d)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return segs, days
	}

	changedWrites, keptDays := 0, 0
	for batch := range 40 {
		var ws []pipeline.VersionWrite
		for range 1 + rng.IntN(6) {
			c := communes[rng.IntN(len(communes))]
			start := 2 + rng.IntN(5)
			var items []pipeline.ScheduleItem
			for i := range rng.IntN(14) {
				it := pipeline.ScheduleItem{Cluster: "c", Date: date(start - 1 + rng.IntN(8)), SlotStart: 19800, Position: i,
					Kind: []string{"segment", "segment", "segment", "interrupt", "relay"}[rng.IntN(5)], Start: t0, DurationMS: 60_000, EntryID: fmt.Sprint(i)}
				if it.Kind != "relay" {
					// Ids with the separator and the escape in them
					// must come back as they were.
					it.SegmentID = []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7\\n", "s8\n", "s,9"}[rng.IntN(10)]
				}
				items = append(items, it)
			}
			ws = append(ws, pipeline.VersionWrite{Version: pipeline.ScheduleVersion{Commune: c, ETag: fmt.Sprintf("e%d", rng.IntN(4)),
				Start: date(start), Days: 7, Reason: "test", BuiltAt: t0}, Items: items})
		}
		_, before := stored()
		if err := db.SaveVersions(ctx, ws); err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		for _, w := range ws {
			c := w.Version.Commune
			if heads[c] == w.Version.ETag {
				if w.Changed {
					t.Fatalf("batch %d: a write of %s equal to its head stored a version", batch, c)
				}
				continue
			}
			changedWrites++
			heads[c] = w.Version.ETag
			for r := range model {
				if r.commune == c && r.date >= w.Version.Start {
					delete(model, r)
				}
			}
			for _, it := range w.Items {
				if it.Kind != "relay" {
					model[row{c, it.Date, it.SegmentID}] = true
				}
			}
		}
		after, afterDays := stored()
		key := func(r row) string { return r.commune + "/" + r.date + "/" + r.segment }
		got := slices.Sorted(func(yield func(string) bool) {
			for r := range after {
				if !yield(key(r)) {
					return
				}
			}
		})
		want := slices.Sorted(func(yield func(string) bool) {
			for r := range model {
				if !yield(key(r)) {
					return
				}
			}
		})
		if !slices.Equal(got, want) {
			t.Fatalf("batch %d: history\n%v\nwant\n%v", batch, got, want)
		}
		for d, r := range afterDays {
			if was, ok := before[d]; ok && was.ids == r.ids {
				keptDays++
			}
			if was, ok := before[d]; ok && was.ids == r.ids && was.phys != r.phys {
				t.Errorf("batch %d: row %v was written again (%s, now %s) though its segments did not change", batch, d, was.phys, r.phys)
			}
		}
	}
	if keptDays == 0 {
		t.Fatal("no (commune, date) row stayed the same across a batch: the difference is not exercised")
	}
	if changedWrites < 40 {
		t.Fatalf("only %d changed writes: the batches do not exercise the history", changedWrites)
	}
}

// TestConcurrentSavesLeaveOneHistory saves two different versions of
// one commune at the same time, again and again, and checks that the
// airing history is always the one of the version that became the head:
// the second saver waits for the first and diffs against what it stored
// (on PostgreSQL, whose transactions do not take turns by themselves).
func TestConcurrentSavesLeaveOneHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	t0 := time.Date(2025, 3, 2, 22, 0, 0, 0, time.UTC)
	// version is round r's write of one side: segments of its own and
	// segments both sides share, on three dates.
	version := func(r int, side string) pipeline.VersionWrite {
		var items []pipeline.ScheduleItem
		for d := 3; d <= 5; d++ {
			for i, seg := range []string{fmt.Sprintf("shared-%d", (r+d)%4), fmt.Sprintf("%s-%d-%d", side, r%3, d), fmt.Sprintf("%s-%d", side, r%2)} {
				items = append(items, pipeline.ScheduleItem{Cluster: "c", Date: fmt.Sprintf("2025-03-%02d", d), SlotStart: 19800, Position: i,
					Kind: "segment", Start: t0, DurationMS: 60_000, EntryID: fmt.Sprint(i), SegmentID: seg})
			}
		}
		return pipeline.VersionWrite{Version: pipeline.ScheduleVersion{Commune: "xa-a", ETag: fmt.Sprintf("%s-%d", side, r),
			Start: "2025-03-03", Days: 7, Reason: "test", BuiltAt: t0}, Items: items}
	}
	for r := range 30 {
		writes := map[string]pipeline.VersionWrite{"a": version(r, "a"), "b": version(r, "b")}
		errs := make(chan error, 2)
		for _, w := range writes {
			go func() { errs <- db.SaveVersions(ctx, []pipeline.VersionWrite{w}) }()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
		}
		tags, err := db.HeadTags(ctx, "xa-a")
		if err != nil {
			t.Fatal(err)
		}
		head, ok := writes[tags["xa-a"][:1]]
		if !ok || head.Version.ETag != tags["xa-a"] {
			t.Fatalf("round %d: head %q is neither write", r, tags["xa-a"])
		}
		var want []string
		for _, it := range head.Items {
			want = append(want, it.Date+"/"+it.SegmentID)
		}
		slices.Sort(want)
		h, err := db.History(ctx, schedules.Date{Year: 2025, Month: 3, Day: 1}, schedules.Date{Year: 2025, Month: 4, Day: 1}, "xa-a")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range h {
			got = append(got, a.Date.String()+"/"+a.SegmentID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: history\n%v\nwant the head's (%s)\n%v", r, got, tags["xa-a"], want)
		}
	}
}

// TestVersionBlobsUncompressed: on PostgreSQL, version blobs are stored
// out of line without compression (migration 0020), which a national
// build's 3,321 blobs would otherwise spend server time on.
func TestVersionBlobsUncompressed(t *testing.T) {
	t.Parallel()
	db := setup(t)
	if db.dialect != Postgres {
		t.Skip("SQLite stores blobs as they are")
	}
	var storage string
	err := db.sql.QueryRowContext(context.Background(), `SELECT attstorage::text FROM pg_attribute
		WHERE attrelid = 'schedule_versions'::regclass AND attname = 'items'`).Scan(&storage)
	if err != nil || storage != "e" {
		t.Fatalf("schedule_versions.items storage %q (%v), want e (external, uncompressed)", storage, err)
	}
}
