package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

// scrapeToken makes a metrics token (a scraper's) in db, for scrape.
func scrapeToken(t *testing.T, db *sqlstore.DB) string {
	t.Helper()
	u, err := db.CreateUser(t.Context(), pipeline.NewUser{Name: "prometheus", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := db.CreateTokenAs(t.Context(), u.ID, "scraper", pipeline.TokenMetrics, pipeline.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// scrape reads /metrics from base with a metrics token.
func scrape(t *testing.T, base, token string) string {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(body)
}

// TestFFmpegSecondsExposed runs real ffmpeg through a Runner whose
// observer is the server's loa_ffmpeg_seconds, as `loa serve` wires it,
// and finds the runs on /metrics by step and outcome.
func TestFFmpegSecondsExposed(t *testing.T) {
	mediatest.Need(t)
	m := media.NewFFmpegMetrics()
	db := sqlstoretest.New(t)
	tok := scrapeToken(t, db)
	s := &api.Server{Catalog: db, Collectors: []prometheus.Collector{m}}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	clip := mediatest.TVMP4(t, dir)
	r := media.NewRunner(media.Config{Observe: m.Observe})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.Poster(ctx, clip, filepath.Join(dir, "poster.jpg"), media.PosterOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx, media.Job{Step: "broken", Args: []string{"-f", "lavfi", "-i", "no_such_source", "-f", "null", "-"}}); err == nil {
		t.Fatal("a bad source ran")
	}
	body := scrape(t, srv.URL, tok)
	for _, want := range []string{
		`loa_ffmpeg_seconds_count{outcome="ok",step="poster"} 1`,
		`loa_ffmpeg_seconds_count{outcome="ok",step="probe"}`,
		`loa_ffmpeg_seconds_count{outcome="error",step="broken"} 1`,
		`loa_ffmpeg_seconds_bucket{outcome="ok",step="poster",le="+Inf"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `loa_ffmpeg_seconds_sum{outcome="ok",step="poster"} 0`+"\n") {
		t.Error("the poster run took no time")
	}
}

// clock is a test clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingPolls counts the poll writes per user.
type countingPolls struct {
	api.DevicePollStore
	mu     sync.Mutex
	writes map[int64]int
}

func (c *countingPolls) RecordDevicePolls(ctx context.Context, polls map[int64]time.Time) error {
	c.mu.Lock()
	for id := range polls {
		c.writes[id]++
	}
	c.mu.Unlock()
	return c.DevicePollStore.RecordDevicePolls(ctx, polls)
}

func (c *countingPolls) count(id int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes[id]
}

// TestDevicesNotPolled: a device that asks for its playlist shows 0 not
// polled for its commune while another commune's silent device shows 1;
// a 304 and a second poll within the minute write nothing more; a day
// later the first counts again until it polls.
func TestDevicesNotPolled(t *testing.T) {
	sb := setupSchedules(t)
	ctx := context.Background()
	scraper := scrapeToken(t, sb.db)
	devA, tokA, err := sb.db.CreateDevice(ctx, "muong-lan", "loa 1")
	if err != nil {
		t.Fatal(err)
	}
	devB, tokB, err := sb.db.CreateDevice(ctx, "to-hieu", "loa 1")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	store := &countingPolls{DevicePollStore: sb.db, writes: map[int64]int{}}
	// No request has been served yet, so nothing reads these meanwhile.
	sb.api.DevicePolls.Now, sb.api.DevicePolls.Store = clk.Now, store

	gauge := func(commune string) string {
		t.Helper()
		prefix := `loa_devices_not_polled{commune="` + commune + `"} `
		for line := range strings.Lines(scrape(t, sb.srv.URL, scraper)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
				return v
			}
		}
		return "missing"
	}
	if a, b := gauge("muong-lan"), gauge("to-hieu"); a != "1" || b != "1" {
		t.Fatalf("before any poll: muong-lan %s, to-hieu %s; want 1 and 1", a, b)
	}

	path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8"
	resp, _ := sb.get(t, path, tokA)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("playlist: %d", resp.StatusCode)
	}
	clk.add(10 * time.Second)
	resp, _ = sb.get(t, path, tokA, "If-None-Match", resp.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional playlist: %d", resp.StatusCode)
	}
	if a, b := gauge("muong-lan"), gauge("to-hieu"); a != "0" || b != "1" {
		t.Fatalf("after muong-lan's device polled: muong-lan %s, to-hieu %s; want 0 and 1", a, b)
	}
	if n := store.count(devA.ID); n != 1 {
		t.Fatalf("two polls within a minute wrote %d times, want once", n)
	}

	clk.add(25 * time.Hour)
	if a := gauge("muong-lan"); a != "1" {
		t.Fatalf("a day after its last poll muong-lan shows %s, want 1", a)
	}
	if resp, _ := sb.get(t, "/api/communes/to-hieu/bundle?days=1", tokB); resp.StatusCode != http.StatusOK {
		t.Fatalf("bundle: %d", resp.StatusCode)
	}
	if resp, _ := sb.get(t, path, tokA); resp.StatusCode != http.StatusOK {
		t.Fatalf("playlist: %d", resp.StatusCode)
	}
	if a, b := gauge("muong-lan"), gauge("to-hieu"); a != "0" || b != "0" {
		t.Fatalf("after both polled: muong-lan %s, to-hieu %s; want 0 and 0", a, b)
	}
	if n := store.count(devA.ID); n != 2 {
		t.Fatalf("polls a day apart wrote %d times, want 2", n)
	}
	if devB.Role != pipeline.RoleOperator {
		t.Fatalf("device role %s", devB.Role)
	}
	if err := sb.api.DevicePolls.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsNeedToken: /metrics (commune codes, device counts) is
// refused to anyone without a token and to non-admin API tokens; a
// metrics token reads it and nothing else; an admin's token reads it;
// a revoked metrics token is refused.
func TestMetricsNeedToken(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t), nil)
	scraper := scrapeToken(t, b.db)
	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"anonymous", "/metrics", "", http.StatusUnauthorized},
		{"producer", "/metrics", b.tokens[pipeline.RoleProducer], http.StatusForbidden},
		{"operator", "/metrics", b.tokens[pipeline.RoleOperator], http.StatusForbidden},
		{"admin", "/metrics", b.tokens[pipeline.RoleAdmin], http.StatusOK},
		{"metrics token", "/metrics", scraper, http.StatusOK},
		{"metrics token elsewhere", "/api/me", scraper, http.StatusForbidden},
		{"metrics token on communes", "/api/communes", scraper, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := b.do(t, "GET", tc.path, tc.token, nil, "")
			if resp.StatusCode != tc.want {
				t.Fatalf("%s: %d %.200s, want %d", tc.path, resp.StatusCode, body, tc.want)
			}
		})
	}
	if err := b.db.RevokeToken(t.Context(), scraper, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := b.do(t, "GET", "/metrics", scraper, nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked metrics token: %d, want 401", resp.StatusCode)
	}
}
