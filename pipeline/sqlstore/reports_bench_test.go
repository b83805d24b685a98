package sqlstore

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/report"
)

// BenchmarkYearReport75 builds the yearly province report from a year of
// synthetic schedules and proof of play for Sơn La's 75 communes (3
// clusters each, 2 slots Monday–Saturday, up to 4 segments a slot, 7 in
// 10 played): the SQLite queries and the computation together. It
// reports the time per report, allocations, and the peak live heap seen
// while a report is built (peak-heap-MB).
func BenchmarkYearReport75(b *testing.B) {
	if testing.Short() {
		b.Skip("seeding a year takes a while")
	}
	db := setupB(b)
	loc := report.Location()
	began := time.Now()
	m := seedReport(b, db, seedConfig{communes: 75, clusters: 3, from: time.Date(2025, 1, 1, 0, 0, 0, 0, loc), to: time.Date(2025, 12, 31, 0, 0, 0, 0, loc),
		cover: 1, segments: 600, seed: 2})
	b.Logf("seeded %d schedule entries and %d play reports in %s", len(m.items), len(m.plays), time.Since(began).Round(time.Second))
	p, _ := report.ParsePeriod("2025")
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, loc)
	ctx := context.Background()
	runtime.GC()
	base := heapBytes()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				peak = max(peak, heapBytes())
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	var r *report.Report
	for b.Loop() {
		var err error
		if r, err = report.Build(ctx, db, p, "", now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "peak-heap-MB")
	b.Logf("report: %d communes, %.0f min scheduled, %.0f min played, %d broadcast rows", r.Summary.Communes,
		report.Minutes(r.Summary.ScheduledMS), report.Minutes(r.Summary.PlayedMS), len(r.Broadcast))
}

// BenchmarkYearReport75Compute is the computation alone, rows already in
// memory, to tell the queries' share from the builder's.
func BenchmarkYearReport75Compute(b *testing.B) {
	if testing.Short() {
		b.Skip("seeding a year takes a while")
	}
	db := setupB(b)
	loc := report.Location()
	seedReport(b, db, seedConfig{communes: 75, clusters: 3, from: time.Date(2025, 1, 1, 0, 0, 0, 0, loc), to: time.Date(2025, 12, 31, 0, 0, 0, 0, loc),
		cover: 1, segments: 600, seed: 2})
	p, _ := report.ParsePeriod("2025")
	reg, err := db.Registry(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	rec := &recorder{}
	if err := db.FeedReport(context.Background(), rec, p, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		bl := report.NewBuilder(report.Options{Period: p, Registry: reg, Now: time.Date(2026, 1, 2, 0, 0, 0, 0, loc)})
		rec.replay(bl)
		bl.Report()
	}
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// recorder keeps the rows a feed gives, to replay them into a builder.
type recorder struct {
	segs  []report.Segment
	vars  []report.Variant
	jobs  []report.Job
	ems   []report.Emergency
	sched []report.Scheduled
	plays []report.Play
}

func (r *recorder) AddSegment(s report.Segment)     { r.segs = append(r.segs, s) }
func (r *recorder) AddVariant(v report.Variant)     { r.vars = append(r.vars, v) }
func (r *recorder) AddJob(j report.Job)             { r.jobs = append(r.jobs, j) }
func (r *recorder) AddEmergency(e report.Emergency) { r.ems = append(r.ems, e) }
func (r *recorder) AddScheduled(s report.Scheduled) { r.sched = append(r.sched, s) }
func (r *recorder) AddPlay(p report.Play)           { r.plays = append(r.plays, p) }

func (r *recorder) replay(s report.Sink) {
	for _, x := range r.segs {
		s.AddSegment(x)
	}
	for _, x := range r.vars {
		s.AddVariant(x)
	}
	for _, x := range r.jobs {
		s.AddJob(x)
	}
	for _, x := range r.ems {
		s.AddEmergency(x)
	}
	for _, x := range r.sched {
		s.AddScheduled(x)
	}
	for _, x := range r.plays {
		s.AddPlay(x)
	}
}

func setupB(b *testing.B) *DB {
	b.Helper()
	db, err := Open(context.Background(), b.TempDir()+"/loa.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return db
}
