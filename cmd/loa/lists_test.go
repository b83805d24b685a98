package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/translation"
	"github.com/sonla-cchc/loa/schedules"
)

// TestListsHaveHeaderAndZonedTimes: every list command of the CLI starts
// with a header row, and writes every moment one way, in the province's
// zone with its offset ("2025-03-03 13:00 +07:00"): never UTC in one list
// and zone-less local time in another.
func TestListsHaveHeaderAndZonedTimes(t *testing.T) {
	at := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC) // 13:00 in Sơn La
	const want = "2025-03-03 13:00 +07:00"
	answers := map[string]any{
		"GET /api/devices": []api.DeviceView{
			{Name: "loa-1", Label: "nhà văn hoá", Commune: "muong-lan", State: schedules.DeviceOnline, LastHeartbeat: at, AgeSeconds: 42,
				Heartbeat: &schedules.Heartbeat{SentAt: at, BundleVersion: "v7", Backlog: 3, ClockOffsetMS: -120, LastError: "mpv\nexited"}},
			{Name: "loa-2", Commune: "to-hieu", State: schedules.DeviceNever},
		},
		"GET /api/communes": []pipeline.CommuneSummary{
			{Code: "muong-lan", Name: "Mường Lạn", Kind: "xa", Clusters: 2, ETag: "e1", BuiltAt: at},
			{Code: "to-hieu", Name: "Tô Hiệu", Kind: "phuong", Clusters: 1},
		},
		"GET /api/jobs":     []translation.Job{{ID: "j1", Language: "blt", Kind: "subtitle", State: "open", Deadline: at, Title: "Một cửa"}},
		"GET /api/segments": []pipeline.Segment{{ID: "s1", Kind: pipeline.KindRadio, State: pipeline.StateProbed, Priority: pipeline.PriorityNormal, Title: "Một cửa"}},
		"GET /api/communes/muong-lan/schedule": broadcast.ShowDoc{Commune: "muong-lan", Name: "Mường Lạn", Date: "2025-03-03", Version: "v7",
			Rows: []broadcast.ShowRow{{ScheduleItem: pipeline.ScheduleItem{Cluster: "trung-tam", Start: at, DurationMS: 60000, Kind: "segment", Title: "Một cửa", Language: "vi"}}}},
	}
	mux := http.NewServeMux()
	for route, body := range answers {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(body) })
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Setenv("LOA_SERVER", srv.URL)
	t.Setenv("LOA_TOKEN", "loa_test")

	dbArg := "sqlite:" + filepath.Join(t.TempDir(), "loa.db")
	loa := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: os.Getenv, now: func() time.Time { return at }}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if code := run(ctx, env, args); code != 0 {
			t.Fatalf("loa %v: exit %d\n%s", args, code, stderr.String())
		}
		return stdout.String()
	}
	loa(t, "mat-khau-dai-du\n", "user", "add", "--name", "bien-tap", "--role", "producer", "--password-stdin", "--db", dbArg)
	tok := strings.TrimSpace(loa(t, "", "token", "create", "--user", "bien-tap", "--label", "phone", "--db", dbArg))
	loa(t, tok+"\n", "token", "revoke", "--db", dbArg)

	header := regexp.MustCompile(`^[A-Z][A-Z ]*[A-Z](\s{2,}[A-Z][A-Z ]*[A-Z])+\s*$`)
	moment := regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?(Z| ?[+-]\d\d:?\d\d)?`)
	ours := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d \+07:00$`)
	tests := []struct {
		args []string
		want []string // cells the list must show, besides the header
	}{
		{[]string{"device", "list"}, []string{"COMMUNE", "LAST HEARTBEAT", "loa-1", want, "42s", "v7", "-120 ms", "nhà văn hoá", "last error: mpv exited", "never"}},
		{[]string{"token", "list", "--all", "--db", dbArg}, []string{"CREATED", "LAST USED", "REVOKED", "phone"}},
		{[]string{"user", "list", "--db", dbArg}, []string{"NAME", "ROLE", "bien-tap"}},
		{[]string{"communes", "list"}, []string{"BUILT", "muong-lan", want, "to-hieu"}},
		{[]string{"jobs", "list"}, []string{"DUE", "j1", want}},
		{[]string{"segments", "list"}, []string{"TITLE", "s1"}},
		{[]string{"schedule", "show", "--commune", "muong-lan"}, []string{"times in Asia/Ho_Chi_Minh (+07:00)", "SCHEDULED", "13:00:00"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			out := loa(t, "", tc.args...)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if tc.args[0] == "schedule" {
				lines = lines[1:] // the title line: commune, date, version and zone
			}
			if !header.MatchString(lines[0]) {
				t.Errorf("the first line is not a header row: %q\n%s", lines[0], out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("the list does not show %q:\n%s", w, out)
				}
			}
			for _, m := range moment.FindAllString(out, -1) {
				if !ours.MatchString(m) {
					t.Errorf("a moment written as %q, not as %q (the province's time with its offset):\n%s", m, want, out)
				}
			}
		})
	}
}
