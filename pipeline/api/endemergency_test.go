package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

// TestEndEmergencyEarly raises an emergency on Mường Lạn and ends it
// before its end time: lowering the priority meanwhile is refused (409)
// and the segment keeps saying emergency; ending needs confirm and a
// reason and is refused to operators and translators, with nothing
// ended; the producer who raised it ends it, and in the same request the
// commune's playlist changes ETag and drops it, and its account no
// longer says emergency. Then the priority can be lowered.
func TestEndEmergencyEarly(t *testing.T) {
	sb := setupSchedules(t)
	op, producer, admin := sb.tokens[pipeline.RoleOperator], sb.tokens[pipeline.RoleProducer], sb.tokens[pipeline.RoleAdmin]
	mine := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".json"
	fire := sb.segs[2]
	sb.raiseOnMuongLan(t, fire, producer)
	airs := func(js []byte) bool { t.Helper(); return playlistAirs(t, js, fire) }
	explains := func() bool {
		t.Helper()
		r, text := sb.get(t, "/api/communes/muong-lan/explain", admin)
		if r.StatusCode != 200 {
			t.Fatalf("explain: %d %s", r.StatusCode, text)
		}
		return strings.Contains(string(text), "emergency: played first")
	}
	r, js := sb.get(t, mine, op)
	if r.StatusCode != 200 || !airs(js) || !explains() {
		t.Fatalf("with the emergency raised: %d, airs it %v", r.StatusCode, airs(js))
	}
	tag := r.Header.Get("ETag")

	prio := func(p string) (int, string) {
		r, body := sb.do(t, "PUT", "/api/segments/"+fire+"/priority", producer, strings.NewReader(`{"priority":"`+p+`"}`), "application/json")
		return r.StatusCode, string(body)
	}
	for _, p := range []string{"normal", "priority"} {
		if code, body := prio(p); code != http.StatusConflict || !strings.Contains(body, "end the emergency first") || !strings.Contains(body, "--end") {
			t.Fatalf("lower to %s with the emergency in force: %d %s", p, code, body)
		}
	}
	if r, body := sb.get(t, "/api/segments/"+fire, producer); r.StatusCode != 200 || !strings.Contains(string(body), `"priority": "emergency"`) {
		t.Fatalf("the segment after the refused lowering: %d %s", r.StatusCode, body)
	}

	end := "/api/segments/" + fire + "/emergency/end"
	for _, c := range []struct {
		name, token, body string
		code              int
	}{
		{"without confirm", producer, `{"reason":"báo động nhầm"}`, http.StatusUnprocessableEntity},
		{"without reason", producer, `{"confirm":true}`, http.StatusUnprocessableEntity},
		{"operator", op, `{"confirm":true,"reason":"báo động nhầm"}`, http.StatusForbidden},
		{"translator", sb.tokens[pipeline.RoleTranslator], `{"confirm":true,"reason":"báo động nhầm"}`, http.StatusForbidden},
	} {
		resp, body := sb.do(t, "POST", end, c.token, strings.NewReader(c.body), "application/json")
		if resp.StatusCode != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, body, c.code)
		}
		if r, _ := sb.get(t, mine, op, "If-None-Match", tag); r.StatusCode != http.StatusNotModified {
			t.Fatalf("after the refused end (%s): %d, want 304 (the emergency still on)", c.name, r.StatusCode)
		}
	}

	resp, body := sb.do(t, "POST", end, producer, strings.NewReader(`{"confirm":true,"reason":"báo động nhầm"}`), "application/json")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ended": true`) {
		t.Fatalf("end: %d %s", resp.StatusCode, body)
	}
	r, js = sb.get(t, mine, op, "If-None-Match", tag)
	if r.StatusCode != 200 || r.Header.Get("ETag") == tag || airs(js) {
		t.Fatalf("right after the end: %d, ETag %q (was %q), still airs it: %v", r.StatusCode, r.Header.Get("ETag"), tag, r.StatusCode == 200 && airs(js))
	}
	if explains() {
		t.Fatal("the account still says emergency after the end")
	}
	if resp, body := sb.do(t, "POST", end, producer, strings.NewReader(`{"confirm":true,"reason":"lần nữa"}`), "application/json"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("ending it again: %d %s, want 404 (nothing to end)", resp.StatusCode, body)
	}
	if code, body := prio("normal"); code != 200 || !strings.Contains(body, `"priority": "normal"`) {
		t.Fatalf("lower after the end: %d %s", code, body)
	}
}

// TestEndEmergencyPending: a producer's province-wide request waits for
// an administrator; ending it cancels it (nothing was on air), so there
// is nothing left to confirm.
func TestEndEmergencyPending(t *testing.T) {
	sb := setupSchedules(t)
	producer, admin := sb.tokens[pipeline.RoleProducer], sb.tokens[pipeline.RoleAdmin]
	fire := sb.segs[2]
	resp, body := sb.do(t, "POST", "/api/segments/"+fire+"/emergency", producer,
		strings.NewReader(`{"province":true,"confirm":true,"reason":"lũ"}`), "application/json")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("request: %d %s", resp.StatusCode, body)
	}
	resp, body = sb.do(t, "POST", "/api/segments/"+fire+"/emergency/end", admin, strings.NewReader(`{"confirm":true,"reason":"không cần nữa"}`), "application/json")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"cancelled": true`) || !strings.Contains(string(body), `"ended": false`) {
		t.Fatalf("cancel: %d %s", resp.StatusCode, body)
	}
	resp, body = sb.do(t, "POST", "/api/segments/"+fire+"/emergency/confirm", admin, strings.NewReader(`{"confirm":true}`), "application/json")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("confirm after the cancel: %d %s, want 404", resp.StatusCode, body)
	}
}

// TestEndEmergencyWhoMay: a producer's province-wide request confirmed
// by an administrator is the administrator's: the producer may not end
// it (403, still on air); the administrator may, and every commune is
// rebuilt without it.
func TestEndEmergencyWhoMay(t *testing.T) {
	sb := setupSchedules(t)
	op, producer, admin := sb.tokens[pipeline.RoleOperator], sb.tokens[pipeline.RoleProducer], sb.tokens[pipeline.RoleAdmin]
	mine := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".json"
	fire := sb.segs[2]
	if resp, body := sb.do(t, "POST", "/api/segments/"+fire+"/emergency", producer,
		strings.NewReader(`{"province":true,"confirm":true,"reason":"lũ"}`), "application/json"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("request: %d %s", resp.StatusCode, body)
	}
	if resp, body := sb.do(t, "POST", "/api/segments/"+fire+"/emergency/confirm", admin, strings.NewReader(`{"confirm":true}`), "application/json"); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d %s", resp.StatusCode, body)
	}
	r, _ := sb.get(t, mine, op)
	tag := r.Header.Get("ETag")
	end := "/api/segments/" + fire + "/emergency/end"
	if resp, body := sb.do(t, "POST", end, producer, strings.NewReader(`{"confirm":true,"reason":"nhầm"}`), "application/json"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the requester ends the administrator's emergency: %d %s, want 403", resp.StatusCode, body)
	}
	if r, _ := sb.get(t, mine, op, "If-None-Match", tag); r.StatusCode != http.StatusNotModified {
		t.Fatalf("after the refused end: %d, want 304", r.StatusCode)
	}
	if resp, body := sb.do(t, "POST", end, admin, strings.NewReader(`{"confirm":true,"reason":"nhầm"}`), "application/json"); resp.StatusCode != 200 {
		t.Fatalf("the administrator ends it: %d %s", resp.StatusCode, body)
	}
	if r, _ := sb.get(t, mine, op, "If-None-Match", tag); r.StatusCode != 200 || r.Header.Get("ETag") == tag {
		t.Fatalf("after the end: %d, ETag %q (was %q)", r.StatusCode, r.Header.Get("ETag"), tag)
	}
}

// TestEmergencyRunsOut: an emergency left to run to its end time keeps
// the segment's priority "emergency" (only ending it early lowers it),
// so the segment answer says when it ended: emergency_ended_at, absent
// while it is in force; ending it then is a 404 (nothing to end) and the
// priority can be set again.
func TestEmergencyRunsOut(t *testing.T) {
	sb := setupSchedules(t)
	producer := sb.tokens[pipeline.RoleProducer]
	fire := sb.segs[2]
	sb.raiseOnMuongLan(t, fire, producer)
	segment := func() api.SegmentView {
		t.Helper()
		r, body := sb.get(t, "/api/segments/"+fire, producer)
		var v api.SegmentView
		if r.StatusCode != 200 || json.Unmarshal(body, &v) != nil {
			t.Fatalf("segment: %d %s", r.StatusCode, body)
		}
		return v
	}
	if v := segment(); v.Priority != pipeline.PriorityEmergency || v.EmergencyEndedAt != nil {
		t.Fatalf("in force: priority %s, ended at %v; want emergency, not ended", v.Priority, v.EmergencyEndedAt)
	}
	// The emergency lasts its default 24 hours.
	sb.advance(25 * time.Hour)
	v := segment()
	if v.Priority != pipeline.PriorityEmergency || v.EmergencyEndedAt == nil || !v.EmergencyEndedAt.Before(sb.api.Now()) ||
		sb.api.Now().Sub(*v.EmergencyEndedAt) > 2*time.Hour {
		t.Fatalf("run out: priority %s, ended at %v (now %v); want emergency ended an hour ago", v.Priority, v.EmergencyEndedAt, sb.api.Now())
	}
	resp, body := sb.do(t, "POST", "/api/segments/"+fire+"/emergency/end", producer, strings.NewReader(`{"confirm":true,"reason":"hết"}`), "application/json")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("ending a run-out emergency: %d %s, want 404", resp.StatusCode, body)
	}
	resp, body = sb.do(t, "PUT", "/api/segments/"+fire+"/priority", producer, strings.NewReader(`{"priority":"priority"}`), "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("priority after it ran out: %d %s", resp.StatusCode, body)
	}
	if v := segment(); v.Priority != pipeline.PriorityPriority || v.EmergencyEndedAt != nil {
		t.Errorf("after setting priority: %s, ended at %v; want priority and no ended emergency", v.Priority, v.EmergencyEndedAt)
	}
}
