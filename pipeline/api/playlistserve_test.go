package api_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
)

// discardWriter is the least an http.ResponseWriter can be: a header map
// cleared between requests and a body thrown away, so a benchmark of the
// handler counts the handler's own work and allocations, not a recorder's.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
func (w *discardWriter) reset() { clear(w.h); w.code, w.n = 0, 0 }

// benchPlaylist serves the operator's playlist of the set-up's day through
// the whole API handler (mux, sign-in, scope, rendering cache) without a
// network, once with If-None-Match set to etag ("" for a full GET), and
// reports the answer's status and ETag.
func benchPlaylist(b *testing.B, conditional bool) {
	sb := setupSchedulesB(b, broadcasttest.Monday)
	h := sb.srv.Config.Handler
	path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8"
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+sb.tokens[pipeline.RoleOperator])
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	tag := w.h.Get("ETag")
	if w.code != http.StatusOK || tag == "" {
		b.Fatalf("first GET: %d, ETag %q", w.code, tag)
	}
	want := http.StatusOK
	if conditional {
		r.Header.Set("If-None-Match", tag)
		want = http.StatusNotModified
	}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r)
		if w.code != want {
			b.Fatalf("got %d, want %d", w.code, want)
		}
	}
}

// BenchmarkPlaylist304 is a device's conditional poll of an unchanged
// playlist, handled in process (allocs/op is the handler's own).
func BenchmarkPlaylist304(b *testing.B) { benchPlaylist(b, true) }

// BenchmarkPlaylistFull is a full GET of a playlist already rendered once
// (the cache's answer), handled in process.
func BenchmarkPlaylistFull(b *testing.B) { benchPlaylist(b, false) }

// TestPlaylistAnsweredFromHeldTag: a conditional poll that matches is
// answered 304 also when this server has not rendered the playlist yet
// (another replica did, or the rendering expired): it renders it first,
// and the rendering then answers the next 304s and the full GET, with
// its length. Another format's tag is not this one's.
func TestPlaylistAnsweredFromHeldTag(t *testing.T) {
	sb := setupSchedules(t)
	op := sb.tokens[pipeline.RoleOperator]
	head, err := sb.db.CommuneHead(context.Background(), "muong-lan")
	if err != nil {
		t.Fatal(err)
	}
	tag := broadcast.PlaylistTag(head, "trung-tam", sb.today, "m3u8")
	path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today
	for i := range 2 {
		resp, body := sb.get(t, path+".m3u8", op, "If-None-Match", `"x", `+tag)
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != tag ||
			resp.Header.Get("Cache-Control") != "private, no-cache" || resp.Header.Get("Vary") != "Authorization" {
			t.Fatalf("conditional GET %d: %d ETag=%q Cache-Control=%q Vary=%q body %q", i+1, resp.StatusCode,
				resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"), resp.Header.Get("Vary"), body)
		}
	}
	resp, body := sb.get(t, path+".m3u8", op)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != tag || !strings.HasPrefix(string(body), "#EXTM3U\n") ||
		!strings.Contains(string(body), "#EXTINF:") || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) ||
		resp.Header.Get("Content-Type") != "audio/x-mpegurl; charset=utf-8" {
		t.Fatalf("full GET after 304s: %d ETag=%q (want %q) Content-Length=%q Content-Type=%q body:\n%s", resp.StatusCode,
			resp.Header.Get("ETag"), tag, resp.Header.Get("Content-Length"), resp.Header.Get("Content-Type"), body)
	}
	if resp, _ := sb.get(t, path+".json", op, "If-None-Match", tag); resp.StatusCode != 200 || resp.Header.Get("ETag") == tag {
		t.Fatalf("JSON with the M3U8's tag: %d ETag=%q, want 200 with its own", resp.StatusCode, resp.Header.Get("ETag"))
	}
}

// TestRequestsCountedByRouteAndStatus: loa_http_requests_total counts
// each answer under its route pattern and status, the playlist's 200s,
// 304s and refusals apart, whichever listener answered.
func TestRequestsCountedByRouteAndStatus(t *testing.T) {
	sb := setupSchedules(t)
	h := sb.srv.Config.Handler
	do := func(path, token, inm string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	op := sb.tokens[pipeline.RoleOperator]
	mine := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8"
	tag := do(mine, op, "").Header().Get("ETag")
	for range 3 {
		do(mine, op, tag)
	}
	do("/api/communes/to-hieu/clusters/trung-tam/playlists/"+sb.today+".m3u8", op, "") // not theirs: 404
	do(mine, "loa_not-a-token", "")
	do(mine, sb.tokens[pipeline.RoleProducer], "") // 403
	// The playlist listener counts under the same route: one more 200 and
	// one more 403; a path it does not serve counts nowhere.
	if resp, _ := sb.bundle.doAt(t, sb.playlists, "GET", mine, op, nil, ""); resp.StatusCode != 200 {
		t.Fatalf("playlist listener: %d", resp.StatusCode)
	}
	sb.bundle.doAt(t, sb.playlists, "GET", mine, sb.tokens[pipeline.RoleTranslator], nil, "")
	sb.bundle.doAt(t, sb.playlists, "GET", "/api/me", op, nil, "")
	metrics := do("/metrics", sb.tokens[pipeline.RoleAdmin], "").Body.String()
	route := "GET /api/communes/{code}/clusters/{cluster}/playlists/{file}"
	for code, want := range map[int]int{200: 2, 304: 3, 401: 1, 403: 2, 404: 1} {
		line := fmt.Sprintf("loa_http_requests_total{code=%q,route=%q} %d\n", strconv.Itoa(code), route, want)
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", metrics)
	}
}

// TestPlaylistPollAllocations: a device's conditional poll allocates
// next to nothing in Loa's own code (the ETag and headers are held, the
// token's cache key is a fixed-size sum): what is left is net/http's
// mux (the path's values) and the status writer. Background goroutines
// (otter's clean-up, the poll writer) also count in the total, so the
// best of a few tries is taken.
func TestPlaylistPollAllocations(t *testing.T) {
	sb := setupSchedules(t)
	h := sb.srv.Config.Handler
	r := httptest.NewRequest("GET", "/api/communes/muong-lan/clusters/trung-tam/playlists/"+sb.today+".m3u8", nil)
	r.Header.Set("Authorization", "Bearer "+sb.tokens[pipeline.RoleOperator])
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	r.Header.Set("If-None-Match", w.h.Get("ETag"))
	const budget = 6
	best := math.Inf(1)
	for range 5 {
		best = min(best, testing.AllocsPerRun(200, func() {
			w.reset()
			h.ServeHTTP(w, r)
			if w.code != http.StatusNotModified {
				t.Fatalf("got %d, want 304", w.code)
			}
		}))
		if best <= budget {
			return
		}
	}
	t.Fatalf("a 304 poll makes %.0f allocations, want at most %d", best, budget)
}
