package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
)

// TestEmergencyRequestTellsAdmins: a producer's wide emergency waiting
// for confirmation queues one notice to every administrator who is not
// disabled (no one else), naming the segment, the reason and the command
// that confirms it.
func TestEmergencyRequestTellsAdmins(t *testing.T) {
	ctx := context.Background()
	db := setup(t)
	now := time.Date(2025, 3, 5, 2, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	producer := fastUser(t, db, "dai-ptth", pipeline.RoleProducer)
	fastUser(t, db, "so-noi-vu", pipeline.RoleAdmin)
	fastUser(t, db, "quan-tri-2", pipeline.RoleAdmin)
	fastUser(t, db, "nghi-viec", pipeline.RoleAdmin)
	fastUser(t, db, "lo-van-a", pipeline.RoleTranslator, "blt")
	if _, err := db.SetUserDisabled(ctx, "nghi-viec", true, pipeline.Actor{Name: "cli:root"}); err != nil {
		t.Fatal(err)
	}
	insertSegment(t, db, "lu-quet", "Cảnh báo lũ quét", "normal", now, producer.ID)
	err := db.RequestEmergency(ctx, pipeline.EmergencyRequest{SegmentID: "lu-quet", Until: now.Add(6 * time.Hour),
		Reason: "mưa lớn, nguy cơ lũ quét", RequestedBy: producer.ID, RequestedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	var got []notify.Message
	if _, err := db.TakeNotices(ctx, 10, func(_ *sql.Tx, m notify.Message) error { got = append(got, m); return nil }); err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range got {
		if m.Kind != notify.KindEmergencyRequested {
			t.Errorf("a %s notice to %s", m.Kind, m.To.Name)
			continue
		}
		to = append(to, m.To.Name)
		for _, want := range []string{"dai-ptth", "lu-quet", "Cảnh báo lũ quét", "whole province", "2025-03-05 15:00", "mưa lớn, nguy cơ lũ quét",
			"loa segments emergency lu-quet --confirm-request --yes"} {
			if !strings.Contains(m.Subject+"\n"+m.Body, want) {
				t.Errorf("the notice to %s does not say %q:\n%s\n%s", m.To.Name, want, m.Subject, m.Body)
			}
		}
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"quan-tri-2", "so-noi-vu"}) {
		t.Fatalf("notices went to %v, want the two administrators not disabled", to)
	}
}
