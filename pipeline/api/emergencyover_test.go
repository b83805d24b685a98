package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestEmergencyOverThenPriority: once an emergency is over (here ended
// early), its segment airs nowhere and no commune's account blames the
// emergency's targets; setting its priority again (normal) puts it back
// on the communes it aired on before, in its own air window.
func TestEmergencyOverThenPriority(t *testing.T) {
	sb := setupSchedules(t)
	op, producer, admin := sb.tokens[pipeline.RoleOperator], sb.tokens[pipeline.RoleProducer], sb.tokens[pipeline.RoleAdmin]
	mine := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".json"
	fire := sb.segs[0]
	airs := func() bool {
		t.Helper()
		r, js := sb.get(t, mine, op)
		if r.StatusCode != 200 {
			t.Fatalf("playlist: %d %s", r.StatusCode, js)
		}
		return playlistAirs(t, js, fire)
	}
	build := func() {
		t.Helper()
		if r, body := sb.do(t, "POST", "/api/schedules/build", admin, nil, ""); r.StatusCode != 200 {
			t.Fatalf("build: %d %s", r.StatusCode, body)
		}
	}
	build()
	if !airs() {
		t.Fatal("the segment does not air on Mường Lạn before the emergency: the test needs one that does")
	}
	sb.raiseOnMuongLan(t, fire, producer)
	if r, body := sb.do(t, "POST", "/api/segments/"+fire+"/emergency/end", producer, strings.NewReader(`{"confirm":true,"reason":"báo động nhầm"}`), "application/json"); r.StatusCode != 200 {
		t.Fatalf("end: %d %s", r.StatusCode, body)
	}
	build()
	if airs() {
		t.Fatal("the segment still airs after its emergency ended")
	}
	for _, commune := range []string{"muong-lan", "to-hieu"} {
		if r, text := sb.get(t, "/api/communes/"+commune+"/explain", admin); r.StatusCode != 200 || strings.Contains(string(text), "emergency meant for") {
			t.Errorf("%s's account after the end: %d\n%s", commune, r.StatusCode, text)
		}
	}
	if r, body := sb.do(t, "PUT", "/api/segments/"+fire+"/priority", producer, strings.NewReader(`{"priority":"normal"}`), "application/json"); r.StatusCode != http.StatusOK {
		t.Fatalf("priority normal: %d %s", r.StatusCode, body)
	}
	build()
	if !airs() {
		t.Fatal("the segment set back to normal does not air again")
	}
}
