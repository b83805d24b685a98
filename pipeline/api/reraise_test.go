package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// airing says, for each of codes, whether its trung-tam playlist of today
// is interrupted by seg (an emergency airs there).
func (sb *schedBundle) airing(t *testing.T, seg string, codes ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, c := range codes {
		r, js := sb.get(t, "/api/communes/"+c+"/clusters/trung-tam/playlists/"+sb.today+".json", sb.tokens[pipeline.RoleAdmin])
		if r.StatusCode != 200 {
			t.Fatalf("playlist of %s: %d %s", c, r.StatusCode, js)
		}
		var doc schedules.PlaylistDoc
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatalf("%v: %s", err, js)
		}
		out[c] = slices.ContainsFunc(doc.Entries, func(e schedules.Entry) bool { return e.SegmentID == seg && e.Kind == schedules.EntryInterrupt })
	}
	return out
}

// TestReraiseKeepsCommunes is the tester's sequence: an administrator
// raises an emergency on three communes; the producer may not end it, and
// raising it again with one other commune now adds that commune (all
// four air it, in the same request) instead of silently taking the alert
// off the administrator's three; the emergency stays the
// administrator's (the producer still may not end it). A producer's
// replace (narrowing) is refused with 403 naming who may, changing
// nothing; its dry run is refused the same way. The administrator's
// replace works and its answer names the communes that lost the alert,
// whose playlists drop it at once. The segment answer shows the
// emergency in force: communes, until, reason, who raised it.
func TestReraiseKeepsCommunes(t *testing.T) {
	sb := setupSchedules(t)
	producer, admin := sb.tokens[pipeline.RoleProducer], sb.tokens[pipeline.RoleAdmin]
	fire := sb.segs[2]
	path := "/api/segments/" + fire + "/emergency"
	post := func(token, url, body string) (int, string) {
		t.Helper()
		r, b := sb.do(t, "POST", url, token, strings.NewReader(body), "application/json")
		return r.StatusCode, string(b)
	}
	all := []string{"muong-lan", "suoi-to", "ta-xua", "phieng-khoai"}
	want := func(step string, on ...string) {
		t.Helper()
		got := sb.airing(t, fire, all...)
		for _, c := range all {
			if got[c] != slices.Contains(on, c) {
				t.Fatalf("%s: airing %v, want exactly %v", step, got, on)
			}
		}
	}
	if code, body := post(admin, path, `{"communes":["muong-lan","suoi-to","ta-xua"],"confirm":true,"reason":"lũ: Sở chỉ đạo"}`); code != 200 {
		t.Fatalf("admin raises: %d %s", code, body)
	}
	want("admin's raise", "muong-lan", "suoi-to", "ta-xua")
	if code, body := post(producer, path+"/end", `{"confirm":true,"reason":"x"}`); code != http.StatusForbidden {
		t.Fatalf("producer ends the admin's emergency: %d %s", code, body)
	}

	// The dry run names what is in force and what is added.
	code, body := post(producer, path, `{"communes":["phieng-khoai"],"reason":"đổi"}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "in force now: muong-lan, suoi-to, ta-xua") ||
		!strings.Contains(body, "added: phieng-khoai") || !strings.Contains(body, "losing the alert: none") {
		t.Fatalf("producer's dry run: %d %s", code, body)
	}
	code, body = post(producer, path, `{"communes":["phieng-khoai"],"confirm":true,"reason":"đổi"}`)
	if code != 200 || !strings.Contains(body, `"dropped": []`) {
		t.Fatalf("producer adds phieng-khoai: %d %s", code, body)
	}
	want("producer's add", all...)
	if code, body := post(producer, path+"/end", `{"confirm":true,"reason":"x"}`); code != http.StatusForbidden {
		t.Fatalf("after adding a commune the producer ends the admin's emergency: %d %s, want 403 (still the admin's)", code, body)
	}

	// Narrowing: refused to the producer (dry run and real), allowed to
	// the administrator, naming the communes dropped.
	for _, body := range []string{`{"communes":["phieng-khoai"],"replace":true,"reason":"đổi"}`, `{"communes":["phieng-khoai"],"replace":true,"confirm":true,"reason":"đổi"}`} {
		code, got := post(producer, path, body)
		if code != http.StatusForbidden || !strings.Contains(got, "administrator") || !strings.Contains(got, "muong-lan, suoi-to, ta-xua") {
			t.Fatalf("producer's replace %s: %d %s, want 403 naming who may and what would drop", body, code, got)
		}
	}
	want("refused replace", all...)
	code, body = post(admin, path, `{"communes":["ta-xua"],"replace":true,"reason":"thu hẹp"}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "losing the alert: muong-lan, phieng-khoai, suoi-to") {
		t.Fatalf("admin's replace dry run: %d %s", code, body)
	}
	code, body = post(admin, path, `{"communes":["ta-xua"],"replace":true,"confirm":true,"reason":"thu hẹp"}`)
	var res struct {
		Plan struct{ Dropped, Kept []string }
	}
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || !slices.Equal(res.Plan.Dropped, []string{"muong-lan", "phieng-khoai", "suoi-to"}) || !slices.Equal(res.Plan.Kept, []string{"ta-xua"}) {
		t.Fatalf("admin's replace: %d %s", code, body)
	}
	want("admin's replace", "ta-xua")

	r, js := sb.get(t, "/api/segments/"+fire, producer)
	var v struct {
		Emergency *pipeline.EmergencyInForce `json:"emergency"`
	}
	if r.StatusCode != 200 || json.Unmarshal(js, &v) != nil || v.Emergency == nil {
		t.Fatalf("segment answer: %d %s", r.StatusCode, js)
	}
	if e := v.Emergency; !slices.Equal(e.Communes, []string{"ta-xua"}) || e.Province || e.Reason != "thu hẹp" || e.RaisedBy != sb.users[pipeline.RoleAdmin].Name || e.Until.IsZero() {
		t.Fatalf("emergency in force: %+v", *e)
	}
}
