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

// TestCancelledRequestNotice: a wide request an administrator declines is
// dropped with a notice to the producer who asked (only him), naming the
// segment and the reason; one its producer withdraws sends none. Either
// way the emergency in force on the segment stays.
func TestCancelledRequestNotice(t *testing.T) {
	for _, tc := range []struct {
		name     string
		declined bool
		notices  []string // recipients
	}{
		{"declined", true, []string{"dai-ptth"}},
		{"withdrawn", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := setup(t)
			now := time.Date(2025, 3, 5, 2, 0, 0, 0, time.UTC)
			db.Now = func() time.Time { return now }
			producer := fastUser(t, db, "dai-ptth", pipeline.RoleProducer)
			fastUser(t, db, "bien-tap-2", pipeline.RoleProducer)
			admin := fastUser(t, db, "so-noi-vu", pipeline.RoleAdmin)
			insertSegment(t, db, "lu-quet", "Cảnh báo lũ quét", "normal", now, producer.ID)
			if _, err := db.sql.ExecContext(ctx, "INSERT INTO emergencies (segment_id, targets, until, marked_by, marked_at) VALUES (?, ?, ?, ?, ?)",
				"lu-quet", "", now.Add(3*time.Hour), admin.ID, now); err != nil {
				t.Fatal(err)
			}
			if err := db.RequestEmergency(ctx, pipeline.EmergencyRequest{SegmentID: "lu-quet", Targets: []string{"a", "b"}, Until: now.Add(6 * time.Hour),
				Reason: "mưa lớn", RequestedBy: producer.ID, RequestedAt: now}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.TakeNotices(ctx, 10, func(*sql.Tx, notify.Message) error { return nil }); err != nil {
				t.Fatal(err)
			}
			by := producer.ID
			if tc.declined {
				by = admin.ID
			}
			r, err := db.CancelEmergencyRequest(ctx, "lu-quet", by, tc.declined, "đã có khẩn cấp toàn tỉnh", now)
			if err != nil || strings.Join(r.Targets, ",") != "a,b" || r.RequestedBy != producer.ID {
				t.Fatalf("cancel: %+v %v", r, err)
			}
			var to []string
			if _, err := db.TakeNotices(ctx, 10, func(_ *sql.Tx, m notify.Message) error {
				to = append(to, m.To.Name)
				for _, want := range []string{"so-noi-vu declined", "lu-quet", "Cảnh báo lũ quét", "2 communes (a, b)", "đã có khẩn cấp toàn tỉnh", "unchanged"} {
					if m.Kind != notify.KindEmergencyDeclined || !strings.Contains(m.Subject+"\n"+m.Body, want) {
						t.Errorf("the %s notice to %s does not say %q:\n%s\n%s", m.Kind, m.To.Name, want, m.Subject, m.Body)
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(to, tc.notices) {
				t.Errorf("notices went to %v, want %v", to, tc.notices)
			}
			if _, err := db.PendingEmergency(ctx, "lu-quet"); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
				t.Errorf("the request still waits (%v)", err)
			}
			if _, err := db.EmergencyInForce(ctx, "lu-quet", now); err != nil {
				t.Errorf("the emergency in force is gone: %v", err)
			}
			if _, err := db.CancelEmergencyRequest(ctx, "lu-quet", by, tc.declined, "lại", now); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
				t.Errorf("cancelling again: %v, want not found", err)
			}
		})
	}
}
