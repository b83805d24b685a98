package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestExpiredEmergencyRequestPages: a wide emergency request whose end
// time has passed (by the store's clock) is shown as expired on the
// administrator's home, the segments list, the segment's page (no
// confirm form, the cancel form kept) and in GET
// /api/segments?pending_emergency=1; confirming it anyway is refused
// saying it expired, in the page's language.
func TestExpiredEmergencyRequestPages(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	ctx := context.Background()
	admin := b.session(t, pipeline.RoleAdmin)
	now := b.db.Now()
	for i, until := range []time.Time{now.Add(2 * time.Hour), now.Add(-time.Hour)} { // waiting, expired
		if err := b.db.RequestEmergency(ctx, pipeline.EmergencyRequest{SegmentID: b.segs[i], Until: until, Reason: "Lũ quét",
			RequestedBy: b.users[pipeline.RoleProducer].ID, RequestedAt: now.Add(-3 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	waiting, expired := "/producer/segments/"+b.segs[0], "/producer/segments/"+b.segs[1]
	vi := catalogue(t, "vi")

	_, body := b.do(t, "GET", "/admin/users", admin, nil, "")
	i := strings.Index(body, `id="pending-emergencies"`)
	if i < 0 {
		t.Fatalf("no pending list on the admin's home:\n%s", body)
	}
	list := body[i : i+strings.Index(body[i:], "</section>")]
	for _, li := range strings.Split(list, "<li")[1:] {
		isExpired := strings.Contains(li, expired+"#")
		if strings.Contains(li, vi["pending_expired"]) != isExpired {
			t.Errorf("admin's home: item %q marks expired %v, want %v", li, !isExpired, isExpired)
		}
	}
	if !strings.Contains(list, waiting+"#") || !strings.Contains(list, expired+"#") {
		t.Errorf("the admin's home should list both requests:\n%s", list)
	}

	_, body = b.do(t, "GET", "/producer", admin, nil, "")
	if strings.Count(body, `class="pending-request expired"`) != 1 || strings.Count(body, `class="pending-request"`) != 1 {
		t.Errorf("the segments list should mark one request waiting and one expired:\n%s", body)
	}

	for _, tc := range []struct {
		page          string
		expired, form bool
	}{{waiting, false, true}, {expired, true, false}} {
		_, body = b.do(t, "GET", tc.page, admin, nil, "")
		if strings.Contains(body, `id="pending-expired"`) != tc.expired || strings.Contains(body, `id="pending-form"`) != tc.form || !strings.Contains(body, `id="end-form"`) {
			t.Errorf("%s: expired notice %v, confirm form %v, cancel form %v; want %v, %v, true", tc.page,
				strings.Contains(body, `id="pending-expired"`), strings.Contains(body, `id="pending-form"`), strings.Contains(body, `id="end-form"`), tc.expired, tc.form)
		}
	}

	resp, body := b.do(t, "POST", expired+"/emergency/confirm", admin, url.Values{"confirm": {"yes"}}, "same-origin")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, strings.SplitN(vi["err_emergency_request_expired"], "%s", 2)[0]) {
		t.Errorf("confirming the expired request: %d, want 409 saying it expired\n%s", resp.StatusCode, body)
	}
	s, err := b.db.Segment(ctx, b.segs[1])
	if err != nil || s.Priority == pipeline.PriorityEmergency {
		t.Errorf("the expired request went on air: %v %v", s.Priority, err)
	}

	resp, body = b.do(t, "GET", "/api/segments?pending_emergency=1", admin, nil, "same-origin")
	var segs []pipeline.Segment
	if err := json.Unmarshal([]byte(body), &segs); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/segments?pending_emergency=1: %d %v\n%s", resp.StatusCode, err, body)
	}
	got := map[string]bool{}
	for _, s := range segs {
		got[s.ID] = s.EmergencyRequestExpired
	}
	if len(got) != 2 || got[b.segs[0]] || !got[b.segs[1]] {
		t.Errorf("API: expired by segment %v, want %s false and %s true", got, b.segs[0], b.segs[1])
	}
}
