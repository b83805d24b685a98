package api_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/wire"
	"github.com/sonla-cchc/loa/schedules"
)

// schedBundle is a test server with the Sơn La demo registry, three ready
// segments with real MP3 audio in MinIO, and a built schedule. The
// operator user answers for "Mường Lạn" (commune muong-lan).
type schedBundle struct {
	*bundle
	svc   *broadcast.Service
	today string
	segs  []string
	// advance moves every clock of the set-up (store, service, server)
	// forward by d.
	advance func(d time.Duration)
}

func setupSchedules(t *testing.T) *schedBundle { return setupSchedulesB(t, broadcasttest.Monday) }

// setupSchedulesB is setup for tests and benchmarks alike: a real SQLite
// store, a fresh bucket, one user and token per role, and every clock
// starting at day, so the schedule is built for that day.
func setupSchedulesB(t testing.TB, day time.Time) *schedBundle {
	return setupSchedulesTuned(t, day, nil)
}

// setupSchedulesTuned is setupSchedulesB with tune called on the server
// and its broadcast service before the server starts.
func setupSchedulesTuned(t testing.TB, day time.Time, tune func(*api.Server, *broadcast.Service, *sqlstore.DB)) *schedBundle {
	t.Helper()
	mediatest.Need(t)
	ctx := context.Background()
	store, _ := objectstest.New(t)
	db := sqlstoretest.New(t)
	var ahead atomic.Int64
	base := broadcasttest.Clock(day)
	clock := func() time.Time { return base().Add(time.Duration(ahead.Load())) }
	db.Now = clock
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	svc := &broadcast.Service{Store: db, Objects: store, Key: key, Log: slog.New(slog.DiscardHandler), Now: clock}
	s := &api.Server{Catalog: db, Objects: store, Broadcast: svc, EventPoll: 100 * time.Millisecond, Log: slog.New(slog.DiscardHandler), Now: clock}
	if tune != nil {
		tune(s, svc, db)
	}
	b := serve(t, db, store, s)
	clip := mediatest.SpeechMP3(t, t.TempDir())
	sb := &schedBundle{bundle: b, svc: svc, today: schedules.DateOf(clock().In(broadcast.Location())).String(),
		advance: func(d time.Duration) { ahead.Add(int64(d)) }}
	for i, langs := range [][]string{{"vi"}, {"vi", "blt"}, {"vi", "blt", "hnj"}} {
		sb.segs = append(sb.segs, broadcasttest.AddReady(t, db, store, b.users[pipeline.RoleProducer],
			broadcasttest.Segment{Title: fmt.Sprintf("Bản tin CCHC số %d", i+1), Languages: langs, Audio: clip,
				AirFrom: clock().Add(-48 * time.Hour)}))
	}
	if _, err := svc.Build(ctx, clock(), nil, "test"); err != nil {
		t.Fatal(err)
	}
	return sb
}

// TestScheduleRouteScope calls every schedule route for the operator's
// own commune and for another one: operators get their own and a 404 for
// the other; admins get both; other roles are refused as the policy says.
func TestScheduleRouteScope(t *testing.T) {
	sb := setupSchedules(t)
	// Reports of the morning's items are posted in the evening: a report
	// may not start after the server's now.
	sb.advance(14 * time.Hour)
	paths := map[string]string{
		"GET /api/communes/{code}":                                     "/api/communes/%s",
		"POST /api/communes/{code}/devices":                            "/api/communes/%s/devices?label=x",
		"GET /api/communes/{code}/clusters/{cluster}/playlists/{file}": "/api/communes/%s/clusters/trung-tam/playlists/" + sb.today + ".m3u8",
		"GET /api/communes/{code}/bundle":                              "/api/communes/%s/bundle?days=1",
		"GET /api/communes/{code}/bundle.tar":                          "/api/communes/%s/bundle.tar?days=1",
		"GET /api/communes/{code}/events":                              "/api/communes/%s/events",
		"POST /api/communes/{code}/plays":                              "/api/communes/%s/plays",
		"GET /api/communes/{code}/schedule":                            "/api/communes/%s/schedule",
		"GET /api/communes/{code}/explain":                             "/api/communes/%s/explain",
	}
	bodies := map[string]string{
		"POST /api/communes/{code}/plays": `{"id":"r-%s-%s","item":"` + sb.today + `T05:30#1","cluster":"trung-tam","status":"failed","started":"2025-03-03T05:41:00+07:00","reason":"mất điện"}`,
	}
	for _, rt := range sb.api.Routes() {
		key := rt.Method + " " + rt.Pattern
		tmpl, ok := paths[key]
		if !ok {
			continue
		}
		// A Playlist route is scoped alike on the playlist listener.
		bases := map[string]string{"": sb.srv.URL}
		if rt.Playlist {
			bases[" (playlist listener)"] = sb.playlists
		}
		for where, base := range bases {
			for _, role := range pipeline.Roles {
				for _, commune := range []string{"muong-lan", "to-hieu"} {
					t.Run(fmt.Sprintf("%s as %s for %s%s", key, role, commune, where), func(t *testing.T) {
						// The request lives as long as the subtest (an event
						// stream is cut when it ends), never a fixed time: a
						// loaded machine under -race may take seconds to hash
						// a new device's token.
						ctx := t.Context()
						// A body only where the route takes one: a GET
						// that sends one is refused (the playlist's 413).
						var body io.Reader
						if b := bodies[key]; b != "" {
							body = strings.NewReader(fmt.Sprintf(b, role, commune))
						}
						req, _ := http.NewRequestWithContext(ctx, rt.Method, base+fmt.Sprintf(tmpl, commune), body)
						req.Header.Set("Authorization", "Bearer "+sb.tokens[role])
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							t.Fatal(err)
						}
						resp.Body.Close() // an event stream is cut here
						allowed := slices.Contains(rt.Roles, role)
						own := role != pipeline.RoleOperator || commune == "muong-lan"
						switch {
						case !allowed && resp.StatusCode != http.StatusForbidden:
							t.Fatalf("got %d, want 403", resp.StatusCode)
						case allowed && own && resp.StatusCode >= 400:
							t.Fatalf("got %d, want success", resp.StatusCode)
						case allowed && !own && resp.StatusCode != http.StatusNotFound:
							t.Fatalf("operator of Mường Lạn got %d for %s, want 404", resp.StatusCode, commune)
						}
					})
				}
			}
		}
	}
	// The commune list shows an operator only their own.
	_, data := sb.do(t, "GET", "/api/communes", sb.tokens[pipeline.RoleOperator], nil, "")
	var list []pipeline.CommuneSummary
	if err := json.Unmarshal(data, &list); err != nil || len(list) != 1 || list[0].Code != "muong-lan" {
		t.Fatalf("operator's commune list: %s", data)
	}
	// A device token is scoped to its commune like an operator.
	_, data = sb.do(t, "POST", "/api/communes/phieng-khoai/devices?label=loa-1", sb.tokens[pipeline.RoleAdmin], nil, "")
	var dev api.DeviceResponse
	if err := json.Unmarshal(data, &dev); err != nil || dev.Token == "" {
		t.Fatalf("device: %s", data)
	}
	if resp, _ := sb.do(t, "GET", "/api/communes/phieng-khoai/clusters/ban-mong/playlists/"+sb.today+".json", dev.Token, nil, ""); resp.StatusCode != 200 {
		t.Fatalf("device for its commune: %d", resp.StatusCode)
	}
	if resp, _ := sb.do(t, "GET", "/api/communes/muong-lan/clusters/trung-tam/playlists/"+sb.today+".json", dev.Token, nil, ""); resp.StatusCode != 404 {
		t.Fatalf("device for another commune: %d, want 404", resp.StatusCode)
	}
}

// TestScopeByCommuneCode: commune names are not unique, so they never
// decide scope. With a second commune named "Mường Lạn", the operator
// bound to muong-lan sees, pulls and reports for muong-lan only, and an
// operator still stored by the shared name (from before codes) answers
// for neither.
func TestScopeByCommuneCode(t *testing.T) {
	sb := setupSchedules(t)
	// Reports of the morning's items are posted in the evening: a report
	// may not start after the server's now.
	sb.advance(14 * time.Hour)
	ctx := context.Background()
	reg, err := schedules.ParseRegistry("twin.yaml", strings.NewReader(`communes:
  - code: muong-lan-2
    name: Mường Lạn
    slots: [{days: Mon-Sat, start: "05:30", length: 30m}]
    clusters: [{id: trung-tam, languages: [vi]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.db.ImportRegistry(ctx, reg, schedules.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	hash, _ := pipeline.HashPassword("mat-khau-dai-du", bcrypt.MinCost)
	var legacyID int64
	if err := sb.db.SQL().QueryRowContext(ctx, "INSERT INTO users (name, role, password_hash, commune, created_at) VALUES ('legacy-op', 'operator', ?, 'Mường Lạn', ?) RETURNING id",
		hash, time.Now()).Scan(&legacyID); err != nil {
		t.Fatal(err)
	}
	legacy, err := sb.db.CreateToken(ctx, legacyID, "test")
	if err != nil {
		t.Fatal(err)
	}
	report := `{"id":"r-1","item":"` + sb.today + `T05:30#1","cluster":"trung-tam","status":"failed","started":"2025-03-03T05:41:00+07:00","reason":"mất điện"}`
	tests := []struct {
		who, token string
		communes   []string // the list they get
		own        string   // the commune they may use, or ""
	}{
		{"operator bound to muong-lan", sb.tokens[pipeline.RoleOperator], []string{"muong-lan"}, "muong-lan"},
		{"operator stored by the shared name", legacy, []string{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.who, func(t *testing.T) {
			_, data := sb.do(t, "GET", "/api/communes", tc.token, nil, "")
			var list []pipeline.CommuneSummary
			if err := json.Unmarshal(data, &list); err != nil {
				t.Fatalf("%v: %s", err, data)
			}
			var codes []string
			for _, c := range list {
				codes = append(codes, c.Code)
			}
			if !slices.Equal(codes, tc.communes) && !(len(codes) == 0 && len(tc.communes) == 0) {
				t.Errorf("commune list %v, want %v", codes, tc.communes)
			}
			for _, code := range []string{"muong-lan", "muong-lan-2"} {
				want := http.StatusNotFound
				if code == tc.own {
					want = http.StatusOK
				}
				if resp, body := sb.do(t, "GET", "/api/communes/"+code+"/bundle?days=1", tc.token, nil, ""); resp.StatusCode != want {
					t.Errorf("bundle of %s: %d %s, want %d", code, resp.StatusCode, body, want)
				}
				if resp, body := sb.do(t, "POST", "/api/communes/"+code+"/plays", tc.token, strings.NewReader(report), "application/json"); resp.StatusCode != want {
					t.Errorf("play report for %s: %d %s, want %d", code, resp.StatusCode, body, want)
				}
			}
		})
	}
}

func (sb *schedBundle) get(t *testing.T, path, token string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", sb.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// TestPlaylistConditional checks the M3U8 and JSON playlists, their
// ETags and Cache-Control, and the 304 answer to a matching If-None-Match.
func TestPlaylistConditional(t *testing.T) {
	sb := setupSchedules(t)
	op := sb.tokens[pipeline.RoleOperator]
	path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today
	resp, m3u := sb.get(t, path+".m3u8", op)
	tag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || tag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "no-cache") {
		t.Fatalf("m3u8: %d ETag=%q Cache-Control=%q %s", resp.StatusCode, tag, resp.Header.Get("Cache-Control"), m3u)
	}
	text := string(m3u)
	if !strings.HasPrefix(text, "#EXTM3U\n") || !strings.Contains(text, "#EXTINF:") || !strings.Contains(text, "X-Amz-Signature=") {
		t.Fatalf("m3u8 body:\n%s", text)
	}
	resp, body := sb.get(t, path+".m3u8", op, "If-None-Match", tag)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != tag {
		t.Fatalf("conditional GET: %d ETag=%q body %q", resp.StatusCode, resp.Header.Get("ETag"), body)
	}
	resp, js := sb.get(t, path+".json", op)
	var doc schedules.PlaylistDoc
	if err := json.Unmarshal(js, &doc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("json: %d %v %s", resp.StatusCode, err, js)
	}
	if resp.Header.Get("ETag") == tag {
		t.Fatal("the JSON and M3U8 renderings share an ETag")
	}
	segs := 0
	for _, e := range doc.Entries {
		if e.Kind == schedules.EntrySegment {
			segs++
			if len(e.SHA256) != 64 || e.URL == "" || e.DurationMS <= 0 || e.Start.IsZero() {
				t.Errorf("entry %+v lacks checksum, link, duration or start", e)
			}
			if !strings.Contains(text, fmt.Sprintf("#EXTINF:%.3f,%s\n", float64(e.DurationMS)/1000, e.Title)) {
				t.Errorf("m3u8 has no exact #EXTINF for %s (%d ms)", e.Title, e.DurationMS)
			}
		}
	}
	if segs == 0 {
		t.Fatalf("no segments in %s", js)
	}
	if resp, _ := sb.get(t, path+".json", op, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Fatalf("json conditional: %d", resp.StatusCode)
	}
}

// TestEmergencyThroughAPI marks a segment emergency for Mường Lạn: the
// request needs confirm; then Mường Lạn's ETag changes at once, its
// playlist starts with the interrupt, its event stream says so, and Tô
// Hiệu's ETag stays.
func TestEmergencyThroughAPI(t *testing.T) {
	sb := setupSchedules(t)
	op, admin := sb.tokens[pipeline.RoleOperator], sb.tokens[pipeline.RoleAdmin]
	mine := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".json"
	other := "/api/communes/to-hieu/clusters/trung-tam/playlists/" + sb.today + ".json"
	r1, _ := sb.get(t, mine, op)
	r2, _ := sb.get(t, other, admin)
	tagMine, tagOther := r1.Header.Get("ETag"), r2.Header.Get("ETag")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", sb.srv.URL+"/api/communes/muong-lan/events", nil)
	req.Header.Set("Authorization", "Bearer "+op)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	events := bufio.NewScanner(stream.Body)
	nextEvent := func() broadcast.Event {
		for events.Scan() {
			if data, ok := strings.CutPrefix(events.Text(), "data: "); ok {
				var e broadcast.Event
				if err := json.Unmarshal([]byte(data), &e); err != nil {
					t.Fatal(err)
				}
				return e
			}
		}
		t.Fatalf("event stream ended: %v", events.Err())
		return broadcast.Event{}
	}
	if e := nextEvent(); e.Reason != "current" {
		t.Fatalf("first event %+v", e)
	}

	fire := sb.segs[2]
	url := "/api/segments/" + fire + "/emergency"
	resp, body := sb.do(t, "POST", url, sb.tokens[pipeline.RoleProducer], strings.NewReader(`{"communes":["muong-lan"]}`), "application/json")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "confirm") {
		t.Fatalf("without confirm: %d %s", resp.StatusCode, body)
	}
	resp, body = sb.do(t, "POST", url, sb.tokens[pipeline.RoleProducer], strings.NewReader(`{"communes":["muong-lan"],"confirm":true,"reason":"cháy rừng"}`), "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("emergency: %d %s", resp.StatusCode, body)
	}
	if e := nextEvent(); e.Reason != "emergency" || e.Commune != "muong-lan" {
		t.Fatalf("event after the emergency: %+v", e)
	}
	r1, js := sb.get(t, mine, op, "If-None-Match", tagMine)
	if r1.StatusCode != 200 || r1.Header.Get("ETag") == tagMine {
		t.Fatalf("targeted commune: %d, ETag %q (was %q)", r1.StatusCode, r1.Header.Get("ETag"), tagMine)
	}
	var doc schedules.PlaylistDoc
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Entries) == 0 || doc.Entries[0].Kind != schedules.EntryInterrupt || doc.Entries[0].SegmentID != fire {
		t.Fatalf("first entry of the targeted playlist: %+v", doc.Entries[:min(1, len(doc.Entries))])
	}
	if r2, _ := sb.get(t, other, admin, "If-None-Match", tagOther); r2.StatusCode != 304 {
		t.Fatalf("untargeted commune: %d, want 304 (unchanged)", r2.StatusCode)
	}
}

// TestPlayReports posts a report twice (it counts once), refuses a bad
// one with a reason, and shows it beside the scheduled entry.
func TestPlayReports(t *testing.T) {
	sb := setupSchedules(t)
	// Reports of the morning's items are posted in the evening: a report
	// may not start after the server's now.
	sb.advance(14 * time.Hour)
	op := sb.tokens[pipeline.RoleOperator]
	_, js := sb.get(t, "/api/communes/muong-lan/clusters/trung-tam/playlists/"+sb.today+".json", op)
	var doc schedules.PlaylistDoc
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	var e schedules.Entry
	for _, x := range doc.Entries {
		if x.Kind == schedules.EntrySegment {
			e = x
			break
		}
	}
	if e.ID == "" {
		t.Fatalf("no segment airs on %s (the set-up's clock is a Monday): %+v", sb.today, doc.Entries)
	}
	report := fmt.Sprintf(`[{"id":"dev1-0001","item":%q,"cluster":"trung-tam","segment_id":%q,"status":"played","started":%q,"finished":%q}]`,
		e.ID, e.SegmentID, e.Start.Format(time.RFC3339), e.Start.Add(time.Duration(e.DurationMS)*time.Millisecond).Format(time.RFC3339))
	for i, want := range []int{1, 0} {
		resp, body := sb.do(t, "POST", "/api/communes/muong-lan/plays", op, strings.NewReader(report), "application/json")
		var got api.PlayReportResponse
		if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 || got.New != want {
			t.Fatalf("post %d: %d %s, want %d new", i+1, resp.StatusCode, body, want)
		}
	}
	resp, body := sb.do(t, "POST", "/api/communes/muong-lan/plays", op, strings.NewReader(`{"id":"x","item":"a","cluster":"trung-tam","status":"failed","started":"2025-03-03T05:00:00Z"}`), "application/json")
	if resp.StatusCode != 422 || !strings.Contains(string(body), "reason is missing") {
		t.Fatalf("bad report: %d %s", resp.StatusCode, body)
	}
	resp, body = sb.do(t, "POST", "/api/communes/muong-lan/plays", op, strings.NewReader(`{"id":"y","item":"a","cluster":"ban-khac","status":"failed","reason":"x","started":"2025-03-03T05:00:00Z"}`), "application/json")
	if resp.StatusCode != 422 || !strings.Contains(string(body), "no cluster") {
		t.Fatalf("report for an unknown cluster: %d %s", resp.StatusCode, body)
	}
	_, body = sb.get(t, "/api/communes/muong-lan/schedule?cluster=trung-tam&date="+sb.today, op)
	var show broadcast.ShowDoc
	if err := json.Unmarshal(body, &show); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range show.Rows {
		if r.EntryID == e.ID {
			found = len(r.Reports) == 1 && r.Reports[0].Status == "played"
		}
	}
	if !found {
		t.Fatalf("the report is not beside its entry: %s", body)
	}
}

// BenchmarkPlaylist measures serving a playlist over loopback HTTP: a
// full M3U8 (one head lookup, one items query, presigning) and a 304.
func BenchmarkPlaylist(b *testing.B) {
	sb := setupSchedulesB(b, broadcasttest.Monday)
	path := sb.srv.URL + "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8"
	op := sb.tokens[pipeline.RoleOperator]
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	fetch := func(tag string) (string, int) {
		req, _ := http.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+op)
		if tag != "" {
			req.Header.Set("If-None-Match", tag)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("ETag"), resp.StatusCode
	}
	tag, code := fetch("")
	if code != 200 {
		b.Fatalf("full: %d", code)
	}
	b.Run("full", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, c := fetch(""); c != 200 {
					b.Fatalf("full: %d", c)
				}
			}
		})
	})
	b.Run("304", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, c := fetch(tag); c != 304 {
					b.Fatalf("conditional: %d", c)
				}
			}
		})
	})
}

// TestScheduleToday runs the same set-up with the clock on a Sunday and on
// a Monday: the day the API calls today (the schedule and bundle
// defaults) follows the injected clock, not the machine's, and the demo
// registry airs on Monday but not on Sunday.
func TestScheduleToday(t *testing.T) {
	for _, tc := range []struct {
		day     time.Time
		date    string
		airings bool
	}{
		{broadcasttest.Sunday, "2025-03-02", false},
		{broadcasttest.Monday, "2025-03-03", true},
	} {
		t.Run(tc.day.Weekday().String(), func(t *testing.T) {
			sb := setupSchedulesB(t, tc.day)
			op := sb.tokens[pipeline.RoleOperator]
			resp, data := sb.get(t, "/api/communes/muong-lan/schedule", op)
			var doc broadcast.ShowDoc
			if err := json.Unmarshal(data, &doc); err != nil || resp.StatusCode != 200 {
				t.Fatalf("schedule: %d %v %s", resp.StatusCode, err, data)
			}
			if doc.Date != tc.date {
				t.Fatalf("today is %s, want %s", doc.Date, tc.date)
			}
			segs := 0
			for _, r := range doc.Rows {
				if r.SegmentID != "" {
					segs++
				}
			}
			if (segs > 0) != tc.airings {
				t.Fatalf("%s: %d segment airings, want airings=%v", tc.date, segs, tc.airings)
			}
			resp, data = sb.get(t, "/api/communes/muong-lan/bundle", op)
			var idx wire.BundleIndex
			if err := json.Unmarshal(data, &idx); err != nil || resp.StatusCode != 200 {
				t.Fatalf("bundle: %d %v %s", resp.StatusCode, err, data)
			}
			var m schedules.Manifest
			if err := json.Unmarshal([]byte(idx.Manifest), &m); err != nil || m.From != tc.date {
				t.Fatalf("bundle manifest from %q (%v), want %s", m.From, err, tc.date)
			}
		})
	}
}

// TestShutdownEndsEventStreams: a server shutting down ends an open
// device event stream at once with a "closing" event and a retry hint,
// instead of waiting for the device to go away.
func TestShutdownEndsEventStreams(t *testing.T) {
	sb := setupSchedules(t)
	hs := sb.srv.Config
	hs.RegisterOnShutdown(sb.api.CloseStreams)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", sb.srv.URL+"/api/communes/muong-lan/events", nil)
	req.Header.Set("Authorization", "Bearer "+sb.tokens[pipeline.RoleOperator])
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	lines := bufio.NewScanner(stream.Body)
	var got []string
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "data: ") {
		got = append(got, lines.Text())
	}
	if !slices.Contains(got, "retry: 1000") {
		t.Fatalf("stream start %q has no retry hint", got)
	}
	start := time.Now()
	if err := hs.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	took := time.Since(start)
	got = got[:0]
	for lines.Scan() {
		got = append(got, lines.Text())
	}
	t.Logf("shutdown with an open event stream took %s", took)
	if took > 5*time.Second {
		t.Fatalf("shutdown took %s with an open stream", took)
	}
	i := slices.Index(got, "event: closing")
	if i < 1 || got[i-1] != "retry: 1000" || i+1 >= len(got) || !strings.HasPrefix(got[i+1], "data: ") {
		t.Fatalf("stream ended with %q, want a retry hint and a closing event", got)
	}
}

// TestSignedOutEndsEventStream: a device's open event stream ends, with a
// "closing" event that says why, when its token is revoked or its account
// disabled or signed out everywhere — by the change feed, not the stream's
// poll (set to an hour here).
func TestSignedOutEndsEventStream(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(ctx context.Context, db *sqlstore.DB, u pipeline.User, token string) error
	}{
		{"token revoked", func(ctx context.Context, db *sqlstore.DB, _ pipeline.User, token string) error {
			return db.RevokeToken(ctx, token, pipeline.Actor{})
		}},
		{"user disabled", func(ctx context.Context, db *sqlstore.DB, u pipeline.User, _ string) error {
			_, err := db.SetUserDisabled(ctx, u.Name, true, pipeline.Actor{})
			return err
		}},
		{"signed out everywhere", func(ctx context.Context, db *sqlstore.DB, u pipeline.User, _ string) error {
			_, err := db.SignOutEverywhere(ctx, u.ID, pipeline.Actor{})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := setupSchedulesTuned(t, broadcasttest.Monday, func(s *api.Server, svc *broadcast.Service, db *sqlstore.DB) {
				s.EventPoll = time.Hour
				svc.Feed = db
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); db.Follow(ctx, slog.New(slog.DiscardHandler)) }()
				t.Cleanup(func() { cancel(); <-done })
			})
			ctx := t.Context()
			dev, token, err := sb.db.CreateDevice(ctx, "muong-lan", "loa-1")
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(ctx, "GET", sb.srv.URL+"/api/communes/muong-lan/events", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			stream, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Body.Close()
			lines := bufio.NewScanner(stream.Body)
			for lines.Scan() && !strings.HasPrefix(lines.Text(), "data: ") {
			}
			if err := tc.end(ctx, sb.db, dev, token); err != nil {
				t.Fatal(err)
			}
			var got []string
			for lines.Scan() { // ends when the server ends the stream, or fails at the test's deadline
				got = append(got, lines.Text())
			}
			i := slices.Index(got, "event: closing")
			if i < 0 || i+1 >= len(got) || !strings.Contains(got[i+1], "signed out") {
				t.Fatalf("stream ended with %q, want a closing event saying the device is signed out", got)
			}
		})
	}
}

// headRace is a broadcast.Store whose next CommuneHead, once armed,
// reads the head and then, before returning it, runs change (which moves
// the head and announces it): what a stream opening sees when a build
// lands between its reading of the head and its subscription.
type headRace struct {
	broadcast.Store
	armed  atomic.Bool
	change func(ctx context.Context) error
	err    chan error
}

func (s *headRace) CommuneHead(ctx context.Context, code string) (pipeline.CommuneHead, error) {
	head, err := s.Store.CommuneHead(ctx, code)
	if err == nil && s.armed.CompareAndSwap(true, false) {
		s.err <- s.change(ctx)
	}
	return head, err
}

// TestStreamOpeningHearsChangeMeanwhile: an emergency stored while a
// device's event stream opens (after the stream read the commune's head,
// before it listens for changes) reaches the device at once, not at the
// stream's next poll (an hour here).
func TestStreamOpeningHearsChangeMeanwhile(t *testing.T) {
	var race *headRace
	sb := setupSchedulesTuned(t, broadcasttest.Monday, func(s *api.Server, svc *broadcast.Service, db *sqlstore.DB) {
		s.EventPoll = time.Hour
		race = &headRace{Store: db, err: make(chan error, 1)}
		svc.Store = race
	})
	ctx := t.Context()
	before, err := sb.db.CommuneHead(ctx, "muong-lan")
	if err != nil {
		t.Fatal(err)
	}
	fire := sb.segs[0]
	race.change = func(ctx context.Context) error {
		sb.advance(2 * time.Hour)
		_, err := sb.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: fire, Communes: []string{"muong-lan"}, Reason: "cháy rừng", By: sb.users[pipeline.RoleProducer]})
		return err
	}
	race.armed.Store(true)
	req, _ := http.NewRequestWithContext(ctx, "GET", sb.srv.URL+"/api/communes/muong-lan/events", nil)
	req.Header.Set("Authorization", "Bearer "+sb.tokens[pipeline.RoleOperator])
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if err := <-race.err; err != nil {
		t.Fatalf("emergency while the stream opened: %v", err)
	}
	after, err := sb.db.CommuneHead(ctx, "muong-lan")
	if err != nil || after.ETag == before.ETag {
		t.Fatalf("the emergency did not move the head: %s, then %+v %v", before.ETag, after, err)
	}
	// The stream must send the new head; it has nothing else to send but
	// its poll's keep-alive an hour later. The wait is a share of the
	// test's time, not a guess of this machine's speed.
	wait := 10 * time.Minute
	if d, ok := t.Deadline(); ok {
		wait = time.Until(d) / 4
	}
	heard := make(chan []string, 1)
	go func() {
		var got []string
		lines := bufio.NewScanner(stream.Body)
		for lines.Scan() {
			l := lines.Text()
			if !strings.HasPrefix(l, "data: ") {
				continue
			}
			var e broadcast.Event
			_ = json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &e)
			got = append(got, e.ETag+" "+e.Reason)
			if e.ETag == after.ETag {
				break
			}
		}
		heard <- got
	}()
	select {
	case got := <-heard:
		if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], after.ETag) {
			t.Fatalf("stream sent %q and ended; want the emergency's head %s", got, after.ETag)
		}
		t.Logf("stream sent %q (before the emergency: %s)", got, before.ETag)
	case <-time.After(wait):
		stream.Body.Close()
		t.Fatalf("the stream sent %q but not the emergency's head %s within %s (before: %s)", <-heard, after.ETag, wait, before.ETag)
	}
}

// staleHead is a broadcast.Store whose next CommuneHead, once armed,
// answers the head it was armed with instead of the current one: an
// announcement that read the head before a change and publishes after
// the change's own announcement (a registry import's or a lost feed's,
// which run beside the feed).
type staleHead struct {
	broadcast.Store
	stale atomic.Pointer[pipeline.CommuneHead]
}

func (s *staleHead) CommuneHead(ctx context.Context, code string) (pipeline.CommuneHead, error) {
	if h := s.stale.Swap(nil); h != nil {
		return *h, nil
	}
	return s.Store.CommuneHead(ctx, code)
}

// announcements is a slog.Handler that passes on the ETag of every
// "schedule head announced" record: the announcement was published.
type announcements chan string

func (a announcements) Enabled(context.Context, slog.Level) bool { return true }
func (a announcements) WithAttrs([]slog.Attr) slog.Handler       { return a }
func (a announcements) WithGroup(string) slog.Handler            { return a }
func (a announcements) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "schedule head announced" {
		r.Attrs(func(at slog.Attr) bool {
			if at.Key == "etag" {
				select {
				case a <- at.Value.String():
				default:
				}
			}
			return true
		})
	}
	return nil
}

// TestStreamNeverSendsAnOlderHead: an announcement of a head older than
// the one a device's stream already sent (read before the newer change
// and published after it) is not sent: the stream's events name the
// commune's versions in the order they were stored, and a device is not
// told of a version it has already passed (a pull for nothing, and the
// newer head sent once more at the next poll).
func TestStreamNeverSendsAnOlderHead(t *testing.T) {
	var store *staleHead
	heard := make(announcements, 16)
	sb := setupSchedulesTuned(t, broadcasttest.Monday, func(s *api.Server, svc *broadcast.Service, db *sqlstore.DB) {
		s.EventPoll = time.Hour
		store = &staleHead{Store: db}
		svc.Store, svc.Feed, svc.Log = store, db, slog.New(heard)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); db.Follow(ctx, slog.New(slog.DiscardHandler)) }()
		t.Cleanup(func() { cancel(); <-done })
	})
	ctx := t.Context()
	wait := 10 * time.Minute // every wait below is for something that must come
	if d, ok := t.Deadline(); ok {
		wait = time.Until(d) / 4
	}
	events := sb.operatorEvents(t, ctx)
	// until reads the stream until it sends etag and returns what it
	// sent before.
	until := func(etag string) []string {
		t.Helper()
		var sent []string
		timeout := time.After(wait)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("stream ended after %q, before %s", sent, etag)
				}
				if e.ETag == etag {
					return sent
				}
				sent = append(sent, e.ETag+" "+e.Reason)
			case <-timeout:
				t.Fatalf("stream sent %q but not %s within %s", sent, etag, wait)
			}
		}
	}
	head := func() pipeline.CommuneHead {
		t.Helper()
		h, err := sb.db.CommuneHead(ctx, "muong-lan")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	emergency := func(seg string) pipeline.CommuneHead {
		t.Helper()
		sb.advance(time.Hour)
		if _, err := sb.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: seg, Communes: []string{"muong-lan"}, Reason: "cháy rừng", By: sb.users[pipeline.RoleProducer]}); err != nil {
			t.Fatal(err)
		}
		return head()
	}
	old := head()
	until(old.ETag) // the stream's opening
	newer := emergency(sb.segs[0])
	until(newer.ETag)
	// A registry import's announcement that read the old head publishes
	// it now.
	store.stale.Store(&old)
	if err := sb.db.WriteChange(ctx, pipeline.ChangeRegistry, "", func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for published := false; !published; {
		select {
		case etag := <-heard:
			published = etag == old.ETag
		case <-time.After(wait):
			t.Fatalf("the old head %s was not announced again within %s", old.ETag, wait)
		}
	}
	newest := emergency(sb.segs[1])
	if sent := until(newest.ETag); len(sent) > 0 {
		t.Fatalf("after the head %s the stream sent %q, older, before the newest %s", newer.ETag, sent, newest.ETag)
	}
}

// handFeed is a broadcast.ChangeFeed the test delivers by hand, so a
// replica can hear changes as late as the test likes.
type handFeed struct {
	mu  sync.Mutex
	fns []func(pipeline.Change)
}

func (f *handFeed) OnChange(fn func(pipeline.Change)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fns = append(f.fns, fn)
	return func() {}
}

func (f *handFeed) deliver(c pipeline.Change) {
	f.mu.Lock()
	fns := slices.Clone(f.fns)
	f.mu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}

// TestStreamHeardLate is the deployment test's failure of 10:18 (replica
// 3 sent nothing with reason "emergency"), replayed: a replica hears an
// earlier build's change only after the emergency was stored. Its stream
// sends the emergency's head once, at the earlier change, under that
// change's reason, and not again for the emergency's own change: a
// device gets the emergency's ETag at once, and a check of the reason
// waits for ever.
func TestStreamHeardLate(t *testing.T) {
	feed := &handFeed{}
	sb := setupSchedulesTuned(t, broadcasttest.Monday, func(s *api.Server, svc *broadcast.Service, db *sqlstore.DB) {
		s.EventPoll = time.Hour
		svc.Feed = feed
		svc.Log = slog.New(slog.DiscardHandler)
	})
	ctx := t.Context()
	events := sb.operatorEvents(t, ctx)
	wait := 10 * time.Minute
	if d, ok := t.Deadline(); ok {
		wait = time.Until(d) / 4
	}
	next := func() broadcast.Event {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			return e
		case <-time.After(wait):
			t.Fatalf("no event within %s", wait)
		}
		panic("unreachable")
	}
	opening := next()
	sb.advance(time.Hour)
	if _, err := sb.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: sb.segs[0], Communes: []string{"muong-lan"}, Reason: "cháy rừng", By: sb.users[pipeline.RoleProducer]}); err != nil {
		t.Fatal(err)
	}
	head, err := sb.db.CommuneHead(ctx, "muong-lan")
	if err != nil || head.ETag == opening.ETag {
		t.Fatalf("the emergency did not move the head from %s: %+v %v", opening.ETag, head, err)
	}
	// Heard late: the earlier build's change, then the emergency's.
	for _, note := range []string{"manual", "emergency"} {
		feed.deliver(pipeline.Change{Kind: pipeline.ChangeSchedule, Key: "muong-lan", Note: note})
	}
	if e := next(); e.ETag != head.ETag || e.Seq != head.Seq || e.Reason != "manual" {
		t.Fatalf("first event after the emergency %+v; want its head %s (seq %d) under the earlier change's reason", e, head.ETag, head.Seq)
	}
	// Nothing more for the emergency's own change: the next event is the
	// next build's (heard in order after it).
	sb.advance(24 * time.Hour)
	if _, err := sb.svc.Build(ctx, sb.svc.Clock(), []string{"muong-lan"}, "nightly"); err != nil {
		t.Fatal(err)
	}
	feed.deliver(pipeline.Change{Kind: pipeline.ChangeSchedule, Key: "muong-lan", Note: "nightly"})
	if e := next(); e.Reason != "nightly" || e.Seq <= head.Seq {
		t.Fatalf("after the emergency's head the stream sent %+v; want only the next build's head", e)
	}
}

// operatorEvents opens muong-lan's event stream as its operator and
// returns the events it sends, on a channel closed when the stream ends
// (ctx ending, or the test's end, closes it).
func (sb *schedBundle) operatorEvents(t *testing.T, ctx context.Context) <-chan broadcast.Event {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", sb.srv.URL+"/api/communes/muong-lan/events", nil)
	req.Header.Set("Authorization", "Bearer "+sb.tokens[pipeline.RoleOperator])
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Body.Close() })
	events := make(chan broadcast.Event, 16)
	go func() {
		defer close(events)
		lines := bufio.NewScanner(stream.Body)
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var e broadcast.Event
				_ = json.Unmarshal([]byte(data), &e)
				events <- e
			}
		}
	}()
	return events
}

// TestImportCommunesListsEveryBadLine: a registry with several malformed
// rows is refused with a 422 whose message names every bad line, with
// what to write instead, and nothing of it is imported (not even its good
// communes).
func TestImportCommunesListsEveryBadLine(t *testing.T) {
	sb := setupSchedules(t)
	admin := sb.tokens[pipeline.RoleAdmin]
	_, before := sb.do(t, "GET", "/api/communes", admin, nil, "")
	csv := "commune_code,commune_name,kind,cluster_id,cluster_name,languages,days,start,length,reserved\n" +
		"moi-1,Xã Mới,xa,a,,vi,Mon,05:00,30m,\n" +
		"moi-1,Xã Mới,xa,a,,vi,Tue,5h,30m,\n" +
		"moi-2,Xã Hai\n" +
		"moi-3,Xã \"Ba\",xa,a,,vi,Mon,05:00,30m,\n"
	resp, data := sb.do(t, "POST", "/api/communes/import", admin, strings.NewReader(csv), "text/csv")
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(data, &e); err != nil || resp.StatusCode != http.StatusUnprocessableEntity || e.Error.Code != string(pipeline.CodeInvalid) {
		t.Fatalf("%d %s, want 422 invalid", resp.StatusCode, data)
	}
	for _, want := range []string{
		`registry.csv:3: time "5h": want HH:MM`,
		"registry.csv:4: 2 fields, header has 10: write one value per column",
		`registry.csv:5: CSV: a " inside a value that is not in quotes: put the whole value in quotes`,
	} {
		if !strings.Contains(e.Error.Message, want) {
			t.Errorf("message %q lacks %q", e.Error.Message, want)
		}
	}
	if _, after := sb.do(t, "GET", "/api/communes", admin, nil, ""); string(after) != string(before) {
		t.Errorf("communes changed by a refused import:\nbefore %s\nafter  %s", before, after)
	}
}
