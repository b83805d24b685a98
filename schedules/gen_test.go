package schedules

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// Scenario generators shared by property tests, stability tests and
// benchmarks. Everything comes from a seeded PCG, so runs repeat.

var weekStart = Date{Year: 2025, Month: time.July, Day: 7} // a Monday

func hcm(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var languageLists = [][]Language{{Thai, Vietnamese}, {Hmong, Vietnamese}, {Vietnamese}, {Vietnamese, Thai}, {Hmong}}

// genRegistry makes n communes with the given number of clusters each and
// two 30-minute slots a day (10 minutes of relay), every day.
func genRegistry(names []string, clusters int) *Registry {
	reg := &Registry{TimeZone: DefaultTimeZone}
	slots := []Slot{
		{Days: EveryDay, Start: 5*3600 + 30*60, Length: 30 * time.Minute, Reserved: 10 * time.Minute},
		{Days: EveryDay, Start: 17 * 3600, Length: 30 * time.Minute, Reserved: 10 * time.Minute},
	}
	for i, name := range names {
		c := Commune{Code: fmt.Sprintf("c%04d", i), Name: name, Kind: Xa, Slots: slots}
		for j := 0; j < clusters; j++ {
			c.Clusters = append(c.Clusters, Cluster{ID: fmt.Sprintf("k%d", j), Languages: languageLists[(i+j)%len(languageLists)]})
		}
		reg.Communes = append(reg.Communes, c)
	}
	return reg
}

func numberedNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("Xã %d", i+1)
	}
	return out
}

// genCatalog makes n segments: each has a Vietnamese variant, 70 % a Thái
// and 50 % a Mông one; 90 % of variants are approved; emergencies
// (0.05 %, half of them for a few communes only) and priority (0.2 %)
// items are short and air for a day or two; air windows
// mostly cover the week, some open late or close early.
func genCatalog(rng *rand.Rand, n int, loc *time.Location, communes int) []Variant {
	start := weekStart.In(loc)
	var out []Variant
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s%05d", i)
		prio := Normal
		switch r := rng.IntN(2000); {
		case r == 0:
			prio = Emergency
		case r < 5:
			prio = Urgent
		}
		var targets []string
		if prio == Emergency && rng.IntN(2) == 0 {
			for k := 0; k < 3; k++ {
				targets = append(targets, fmt.Sprintf("c%04d", rng.IntN(max(communes, 1))))
			}
		}
		from := start.Add(time.Duration(rng.IntN(3*24)-48) * time.Hour)
		until := from.Add(time.Duration(2+rng.IntN(10)) * 24 * time.Hour)
		if rng.IntN(5) == 0 {
			until = time.Time{}
		}
		if prio != Normal { // bulletins: a day or two
			until = from.Add(time.Duration(1+rng.IntN(2)) * 24 * time.Hour)
		}
		dur := time.Duration(30+rng.IntN(300))*time.Second + time.Duration(rng.IntN(1000))*time.Millisecond
		if prio != Normal {
			dur = time.Duration(20+rng.IntN(60)) * time.Second
		}
		ready := start.Add(-time.Duration(rng.IntN(30*24*60)) * time.Minute)
		topic := Topics[rng.IntN(8)] // the plan's loudspeaker topics a–h
		for _, l := range Languages {
			if (l == Thai && rng.IntN(10) >= 7) || (l == Hmong && rng.IntN(2) == 0) {
				continue
			}
			out = append(out, Variant{
				SegmentID: id, Title: "Bài " + id, Topic: topic, Kind: Radio, Priority: prio, Language: l,
				Approved: rng.IntN(10) != 0, Duration: dur, AirFrom: from, AirUntil: until,
				ReadyAt: ready.Add(time.Duration(rng.IntN(48)) * time.Hour), Targets: targets,
			})
		}
	}
	return out
}
