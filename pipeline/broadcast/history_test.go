package broadcast_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// TestBuildRewritesOnlyTheChangedHistory changes one commune's registry
// entry at a time between builds of every commune and checks the airing
// history each build leaves: every other commune's rows are the same
// physical rows as before (SQLite rowid, PostgreSQL ctid), the changed
// commune's rows from the build's start on are exactly the segments its
// new version plays on each date (what writing its history from scratch
// gives), and its rows that stayed planned were not written again.
func TestBuildRewritesOnlyTheChangedHistory(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	topics := []string{"importance", "indices", "programme", "procedures", "apparatus", "budget"}
	langs := [][]string{{"vi"}, {"vi", "blt"}, {"vi", "hnj"}, {"vi", "blt", "hnj"}, {"blt"}, {"hnj"}}
	for i := range 40 {
		broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: fmt.Sprintf("Bản tin %d", i), Topic: topics[i%len(topics)],
			Languages: langs[i%len(langs)], DurationMS: int64(40_000 + (i*7919)%200_000)})
	}
	if res, err := f.svc.Build(ctx, f.now, nil, "nightly"); err != nil || len(res.Changed) != 7 {
		t.Fatalf("first build: %+v %v", res, err)
	}
	const changed = "muong-lan"
	start := schedules.DateOf(f.now.In(broadcast.Location())).String()
	edit := func(change func(c *schedules.Commune)) {
		t.Helper()
		reg, err := f.db.Registry(ctx, changed)
		if err != nil || len(reg.Communes) != 1 {
			t.Fatalf("registry of %s: %+v %v", changed, reg, err)
		}
		change(&reg.Communes[0])
		if _, err := f.db.ImportRegistry(ctx, reg, schedules.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		change func(c *schedules.Commune)
	}{
		{"shorter slots", func(c *schedules.Commune) {
			for i := range c.Slots {
				c.Slots[i].Length = 20 * time.Minute
			}
		}},
		{"a cluster gains a language", func(c *schedules.Commune) {
			c.Clusters[1].Languages = append(c.Clusters[1].Languages, schedules.Thai)
		}},
		{"longer slots", func(c *schedules.Commune) {
			for i := range c.Slots {
				c.Slots[i].Length = 45 * time.Minute
			}
		}},
		{"one slot a day", func(c *schedules.Commune) { c.Slots = c.Slots[:1] }},
		{"no broadcast on Saturdays", func(c *schedules.Commune) {
			for i := range c.Slots {
				c.Slots[i].Days &^= 1 << time.Saturday
			}
		}},
	}
	var kept, added, removed, keptDays int
	for _, st := range steps {
		before := historyDays(t, f.db)
		edit(st.change)
		res, err := f.svc.Build(ctx, f.now, nil, "rebuild")
		if err != nil || !slices.Equal(res.Changed, []string{changed}) {
			t.Fatalf("%s: build changed %v (%v), want only %s", st.name, res.Changed, err, changed)
		}
		after := historyDays(t, f.db)
		// What writing the changed commune's history from scratch gives:
		// the segments its head version plays, each once a date.
		head, err := f.db.CommuneHead(ctx, changed)
		if err != nil {
			t.Fatal(err)
		}
		items, err := f.db.VersionItems(ctx, head.VersionID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, it := range items {
			if it.SegmentID != "" && (it.Kind == "segment" || it.Kind == "interrupt") && it.Date >= start {
				want[changed+"/"+it.Date+"/"+it.SegmentID] = true
			}
		}
		got := map[string]bool{}
		for d, r := range after {
			was, ok := before[d]
			if d.commune != changed {
				if !ok || was != r {
					t.Errorf("%s: %s's row %v is new or was written again (%+v, now %+v)", st.name, d.commune, d, was, r)
				}
				continue
			}
			if d.date >= start {
				for _, seg := range r.segments() {
					got[d.key(seg)] = true
				}
			}
			if ok && was.ids == r.ids {
				keptDays++
				if was.phys != r.phys {
					t.Errorf("%s: %s's row %v was written again though its segments stayed", st.name, changed, d)
				}
			}
			for _, seg := range r.segments() {
				if !slices.Contains(was.segments(), seg) {
					added++
				} else {
					kept++
				}
			}
		}
		for d, r := range before {
			if d.commune != changed {
				if _, ok := after[d]; !ok {
					t.Errorf("%s: %s's row %v was deleted", st.name, d.commune, d)
				}
				continue
			}
			for _, seg := range r.segments() {
				if !slices.Contains(after[d].segments(), seg) {
					removed++
				}
			}
		}
		if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
			t.Errorf("%s: %s's history\n%v\nwant its version's segments\n%v", st.name, changed, g, w)
		}
	}
	if keptDays == 0 {
		t.Fatal("no day of the changed commune kept its segments: the difference is not exercised")
	}
	if kept == 0 || added == 0 || removed == 0 {
		t.Fatalf("the changes kept %d, added %d and removed %d history rows: each should happen", kept, added, removed)
	}
}

// historyDay is the key of a stored airing history row: a commune and
// a date.
type historyDay struct{ commune, date string }

func (d historyDay) key(segment string) string { return d.commune + "/" + d.date + "/" + segment }

// historyDayRow is a stored airing history row: its segment ids as
// stored and its physical identity (SQLite rowid, PostgreSQL ctid): a row
// deleted and inserted again, or updated, gets a new one on PostgreSQL;
// on SQLite an updated row keeps its rowid, so ids tells it apart.
type historyDayRow struct{ ids, phys string }

// segments is the row's segment ids. The segments of these tests have
// UUIDs for ids, which the store's encoding keeps as they are.
func (r historyDayRow) segments() []string {
	if r.ids == "" {
		return nil
	}
	return strings.Split(r.ids, "\n")
}

// historyDays reads the whole airing history by commune and date.
func historyDays(t *testing.T, db *sqlstore.DB) map[historyDay]historyDayRow {
	t.Helper()
	ident := "rowid"
	if db.Dialect() == sqlstore.Postgres {
		ident = "ctid::text"
	}
	rows, err := db.SQL().QueryContext(context.Background(), "SELECT commune_code, air_date, segment_ids, CAST("+ident+" AS TEXT) FROM schedule_history")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[historyDay]historyDayRow{}
	for rows.Next() {
		var d historyDay
		var r historyDayRow
		if err := rows.Scan(&d.commune, &d.date, &r.ids, &r.phys); err != nil {
			t.Fatal(err)
		}
		out[d] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
