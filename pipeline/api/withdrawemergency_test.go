package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// TestWithdrawnEmergencyLeavesAtOnce: withdrawing a segment that is an
// emergency in force rebuilds its communes in the same request, as
// raising it did: the next conditional poll gets the playlist without
// the interrupt (its media moves away, so its links would answer 404),
// not a 304 until the debounced rebuild.
func TestWithdrawnEmergencyLeavesAtOnce(t *testing.T) {
	sb := setupSchedules(t)
	op, producer := sb.tokens[pipeline.RoleOperator], sb.tokens[pipeline.RoleProducer]
	mine := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".json"
	fire := sb.segs[2]
	sb.raiseOnMuongLan(t, fire, producer)
	airs := func(js []byte) bool { t.Helper(); return playlistAirs(t, js, fire) }
	r, js := sb.get(t, mine, op)
	if r.StatusCode != 200 || !airs(js) {
		t.Fatalf("before the withdrawal: %d, airs the emergency %v", r.StatusCode, airs(js))
	}
	tag := r.Header.Get("ETag")
	resp, body := sb.do(t, "DELETE", "/api/segments/"+fire+"?confirm="+fire+"&reason=sai+thông+tin", producer, nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("withdraw: %d %s", resp.StatusCode, body)
	}
	r, js = sb.get(t, mine, op, "If-None-Match", tag)
	if r.StatusCode != http.StatusOK || r.Header.Get("ETag") == tag || airs(js) {
		t.Fatalf("right after the withdrawal: %d, ETag %q (was %q), still airs it: %v", r.StatusCode, r.Header.Get("ETag"), tag, r.StatusCode == 200 && airs(js))
	}
}

// TestWithdrawnSegmentLeavesAtOnce: withdrawing a segment that is not an
// emergency takes it out of the playlists of the communes airing it in
// the same request; before, they kept listing it (with links that answer
// 404 once its media moved) until the debounced rebuild, up to 30 s.
func TestWithdrawnSegmentLeavesAtOnce(t *testing.T) {
	sb := setupSchedules(t)
	op, producer := sb.tokens[pipeline.RoleOperator], sb.tokens[pipeline.RoleProducer]
	mine := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".json"
	segmentsOf := func(js []byte) map[string]bool {
		t.Helper()
		var doc schedules.PlaylistDoc
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatalf("%v: %s", err, js)
		}
		ids := map[string]bool{}
		for _, e := range doc.Entries {
			if e.SegmentID != "" {
				ids[e.SegmentID] = true
			}
		}
		return ids
	}
	r, js := sb.get(t, mine, op)
	before := segmentsOf(js)
	var gone string
	for _, id := range sb.segs {
		if before[id] {
			gone = id
			break
		}
	}
	if r.StatusCode != 200 || gone == "" {
		t.Fatalf("before the withdrawal: %d, none of %v airs: %s", r.StatusCode, sb.segs, js)
	}
	tag := r.Header.Get("ETag")
	resp, body := sb.do(t, "DELETE", "/api/segments/"+gone+"?confirm="+gone+"&reason=sai+thông+tin", producer, nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("withdraw: %d %s", resp.StatusCode, body)
	}
	r, js = sb.get(t, mine, op, "If-None-Match", tag)
	if r.StatusCode != http.StatusOK || r.Header.Get("ETag") == tag {
		t.Fatalf("right after the withdrawal: %d, ETag %q (was %q)", r.StatusCode, r.Header.Get("ETag"), tag)
	}
	if segmentsOf(js)[gone] {
		t.Fatalf("the playlist still lists withdrawn segment %s: %s", gone, js)
	}
}

// raiseOnMuongLan raises segment seg as an emergency on muong-lan, with
// token (a producer's or an administrator's), confirmed.
func (sb *schedBundle) raiseOnMuongLan(t *testing.T, seg, token string) {
	t.Helper()
	resp, body := sb.do(t, "POST", "/api/segments/"+seg+"/emergency", token,
		strings.NewReader(`{"communes":["muong-lan"],"confirm":true,"reason":"cháy rừng"}`), "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("emergency: %d %s", resp.StatusCode, body)
	}
}

// playlistAirs says whether the JSON playlist js lists segment seg.
func playlistAirs(t *testing.T, js []byte, seg string) bool {
	t.Helper()
	var doc schedules.PlaylistDoc
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	for _, e := range doc.Entries {
		if e.SegmentID == seg {
			return true
		}
	}
	return false
}
