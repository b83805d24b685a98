package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

// TestPendingEmergencyExpires: a wide emergency request waiting for an
// administrator is expired once its end time has passed by the store's
// clock (not the machine's): the segment, the segment list (also the
// pending_emergency filter) and the request itself say so, and it is
// still listed as waiting, so an administrator sees it and cancels it.
func TestPendingEmergencyExpires(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 3, 3, 2, 0, 0, 0, time.UTC)
	until := start.Add(6 * time.Hour)
	tests := []struct {
		name    string
		now     time.Time
		expired bool
	}{
		{"just asked", start, false},
		{"a second before its end", until.Add(-time.Second), false},
		{"at its end", until, true},
		{"a day later", until.Add(24 * time.Hour), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := sqlstoretest.New(t)
			now := start
			db.Now = func() time.Time { return now }
			producer := broadcasttest.Producer(t, db)
			seg := broadcasttest.AddReady(t, db, nil, producer, broadcasttest.Segment{Title: "Cháy rừng"})
			if err := db.RequestEmergency(ctx, pipeline.EmergencyRequest{SegmentID: seg, Until: until, Reason: "Cháy rừng",
				RequestedBy: producer.ID, RequestedAt: start}); err != nil {
				t.Fatal(err)
			}
			now = tc.now
			s, err := db.Segment(ctx, seg)
			if err != nil || !s.EmergencyRequested || s.EmergencyRequestExpired != tc.expired {
				t.Errorf("segment: requested %v, expired %v (%v); want requested, expired %v", s.EmergencyRequested, s.EmergencyRequestExpired, err, tc.expired)
			}
			list, err := db.Segments(ctx, pipeline.SegmentFilter{EmergencyRequested: true})
			if err != nil || len(list) != 1 || list[0].EmergencyRequestExpired != tc.expired {
				t.Errorf("pending list: %d segments (%v), want 1 with expired %v", len(list), err, tc.expired)
			}
			r, err := db.PendingEmergency(ctx, seg)
			if err != nil || r.Expired != tc.expired {
				t.Errorf("pending request: expired %v (%v), want %v", r.Expired, err, tc.expired)
			}
		})
	}
}

// TestWithdrawCancelsPendingRequest: withdrawing a segment drops its wide
// emergency request waiting for an administrator, so no one is asked to
// confirm what can no longer air; a request on another segment stays.
func TestWithdrawCancelsPendingRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	now := time.Date(2025, 3, 3, 2, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	producer := broadcasttest.Producer(t, db)
	gone := broadcasttest.AddReady(t, db, nil, producer, broadcasttest.Segment{Title: "Lũ quét"})
	kept := broadcasttest.AddReady(t, db, nil, producer, broadcasttest.Segment{Title: "Cháy rừng"})
	for _, seg := range []string{gone, kept} {
		if err := db.RequestEmergency(ctx, pipeline.EmergencyRequest{SegmentID: seg, Until: now.Add(6 * time.Hour), Reason: "thử",
			RequestedBy: producer.ID, RequestedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.WithdrawSegment(ctx, gone, producer.ID, "nội dung sai"); err != nil {
		t.Fatal(err)
	}
	list, err := db.Segments(ctx, pipeline.SegmentFilter{EmergencyRequested: true})
	if err != nil || len(list) != 1 || list[0].ID != kept {
		t.Fatalf("pending list after the withdrawal: %v (%v), want only %s", list, err, kept)
	}
	if _, err := db.PendingEmergency(ctx, gone); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
		t.Fatalf("the withdrawn segment's request: %v, want not found", err)
	}
	if s, err := db.Segment(ctx, gone); err != nil || s.EmergencyRequested {
		t.Fatalf("withdrawn segment still says requested (%v)", err)
	}
}
