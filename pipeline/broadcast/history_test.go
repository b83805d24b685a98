package broadcast_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
		if _, err := f.db.ImportRegistry(ctx, reg); err != nil {
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
	}
	var kept, added, removed int
	for _, st := range steps {
		before := historyRows(t, f.db)
		edit(st.change)
		res, err := f.svc.Build(ctx, f.now, nil, "rebuild")
		if err != nil || !slices.Equal(res.Changed, []string{changed}) {
			t.Fatalf("%s: build changed %v (%v), want only %s", st.name, res.Changed, err, changed)
		}
		after := historyRows(t, f.db)
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
		for r, id := range after {
			if r.commune == changed {
				if r.date >= start {
					got[r.key()] = true
				}
				if was, ok := before[r]; ok {
					kept++
					if was != id {
						t.Errorf("%s: %s's row %v was written again though it stayed planned", st.name, changed, r)
					}
				} else {
					added++
				}
				continue
			}
			if was, ok := before[r]; !ok || was != id {
				t.Errorf("%s: %s's row %v is new or was written again (%q, now %q)", st.name, r.commune, r, was, id)
			}
		}
		for r := range before {
			if _, ok := after[r]; !ok {
				if r.commune != changed {
					t.Errorf("%s: %s's row %v was deleted", st.name, r.commune, r)
				}
				removed++
			}
		}
		if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
			t.Errorf("%s: %s's history\n%v\nwant its version's segments\n%v", st.name, changed, g, w)
		}
	}
	if kept == 0 || added == 0 || removed == 0 {
		t.Fatalf("the changes kept %d, added %d and removed %d history rows: each should happen", kept, added, removed)
	}
}

// historyRow is a stored airing history row.
type historyRow struct{ commune, date, segment string }

func (r historyRow) key() string { return r.commune + "/" + r.date + "/" + r.segment }

// historyRows reads the whole airing history, each row with its physical
// identity (SQLite rowid, PostgreSQL ctid): a row deleted and inserted
// again gets a new one.
func historyRows(t *testing.T, db *sqlstore.DB) map[historyRow]string {
	t.Helper()
	ident := "rowid"
	if db.Dialect() == sqlstore.Postgres {
		ident = "ctid::text"
	}
	rows, err := db.SQL().QueryContext(context.Background(), "SELECT commune_code, air_date, segment_id, CAST("+ident+" AS TEXT) FROM schedule_history")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[historyRow]string{}
	for rows.Next() {
		var r historyRow
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
