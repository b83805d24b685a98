package schedules

import (
	"math/rand/v2"
	"testing"
)

// The performance bar: national scale (3,321 communes, 3 clusters each, 2
// slots a day, 7 days, 10,000 segments in 3 languages) in under a second
// on 2 cores, linear in communes. Compare ns/op of BenchmarkBuildSonLa,
// BenchmarkBuildHalfNational and BenchmarkBuildNational to read off the
// linearity:
//
//	go test -run='^$' -bench=Build -benchtime=3x ./schedules/

func benchBuild(b *testing.B, names []string) {
	loc := hcm(b)
	reg := genRegistry(names, 3)
	catalog := genCatalog(rand.New(rand.NewPCG(1, 2)), 10000, loc, len(names))
	opts := DefaultOptions(weekStart)
	b.ReportAllocs()
	b.ResetTimer()
	var s *Schedule
	for b.Loop() {
		var err error
		s, err = Build(catalog, reg, nil, opts)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	items := 0
	for i := range s.Playlists {
		items += len(s.Playlists[i].Items)
	}
	b.ReportMetric(float64(len(s.Playlists)), "playlists")
	b.ReportMetric(float64(items), "items")
}

func BenchmarkBuildSonLa(b *testing.B) {
	units := sonlaUnits(b)
	names := make([]string, len(units))
	for i, u := range units {
		names[i] = u.name
	}
	benchBuild(b, names)
}

func BenchmarkBuildHalfNational(b *testing.B) { benchBuild(b, numberedNames(3321/2)) }

func BenchmarkBuildNational(b *testing.B) { benchBuild(b, numberedNames(3321)) }
