package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/schedules"
)

// TestHeartbeatScopeAndStates: a device heartbeats for its own commune
// only (another commune is 404, a person's operator account 403, a bad
// body 422); its commune's operator and the admin see it online, then
// late, then offline as the clock passes 3 and 15 heartbeat intervals,
// and /metrics counts devices by state.
func TestHeartbeatScopeAndStates(t *testing.T) {
	sb := setupSchedules(t)
	ctx := context.Background()
	_, tokA, err := sb.db.CreateDevice(ctx, "muong-lan", "UBND xã")
	if err != nil {
		t.Fatal(err)
	}
	_, tokB, err := sb.db.CreateDevice(ctx, "to-hieu", "")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 3, 5, 30, 0, 0, time.UTC)}
	sb.api.Now = clk.Now
	beat := func(version string) string {
		return fmt.Sprintf(`{"sent_at":%q,"every_s":60,"player_version":"test","bundle_version":%q,"playing":{"trung-tam":"x#0 Tin"},"journal_backlog":4,"clock_offset_ms":-300,"free_bytes":1000}`,
			clk.Now().Format(time.RFC3339), version)
	}
	calls := []struct {
		name, commune, token, body string
		status                     int
	}{
		{"own commune", "muong-lan", tokA, beat("v1"), 200},
		{"a device as another commune", "to-hieu", tokA, beat("forged"), 404},
		{"another commune's device", "muong-lan", tokB, beat("forged"), 404},
		{"a person's operator account", "muong-lan", sb.tokens["operator"], beat("forged"), 403},
		{"bad body", "muong-lan", tokA, `{"bundle_version":"v2"}`, 422},
	}
	for _, c := range calls {
		resp, body := sb.do(t, "POST", "/api/communes/"+c.commune+"/heartbeat", c.token, strings.NewReader(c.body), "application/json")
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, body, c.status)
		}
	}
	devices := func(path, token string) []api.DeviceView { return deviceViews(t, sb, path, token) }
	gauge := func(state schedules.DeviceState) string {
		t.Helper()
		prefix := `loa_player_devices{state="` + string(state) + `"} `
		for line := range strings.Lines(scrape(t, sb.srv.URL, sb.tokens["admin"])) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
				return v
			}
		}
		return "missing"
	}
	if resp, body := sb.get(t, "/api/communes/to-hieu/devices", sb.tokens["operator"]); resp.StatusCode != 404 {
		t.Errorf("an operator listing another commune's devices: %d %s, want 404", resp.StatusCode, body)
	}
	steps := []struct {
		after  time.Duration // since the heartbeat
		stateA schedules.DeviceState
	}{
		{0, schedules.DeviceOnline},
		{3 * time.Minute, schedules.DeviceOnline},
		{3*time.Minute + time.Second, schedules.DeviceLate},
		{15 * time.Minute, schedules.DeviceLate},
		{15*time.Minute + time.Second, schedules.DeviceOffline},
	}
	sent := clk.Now()
	for _, st := range steps {
		clk.add(sent.Add(st.after).Sub(clk.Now()))
		own := devices("/api/communes/muong-lan/devices", sb.tokens["operator"])
		if len(own) != 1 || own[0].State != st.stateA || own[0].Label != "UBND xã" || own[0].Heartbeat == nil ||
			own[0].Heartbeat.BundleVersion != "v1" || own[0].Heartbeat.Backlog != 4 {
			t.Fatalf("at +%s the operator sees %+v, want one device %s with bundle v1", st.after, own, st.stateA)
		}
		all := devices("/api/devices", sb.tokens["admin"])
		if len(all) != 2 || all[1].Commune != "to-hieu" || all[1].State != schedules.DeviceNever {
			t.Fatalf("the admin sees %+v, want muong-lan's and to-hieu's (never)", all)
		}
		for _, s := range schedules.DeviceStates {
			want := "0"
			if s == st.stateA || s == schedules.DeviceNever {
				want = "1"
			}
			if got := gauge(s); got != want {
				t.Errorf("loa_player_devices{state=%q} = %s, want %s (device A %s)", s, got, want, st.stateA)
			}
		}
	}
	// A new heartbeat brings it back online.
	resp, body := sb.do(t, "POST", "/api/communes/muong-lan/heartbeat", tokA, strings.NewReader(beat("v2")), "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", resp.StatusCode, body)
	}
	if own := devices("/api/communes/muong-lan/devices", tokA); own[0].State != schedules.DeviceOnline || own[0].Heartbeat.BundleVersion != "v2" {
		t.Fatalf("after a new heartbeat: %+v", own[0])
	}
}

// TestRefusedDeviceNotOnline: a device whose token was revoked, or whose
// account is disabled, is refused by the server, so the device lists and
// loa_player_devices show it revoked or disabled, never online, even
// right after its last heartbeat; a device still allowed stays online.
// Enabling the account again leaves the device revoked (disabling
// revoked its token for good) until it is given a new token; then it
// shows by its heartbeat again.
func TestRefusedDeviceNotOnline(t *testing.T) {
	sb := setupSchedules(t)
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 3, 5, 30, 0, 0, time.UTC)}
	sb.api.Now = clk.Now
	beat := fmt.Sprintf(`{"sent_at":%q,"every_s":60,"player_version":"test","bundle_version":"v1"}`, clk.Now().Format(time.RFC3339))
	names := map[string]string{}
	for _, label := range []string{"revoked", "disabled", "ok"} {
		u, tok, err := sb.db.CreateDevice(ctx, "muong-lan", label)
		if err != nil {
			t.Fatal(err)
		}
		names[label] = u.Name
		if resp, body := sb.do(t, "POST", "/api/communes/muong-lan/heartbeat", tok, strings.NewReader(beat), "application/json"); resp.StatusCode != 200 {
			t.Fatalf("heartbeat of %s: %d %s", label, resp.StatusCode, body)
		}
		if label == "revoked" {
			if err := sb.db.RevokeToken(ctx, tok, pipeline.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := sb.db.SetUserDisabled(ctx, names["disabled"], true, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	states := func(path, token string) map[string]schedules.DeviceState {
		t.Helper()
		got := map[string]schedules.DeviceState{}
		for _, d := range deviceViews(t, sb, path, token) {
			got[d.Label] = d.State
		}
		return got
	}
	want := map[string]schedules.DeviceState{"revoked": schedules.DeviceRevoked, "disabled": schedules.DeviceDisabled, "ok": schedules.DeviceOnline}
	for _, c := range []struct{ path, token string }{
		{"/api/communes/muong-lan/devices", sb.tokens["operator"]},
		{"/api/devices", sb.tokens["admin"]},
	} {
		got := states(c.path, c.token)
		for label, st := range want {
			if got[label] != st {
				t.Errorf("%s: device %q is %q, want %q", c.path, label, got[label], st)
			}
		}
	}
	metrics := scrape(t, sb.srv.URL, sb.tokens["admin"])
	for _, line := range []string{`loa_player_devices{state="online"} 1`, `loa_player_devices{state="revoked"} 1`, `loa_player_devices{state="disabled"} 1`} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if _, err := sb.db.SetUserDisabled(ctx, names["disabled"], false, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	if got := states("/api/devices", sb.tokens["admin"]); got["disabled"] != schedules.DeviceRevoked {
		t.Errorf("a device enabled again is %q, want revoked (its old token stays revoked)", got["disabled"])
	}
	dev, err := sb.db.UserByName(ctx, names["disabled"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.db.CreateToken(ctx, dev.ID, "new"); err != nil {
		t.Fatal(err)
	}
	if got := states("/api/devices", sb.tokens["admin"]); got["disabled"] != schedules.DeviceOnline {
		t.Errorf("an enabled device with a new token is %q, want online by its heartbeat", got["disabled"])
	}
}

// TestDeviceListScopedByCode: GET /api/devices (loa device list without
// --commune) answers an operator with the devices of the commune whose
// code the account is bound to, not 403 and not another commune's (even
// one with the same name); an admin sees every commune's.
func TestDeviceListScopedByCode(t *testing.T) {
	sb := setupSchedules(t)
	ctx := context.Background()
	for _, c := range []string{"muong-lan", "to-hieu"} {
		if _, _, err := sb.db.CreateDevice(ctx, c, "loa "+c); err != nil {
			t.Fatal(err)
		}
	}
	communes := func(token string) []string {
		t.Helper()
		var out []string
		for _, d := range deviceViews(t, sb, "/api/devices", token) {
			out = append(out, d.Commune)
		}
		return out
	}
	if got := communes(sb.tokens["operator"]); len(got) != 1 || got[0] != "muong-lan" {
		t.Errorf("the operator of muong-lan sees the devices of %v, want [muong-lan]", got)
	}
	if got := communes(sb.tokens["admin"]); len(got) != 2 {
		t.Errorf("the admin sees the devices of %v, want both communes", got)
	}
}

// deviceViews GETs a device list (path) with token and decodes it,
// failing the test on any status but 200.
func deviceViews(t *testing.T, sb *schedBundle, path, token string) []api.DeviceView {
	t.Helper()
	resp, body := sb.get(t, path, token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var out []api.DeviceView
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHeartbeatRefusesBeforeReading: who may send a heartbeat is settled
// before its body is read. A caller that may not send one — an unknown,
// revoked or disabled device token, a person's operator account, another
// commune's device, an administrator — gets the same answer whatever it
// sends (a good heartbeat, a bad one, one over the size limit), so it
// learns nothing of what a heartbeat must hold; an unknown or revoked
// token gets the answer the play reports route (another device route)
// gives it. Only the commune's own device learns why its body is wrong.
func TestHeartbeatRefusesBeforeReading(t *testing.T) {
	sb := setupSchedules(t)
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 3, 5, 30, 0, 0, time.UTC)}
	sb.api.Now = clk.Now
	_, own, err := sb.db.CreateDevice(ctx, "muong-lan", "own")
	if err != nil {
		t.Fatal(err)
	}
	_, revoked, err := sb.db.CreateDevice(ctx, "muong-lan", "revoked")
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.db.RevokeToken(ctx, revoked, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	disabledDev, disabled, err := sb.db.CreateDevice(ctx, "muong-lan", "disabled")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.db.SetUserDisabled(ctx, disabledDev.Name, true, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	_, other, err := sb.db.CreateDevice(ctx, "to-hieu", "other")
	if err != nil {
		t.Fatal(err)
	}
	good := fmt.Sprintf(`{"sent_at":%q,"every_s":60,"player_version":"test","bundle_version":"v1"}`, clk.Now().Format(time.RFC3339))
	bodies := map[string]string{
		"good":      good,
		"bad":       `{"bundle_version":"v2","every_s":1,"surprise":true}`,
		"not json":  "hello",
		"too large": `{"player_version":"` + strings.Repeat("x", schedules.MaxHeartbeatBytes) + `"}`,
	}
	for _, c := range []struct {
		name, token string
		status      int
		sameAsPlays bool // an unknown or revoked token: the answer of POST .../plays
	}{
		{"unknown token", "no-such-token-0123456789", http.StatusUnauthorized, true},
		{"revoked device token", revoked, http.StatusUnauthorized, true},
		{"disabled device", disabled, http.StatusUnauthorized, true},
		{"a person's operator account", sb.tokens["operator"], http.StatusForbidden, false},
		{"another commune's device", other, http.StatusNotFound, false},
		{"an administrator", sb.tokens["admin"], http.StatusForbidden, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var first string
			for _, kind := range []string{"good", "bad", "not json", "too large"} {
				resp, body := sb.do(t, "POST", "/api/communes/muong-lan/heartbeat", c.token, strings.NewReader(bodies[kind]), "application/json")
				if resp.StatusCode != c.status {
					t.Errorf("%s body: %d %s, want %d", kind, resp.StatusCode, body, c.status)
				}
				if first == "" {
					first = string(body)
				} else if string(body) != first {
					t.Errorf("%s body answered %s, the good one %s: the answer depends on the body", kind, body, first)
				}
			}
			if c.sameAsPlays {
				resp, body := sb.do(t, "POST", "/api/communes/muong-lan/plays", c.token, strings.NewReader(`[]`), "application/json")
				if resp.StatusCode != c.status || string(body) != first {
					t.Errorf("play reports answer %d %s, the heartbeat %d %s: want the same", resp.StatusCode, body, c.status, first)
				}
			}
		})
	}
	// The commune's own device is told what is wrong, and its good
	// heartbeat is stored.
	for kind, want := range map[string]int{"bad": http.StatusUnprocessableEntity, "not json": http.StatusUnprocessableEntity,
		"too large": http.StatusRequestEntityTooLarge, "good": http.StatusOK} {
		if resp, body := sb.do(t, "POST", "/api/communes/muong-lan/heartbeat", own, strings.NewReader(bodies[kind]), "application/json"); resp.StatusCode != want {
			t.Errorf("the own device's %s body: %d %s, want %d", kind, resp.StatusCode, body, want)
		}
	}
}
