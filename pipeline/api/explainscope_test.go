package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/schedules"
)

// TestExplainScopedForProducers: GET /api/communes/{code}/explain (loa
// schedule explain) shows a producer their own segments by id and title,
// and another producer's neither by id nor by title: where it airs, as
// "another producer's segment" with its slot, length and priority (why
// it came before theirs); where it does not, only counted. Administrators
// and the commune's operator read every id and title, the whole commune
// or one cluster alike.
func TestExplainScopedForProducers(t *testing.T) {
	sb := setupSchedules(t)
	ctx := context.Background()
	other := broadcasttest.Producer(t, sb.db)
	from := sb.svc.CurrentTime().Add(-48 * time.Hour)
	airing := broadcasttest.AddReady(t, sb.db, nil, other, broadcasttest.Segment{Title: "Tin riêng của báo Sơn La", Priority: pipeline.PriorityPriority, AirFrom: from})
	later := broadcasttest.AddReady(t, sb.db, nil, other, broadcasttest.Segment{Title: "Tin chưa đến giờ phát",
		AirFrom: sb.svc.CurrentTime().Add(30 * 24 * time.Hour)})
	if _, err := sb.svc.Build(ctx, sb.svc.CurrentTime(), nil, "test"); err != nil {
		t.Fatal(err)
	}
	own, err := sb.db.Segment(ctx, sb.segs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who, path string
		token     string
		others    bool // sees the other producer's ids and titles
	}{
		{"producer", "/api/communes/muong-lan/explain", sb.tokens["producer"], false},
		{"producer, one cluster", "/api/communes/muong-lan/explain?cluster=trung-tam", sb.tokens["producer"], false},
		{"admin", "/api/communes/muong-lan/explain", sb.tokens["admin"], true},
		{"operator", "/api/communes/muong-lan/explain", sb.tokens["operator"], true},
	} {
		t.Run(c.who, func(t *testing.T) {
			r, body := sb.get(t, c.path, c.token)
			text := string(body)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", r.StatusCode, text)
			}
			for _, want := range []string{own.ID, own.Title, "priority: played right after emergencies"} {
				if !strings.Contains(text, want) {
					t.Errorf("lacks %q:\n%s", want, text)
				}
			}
			secrets := []string{airing, "Tin riêng của báo Sơn La", later, "Tin chưa đến giờ phát"}
			for _, s := range secrets {
				if got := strings.Contains(text, s); got != c.others {
					t.Errorf("shows %q: %t, want %t:\n%s", s, got, c.others, text)
				}
			}
			for _, s := range []string{schedules.OtherSegment + " [vi]", "other producers' segments: 1, not shown"} {
				if got := strings.Contains(text, s); got == c.others {
					t.Errorf("says %q: %t, want %t:\n%s", s, got, !c.others, text)
				}
			}
		})
	}
}
