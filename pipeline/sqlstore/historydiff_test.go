package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestSaveVersionsHistoryIsTheRewrite drives SaveVersions with random
// batches (several writes of one commune in a batch, unchanged ETags,
// entries before a write's start, relays, interrupts) and checks after
// each batch that the airing history is exactly what rewriting it would
// give (each changed write deleting its commune's rows from its start
// on, then adding the segments its entries play), and that the history
// was written as a difference: every row that was stored before the
// batch and still is after it is the same physical row (SQLite rowid,
// PostgreSQL ctid), not one deleted and inserted again.
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
	stored := func() map[row]string { // row -> its physical identity
		ident := "rowid"
		if db.dialect == Postgres {
			ident = "ctid::text"
		}
		rows, err := db.sql.QueryContext(ctx, "SELECT commune_code, air_date, segment_id, CAST("+ident+" AS TEXT) FROM schedule_history")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[row]string{}
		for rows.Next() {
			var r row
			var id string
			if err := rows.Scan(&r.commune, &r.date, &r.segment, &id); err != nil {
				t.Fatal(err)
			}
			out[r] = id
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}

	changedWrites := 0
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
					it.SegmentID = fmt.Sprintf("s%d", rng.IntN(10))
				}
				items = append(items, it)
			}
			ws = append(ws, pipeline.VersionWrite{Version: pipeline.ScheduleVersion{Commune: c, ETag: fmt.Sprintf("e%d", rng.IntN(4)),
				Start: date(start), Days: 7, Reason: "test", BuiltAt: t0}, Items: items})
		}
		before := stored()
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
		after := stored()
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
		for r, id := range after {
			if was, ok := before[r]; ok && was != id {
				t.Errorf("batch %d: row %v was written again (%s, now %s) though it did not change", batch, r, was, id)
			}
		}
	}
	if changedWrites < 40 {
		t.Fatalf("only %d changed writes: the batches do not exercise the history", changedWrites)
	}
}
