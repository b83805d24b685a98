package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/schedules"
)

// TestEmergencyOutsideItsAirWindow: an emergency raised on a segment
// whose own air window has not begun (or has ended) airs all the same —
// it leads this evening's slot, not only the interrupt — and the dry run
// and the answer say so.
func TestEmergencyOutsideItsAirWindow(t *testing.T) {
	sb := setupSchedules(t)
	producer := sb.tokens[pipeline.RoleProducer]
	now := sb.db.Now()
	tests := []struct {
		name       string
		from, till time.Time
		say        string // in the dry run and the answer; "" for nothing
	}{
		{"window begins in four days", now.Add(4 * 24 * time.Hour), now.Add(30 * 24 * time.Hour), "Its own air window begins"},
		{"window has ended", now.Add(-10 * 24 * time.Hour), now.Add(-time.Hour), "Its own air window ended"},
		{"window holds", now.Add(-time.Hour), now.Add(30 * 24 * time.Hour), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg := broadcasttest.AddReady(t, sb.db, nil, sb.users[pipeline.RoleProducer],
				broadcasttest.Segment{Title: "Lũ quét " + tt.name, Languages: []string{"vi", "blt", "hnj"}, DurationMS: 20_000, AirFrom: tt.from, AirUntil: tt.till})
			path := "/api/segments/" + seg + "/emergency"
			resp, body := sb.do(t, "POST", path, producer, strings.NewReader(`{"communes":["muong-lan"],"reason":"lũ quét"}`), "application/json")
			if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(string(body), "air window") != (tt.say != "") || !strings.Contains(string(body), tt.say) {
				t.Errorf("dry run: %d %s; want 422 saying %q", resp.StatusCode, body, tt.say)
			}
			resp, body = sb.do(t, "POST", path, producer, strings.NewReader(`{"communes":["muong-lan"],"reason":"lũ quét","confirm":true}`), "application/json")
			var res struct{ Message string }
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &res) != nil || !strings.Contains(res.Message, tt.say) || (tt.say == "") != (res.Message == "") {
				t.Errorf("raise: %d %s; want 200 saying %q", resp.StatusCode, body, tt.say)
			}
			r, js := sb.get(t, "/api/communes/muong-lan/clusters/trung-tam/playlists/"+sb.today+".json", sb.tokens[pipeline.RoleOperator])
			var doc schedules.PlaylistDoc
			if r.StatusCode != http.StatusOK || json.Unmarshal(js, &doc) != nil {
				t.Fatalf("playlist: %d %s", r.StatusCode, js)
			}
			leads := false
			for _, e := range doc.Entries {
				if e.SegmentID == seg && e.Kind == schedules.EntrySegment && e.Start.In(time.UTC).After(now) {
					leads = true
				}
			}
			if !leads {
				t.Errorf("the emergency is in no slot of today's playlist after the raise: %s", js)
			}
		})
	}
}
