package broadcast_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// sonla75 is a registry of the 75 commune-level units of Sơn La, each
// with a central Vietnamese/Thái cluster and a Mông village cluster,
// playing 05:30 and 17:00 for 30 minutes with a 10-minute relay.
func sonla75(b testing.TB) *schedules.Registry {
	f, err := os.Open("../../schedules/testdata/sonla-communes-2025.csv")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	reg := &schedules.Registry{}
	slots := []schedules.Slot{
		{Days: schedules.MondayToSaturday, Start: 5*3600 + 30*60, Length: 30 * time.Minute, Reserved: 10 * time.Minute},
		{Days: schedules.MondayToSaturday, Start: 17 * 3600, Length: 30 * time.Minute, Reserved: 10 * time.Minute},
	}
	for _, r := range rows[1:] {
		reg.Communes = append(reg.Communes, schedules.Commune{
			Code: strings.ReplaceAll(strings.ToLower(r[1]), " ", "-"), Name: r[0], Kind: schedules.UnitKind(r[2]), Slots: slots,
			Clusters: []schedules.Cluster{
				{ID: "trung-tam", Languages: []schedules.Language{schedules.Thai, schedules.Vietnamese}},
				{ID: "ban-mong", Languages: []schedules.Language{schedules.Hmong, schedules.Vietnamese}},
			},
		})
	}
	return reg
}

// BenchmarkBuildSonLa75 is the whole nightly build for the 75 Sơn La
// communes, 7 days, 200 ready segments in 3 languages: catalog, registry
// and history from SQLite, the pure builder, and a new version stored per
// commune (each iteration adds a segment, so every commune changes).
func BenchmarkBuildSonLa75(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "loa.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ImportRegistry(ctx, sonla75(b)); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2025, 3, 3, 1, 0, 0, 0, broadcast.Location()).UTC()
	db.Now = func() time.Time { return now }
	prod := broadcasttest.Producer(b, db)
	topics := []string{"importance", "indices", "programme", "procedures", "apparatus", "budget", "digital", "good-practice"}
	for i := range 200 {
		broadcasttest.AddReady(b, db, nil, prod, broadcasttest.Segment{Title: fmt.Sprintf("Bản tin %d", i), Topic: topics[i%len(topics)],
			Languages: []string{"vi", "blt", "hnj"}, DurationMS: int64(45_000 + (i*7919)%240_000)})
	}
	svc := &broadcast.Service{Store: db, Now: func() time.Time { return now }}
	b.ResetTimer()
	var last broadcast.BuildResult
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		broadcasttest.AddReady(b, db, nil, prod, broadcasttest.Segment{Title: fmt.Sprintf("Mới %d", i), Priority: pipeline.PriorityPriority,
			Languages: []string{"vi", "blt", "hnj"}, DurationMS: 30_000})
		b.StartTimer()
		if last, err = svc.Build(ctx, now, nil, "bench"); err != nil {
			b.Fatal(err)
		}
		if len(last.Changed) != 75 {
			b.Fatalf("changed %d communes, want 75", len(last.Changed))
		}
	}
	b.ReportMetric(float64(last.BuildNS.Microseconds())/1000, "builder-ms")
}
