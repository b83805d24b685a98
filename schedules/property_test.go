package schedules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// scenario is a random but repeatable input.
type scenario struct {
	reg     *Registry
	catalog []Variant
	history []Aired
	opts    Options
}

func randomScenario(t testing.TB, seed uint64) scenario {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	loc := hcm(t)
	units := sonlaUnits(t)
	n := 3 + rng.IntN(10)
	var names []string
	for _, i := range rng.Perm(len(units))[:n] {
		names = append(names, units[i].name)
	}
	reg := genRegistry(names, 1+rng.IntN(3))
	// Vary the slots: some relays, some longer, some cluster-level slots.
	for i := range reg.Communes {
		c := &reg.Communes[i]
		c.Slots = slices.Clone(c.Slots)
		for k := range c.Slots {
			c.Slots[k].Length = time.Duration(5+rng.IntN(40)) * time.Minute
			c.Slots[k].Reserved = time.Duration(rng.IntN(4)) * time.Minute
			if rng.IntN(3) == 0 {
				c.Slots[k].Days = MondayToSaturday
			}
		}
		if rng.IntN(4) == 0 {
			c.Clusters[0].Slots = []Slot{{Days: EveryDay, Start: 12 * 3600, Length: 17*time.Minute + 13*time.Second}}
		}
	}
	cat := genCatalog(rng, 20+rng.IntN(300), loc, n)
	// Sharpen the edges: windows that end inside slots.
	for i := range cat {
		if rng.IntN(10) == 0 {
			day := weekStart.AddDays(rng.IntN(7)).In(loc)
			cat[i].AirUntil = day.Add(17*time.Hour + time.Duration(rng.IntN(40))*time.Minute)
		}
	}
	var hist []Aired
	for i := 0; i < rng.IntN(50); i++ {
		hist = append(hist, Aired{Commune: reg.Communes[rng.IntN(n)].Code,
			SegmentID: fmt.Sprintf("s%05d", rng.IntN(100)), Date: weekStart.AddDays(-1 - rng.IntN(6))})
	}
	opts := DefaultOptions(weekStart)
	opts.Days = 1 + rng.IntN(7)
	opts.SeparationDays = rng.IntN(4)
	opts.Slack = time.Duration(rng.IntN(60)) * time.Second
	opts.Candidates = 1 + rng.IntN(24)
	if rng.IntN(2) == 0 {
		opts.Filler = []Clip{{ID: "f1", Duration: time.Duration(5+rng.IntN(60)) * time.Second}}
		opts.Ident = Clip{ID: "id", Duration: 10 * time.Second}
	}
	return scenario{reg, cat, hist, opts}
}

// fingerprint renders the schedule's content so two builds can be compared.
func fingerprint(s *Schedule) string {
	var sb strings.Builder
	for _, p := range s.Playlists {
		fmt.Fprintf(&sb, "%s/%s %s %s spare=%s silence=%s\n", p.Commune, p.Cluster, p.Date, p.Start.Format(time.RFC3339), p.Spare, p.Silence)
		for _, it := range p.Items {
			fmt.Fprintf(&sb, "  %s %s %s %s %s %s r%d t%d f%d\n", it.Offset, it.Duration, it.Kind, it.SegmentID, it.Language, it.Why, it.Rank, it.TopicAired, it.Fallback)
		}
	}
	for _, l := range s.LeftOut {
		fmt.Fprintf(&sb, "left %s %s/%s %v %s %s %s: %s\n", l.SegmentID, l.Commune, l.Cluster, l.Languages, l.Date, l.Slot, l.Code, l.Text)
	}
	return sb.String()
}

// checkInvariants verifies what must hold of every schedule.
func checkInvariants(t *testing.T, sc scenario, s *Schedule) {
	t.Helper()
	type key struct{ id, lang string }
	variants := map[key][]Variant{}
	for _, v := range sc.catalog {
		variants[key{v.SegmentID, string(v.Language)}] = append(variants[key{v.SegmentID, string(v.Language)}], v)
	}
	airedOn := map[[2]string][]Date{} // commune, segment -> dates
	for _, p := range s.Playlists {
		c := sc.reg.Commune(p.Commune)
		var end time.Duration
		seen := map[string]bool{}
		lastPrio := Emergency
		for _, it := range p.Items {
			if it.Offset != end {
				t.Fatalf("%s/%s %s %s: item %s at %s, want %s", p.Commune, p.Cluster, p.Date, p.Slot.Start, it.SegmentID, it.Offset, end)
			}
			end += it.Duration
			if it.Kind != ItemSegment {
				continue
			}
			if seen[it.SegmentID] {
				t.Fatalf("%s twice in one playlist", it.SegmentID)
			}
			seen[it.SegmentID] = true
			if !slices.Contains(p.Languages, it.Language) || p.Languages[it.Fallback] != it.Language {
				t.Fatalf("%s in %s, cluster takes %v (fallback %d)", it.SegmentID, it.Language, p.Languages, it.Fallback)
			}
			if it.Priority > lastPrio {
				t.Fatalf("%s (%s) after a %s item", it.SegmentID, it.Priority, lastPrio)
			}
			lastPrio = it.Priority
			// Some approved variant in that language holds the item's air time.
			from, until := p.Start.Add(it.Offset), p.Start.Add(it.Offset+it.Duration)
			ok := false
			for _, v := range variants[key{it.SegmentID, string(it.Language)}] {
				ok = ok || (v.Approved && v.Duration == it.Duration &&
					(v.AirFrom.IsZero() || !from.Before(v.AirFrom)) && (v.AirUntil.IsZero() || !until.After(v.AirUntil)))
			}
			if !ok {
				t.Fatalf("%s [%s] at %s–%s: no approved variant whose window holds it", it.SegmentID, it.Language, from, until)
			}
			if it.Priority == Normal {
				k := [2]string{p.Commune, it.SegmentID}
				airedOn[k] = append(airedOn[k], p.Date)
			}
		}
		if end > p.Slot.Length {
			t.Fatalf("%s/%s %s %s: items run %s, slot is %s", p.Commune, p.Cluster, p.Date, p.Slot.Start, end, p.Slot.Length)
		}
		if end+p.Silence != p.Slot.Length {
			t.Fatalf("items %s + silence %s != slot %s", end, p.Silence, p.Slot.Length)
		}
		if c == nil || !p.Slot.Days.Has(p.Date.Weekday()) {
			t.Fatalf("playlist for %s on %s (%s) not in the registry", p.Commune, p.Date, p.Date.Weekday())
		}
	}
	if sep := sc.opts.SeparationDays; sep > 0 {
		for k, dates := range airedOn {
			slices.SortFunc(dates, func(a, b Date) int { return a.DaysSince(b) })
			dates = slices.Compact(dates)
			for i := 1; i < len(dates); i++ {
				if gap := dates[i].DaysSince(dates[i-1]); gap < sep {
					t.Fatalf("%s aired in %s on %s and %s: %d days apart, separation %d", k[1], k[0], dates[i-1], dates[i], gap, sep)
				}
			}
		}
	}
}

func TestBuildProperties(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 60; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			sc := randomScenario(t, seed)
			s, err := Build(sc.catalog, sc.reg, sc.history, sc.opts)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, sc, s)

			// Deterministic: same input, other worker counts, shuffled
			// catalog and history.
			want := fingerprint(s)
			rng := rand.New(rand.NewPCG(seed, 99))
			cat := slices.Clone(sc.catalog)
			rng.Shuffle(len(cat), func(i, j int) { cat[i], cat[j] = cat[j], cat[i] })
			hist := slices.Clone(sc.history)
			rng.Shuffle(len(hist), func(i, j int) { hist[i], hist[j] = hist[j], hist[i] })
			for _, workers := range []int{1, 3} {
				opts := sc.opts
				opts.Workers = workers
				again, err := Build(cat, sc.reg, hist, opts)
				if err != nil {
					t.Fatal(err)
				}
				if got := fingerprint(again); got != want {
					t.Fatalf("workers=%d with shuffled input: schedule differs", workers)
				}
			}
		})
	}
}

// TestBuildStable adds one fresh segment to a realistic week and counts
// the items that leave playlists. Without separation only the playlists
// the new segment enters change. With separation the items it displaces
// air on later days and displace others in turn, so the bar is set on
// the first day, where nothing earlier can cascade.
func TestBuildStable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sep      int
		days     int
		maxShare float64
	}{
		{sep: 0, days: 7, maxShare: 0.05},
		{sep: 3, days: 1, maxShare: 0.05},
	} {
		t.Run(fmt.Sprintf("separation %d, %d days", tt.sep, tt.days), func(t *testing.T) {
			t.Parallel()
			loc := hcm(t)
			var names []string
			for _, u := range sonlaUnits(t) {
				names = append(names, u.name)
			}
			reg := genRegistry(names, 2)
			cat := genCatalog(rand.New(rand.NewPCG(5, 5)), 600, loc, len(names))
			opts := DefaultOptions(weekStart)
			opts.Days, opts.SeparationDays = tt.days, tt.sep
			before, err := Build(cat, reg, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			extra := []Variant{}
			for _, l := range Languages {
				extra = append(extra, Variant{SegmentID: "moi", Title: "Bài mới", Topic: TopicImportance, Priority: Normal, Language: l,
					Approved: true, Duration: 3 * time.Minute, ReadyAt: weekStart.In(loc)})
			}
			after, err := Build(append(slices.Clone(cat), extra...), reg, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			total, moved, gained := 0, 0, 0
			for i := range before.Playlists {
				a, b := aired(before.Playlists[i]), aired(after.Playlists[i])
				total += len(a)
				for _, x := range a {
					if !slices.Contains(b, x) {
						moved++
					}
				}
				if slices.ContainsFunc(b, func(x string) bool { return strings.HasPrefix(x, "moi/") }) {
					gained++
				}
			}
			if gained == 0 {
				t.Fatal("the new segment aired nowhere")
			}
			t.Logf("new segment in %d of %d playlists; %d of %d items moved (%.1f%%)", gained, len(after.Playlists), moved, total, 100*float64(moved)/float64(total))
			if limit := int(tt.maxShare * float64(total)); moved > limit {
				t.Errorf("adding one segment moved %d of %d items; want at most %d", moved, total, limit)
			}
		})
	}
}
